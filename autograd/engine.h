// The backward engine: runs each reachable node once, after every node that
// feeds it a gradient, summing gradients that meet (a diamond in the graph).
// When the last gradient sink of a leaf has run, the leaf's grad-ready hooks
// run (autograd/grad_ready_hook.h).
#pragma once
#include <vector>

#include "core/tensor.h"

namespace loglin::autograd {

// Back-propagates grads[i] from roots[i]. Unless retain_graph, each node frees
// its saved tensors after it runs, so a second backward is a clear error.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph = false);

// dst + src as a new tensor (same shape; f32 or f64). The engine's only arithmetic.
Tensor add_gradients(const Tensor& dst, const Tensor& src);

}  // namespace loglin::autograd
