#include "distributed/grad_reducer.h"

#include "core/error.h"

namespace loglin::dist {

GradReducer::GradReducer(Communicator& comm, std::vector<std::pair<std::string, Tensor>> named_params,
                         GradReducerOptions options)
    : comm_(comm), options_(options), params_(std::move(named_params)) {
  std::vector<Tensor> tensors;
  tensors.reserve(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, p] = params_[i];
    LOGLIN_CHECK(p.defined(), "[dist] grad reducer: parameter '{}' is an undefined tensor", name);
    LOGLIN_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64 || !p.requires_grad(),
                 "[dist] grad reducer: parameter '{}' is {}; data-parallel gradients are f32 or f64 (keep master "
                 "weights in f32)",
                 name, dtype_name(p.dtype()));
    LOGLIN_CHECK(index_of_.emplace(p.impl_ptr().get(), i).second,
                 "[dist] grad reducer: parameter '{}' is listed twice", name);
    tensors.push_back(p);
  }
  buckets_ = plan_buckets(tensors, options_.bucket_mb);
  bucket_of_.assign(params_.size(), -1);
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const GradBucket& bk = buckets_[b];
    for (size_t i : bk.params) bucket_of_[i] = static_cast<int>(b);
    flat_.push_back(Tensor::zeros({bk.numel}, bk.dtype, params_[bk.params[0]].second.device()));
  }
  reset_step();
}

void GradReducer::reset_step() {
  ready_.assign(params_.size(), false);
  pending_.resize(buckets_.size());
  for (size_t b = 0; b < buckets_.size(); ++b) pending_[b] = static_cast<int64_t>(buckets_[b].params.size());
  launched_.assign(buckets_.size(), false);
  next_launch_ = 0;
}

void GradReducer::mark_ready(const Tensor& param) {
  LOGLIN_CHECK(param.defined(), "[dist] grad reducer: mark_ready of an undefined tensor");
  auto it = index_of_.find(param.impl_ptr().get());
  LOGLIN_CHECK(it != index_of_.end(),
               "[dist] grad reducer: mark_ready of a tensor of shape {} that is not one of the reducer's parameters",
               shape_str(param.shape()));
  mark_ready(it->second);
}

void GradReducer::mark_ready(size_t index) {
  LOGLIN_CHECK(index < params_.size(), "[dist] grad reducer: parameter index {}, but the reducer has {} parameters",
               index, params_.size());
  if (!sync_) return;
  const std::string& name = params_[index].first;
  LOGLIN_CHECK(bucket_of_[index] >= 0, "[dist] grad reducer: parameter '{}' does not require grad; it has no bucket",
               name);
  LOGLIN_CHECK(!ready_[index],
               "[dist] grad reducer: parameter '{}' marked ready twice in one step (call finish() after each backward)",
               name);
  ready_[index] = true;
  if (--pending_[bucket_of_[index]] == 0) launch_ready_buckets();
}

std::vector<autograd::GradReadyHook> GradReducer::install_ready_hooks() {
  std::vector<autograd::GradReadyHook> hooks;
  for (size_t i = 0; i < params_.size(); ++i)
    if (bucket_of_[i] >= 0)
      hooks.push_back(autograd::on_grad_ready(params_[i].second, [this, i](const Tensor&) { mark_ready(i); }));
  return hooks;
}

void GradReducer::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && pending_[next_launch_] == 0) launch(next_launch_++);
}

// Copies the bucket's gradients into its flat buffer (zeros for a parameter
// with no gradient) and all-reduces it.
void GradReducer::launch(size_t b) {
  const GradBucket& bk = buckets_[b];
  const Tensor& flat = flat_[b];
  for (size_t j = 0; j < bk.params.size(); ++j) {
    const auto& [name, p] = params_[bk.params[j]];
    Tensor seg = core::as_strided(flat, p.shape(), contiguous_strides(p.shape()), bk.offsets[j]);
    Tensor g = p.grad();
    if (!g.defined()) {
      core::fill(seg, 0.0);
      continue;
    }
    LOGLIN_CHECK(g.dtype() == bk.dtype && g.device() == flat.device(),
                 "[dist] grad reducer: the gradient of '{}' is {} on {}, but its bucket is {} on {}", name,
                 dtype_name(g.dtype()), g.device().str(), dtype_name(bk.dtype), flat.device().str());
    core::copy_into(seg, g);
  }
  comm_.all_reduce_async(flat, options_.op);
  launched_[b] = true;
  ++launched_total_;
}

// Copies the reduced values back into the gradients.
void GradReducer::unpack(size_t b) {
  const GradBucket& bk = buckets_[b];
  for (size_t j = 0; j < bk.params.size(); ++j) {
    Tensor p = params_[bk.params[j]].second;
    Tensor seg = core::as_strided(flat_[b], p.shape(), contiguous_strides(p.shape()), bk.offsets[j]);
    Tensor g = p.grad();
    if (g.defined() && g.is_contiguous())
      core::copy_into(g, seg);
    else
      p.set_grad(core::contiguous_copy(seg));
  }
}

void GradReducer::finish() {
  if (!sync_) {
    reset_step();
    return;
  }
  for (size_t b = next_launch_; b < buckets_.size(); ++b) pending_[b] = 0;  // whatever was not marked is final now
  launch_ready_buckets();
  comm_.wait_all();
  for (size_t b = 0; b < buckets_.size(); ++b) unpack(b);
  reset_step();
}

}  // namespace loglin::dist
