/* Host emulation of the CUDA C surface used by the mtcc kernel dialect (see mt_cuda.h).
 *
 * Included by mt_cuda.h when the source is compiled by the host C++ compiler (g++ -std=c++17). It maps
 * the dialect onto checked types:
 *   - MT_GLOBAL(T) pointers are emu::gptr<T>: fat pointers bound, at launch, to the buffer the
 *     argument points into; every dereference is bounds- and alignment-checked.
 *   - MT_SHARED / MT_DYN_SHARED arrays live in a per-block arena; elements are reached through
 *     proxies (emu::sref<T>) so that every read and write updates per-byte shadow state, which finds
 *     reads of never-written shared memory and data races between barriers.
 *   - __syncthreads() and the warp intrinsics are scheduling points of the fiber scheduler in
 *     emu_sched.c; threadIdx & co. read the running fiber's state.
 * Constructs the emulator does not model fail to compile with a message naming them. */
#ifndef MT_EMU_CUDA_H
#define MT_EMU_CUDA_H

#ifndef __cplusplus
#error "emu_cuda.h: compile kernel sources as C++17 (g++ -x c++ -std=c++17)"
#endif

#include <math.h>

#include <cfloat>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "emu_rt.h"

#define MT_EMU 1

/* ---- qualifiers -------------------------------------------------------------------------------- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __grid_constant__

/* ---- vector and index types -------------------------------------------------------------------- */
typedef emu_dim3 uint3;
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
  constexpr dim3(emu_dim3 d) : x(d.x), y(d.y), z(d.z) {}
  constexpr operator emu_dim3() const { return emu_dim3{x, y, z}; }
};
#define EMU_VEC2(T, N, A)                                                                          \
  struct __align__(A) N##2 {                                                                       \
    T x, y;                                                                                        \
  };                                                                                               \
  inline N##2 make_##N##2(T x, T y) {                                                              \
    N##2 r;                                                                                        \
    r.x = x;                                                                                       \
    r.y = y;                                                                                       \
    return r;                                                                                      \
  }
#define EMU_VEC4(T, N, A)                                                                          \
  struct __align__(A) N##4 {                                                                       \
    T x, y, z, w;                                                                                  \
  };                                                                                               \
  inline N##4 make_##N##4(T x, T y, T z, T w) {                                                    \
    N##4 r;                                                                                        \
    r.x = x;                                                                                       \
    r.y = y;                                                                                       \
    r.z = z;                                                                                       \
    r.w = w;                                                                                       \
    return r;                                                                                      \
  }
EMU_VEC2(float, float, 8)
EMU_VEC4(float, float, 16)
EMU_VEC2(int, int, 8)
EMU_VEC4(int, int, 16)
EMU_VEC2(unsigned, uint, 8)
EMU_VEC4(unsigned, uint, 16)
EMU_VEC2(double, double, 16)
EMU_VEC4(signed char, char, 4)
EMU_VEC4(unsigned char, uchar, 4)
EMU_VEC2(short, short, 4)
EMU_VEC2(unsigned short, ushort, 4)
struct float3 {
  float x, y, z;
};
inline float3 make_float3(float x, float y, float z) {
  float3 r;
  r.x = x;
  r.y = y;
  r.z = z;
  return r;
}
struct int3 {
  int x, y, z;
};
inline int3 make_int3(int x, int y, int z) {
  int3 r;
  r.x = x;
  r.y = y;
  r.z = z;
  return r;
}
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }
#undef EMU_VEC2
#undef EMU_VEC4

#include "emu_half.h"

/* ---- built-in variables ------------------------------------------------------------------------ */
#define threadIdx (static_cast<const emu_dim3 &>(::emu_g.cur->tid))
#define blockIdx (static_cast<const emu_dim3 &>(::emu_g.block_idx))
#define blockDim (static_cast<const emu_dim3 &>(::emu_g.block_dim))
#define gridDim (static_cast<const emu_dim3 &>(::emu_g.grid_dim))
inline constexpr int warpSize = 32;

namespace emu {
template <class...> inline constexpr bool dependent_false = false;

/* ---- global memory ------------------------------------------------------------------------------ */

/* A pointer into one kernel argument's buffer. The bounds are the whole registered buffer the
 * argument pointed into at launch; arithmetic is free, dereference is checked. */
template <class T> class gptr {
  static_assert(!std::is_void<T>::value,
                "emu: MT_GLOBAL(void) is not supported; use a typed pointer");

public:
  T *p_ = nullptr;
  uintptr_t lo_ = 0, hi_ = 0;
  int argi_ = -1;

  gptr() = default;
  gptr(std::nullptr_t) {}
  gptr(T *p, uintptr_t lo, uintptr_t hi, int argi) : p_(p), lo_(lo), hi_(hi), argi_(argi) {}
  template <class U, class = std::enable_if_t<std::is_convertible<U *, T *>::value>>
  gptr(const gptr<U> &o) : p_(o.p_), lo_(o.lo_), hi_(o.hi_), argi_(o.argi_) {}

  /* The checked address of element i. */
  T *at(long long i) const {
    uintptr_t a = (uintptr_t)p_ + (uintptr_t)i * sizeof(T);
    if (EMU_UNLIKELY(a < lo_ || a > hi_ || hi_ - a < sizeof(T) || (a & (alignof(T) - 1))))
      emu_fail_global(argi_, lo_, hi_, a, sizeof(T), (a & (alignof(T) - 1)) != 0);
    return reinterpret_cast<T *>(a);
  }
  T &operator[](long long i) const { return *at(i); }
  T &operator*() const { return *at(0); }
  T *operator->() const { return at(0); }

  gptr operator+(long long i) const { return gptr(offset(i), lo_, hi_, argi_); }
  gptr operator-(long long i) const { return gptr(offset(-i), lo_, hi_, argi_); }
  friend gptr operator+(long long i, const gptr &g) { return g + i; }
  template <class U> long long operator-(const gptr<U> &o) const {
    return ((long long)(uintptr_t)p_ - (long long)(uintptr_t)o.p_) / (long long)sizeof(T);
  }
  gptr &operator+=(long long i) {
    p_ = offset(i);
    return *this;
  }
  gptr &operator-=(long long i) {
    p_ = offset(-i);
    return *this;
  }
  gptr &operator++() { return *this += 1; }
  gptr &operator--() { return *this -= 1; }
  gptr operator++(int) {
    gptr t = *this;
    *this += 1;
    return t;
  }
  gptr operator--(int) {
    gptr t = *this;
    *this -= 1;
    return t;
  }
  explicit operator bool() const { return p_ != nullptr; }
  template <class U> bool operator==(const gptr<U> &o) const {
    return (const void *)p_ == (const void *)o.p_;
  }
  template <class U> bool operator!=(const gptr<U> &o) const {
    return (const void *)p_ != (const void *)o.p_;
  }
  template <class U> bool operator<(const gptr<U> &o) const {
    return (const void *)p_ < (const void *)o.p_;
  }
  template <class U> bool operator<=(const gptr<U> &o) const {
    return (const void *)p_ <= (const void *)o.p_;
  }
  template <class U> bool operator>(const gptr<U> &o) const {
    return (const void *)p_ > (const void *)o.p_;
  }
  template <class U> bool operator>=(const gptr<U> &o) const {
    return (const void *)p_ >= (const void *)o.p_;
  }
  bool operator==(std::nullptr_t) const { return p_ == nullptr; }
  bool operator!=(std::nullptr_t) const { return p_ != nullptr; }

private:
  T *offset(long long i) const {
    return reinterpret_cast<T *>((uintptr_t)p_ + (uintptr_t)i * sizeof(T));
  }
};

/* ---- shared memory ------------------------------------------------------------------------------ */

enum { SM_READ = 0, SM_WRITE = 1, SM_ATOMIC = 2 };

/* Is an earlier access by thread tid1 - 1, made at warp epoch e, ordered before the running thread's
 * access? Within one barrier interval only through a __syncwarp() that named both threads (lanes of
 * one warp) and completed after the access. */
inline bool ordered(unsigned tid1, uint32_t e, int warp, uint32_t we) {
  unsigned other = tid1 - 1u;
  if ((int)(other / 32) != warp || we == e) return false;
  if (emu_g.warp_full[warp] > e) return true;
  return emu_warp_synced_since((unsigned)warp, other % 32, emu_g.cur->lane, e) != 0;
}

/* Shadow bookkeeping for n bytes at p (see emu_shadow in emu_rt.h). A conflicting pair of accesses
 * (two threads, one writing) is a race unless a __syncthreads() separates them (new epoch, which
 * clears the record), or both threads are lanes of one warp and a __syncwarp() naming both does. */
inline void smem_access(const void *p, size_t n, int mode) {
  const unsigned checks = emu_g.checks;
  if (!checks) return;
  const size_t off = (size_t)((const char *)p - emu_g.smem);
  emu_shadow *s = emu_g.shadow + off;
  const emu_thread *me = emu_g.cur;
  const uint16_t tid1 = (uint16_t)(me->linear + 1);
  const int warp = (int)me->warp;
  const uint32_t serial = emu_g.block_serial, ep = emu_g.epoch, we = emu_g.warp_epoch[warp];
  for (size_t k = 0; k < n; k++, s++) {
    if (mode != SM_WRITE && (checks & EMU_CHECK_SMEM_INIT) && s->init_block != serial)
      emu_fail_shared(EMU_ERR_UNINIT_SHARED, off + k, 0, 0, 0, mode == SM_ATOMIC);
    if (!(checks & EMU_CHECK_SMEM_RACE)) {
      if (mode != SM_READ) s->init_block = serial;
      continue;
    }
    if (s->epoch != ep) {
      s->epoch = ep;
      s->writer = s->reader = s->reader2 = 0;
      s->rmore = s->watomic = 0;
    }
    if (s->writer && s->writer != tid1 && !(mode == SM_ATOMIC && s->watomic) &&
        !ordered(s->writer, s->wwe, warp, we))
      emu_fail_shared(EMU_ERR_RACE, off + k, s->writer - 1u, s->watomic ? 2 : 1, mode != SM_READ,
                      mode == SM_ATOMIC);
    if (mode != SM_READ) {
      if (s->reader && s->reader != tid1 && !ordered(s->reader, s->rwe, warp, we))
        emu_fail_shared(EMU_ERR_RACE, off + k, s->reader - 1u, 0, 1, mode == SM_ATOMIC);
      if (s->reader2 && s->reader2 != tid1 && !ordered(s->reader2, s->rwe2, warp, we))
        emu_fail_shared(EMU_ERR_RACE, off + k, s->reader2 - 1u, 0, 1, mode == SM_ATOMIC);
      if (s->rmore && !(s->rwarp == warp && emu_g.warp_full[warp] > s->rwe3))
        emu_fail_shared(EMU_ERR_RACE, off + k, (s->reader != tid1 ? s->reader : s->reader2) - 1u, 3,
                        1, mode == SM_ATOMIC);
      s->writer = tid1;
      s->wwe = we;
      s->watomic = mode == SM_ATOMIC;
      s->reader = s->reader2 = 0;
      s->rmore = 0;
      s->init_block = serial;
    } else if (s->reader == tid1) {
      s->rwe = we;
    } else if (s->reader2 == tid1) {
      s->rwe2 = we;
    } else if (!s->reader || ordered(s->reader, s->rwe, warp, we)) {
      s->reader = tid1; /* an earlier read ordered before this one is subsumed by it */
      s->rwe = we;
    } else if (!s->reader2 || ordered(s->reader2, s->rwe2, warp, we)) {
      s->reader2 = tid1;
      s->rwe2 = we;
    } else {
      s->rwarp = (int8_t)(!s->rmore || s->rwarp == warp ? warp : -1);
      s->rmore = 1;
      s->rwe3 = we;
    }
  }
}

template <class T> class sptr;

/* A reference to one shared element: reading converts to T, assigning writes; both are checked.
 * Bind it to a typed variable (`float v = s[i];`), never to `auto`, which would keep the proxy. */
template <class T> class sref {
public:
  T *p_;
  char *lo_, *hi_;
  sref(T *p, char *lo, char *hi) : p_(p), lo_(lo), hi_(hi) {}
  T load() const {
    smem_access(p_, sizeof(T), SM_READ);
    T v;
    std::memcpy((void *)&v, (const void *)p_, sizeof(T));
    return v;
  }
  void store(const T &v) const {
    smem_access(p_, sizeof(T), SM_WRITE);
    std::memcpy((void *)p_, (const void *)&v, sizeof(T));
  }
  operator T() const { return load(); }
  const sref &operator=(const T &v) const {
    store(v);
    return *this;
  }
  const sref &operator=(const sref &o) const {
    store(o.load());
    return *this;
  }
  template <class U> const sref &operator+=(const U &u) const {
    T v = load();
    v += u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator-=(const U &u) const {
    T v = load();
    v -= u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator*=(const U &u) const {
    T v = load();
    v *= u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator/=(const U &u) const {
    T v = load();
    v /= u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator%=(const U &u) const {
    T v = load();
    v %= u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator&=(const U &u) const {
    T v = load();
    v &= u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator|=(const U &u) const {
    T v = load();
    v |= u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator^=(const U &u) const {
    T v = load();
    v ^= u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator<<=(const U &u) const {
    T v = load();
    v <<= u;
    store(v);
    return *this;
  }
  template <class U> const sref &operator>>=(const U &u) const {
    T v = load();
    v >>= u;
    store(v);
    return *this;
  }
  const sref &operator++() const {
    T v = load();
    ++v;
    store(v);
    return *this;
  }
  const sref &operator--() const {
    T v = load();
    --v;
    store(v);
    return *this;
  }
  T operator++(int) const {
    T v = load();
    T r = v;
    ++v;
    store(v);
    return r;
  }
  T operator--(int) const {
    T v = load();
    T r = v;
    --v;
    store(v);
    return r;
  }
  sptr<T> operator&() const { return sptr<T>(p_, lo_, hi_); }
};

/* A pointer into one shared array (or the dynamic region): arithmetic is free, indexing checks the
 * array bounds and yields a checked sref. */
template <class T> class sptr {
public:
  T *p_ = nullptr;
  char *lo_ = nullptr, *hi_ = nullptr;
  sptr() = default;
  sptr(std::nullptr_t) {}
  sptr(T *p, char *lo, char *hi) : p_(p), lo_(lo), hi_(hi) {}
  template <class U, class = std::enable_if_t<std::is_convertible<U *, T *>::value>>
  sptr(const sptr<U> &o) : p_(o.p_), lo_(o.lo_), hi_(o.hi_) {}

  T *at(long long i) const {
    uintptr_t a = (uintptr_t)p_ + (uintptr_t)i * sizeof(T);
    if (EMU_UNLIKELY(a < (uintptr_t)lo_ || a > (uintptr_t)hi_ || (uintptr_t)hi_ - a < sizeof(T)))
      emu_fail_shared_oob(lo_, (long long)(a - (uintptr_t)lo_) / (long long)sizeof(T),
                          (long long)(hi_ - lo_) / (long long)sizeof(T), sizeof(T));
    if (EMU_UNLIKELY(a & (alignof(T) - 1)))
      emu_fail(EMU_ERR_MISALIGNED, "misaligned %zu-byte shared-memory access at byte %zu of %s",
               sizeof(T), (size_t)(a - (uintptr_t)lo_), emu_smem_name(lo_));
    return reinterpret_cast<T *>(a);
  }
  sref<T> operator[](long long i) const { return sref<T>(at(i), lo_, hi_); }
  sref<T> operator*() const { return (*this)[0]; }
  sptr operator+(long long i) const { return sptr(offset(i), lo_, hi_); }
  sptr operator-(long long i) const { return sptr(offset(-i), lo_, hi_); }
  friend sptr operator+(long long i, const sptr &g) { return g + i; }
  template <class U> long long operator-(const sptr<U> &o) const {
    return ((long long)(uintptr_t)p_ - (long long)(uintptr_t)o.p_) / (long long)sizeof(T);
  }
  sptr &operator+=(long long i) {
    p_ = offset(i);
    return *this;
  }
  sptr &operator-=(long long i) {
    p_ = offset(-i);
    return *this;
  }
  sptr &operator++() { return *this += 1; }
  sptr &operator--() { return *this -= 1; }
  sptr operator++(int) {
    sptr t = *this;
    *this += 1;
    return t;
  }
  sptr operator--(int) {
    sptr t = *this;
    *this -= 1;
    return t;
  }
  explicit operator bool() const { return p_ != nullptr; }
  template <class U> bool operator==(const sptr<U> &o) const {
    return (const void *)p_ == (const void *)o.p_;
  }
  template <class U> bool operator!=(const sptr<U> &o) const {
    return (const void *)p_ != (const void *)o.p_;
  }
  template <class U> bool operator<(const sptr<U> &o) const {
    return (const void *)p_ < (const void *)o.p_;
  }

private:
  T *offset(long long i) const {
    return reinterpret_cast<T *>((uintptr_t)p_ + (uintptr_t)i * sizeof(T));
  }
};

/* A static shared array T[N]...: each subscript checks its own dimension. */
template <class A> class sview;
template <class E, size_t N> class sview<E[N]> {
public:
  char *base_, *lo_, *hi_;
  sview(char *base, char *lo, char *hi) : base_(base), lo_(lo), hi_(hi) {}
  using elem_ref = std::conditional_t<std::is_array<E>::value, sview<E>, sref<E>>;
  elem_ref operator[](long long i) const {
    if (EMU_UNLIKELY(i < 0 || (unsigned long long)i >= N))
      emu_fail_shared_oob(base_, i, (long long)N, sizeof(E));
    return make(base_ + (size_t)i * sizeof(E));
  }
  /* Decay to a pointer to the first element (1-D arrays). */
  template <class X = E, class = std::enable_if_t<!std::is_array<X>::value>>
  operator sptr<X>() const {
    return sptr<X>(reinterpret_cast<X *>(base_), lo_, hi_);
  }
  template <class X = E, class = std::enable_if_t<!std::is_array<X>::value>>
  sptr<X> operator+(long long i) const {
    return sptr<X>(reinterpret_cast<X *>(base_), lo_, hi_) + i;
  }

private:
  template <class X = E> std::enable_if_t<std::is_array<X>::value, sview<X>> make(char *p) const {
    return sview<X>(p, lo_, hi_);
  }
  template <class X = E> std::enable_if_t<!std::is_array<X>::value, sref<X>> make(char *p) const {
    return sref<X>(reinterpret_cast<X *>(p), lo_, hi_);
  }
};

template <class T>
using shared_decl_t = std::conditional_t<std::is_array<T>::value, sview<T>, sref<T>>;

template <class T> shared_decl_t<T> shared_decl(emu_smem_slot *slot, const char *name) {
  static_assert(std::is_trivially_copyable<std::remove_all_extents_t<T>>::value,
                "emu: shared arrays hold trivially copyable element types");
  char *p = emu_smem_static(slot, sizeof(T), alignof(T), name);
  if constexpr (std::is_array<T>::value)
    return sview<T>(p, p, p + sizeof(T));
  else
    return sref<T>(reinterpret_cast<T *>(p), p, p + sizeof(T));
}

template <class T> sptr<T> dyn_shared() {
  return sptr<T>(reinterpret_cast<T *>(emu_g.smem), emu_g.smem, emu_g.smem + emu_g.smem_dyn);
}

/* MT_PTR_CAST: reinterpret a checked pointer (vector loads, byte views). Bounds stay those of the
 * buffer; alignment is checked at each access. */
template <class U, class T> gptr<U> ptr_cast(const gptr<T> &p) {
  return gptr<U>(reinterpret_cast<U *>(p.p_), p.lo_, p.hi_, p.argi_);
}
template <class U, class T> sptr<U> ptr_cast(const sptr<T> &p) {
  return sptr<U>(reinterpret_cast<U *>(p.p_), p.lo_, p.hi_);
}
template <class U, class A> sptr<U> ptr_cast(const sview<A> &v) {
  return sptr<U>(reinterpret_cast<U *>(v.base_), v.lo_, v.hi_);
}

/* ---- warp intrinsics ----------------------------------------------------------------------------- */

template <class T> uint64_t to_bits(const T &v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "emu: warp operand type");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T> T from_bits(uint64_t b) {
  T v;
  std::memcpy((void *)&v, &b, sizeof(T));
  return v;
}

/* Call site of a warp intrinsic or barrier (for lockstep and divergence diagnostics). */
struct site {
  const char *f;
  int l;
  template <class T> T wop(int kind, unsigned mask, T v, int arg, int width) const {
    return from_bits<T>(emu_warp_op(kind, mask, to_bits(v), sizeof(T), arg, width, f, l));
  }
#define EMU_SHFL_OVERLOADS(T)                                                                      \
  T shfl_sync(unsigned m, T v, int src, int w = 32) const {                                        \
    return wop<T>(EMU_W_SHFL, m, v, src, w);                                                       \
  }                                                                                                \
  T shfl_up_sync(unsigned m, T v, unsigned d, int w = 32) const {                                  \
    return wop<T>(EMU_W_SHFL_UP, m, v, (int)d, w);                                                 \
  }                                                                                                \
  T shfl_down_sync(unsigned m, T v, unsigned d, int w = 32) const {                                \
    return wop<T>(EMU_W_SHFL_DOWN, m, v, (int)d, w);                                               \
  }                                                                                                \
  T shfl_xor_sync(unsigned m, T v, int x, int w = 32) const {                                      \
    return wop<T>(EMU_W_SHFL_XOR, m, v, x, w);                                                     \
  }
  EMU_SHFL_OVERLOADS(int)
  EMU_SHFL_OVERLOADS(unsigned)
  EMU_SHFL_OVERLOADS(long)
  EMU_SHFL_OVERLOADS(unsigned long)
  EMU_SHFL_OVERLOADS(long long)
  EMU_SHFL_OVERLOADS(unsigned long long)
  EMU_SHFL_OVERLOADS(float)
  EMU_SHFL_OVERLOADS(double)
  EMU_SHFL_OVERLOADS(__half)
  EMU_SHFL_OVERLOADS(__half2)
#undef EMU_SHFL_OVERLOADS
  unsigned ballot_sync(unsigned m, int pred) const {
    return (unsigned)emu_warp_op(EMU_W_BALLOT, m, pred != 0, 4, 0, 32, f, l);
  }
  int any_sync(unsigned m, int pred) const {
    return (int)emu_warp_op(EMU_W_ANY, m, pred != 0, 4, 0, 32, f, l);
  }
  int all_sync(unsigned m, int pred) const {
    return (int)emu_warp_op(EMU_W_ALL, m, pred != 0, 4, 0, 32, f, l);
  }
  void syncwarp(unsigned m = 0xffffffffu) const {
    (void)emu_warp_op(EMU_W_SYNC, m, 0, 0, 0, 32, f, l);
  }
#define EMU_MATCH_OVERLOADS(T)                                                                     \
  unsigned match_any_sync(unsigned m, T v) const {                                                 \
    return (unsigned)emu_warp_op(EMU_W_MATCH_ANY, m, to_bits(v), sizeof(T), 0, 32, f, l);          \
  }                                                                                                \
  unsigned match_all_sync(unsigned m, T v, int *pred) const {                                      \
    uint64_t r = emu_warp_op(EMU_W_MATCH_ALL, m, to_bits(v), sizeof(T), 0, 32, f, l);              \
    *pred = (int)(r >> 32);                                                                        \
    return (unsigned)r;                                                                            \
  }
  EMU_MATCH_OVERLOADS(int)
  EMU_MATCH_OVERLOADS(unsigned)
  EMU_MATCH_OVERLOADS(long)
  EMU_MATCH_OVERLOADS(unsigned long)
  EMU_MATCH_OVERLOADS(long long)
  EMU_MATCH_OVERLOADS(unsigned long long)
  EMU_MATCH_OVERLOADS(float)
  EMU_MATCH_OVERLOADS(double)
#undef EMU_MATCH_OVERLOADS
  unsigned reduce_add_sync(unsigned m, unsigned v) const {
    return (unsigned)emu_warp_op(EMU_W_RED_ADD, m, v, 4, 0, 32, f, l);
  }
  int reduce_add_sync(unsigned m, int v) const {
    return (int)emu_warp_op(EMU_W_RED_ADD, m, (unsigned)v, 4, 0, 32, f, l);
  }
  unsigned reduce_min_sync(unsigned m, unsigned v) const {
    return (unsigned)emu_warp_op(EMU_W_RED_UMIN, m, v, 4, 0, 32, f, l);
  }
  int reduce_min_sync(unsigned m, int v) const {
    return (int)emu_warp_op(EMU_W_RED_MIN, m, (unsigned)v, 4, 0, 32, f, l);
  }
  unsigned reduce_max_sync(unsigned m, unsigned v) const {
    return (unsigned)emu_warp_op(EMU_W_RED_UMAX, m, v, 4, 0, 32, f, l);
  }
  int reduce_max_sync(unsigned m, int v) const {
    return (int)emu_warp_op(EMU_W_RED_MAX, m, (unsigned)v, 4, 0, 32, f, l);
  }
  unsigned reduce_and_sync(unsigned m, unsigned v) const {
    return (unsigned)emu_warp_op(EMU_W_RED_AND, m, v, 4, 0, 32, f, l);
  }
  unsigned reduce_or_sync(unsigned m, unsigned v) const {
    return (unsigned)emu_warp_op(EMU_W_RED_OR, m, v, 4, 0, 32, f, l);
  }
  unsigned reduce_xor_sync(unsigned m, unsigned v) const {
    return (unsigned)emu_warp_op(EMU_W_RED_XOR, m, v, 4, 0, 32, f, l);
  }
};

/* ---- launch ------------------------------------------------------------------------------------- */

template <class T> struct is_gptr : std::false_type {};
template <class T> struct is_gptr<gptr<T>> : std::true_type { using elem = T; };
template <class T> struct is_shared_handle : std::false_type {};
template <class T> struct is_shared_handle<sptr<T>> : std::true_type {};
template <class T> struct is_shared_handle<sref<T>> : std::true_type {};
template <class T> struct is_shared_handle<sview<T>> : std::true_type {};

template <class P> constexpr bool check_param() {
  static_assert(
      !std::is_pointer<P>::value,
      "emu: a kernel parameter is a raw pointer; declare pointer parameters MT_GLOBAL(T) so "
      "the emulator can bound-check them");
  static_assert(!std::is_reference<P>::value, "emu: kernel parameters are passed by value");
  static_assert(!is_shared_handle<P>::value,
                "emu: a kernel parameter cannot point to shared memory");
  return true;
}

/* Convert one launch argument to the kernel's parameter type; pointers are bound to their buffer. */
template <class P, class A> P convert_arg(const char *kernel, int argi, A &&a, int *rc) {
  if constexpr (is_gptr<P>::value) {
    using T = typename is_gptr<P>::elem;
    using D = std::decay_t<A>;
    if constexpr (is_gptr<D>::value) {
      return P(a);
    } else if constexpr (std::is_null_pointer<D>::value) {
      return P();
    } else {
      static_assert(std::is_pointer<D>::value,
                    "emu: pass a device pointer for an MT_GLOBAL parameter");
      T *p = (T *)(a); /* the kernel's element type may differ (e.g. a void * from the C API) */
      uintptr_t lo = 0, hi = 0;
      if (!*rc) *rc = emu_buffer_lookup(kernel, (const void *)p, argi, &lo, &hi);
      return P(p, lo, hi, argi);
    }
  } else {
    return P(std::forward<A>(a));
  }
}

template <class... P> struct launch_ctx {
  void (*k)(P...);
  std::tuple<P...> args;
  static void body(void *c) {
    launch_ctx *self = static_cast<launch_ctx *>(c);
    std::apply(self->k, self->args); /* each thread gets its own copy of the parameters */
  }
};

template <class... P, class... A, size_t... I>
int launch_impl(const char *name, void (*k)(P...), dim3 grid, dim3 block, size_t smem,
                std::index_sequence<I...>, A &&...a) {
  int rc = 0;
  launch_ctx<P...> c{k, std::tuple<P...>{convert_arg<P>(name, (int)I, std::forward<A>(a), &rc)...}};
  if (rc) return rc;
  return emu_launch_body(name, grid, block, smem, &launch_ctx<P...>::body, &c);
}

/* Run kernel k over grid x block threads with smem dynamic shared bytes. Returns EMU_OK or an
 * emu_error code (message in emu_last_error()). */
template <class... P, class... A>
int launch(const char *name, void (*k)(P...), dim3 grid, dim3 block, size_t smem, A &&...a) {
  static_assert(sizeof...(P) == sizeof...(A), "emu: wrong number of kernel arguments");
  static_assert((check_param<P>() && ... && true), "emu: unsupported kernel parameter");
  return launch_impl(name, k, grid, block, smem, std::index_sequence_for<P...>{},
                     std::forward<A>(a)...);
}

/* The C entry of an exported kernel: args[i] points to parameter i's value (a void * for pointers). */
template <class P> P unpack_arg(const char *kernel, int argi, void *arg, int *rc) {
  if constexpr (is_gptr<P>::value)
    return convert_arg<P>(kernel, argi, *static_cast<void *const *>(arg), rc);
  else
    return *static_cast<const P *>(arg);
}
template <class... P, size_t... I>
int launch_packed_impl(const char *name, void (*k)(P...), emu_dim3 grid, emu_dim3 block,
                       size_t smem, void **args, std::index_sequence<I...>) {
  int rc = 0;
  launch_ctx<P...> c{k, std::tuple<P...>{unpack_arg<P>(name, (int)I, args[I], &rc)...}};
  if (rc) return rc;
  return emu_launch_body(name, grid, block, smem, &launch_ctx<P...>::body, &c);
}
template <class... P>
int launch_packed(const char *name, void (*k)(P...), emu_dim3 grid, emu_dim3 block, size_t smem,
                  void **args) {
  static_assert((check_param<P>() && ... && true), "emu: unsupported kernel parameter");
  return launch_packed_impl(name, k, grid, block, smem, args, std::index_sequence_for<P...>{});
}
} // namespace emu

/* EMU_LAUNCH(kernel, grid, block, dyn_smem, args...) */
#define EMU_LAUNCH(kernel, ...) ::emu::launch(#kernel, kernel, __VA_ARGS__)
#define EMU_EXPORT_KERNEL(kernel)                                                                  \
  extern "C" int emu_kernel_##kernel(emu_dim3 grid, emu_dim3 block, size_t smem, void **args) {    \
    return ::emu::launch_packed(#kernel, kernel, grid, block, smem, args);                         \
  }

/* ---- the dialect -------------------------------------------------------------------------------- */
#define MT_GLOBAL(T) ::emu::gptr<T>
#define MT_RESTRICT
#define MT_SHARED_PTR(T) ::emu::sptr<T>
#define MT_PTR_CAST(T, p) ::emu::ptr_cast<T>(p)
#define MT_SHARED(T, name, dims)                                                                   \
  typedef T emu_shared_type_##name dims;                                                           \
  static ::emu_smem_slot emu_shared_slot_##name;                                                   \
  const ::emu::shared_decl_t<emu_shared_type_##name> name =                                        \
      ::emu::shared_decl<emu_shared_type_##name>(&emu_shared_slot_##name, #name)
#define MT_DYN_SHARED(T, name) ::emu::sptr<T> name = ::emu::dyn_shared<T>()

/* ---- barriers and warp intrinsics --------------------------------------------------------------- */
#define __syncthreads() ((void)::emu_barrier(0, 0, __FILE__, __LINE__))
#define __syncthreads_count(p) ::emu_barrier(1, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_and(p) ::emu_barrier(2, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_or(p) ::emu_barrier(3, (p) ? 1 : 0, __FILE__, __LINE__)
#define __EMU_SITE (::emu::site{__FILE__, __LINE__})
#define __shfl_sync(...) __EMU_SITE.shfl_sync(__VA_ARGS__)
#define __shfl_up_sync(...) __EMU_SITE.shfl_up_sync(__VA_ARGS__)
#define __shfl_down_sync(...) __EMU_SITE.shfl_down_sync(__VA_ARGS__)
#define __shfl_xor_sync(...) __EMU_SITE.shfl_xor_sync(__VA_ARGS__)
#define __ballot_sync(...) __EMU_SITE.ballot_sync(__VA_ARGS__)
#define __any_sync(...) __EMU_SITE.any_sync(__VA_ARGS__)
#define __all_sync(...) __EMU_SITE.all_sync(__VA_ARGS__)
#define __syncwarp(...) __EMU_SITE.syncwarp(__VA_ARGS__)
#define __match_any_sync(...) __EMU_SITE.match_any_sync(__VA_ARGS__)
#define __match_all_sync(...) __EMU_SITE.match_all_sync(__VA_ARGS__)
#define __reduce_add_sync(...) __EMU_SITE.reduce_add_sync(__VA_ARGS__)
#define __reduce_min_sync(...) __EMU_SITE.reduce_min_sync(__VA_ARGS__)
#define __reduce_max_sync(...) __EMU_SITE.reduce_max_sync(__VA_ARGS__)
#define __reduce_and_sync(...) __EMU_SITE.reduce_and_sync(__VA_ARGS__)
#define __reduce_or_sync(...) __EMU_SITE.reduce_or_sync(__VA_ARGS__)
#define __reduce_xor_sync(...) __EMU_SITE.reduce_xor_sync(__VA_ARGS__)

/* Blocks run one after another on one OS thread, so every fence is already satisfied. */
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}
inline void __trap() { emu_fail(EMU_ERR_TRAP, "kernel called __trap()"); }

#include "emu_math.h"
#include "emu_unsupported.h"

#endif
