#include "autograd/engine.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/grad_ready_hook.h"
#include "autograd/node.h"
#include "core/cuda_copy.h"
#include "core/dispatch.h"

namespace loglin::autograd {

Tensor add_gradients(const Tensor& dst, const Tensor& src) {
  LOGLIN_CHECK(dst.device() == src.device(), "[autograd] gradients on {} and {} cannot be summed",
               dst.device().str(), src.device().str());
  LOGLIN_CHECK(dst.shape() == src.shape(), "[autograd] gradients of shapes {} and {} cannot be summed",
               shape_str(dst.shape()), shape_str(src.shape()));
  if (dst.device().is_cuda()) {
    // A fresh sum, never in place: dst may be a tensor an op still holds.
    Tensor a = dst.is_contiguous() ? dst : core::contiguous_copy(dst);
    Tensor b = src.dtype() == dst.dtype() && src.is_contiguous() ? src : core::contiguous_copy(src, dst.dtype());
    Tensor out = Tensor::empty(dst.shape(), dst.dtype(), dst.device());
    cuda::add(out.raw_data(), a.raw_data(), b.raw_data(), out.dtype(), out.numel(), out.device().index);
    return out;
  }
  // bf16 is storage-only on the cpu (a bf16 leaf reached through .to(f32)):
  // add in f32 and round once.
  const DType compute = dst.dtype() == DType::bf16 ? DType::f32 : dst.dtype();
  Tensor out = core::contiguous_copy(dst, compute);
  Tensor b = src.dtype() == compute && src.is_contiguous() ? src : core::contiguous_copy(src, compute);
  dispatch_float(compute, "autograd", [&]<class T>() {
    T* o = out.data<T>();
    const T* p = b.data<T>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) o[i] += p[i];
  });
  return compute == dst.dtype() ? out : core::contiguous_copy(out, dst.dtype());
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>& grads) {
  const Tensor& g = grads.at(0);
  // Every edge into this leaf returned "no gradient" (an undefined tensor):
  // there is nothing to add.
  if (!g.defined()) return {};
  LOGLIN_CHECK(g.shape() == leaf_->shape, "[autograd] gradient of shape {} for a leaf of shape {}",
               shape_str(g.shape()), shape_str(leaf_->shape));
  if (!leaf_->grad) {
    leaf_->grad = core::contiguous_copy(g, leaf_->dtype).impl_ptr();
  } else {
    leaf_->grad = add_gradients(Tensor(leaf_->grad), g).impl_ptr();
  }
  return {};
}

namespace {

struct Slot {
  std::vector<Tensor> grads;
  int dependencies = 0;
};

void accumulate(Slot& slot, size_t nr, const Tensor& g) {
  if (slot.grads.size() <= nr) slot.grads.resize(nr + 1);
  slot.grads[nr] = slot.grads[nr].defined() ? add_gradients(slot.grads[nr], g) : g;
}

// A leaf with grad-ready hooks in this backward: how many of its gradient
// sinks (AccumulateGrad nodes, one per use) have yet to run.
struct WatchedLeaf {
  int pending_sinks = 0;
  std::vector<std::shared_ptr<const GradReadyFn>> hooks;
};

std::unordered_map<const TensorImpl*, WatchedLeaf> watch_leaves(
    const std::unordered_map<Node*, std::shared_ptr<Node>>& nodes) {
  std::unordered_map<const TensorImpl*, WatchedLeaf> watched;
  if (!detail::any_grad_ready_hooks()) return watched;
  std::unordered_map<const TensorImpl*, bool> looked_up;
  for (const auto& [raw, node] : nodes) {
    auto* sink = dynamic_cast<AccumulateGrad*>(raw);
    if (!sink) continue;
    const TensorImpl* leaf = sink->leaf().get();
    if (!looked_up.emplace(leaf, true).second) {
      if (auto it = watched.find(leaf); it != watched.end()) ++it->second.pending_sinks;
      continue;
    }
    auto hooks = detail::grad_ready_hooks(sink->leaf());
    if (!hooks.empty()) watched[leaf] = WatchedLeaf{1, std::move(hooks)};
  }
  return watched;
}

// Where grad() collects its leaves' gradients, in place of their .grad.
struct Capture {
  std::unordered_map<const TensorImpl*, size_t> index;  // leaf -> position in grads
  std::vector<Tensor> grads;
  const GradOptions* options;
};

// A node reached by grad() must lie inside the graph asked for: a sink of
// one of the leaves, or a node recorded since options.recorded_since.
void check_inside(Node* n, const Capture& capture) {
  const std::string& who = capture.options->caller;
  if (auto* sink = dynamic_cast<AccumulateGrad*>(n)) {
    const TensorImpl& leaf = *sink->leaf();
    LOGLIN_CHECK(capture.index.count(&leaf),
                 "[{}] the graph reaches a leaf tensor that requires grad but is not among the tensors whose "
                 "gradients were asked for ({} {}): its gradient would be lost; pass it in (for checkpoint: as an "
                 "input or in params)",
                 who, shape_str(leaf.shape), dtype_name(leaf.dtype));
    return;
  }
  LOGLIN_CHECK(n->sequence_nr() >= capture.options->recorded_since,
               "[{}] the graph reaches node '{}', recorded before it (a tensor with history from outside, captured "
               "rather than passed in); pass that tensor as an input so its gradient flows back the ordinary way",
               who, n->name());
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph,
                  Capture* capture) {
  const char* who = capture ? capture->options->caller.c_str() : "backward";
  LOGLIN_CHECK(roots.size() == grads.size(), "[{}] {} roots but {} gradients", who, roots.size(), grads.size());
  NoGradGuard no_grad;

  std::vector<Edge> root_edges;
  for (size_t i = 0; i < roots.size(); ++i) {
    LOGLIN_CHECK(roots[i].requires_grad(),
                 "[{}] the tensor does not require grad and has no grad_fn (did every input have "
                 "requires_grad off, or did it run under NoGradGuard?)",
                 who);
    LOGLIN_CHECK(grads[i].shape() == roots[i].shape(), "[{}] gradient shape {} differs from the tensor's {}", who,
                 shape_str(grads[i].shape()), shape_str(roots[i].shape()));
    root_edges.push_back(gradient_edge(roots[i]));
  }

  // Count, for every node reachable from the roots, how many edges feed it.
  std::unordered_map<Node*, Slot> slots;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep;
  std::vector<Node*> stack;
  std::unordered_set<Node*> seen;
  for (auto& e : root_edges) {
    keep[e.fn.get()] = e.fn;
    if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (capture) check_inside(n, *capture);
    for (auto& e : n->next_edges()) {
      if (!e.fn) continue;
      slots[e.fn.get()].dependencies++;
      if (seen.insert(e.fn.get()).second) {
        keep[e.fn.get()] = e.fn;
        stack.push_back(e.fn.get());
      }
    }
  }

  for (size_t i = 0; i < roots.size(); ++i) {
    Tensor g = grads[i].dtype() == roots[i].dtype() ? grads[i] : core::contiguous_copy(grads[i], roots[i].dtype());
    accumulate(slots[root_edges[i].fn.get()], root_edges[i].input_nr, g);
  }

  // grad() writes no .grad, so no leaf's gradient becomes final here.
  auto watched = capture ? std::unordered_map<const TensorImpl*, WatchedLeaf>() : watch_leaves(keep);
  // Nodes whose inputs are complete, run last-in first-out; leaf sinks go
  // first of all. A sink feeds nothing, so running it at once changes no
  // other node's inputs, but it makes the leaf's gradient final (and its
  // grad-ready hooks run) as early as possible: a parameter that is an op's
  // first input would otherwise wait until the depth-first walk has finished
  // the op's other inputs.
  std::vector<Node*> ready, ready_sinks;
  auto make_ready = [&](Node* n) {
    (dynamic_cast<AccumulateGrad*>(n) ? ready_sinks : ready).push_back(n);
  };
  std::unordered_set<Node*> root_ready;
  for (auto& e : root_edges)
    if (slots[e.fn.get()].dependencies == 0 && root_ready.insert(e.fn.get()).second) make_ready(e.fn.get());

  while (!ready.empty() || !ready_sinks.empty()) {
    std::vector<Node*>& from = ready_sinks.empty() ? ready : ready_sinks;
    Node* n = from.back();
    from.pop_back();
    Slot& slot = slots[n];
    std::vector<Tensor> in = std::move(slot.grads);
    size_t n_out = std::max<size_t>(n->outputs().size(), 1);
    in.resize(n_out);
    if (n->wants_zeros_for_missing_gradients())
      for (size_t i = 0; i < n->outputs().size(); ++i)
        if (!in[i].defined())
          in[i] = Tensor::zeros(n->outputs()[i].shape, n->outputs()[i].dtype, n->outputs()[i].device);
    auto* captured = capture ? dynamic_cast<AccumulateGrad*>(n) : nullptr;
    if (captured) {  // grad(): the leaf's gradient goes to the caller, summed over its uses like a slot's
      if (in[0].defined()) {
        Tensor& g = capture->grads[capture->index.at(captured->leaf().get())];
        g = g.defined() ? add_gradients(g, in[0]) : in[0];
      }
      continue;
    }
    std::vector<Tensor> out = n->apply(in);
    if (!retain_graph) n->release();
    if (!watched.empty()) {
      // The last sink of a watched leaf has run: its gradient is final.
      if (auto* sink = dynamic_cast<AccumulateGrad*>(n)) {
        auto it = watched.find(sink->leaf().get());
        if (it != watched.end() && --it->second.pending_sinks == 0) {
          const Tensor leaf(sink->leaf());
          for (const auto& hook : it->second.hooks) (*hook)(leaf);
        }
      }
    }
    auto& edges = n->next_edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      Node* next = edges[i].fn.get();
      if (!next) continue;
      if (i < out.size() && out[i].defined()) accumulate(slots[next], edges[i].input_nr, out[i]);
      if (--slots[next].dependencies == 0) make_ready(next);
    }
  }
}

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  run_backward(roots, grads, retain_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                         const std::vector<Tensor>& leaves, const GradOptions& options) {
  Capture capture{{}, std::vector<Tensor>(leaves.size()), &options};
  for (size_t i = 0; i < leaves.size(); ++i) {
    LOGLIN_CHECK(leaves[i].defined(), "[{}] tensor {} of the leaves is undefined", options.caller, i);
    LOGLIN_CHECK(leaves[i].is_leaf(),
                 "[{}] tensor {} of the leaves has a grad_fn: gradients are handed back for leaf tensors only "
                 "(detach it and use the detached tensor in the graph)",
                 options.caller, i);
    LOGLIN_CHECK(capture.index.emplace(&leaves[i].impl(), i).second, "[{}] tensor {} of the leaves is listed twice",
                 options.caller, i);
  }
  run_backward(roots, grads, /*retain_graph=*/false, &capture);
  return std::move(capture.grads);
}

}  // namespace loglin::autograd
