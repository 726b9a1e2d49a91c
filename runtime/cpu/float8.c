/* bfloat16 and float8 conversions (see float8.h). */
#include "runtime/cpu/float8.h"

#include <math.h>
#include <string.h>

float mt_bf16_to_float(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t mt_float_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
  x += 0x7fffu + ((x >> 16) & 1u); /* round to nearest even; overflow carries into inf */
  return (uint16_t)(x >> 16);
}

/* One float8 format: exponent bias, mantissa bits, largest exponent field of a finite value
 * and largest mantissa there, and how it spells NaN and infinity. */
typedef struct f8_format {
  int bias, mbits, emax_field, mmax_at_emax;
  bool uz;      /* "unsigned zero": no -0, the one NaN is 0x80 */
  bool has_inf; /* E5M2: exponent field all ones, mantissa 0 */
} f8_format;

static const f8_format *f8_format_of(mt_dtype dt) {
  static const f8_format e4m3fn = {7, 3, 15, 6, false, false};
  static const f8_format e4m3fnuz = {8, 3, 15, 7, true, false};
  static const f8_format e5m2 = {15, 2, 30, 3, false, true};
  static const f8_format e5m2fnuz = {16, 2, 31, 3, true, false};
  switch (dt) {
  case MT_DTYPE_FLOAT8E4M3FN: return &e4m3fn;
  case MT_DTYPE_FLOAT8E4M3FNUZ: return &e4m3fnuz;
  case MT_DTYPE_FLOAT8E5M2: return &e5m2;
  case MT_DTYPE_FLOAT8E5M2FNUZ: return &e5m2fnuz;
  default: return NULL;
  }
}

bool mt_dtype_is_float8(mt_dtype dt) { return f8_format_of(dt) != NULL; }

float mt_f8_to_float(mt_dtype dt, uint8_t b) {
  const f8_format *f = f8_format_of(dt);
  if (!f) return NAN;
  int ebits = 7 - f->mbits;
  int sign = b >> 7, e = (b >> f->mbits) & ((1 << ebits) - 1), m = b & ((1 << f->mbits) - 1);
  if (f->uz && b == 0x80) return NAN;
  if (!f->uz) {
    if (f->has_inf && e == (1 << ebits) - 1) return m ? NAN : (sign ? -INFINITY : INFINITY);
    if (!f->has_inf && e == f->emax_field && m > f->mmax_at_emax) return NAN;
  }
  float v = e == 0 ? ldexpf((float)m, 1 - f->bias - f->mbits)
                   : ldexpf((float)(m | (1 << f->mbits)), e - f->bias - f->mbits);
  return sign ? -v : v;
}

/* The NaN of format f with the given sign bit (uz formats have only 0x80). */
static uint8_t f8_nan(const f8_format *f, uint8_t sign) {
  if (f->uz) return 0x80;
  return (uint8_t)(sign | 0x7f);
}

uint8_t mt_float_to_f8(mt_dtype dt, float x, bool saturate) {
  const f8_format *f = f8_format_of(dt);
  if (!f) return 0;
  uint8_t sign = signbit(x) ? 0x80 : 0;
  int ebits = 7 - f->mbits;
  uint8_t maxcode = (uint8_t)(f->emax_field << f->mbits | f->mmax_at_emax);
  uint8_t overflow = saturate     ? (uint8_t)(sign | maxcode)
                     : f->has_inf ? (uint8_t)(sign | ((1 << ebits) - 1) << f->mbits)
                                  : f8_nan(f, sign);
  if (isnan(x)) return f8_nan(f, sign);
  if (isinf(x)) return overflow;
  double a = fabs((double)x);
  if (a == 0) return f->uz ? 0 : sign;
  int emin = 1 - f->bias; /* exponent of the smallest normal */
  int ex;
  frexp(a, &ex); /* a = frac * 2^ex, frac in [0.5, 1): a's exponent is ex - 1 */
  int e = ex - 1 < emin ? emin : ex - 1;
  double q = ldexp(1.0, e - f->mbits); /* the spacing of representable values near a */
  double r = nearbyint(a / q);         /* default rounding mode: to nearest even */
  double v = r * q;                    /* exact: r has at most mbits + 2 bits */
  double maxv =
      ldexp((double)((1 << f->mbits) | f->mmax_at_emax), f->emax_field - f->bias - f->mbits);
  if (v > maxv) return overflow;
  if (v == 0) return f->uz ? 0 : sign; /* underflow keeps the sign where -0 exists */
  uint8_t code;
  if (v < ldexp(1.0, emin)) { /* subnormal: exponent field 0 */
    code = (uint8_t)ldexp(v, f->bias - 1 + f->mbits);
  } else {
    frexp(v, &ex);
    int ef = ex - 1 + f->bias;
    int m = (int)(ldexp(v, f->mbits - (ex - 1))) - (1 << f->mbits);
    code = (uint8_t)(ef << f->mbits | m);
  }
  return (uint8_t)(sign | code);
}

float mt_fp4_to_float(uint8_t code) {
  static const float mag[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  float v = mag[code & 7];
  return code & 8 ? -v : v;
}

uint8_t mt_float_to_fp4(float f) {
  if (isnan(f)) return 0x8;
  uint8_t sign = signbit(f) ? 8 : 0;
  float a = fabsf(f);
  /* the midpoints between neighbours; a tie goes to the code with an even mantissa bit (even
   * code), which is the lower neighbour at 0.25, 1.25, 2.5 and 5 and the upper one elsewhere */
  static const float mid[7] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  uint8_t c = 0;
  while (c < 7 && (a > mid[c] || (a == mid[c] && (c & 1)))) c++;
  return (uint8_t)(sign | c);
}

float mt_e8m0_to_float(uint8_t e) {
  if (e == 0xff) return NAN;
  return ldexpf(1.0f, (int)e - 127);
}

uint8_t mt_float_to_e8m0(float f, bool saturate, mt_e8m0_round mode) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  uint32_t e = bits >> 23 & 0xff;
  if (e == 0xff) return 0xff;
  bool up = false;
  if (mode == MT_E8M0_ROUND_UP) {
    up = (bits & 0x7fffff) != 0;
  } else if (mode == MT_E8M0_ROUND_NEAREST) {
    bool g = bits & 0x400000, r = bits & 0x200000, s = (bits & 0x1fffff) != 0;
    up = g && (r || s || e > 0);
  }
  if (up && saturate && e == 0xfe) up = false;
  return (uint8_t)(e + (up ? 1 : 0)); /* 0xfe + 1 without saturation is 0xff: NaN */
}
