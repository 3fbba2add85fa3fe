// A sweep file (SWEEP.yaml), read and checked. Every error is a
// loglin::Error that starts with "[sweep]" and names the file and line:
//
//   base: mqar.yaml              # a config file (relative to this file) or an inline config mapping
//   grid:                        # config key -> non-empty list of values; the sweep is their product
//     model.arch: [mamba2, loglinear_mamba2]
//     optimizer.lr: [1e-3, 3e-3]
//   seeds: [0, 1, 2]             # training.seed of each point (default [0])
//   sweep_dir: runs/mqar         # where the points' run directories go (default: beside this file, named after it)
//   group_by: [model.arch]       # summary groups (default: every grid key but the tuned one)
//   select: {metric: val_accuracy, mode: max}   # how the best point is chosen (default val_loss, min;
//                                               # mode defaults to max for a metric named *accuracy*)
//   tune: optimizer.lr           # the key the best is taken over (default optimizer.lr)
//   linked:                      # keys that follow a grid key's value (optional)
//     model.d_model:             # a grid key
//       16: {model.head_dim: 8}  # each of its values -> config key -> value
//       32: {model.head_dim: 16}
//
// A grid is a product, so it cannot say "head_dim 8 with d_model 16 and 16
// with 32"; linked: can. Every value of the grid key needs an entry; an entry
// sets any config keys but grid keys, keys the sweep sets itself, and keys
// another linked grid key sets (entries of one grid key may set different
// keys: a key an entry leaves out keeps the base's value). Linked keys do not
// name the points or group the summary: they follow from the grid values.
//
// Paths in a sweep file are relative to the file. Whether each point makes a
// valid config is checked later, by resolve_points (sweep_plan.h).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "train/sweep/sweep_report.h"

namespace loglin::sweep {

// A config key set by linked: for one value of a grid key.
struct LinkedSet {
  std::string key;
  std::string value;  // as written
  std::string where;  // the line of the value
  bool operator==(const LinkedSet&) const = default;
};

// One grid key and its values, as written ("1e-3" stays "1e-3").
struct SweepAxis {
  std::string key;
  std::string where;                // "sweep.yaml:5", the key's line
  std::vector<std::string> values;
  std::vector<std::string> value_where;  // the line of each value
  // linked: per value (same order as values), the keys it sets; empty when
  // the key is not linked.
  std::vector<std::vector<LinkedSet>> linked;
};

struct SweepSpec {
  std::string path;         // the sweep file as given
  std::string base_text;    // the base config's YAML
  std::string base_source;  // what config errors call it: the base file, or the sweep file for an inline base
  std::vector<SweepAxis> grid;
  std::vector<int64_t> seeds{0};
  std::filesystem::path sweep_dir;
  SweepSettings settings;  // grid keys, group_by, tune, select
};

// Reads and checks a sweep file.
SweepSpec load_sweep(const std::string& path);
// The same on text; path names it in errors and anchors relative paths.
SweepSpec parse_sweep(const std::string& text, const std::string& path);

}  // namespace loglin::sweep
