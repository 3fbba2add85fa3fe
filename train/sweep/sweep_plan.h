// From a checked sweep file to its points: the grid's cartesian product
// times the seeds, each with a readable name, a validated config and a run
// directory, and where each stands on disk (done, partly trained, pending).
//
//   SweepSpec spec = load_sweep("sweeps/mqar.yaml");
//   std::vector<Point> points = resolve_points(spec);  // throws before anything runs
//   PointStatus s = point_status(points[0]);          // done? resume from which step?
//
// Order: seed by seed (the whole grid for the first seed, then the next, so
// an interrupted sweep has whole tables early); within a seed the first grid
// key varies slowest and the last fastest, as in the file.
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "train/config/config.h"
#include "train/sweep/sweep_file.h"

namespace loglin::sweep {

struct Point {
  std::string name;                 // "model.arch=mamba2,optimizer.lr=1e-3,seed=0" (sanitized)
  std::vector<size_t> value_index;  // which value of each grid axis
  std::vector<std::string> values;  // those values, as written
  int64_t seed = 0;
  TrainConfig config;               // resolved and validated; logging.run_dir = dir, checkpoint.resume on
  std::filesystem::path dir;        // sweep_dir / name
};

// The points' grid values and seeds in sweep order, with names; no configs yet.
std::vector<Point> expand_grid(const SweepSpec& spec);

// "key=value,...,seed=N", reduced to [A-Za-z0-9._,=+-] (others become '_');
// a name longer than 120 characters is cut and ends in '~' and 8 hex digits
// of a hash of the whole name, so it stays unique.
std::string point_name(const std::vector<std::string>& keys, const std::vector<std::string>& values, int64_t seed);

// expand_grid, then every point's config: the base with the point's values,
// the keys linked to them, its seed and its run directory applied as --set
// overrides and validated.
// Throws on the first bad point, naming the sweep file's line of the value
// at fault where the config error points at one, and when two points would
// train the same config (1e-3 and 0.001) or get the same name.
std::vector<Point> resolve_points(const SweepSpec& spec);

// The steps a config trains in all (training.steps, or max_tokens rounded up
// to whole steps), as the trainer counts them.
int64_t total_steps(const TrainConfig& config);

enum class PointState { pending, partial, done };

struct PointStatus {
  PointState state = PointState::pending;
  int64_t checkpoint_step = 0;  // the latest complete checkpoint's step (0: none)
  int64_t total_steps = 0;
  // done: the last eval's fields, NaN for null; without those the trainer marks as not
  // applying (val_accuracy -1 on text data, val_bpb 0 on MQAR).
  std::vector<std::pair<std::string, double>> final_metrics;
  double wall_s = NAN;          // training wall time of earlier attempts (sweep_point.json); NaN = unknown
  bool failed_before = false;   // the last attempt failed
  std::string words() const;    // "done", "resume from step 300 of 1000", "no checkpoint yet, starts over", "pending"
};

// Where a point stands, from its run directory: done when metrics.jsonl holds
// the eval of the last step. Throws when the directory holds a run of a
// different config (the sweep file or its base changed), saying what differs.
PointStatus point_status(const Point& point);

// sweep_point.json in the run directory: the sweep's own record of the point.
// outcome: "done", "interrupted" or why it failed ("exited with status 1").
void write_point_record(const Point& point, double wall_s, const std::string& outcome);

}  // namespace loglin::sweep
