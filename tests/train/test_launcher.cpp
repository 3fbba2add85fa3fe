// The process launcher behind `loglin train --gpus N` (train/cli/launcher.h),
// with /bin/sh scripts as the ranks: environment, a failing or killed rank
// stopping the others (SIGTERM, then SIGKILL), a program that cannot start,
// and SIGTERM to the launcher passed on to the ranks.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "test_util.h"
#include "train/cli/launcher.h"

using namespace loglin;
using loglin_test::TempDir;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

cli::RankProcess sh(const std::string& script, std::vector<std::pair<std::string, std::string>> env = {}) {
  return {"/bin/sh", {"sh", "-c", script}, std::move(env)};
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TEST_CASE("launcher: every rank runs with its environment on top of ours", "[train][launch]") {
  TempDir dir("launch_env");
  loglin_test::EnvVar inherited("LOGLIN_TEST_INHERITED", "from-parent");
  loglin_test::EnvVar overridden("LOGLIN_TEST_OVERRIDDEN", "parent");
  std::vector<cli::RankProcess> ranks;
  for (int r = 0; r < 3; ++r)
    ranks.push_back(sh("echo \"$RANK $LOGLIN_TEST_INHERITED $LOGLIN_TEST_OVERRIDDEN\" > \"$OUT_DIR/rank_$RANK\"",
                       {{"RANK", std::to_string(r)}, {"OUT_DIR", dir.path.string()}, {"LOGLIN_TEST_OVERRIDDEN", "child"}}));
  cli::launch_and_wait(ranks);
  for (int r = 0; r < 3; ++r) {
    INFO("rank " << r);
    CHECK(read(dir.path / ("rank_" + std::to_string(r))) == std::to_string(r) + " from-parent child\n");
  }
}

TEST_CASE("launcher: a rank that fails stops the others and is named", "[train][launch]") {
  const auto t0 = Clock::now();
  const std::string msg = loglin_test::error_message([] {
    cli::launch_and_wait({sh("exec sleep 60"), sh("sleep 0.2; exit 3"), sh("exec sleep 60")});
  });
  CHECK(msg == "[launch] rank 1 exited with status 3; stopped the other ranks");
  CHECK(seconds_since(t0) < 10);  // the sleeping ranks were stopped, not waited for

  const std::string killed = loglin_test::error_message([] {
    cli::launch_and_wait({sh("sleep 0.1; kill -9 $$"), sh("exec sleep 60")});
  });
  CHECK(killed == "[launch] rank 0 was killed by signal 9 (SIGKILL); stopped the other ranks");
}

TEST_CASE("launcher: a rank that ignores SIGTERM gets SIGKILL after the grace period", "[train][launch]") {
  const auto t0 = Clock::now();
  cli::LaunchOptions opts;
  opts.grace_s = 0.5;
  const std::string msg = loglin_test::error_message([&] {
    cli::launch_and_wait({sh("trap '' TERM; while :; do sleep 0.05; done"), sh("sleep 0.1; exit 1")}, opts);
  });
  const double took = seconds_since(t0);
  CHECK(msg == "[launch] rank 1 exited with status 1; stopped the other ranks");
  CHECK(took >= 0.5);
  CHECK(took < 10);
}

TEST_CASE("launcher: a program that cannot start is named, and the ranks already started are stopped",
          "[train][launch]") {
  const auto t0 = Clock::now();
  const std::string msg = loglin_test::error_message([] {
    cli::launch_and_wait({sh("exec sleep 60"), {"/nonexistent/loglin", {"loglin"}, {}}});
  });
  CHECK(msg == "[launch] cannot start rank 1: /nonexistent/loglin: No such file or directory");
  CHECK(seconds_since(t0) < 10);
  CHECK(loglin_test::error_message([] { cli::launch_and_wait({}); }) == "[launch] no ranks to start");
}

TEST_CASE("launcher: SIGTERM sent to the launcher reaches every rank", "[train][launch]") {
  TempDir dir("launch_signal");
  const std::string d = dir.path.string();
  // Each rank says it is up, then waits; on SIGTERM it leaves a mark and exits.
  std::vector<cli::RankProcess> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(sh("trap 'echo term > \"$OUT_DIR/got_$RANK\"; exit 0' TERM; touch \"$OUT_DIR/up_$RANK\"; "
                       "while :; do sleep 0.05; done",
                       {{"RANK", std::to_string(r)}, {"OUT_DIR", d}}));
  std::thread signaller([&] {
    // Both ranks are running, so the launcher is waiting (its handler is in place).
    const auto t0 = Clock::now();
    while (!(fs::exists(dir.path / "up_0") && fs::exists(dir.path / "up_1")) && seconds_since(t0) < 20)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::kill(::getpid(), SIGTERM);
  });
  const std::string msg = loglin_test::error_message([&] { cli::launch_and_wait(ranks); });
  signaller.join();
  CHECK(msg == "[launch] interrupted by SIGTERM: passed it on to the 2 rank(s), which have stopped");
  CHECK(read(dir.path / "got_0") == "term\n");
  CHECK(read(dir.path / "got_1") == "term\n");
}

TEST_CASE("launcher: wait statuses in words", "[train][launch]") {
  CHECK(cli::describe_wait_status(0) == "exited with status 0");
  CHECK(cli::describe_wait_status(2 << 8) == "exited with status 2");
  CHECK(cli::describe_wait_status(SIGSEGV) == "was killed by signal 11 (SIGSEGV)");
}
