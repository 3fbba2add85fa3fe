// ZeRO-1 (train/trainer/sharded_optimizer.h) with in-process ranks: each rank
// keeps the state of its share of the parameters, yet the parameters after
// a few steps are bit-identical to one unsharded optimizer's, the gathered
// state_dict is the whole state, and a state loaded on another number of
// ranks continues identically. AdamW and SGD.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/rng.h"
#include "distributed/in_process_communicator.h"
#include "ops/ops.h"
#include "test_util.h"
#include "train/trainer/sharded_optimizer.h"

using namespace loglin;

namespace {

const std::vector<Shape> kShapes = {{8, 6}, {6}, {5, 8}, {5}, {3, 3, 2}, {1}};

// Parameters of kShapes from a seed, as a weight-decay group and a no-decay group.
std::vector<optim::ParamGroup> make_groups() {
  Generator gen(3);
  optim::ParamGroup decay{{}, 0.1}, no_decay{{}, 0.0};
  for (size_t i = 0; i < kShapes.size(); ++i) {
    Tensor p = randn(kShapes[i], DType::f32, gen).set_requires_grad(true);
    (kShapes[i].size() >= 2 ? decay : no_decay).params.emplace_back("p" + std::to_string(i), p);
  }
  return {decay, no_decay};
}

// The gradients of step k: the same on every rank, as after an all-reduce.
void set_grads(const std::vector<optim::ParamGroup>& groups, int k) {
  Generator gen(100 + k);
  for (const auto& g : groups)
    for (auto [name, p] : g.params) p.set_grad(randn(p.shape(), DType::f32, gen));
}

std::unique_ptr<optim::Optimizer> make(const std::string& which, std::vector<optim::ParamGroup> groups) {
  if (which == "sgd") return std::make_unique<optim::SGD>(std::move(groups), 0.9);
  return std::make_unique<optim::AdamW>(std::move(groups));
}

std::map<std::string, std::vector<float>> values(const std::map<std::string, Tensor>& m) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [k, t] : m) out[k] = t.to_vector<float>();
  return out;
}

std::map<std::string, std::vector<float>> params_of(const std::vector<optim::ParamGroup>& groups) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& g : groups)
    for (const auto& [name, p] : g.params) out[name] = p.to_vector<float>();
  return out;
}

struct Reference {
  std::map<std::string, std::vector<float>> params_after_3, state_after_3, params_after_4;
};

// One unsharded optimizer: 3 steps, its state, then a 4th step.
Reference reference(const std::string& which) {
  auto groups = make_groups();
  auto opt = make(which, groups);
  Reference r;
  for (int k = 0; k < 3; ++k) {
    set_grads(groups, k);
    opt->step(1e-2);
  }
  r.params_after_3 = params_of(groups);
  r.state_after_3 = values(opt->state_dict());
  set_grads(groups, 3);
  opt->step(1e-2);
  r.params_after_4 = params_of(groups);
  return r;
}

}  // namespace

TEST_CASE("zero1: sharded steps give the unsharded optimizer's parameters and whole state", "[train][dist]") {
  for (const std::string which : {"adamw", "sgd"}) {
    const Reference ref = reference(which);
    for (int world : {1, 2, 3, 8}) {
      INFO(which << ", world " << world);
      std::vector<std::map<std::string, std::vector<float>>> params(world), state(world);
      std::vector<int64_t> owned(world), elements(world);
      std::vector<std::map<std::string, std::vector<float>>> own_state(world);
      std::mutex mu;
      dist::run_in_process(world, [&](dist::Communicator& comm) {
        auto groups = make_groups();
        ShardedOptimizer opt(comm, groups, [&](std::vector<optim::ParamGroup> mine) { return make(which, mine); });
        for (int k = 0; k < 3; ++k) {
          set_grads(groups, k);
          opt.step(1e-2);
        }
        auto full = values(opt.state_dict());
        std::lock_guard<std::mutex> lock(mu);
        params[comm.rank()] = params_of(groups);
        state[comm.rank()] = std::move(full);
        owned[comm.rank()] = opt.owned_params();
        elements[comm.rank()] = opt.owned_elements();
      });
      int64_t all_owned = 0, all_elements = 0, total = 0;
      for (const auto& s : kShapes) total += shape_numel(s);
      for (int r = 0; r < world; ++r) {
        INFO("rank " << r);
        CHECK(params[r] == ref.params_after_3);  // bit-identical
        CHECK(state[r] == ref.state_after_3);    // every entry, gathered from its owner
        all_owned += owned[r];
        all_elements += elements[r];
        if (world > 1 && world <= 3) CHECK(elements[r] < total);  // a share, not everything
      }
      CHECK(all_owned == static_cast<int64_t>(kShapes.size()));  // each parameter on exactly one rank
      CHECK(all_elements == total);
    }
  }
}

TEST_CASE("zero1: a whole state loads on any number of ranks and continues identically", "[train][dist]") {
  for (const std::string which : {"adamw", "sgd"}) {
    const Reference ref = reference(which);
    // The unsharded optimizer's state after 3 steps, as a checkpoint would hold it.
    auto groups0 = make_groups();
    auto opt0 = make(which, groups0);
    for (int k = 0; k < 3; ++k) {
      set_grads(groups0, k);
      opt0->step(1e-2);
    }
    const std::map<std::string, Tensor> saved = opt0->state_dict();
    for (int world : {2, 3}) {
      INFO(which << ", world " << world);
      std::vector<std::map<std::string, std::vector<float>>> params(world);
      std::vector<int64_t> steps(world);
      std::mutex mu;
      dist::run_in_process(world, [&](dist::Communicator& comm) {
        auto groups = make_groups();
        // The weights as they were when the checkpoint was taken.
        for (size_t gi = 0; gi < groups.size(); ++gi)
          for (size_t pi = 0; pi < groups[gi].params.size(); ++pi)
            core::copy_into(groups[gi].params[pi].second, groups0[gi].params[pi].second);
        ShardedOptimizer opt(comm, groups, [&](std::vector<optim::ParamGroup> mine) { return make(which, mine); });
        opt.load_state_dict(saved);
        set_grads(groups, 3);
        opt.step(1e-2);
        std::lock_guard<std::mutex> lock(mu);
        params[comm.rank()] = params_of(groups);
        steps[comm.rank()] = opt.steps_taken();
      });
      for (int r = 0; r < world; ++r) {
        INFO("rank " << r);
        CHECK(params[r] == ref.params_after_4);
        CHECK(steps[r] == 4);
      }
    }
  }
}
