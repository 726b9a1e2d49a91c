/* bfloat16 and float8 in generated kernels: they are stored as their bits (unsigned short,
 * unsigned char) and computed as float, like float16. The conversions are runtime/cpu/float8.c's
 * bit arithmetic, repeated in the kernel prelude rather than taken from cuda_bf16.h/cuda_fp8.h,
 * so the emulation runs them and results are bit-identical to the reference executor (the
 * toolkit's __nv_fp8 conversions would also be round-to-nearest-even, but the emulation has no
 * cuda_fp8.h). */
#include <stdio.h>

#include "codegen/cuda_internal.h"
#include "runtime/cpu/float8.h"

const char mt_cg_prelude_narrow[] =
    "static __device__ __forceinline__ float mt_bf2f(unsigned short h) {\n"
    "  return __int_as_float((int)((unsigned)h << 16));\n"
    "}\n"
    "static __device__ __forceinline__ unsigned short mt_f2bf(float f) {\n"
    "  unsigned x = (unsigned)__float_as_int(f);\n"
    "  if ((x & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((x >> 16) | 0x40u);\n"
    "  x += 0x7fffu + ((x >> 16) & 1u);\n"
    "  return (unsigned short)(x >> 16);\n"
    "}\n"
    "// a bfloat16 node's result, rounded once as runtime/cpu stores it\n"
    "static __device__ __forceinline__ float mt_rbf(float x) { return mt_bf2f(mt_f2bf(x)); }\n"
    "// float8 format: exponent bias, mantissa bits, largest finite exponent field and mantissa\n"
    "// there, unsigned zero (the one NaN is 0x80), infinity (E5M2)\n"
    "static __device__ __forceinline__ float mt_f82f(unsigned char b, int bias, int mbits, int "
    "emaxf, int mmax, int uz, int has_inf) {\n"
    "  int ebits = 7 - mbits, sign = b >> 7, e = (b >> mbits) & ((1 << ebits) - 1);\n"
    "  int m = b & ((1 << mbits) - 1);\n"
    "  if (uz && b == 0x80) return __int_as_float(0x7fc00000);\n"
    "  if (!uz) {\n"
    "    if (has_inf && e == (1 << ebits) - 1)\n"
    "      return m ? __int_as_float(0x7fc00000) : __int_as_float(sign ? (int)0xff800000u : "
    "0x7f800000);\n"
    "    if (!has_inf && e == emaxf && m > mmax) return __int_as_float(0x7fc00000);\n"
    "  }\n"
    "  float v = e == 0 ? (float)ldexp((double)m, 1 - bias - mbits)\n"
    "                   : (float)ldexp((double)(m | (1 << mbits)), e - bias - mbits);\n"
    "  return sign ? -v : v;\n"
    "}\n"
    "static __device__ __forceinline__ unsigned char mt_f2f8(float x, int bias, int mbits, int "
    "emaxf, int mmax, int uz, int has_inf, int saturate) {\n"
    "  unsigned char sign = (__float_as_int(x) < 0) ? 0x80 : 0;\n"
    "  int ebits = 7 - mbits;\n"
    "  unsigned char nan = uz ? 0x80 : (unsigned char)(sign | 0x7f);\n"
    "  unsigned char maxcode = (unsigned char)(emaxf << mbits | mmax);\n"
    "  unsigned char over = saturate ? (unsigned char)(sign | maxcode)\n"
    "                       : has_inf ? (unsigned char)(sign | ((1 << ebits) - 1) << mbits) : "
    "nan;\n"
    "  if (x != x) return nan;\n"
    "  double a = x < 0 ? -(double)x : (double)x;\n"
    "  if (a > 3.4028234663852886e38) return over;\n"
    "  if (a == 0) return uz ? 0 : sign;\n"
    "  int emin = 1 - bias, ex;\n"
    "  frexp(a, &ex);\n"
    "  int e = ex - 1 < emin ? emin : ex - 1;\n"
    "  double q = ldexp(1.0, e - mbits);\n"
    "  double v = nearbyint(a / q) * q;\n"
    "  double maxv = ldexp((double)((1 << mbits) | mmax), emaxf - bias - mbits);\n"
    "  if (v > maxv) return over;\n"
    "  if (v == 0) return uz ? 0 : sign;\n"
    "  unsigned char code;\n"
    "  if (v < ldexp(1.0, emin)) {\n"
    "    code = (unsigned char)ldexp(v, bias - 1 + mbits);\n"
    "  } else {\n"
    "    frexp(v, &ex);\n"
    "    code = (unsigned char)((ex - 1 + bias) << mbits | ((int)ldexp(v, mbits - (ex - 1)) - (1 "
    "<< mbits)));\n"
    "  }\n"
    "  return (unsigned char)(sign | code);\n"
    "}\n"
    "// float8e8m0 (an exponent byte) and the packed sub-byte types: runtime/cpu/float8.c's and\n"
    "// tensor.h's rules (mode 0 up, 1 down, 2 nearest)\n"
    "static __device__ __forceinline__ float mt_e8m02f(unsigned char e) {\n"
    "  return e == 0xff ? __int_as_float(0x7fc00000) : (float)ldexp(1.0, (int)e - 127);\n"
    "}\n"
    "static __device__ __forceinline__ unsigned char mt_f2e8m0(float f, int saturate, int mode) {\n"
    "  const unsigned x = (unsigned)__float_as_int(f), e = (x >> 23) & 0xffu;\n"
    "  if (e == 0xffu) return 0xff;\n"
    "  int up = 0;\n"
    "  if (mode == 0) up = (x & 0x7fffffu) != 0;\n"
    "  if (mode == 2)\n"
    "    up = (x & 0x400000u) && ((x & 0x200000u) || (x & 0x1fffffu) || e > 0);\n"
    "  if (up && saturate && e == 0xfeu) up = 0;\n"
    "  return (unsigned char)(e + (unsigned)up);\n"
    "}\n"
    "// a template: the emulation's global pointers are a class\n"
    "template <typename P>\n"
    "static __device__ __forceinline__ int mt_ld_packed(P p, long long i, int bits, int sgn) {\n"
    "  const int per = 8 / bits;\n"
    "  const int c = (p[i / per] >> ((int)(i % per) * bits)) & ((1 << bits) - 1);\n"
    "  return sgn && c >= (1 << (bits - 1)) ? c - (1 << bits) : c;\n"
    "}\n"
    "static __device__ __forceinline__ float mt_fp42f(int c) {\n"
    "  const int m = c & 7;\n"
    "  const float v = m < 4 ? 0.5f * (float)m : (m == 4 ? 2.0f : m == 5 ? 3.0f : m == 6 ? 4.0f : "
    "6.0f);\n"
    "  return (c & 8) ? -v : v;\n"
    "}\n"
    "static __device__ __forceinline__ int mt_f2fp4(float f) {\n"
    "  if (f != f) return 8;\n"
    "  const int sign = __float_as_int(f) < 0 ? 8 : 0;\n"
    "  const float a = f < 0 ? -f : f;\n"
    "  return sign | (a > 5.0f ? 7 : a >= 3.5f ? 6 : a > 2.5f ? 5 : a >= 1.75f ? 4 : a > 1.25f ? "
    "3\n"
    "                 : a >= 0.75f ? 2 : a > 0.25f ? 1 : 0);\n"
    "}\n";

bool mt_cg_is_narrow(mt_dtype dt) {
  return dt == MT_DTYPE_BFLOAT16 || mt_dtype_is_float8(dt) || dt == MT_DTYPE_FLOAT8E8M0;
}

const char *mt_cg_prelude_narrow_for(const mt_plan *p, const mt_fused_group *const *fgs, int n) {
  for (int g = 0; g < n; g++)
    for (int k = 0; k < fgs[g]->n_nodes; k++) {
      const mt_node *node = mt_module_node_c(p->module, fgs[g]->nodes[k]);
      for (int i = 0; i < node->n_inputs + node->n_outputs; i++) {
        mt_value_id v = i < node->n_inputs ? node->inputs[i] : node->outputs[i - node->n_inputs];
        if (v == MT_NO_VALUE) continue;
        mt_dtype dt = mt_module_value_c(p->module, v)->dtype;
        if (mt_cg_is_narrow(dt) || mt_dtype_is_packed(dt)) return mt_cg_prelude_narrow;
      }
    }
  return ""; /* most kernels: the helpers would only slow NVRTC and the emulation's compile */
}

/* The format constants mt_f82f / mt_f2f8 take, as runtime/cpu/float8.c's table. */
static const char *f8_args(mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_FLOAT8E4M3FN: return "7, 3, 15, 6, 0, 0";
  case MT_DTYPE_FLOAT8E4M3FNUZ: return "8, 3, 15, 7, 1, 0";
  case MT_DTYPE_FLOAT8E5M2: return "15, 2, 30, 3, 0, 1";
  default: return "16, 2, 31, 3, 1, 0"; /* E5M2FNUZ */
  }
}

void mt_cg_narrow_load(mt_dtype dt, const char *bits, char *out, size_t n) {
  if (dt == MT_DTYPE_FLOAT8E8M0)
    snprintf(out, n, "mt_e8m02f(%s)", bits);
  else if (dt == MT_DTYPE_BFLOAT16)
    snprintf(out, n, "mt_bf2f(%s)", bits);
  else
    snprintf(out, n, "mt_f82f(%s, %s)", bits, f8_args(dt));
}

void mt_cg_narrow_bits(mt_dtype dt, const char *val, bool saturate, char *out, size_t n) {
  mt_cg_narrow_bits_mode(dt, val, saturate, MT_E8M0_ROUND_UP, out, n);
}

void mt_cg_narrow_bits_mode(mt_dtype dt, const char *val, bool saturate, mt_e8m0_round round,
                            char *out, size_t n) {
  if (dt == MT_DTYPE_FLOAT8E8M0)
    snprintf(out, n, "mt_f2e8m0(%s, %d, %d)", val, saturate ? 1 : 0, (int)round);
  else if (dt == MT_DTYPE_BFLOAT16)
    snprintf(out, n, "mt_f2bf(%s)", val);
  else
    snprintf(out, n, "mt_f2f8(%s, %s, %d)", val, f8_args(dt), saturate ? 1 : 0);
}

void mt_cg_round_to(mt_dtype dt, const char *expr, char *out, size_t n) {
  if (dt == MT_DTYPE_FLOAT16)
    snprintf(out, n, "mt_r16(%s)", expr);
  else if (dt == MT_DTYPE_BFLOAT16)
    snprintf(out, n, "mt_rbf(%s)", expr);
  else
    snprintf(out, n, "%s", expr);
}

void mt_cg_narrow_round(mt_dtype dt, const char *val, bool saturate, char *out, size_t n) {
  mt_cg_narrow_round_mode(dt, val, saturate, MT_E8M0_ROUND_UP, out, n);
}

void mt_cg_narrow_round_mode(mt_dtype dt, const char *val, bool saturate, mt_e8m0_round round,
                             char *out, size_t n) {
  char bits[512];
  mt_cg_narrow_bits_mode(dt, val, saturate, round, bits, sizeof bits);
  mt_cg_narrow_load(dt, bits, out, n);
}

void mt_cg_packed_load(mt_dtype dt, const char *p, const char *at, char *out, size_t n) {
  bool sgn = dt == MT_DTYPE_INT4 || dt == MT_DTYPE_INT2;
  if (dt == MT_DTYPE_FLOAT4E2M1)
    snprintf(out, n, "mt_fp42f(mt_ld_packed(%s, %s, 4, 0))", p, at);
  else
    snprintf(out, n, "mt_ld_packed(%s, %s, %d, %d)", p, at, mt_dtype_bits(dt), sgn ? 1 : 0);
}
