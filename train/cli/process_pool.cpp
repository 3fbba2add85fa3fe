#include "train/cli/process_pool.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <set>
#include <thread>

#include "core/error.h"
#include "train/cli/launcher.h"

extern char** environ;

namespace loglin::cli {
namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

// Catches SIGINT and SIGTERM while the pool runs (unless they are ignored,
// as in a background job of a non-interactive shell; then they stay so).
class SignalCatcher {
 public:
  SignalCatcher() {
    g_signal = 0;
    for (int i = 0; i < 2; ++i) {
      sigaction(kSignals[i], nullptr, &old_[i]);
      if (old_[i].sa_handler == SIG_IGN) continue;
      struct sigaction now {};
      now.sa_handler = on_signal;
      sigemptyset(&now.sa_mask);
      sigaction(kSignals[i], &now, nullptr);
      caught_[i] = true;
    }
  }
  ~SignalCatcher() {
    for (int i = 0; i < 2; ++i)
      if (caught_[i]) sigaction(kSignals[i], &old_[i], nullptr);
  }
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;

 private:
  static constexpr int kSignals[2] = {SIGINT, SIGTERM};
  struct sigaction old_[2] {};
  bool caught_[2] = {false, false};
};

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// posix_spawn with the log as stdout and stderr. Returns the pid, or -1 with
// `error` set (posix_spawn reports a failed open or exec as its result).
pid_t spawn(const std::string& program, const Job& job, std::string& error) {
  std::vector<std::string> argv = job.argv, envs;
  std::set<std::string> overridden;
  for (const auto& [k, v] : job.env) overridden.insert(k);
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    if (!overridden.count(kv.substr(0, kv.find('=')))) envs.push_back(kv);
  }
  for (const auto& [k, v] : job.env) envs.push_back(k + "=" + v);
  std::vector<char*> c_argv = c_strings(argv), c_env = c_strings(envs);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, job.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    error = fmt::format("could not start {}: {}", program, std::strerror(rc));
    return -1;
  }
  return pid;
}

struct Running {
  size_t index;
  pid_t pid;
  Clock::time_point start;
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

bool run_jobs(const std::string& program, const std::vector<Job>& jobs, int parallel,
              const std::function<void(const JobResult&)>& on_finish, const std::function<bool(size_t)>& prepare) {
  LOGLIN_CHECK(parallel >= 1, "[sweep] --parallel must be at least 1, got {}", parallel);
  SignalCatcher catcher;
  int interrupted = 0;
  std::exception_ptr callback_error;  // on_finish threw: stop everything, then rethrow
  auto guarded = [&](const auto& callback) {
    if (callback_error) return false;
    try {
      return callback();
    } catch (...) {
      callback_error = std::current_exception();
      g_signal = SIGTERM;  // handled like a SIGTERM sent to this process
      return false;
    }
  };
  auto finished = [&](const JobResult& r) { guarded([&] { return on_finish(r), true; }); };
  std::vector<Running> running;
  size_t next = 0;
  while (next < jobs.size() || !running.empty()) {
    if (const int sig = g_signal) {  // pass every signal on, so a second Ctrl-C reaches the jobs too
      g_signal = 0;
      interrupted = sig;
      for (const Running& r : running) ::kill(r.pid, sig);
    }
    while (!interrupted && !g_signal && next < jobs.size() && running.size() < static_cast<size_t>(parallel)) {
      const size_t i = next++;
      if (prepare && !guarded([&] { return prepare(i); })) continue;
      const Job& job = jobs[i];
      std::string error;
      const auto start = Clock::now();
      const pid_t pid = spawn(program, job, error);
      if (pid < 0) finished(JobResult{i, false, 0, error, 0});
      else running.push_back({i, pid, start});
    }
    bool reaped = false;
    for (size_t r = 0; r < running.size();) {
      int status = 0;
      const pid_t got = ::waitpid(running[r].pid, &status, WNOHANG);
      if (got == 0 || (got < 0 && errno == EINTR)) {
        ++r;
        continue;
      }
      JobResult res{running[r].index, got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                    got > 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                    got > 0 ? describe_wait_status(status) : fmt::format("was lost: {}", std::strerror(errno)),
                    seconds_since(running[r].start)};
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(r));
      finished(res);
      reaped = true;
    }
    if (!reaped && !running.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (callback_error) std::rethrow_exception(callback_error);
  return interrupted == 0;
}

}  // namespace loglin::cli
