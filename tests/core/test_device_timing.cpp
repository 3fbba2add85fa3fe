// synchronize() and DeviceTimer from the public header: on the CPU the timer
// reads the host clock and synchronize() returns at once; misuse is a clear
// error; on CUDA (skipped without a device) the timer brackets queued work
// with events.
#include <chrono>
#include <thread>

#include "catch.h"
#include "core/rng.h"
#include "loglin/loglin.h"
#include "test_util.h"

using namespace loglin;

TEST_CASE("device timing: the cpu timer reads the host clock", "[core]") {
  synchronize(Device::cpu());  // nothing queued, nothing to wait for
  DeviceTimer timer(Device::cpu());
  CHECK(timer.device() == Device::cpu());
  LL_CHECK_ERROR(timer.elapsed_ms(), "needs start() and then stop() (timer on cpu)");
  LL_CHECK_ERROR(timer.stop(), "stop() before start()");
  timer.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  timer.stop();
  const double ms = timer.elapsed_ms();
  CHECK(ms >= 19.0);
  CHECK(ms < 5000.0);
  timer.start();  // a new measurement needs a new stop
  LL_CHECK_ERROR(timer.elapsed_ms(), "needs start() and then stop()");
}

TEST_CASE("device timing: a cuda timer without a device or a CUDA build is a clear error", "[core]") {
  if (cuda_is_available()) return;  // the [cuda] case below covers it
  LL_CHECK_ERROR(DeviceTimer(Device::cuda()), "[");
  LL_CHECK_ERROR(synchronize(Device::cuda()), "[");
}

TEST_CASE("cuda: device timing brackets the queued work", "[cuda][core]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(1);
  Tensor a = randn({1024, 1024}, DType::f32, gen).to(Device::cuda());
  DeviceTimer timer(Device::cuda());
  timer.start();
  Tensor c = a;
  for (int i = 0; i < 8; ++i) c = c.matmul(a) * 1e-3;
  timer.stop();
  const double ms = timer.elapsed_ms();  // waits for the stop event
  CHECK(ms > 0.0);
  synchronize(Device::cuda());
  CHECK(loglin_test::all_finite(c));
}
