// `loglin eval CHECKPOINT [--batches N]`: validation loss, perplexity and
// bits per byte (MQAR: accuracy, per test setting and their mean) of a saved model.
#include <fmt/format.h>

#include <cstdio>

#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/trainer/precision.h"
#include "train/trainer/saved_run.h"
#include "train/trainer/train_data.h"
#include "train/trainer/trainer.h"

namespace loglin::cli {

int eval_command(const std::vector<std::string>& argv) {
  Args args("eval", argv, {"--batches"});
  if (args.help()) {
    std::fputs(R"(usage: loglin eval CHECKPOINT [--batches N]

Evaluates a checkpoint (a step_NNNNNN directory, or a run directory: its
latest checkpoint) on the validation split of the data it was trained on.

  --batches N   evaluate the first N validation batches (default: all; the
                MQAR test settings take turns, batch by batch)
)", stdout);
    return 0;
  }
  SavedRun run = open_saved_run(args.positional("CHECKPOINT"));
  TrainData data(run.config.data, [](const std::string& s) { fmt::print(stderr, "{}\n", s); });
  EvalResult e;
  {
    const bool cuda = run.model->device().is_cuda();
    PrecisionScope precision(run.config.training.precision == "bf16-mixed" && cuda);
    const Tf32Scope tf32(run.config.training.precision == "tf32" && cuda);
    e = evaluate(*run.model, data, args.get_int("--batches", 0));
  }
  fmt::print("checkpoint: {} (step {})\n", run.checkpoint.path.string(), run.checkpoint.step);
  fmt::print("targets:    {}\n", e.targets);
  fmt::print("val loss:   {:.4f}\n", e.loss);
  if (e.accuracy >= 0) {
    const size_t settings = data.accuracy_groups().size();
    if (settings > 1) {  // a Zoology-style test list: their mean, then each setting reached
      if (e.accuracy_by_task.size() < settings)
        fmt::print("accuracy:   {:.2f}% (mean of the {} of {} test settings that --batches {} reaches)\n",
                   100 * e.accuracy, e.accuracy_by_task.size(), settings, args.get_int("--batches", 0));
      else
        fmt::print("accuracy:   {:.2f}% (mean of {} test settings, seq_len x pairs below)\n", 100 * e.accuracy,
                   settings);
      for (const auto& [task, a] : e.accuracy_by_task) fmt::print("  {:<9} {:.2f}%\n", task + ":", 100 * a);
    } else {
      fmt::print("accuracy:   {:.2f}%\n", 100 * e.accuracy);
    }
  } else {
    fmt::print("perplexity: {:.3f}\nbits/byte:  {:.4f}\n", e.perplexity, e.bits_per_byte);
  }
  return 0;
}

}  // namespace loglin::cli
