// Element types. f64 exists for gradcheck (finite differences need it);
// bf16 is a storage type on the CPU: convert to f32 to compute.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace loglin {

enum class DType : uint8_t { f32, f64, bf16, i32, i64 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
bool is_floating(DType t);
DType dtype_from_name(const std::string& name);  // "f32", "float32", "bf16", ...

// bfloat16: the top 16 bits of an IEEE float. Conversion rounds to nearest even.
struct bf16 {
  uint16_t bits = 0;
  bf16() = default;
  explicit bf16(float f) : bits(from_float(f)) {}
  explicit operator float() const {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }
  static uint16_t from_float(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
    uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>((u + rounding) >> 16);
  }
};

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };

}  // namespace loglin
