/* The .mtbundle container and the kernel-call encoding, shared by the writer (driver/) and the
 * loader (libmtrt). Layout, all integers little-endian:
 *
 *   header (64 bytes): "MTBUNDLE", u32 format version, u32 section count, u64 file size, zeros
 *   section table at 64: per section 32 bytes: u32 kind, u32 zero, u64 offset, u64 size,
 *                        u32 CRC-32 (zlib) of the section's bytes, u32 zero
 *   sections: each at a 64-byte-aligned offset after the table, zero padding between them, so a
 *             blob section can be used straight from the mapping.
 *
 * The manifest section is a mtbundle.Manifest message (runtime/bundle/mtbundle.proto); the
 * weights section holds every constant the plan reads once (64-byte aligned each); the optional
 * code section holds the GPU kernels' cubins and PTX. Kernel-call
 * parameters are stored in the fixed encoding of mt_kc_encode (never raw struct memory), whose
 * layout is versioned by MT_KC_ENCODING_VERSION. */
#ifndef MT_RUNTIME_BUNDLE_FORMAT_H
#define MT_RUNTIME_BUNDLE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/base/status.h"
#include "runtime/cpu/kernel_call.h"

#define MT_BUNDLE_MAGIC "MTBUNDLE"
#define MT_BUNDLE_FORMAT_VERSION 1u
#define MT_BUNDLE_HEADER_BYTES 64u
#define MT_BUNDLE_ENTRY_BYTES 32u
#define MT_BUNDLE_ALIGN 64u
#define MT_BUNDLE_MAX_SECTIONS 16u
#define MT_KC_ENCODING_VERSION 1u

typedef enum mt_bundle_section_kind {
  MT_SECTION_MANIFEST = 1,
  MT_SECTION_WEIGHTS = 2,
  MT_SECTION_CODE = 3,     /* cubins and PTX (Manifest.code_images), 64-byte aligned each */
  MT_SECTION_CPU_CODE = 4, /* CPU shared objects (Manifest.cpu_objects), 64-byte aligned each */
  MT_SECTION_KIND_COUNT,
} mt_bundle_section_kind;

/* GpuLibCall.kind and GemmProblem.epilogue (runtime/bundle/mtbundle.proto): the values of the
 * codegen's mt_cuda_libcall_kind and mt_cuda_epilogue (codegen/cuda.h), which the writer
 * asserts at compile time, named here for the runtime, which never sees codegen. */
typedef enum mt_gpu_libcall_kind {
  MT_GPU_LT_MATMUL,    /* one cublasLtMatmul (batch > 1: a strided batch of one problem) */
  MT_GPU_GEMM_BATCHED, /* identical problems: one strided-batched GEMM */
  MT_GPU_GEMM_GROUPED, /* different shapes: one cublasGemmGroupedBatchedEx */
  MT_GPU_LIBCALL_KIND_COUNT,
} mt_gpu_libcall_kind;
typedef enum mt_gpu_epilogue {
  MT_GPU_EPI_DEFAULT,
  MT_GPU_EPI_BIAS,
  MT_GPU_EPI_RELU,
  MT_GPU_EPI_RELU_BIAS,
  MT_GPU_EPI_GELU, /* cuBLASLt's tanh form */
  MT_GPU_EPI_GELU_BIAS,
  MT_GPU_EPILOGUE_COUNT,
} mt_gpu_epilogue;

typedef struct mt_bundle_section {
  uint32_t kind;
  uint64_t offset, size;
  uint32_t crc;
} mt_bundle_section;

/* CRC-32 (zlib's polynomial) of n bytes. */
uint32_t mt_bundle_crc32(const void *data, size_t n);

/* Lays sections out after the header and table (64-byte aligned, in the order given) and writes
 * the whole file image into *out (malloc'd, *out_size bytes, padding zeroed): the same sections
 * give the same bytes. Fills each section's offset and crc. */
MT_MUST_USE mt_status *mt_bundle_build_image(mt_bundle_section *sections, const void *const *data,
                                             int n_sections, uint8_t **out, size_t *out_size);

/* Recomputes every section CRC in a file image in place (tests use it to reach checks behind
 * the checksums); returns false when the table itself is unreadable. */
int mt_bundle_reseal(uint8_t *image, size_t size);

/* Validates the header and section table of a file image of `size` bytes: magic, version,
 * section count, kinds (known, each once), alignment, bounds (overflow-safe), overlap, CRCs.
 * On success out[kind] holds each section (size 0 where absent). `what` names the file. */
MT_MUST_USE mt_status *mt_bundle_parse_container(const uint8_t *image, size_t size,
                                                 const char *what,
                                                 mt_bundle_section out[MT_SECTION_KIND_COUNT]);

/* Fixed little-endian encoding of a kernel call's parameters (kind stored separately).
 * mt_kc_encode: *out malloc'd. mt_kc_decode: checks length, enums and ranges of what it reads;
 * errors say which field is wrong. */
MT_MUST_USE mt_status *mt_kc_encode(const mt_kernel_call *call, uint8_t **out, size_t *out_size);
MT_MUST_USE mt_status *mt_kc_decode(mt_kernel_kind kind, const uint8_t *data, size_t size,
                                    mt_kernel_call *out_call);

#endif
