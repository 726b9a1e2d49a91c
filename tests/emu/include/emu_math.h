/* CUDA device math, integer/bit intrinsics and atomics for the emulator (part of emu_cuda.h).
 *
 * The standard single-precision functions (expf, erff, tanhf, ...) are the host libm's, declared by
 * <math.h>. The fast-math intrinsics (__expf, __fdividef, ...) are computed at full precision: the
 * emulator is meant to check logic, and tests should compare with tolerances that a GPU's
 * approximations (documented in the CUDA programming guide's accuracy tables) also meet. */
#ifndef MT_EMU_MATH_H
#define MT_EMU_MATH_H

/* ---- floating point ------------------------------------------------------------------------------ */
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return exp10f(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline void __sincosf(float x, float *s, float *c) {
  *s = sinf(x);
  *c = cosf(x);
}
inline float __fdividef(float a, float b) { return a / b; }
inline float fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline float __frsqrt_rn(float a) { return 1.0f / sqrtf(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
inline double normcdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }

/* min/max: the overload set of CUDA's math_functions.hpp. */
#define EMU_MINMAX(R, A, B)                                                                        \
  inline R min(A a, B b) { return (R)a < (R)b ? (R)a : (R)b; }                                     \
  inline R max(A a, B b) { return (R)a > (R)b ? (R)a : (R)b; }
EMU_MINMAX(int, int, int)
EMU_MINMAX(unsigned, unsigned, unsigned)
EMU_MINMAX(unsigned, int, unsigned)
EMU_MINMAX(unsigned, unsigned, int)
EMU_MINMAX(long, long, long)
EMU_MINMAX(unsigned long, unsigned long, unsigned long)
EMU_MINMAX(unsigned long, long, unsigned long)
EMU_MINMAX(unsigned long, unsigned long, long)
EMU_MINMAX(long long, long long, long long)
EMU_MINMAX(unsigned long long, unsigned long long, unsigned long long)
EMU_MINMAX(unsigned long long, long long, unsigned long long)
EMU_MINMAX(unsigned long long, unsigned long long, long long)
#undef EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline double min(float a, double b) { return fmin(a, b); }
inline double max(float a, double b) { return fmax(a, b); }
inline double min(double a, float b) { return fmin(a, b); }
inline double max(double a, float b) { return fmax(a, b); }

/* ---- conversions and reinterpretation ------------------------------------------------------------ */
inline int __float_as_int(float f) {
  int i;
  std::memcpy(&i, &f, 4);
  return i;
}
inline unsigned __float_as_uint(float f) {
  unsigned i;
  std::memcpy(&i, &f, 4);
  return i;
}
inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
inline float __uint_as_float(unsigned i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
inline long long __double_as_longlong(double d) {
  long long i;
  std::memcpy(&i, &d, 8);
  return i;
}
inline double __longlong_as_double(long long i) {
  double d;
  std::memcpy(&d, &i, 8);
  return d;
}
inline int __float2int_rn(float f) { return (int)rintf(f); }
inline int __float2int_rz(float f) { return (int)truncf(f); }
inline int __float2int_ru(float f) { return (int)ceilf(f); }
inline int __float2int_rd(float f) { return (int)floorf(f); }
inline unsigned __float2uint_rn(float f) { return (unsigned)rintf(f); }
inline unsigned __float2uint_rz(float f) { return (unsigned)truncf(f); }
inline long long __float2ll_rn(float f) { return (long long)rintf(f); }
inline long long __float2ll_rz(float f) { return (long long)truncf(f); }
inline float __int2float_rn(int i) { return (float)i; }
inline float __uint2float_rn(unsigned i) { return (float)i; }
inline float __ll2float_rn(long long i) { return (float)i; }
inline float __double2float_rn(double d) { return (float)d; }
inline int __double2int_rn(double d) { return (int)rint(d); }

/* ---- integer and bit intrinsics ------------------------------------------------------------------ */
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; i++) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) {
  return (unsigned)(((unsigned long long)a * b) >> 32);
}
inline long long __mul64hi(long long a, long long b) {
  return (long long)(((__int128)a * b) >> 64);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline int __mul24(int a, int b) {
  return (int)((long long)((a << 8) >> 8) * (long long)((b << 8) >> 8));
}
inline unsigned __umul24(unsigned a, unsigned b) { return (a & 0xffffffu) * (b & 0xffffffu); }
inline unsigned __sad(int a, int b, unsigned c) { return c + (unsigned)(a > b ? a - b : b - a); }
inline unsigned __usad(unsigned a, unsigned b, unsigned c) { return c + (a > b ? a - b : b - a); }
inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s) {
  unsigned long long v = ((unsigned long long)hi << 32) | lo;
  return (unsigned)((v << (s & 31)) >> 32);
}
inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s) {
  unsigned long long v = ((unsigned long long)hi << 32) | lo;
  return (unsigned)(v >> (s & 31));
}

/* ---- read-only loads ----------------------------------------------------------------------------- */
template <class T> inline T __ldg(const T *p) { return *p; }
template <class T> inline T __ldg(const ::emu::gptr<T> &p) { return *p.at(0); }

/* ---- atomics ------------------------------------------------------------------------------------- */
/* Fibers switch only at barriers and warp intrinsics, so a read-modify-write is trivially atomic.
 * Each operation has the raw-pointer form (`atomicAdd(&y[i], v)`: &y[i] was checked when formed) and
 * the checked global and shared pointer forms. */
namespace emu {
template <class T> inline T *atomic_addr(T *p) { return p; }
template <class T> inline T *atomic_addr(const gptr<T> &p) { return p.at(0); }
template <class T> inline T *atomic_addr(const sptr<T> &p) {
  T *a = p.at(0);
  smem_access(a, sizeof(T), SM_ATOMIC);
  return a;
}
} // namespace emu

#define EMU_ATOMIC(NAME, T, EXPR)                                                                  \
  inline T NAME(T *a_, T v) {                                                                      \
    T old = *a_;                                                                                   \
    *a_ = (EXPR);                                                                                  \
    return old;                                                                                    \
  }                                                                                                \
  inline T NAME(::emu::gptr<T> a_, T v) { return NAME(::emu::atomic_addr(a_), v); }                \
  inline T NAME(::emu::sptr<T> a_, T v) { return NAME(::emu::atomic_addr(a_), v); }
EMU_ATOMIC(atomicAdd, int, old + v)
EMU_ATOMIC(atomicAdd, unsigned, old + v)
EMU_ATOMIC(atomicAdd, unsigned long long, old + v)
EMU_ATOMIC(atomicAdd, float, old + v)
EMU_ATOMIC(atomicAdd, double, old + v)
EMU_ATOMIC(atomicSub, int, old - v)
EMU_ATOMIC(atomicSub, unsigned, old - v)
EMU_ATOMIC(atomicExch, int, v)
EMU_ATOMIC(atomicExch, unsigned, v)
EMU_ATOMIC(atomicExch, unsigned long long, v)
EMU_ATOMIC(atomicExch, float, v)
EMU_ATOMIC(atomicMax, int, old > v ? old : v)
EMU_ATOMIC(atomicMax, unsigned, old > v ? old : v)
EMU_ATOMIC(atomicMax, long long, old > v ? old : v)
EMU_ATOMIC(atomicMax, unsigned long long, old > v ? old : v)
EMU_ATOMIC(atomicMin, int, old < v ? old : v)
EMU_ATOMIC(atomicMin, unsigned, old < v ? old : v)
EMU_ATOMIC(atomicMin, long long, old < v ? old : v)
EMU_ATOMIC(atomicMin, unsigned long long, old < v ? old : v)
EMU_ATOMIC(atomicAnd, int, old &v)
EMU_ATOMIC(atomicAnd, unsigned, old &v)
EMU_ATOMIC(atomicAnd, unsigned long long, old &v)
EMU_ATOMIC(atomicOr, int, old | v)
EMU_ATOMIC(atomicOr, unsigned, old | v)
EMU_ATOMIC(atomicOr, unsigned long long, old | v)
EMU_ATOMIC(atomicXor, int, old ^ v)
EMU_ATOMIC(atomicXor, unsigned, old ^ v)
EMU_ATOMIC(atomicXor, unsigned long long, old ^ v)
EMU_ATOMIC(atomicInc, unsigned, old >= v ? 0u : old + 1u)
EMU_ATOMIC(atomicDec, unsigned, (old == 0u || old > v) ? v : old - 1u)
/* The dialect's float max/min (CUDA has no float atomicMax; mt_cuda.h builds them from atomicCAS). */
EMU_ATOMIC(mt_atomic_max_f32, float, (old >= v) ? old : v)
EMU_ATOMIC(mt_atomic_min_f32, float, (old <= v) ? old : v)
#undef EMU_ATOMIC

#define EMU_ATOMIC_CAS(T)                                                                          \
  inline T atomicCAS(T *a_, T cmp, T v) {                                                          \
    T old = *a_;                                                                                   \
    *a_ = old == cmp ? v : old;                                                                    \
    return old;                                                                                    \
  }                                                                                                \
  inline T atomicCAS(::emu::gptr<T> a_, T cmp, T v) {                                              \
    return atomicCAS(::emu::atomic_addr(a_), cmp, v);                                              \
  }                                                                                                \
  inline T atomicCAS(::emu::sptr<T> a_, T cmp, T v) {                                              \
    return atomicCAS(::emu::atomic_addr(a_), cmp, v);                                              \
  }
EMU_ATOMIC_CAS(int)
EMU_ATOMIC_CAS(unsigned)
EMU_ATOMIC_CAS(unsigned long long)
EMU_ATOMIC_CAS(unsigned short)
#undef EMU_ATOMIC_CAS

#endif
