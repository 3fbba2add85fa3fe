// Runs a group of processes (one per rank) and stands or falls with them:
// `loglin train CONFIG --gpus N` starts its N ranks through this.
//
//   cli::launch_and_wait({{"/proc/self/exe", {"loglin", "train", "c.yaml"}, {{"RANK", "0"}, ...}},
//                         {"/proc/self/exe", {"loglin", "train", "c.yaml"}, {{"RANK", "1"}, ...}}});
//
// One failing rank fails the group: the others would wait for it in their
// next collective for ever, so they get SIGTERM (then SIGKILL after
// grace_s) and the error names the rank that failed and how. SIGINT and
// SIGTERM sent to this process are passed on to every rank still running
// (a rank on a terminal also gets the terminal's SIGINT itself, since the
// ranks stay in this process's process group; `kill PID` or a batch system
// signals this process alone).
//
// POSIX only (fork, execve, waitpid). The children inherit stdin, stdout and
// stderr: what a rank prints appears as it prints it.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace loglin::cli {

struct RankProcess {
  std::string program;                                   // what is executed, e.g. /proc/self/exe
  std::vector<std::string> argv;                         // argv[0] included
  std::vector<std::pair<std::string, std::string>> env;  // set on top of this process's environment
};

struct LaunchOptions {
  double grace_s = 10;    // after SIGTERM, how long a rank may take to exit before SIGKILL
  double poll_s = 0.02;   // how often the children are looked at
};

// Starts every process, in rank order, and returns when all exited with
// status 0. Throws loglin::Error ("[launch] ...") after every child is gone
// when one could not be started, when one exited non-zero or was killed by
// a signal (the first one seen is named), or when this process was
// interrupted by SIGINT or SIGTERM.
void launch_and_wait(const std::vector<RankProcess>& ranks, const LaunchOptions& options = {});

// A waitpid() status in words: "exited with status 3", "was killed by signal 9 (SIGKILL)".
std::string describe_wait_status(int status);

}  // namespace loglin::cli
