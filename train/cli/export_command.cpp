// `loglin export RUN_OR_CHECKPOINT --hf OUT_DIR [--layout hf|loglin]
// [--logits-check FILE [--check-length T]]`: a saved model in its public
// twin's Hugging Face layout (train/hf/), or loglin's own.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/hf/hf_export.h"
#include "train/hf/logits_check.h"
#include "train/tokenizer/tokenizer.h"
#include "train/trainer/saved_run.h"

namespace loglin::cli {

int export_command(const std::vector<std::string>& argv) {
  Args args("export", argv, {"--hf", "--layout", "--logits-check", "--check-length"});
  if (args.help()) {
    std::fputs(R"(usage: loglin export RUN_OR_CHECKPOINT --hf OUT_DIR [--layout hf|loglin] [--logits-check FILE] [--check-length T]

Writes a checkpoint (a step_NNNNNN directory, or a run directory: its latest
checkpoint) as a Hugging Face model directory: config.json,
model.safetensors (f32) and loglin_tokenizer.txt (the run's tokenizer, in
loglin's format; none for MQAR). The parameters take the names and layout
of the architecture's public twin:

  transformer       LlamaForCausalLM (transformers)
  mamba2            Mamba2ForCausalLM (fla), models with model.mlp: false
  loglinear_mamba2  LogLinearMamba2ForCausalLM (fla), MLP width as fla's
  gated_deltanet    GatedDeltaNetForCausalLM (fla)

A model without an exact twin (loglinear_gated_deltanet; the cases the
README lists) is refused unless --layout loglin writes loglin's own layout
(model_type "loglin", loglin's parameter names). OUT_DIR must not exist or
be empty; it is written under a temporary name and renamed at the end.

  --layout hf|loglin    hf (default): the twin's layout; loglin: loglin's own
  --logits-check FILE   also write FILE (safetensors): 2 x T token ids and the
                        logits this model gives them, for
                        scripts/hf_logits_check.py
  --check-length T      tokens per row in that file (default min(128,
                        model.max_seq_len))
)", stdout);
    return 0;
  }
  LOGLIN_CHECK(args.has("--hf"), "[export] --hf OUT_DIR is required (the only output format)");
  const hf::ExportLayout layout = hf::parse_export_layout(args.get("--layout", "hf"));
  SavedRun run = open_saved_run(args.positional("RUN_OR_CHECKPOINT"));
  const int64_t vocab = run.model->options.vocab_size();
  const int64_t length = args.get_int("--check-length", std::min<int64_t>(128, run.config.model.max_seq_len));
  LOGLIN_CHECK(length >= 1 && length <= run.config.model.max_seq_len,
               "[export] --check-length must be in [1, {}] (model.max_seq_len), got {}", run.config.model.max_seq_len,
               length);
  std::unique_ptr<Tokenizer> tok;
  if (run.config.data.dataset != "mqar") tok = make_tokenizer(run.config.data.tokenizer, run.config.data.tokenizer_path);

  const hf::ExportResult r =
      hf::export_model(run.config, vocab, run.model->state_dict(), tok.get(), args.get("--hf", ""), layout);
  fmt::print("exported {} (step {}) as {} ({}) to {}: {} tensors\n", run.config.model.arch, run.checkpoint.step,
             r.model_type, r.hf_class, args.get("--hf", ""), r.tensors);
  if (args.has("--logits-check")) {
    const Tensor tokens = hf::check_tokens(vocab, 2, length, 0);
    hf::write_logits_check(*run.model, tokens, args.get("--logits-check", ""),
                           {{"loglin_arch", run.config.model.arch},
                            {"model_type", r.model_type},
                            {"hf_class", r.hf_class},
                            {"export_dir", args.get("--hf", "")}});
    fmt::print("logits check: {} (tokens [2, {}], logits [2, {}, {}])\n", args.get("--logits-check", ""), length,
               length, vocab);
  }
  return 0;
}

}  // namespace loglin::cli
