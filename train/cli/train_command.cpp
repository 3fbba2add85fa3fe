// `loglin train CONFIG [--set a.b=c ...]`: trains from a YAML config.
#include <fmt/format.h>

#include <cstdio>

#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/trainer/trainer.h"

namespace loglin::cli {

namespace {
constexpr const char* kUsage = R"(usage: loglin train CONFIG [--set KEY=VALUE ...] [--resume]

Trains the model a YAML config describes (see configs/ and the README's
config reference). The config is validated in full before anything is
written. The run directory (logging.run_dir) receives config.yaml,
metrics.jsonl and checkpoints/.

  --set KEY=VALUE   override a config key, e.g. --set training.steps=200
  --resume          same as --set checkpoint.resume=true: continue from the
                    run directory's latest checkpoint
)";
}  // namespace

int train_command(const std::vector<std::string>& argv) {
  Args args("train", argv, {}, {"--resume"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::vector<std::string> sets = args.sets();
  if (args.has("--resume")) sets.push_back("checkpoint.resume=true");
  TrainConfig cfg = load_config(args.positional("CONFIG"), sets);
  Trainer trainer(cfg);
  TrainSummary s = trainer.run();
  fmt::print("\ntrained {} steps ({} tokens) in {}\n", s.steps, s.tokens, s.run_dir);
  if (s.final_eval.accuracy >= 0) {
    fmt::print("final: val loss {:.4f}, MQAR accuracy {:.2f}%\n", s.final_eval.loss, 100 * s.final_eval.accuracy);
  } else {
    fmt::print("final: val loss {:.4f}, perplexity {:.2f}, bits per byte {:.4f}\n", s.final_eval.loss,
               s.final_eval.perplexity, s.final_eval.bits_per_byte);
  }
  fmt::print("throughput: {:.0f} tokens/s\n", s.tokens_per_s);
  if (!s.sample.empty()) fmt::print("sample:\n{}\n", s.sample);
  return 0;
}

}  // namespace loglin::cli
