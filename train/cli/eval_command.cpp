// `loglin eval CHECKPOINT [--batches N] [--position-buckets K]`: validation
// loss, perplexity and bits per byte (MQAR: accuracy, per test setting and
// their mean) of a saved model, and optionally the loss by position bucket.
#include <fmt/format.h>

#include <cstdio>

#include "core/error.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/trainer/precision.h"
#include "train/trainer/saved_run.h"
#include "train/trainer/train_data.h"
#include "train/trainer/trainer.h"

namespace loglin::cli {

int eval_command(const std::vector<std::string>& argv) {
  Args args("eval", argv, {"--batches", "--position-buckets"});
  if (args.help()) {
    std::fputs(R"(usage: loglin eval CHECKPOINT [--batches N] [--position-buckets K]

Evaluates a checkpoint (a step_NNNNNN directory, or a run directory: its
latest checkpoint) on the validation split of the data it was trained on.

  --batches N            evaluate the first N validation batches (default:
                         all; the MQAR test settings take turns, batch by batch)
  --position-buckets K   also the mean loss in K equal buckets of the positions
                         of a sequence (default: the run's
                         training.eval_position_buckets; 0 = off)
)", stdout);
    return 0;
  }
  SavedRun run = open_saved_run(args.positional("CHECKPOINT"));
  TrainData data(run.config.data, [](const std::string& s) { fmt::print(stderr, "{}\n", s); });
  const int64_t buckets = args.get_int("--position-buckets", run.config.training.eval_position_buckets);
  LOGLIN_CHECK(buckets >= 0 && buckets <= data.longest_seq_len(),
               "[eval] --position-buckets must be in [0, {}] (the positions of a sequence), got {}",
               data.longest_seq_len(), buckets);
  EvalResult e;
  {
    const bool cuda = run.model->device().is_cuda();
    PrecisionScope precision(run.config.training.precision == "bf16-mixed" && cuda);
    const Tf32Scope tf32(run.config.training.precision == "tf32" && cuda);
    e = evaluate(*run.model, data, args.get_int("--batches", 0), buckets);
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
  if (!e.loss_by_position.empty()) {
    fmt::print("val loss by position ({} buckets; key val_loss/pos_A-B):\n", e.loss_by_position.size());
    for (size_t k = 0; k < e.loss_by_position.size(); ++k) {
      const auto& [range, l] = e.loss_by_position[k];
      if (e.targets_by_position[k] == 0)
        fmt::print("  pos_{:<12} -       (no targets)\n", range);
      else
        fmt::print("  pos_{:<12} {:.4f}  ({} targets)\n", range, l, e.targets_by_position[k]);
    }
  }
  return 0;
}

}  // namespace loglin::cli
