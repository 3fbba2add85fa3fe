// `loglin generate CHECKPOINT --prompt TEXT --tokens N [--temperature T]
// [--top-k K] [--seed S]`: samples text from a saved model.
#include <fmt/format.h>

#include <cstdio>

#include "nn/models/generate.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/tokenizer/tokenizer.h"
#include "train/trainer/saved_run.h"

namespace loglin::cli {

int generate_command(const std::vector<std::string>& argv) {
  Args args("generate", argv, {"--prompt", "--tokens", "--temperature", "--top-k", "--seed"});
  if (args.help()) {
    std::fputs(R"(usage: loglin generate CHECKPOINT [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--seed S]

Samples a continuation of the prompt from a checkpoint (a step_NNNNNN
directory, or a run directory: its latest checkpoint), decoding one token at
a time through the model's recurrent state (or KV cache).

  --prompt TEXT      text to continue (default "The")
  --tokens N         how many tokens to sample (default 200)
  --temperature T    softmax temperature; 0 = greedy (default 0.8)
  --top-k K          sample among the K likeliest tokens; 0 = all (default 40)
  --seed S           sampling seed (default 0)
)", stdout);
    return 0;
  }
  SavedRun run = open_saved_run(args.positional("CHECKPOINT"));
  LOGLIN_CHECK(run.config.data.dataset != "mqar", "[generate] this checkpoint was trained on MQAR, which has no text");
  auto tok = make_tokenizer(run.config.data.tokenizer, run.config.data.tokenizer_path);
  std::string prompt = args.get("--prompt", "The");
  std::vector<int32_t> ids = tok->encode(prompt);
  LOGLIN_CHECK(!ids.empty(), "[generate] the prompt is empty");
  nn::SamplingOptions so;
  so.temperature = args.get_double("--temperature", 0.8);
  so.top_k = args.get_int("--top-k", 40);
  int64_t n = args.get_int("--tokens", 200);
  LOGLIN_CHECK(n >= 0, "[generate] --tokens must be >= 0, got {}", n);
  Generator gen(static_cast<uint64_t>(args.get_int("--seed", 0)));
  std::vector<int32_t> out = nn::generate(*run.model, ids, n, so, gen);
  fmt::print("{}{}\n", prompt, tok->decode(out));
  return 0;
}

}  // namespace loglin::cli
