// The backward engine: runs each reachable node once, after every node that
// feeds it a gradient, summing gradients that meet (a diamond in the graph).
// When the last gradient sink of a leaf has run, the leaf's grad-ready hooks
// run (autograd/grad_ready_hook.h). grad() runs the same walk but hands the
// leaves' gradients back instead of adding them into .grad.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace loglin::autograd {

// Back-propagates grads[i] from roots[i]. Unless retain_graph, each node frees
// its saved tensors after it runs, so a second backward is a clear error.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph = false);

struct GradOptions {
  // Nodes numbered below this (next_node_sequence_nr(), read before the
  // graph was recorded) belong to a graph around this one: reaching one is
  // an error, since running it would consume that graph. 0: no bound.
  uint64_t recorded_since = 0;
  // What errors call the caller ("[grad] ...", "[checkpoint] ...").
  std::string caller = "grad";
};

// The gradients of roots[i] (seeded with grads[i]) with respect to the leaf
// tensors `leaves`, one per leaf (undefined where no path reaches it),
// returned instead of added into .grad: no .grad changes and no grad-ready
// hook runs. The graph is freed as by backward() without retain_graph. The
// graph must be closed over `leaves`: reaching another leaf that requires
// grad (whose gradient would be lost) is an error naming it, found before
// anything runs. A leaf used several times gets its uses' gradients summed
// in the order the engine runs them, as a non-leaf tensor's are.
std::vector<Tensor> grad(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                         const std::vector<Tensor>& leaves, const GradOptions& options = {});

// dst + src as a new tensor (same shape; f32 or f64). The engine's only arithmetic.
Tensor add_gradients(const Tensor& dst, const Tensor& src);

}  // namespace loglin::autograd
