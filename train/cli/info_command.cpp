// `loglin info CONFIG [--set ...]`: the model a config builds, with its
// parameter table, without reading any data.
#include <fmt/format.h>

#include <cstdio>

#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/trainer/saved_run.h"
#include "train/trainer/trainer.h"

namespace loglin::cli {

int info_command(const std::vector<std::string>& argv) {
  Args args("info", argv, {});
  if (args.help()) {
    std::fputs("usage: loglin info CONFIG [--set KEY=VALUE ...]\n\nPrints the architecture a config builds and its "
               "parameter table.\n", stdout);
    return 0;
  }
  TrainConfig cfg = load_config(args.positional("CONFIG"), args.sets());
  int64_t vocab = config_vocab_size(cfg.data);
  nn::LMOptions o = lm_options(cfg.model, vocab);
  nn::LanguageModel model(o);
  fmt::print("arch {} | layers {} | d_model {} | vocab {} | max_seq_len {} | mlp {}\n", o.arch(), o.n_layers(),
             o.d_model(), o.vocab_size(), o.max_seq_len(), o.mlp() ? fmt::format("SwiGLU {}", o.mlp_hidden()) : "none");
  if (o.arch() == "mamba2" || o.arch() == "loglinear_mamba2")
    fmt::print("mixer: expand {}, head dim {}, state {}, groups {}, conv {}, chunk {}\n", o.expand(), o.head_dim(),
               o.d_state(), o.n_groups(), o.conv_kernel(), o.chunk_size());
  if (o.arch() == "gated_deltanet" || o.arch() == "loglinear_gated_deltanet")
    fmt::print("mixer: heads {}, key dim {}, value dim {} (expand_v {}), conv {}, chunk {}\n", o.n_heads(),
               o.head_dim(), o.expand_v() * o.head_dim(), o.expand_v(), o.conv_kernel(), o.chunk_size());
  // info describes a config anywhere, so a device this machine lacks is a note here, not an error.
  std::string where;
  try {
    const Device device = resolve_device(cfg.training.device);
    where = device.str() + (device.is_cuda() ? " (" + cuda_device_description(device.index) + ")" : "");
  } catch (const Error&) {
    where = cfg.training.device + " (not available on this machine)";
  }
  fmt::print("device {} | precision {} | activation checkpointing {}\n", where, cfg.training.precision,
             cfg.training.activation_checkpointing ? "on (each block recomputed in backward)" : "off");
  fmt::print("\n{}", model.summary());
  fmt::print("\n{:.3f}M parameters\n", model.num_parameters() / 1e6);
  return 0;
}

}  // namespace loglin::cli
