// `loglin plot SWEEP_DIR --x KEY [--lines KEY] [--y METRIC]`: a sweep as a
// PNG, from SWEEP_DIR/sweep.csv and sweep_settings.yaml (written by
// `loglin sweep`). Points are grouped as in summary.md, with --x and --lines
// added to the group keys: in each group and seed the best point over the
// remaining grid keys is chosen by the sweep's select metric, then METRIC is
// averaged over the seeds and drawn against KEY with the std as error bars,
// one line per value of --lines (and of any other group key that varies).
#pragma once
#include "train/cli/arg_parser.h"

namespace loglin::cli {

extern const char* const kSweepPlotHelp;

// args: the parsed `loglin plot` arguments (positional SWEEP_DIR, --x, --lines, --y, --output).
int sweep_plot(const Args& args);

}  // namespace loglin::cli
