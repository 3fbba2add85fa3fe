// What a sweep reports: sweep.csv (one row per point: its grid values, seed,
// status, wall time and the final metrics of its run) and summary.md (per
// group: the best point over the tuned key for each seed, then mean and std
// over the seeds). Pure functions of the rows, so tests feed them synthetic
// metrics and `loglin plot` re-reads the CSV.
//
//   SweepSettings s{{"model.arch", "optimizer.lr"}, {"model.arch"}, "optimizer.lr", "val_loss", false};
//   auto groups = summarize(s, rows);   // one GroupSummary per model.arch
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loglin::sweep {

// How points are grouped and chosen (from the sweep file; written beside the
// results as sweep_settings.yaml so `loglin plot` chooses the same way).
struct SweepSettings {
  std::vector<std::string> grid_keys;  // in file order
  std::vector<std::string> group_by;   // a subset of grid_keys
  std::string tune = "optimizer.lr";   // the key the best is taken over
  std::string metric = "val_loss";     // the select metric
  bool maximize = false;               // mode: max (true) or min
  bool operator==(const SweepSettings&) const = default;
};

// One point of the sweep as the reports see it.
struct PointResult {
  std::string name;                 // its run directory's name
  std::vector<std::string> values;  // one per grid key, as written in the sweep file
  int64_t seed = 0;
  std::string status = "pending";   // done | failed | partial (trained in part) | pending
  double wall_s = NAN;              // training wall time over all attempts; NaN = unknown
  std::vector<std::pair<std::string, double>> metrics;  // the final eval's fields; NaN for null
  double metric(const std::string& name) const;         // NaN when absent
};

// sweep.csv: point, <grid keys>, seed, status, wall_s, <every metric any row
// has, in order of first appearance>. Fields with commas or quotes are quoted.
std::string sweep_csv(const SweepSettings& settings, const std::vector<PointResult>& rows);
// Reads sweep_csv's output back (source names the file in errors).
std::vector<PointResult> parse_sweep_csv(const std::string& text, const SweepSettings& settings,
                                         const std::string& source);

// One group: the values of its group_by keys and, over its seeds, the mean
// and std of each metric at the point chosen for that seed.
struct GroupSummary {
  std::vector<std::string> group;   // one per group_by key
  int points = 0, points_done = 0;  // of this group, over every seed
  std::vector<int64_t> seeds;       // the seeds with a chosen point, in order
  std::vector<std::string> chosen;  // per seed: the chosen point's values of the keys not grouped by
  std::vector<std::string> metrics;  // the select metric first, then the others ("tokens" left out)
  std::vector<double> mean, std;     // per metric; std is the sample std (n - 1), 0 for one seed
  int seed_count() const { return static_cast<int>(seeds.size()); }
};

// Groups the rows by settings.group_by (groups in order of first appearance);
// in each (group, seed) takes the done row with the best select metric
// (NaN loses to any number; ties go to the first row), then averages over
// the seeds.
std::vector<GroupSummary> summarize(const SweepSettings& settings, const std::vector<PointResult>& rows);

// summary.md: a heading, how the table was made and the table itself.
std::string summary_markdown(const std::string& title, const SweepSettings& settings,
                             const std::vector<PointResult>& rows);

// sweep_settings.yaml and back (yaml-cpp; errors name source and line).
std::string settings_yaml(const SweepSettings& settings);
SweepSettings parse_settings(const std::string& text, const std::string& source);

}  // namespace loglin::sweep
