// Packed documents (LanguageModel::forward with cu_seqlens): for every
// architecture, a batch whose rows hold several documents gives the same
// logits, loss and parameter gradients as the documents run one by one, in
// f64 and in f32. The documents are of awkward lengths (1 token, a chunk and
// a bit, a start mid-chunk), so a state, conv window or attention score that
// leaked across a start would show.
#include <map>
#include <string>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "nn/mixers/mixer.h"
#include "nn/models/language_model.h"
#include "nn_test_util.h"
#include "ops/ops.h"

using namespace loglin;
using namespace loglin::nn;

namespace {

const char* const kArchs[] = {"transformer", "mamba2", "loglinear_mamba2", "gated_deltanet",
                              "loglinear_gated_deltanet"};

LMOptions tiny(const std::string& arch) {
  return LMOptions(arch, 11)
      .d_model(8)
      .n_layers(2)
      .n_heads(2)
      .head_dim(4)
      .d_state(4)
      .chunk_size(4)
      .max_seq_len(16)
      .init_std(0.2);
}

// Two rows of 12: documents of 5, 1 and 6 tokens, then of 3 and 9.
const std::vector<int64_t> kCu{0, 5, 6, 12, 15, 24};
constexpr int64_t kB = 2, kT = 12;

Tensor cu_tensor() { return Tensor::from_vector(kCu, {static_cast<int64_t>(kCu.size())}); }

std::map<std::string, std::vector<double>> grads_of(const LanguageModel& m) {
  std::map<std::string, std::vector<double>> g;
  for (const auto& [name, p] : m.named_parameters())
    g[name] = p.grad().defined() ? p.grad().to_vector<double>() : std::vector<double>{};
  return g;
}

double worst_grad_err(const std::map<std::string, std::vector<double>>& a,
                      const std::map<std::string, std::vector<double>>& b, std::string& where) {
  double worst = 0;
  for (const auto& [name, ga] : a) {
    const std::vector<double>& gb = b.at(name);
    REQUIRE(ga.size() == gb.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < ga.size(); ++i) num += (ga[i] - gb[i]) * (ga[i] - gb[i]), den += gb[i] * gb[i];
    const double e = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e, where = name;
  }
  return worst;
}

// Runs the packed batch and the documents one by one through `model` in
// `dtype`; checks logits, loss and every parameter gradient within tol.
void check_packed_equals_one_by_one(const char* arch, DType dtype, double tol) {
  INFO(arch << " in " << dtype_name(dtype));
  manual_seed(7);
  LanguageModel model(tiny(arch));
  model.to(dtype);
  REQUIRE(model.resets_at_documents());
  const Tensor ids = randint(0, 11, {kB, kT}), targets = randint(0, 11, {kB, kT});
  const Tensor flat_ids = ids.reshape({1, kB * kT}), flat_targets = targets.reshape({1, kB * kT});

  Tensor packed_logits = model.forward(ids, cu_tensor());  // [B, T, V]
  Tensor packed_loss = cross_entropy(packed_logits, targets);
  packed_loss.backward();
  const auto packed_grads = grads_of(model);
  model.zero_grad();

  // Each document alone: its logits, and the loss as the same mean over all targets.
  const Tensor flat_logits = packed_logits.reshape({1, kB * kT, 11});
  Tensor loss_sum;
  for (size_t d = 0; d + 1 < kCu.size(); ++d) {
    const int64_t s = kCu[d], n = kCu[d + 1] - kCu[d];
    INFO("document " << d << " at " << s << ", " << n << " tokens");
    Tensor logits = model.forward(flat_ids.narrow(1, s, n));  // [1, n, V]
    CHECK(test::rel_err(flat_logits.narrow(1, s, n), logits) < tol);
    Tensor part = cross_entropy(logits, flat_targets.narrow(1, s, n)) * (static_cast<double>(n) / (kB * kT));
    loss_sum = loss_sum.defined() ? loss_sum + part : part;
  }
  LL_CHECK_NEAR(packed_loss.item(), loss_sum.item(), tol * std::abs(loss_sum.item()));
  loss_sum.backward();
  std::string where;
  const double err = worst_grad_err(packed_grads, grads_of(model), where);
  INFO("worst gradient: " << where << ", relative error " << err);
  CHECK(err < tol);
}

}  // namespace

TEST_CASE("packed documents give the loss and gradients of the documents run one by one (f64)",
          "[nn][packed]") {
  for (const char* arch : kArchs) check_packed_equals_one_by_one(arch, DType::f64, 1e-10);
}

TEST_CASE("packed documents give the loss and gradients of the documents run one by one (f32)",
          "[nn][packed]") {
  for (const char* arch : kArchs) check_packed_equals_one_by_one(arch, DType::f32, 2e-5);
}

TEST_CASE("packing changes the answer: without cu_seqlens the documents of a row see each other", "[nn][packed]") {
  for (const char* arch : kArchs) {
    INFO(arch);
    manual_seed(8);
    LanguageModel model(tiny(arch));
    model.to(DType::f64);
    const Tensor ids = randint(0, 11, {kB, kT});
    const Tensor packed = model.forward(ids, cu_tensor()), plain = model.forward(ids);
    // The first document of each row (5 and 3 tokens) starts the row either way: equal there.
    CHECK(test::rel_err(packed.narrow(0, 0, 1).narrow(1, 0, 5), plain.narrow(0, 0, 1).narrow(1, 0, 5)) < 1e-12);
    CHECK(test::rel_err(packed.narrow(0, 1, 1).narrow(1, 0, 3), plain.narrow(0, 1, 1).narrow(1, 0, 3)) < 1e-12);
    // The later ones start after others: a mixer that did not reset would agree here too.
    CHECK(test::rel_err(packed.narrow(0, 0, 1).narrow(1, 6, 6), plain.narrow(0, 0, 1).narrow(1, 6, 6)) > 1e-6);
    CHECK(test::rel_err(packed.narrow(0, 1, 1).narrow(1, 3, 9), plain.narrow(0, 1, 1).narrow(1, 3, 9)) > 1e-6);
  }
}

namespace {

// A mixer of one's own that never learned to reset (the default forward_packed).
class NoResetMixer : public Mixer {
 public:
  Tensor forward(const Tensor& x) const override { return x; }
  std::unique_ptr<MixerState> initial_state(int64_t) const override { return nullptr; }
  Tensor step(const Tensor& x, MixerState&) const override { return x; }
  std::string type_name() const override { return "NoResetMixer"; }
};

}  // namespace

TEST_CASE("a mixer that cannot reset at document starts is a clear error", "[nn][packed]") {
  manual_seed(9);
  LanguageModel model(tiny("mamba2"));
  (*model.blocks)[1]->mixer = std::make_shared<NoResetMixer>();
  CHECK_FALSE(model.resets_at_documents());
  const Tensor ids = randint(0, 11, {kB, kT});
  LL_CHECK_ERROR(model.forward(ids, cu_tensor()), "NoResetMixer does not");
  CHECK(model.forward(ids).size(1) == kT);  // unpacked still runs
  LL_CHECK_ERROR(NoResetMixer().forward_packed(Tensor::zeros({1, 4, 8}), cu_tensor()),
                 "[NoResetMixer] cannot reset at document boundaries");
}

TEST_CASE("bad cu_seqlens name the problem", "[nn][packed]") {
  for (const char* arch : kArchs) {
    INFO(arch);
    manual_seed(10);
    LanguageModel model(tiny(arch));
    const Tensor ids = randint(0, 11, {kB, kT});
    auto cu = [](std::vector<int64_t> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); };
    LL_CHECK_ERROR(model.forward(ids, cu({0, 5, 23})), "must end at T = 24");
    LL_CHECK_ERROR(model.forward(ids, cu({0, 7, 7, 24})), "strictly increasing");
    LL_CHECK_ERROR(model.forward(ids, cu({1, 24})), "must start at 0");
  }
}
