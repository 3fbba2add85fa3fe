// `loglin import HF_DIR --config OUT.yaml [--run-dir DIR] [--set K=V ...]`:
// a Hugging Face model directory (one `loglin export` wrote, or the public
// twin's own) into a loglin run directory at step 0 and a config that
// trains on from it.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "train/checkpoint/file_io.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/hf/hf_import.h"
#include "train/hf/run_from_weights.h"

namespace loglin::cli {
namespace fs = std::filesystem;

int import_command(const std::vector<std::string>& argv) {
  Args args("import", argv, {"--config", "--run-dir"});
  if (args.help()) {
    std::fputs(R"(usage: loglin import HF_DIR --config OUT.yaml [--run-dir DIR] [--set KEY=VALUE ...]

Reads a Hugging Face model directory (config.json, model.safetensors or a
sharded model.safetensors.index.json) in one of the layouts `loglin export`
writes: model_type llama, mamba2 or log_linear_mamba2 (fla), gated_deltanet
(fla), or loglin. Every config.json field loglin's layers cannot express,
and every missing, extra, misshapen or wrongly typed tensor, is an error
naming it; nothing is written then.

Writes DIR (default runs/<HF_DIR's name>) with checkpoints/step_000000 (the
imported weights, a fresh optimizer state) and OUT.yaml, the full config
(model from config.json, the rest from the loglin_config an export records,
else loglin's defaults, then --set; logging.run_dir: DIR, checkpoint.resume:
true). Then:

  loglin eval DIR              evaluate the imported model
  loglin train OUT.yaml        train on from it (training.steps more steps)

  --config OUT.yaml    the config to write (must not exist)
  --run-dir DIR        the run directory to create (must not exist or be empty)
  --set KEY=VALUE      override a key of data, training, ... (of model: only
                       chunk_size, dropout and init_std, which shape no weight)
)", stdout);
    return 0;
  }
  const fs::path dir = args.positional("HF_DIR");
  LOGLIN_CHECK(args.has("--config"), "[import] --config OUT.yaml is required (where the run's config goes)");
  const fs::path out_yaml = args.get("--config", "");
  LOGLIN_CHECK(!fs::exists(out_yaml), "[import] {} already exists; choose another --config path", out_yaml.string());
  const std::string name = fs::path(dir).lexically_normal().filename().string();
  const fs::path run_dir = args.get("--run-dir", (fs::path("runs") / (name.empty() ? "imported" : name)).string());

  hf::ImportedModel m = hf::import_model(dir, args.sets());
  m.config.logging.run_dir = run_dir.string();
  const TrainConfig saved = hf::write_run_from_weights(m.config, m.vocab, m.model);
  try {
    io::write_file_atomic(out_yaml, to_yaml(saved));
  } catch (...) {
    std::error_code ec;
    fs::remove_all(run_dir, ec);  // all or nothing
    throw;
  }
  fmt::print("imported {} ({}) from {}: run directory {} (step 0), config {}\n", saved.model.arch, m.model_type,
             dir.string(), run_dir.string(), out_yaml.string());
  return 0;
}

}  // namespace loglin::cli
