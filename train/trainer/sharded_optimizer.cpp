#include "train/trainer/sharded_optimizer.h"

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "distributed/param_owners.h"

namespace loglin {

ShardedOptimizer::ShardedOptimizer(dist::Communicator& comm, std::vector<optim::ParamGroup> groups,
                                   const Factory& make_inner)
    : Optimizer(std::move(groups)), comm_(comm) {
  const int world = comm_.world_size(), rank = comm_.rank();
  std::vector<Tensor> all;
  std::vector<std::string> names;
  for (const auto& g : groups_)
    for (const auto& [name, t] : g.params) {
      all.push_back(t);
      names.push_back(name);
    }
  const std::vector<int> owners = dist::plan_param_owners(all, world);
  by_owner_.assign(static_cast<size_t>(world), {});
  names_of_.assign(static_cast<size_t>(world), {});
  for (size_t i = 0; i < all.size(); ++i) {
    by_owner_[owners[i]].push_back(all[i]);
    names_of_[owners[i]].push_back(names[i]);
  }
  // This rank's share, group by group (a group it owns nothing of is left out).
  std::vector<optim::ParamGroup> owned;
  size_t i = 0;
  for (const auto& g : groups_) {
    optim::ParamGroup mine{{}, g.weight_decay};
    for (const auto& p : g.params)
      if (owners[i++] == rank) {
        mine.params.push_back(p);
        ++owned_count_;
        owned_elements_ += p.second.numel();
      }
    if (!mine.params.empty()) owned.push_back(std::move(mine));
  }
  inner_ = make_inner(std::move(owned));
  LOGLIN_CHECK(inner_ != nullptr, "[zero1] the optimizer factory returned nothing");
}

void ShardedOptimizer::step(double lr) {
  NoGradGuard no_grad;
  ++step_;
  inner_->step(lr);
  // Every rank holds the averaged gradients, but only the owner has the state
  // to turn them into an update: the others take the owner's result.
  for (int r = 0; r < comm_.world_size(); ++r)
    if (!by_owner_[r].empty()) comm_.broadcast(by_owner_[r], r);
}

std::map<std::string, Tensor> ShardedOptimizer::state_dict() const {
  const std::map<std::string, Tensor> mine = inner_->state_dict();
  const std::vector<std::string> slots = inner_->state_slots();
  std::map<std::string, Tensor> out;
  for (int r = 0; r < comm_.world_size(); ++r) {
    if (by_owner_[r].empty()) continue;
    // The owner sends its live state; the others receive into fresh buffers.
    std::vector<Tensor> entries;
    std::vector<std::string> keys;
    for (size_t j = 0; j < by_owner_[r].size(); ++j)
      for (const std::string& slot : slots) {
        const std::string key = names_of_[r][j] + "." + slot;
        const Tensor& p = by_owner_[r][j];
        if (r == comm_.rank()) {
          auto it = mine.find(key);
          LOGLIN_CHECK(it != mine.end(), "[zero1] this rank owns '{}' but its optimizer has no '{}'", names_of_[r][j],
                       key);
          entries.push_back(it->second.is_contiguous() ? it->second : core::contiguous_copy(it->second));
        } else {
          entries.push_back(Tensor::zeros(p.shape(), DType::f32, p.device()));
        }
        keys.push_back(key);
      }
    comm_.broadcast(entries, r);
    for (size_t k = 0; k < keys.size(); ++k) out[keys[k]] = entries[k];
  }
  out["step"] = Tensor::scalar(static_cast<double>(step_), DType::i64);
  return out;
}

void ShardedOptimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  inner_->load_state_dict(state);  // takes the entries of the parameters it has, and "step"
  auto it = state.find("step");
  LOGLIN_CHECK(it != state.end(), "[zero1] optimizer state lacks 'step'");
  step_ = static_cast<int64_t>(it->second.item());
}

}  // namespace loglin
