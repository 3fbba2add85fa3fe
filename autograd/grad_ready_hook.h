// A callback that runs when backward has finished a leaf's gradient: every
// contribution of this backward call is summed into leaf.grad() and no more
// can come. Data parallelism uses it to start a gradient bucket's all-reduce
// while the backward of earlier layers still runs (distributed/grad_reducer.h).
//
//   autograd::GradReadyHook h = autograd::on_grad_ready(w, [&](const Tensor& w) {
//     reducer.mark_ready(w);          // w.grad() is final for this backward
//   });
//   loss.backward();                   // the hook runs once, inside it
//
// It runs once per backward call that reaches the leaf, however many times
// the leaf was used in the graph (a leaf used twice has two gradient sinks;
// the hook runs after the last of them). A leaf the backward does not reach
// gets no call. If every path to the leaf gave "no gradient", the hook still
// runs, and leaf.grad() is what it was before. The hook runs on the thread
// that called backward, under the engine's no-grad mode; an exception it
// throws ends the backward.
//
// The returned handle unregisters the hook when destroyed (or on remove());
// a backward already running keeps the hooks it started with.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace loglin::autograd {

using GradReadyFn = std::function<void(const Tensor& leaf)>;

class GradReadyHook {
 public:
  GradReadyHook() = default;
  ~GradReadyHook() { remove(); }
  GradReadyHook(GradReadyHook&& o) noexcept : id_(o.id_) { o.id_ = 0; }
  GradReadyHook& operator=(GradReadyHook&& o) noexcept;
  GradReadyHook(const GradReadyHook&) = delete;
  GradReadyHook& operator=(const GradReadyHook&) = delete;

  void remove();
  bool active() const { return id_ != 0; }

 private:
  friend GradReadyHook on_grad_ready(const Tensor& leaf, GradReadyFn fn);
  explicit GradReadyHook(uint64_t id) : id_(id) {}
  uint64_t id_ = 0;
};

// Registers fn on `leaf`: a leaf tensor (no grad_fn) that requires grad, such
// as a parameter. Errors name what is wrong with the tensor.
[[nodiscard]] GradReadyHook on_grad_ready(const Tensor& leaf, GradReadyFn fn);

namespace detail {
// For the engine: whether any hook is registered (the common case, none,
// costs the engine nothing), and the hooks registered on `leaf` now.
bool any_grad_ready_hooks();
std::vector<std::shared_ptr<const GradReadyFn>> grad_ready_hooks(const std::shared_ptr<TensorImpl>& leaf);
}  // namespace detail

}  // namespace loglin::autograd
