// The rotation of one (x1, x2) pair, shared by the CPU loop and the kernel.
// The backward is the same rotation with sin negated.
#pragma once
#include "core/host_device.h"

namespace loglin::rotary {

template <class T>
LOGLIN_HD void rotate(T x1, T x2, T c, T s, T& y1, T& y2) {
  y1 = x1 * c - x2 * s;
  y2 = x1 * s + x2 * c;
}

}  // namespace loglin::rotary
