#include "autograd/grad_ready_hook.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "core/error.h"

namespace loglin::autograd {

namespace {

// The registry lives here rather than in TensorImpl: core knows nothing of
// autograd's callbacks. Keyed by the leaf's TensorImpl; the weak_ptr tells a
// live leaf from a new tensor that reuses a dead one's address.
struct Entry {
  uint64_t id;
  std::weak_ptr<TensorImpl> leaf;
  std::shared_ptr<const GradReadyFn> fn;
};

struct Registry {
  std::mutex mu;
  std::unordered_map<const TensorImpl*, std::vector<Entry>> by_leaf;
  std::unordered_map<uint64_t, const TensorImpl*> leaf_of;
  uint64_t next_id = 1;
  std::atomic<int64_t> count{0};
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

GradReadyHook& GradReadyHook::operator=(GradReadyHook&& o) noexcept {
  if (this != &o) {
    remove();
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}

void GradReadyHook::remove() {
  if (id_ == 0) return;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.leaf_of.find(id_);
  if (it != r.leaf_of.end()) {
    auto& entries = r.by_leaf[it->second];
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i].id == id_) {
        entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    if (entries.empty()) r.by_leaf.erase(it->second);
    r.leaf_of.erase(it);
    r.count.fetch_sub(1);
  }
  id_ = 0;
}

GradReadyHook on_grad_ready(const Tensor& leaf, GradReadyFn fn) {
  LOGLIN_CHECK(leaf.defined(), "[autograd] on_grad_ready: an undefined tensor");
  LOGLIN_CHECK(leaf.is_leaf(),
               "[autograd] on_grad_ready: the tensor of shape {} is not a leaf (it was computed by an op); hooks go on "
               "leaves such as parameters",
               shape_str(leaf.shape()));
  LOGLIN_CHECK(leaf.requires_grad(),
               "[autograd] on_grad_ready: the tensor of shape {} does not require grad, so no backward reaches it",
               shape_str(leaf.shape()));
  LOGLIN_CHECK(fn != nullptr, "[autograd] on_grad_ready: an empty callback");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  const uint64_t id = r.next_id++;
  const TensorImpl* key = leaf.impl_ptr().get();
  auto& entries = r.by_leaf[key];
  // A dead leaf's entries under a reused address are dropped here.
  std::erase_if(entries, [&](const Entry& e) {
    if (e.leaf.lock().get() == key) return false;
    r.leaf_of.erase(e.id);
    r.count.fetch_sub(1);
    return true;
  });
  entries.push_back({id, leaf.impl_ptr(), std::make_shared<const GradReadyFn>(std::move(fn))});
  r.leaf_of[id] = key;
  r.count.fetch_add(1);
  return GradReadyHook(id);
}

namespace detail {

bool any_grad_ready_hooks() { return registry().count.load(std::memory_order_relaxed) > 0; }

std::vector<std::shared_ptr<const GradReadyFn>> grad_ready_hooks(const std::shared_ptr<TensorImpl>& leaf) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::shared_ptr<const GradReadyFn>> out;
  auto it = r.by_leaf.find(leaf.get());
  if (it == r.by_leaf.end()) return out;
  for (const Entry& e : it->second)
    if (e.leaf.lock() == leaf) out.push_back(e.fn);
  return out;
}

}  // namespace detail

}  // namespace loglin::autograd
