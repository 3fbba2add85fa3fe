// on_grad_ready: the callback that runs when backward has finished a leaf's
// gradient. Once per leaf per backward, after every contribution is summed
// (a leaf used twice), in the middle of the backward (a later layer's leaf
// is ready before an earlier one's gradient exists), never for a leaf the
// backward does not reach, and gone with its handle.
#include <string>
#include <vector>

#include "autograd/grad_ready_hook.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

namespace {

Tensor leaf(const std::vector<double>& v) {
  return Tensor::from_vector<double>(v, {static_cast<int64_t>(v.size())}).set_requires_grad(true);
}
Tensor constant(const std::vector<double>& v) {
  return Tensor::from_vector<double>(v, {static_cast<int64_t>(v.size())});
}

}  // namespace

TEST_CASE("grad ready hook: a leaf used twice is reported once, with the summed gradient", "[autograd]") {
  Tensor w = leaf({1, 2, 3});
  const Tensor a = constant({10, 20, 30}), b = constant({1, 1, 1});
  std::vector<std::vector<double>> seen;
  autograd::GradReadyHook h = autograd::on_grad_ready(w, [&](const Tensor& t) {
    CHECK(t.impl_ptr() == w.impl_ptr());
    seen.push_back(t.grad().to_vector<double>());
  });
  CHECK(h.active());
  // w reaches the loss through two ops, and once more through a product with itself.
  ((w * a).sum() + (w * b).sum() + (w * w).sum()).backward();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<double>{10 + 1 + 2 * 1, 20 + 1 + 2 * 2, 30 + 1 + 2 * 3});
  CHECK(seen[0] == w.grad().to_vector<double>());

  // A second backward: once more, and the hook sees the accumulated gradient.
  (w * a).sum().backward();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == std::vector<double>{13 + 10, 25 + 20, 37 + 30});
}

TEST_CASE("grad ready hook: a later layer's leaf is ready while backward still runs", "[autograd]") {
  // y = sum(w2 * tanh(w1 * x)): backward reaches w2 first, then w1.
  Tensor w1 = leaf({0.5, -1.0}), w2 = leaf({2.0, 3.0});
  const Tensor x = constant({1.0, 2.0});
  std::vector<std::string> order;
  bool w1_grad_when_w2_ready = true;
  auto h2 = autograd::on_grad_ready(w2, [&](const Tensor&) {
    order.push_back("w2");
    w1_grad_when_w2_ready = w1.grad().defined();
  });
  auto h1 = autograd::on_grad_ready(w1, [&](const Tensor& t) {
    order.push_back("w1");
    CHECK(t.grad().defined());
  });
  (w2 * tanh(w1 * x)).sum().backward();
  CHECK(order == std::vector<std::string>{"w2", "w1"});
  CHECK_FALSE(w1_grad_when_w2_ready);  // the hook ran before the rest of the backward
}

TEST_CASE("grad ready hook: leaves the backward does not reach get no call; removed hooks none", "[autograd]") {
  Tensor used = leaf({1, 2}), unused = leaf({3, 4});
  int used_calls = 0, unused_calls = 0, second_calls = 0;
  auto hu = autograd::on_grad_ready(used, [&](const Tensor&) { ++used_calls; });
  auto hn = autograd::on_grad_ready(unused, [&](const Tensor&) { ++unused_calls; });
  {
    auto h2 = autograd::on_grad_ready(used, [&](const Tensor&) { ++second_calls; });  // two hooks on one leaf
    (used * 2.0).sum().backward();
  }
  CHECK(used_calls == 1);
  CHECK(second_calls == 1);
  CHECK(unused_calls == 0);
  (used * 3.0).sum().backward();
  CHECK(used_calls == 2);
  CHECK(second_calls == 1);  // its handle is gone
  hu.remove();
  CHECK_FALSE(hu.active());
  (used * 3.0).sum().backward();
  CHECK(used_calls == 2);

  // Moving a handle keeps the hook; the moved-from handle removes nothing.
  autograd::GradReadyHook moved = std::move(hn);
  CHECK_FALSE(hn.active());
  (unused * 1.0).sum().backward();
  CHECK(unused_calls == 1);
}

TEST_CASE("grad ready hook: a leaf that is itself the root", "[autograd]") {
  Tensor s = Tensor::from_vector<double>({2.0}, {1}).set_requires_grad(true);
  int calls = 0;
  auto h = autograd::on_grad_ready(s, [&](const Tensor& t) {
    ++calls;
    CHECK(t.grad().to_vector<double>() == std::vector<double>{1.0});
  });
  s.backward();
  CHECK(calls == 1);
}

TEST_CASE("grad ready hook: only leaves that require grad take one", "[autograd]") {
  Tensor w = leaf({1, 2});
  const Tensor y = w * 2.0;
  LL_CHECK_ERROR(autograd::on_grad_ready(y, [](const Tensor&) {}), "is not a leaf");
  LL_CHECK_ERROR(autograd::on_grad_ready(constant({1}), [](const Tensor&) {}), "does not require grad");
  LL_CHECK_ERROR(autograd::on_grad_ready(Tensor(), [](const Tensor&) {}), "undefined tensor");
  LL_CHECK_ERROR(autograd::on_grad_ready(w, autograd::GradReadyFn()), "empty callback");
}
