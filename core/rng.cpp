#include "core/rng.h"

#include <cmath>

#include "core/dispatch.h"

namespace loglin {
namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

void Generator::manual_seed(uint64_t seed) {
  uint64_t x = seed;
  for (auto& w : s_) w = splitmix64(x);
  has_spare_ = false;
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2.0 * M_PI * u2);
  has_spare_ = true;
  return r * std::cos(2.0 * M_PI * u2);
}

int64_t Generator::randint(int64_t low, int64_t high) {
  LOGLIN_CHECK(high > low, "[randint] empty range [{}, {})", low, high);
  // Unsigned arithmetic: high - low overflows int64 for ranges wider than 2^63.
  uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  // Rejection keeps every value equally likely.
  uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(low) + x % span);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {
// draw() returns a double or an int64_t; it is converted straight to T (an
// int64_t never passes through double, which would round values past 2^53).
// `keep(v)` may reject a converted value, which is then drawn again (a few
// times at most).
template <class Draw, class Keep>
Tensor fill_with(const Shape& shape, DType dtype, Draw draw, Keep keep) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) {
      for (int attempt = 0;; ++attempt) {
        if constexpr (std::is_same_v<T, bf16>) {
          p[i] = bf16(static_cast<float>(draw()));
        } else {
          p[i] = static_cast<T>(draw());
        }
        if (attempt >= 16) break;
        if constexpr (std::is_same_v<T, bf16>) {
          if (keep(static_cast<double>(static_cast<float>(p[i])))) break;
        } else {
          if (keep(static_cast<double>(p[i]))) break;
        }
      }
    }
  });
  return t;
}

template <class Draw>
Tensor fill_with(const Shape& shape, DType dtype, Draw draw) {
  return fill_with(shape, dtype, draw, [](double) { return true; });
}
}  // namespace

Tensor randn(const Shape& shape, DType dtype, Generator& gen) {
  LOGLIN_CHECK(is_floating(dtype), "[randn] needs a floating dtype, got {}", dtype_name(dtype));
  return fill_with(shape, dtype, [&] { return gen.normal(); });
}

Tensor rand(const Shape& shape, double low, double high, DType dtype, Generator& gen) {
  LOGLIN_CHECK(is_floating(dtype), "[rand] needs a floating dtype, got {}", dtype_name(dtype));
  LOGLIN_CHECK(high >= low, "[rand] empty range [{}, {})", low, high);
  // low + (high - low) * u is below high in double, but rounding to f32 or
  // bf16 can land on high itself (for bf16 about one draw in 500): redraw
  // those to keep the range half-open.
  return fill_with(
      shape, dtype, [&] { return low + (high - low) * gen.uniform(); },
      [&](double v) { return v < high || high == low; });
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Generator& gen) {
  LOGLIN_CHECK(dtype == DType::i32 || dtype == DType::i64, "[randint] needs i32 or i64, got {}", dtype_name(dtype));
  LOGLIN_CHECK(high > low, "[randint] empty range [{}, {})", low, high);
  LOGLIN_CHECK(dtype == DType::i64 || (low >= INT32_MIN && high - 1 <= INT32_MAX),
               "[randint] range [{}, {}) does not fit in i32", low, high);
  return fill_with(shape, dtype, [&] { return gen.randint(low, high); });
}

}  // namespace loglin
