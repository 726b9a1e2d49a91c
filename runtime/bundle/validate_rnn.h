/* Load-time checks of recurrent-layer calls (MT_KERNEL_RNN, validate_rnn.c) and signal calls
 * (MT_KERNEL_DFT, STFT, MEL_WEIGHT, validate_signal.c) against their buffers: validate_calls.c
 * dispatches here. Views carry dtype and shape only (dtype 0 marks an omitted buffer). */
#ifndef MT_BUNDLE_VALIDATE_RNN_H
#define MT_BUNDLE_VALIDATE_RNN_H

#include "runtime/cpu/kernel_call.h"

/* DATA_LOSS naming what disagrees, NULL when the buffers fit the parameters. */
MT_MUST_USE mt_status *mt_bundle_check_rnn(int n_in, const mt_tensor *in, int n_out,
                                           const mt_tensor *out, const mt_kc_rnn *p);

/* The same for a signal call (kind and parameters from call). */
MT_MUST_USE mt_status *mt_bundle_check_signal(int n_in, const mt_tensor *in, int n_out,
                                              const mt_tensor *out, const mt_kernel_call *call);

/* The same for SwiGLU, BitCast and TensorScatter calls (validate_newops.c). */
MT_MUST_USE mt_status *mt_bundle_check_newops(int n_in, const mt_tensor *in, int n_out,
                                              const mt_tensor *out, const mt_kernel_call *call);

#endif
