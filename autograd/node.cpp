#include "autograd/node.h"

#include <atomic>

#include "autograd/grad_mode.h"

namespace loglin::autograd {
namespace {
std::atomic<uint64_t> g_next_sequence_nr{1};
}  // namespace

uint64_t next_node_sequence_nr() { return g_next_sequence_nr.load(std::memory_order_relaxed); }

Node::Node(std::string name)
    : name_(std::move(name)), sequence_nr_(g_next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  TensorImpl& impl = t.impl();
  if (impl.grad_fn) return {impl.grad_fn, impl.output_nr};
  return {std::make_shared<AccumulateGrad>(t.impl_ptr()), 0};
}

void record(const std::string& name, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward) {
  if (!needs_grad(inputs)) return;
  std::vector<bool> needs(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) needs[i] = inputs[i].defined() && inputs[i].requires_grad();
  auto node = std::make_shared<FunctionNode>(name, std::move(backward), needs);
  for (const auto& t : inputs) node->next_edges().push_back(gradient_edge(t));
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined()) {
      node->outputs().push_back({{}, DType::f32, Device::cpu()});
      continue;
    }
    TensorImpl& o = outputs[i].impl();
    node->outputs().push_back({o.shape, o.dtype, outputs[i].device()});
    o.grad_fn = node;
    o.output_nr = static_cast<uint32_t>(i);
    o.requires_grad = true;
  }
}

std::vector<Tensor> FunctionNode::apply(std::vector<Tensor>& grads) {
  LOGLIN_CHECK(fn_ != nullptr,
               "[autograd] backward through a graph that was already freed (node '{}'). The first backward frees the "
               "graph's saved tensors; call backward(gradient, /*retain_graph=*/true) there to backward twice",
               name());
  BackwardContext ctx{grads, needs_};
  std::vector<Tensor> out = fn_(ctx);
  LOGLIN_CHECK(out.size() == next_edges().size(), "[autograd] node '{}' returned {} gradients for {} inputs", name(),
               out.size(), next_edges().size());
  return out;
}

}  // namespace loglin::autograd
