// DType sizes and names, and bf16 conversion (round to nearest even, NaN, inf).
#include <cmath>
#include <cstring>
#include <limits>

#include "core/dtype.h"
#include "core/rng.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::contains;

namespace {

float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

float round_trip(float f) { return static_cast<float>(bf16(f)); }

}  // namespace

TEST_CASE("dtype sizes, names and floating-ness", "[core]") {
  CHECK(dtype_size(DType::f32) == 4);
  CHECK(dtype_size(DType::f64) == 8);
  CHECK(dtype_size(DType::bf16) == 2);
  CHECK(dtype_size(DType::i32) == 4);
  CHECK(dtype_size(DType::i64) == 8);
  CHECK(sizeof(bf16) == 2);

  CHECK(std::string(dtype_name(DType::f32)) == "f32");
  CHECK(std::string(dtype_name(DType::f64)) == "f64");
  CHECK(std::string(dtype_name(DType::bf16)) == "bf16");
  CHECK(std::string(dtype_name(DType::i32)) == "i32");
  CHECK(std::string(dtype_name(DType::i64)) == "i64");

  CHECK(is_floating(DType::f32));
  CHECK(is_floating(DType::f64));
  CHECK(is_floating(DType::bf16));
  CHECK_FALSE(is_floating(DType::i32));
  CHECK_FALSE(is_floating(DType::i64));

  CHECK(dtype_of<float>::value == DType::f32);
  CHECK(dtype_of<double>::value == DType::f64);
  CHECK(dtype_of<bf16>::value == DType::bf16);
  CHECK(dtype_of<int32_t>::value == DType::i32);
  CHECK(dtype_of<int64_t>::value == DType::i64);
}

TEST_CASE("dtype_from_name accepts short and long names and rejects others", "[core]") {
  for (DType t : {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64})
    CHECK(dtype_from_name(dtype_name(t)) == t);
  CHECK(dtype_from_name("float32") == DType::f32);
  CHECK(dtype_from_name("float") == DType::f32);
  CHECK(dtype_from_name("float64") == DType::f64);
  CHECK(dtype_from_name("double") == DType::f64);
  CHECK(dtype_from_name("bfloat16") == DType::bf16);
  CHECK(dtype_from_name("int32") == DType::i32);
  CHECK(dtype_from_name("int64") == DType::i64);

  LL_CHECK_ERROR(dtype_from_name("f16"), "[dtype]");
  LL_CHECK_ERROR(dtype_from_name("f16"), "'f16'");
  LL_CHECK_ERROR(dtype_from_name(""), "[dtype]");
  LL_CHECK_ERROR(dtype_from_name("F32"), "[dtype]");
}

TEST_CASE("bf16 holds exact values exactly", "[core]") {
  CHECK(bf16(1.0f).bits == 0x3f80);
  CHECK(bf16(0.5f).bits == 0x3f00);
  CHECK(bf16(-2.0f).bits == 0xc000);
  CHECK(bf16(0.0f).bits == 0x0000);
  CHECK(bf16(-0.0f).bits == 0x8000);
  for (float f : {1.0f, 0.5f, -2.0f, 3.0f, 0.15625f, 1024.0f, -0.0078125f, 1.0f + 1.0f / 128})
    CHECK(round_trip(f) == f);
  // The smallest normal float and a bf16-representable subnormal survive too.
  CHECK(round_trip(std::numeric_limits<float>::min()) == std::numeric_limits<float>::min());
  CHECK(round_trip(bits_to_float(0x00010000u)) == bits_to_float(0x00010000u));
}

TEST_CASE("bf16 rounds to nearest, ties to even", "[core]") {
  const float ulp = 1.0f / 128;  // bf16 spacing just above 1
  // Exactly half-way between 1 and 1+ulp: ties to the even mantissa (1).
  CHECK(round_trip(1.0f + ulp / 2) == 1.0f);
  // Half-way between 1+ulp (odd) and 1+2ulp (even): goes up to the even one.
  CHECK(round_trip(1.0f + 3 * ulp / 2) == 1.0f + 2 * ulp);
  // Just above half-way rounds up, just below rounds down.
  CHECK(round_trip(1.0f + ulp / 2 + ulp / 1024) == 1.0f + ulp);
  CHECK(round_trip(1.0f + ulp / 2 - ulp / 1024) == 1.0f);
  // Negative numbers round symmetrically.
  CHECK(round_trip(-(1.0f + 3 * ulp / 2)) == -(1.0f + 2 * ulp));
  // A carry out of the mantissa bumps the exponent: 2 - tiny rounds to 2.
  CHECK(round_trip(bits_to_float(0x3fffffffu)) == 2.0f);
}

TEST_CASE("bf16 keeps NaN a NaN and infinities infinite", "[core]") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(bf16(inf).bits == 0x7f80);
  CHECK(bf16(-inf).bits == 0xff80);
  CHECK(round_trip(inf) == inf);
  CHECK(round_trip(-inf) == -inf);

  CHECK(std::isnan(round_trip(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isnan(round_trip(-std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload sits only in the low 16 bits: plain truncation would
  // turn it into infinity, and rounding would carry it into one.
  CHECK(std::isnan(round_trip(bits_to_float(0x7f800001u))));
  CHECK(std::isnan(round_trip(bits_to_float(0x7fffffffu))));
  CHECK(std::isnan(round_trip(bits_to_float(0xff800001u))));

  // The largest float is past the largest bf16 plus half an ulp: it overflows to inf.
  CHECK(round_trip(std::numeric_limits<float>::max()) == inf);
  // The largest bf16 itself stays finite.
  CHECK(round_trip(bits_to_float(0x7f7f0000u)) == bits_to_float(0x7f7f0000u));
}

TEST_CASE("f32 -> bf16 -> f32 keeps relative error below 2^-8", "[core]") {
  Generator gen(3);
  double worst = 0;
  for (int i = 0; i < 20000; ++i) {
    // Values spread over many binades, both signs.
    double v = gen.normal() * std::ldexp(1.0, static_cast<int>(gen.randint(-60, 60)));
    float f = static_cast<float>(v);
    if (f == 0.0f || !std::isfinite(f)) continue;
    float r = round_trip(f);
    double rel = std::abs(static_cast<double>(r) - f) / std::abs(static_cast<double>(f));
    worst = std::max(worst, rel);
  }
  INFO("worst relative error " << worst);
  CHECK(worst < std::ldexp(1.0, -8));
  CHECK(worst > 0);  // some values did need rounding
}
