// Graph nodes. An op that ran with grad enabled leaves one Node behind; the
// node's edges point at the nodes of its inputs (or at AccumulateGrad for
// leaves). Backward walks the edges in reverse topological order.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace loglin::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> fn;  // null: that input needs no gradient
  uint32_t input_nr = 0;     // which output of fn the gradient belongs to
};

struct OutputMeta {
  Shape shape;
  DType dtype;
  Device device;
};

// The sequence number the next node will get. Nodes are numbered in the
// order they are made, on every thread, so a node numbered below a value read
// here was recorded before that moment (autograd::grad uses it to tell a
// recomputed graph from the one around it).
uint64_t next_node_sequence_nr();

class Node {
 public:
  explicit Node(std::string name);
  virtual ~Node() = default;

  const std::string& name() const { return name_; }
  uint64_t sequence_nr() const { return sequence_nr_; }
  std::vector<Edge>& next_edges() { return next_edges_; }
  std::vector<OutputMeta>& outputs() { return outputs_; }

  // grads[i] is the gradient of output i (zeros filled in by the engine where
  // an output received none). Returns one gradient per next edge; an
  // undefined tensor means "no gradient".
  virtual std::vector<Tensor> apply(std::vector<Tensor>& grads) = 0;
  // False: an output that received no gradient reaches apply() as an
  // undefined tensor rather than zeros (a node that re-runs a backward of
  // its own, such as a checkpoint, then skips that output altogether).
  virtual bool wants_zeros_for_missing_gradients() const { return true; }
  // Frees saved tensors after a backward without retain_graph.
  virtual void release() {}
  virtual bool released() const { return false; }

 private:
  std::string name_;
  uint64_t sequence_nr_;
  std::vector<Edge> next_edges_;
  std::vector<OutputMeta> outputs_;
};

// Gradient sink of a leaf: adds into leaf.grad. Each use of a leaf in an op
// makes a sink of its own, so one backward may run several for one leaf;
// the engine counts them to tell when the leaf's gradient is final
// (autograd/grad_ready_hook.h).
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : Node("AccumulateGrad"), leaf_(std::move(leaf)) {}
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  const std::shared_ptr<TensorImpl>& leaf() const { return leaf_; }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// What an op's backward receives: the output gradients and which inputs want
// one (skip work for the others).
struct BackwardContext {
  std::vector<Tensor>& grads;
  const std::vector<bool>& needs_input_grad;
  bool needs(size_t i) const { return i < needs_input_grad.size() && needs_input_grad[i]; }
};
using BackwardFn = std::function<std::vector<Tensor>(BackwardContext&)>;

// The node almost every op uses: a backward closure whose captures are the
// saved tensors. release() destroys the closure, which frees them.
class FunctionNode : public Node {
 public:
  FunctionNode(std::string name, BackwardFn fn, std::vector<bool> needs)
      : Node(std::move(name)), fn_(std::move(fn)), needs_(std::move(needs)) {}
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  void release() override { fn_ = nullptr; }
  bool released() const override { return !fn_; }

 private:
  BackwardFn fn_;
  std::vector<bool> needs_;
};

// True when grad mode is on and any input requires grad.
bool needs_grad(const std::vector<Tensor>& inputs);

// Records `backward` as the history of `outputs`, computed from `inputs`.
// Does nothing (and drops the closure) when no input requires grad or grad
// mode is off. The closure returns one gradient per input, in order.
void record(const std::string& name, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward);

// The edge that a gradient for `t` should flow along.
Edge gradient_edge(const Tensor& t);

}  // namespace loglin::autograd
