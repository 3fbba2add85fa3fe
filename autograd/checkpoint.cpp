// checkpoint(): the forward runs fn under NoGradGuard and records a
// CheckpointNode; the node's apply() is the recompute (see checkpoint.h).
#include "autograd/checkpoint.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/recompute_modes.h"

namespace loglin::autograd {
namespace {

constexpr const char* kName = "checkpoint";

// Grad mode on for its lifetime (the engine runs nodes with it off).
class GradEnabledScope {
 public:
  GradEnabledScope() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~GradEnabledScope() { GradMode::set_enabled(previous_); }
  GradEnabledScope(const GradEnabledScope&) = delete;
  GradEnabledScope& operator=(const GradEnabledScope&) = delete;

 private:
  bool previous_;
};

using RngStates = std::vector<std::pair<Generator*, Generator::State>>;

RngStates read_rng_states(const CheckpointOptions& options) {
  std::vector<Generator*> gens;
  if (options.default_generator) gens.push_back(&default_generator());
  for (Generator* g : options.generators) {
    LOGLIN_CHECK(g != nullptr, "[{}] options.generators holds a null pointer", kName);
    if (std::find(gens.begin(), gens.end(), g) == gens.end()) gens.push_back(g);
  }
  RngStates states;
  for (Generator* g : gens) states.emplace_back(g, g->state());
  return states;
}

// Puts the forward's generator states in place for its lifetime, then the
// states it found: the recompute draws the forward's numbers, and whatever
// runs after the backward draws what it would have drawn without it.
class ForwardRngScope {
 public:
  explicit ForwardRngScope(const RngStates& forward) : now_(forward) {
    for (auto& [gen, state] : now_) {
      Generator::State forward_state = state;
      state = gen->state();
      gen->set_state(forward_state);
    }
  }
  ~ForwardRngScope() {
    for (auto& [gen, state] : now_) gen->set_state(state);
  }
  ForwardRngScope(const ForwardRngScope&) = delete;
  ForwardRngScope& operator=(const ForwardRngScope&) = delete;

 private:
  RngStates now_;
};

class CheckpointNode : public Node {
 public:
  struct Saved {
    CheckpointFn fn;
    std::vector<Tensor> inputs;  // detached: the values, no history
    std::vector<bool> input_needs_grad;
    std::vector<Tensor> params;
    RngStates rng;
    std::vector<ReenterMode> modes;
  };

  explicit CheckpointNode(Saved saved) : Node(kName), saved_(std::make_unique<Saved>(std::move(saved))) {}

  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  bool wants_zeros_for_missing_gradients() const override { return false; }
  void release() override { saved_.reset(); }
  bool released() const override { return !saved_; }

 private:
  std::vector<Tensor> recompute(const std::vector<Tensor>& inputs, uint64_t& recorded_since) const;

  std::unique_ptr<Saved> saved_;
};

// fn again, with grad on, the forward's random states and modes; sets
// recorded_since to the first node number of the recomputed graph.
std::vector<Tensor> CheckpointNode::recompute(const std::vector<Tensor>& inputs, uint64_t& recorded_since) const {
  GradEnabledScope grad_on;
  ForwardRngScope rng(saved_->rng);
  std::vector<std::shared_ptr<void>> modes;
  for (const ReenterMode& reenter : saved_->modes) modes.push_back(reenter());
  recorded_since = next_node_sequence_nr();
  return saved_->fn(inputs);
}

std::vector<Tensor> CheckpointNode::apply(std::vector<Tensor>& grads) {
  LOGLIN_CHECK(saved_ != nullptr,
               "[autograd] backward through a graph that was already freed (node '{}'). The first backward frees the "
               "graph's saved tensors; call backward(gradient, /*retain_graph=*/true) there to backward twice",
               name());
  const Saved& s = *saved_;
  std::vector<Tensor> result(next_edges().size());
  if (std::none_of(grads.begin(), grads.end(), [](const Tensor& g) { return g.defined(); })) return result;

  // Fresh leaves with the inputs' values: the recomputed graph ends at them.
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    Tensor x = s.inputs[i].defined() ? s.inputs[i].detach() : Tensor();
    if (s.input_needs_grad[i]) x.set_requires_grad(true);
    inputs.push_back(x);
  }
  uint64_t recorded_since = 0;
  const std::vector<Tensor> outs = recompute(inputs, recorded_since);

  LOGLIN_CHECK(outs.size() == outputs().size(),
               "[{}] fn returned {} tensors when recomputed but {} in the forward: it must compute the same thing "
               "both times",
               kName, outs.size(), outputs().size());
  std::vector<Tensor> roots, root_grads;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (i >= grads.size() || !grads[i].defined()) continue;  // no gradient reached this output
    LOGLIN_CHECK(outs[i].defined() && outs[i].shape() == outputs()[i].shape,
                 "[{}] output {} of fn was {} in the forward but {} when recomputed: it must compute the same "
                 "thing both times",
                 kName, i, shape_str(outputs()[i].shape), outs[i].defined() ? shape_str(outs[i].shape()) : "undefined");
    if (!outs[i].requires_grad()) continue;  // depends on nothing that wants a gradient
    roots.push_back(outs[i]);
    root_grads.push_back(grads[i]);
  }
  if (roots.empty()) return result;

  // Edge order: the inputs, then the params; only those that want a gradient are asked for.
  std::vector<Tensor> leaves;
  std::vector<size_t> edge_of_leaf;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (s.input_needs_grad[i]) {
      leaves.push_back(inputs[i]);
      edge_of_leaf.push_back(i);
    }
  for (size_t j = 0; j < s.params.size(); ++j)
    if (s.params[j].requires_grad()) {
      leaves.push_back(s.params[j]);
      edge_of_leaf.push_back(inputs.size() + j);
    }
  GradOptions options;
  options.recorded_since = recorded_since;
  options.caller = kName;
  std::vector<Tensor> leaf_grads = grad(roots, root_grads, leaves, options);
  for (size_t k = 0; k < leaves.size(); ++k) result[edge_of_leaf[k]] = std::move(leaf_grads[k]);
  return result;
}

}  // namespace

std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs,
                               const CheckpointOptions& options) {
  LOGLIN_CHECK(static_cast<bool>(fn), "[{}] fn is empty", kName);
  for (size_t j = 0; j < options.params.size(); ++j) {
    const Tensor& p = options.params[j];
    LOGLIN_CHECK(p.defined(), "[{}] options.params[{}] is undefined", kName, j);
    LOGLIN_CHECK(p.is_leaf(),
                 "[{}] options.params[{}] ({}) has a grad_fn: params are leaf tensors such as a module's "
                 "parameters; pass a tensor with history as an input",
                 kName, j, shape_str(p.shape()));
  }
  const auto wants_grad = [](const Tensor& t) { return t.defined() && t.requires_grad(); };
  const bool record = GradMode::is_enabled() && (std::any_of(inputs.begin(), inputs.end(), wants_grad) ||
                                                 std::any_of(options.params.begin(), options.params.end(), wants_grad));
  if (!record) return fn(inputs);

  CheckpointNode::Saved saved;
  saved.fn = fn;
  saved.params = options.params;
  saved.rng = read_rng_states(options);
  saved.modes = read_recompute_modes();
  for (const Tensor& x : inputs) {
    saved.inputs.push_back(x.defined() ? x.detach() : Tensor());
    saved.input_needs_grad.push_back(wants_grad(x));
  }

  std::vector<Tensor> outs;
  {
    NoGradGuard no_grad;
    outs = fn(inputs);
  }

  auto node = std::make_shared<CheckpointNode>(std::move(saved));
  for (const Tensor& x : inputs) node->next_edges().push_back(gradient_edge(x));
  for (const Tensor& p : options.params) node->next_edges().push_back(gradient_edge(p));
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i].defined() || !is_floating(outs[i].dtype())) {
      node->outputs().push_back({{}, DType::f32, Device::cpu()});  // carries no gradient
      continue;
    }
    // A new handle: fn may have returned one of its inputs itself.
    outs[i] = outs[i].detach();
    TensorImpl& o = outs[i].impl();
    node->outputs().push_back({o.shape, o.dtype, outs[i].device()});
    o.grad_fn = node;
    o.output_nr = static_cast<uint32_t>(i);
    o.requires_grad = true;
  }
  return outs;
}

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input,
                  const CheckpointOptions& options) {
  LOGLIN_CHECK(static_cast<bool>(fn), "[{}] fn is empty", kName);
  // fn by value: the node calls it again in backward, after this returns.
  std::vector<Tensor> outs = checkpoint(
      [fn](const std::vector<Tensor>& in) { return std::vector<Tensor>{fn(in[0])}; }, {input}, options);
  return outs[0];
}

}  // namespace loglin::autograd
