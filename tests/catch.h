// One include for Catch2 2.13 (Debian 12) and 3.x (the GPU machine).
#pragma once
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#define LOGLIN_CATCH3 1
using Catch::Approx;  // 2.x has it at global scope
#else
#include <catch2/catch.hpp>
#endif

#include <iostream>

#include "core/device.h"

// [cuda] tests call this first: without a device they end here, marked
// skipped where Catch2 can say so (3.x), with a warning otherwise. Either way
// the line "skipped: no CUDA device present" is printed, which is what ctest
// takes as skipped (tests/CMakeLists.txt): Catch2's exit code cannot be used
// for that, since 4 also means "4 assertions failed".
#if defined(LOGLIN_CATCH3)
#define LOGLIN_REQUIRE_CUDA()                                               \
  do {                                                                      \
    if (!::loglin::cuda_is_available()) {                                   \
      std::cout << "skipped: no CUDA device present" << std::endl;         \
      SKIP("no CUDA device present");                                       \
    }                                                                       \
  } while (0)
#else
#define LOGLIN_REQUIRE_CUDA()                                      \
  do {                                                             \
    if (!::loglin::cuda_is_available()) {                          \
      WARN("skipped: no CUDA device present");                     \
      return;                                                      \
    }                                                              \
  } while (0)
#endif
