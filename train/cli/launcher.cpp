#include "train/cli/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <thread>

#include "core/error.h"

extern char** environ;

namespace loglin::cli {

namespace {

using Clock = std::chrono::steady_clock;

const char* signal_name(int sig) {
  switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGPIPE: return "SIGPIPE";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
  }
}

// The signal this process received while it waits (0: none). A handler may
// only touch a volatile sig_atomic_t.
volatile sig_atomic_t g_received = 0;
void on_signal(int sig) { g_received = sig; }

constexpr int kForwarded[] = {SIGINT, SIGTERM};

// Catches SIGINT and SIGTERM for its lifetime (unless they were ignored, as
// for a background job of a non-interactive shell: then they stay ignored,
// in the ranks too).
class SignalCatcher {
 public:
  SignalCatcher() {
    g_received = 0;
    for (size_t i = 0; i < std::size(kForwarded); ++i) {
      struct sigaction now {};
      sigaction(kForwarded[i], nullptr, &old_[i]);
      if (old_[i].sa_handler == SIG_IGN) continue;
      now.sa_handler = on_signal;
      sigemptyset(&now.sa_mask);
      sigaction(kForwarded[i], &now, nullptr);
      caught_[i] = true;
    }
  }
  ~SignalCatcher() {
    for (size_t i = 0; i < std::size(kForwarded); ++i)
      if (caught_[i]) sigaction(kForwarded[i], &old_[i], nullptr);
  }
  bool caught(size_t i) const { return caught_[i]; }
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;

 private:
  struct sigaction old_[std::size(kForwarded)] {};
  bool caught_[std::size(kForwarded)] = {false, false};
};

// Blocks SIGINT and SIGTERM on this thread for its lifetime: a signal that
// arrives while a child is between fork and exec then waits for the parent's
// handler instead of running it inside the child.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kForwarded) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  const sigset_t& old() const { return old_; }

 private:
  sigset_t old_;
};

// NAME=VALUE strings: this process's environment with `env` set on top.
std::vector<std::string> child_environment(const std::vector<std::pair<std::string, std::string>>& env) {
  std::set<std::string> overridden;
  for (const auto& [k, v] : env) overridden.insert(k);
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (overridden.count(kv.substr(0, eq))) continue;
    out.push_back(kv);
  }
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct Child {
  pid_t pid = -1;
  bool running = false;
};

// fork + execve. Returns the pid, or throws when the program cannot be
// executed (the child reports execve's errno through a close-on-exec pipe:
// if exec works the pipe closes with nothing in it).
pid_t start(const RankProcess& p, size_t rank, const SignalCatcher& catcher) {
  LOGLIN_CHECK(!p.argv.empty(), "[launch] rank {}: an empty argument list", rank);
  std::vector<std::string> argv = p.argv, envs = child_environment(p.env);
  std::vector<char*> c_argv = c_strings(argv), c_env = c_strings(envs);
  int fds[2];
  LOGLIN_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "[launch] pipe: {}", std::strerror(errno));
  SignalBlock block;
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child: only async-signal-safe calls until execve.
    ::close(fds[0]);
    for (size_t i = 0; i < std::size(kForwarded); ++i) {
      if (!catcher.caught(i)) continue;
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      sigemptyset(&dfl.sa_mask);
      sigaction(kForwarded[i], &dfl, nullptr);
    }
    pthread_sigmask(SIG_SETMASK, &block.old(), nullptr);
    ::execve(p.program.c_str(), c_argv.data(), c_env.data());
    const int err = errno;
    (void)!::write(fds[1], &err, sizeof err);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    LOGLIN_FAIL("[launch] cannot start rank {}: fork failed: {}", rank, std::strerror(fork_errno));
  }
  int exec_errno = 0;
  ssize_t n;
  do n = ::read(fds[0], &exec_errno, sizeof exec_errno);
  while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    LOGLIN_FAIL("[launch] cannot start rank {}: {}: {}", rank, p.program, std::strerror(exec_errno));
  }
  return pid;
}

void signal_all(std::vector<Child>& children, int sig) {
  for (const Child& c : children)
    if (c.running) ::kill(c.pid, sig);
}

}  // namespace

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), signal_name(WTERMSIG(status)));
  return fmt::format("ended with wait status {}", status);
}

void launch_and_wait(const std::vector<RankProcess>& ranks, const LaunchOptions& options) {
  LOGLIN_CHECK(!ranks.empty(), "[launch] no ranks to start");
  SignalCatcher catcher;
  std::vector<Child> children(ranks.size());
  std::string failure;  // the first rank that failed, in words
  int interrupted = 0;  // the first signal this process received
  std::optional<Clock::time_point> kill_at;  // when a stop was asked: SIGKILL for ranks still running then

  auto stop_all = [&](int sig) {
    signal_all(children, sig);
    if (!kill_at) kill_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(options.grace_s));
  };

  for (size_t r = 0; r < ranks.size(); ++r) {
    try {
      children[r].pid = start(ranks[r], r, catcher);
      children[r].running = true;
    } catch (const Error& e) {
      failure = e.what();
      stop_all(SIGTERM);
      break;
    }
  }

  auto any_running = [&] {
    for (const Child& c : children)
      if (c.running) return true;
    return false;
  };
  while (any_running()) {
    if (const int sig = g_received) {
      g_received = 0;
      if (!interrupted) interrupted = sig;
      stop_all(sig);  // every signal is passed on, so a second Ctrl-C reaches the ranks too
    }
    for (size_t r = 0; r < children.size(); ++r) {
      Child& c = children[r];
      if (!c.running) continue;
      int status = 0;
      const pid_t got = ::waitpid(c.pid, &status, WNOHANG);
      if (got == 0 || (got < 0 && errno == EINTR)) continue;
      c.running = false;
      if (got < 0) {
        if (failure.empty()) failure = fmt::format("[launch] lost rank {} (pid {}): {}", r, c.pid, std::strerror(errno));
        stop_all(SIGTERM);
        continue;
      }
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && failure.empty() && !interrupted) {
        failure = fmt::format("[launch] rank {} {}; stopped the other ranks", r, describe_wait_status(status));
        stop_all(SIGTERM);
      }
    }
    if (kill_at && Clock::now() >= *kill_at) signal_all(children, SIGKILL);
    if (any_running()) std::this_thread::sleep_for(std::chrono::duration<double>(options.poll_s));
  }
  if (interrupted)
    LOGLIN_FAIL("[launch] interrupted by {}: passed it on to the {} rank(s), which have stopped", signal_name(interrupted),
                ranks.size());
  if (!failure.empty()) LOGLIN_FAIL("{}", failure);
}

}  // namespace loglin::cli
