// Seeded random numbers: xoshiro256** seeded through splitmix64, normals by
// Box-Muller. Written out (not std::*_distribution) so a seed gives the same
// numbers with any standard library, and the state can be saved in a
// checkpoint.
#pragma once
#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace loglin {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint64_t next_u64();
  double uniform();  // [0, 1)
  double normal();   // N(0, 1)
  int64_t randint(int64_t low, int64_t high);  // [low, high)

  struct State {
    std::array<uint64_t, 4> s;
    bool has_spare;
    double spare;
  };
  State state() const { return {s_, has_spare_, spare_}; }
  void set_state(const State& st) {
    s_ = st.s;
    has_spare_ = st.has_spare;
    spare_ = st.spare;
  }

 private:
  std::array<uint64_t, 4> s_{};
  bool has_spare_ = false;
  double spare_ = 0;
};

// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor randn(const Shape& shape, DType dtype = DType::f32, Generator& gen = default_generator());
Tensor rand(const Shape& shape, double low = 0.0, double high = 1.0, DType dtype = DType::f32,
            Generator& gen = default_generator());
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::i64,
               Generator& gen = default_generator());

}  // namespace loglin
