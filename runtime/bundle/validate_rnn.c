/* Load-time check of recurrent-layer calls: every buffer the kernel indexes must hold exactly
 * what hidden_size, the direction count and X's dims imply, so a crafted bundle cannot make the
 * kernel read or write past a buffer. */
#include "runtime/bundle/validate_rnn.h"

static mt_status *bad(const char *what) { return MT_ERR(DATA_LOSS, "rnn call: %s", what); }

static bool present(int n, const mt_tensor *t, int i) { return i < n && t[i].dtype != 0; }

/* Buffer i absent, or of X's dtype (int32 for sequence_lens) with `rank` dims equal to dims. */
static bool fits(int n, const mt_tensor *t, int i, mt_dtype dt, int rank, const int64_t *dims) {
  if (!present(n, t, i)) return true;
  if (t[i].dtype != dt || t[i].rank != rank) return false;
  for (int k = 0; k < rank; k++)
    if (t[i].dims[k] != dims[k]) return false;
  return true;
}

mt_status *mt_bundle_check_rnn(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                               const mt_kc_rnn *p) {
  bool lstm = p->cell == MT_RNN_LSTM;
  int max_in = lstm ? 8 : 6, max_out = lstm ? 3 : 2;
  if (n_in < 3 || n_in > max_in || n_out < 1 || n_out > max_out)
    return bad("input or output count out of range");
  for (int i = 0; i < 3; i++)
    if (!present(n_in, in, i)) return bad("X, W and R must be present");
  const mt_tensor *x = &in[0];
  if (!mt_dtype_is_float_any(x->dtype) || x->rank != 3) return bad("X must be 3-D floats");
  /* hidden and X's dims are capped so the kernel's offsets cannot overflow int64 */
  const int64_t cap = (int64_t)1 << 20;
  if (p->hidden < 1 || p->hidden > cap) return bad("hidden_size out of range");
  for (int k = 0; k < 3; k++)
    if (x->dims[k] < 0 || x->dims[k] > cap) return bad("X dims out of range");
  int64_t nd = p->directions, gates = lstm ? 4 : p->cell == MT_RNN_GRU ? 3 : 1, h = p->hidden;
  int64_t seq = x->dims[p->layout ? 1 : 0], batch = x->dims[p->layout ? 0 : 1], i_dim = x->dims[2];
  int64_t ws[3] = {nd, gates * h, i_dim}, rs[3] = {nd, gates * h, h}, bs[2] = {nd, 2 * gates * h};
  int64_t ls[1] = {batch}, ps[2] = {nd, 3 * h}, hs[3] = {nd, batch, h};
  int64_t ys[4] = {seq, nd, batch, h};
  if (p->layout) {
    hs[0] = batch, hs[1] = nd;
    ys[0] = batch, ys[1] = seq, ys[2] = nd;
  }
  if (!present(n_in, in, 1) || !fits(n_in, in, 1, x->dtype, 3, ws) ||
      !fits(n_in, in, 2, x->dtype, 3, rs) || !fits(n_in, in, 3, x->dtype, 2, bs) ||
      !fits(n_in, in, 4, MT_DTYPE_INT32, 1, ls) || !fits(n_in, in, 5, x->dtype, 3, hs) ||
      !fits(n_in, in, 6, x->dtype, 3, hs) || !fits(n_in, in, 7, x->dtype, 2, ps))
    return bad("W, R, B, sequence_lens, initial states or P do not match X and hidden_size");
  if (!fits(n_out, out, 0, x->dtype, 4, ys) || !fits(n_out, out, 1, x->dtype, 3, hs) ||
      !fits(n_out, out, 2, x->dtype, 3, hs))
    return bad("Y, Y_h or Y_c do not match X and hidden_size");
  if (!present(n_out, out, 0) && !present(n_out, out, 1) && !present(n_out, out, 2))
    return bad("no output");
  return NULL;
}
