// Runs independent jobs as child processes, N at a time: `loglin sweep`
// trains its points through this. Unlike launch_and_wait (launcher.h), whose
// ranks stand or fall together, a job that fails here is only reported; the
// others go on.
//
//   run_jobs("/proc/self/exe", {{{"loglin", "train", "a/config.yaml"}, {}, "a/train.log"}, ...}, 2,
//            [](const JobResult& r) { ... });
//
// Each child's stdout and stderr are appended to its log file, stdin is
// /dev/null. SIGINT and SIGTERM sent to this process stop new jobs from
// starting and are passed on to the running ones; run_jobs then waits for
// them and returns false. POSIX only (posix_spawn, waitpid).
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace loglin::cli {

struct Job {
  std::vector<std::string> argv;                         // argv[0] included
  std::vector<std::pair<std::string, std::string>> env;  // set on top of this process's environment
  std::filesystem::path log;                             // stdout and stderr go to its end
};

struct JobResult {
  size_t index = 0;  // into the jobs
  bool ok = false;   // exited with status 0
  int signal = 0;    // the signal that ended it; 0 when it exited (or never started)
  std::string how;   // "exited with status 1", "could not start: ..."
  double wall_s = 0;
};

// Runs jobs[0], jobs[1], ... keeping up to `parallel` running. Just before
// job i starts, prepare(i) is called (when given); if it returns false the
// job is left out. on_finish is called as each started job ends. Both run in
// this thread. Returns true when every job ran, false when a signal stopped
// the pool (jobs not started are left out). Should a callback throw, the
// pool starts nothing more, sends SIGTERM to the running jobs, waits for
// them and rethrows.
bool run_jobs(const std::string& program, const std::vector<Job>& jobs, int parallel,
              const std::function<void(const JobResult&)>& on_finish,
              const std::function<bool(size_t)>& prepare = nullptr);

}  // namespace loglin::cli
