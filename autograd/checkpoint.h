// Activation checkpointing: memory traded for compute. checkpoint(fn,
// inputs) runs fn without recording a graph, so none of fn's intermediate
// tensors outlive it; it records one node instead, holding only the inputs.
// In backward that node runs fn again with grad on, from the same inputs,
// with the same random numbers and modes, and back-propagates through the
// recomputed graph. The gradients equal the plain run's: the same ops run in
// the same order on the same values.
//
//   Tensor y = autograd::checkpoint([&](const Tensor& x) { return block.forward(x); }, x,
//                                   {.params = block.parameters()});
//   loss(y).backward();   // block.forward runs a second time in here
//
// What fn must respect:
//   - Tensors that require grad reach fn as inputs or are listed in
//     options.params (leaves such as a module's parameters). Their gradients
//     flow through the outer backward as if fn had run plainly: into .grad,
//     with grad-ready hooks at the right time. A captured tensor that is
//     neither is an error in backward, named there, since its gradient would
//     be lost.
//   - fn computes the same thing both times: the same ops for the same
//     inputs. The states of options.generators (and of default_generator(),
//     unless options.default_generator is off) at the forward are restored
//     for the recompute, then put back; the
//     autocast dtype and float32 matmul precision are re-entered as they were
//     (autograd/recompute_modes.h). Other state, such as a module's
//     train/eval flag, must not change before backward, and the inputs and
//     parameters must not be changed in place.
//   - Outputs that are floating tensors carry the checkpoint's history;
//     integer outputs are returned without any.
//
// Engine semantics as for any node: a second backward through it is an
// error unless the first passed retain_graph (then it recomputes again). An
// output that receives no gradient is left out of the recompute's backward
// (not fed zeros). With grad mode off, or when nothing requires grad, fn
// simply runs.
//
// One difference from the plain run: a parameter that fn uses several times
// gets the sum of those uses added to its .grad once, where the plain run
// adds each use in turn. On the first backward after zero_grad() the two are
// bit-identical; when .grad already holds a gradient (accumulation over
// micro-batches) they agree up to rounding.
#pragma once
#include <functional>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace loglin::autograd {

struct CheckpointOptions {
  // Leaf tensors fn reads besides its inputs: the parameters of the modules
  // it calls (Module::parameters()).
  std::vector<Tensor> params;
  // Generators fn draws from (dropout's). They must outlive the backward.
  std::vector<Generator*> generators;
  // Restore default_generator() too, as torch restores its global RNG. A
  // Generator is not thread-safe, so turn this off where another thread may
  // draw from it while this backward runs and fn does not use it.
  bool default_generator = true;
};

using CheckpointFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs)>;

// inputs -> fn(inputs), recomputed in backward.
std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs,
                               const CheckpointOptions& options = {});

// One input, one output.
Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input,
                  const CheckpointOptions& options = {});

}  // namespace loglin::autograd
