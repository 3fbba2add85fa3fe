// Modes that change what ops compute but live above autograd: the autocast
// dtype (ops/autocast.h) and the float32 matmul precision (ops/precision.h).
// checkpoint() re-runs a function inside backward, where these modes may
// differ from its forward's (the trainer leaves its autocast scope before
// calling backward). So each mode registers here, the first time it is
// changed; checkpoint() reads every registered mode at its forward and
// re-enters them around the recompute. A mode never changed needs nothing:
// it is the same at both times.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace loglin::autograd {

// Re-enters a mode as it was read; the returned guard restores the mode it
// replaced when destroyed.
using ReenterMode = std::function<std::shared_ptr<void>()>;
// Reads the mode now and says how to re-enter it.
using ReadMode = std::function<ReenterMode()>;

// Registers a mode under `name`; a name already registered is left as it is.
// Thread-safe.
void register_recompute_mode(const std::string& name, ReadMode read);

// Every registered mode, read now.
std::vector<ReenterMode> read_recompute_modes();

}  // namespace loglin::autograd
