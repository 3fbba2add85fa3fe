// `loglin sweep SWEEP.yaml [--parallel N] [--dry-run] [--only REGEX]`: trains
// every point of a grid of configs, each as a child `loglin train` in its
// own run directory, skipping finished points and resuming interrupted ones,
// and keeps sweep.csv and summary.md up to date as points finish.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "train/checkpoint/file_io.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/cli/process_pool.h"
#include "train/sweep/sweep_plan.h"
#include "train/sweep/sweep_report.h"

namespace loglin::cli {
namespace fs = std::filesystem;
using namespace loglin::sweep;

namespace {

constexpr const char* kUsage = R"(usage: loglin sweep SWEEP.yaml [--parallel N] [--dry-run] [--only REGEX]

Trains every point of a grid of configs, each in its own run directory, and
summarises them. SWEEP.yaml (paths in it are relative to it):

  base: mqar.yaml         # a config file, or an inline config mapping
  grid:                   # config key -> values; the points are their product
    model.arch: [mamba2, loglinear_mamba2]
    model.d_model: [16, 32]
    optimizer.lr: [1e-3, 3e-3]
  seeds: [0, 1]           # training.seed of each point (default [0])
  sweep_dir: runs/mqar    # default: beside the sweep file, named after it
  group_by: [model.arch, model.d_model]      # default: the grid keys but tune
  select: {metric: val_accuracy, mode: max}  # default val_loss, min (mode:
                          # max by default for a metric named *accuracy*)
  tune: optimizer.lr      # the key the best is taken over (the default)
  linked:                 # keys that follow a grid key's value (optional)
    model.d_model:        #   every value of this grid key gets an entry
      16: {model.head_dim: 8}
      32: {model.head_dim: 16}

Every point's config is validated before anything runs. Points run seed by
seed: the whole grid for the first seed, then the next. A point whose run
finished is skipped and one that was interrupted resumes from its latest
checkpoint, so running the sweep again continues it. Each point trains as
`loglin train DIR/config.yaml`, its output in DIR/train.log; a failed point
is reported at the end and the others go on. sweep_dir receives sweep.csv
(every point's grid values, seed, status, wall time and final metrics) and
summary.md (per group and seed the best point over the tuned key, then mean
and std over the seeds), rewritten as each point finishes. Several sweeps
of one file may run at once (say one per GPU, with CUDA_VISIBLE_DEVICES):
a point is locked while it trains, so they share the points out.

  --parallel N   train N points at once (default 1); without OMP_NUM_THREADS
                 set, each gets 1/N of the CPU cores
  --dry-run      list the points and which are done, then stop
  --only REGEX   train only the points whose names contain a match of REGEX

Draw a sweep with `loglin plot SWEEP_DIR --x KEY --lines KEY --y METRIC`.
)";

std::string now_text() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

// The line of a failed run's log that says why: its last "loglin: ..." error,
// else its last non-empty line.
std::string failure_line(const fs::path& log) {
  std::error_code ec;
  if (!fs::exists(log, ec)) return "";
  std::istringstream in(io::read_file(log));
  std::string last, error;
  for (std::string l; std::getline(in, l);) {
    if (l.empty() || l.rfind("===", 0) == 0) continue;
    last = l;
    if (l.rfind("loglin", 0) == 0) error = l;
  }
  std::string out = error.empty() ? last : error;
  return out.size() > 300 ? out.substr(0, 300) + "..." : out;
}

std::string metric_text(const std::vector<std::pair<std::string, double>>& metrics, const std::string& name) {
  for (const auto& [k, v] : metrics)
    if (k == name) return fmt::format("{} {:.4g}", k, v);
  return metrics.empty() ? "no metrics" : fmt::format("{} {:.4g}", metrics.front().first, metrics.front().second);
}

// An advisory lock (flock) on a point's run directory, held while this
// process trains the point: two sweeps started on the same file (one per
// GPU, say) then share the points instead of training one twice. The kernel
// releases it when this process ends, however it ends.
class PointLock {
 public:
  explicit PointLock(const fs::path& dir) {
    const fs::path path = dir / ".sweep.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    LOGLIN_CHECK(fd_ >= 0, "[sweep] cannot open {}: {}", path.string(), std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~PointLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  PointLock(const PointLock&) = delete;
  PointLock& operator=(const PointLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Whether another process holds the point's lock now.
bool trained_elsewhere(const Point& p) {
  std::error_code ec;
  return fs::is_directory(p.dir, ec) && !PointLock(p.dir).held();
}

PointResult result_of(const Point& p, const PointStatus& s) {
  PointResult r;
  r.name = p.name;
  r.values = p.values;
  r.seed = p.seed;
  r.wall_s = s.wall_s;
  switch (s.state) {
    case PointState::done: r.status = "done", r.metrics = s.final_metrics; break;
    case PointState::partial: r.status = s.failed_before ? "failed" : "partial"; break;
    case PointState::pending: r.status = s.failed_before ? "failed" : "pending"; break;
  }
  return r;
}

}  // namespace

int sweep_command(const std::vector<std::string>& argv) {
  Args args("sweep", argv, {"--parallel", "--only"}, {"--dry-run"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string file = args.positional("SWEEP.yaml");
  const int64_t parallel = args.get_int("--parallel", 1);
  LOGLIN_CHECK(parallel >= 1 && parallel <= 256, "[sweep] --parallel must be in [1, 256], got {}", parallel);
  std::optional<std::regex> only;
  if (args.has("--only")) {
    try {
      only.emplace(args.get("--only", ""));
    } catch (const std::regex_error& e) {
      LOGLIN_FAIL("[sweep] --only '{}' is not a valid regular expression: {}", args.get("--only", ""), e.what());
    }
  }

  // Check everything before anything runs: the file, every point's config,
  // and that no run directory holds a run of another config.
  const SweepSpec spec = load_sweep(file);
  const std::vector<Point> points = resolve_points(spec);
  std::vector<PointStatus> status;
  for (const Point& p : points) status.push_back(point_status(p));
  std::vector<size_t> todo;
  size_t selected = 0, done = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    done += status[i].state == PointState::done;
    if (only && !std::regex_search(points[i].name, *only)) continue;
    ++selected;
    if (status[i].state != PointState::done) todo.push_back(i);
  }
  LOGLIN_CHECK(selected > 0, "[sweep] --only '{}' matches none of the {} points (names look like {})",
               args.get("--only", ""), points.size(), points.front().name);

  fmt::print("sweep {}: {} points ({} grid point(s) x {} seed(s)) in {}\n", file, points.size(),
             points.size() / spec.seeds.size(), spec.seeds.size(), spec.sweep_dir.string());
  if (args.has("--dry-run")) {
    for (size_t i = 0; i < points.size(); ++i) {
      const PointStatus& st = status[i];
      std::vector<std::string> notes;
      if (st.state == PointState::partial) notes.push_back(st.words());
      if (st.state != PointState::done && trained_elsewhere(points[i]))
        notes.push_back("another loglin sweep is training it now");
      if (only && !std::regex_search(points[i].name, *only)) notes.push_back("not selected by --only");
      std::string note;
      for (const auto& n : notes) note += (note.empty() ? " (" : "; ") + n;
      const char* state = st.state == PointState::done ? "done"
                          : st.failed_before             ? "failed"
                          : st.state == PointState::partial ? "partial"
                                                            : "pending";
      fmt::print("  {:<8} {}{}\n", state, points[i].name, note.empty() ? "" : note + ")");
    }
    fmt::print("{} done, {} to train{}\n", done, todo.size(), only ? fmt::format(" (--only selects {})", selected) : "");
    return 0;
  }

  fs::create_directories(spec.sweep_dir);
  io::write_file_atomic(spec.sweep_dir / "sweep_settings.yaml", settings_yaml(spec.settings));
  const fs::path csv = spec.sweep_dir / "sweep.csv", summary = spec.sweep_dir / "summary.md";
  // From the run directories, so that points other sweeps train count too.
  auto write_reports = [&] {
    std::vector<PointResult> rows;
    for (const Point& p : points) rows.push_back(result_of(p, point_status(p)));
    io::write_file_atomic(csv, sweep_csv(spec.settings, rows));
    io::write_file_atomic(summary, summary_markdown(file, spec.settings, rows));
  };
  if (todo.empty()) {
    write_reports();
    fmt::print("all {} point(s) are done; nothing to train\nwrote {} and {}\n", selected, csv.string(),
               summary.string());
    return 0;
  }

  // Each point trains as `loglin train DIR/config.yaml`, from its own resolved config.
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<Job> jobs;
  for (size_t i : todo) {
    Job job;
    job.argv = {"loglin", "train", (points[i].dir / "config.yaml").string()};
    if (parallel > 1 && !(omp && *omp))
      job.env.emplace_back("OMP_NUM_THREADS", std::to_string(std::max<int64_t>(1, cores / parallel)));
    job.log = points[i].dir / "train.log";
    jobs.push_back(std::move(job));
  }
  fmt::print("{} done, {} to train{}\n", done, todo.size(),
             parallel > 1 ? fmt::format(", {} at a time", parallel) : std::string());
  std::fflush(stdout);

  size_t finished = 0, trained = 0, elsewhere = 0;
  std::vector<std::string> failures;
  std::map<size_t, std::unique_ptr<PointLock>> locks;  // job -> the lock held while it trains
  auto head = [&](size_t job) { return fmt::format("[{}/{}] {}", ++finished, todo.size(), points[todo[job]].name); };

  // Just before a point starts: take its lock, look again (another sweep may
  // have trained it meanwhile), then write its config.
  auto prepare = [&](size_t j) {
    const size_t i = todo[j];
    const Point& p = points[i];
    fs::create_directories(p.dir);
    auto lock = std::make_unique<PointLock>(p.dir);
    if (!lock->held()) {
      ++elsewhere;
      fmt::print("{} skipped: another loglin sweep is training it\n", head(j));
      return false;
    }
    status[i] = point_status(p);
    if (status[i].state == PointState::done) {
      ++elsewhere;
      fmt::print("{} skipped: done meanwhile (by another loglin sweep)\n", head(j));
      return false;
    }
    io::write_file_atomic(p.dir / "config.yaml", to_yaml(p.config));
    // No checkpoint yet: the run starts over, and must not append to the
    // metrics an earlier attempt left.
    if (status[i].checkpoint_step == 0) fs::remove(p.dir / "metrics.jsonl");
    std::ofstream(jobs[j].log, std::ios::app)
        << fmt::format("=== loglin sweep {}, {}: {} ===\n", file, now_text(),
                       status[i].checkpoint_step > 0
                           ? fmt::format("resuming from step {} of {}", status[i].checkpoint_step, status[i].total_steps)
                           : fmt::format("training {} steps from the start", status[i].total_steps));
    locks[j] = std::move(lock);
    return true;
  };

  auto on_finish = [&](const JobResult& r) {
    const size_t i = todo[r.index];
    const Point& p = points[i];
    const PointStatus s = point_status(p);
    const double wall = (std::isnan(status[i].wall_s) ? 0.0 : status[i].wall_s) + r.wall_s;
    std::string outcome;
    if (r.ok && s.state == PointState::done) {
      outcome = "done";
      ++trained;
      fmt::print("{} done in {:.0f} s: {}\n", head(r.index), r.wall_s,
                 metric_text(s.final_metrics, spec.settings.metric));
    } else if (r.signal == SIGINT || r.signal == SIGTERM) {
      outcome = "interrupted";
      fmt::print("{} interrupted after {:.0f} s\n", head(r.index), r.wall_s);
    } else {
      outcome = r.ok ? fmt::format("ended without the eval of step {} in metrics.jsonl", s.total_steps) : r.how;
      const std::string why = failure_line(p.dir / "train.log");
      failures.push_back(p.name);
      fmt::print("{} FAILED after {:.0f} s ({}){}; log: {}\n", head(r.index), r.wall_s, outcome,
                 why.empty() ? "" : ": " + why, (p.dir / "train.log").string());
    }
    std::fflush(stdout);
    write_point_record(p, wall, outcome);
    locks.erase(r.index);
    write_reports();
  };

  const bool complete = run_jobs("/proc/self/exe", jobs, static_cast<int>(parallel), on_finish, prepare);
  write_reports();
  fmt::print("wrote {} and {}{}\n", csv.string(), summary.string(),
             elsewhere ? fmt::format(" ({} point(s) left to another loglin sweep)", elsewhere) : "");
  LOGLIN_CHECK(complete, "[sweep] interrupted: {} of the {} point(s) to train finished; run the sweep again to "
                         "continue (interrupted points resume from their latest checkpoint)", trained,
               todo.size());
  if (!failures.empty()) {
    std::string list;
    for (size_t i = 0; i < failures.size() && i < 3; ++i) list += (i ? ", " : "") + failures[i];
    if (failures.size() > 3) list += fmt::format(" and {} more", failures.size() - 3);
    LOGLIN_FAIL("[sweep] {} of {} point(s) failed: {} (see train.log in each; running the sweep again retries them)",
                failures.size(), todo.size(), list);
  }
  return 0;
}

}  // namespace loglin::cli
