#include "train/trainer/trainer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "autograd/grad_mode.h"
#include "autograd/grad_ready_hook.h"
#include "distributed/communicator.h"
#include "distributed/grad_reducer.h"
#include "distributed/shard.h"
#include "nn/models/generate.h"
#include "ops/ops.h"
#include "train/checkpoint/checkpoint.h"
#include "train/checkpoint/file_io.h"
#include "train/optim/optimizer.h"
#include "train/optim/schedule.h"
#include "train/trainer/data_parallel.h"
#include "train/trainer/metrics_log.h"
#include "train/trainer/precision.h"
#include "train/trainer/progress.h"
#include "train/trainer/sharded_optimizer.h"
#include "train/trainer/train_data.h"

namespace loglin {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

nn::LMOptions lm_options(const ModelConfig& c, int64_t vocab_size) {
  return nn::LMOptions(c.arch, c.vocab_size > 0 ? c.vocab_size : vocab_size)
      .d_model(c.d_model)
      .n_layers(c.n_layers)
      .n_heads(c.n_heads)
      .head_dim(c.head_dim)
      .d_state(c.d_state)
      .expand(c.expand)
      .expand_v(c.expand_v)
      .n_groups(c.n_groups)
      .conv_kernel(c.conv_kernel)
      .chunk_size(c.chunk_size)
      .max_seq_len(c.max_seq_len)
      .mlp(c.mlp)
      .mlp_hidden(c.resolved_mlp_hidden())
      .tie_embeddings(c.tie_embeddings)
      .dropout(c.dropout)
      .norm_eps(c.norm_eps)
      .init_std(c.init_std);
}

namespace {

// Bucket b of K over `context` positions: [b * context / K, (b + 1) * context / K).
int64_t bucket_start(int64_t context, int64_t buckets, int64_t b) { return b * context / buckets; }

}  // namespace

std::vector<std::string> position_bucket_names(int64_t context, int64_t buckets) {
  std::vector<std::string> names;
  for (int64_t b = 0; b < buckets; ++b)
    names.push_back(fmt::format("{}-{}", bucket_start(context, buckets, b), bucket_start(context, buckets, b + 1) - 1));
  return names;
}

EvalResult evaluate(const nn::LanguageModel& model, const TrainData& data, int64_t max_batches,
                    int64_t position_buckets) {
  NoGradGuard no_grad;
  EvalResult r;
  int64_t n = data.num_val_batches();
  if (max_batches > 0) n = std::min(n, max_batches);
  LOGLIN_CHECK(n > 0, "[eval] the dataset has no validation batches (raise data.val_fraction or the corpus size)");
  const int64_t context = data.longest_seq_len();
  LOGLIN_CHECK(position_buckets >= 0 && position_buckets <= context,
               "[eval] {} position buckets asked for, but a sequence has {} positions", position_buckets, context);
  double nats = 0, bytes = 0;
  std::vector<Accuracy> acc(data.accuracy_groups().size());  // MQAR: one per test setting
  std::vector<double> bucket_nats(position_buckets, 0.0);
  r.targets_by_position.assign(position_buckets, 0);
  for (int64_t i = 0; i < n; ++i) {
    Batch b = data.val_batch(i);
    Tensor logits = model.forward(b.inputs, b.cu_seqlens);
    std::vector<int64_t> tg = b.targets.to_vector<int64_t>();
    int64_t count = 0;
    for (int64_t t : tg) {
      if (t == kIgnoreIndex) continue;
      ++count;
      if (!data.token_bytes().empty()) bytes += data.token_bytes()[t];
    }
    if (count == 0) continue;
    nats += cross_entropy(logits, b.targets.to(logits.device()), kIgnoreIndex).item() * static_cast<double>(count);
    r.targets += count;
    if (data.is_mqar()) acc[data.val_batch_group(i)] += token_accuracy(logits, b.targets);
    // Each bucket's slice of positions [s, e) of this batch (targets [B, T], logits [B, T, V]).
    const int64_t rows = b.targets.size(0), T = b.targets.size(1);
    for (int64_t k = 0; k < position_buckets; ++k) {
      const int64_t s = bucket_start(context, position_buckets, k);
      const int64_t e = std::min(bucket_start(context, position_buckets, k + 1), T);
      if (s >= e) continue;
      int64_t in_bucket = 0;
      for (int64_t row = 0; row < rows; ++row)
        for (int64_t p = s; p < e; ++p) in_bucket += tg[row * T + p] != kIgnoreIndex;
      if (in_bucket == 0) continue;
      Tensor part = b.targets.narrow(1, s, e - s).to(logits.device());
      bucket_nats[k] += cross_entropy(logits.narrow(1, s, e - s), part, kIgnoreIndex).item() *
                        static_cast<double>(in_bucket);
      r.targets_by_position[k] += in_bucket;
    }
  }
  LOGLIN_CHECK(r.targets > 0, "[eval] no validation targets");
  const std::vector<std::string> names = position_bucket_names(context, position_buckets);
  for (int64_t k = 0; k < position_buckets; ++k)
    r.loss_by_position.emplace_back(names[k], r.targets_by_position[k] > 0
                                                  ? bucket_nats[k] / static_cast<double>(r.targets_by_position[k])
                                                  : std::nan(""));
  r.loss = nats / static_cast<double>(r.targets);
  r.perplexity = std::exp(r.loss);
  if (bytes > 0) r.bits_per_byte = nats / bytes / std::log(2.0);
  if (data.is_mqar()) {  // the mean over the settings evaluated (the first max_batches may not reach them all)
    MqarScores scores = mqar_scores(data.accuracy_groups(), acc);
    r.accuracy = scores.mean;
    r.accuracy_by_task = std::move(scores.by_task);
  }
  return r;
}

Trainer::Trainer(TrainConfig config, dist::Communicator* comm) : cfg_(std::move(config)), comm_(comm) {}
Trainer::~Trainer() = default;

namespace {

std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "null"; }

std::string eval_line(const EvalResult& e) {
  if (e.accuracy >= 0) {
    std::string line = fmt::format("val loss {:.4f} | accuracy {:.2f}%", e.loss, 100 * e.accuracy);
    if (e.accuracy_by_task.size() > 1)
      for (size_t g = 0; g < e.accuracy_by_task.size(); ++g)
        line += fmt::format("{}{} {:.1f}%", g == 0 ? " (" : ", ", e.accuracy_by_task[g].first,
                            100 * e.accuracy_by_task[g].second);
    return e.accuracy_by_task.size() > 1 ? line + ")" : line;
  }
  return fmt::format("val loss {:.4f} | ppl {:.2f} | bpb {:.4f}", e.loss, e.perplexity, e.bits_per_byte);
}

std::string sample_text(const nn::LanguageModel& model, const TrainData& data, const TrainingConfig& t, Generator& gen) {
  if (!data.tokenizer() || t.sample_tokens <= 0) return "";
  std::vector<int32_t> prompt = data.tokenizer()->encode(t.sample_prompt.empty() ? "The" : t.sample_prompt);
  int64_t room = model.options.max_seq_len() - static_cast<int64_t>(prompt.size());
  int64_t n = std::min<int64_t>(t.sample_tokens, room);
  if (prompt.empty() || n <= 0) return "";
  nn::SamplingOptions so;
  so.temperature = t.sample_temperature;
  so.top_k = t.sample_top_k;
  bool was_training = model.is_training();
  const_cast<nn::LanguageModel&>(model).eval();
  std::vector<int32_t> out = nn::generate(model, prompt, n, so, gen);
  const_cast<nn::LanguageModel&>(model).train(was_training);
  return data.tokenizer()->decode(prompt) + data.tokenizer()->decode(out);
}

}  // namespace

Device resolve_device(const std::string& want) {
  if (want == "auto") return cuda_is_available() ? Device::cuda(0) : Device::cpu();
  Device d = Device::parse(want);
  if (d.is_cuda()) {
    LOGLIN_CHECK(built_with_cuda(), "[train] training.device: {} asked for, but this loglin was built without CUDA "
                                    "(rebuild with -DLOGLIN_CUDA=ON on a machine with nvcc), or use cpu or auto", want);
    LOGLIN_CHECK(d.index < cuda_device_count(), "[train] training.device: {} asked for, but {} CUDA device(s) answer; "
                                               "use cpu or auto", want, cuda_device_count());
  }
  return d;
}

TrainSummary Trainer::run() {
  const TrainingConfig& t = cfg_.training;
  const Device device = resolve_device(t.device);
  LOGLIN_CHECK(t.precision == "f32" || device.is_cuda(),
               "[train] training.precision: {} needs a CUDA device, but training runs on {}; use f32 there",
               t.precision, device.str());
  const bool bf16_mixed = t.precision == "bf16-mixed";
  const Tf32Scope tf32(t.precision == "tf32");  // the whole run: backward passes use it too
  // Data parallelism: this rank's place; rank 0 alone writes, logs and evaluates.
  const int world = comm_ ? comm_->world_size() : 1;
  const int rank = comm_ ? comm_->rank() : 0;
  const bool lead = rank == 0;
  LOGLIN_CHECK(cfg_.data.batch_size % world == 0,
               "[train] data.batch_size {} is not a multiple of the data-parallel world size {}: each rank trains on "
               "batch_size / world_size rows of every batch; choose a batch size divisible by {}",
               cfg_.data.batch_size, world, world);
  const fs::path run_dir = cfg_.logging.run_dir;
  const fs::path ckpt_dir = run_dir / "checkpoints";
  auto latest = latest_checkpoint(ckpt_dir);
  LOGLIN_CHECK(!latest || cfg_.checkpoint.resume,
               "[train] {} already holds checkpoints (latest {}); set checkpoint.resume: true to continue that run, or "
               "choose another logging.run_dir",
               run_dir.string(), latest ? latest->filename().string() : "");

  ProgressReporter progress(lead ? cfg_.logging.progress : "off", cfg_.logging.log_every);
  auto log = [&](const std::string& s) {
    if (lead) progress.message(s);
  };

  TrainData data(cfg_.data, log);
  log(data.describe());
  Generator model_gen(static_cast<uint64_t>(t.seed));
  // Initialised on the cpu (the same weights for a seed on any device), then moved.
  nn::LanguageModel model(
      lm_options(cfg_.model, data.vocab_size()).activation_checkpointing(t.activation_checkpointing), model_gen);
  model.to(device);
  LOGLIN_CHECK(data.longest_seq_len() <= cfg_.model.max_seq_len,
               "[train] the data's longest sequence ({} tokens{}) is longer than model.max_seq_len ({})",
               data.longest_seq_len(),
               data.is_mqar() ? ", of data.mqar's training and test settings" : ", data.seq_len", cfg_.model.max_seq_len);
  // Checked here, before any step, for every mixer the model holds.
  LOGLIN_CHECK(!cfg_.data.pack || model.resets_at_documents(),
               "[train] data.pack: true needs every mixer to restart at document boundaries, but model.arch {} holds "
               "one that cannot; set data.pack: false",
               cfg_.model.arch);
  log(fmt::format("model: {} with {} layers, d_model {}, {:.2f}M parameters, on {} in {}", cfg_.model.arch,
                  cfg_.model.n_layers, cfg_.model.d_model, model.num_parameters() / 1e6, device.str(), t.precision));

  auto groups = optim::decay_groups(model.named_parameters(), cfg_.optimizer.weight_decay,
                                    cfg_.optimizer.decay_embeddings);
  auto make_optimizer = [&](std::vector<optim::ParamGroup> gs) -> std::unique_ptr<optim::Optimizer> {
    if (cfg_.optimizer.name == "sgd") return std::make_unique<optim::SGD>(std::move(gs), cfg_.optimizer.momentum);
    return std::make_unique<optim::AdamW>(
        std::move(gs), optim::AdamWOptions{cfg_.optimizer.beta1, cfg_.optimizer.beta2, cfg_.optimizer.eps});
  };
  // ZeRO-1: this rank keeps optimizer state for its share of the parameters only.
  std::unique_ptr<optim::Optimizer> opt =
      comm_ && cfg_.distributed.zero1 ? std::make_unique<ShardedOptimizer>(*comm_, groups, make_optimizer)
                                      : make_optimizer(groups);
  const int64_t B = cfg_.data.batch_size;
  const int64_t T = cfg_.data.dataset == "mqar" ? cfg_.data.mqar.seq_len : cfg_.data.seq_len;
  const int64_t tokens_per_step = B * T * t.grad_accum;
  const int64_t total_steps = t.steps > 0 ? t.steps : (t.max_tokens + tokens_per_step - 1) / tokens_per_step;
  optim::Schedule sched{cfg_.schedule.name, cfg_.optimizer.lr, cfg_.schedule.warmup_steps, total_steps,
                        cfg_.schedule.min_lr_ratio, cfg_.schedule.decay_fraction};
  Generator data_gen(static_cast<uint64_t>(t.seed) + 1), sample_gen(static_cast<uint64_t>(t.seed) + 2);

  int64_t start = 0;
  if (latest && cfg_.checkpoint.resume) {
    Checkpoint ck = load_checkpoint(*latest);
    model.load_state_dict(ck.model);
    opt->load_state_dict(ck.optimizer);
    data.restore(DataPosition::from_string(ck.metadata.at("data_position")), data_gen);
    model_gen.set_state(rng_state_from_string(ck.metadata.at("model_rng")));
    sample_gen.set_state(rng_state_from_string(ck.metadata.at("sample_rng")));
    start = ck.step;
    log(fmt::format("resumed from {} (step {})", latest->string(), start));
  }
  // Every replica starts from rank 0's weights (after a resume too); each rank
  // keeps its rows of every global batch and averages the gradients.
  // The buckets' all-reduces start inside backward, as their gradients are
  // final (the hooks), and overlap the backward of earlier layers.
  std::optional<dist::GradReducer> reducer;
  std::vector<autograd::GradReadyHook> ready_hooks;  // declared after the reducer: gone before it
  std::optional<dist::BatchShard> shard;
  if (comm_) {
    comm_->broadcast(model.parameters(), 0);
    reducer.emplace(*comm_, model.named_parameters());
    ready_hooks = reducer->install_ready_hooks();
    shard.emplace(rank, world);
  }

  // Everything is valid: only now write into the run directory.
  // (Rank 0 only: the other ranks write nothing.)
  std::optional<MetricsLog> metrics;
  if (lead) {
    fs::create_directories(run_dir);
    io::write_file_atomic(run_dir / "config.yaml", to_yaml(cfg_));
    metrics.emplace(run_dir / "metrics.jsonl", start > 0 ? start : (latest ? 0 : -1));
  }

  // opt_state: opt->state_dict(), which every rank must take together when
  // the state is sharded (it gathers); rank 0 alone writes.
  auto save = [&](int64_t step, const std::map<std::string, Tensor>& opt_state) {
    StringMap meta;
    meta["config"] = to_yaml(cfg_);
    meta["data_position"] = data.position(data_gen).to_string();
    meta["model_rng"] = rng_state_to_string(model_gen.state());
    meta["sample_rng"] = rng_state_to_string(sample_gen.state());
    meta["tokens"] = std::to_string(step * tokens_per_step);
    fs::path p = save_checkpoint(ckpt_dir, step, model.state_dict(), opt_state, meta, cfg_.checkpoint.keep_last);
    log(fmt::format("saved checkpoint {}", p.string()));
  };

  TrainSummary sum;
  sum.run_dir = run_dir.string();
  model.train();
  const auto t_start = Clock::now();
  int64_t steps_here = 0;
  for (int64_t step = start; step < total_steps; ++step) {
    const auto t0 = Clock::now();
    double loss_sum = 0;
    for (int a = 0; a < t.grad_accum; ++a) {
      Batch b = data.next_train_batch(data_gen);
      // Data parallel: this rank's rows, its mean loss weighted so that the
      // average over the ranks is the mean over the whole batch
      // (train/trainer/data_parallel.h), as one process computes it.
      double weight = 1.0;
      std::optional<dist::GradReducer::NoSync> quiet;
      if (comm_) {
        ShardedBatch sb = shard_batch(b, *shard);
        b = std::move(sb.batch);
        weight = sb.loss_weight;
        if (a + 1 < t.grad_accum) quiet.emplace(*reducer);
      }
      sum.rows_per_micro_step = b.inputs.size(0);
      if (weight > 0) {  // a shard without counted targets adds nothing (and no NaN)
        Tensor loss;
        {
          PrecisionScope precision(bf16_mixed);
          loss = cross_entropy(model.forward(b.inputs, b.cu_seqlens), b.targets.to(device), kIgnoreIndex);
        }
        loss_sum += weight * loss.item();
        const double scale = weight / t.grad_accum;
        (scale != 1.0 ? mul(loss, scale) : loss).backward();
      }
      if (reducer) reducer->finish();  // communicates on the last micro-step only
    }
    double loss = loss_sum / t.grad_accum;
    if (comm_) {  // the global loss: the average of the ranks' (weighted) losses
      Tensor l = Tensor::from_vector(std::vector<double>{loss}, {1}).to(device);  // NCCL reduces on the device
      comm_->all_reduce(l, dist::ReduceOp::average);
      loss = l.item();
    }
    const double gnorm = optim::clip_grad_norm(model.parameters(), t.grad_clip);
    const double lr = sched.lr_at(step);
    const bool skip = !std::isfinite(gnorm) || !std::isfinite(loss);
    if (skip) {
      log(fmt::format("step {}: skipped, the gradients are not finite (loss {}, grad norm {})", step + 1, loss, gnorm));
    } else {
      opt->step(lr);
    }
    opt->zero_grad();
    ++steps_here;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const double elapsed = std::chrono::duration<double>(Clock::now() - t_start).count();
    StepStats st{step + 1, total_steps, loss, lr, gnorm, steps_here * tokens_per_step / elapsed, ms,
                 elapsed / steps_here * (total_steps - step - 1), skip};
    if (lead) progress.step(st);
    sum.last_loss = loss;
    sum.losses.push_back(loss);
    if (lead && ((step + 1) % cfg_.logging.log_every == 0 || step + 1 == total_steps))
      metrics->write("train", step + 1, {{"tokens", std::to_string((step + 1) * tokens_per_step)},
                                        {"loss", json_number(loss)},
                                        {"lr", json_number(lr)},
                                        {"grad_norm", json_number(gnorm)},
                                        {"tokens_per_s", json_number(st.tokens_per_s)},
                                        {"ms_per_step", json_number(ms)},
                                        {"skipped", skip ? "true" : "false"}});
    const bool last = step + 1 == total_steps;
    if (stop_after_ > 0 && steps_here >= stop_after_ && !last) {
      progress.finish();
      sum.steps = step + 1;
      return sum;  // as if killed here
    }
    // Eval and sampling need no collectives: the other ranks skip them.
    if (lead && ((t.eval_every > 0 && (step + 1) % t.eval_every == 0) || last)) {
      model.eval();
      EvalResult e;
      {
        PrecisionScope precision(bf16_mixed);
        e = evaluate(model, data, t.eval_batches, t.eval_position_buckets);
      }
      model.train();
      std::vector<std::pair<std::string, std::string>> fields = {
          {"tokens", std::to_string((step + 1) * tokens_per_step)},
          {"val_loss", json_number(e.loss)},
          {"val_ppl", json_number(e.perplexity)},
          {"val_bpb", json_number(e.bits_per_byte)},
          {"val_accuracy", json_number(e.accuracy)}};
      for (const auto& [task, a] : e.accuracy_by_task) fields.emplace_back("val_accuracy/" + task, json_number(a));
      for (const auto& [range, l] : e.loss_by_position) fields.emplace_back("val_loss/pos_" + range, json_number(l));
      metrics->write("eval", step + 1, fields);
      log(fmt::format("step {}: {}", step + 1, eval_line(e)));
      sum.final_eval = e;
      const bool sample_now = t.sample_every > 0 ? (step + 1) % t.sample_every == 0 : true;
      if (sample_now || last) {
        sum.sample = sample_text(model, data, t, sample_gen);
        if (!sum.sample.empty()) log(fmt::format("sample: {}", sum.sample));
      }
    }
    if ((cfg_.checkpoint.every > 0 && (step + 1) % cfg_.checkpoint.every == 0) || last) {
      const auto opt_state = opt->state_dict();  // a collective under ZeRO-1: on every rank
      if (lead) save(step + 1, opt_state);
    }
  }
  progress.finish();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t_start).count();
  sum.steps = total_steps;
  sum.tokens = total_steps * tokens_per_step;
  sum.tokens_per_s = steps_here > 0 ? steps_here * tokens_per_step / elapsed : 0;
  return sum;
}

}  // namespace loglin
