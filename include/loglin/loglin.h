// loglin: the whole public API in one include.
//   #include <loglin/loglin.h>
#pragma once
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "core/allocator.h"
#include "core/device.h"
#include "core/device_timing.h"
#include "core/dispatch.h"
#include "core/dtype.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "ops/ops.h"
