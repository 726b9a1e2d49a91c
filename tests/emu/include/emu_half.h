/* CUDA __half / __half2 for the emulator (part of emu_cuda.h; do not include directly).
 *
 * Storage is the IEEE binary16 bit pattern. Arithmetic is done in float and rounded to nearest-even
 * after each operation, which gives the correctly rounded half result for + - * / (float has more than
 * 2*11+2 significand bits), matching sm_53+ half arithmetic. As in CUDA, __half converts implicitly
 * from float/double/integers and to float, and mixed expressions such as `h + 1.0f` are ambiguous. */
#ifndef MT_EMU_HALF_H
#define MT_EMU_HALF_H

namespace emu {
inline unsigned short float_to_half_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  unsigned short sign = (unsigned short)((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) /* inf, or NaN kept quiet with its top payload bits */
    return (unsigned short)(sign | 0x7c00u |
                            (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0u));
  if (ax >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u); /* rounds to infinity */
  if (ax < 0x38800000u) {
    /* Half subnormal (or zero): m * 2^-24; scaling by 2^24 is exact, rintf rounds to nearest-even. */
    float a;
    std::memcpy(&a, &ax, 4);
    return (unsigned short)(sign | (unsigned short)rintf(a * 16777216.0f));
  }
  uint32_t r = ax - 0x38000000u; /* rebias exponent 127 -> 15 */
  return (unsigned short)(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13));
}

inline float half_bits_to_float(unsigned short h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  float f;
  if (e == 0) {
    f = (float)m * (1.0f / 16777216.0f);
    return sign ? -f : f;
  }
  uint32_t bits =
      e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112u) << 23) | (m << 13));
  std::memcpy(&f, &bits, 4);
  return f;
}
} // namespace emu

struct __half {
  unsigned short __x;
  __half() = default;
  __half(float f) : __x(::emu::float_to_half_bits(f)) {}
  __half(double d) : __x(::emu::float_to_half_bits((float)d)) {}
  __half(int i) : __x(::emu::float_to_half_bits((float)i)) {}
  __half(unsigned i) : __x(::emu::float_to_half_bits((float)i)) {}
  __half(short i) : __x(::emu::float_to_half_bits((float)i)) {}
  __half(unsigned short i) : __x(::emu::float_to_half_bits((float)i)) {}
  __half(long long i) : __x(::emu::float_to_half_bits((float)i)) {}
  __half(unsigned long long i) : __x(::emu::float_to_half_bits((float)i)) {}
  operator float() const { return ::emu::half_bits_to_float(__x); }
  __half &operator+=(const __half &o) { return *this = __half((float)*this + (float)o); }
  __half &operator-=(const __half &o) { return *this = __half((float)*this - (float)o); }
  __half &operator*=(const __half &o) { return *this = __half((float)*this * (float)o); }
  __half &operator/=(const __half &o) { return *this = __half((float)*this / (float)o); }
  __half &operator++() { return *this += __half(1.0f); }
  __half &operator--() { return *this -= __half(1.0f); }
  __half operator++(int) {
    __half t = *this;
    ++*this;
    return t;
  }
  __half operator--(int) {
    __half t = *this;
    --*this;
    return t;
  }
};

struct __align__(4) __half2 {
  __half x, y;
};

inline __half operator+(const __half &a, const __half &b) { return __half((float)a + (float)b); }
inline __half operator-(const __half &a, const __half &b) { return __half((float)a - (float)b); }
inline __half operator*(const __half &a, const __half &b) { return __half((float)a * (float)b); }
inline __half operator/(const __half &a, const __half &b) { return __half((float)a / (float)b); }
inline __half operator-(const __half &a) {
  __half r = a;
  r.__x ^= 0x8000u;
  return r;
}
inline __half operator+(const __half &a) { return a; }
inline bool operator==(const __half &a, const __half &b) { return (float)a == (float)b; }
inline bool operator!=(const __half &a, const __half &b) { return (float)a != (float)b; }
inline bool operator<(const __half &a, const __half &b) { return (float)a < (float)b; }
inline bool operator>(const __half &a, const __half &b) { return (float)a > (float)b; }
inline bool operator<=(const __half &a, const __half &b) { return (float)a <= (float)b; }
inline bool operator>=(const __half &a, const __half &b) { return (float)a >= (float)b; }

inline __half __float2half(float f) { return __half(f); }
inline __half __float2half_rn(float f) { return __half(f); }
inline __half __float2half_rz(float f) {
  __half r = __half(f);
  /* Round toward zero: step back one ulp when rounding went away from zero. */
  if (std::isfinite(f) && std::fabs((float)r) > std::fabs(f)) r.__x = (unsigned short)(r.__x - 1u);
  return r;
}
inline __half __double2half(double d) { return __half((float)d); }
inline float __half2float(__half h) { return (float)h; }
inline __half __int2half_rn(int i) { return __half((float)i); }
inline int __half2int_rn(__half h) { return (int)rintf((float)h); }
inline int __half2int_rz(__half h) { return (int)(float)h; }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline short __half_as_short(__half h) { return (short)h.__x; }
inline __half __ushort_as_half(unsigned short u) {
  __half h;
  h.__x = u;
  return h;
}
inline __half __short_as_half(short s) {
  __half h;
  h.__x = (unsigned short)s;
  return h;
}
inline __half __hadd(__half a, __half b) { return a + b; }
inline __half __hsub(__half a, __half b) { return a - b; }
inline __half __hmul(__half a, __half b) { return a * b; }
inline __half __hdiv(__half a, __half b) { return a / b; }
inline __half __hneg(__half a) { return -a; }
inline __half __habs(__half a) {
  a.__x &= 0x7fffu;
  return a;
}
inline __half __hfma(__half a, __half b, __half c) {
  return __half(fmaf((float)a, (float)b, (float)c));
}
inline __half __hmax(__half a, __half b) { return __half(fmaxf((float)a, (float)b)); }
inline __half __hmin(__half a, __half b) { return __half(fminf((float)a, (float)b)); }
inline bool __heq(__half a, __half b) { return a == b; }
inline bool __hne(__half a, __half b) { return a != b; }
inline bool __hlt(__half a, __half b) { return a < b; }
inline bool __hle(__half a, __half b) { return a <= b; }
inline bool __hgt(__half a, __half b) { return a > b; }
inline bool __hge(__half a, __half b) { return a >= b; }
inline bool __hisnan(__half a) { return std::isnan((float)a); }
inline int __hisinf(__half a) { return std::isinf((float)a) ? ((float)a > 0 ? 1 : -1) : 0; }
inline __half hexp(__half a) { return __half(expf((float)a)); }
inline __half hlog(__half a) { return __half(logf((float)a)); }
inline __half hsqrt(__half a) { return __half(sqrtf((float)a)); }
inline __half hrsqrt(__half a) { return __half(1.0f / sqrtf((float)a)); }
inline __half htanh(__half a) { return __half(tanhf((float)a)); }

inline __half2 make_half2(__half x, __half y) {
  __half2 r;
  r.x = x;
  r.y = y;
  return r;
}
inline __half2 __halves2half2(__half x, __half y) { return make_half2(x, y); }
inline __half2 __floats2half2_rn(float a, float b) { return make_half2(__half(a), __half(b)); }
inline __half2 __float2half2_rn(float a) { return make_half2(__half(a), __half(a)); }
inline __half __low2half(__half2 h) { return h.x; }
inline __half __high2half(__half2 h) { return h.y; }
inline float __low2float(__half2 h) { return (float)h.x; }
inline float __high2float(__half2 h) { return (float)h.y; }
inline float2 __half22float2(__half2 h) { return make_float2((float)h.x, (float)h.y); }
inline __half2 __float22half2_rn(float2 f) { return make_half2(__half(f.x), __half(f.y)); }
inline __half2 __hadd2(__half2 a, __half2 b) { return make_half2(a.x + b.x, a.y + b.y); }
inline __half2 __hmul2(__half2 a, __half2 b) { return make_half2(a.x * b.x, a.y * b.y); }

#endif
