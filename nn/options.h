// Chained setters for Options structs, as libtorch's TORCH_ARG:
//   LinearOptions(64, 32).bias(false).init_std(0.01)
#pragma once

#define LOGLIN_ARG(T, name)              \
 public:                                 \
  auto& name(const T& value) {           \
    name##_ = value;                     \
    return *this;                        \
  }                                      \
  const T& name() const { return name##_; } \
                                         \
 private:                                \
  T name##_
