// `loglin sweep` without training: reading and checking sweep files (each
// error with its line), the points' expansion order and names, each point's
// standing in its run directory, and the reports (sweep.csv round trip;
// summary: the best over the tuned key per group and seed, then mean and std
// over seeds) on synthetic metrics. tests/cli/cli_test.sh runs a real sweep.
#include <cmath>
#include <fstream>
#include <string>

#include "catch.h"
#include "core/error.h"
#include "test_util.h"
#include "train/checkpoint/checkpoint.h"
#include "train/checkpoint/file_io.h"
#include "train/sweep/sweep_file.h"
#include "train/sweep/sweep_plan.h"
#include "train/sweep/sweep_report.h"

using namespace loglin::sweep;
using loglin_test::contains;
using loglin_test::error_message;
namespace fs = std::filesystem;

namespace {

// A sweep over an inline transformer base; extra lines go at the end.
std::string sweep_text(const std::string& grid, const std::string& extra = "") {
  return "base:\n"
         "  model: {arch: transformer, d_model: 16, n_layers: 1, n_heads: 2}\n"
         "  training: {steps: 10}\n"
         "grid:\n" + grid + extra;
}

std::string parse_error(const std::string& text) {
  return error_message([&] { parse_sweep(text, "sw/s.yaml"); });
}

std::string resolve_error(const std::string& text) {
  return error_message([&] { resolve_points(parse_sweep(text, "sw/s.yaml")); });
}

PointResult row(const std::string& arch, const std::string& lr, int64_t seed, double loss, double acc,
                const std::string& status = "done") {
  PointResult r;
  r.name = point_name({"model.arch", "optimizer.lr"}, {arch, lr}, seed);
  r.values = {arch, lr};
  r.seed = seed;
  r.status = status;
  r.wall_s = 1.5;
  if (status == "done") r.metrics = {{"tokens", 640}, {"val_loss", loss}, {"val_accuracy", acc}};
  return r;
}

SweepSettings arch_lr_settings() {
  SweepSettings s;
  s.grid_keys = {"model.arch", "optimizer.lr"};
  s.group_by = {"model.arch"};
  return s;
}

}  // namespace

TEST_CASE("sweep file: a full file is read, with defaults", "[train][sweep]") {
  SweepSpec s = parse_sweep(sweep_text("  model.d_model: [16, 32]\n  optimizer.lr: [1e-3, 3e-3, 1e-2]\n"),
                            "sw/s.yaml");
  REQUIRE(s.grid.size() == 2);
  CHECK(s.grid[0].key == "model.d_model");
  CHECK(s.grid[0].where == "sw/s.yaml:5");
  CHECK(s.grid[1].values == std::vector<std::string>{"1e-3", "3e-3", "1e-2"});
  CHECK(s.seeds == std::vector<int64_t>{0});
  CHECK(s.sweep_dir == fs::path("sw/s"));  // beside the file, named after it
  CHECK(s.settings.grid_keys == std::vector<std::string>{"model.d_model", "optimizer.lr"});
  CHECK(s.settings.group_by == std::vector<std::string>{"model.d_model"});  // every key but the tuned one
  CHECK(s.settings.tune == "optimizer.lr");
  CHECK(s.settings.metric == "val_loss");
  CHECK_FALSE(s.settings.maximize);
  CHECK(s.base_source == "sw/s.yaml");

  SweepSpec t = parse_sweep(sweep_text("  model.d_model: [16]\n",
                                       "seeds: [3, 1]\nsweep_dir: ../out\ngroup_by: []\n"
                                       "select: {metric: val_accuracy}\ntune: model.d_model\n"),
                            "sw/s.yaml");
  CHECK(t.seeds == std::vector<int64_t>{3, 1});
  CHECK(t.sweep_dir == fs::path("out"));
  CHECK(t.settings.group_by.empty());
  CHECK(t.settings.metric == "val_accuracy");
  CHECK(t.settings.maximize);  // an accuracy goes up unless mode says otherwise
  CHECK(t.settings.tune == "model.d_model");
}

TEST_CASE("sweep file: an inline base keeps the sweep file's line numbers in config errors", "[train][sweep]") {
  const std::string text = "grid:\n  optimizer.lr: [1e-3]\nbase:\n  model:\n    arch: transformer\n"
                           "    d_modle: 16\n";
  const std::string err = resolve_error(text);
  CHECK(contains(err, "sw/s.yaml:6"));
  CHECK(contains(err, "did you mean 'model.d_model'"));
}

TEST_CASE("sweep file: a base file is read relative to the sweep file", "[train][sweep]") {
  loglin_test::TempDir tmp("sweep_base");
  loglin::io::write_file_atomic(tmp.path / "base.yaml", "model:\n  arch: mamba2\n  d_modle: 8\n");
  const std::string path = (tmp.path / "s.yaml").string();
  SweepSpec s = parse_sweep("base: base.yaml\ngrid: {optimizer.lr: [0.01]}\n", path);
  CHECK(s.base_source == (tmp.path / "base.yaml").string());
  const std::string err = error_message([&] { resolve_points(s); });
  CHECK(contains(err, (tmp.path / "base.yaml").string() + ":3"));  // the base file's own line
  CHECK(contains(error_message([&] { parse_sweep("base: nope.yaml\ngrid: {optimizer.lr: [0.01]}\n", path); }),
                 "s.yaml:1: base config"));
}

TEST_CASE("sweep file: every bad input is a one-line error with its line", "[train][sweep]") {
  const std::string grid = "  optimizer.lr: [1e-3]\n";
  // unknown top-level key, with a suggestion
  std::string e = parse_error(sweep_text(grid, "seed: [1]\n"));
  CHECK(contains(e, "[sweep] sw/s.yaml:6: unknown key 'seed'"));
  CHECK(contains(e, "did you mean 'seeds'"));
  // a grid key the config does not know
  e = parse_error(sweep_text("  model.d_modle: [16]\n"));
  CHECK(contains(e, "sw/s.yaml:5: grid key 'model.d_modle' is not a config key (did you mean 'model.d_model'?)"));
  CHECK(contains(parse_error(sweep_text("  model: [16]\n")), "is not a config key"));  // a section
  // an empty list, a scalar where a list belongs, a nested list
  CHECK(contains(parse_error(sweep_text("  optimizer.lr: []\n")), "sw/s.yaml:5: grid key 'optimizer.lr' is an empty "
                                                                   "list"));
  CHECK(contains(parse_error(sweep_text("  optimizer.lr: 1e-3\n")), "sw/s.yaml:5: grid key 'optimizer.lr' must be a "
                                                                    "list"));
  CHECK(contains(parse_error(sweep_text("  optimizer.lr: [[1]]\n")), "must be plain values"));
  CHECK(contains(parse_error("base: {}\ngrid: {}\n"), "sw/s.yaml:2: grid must be a non-empty map"));
  // duplicates
  CHECK(contains(parse_error(sweep_text(grid + "  optimizer.lr: [2e-3]\n")),
                 "sw/s.yaml:6: duplicate grid key 'optimizer.lr' (first given at sw/s.yaml:5)"));
  CHECK(contains(parse_error(sweep_text(grid, "seeds: [0]\nseeds: [1]\n")), "sw/s.yaml:7: duplicate key 'seeds'"));
  CHECK(contains(parse_error(sweep_text("  optimizer.lr: [1e-3, 1e-3]\n")), "lists the value '1e-3' twice"));
  // seeds
  CHECK(contains(parse_error(sweep_text(grid, "seeds: [0, 1.5]\n")), "sw/s.yaml:6: seeds must be integers >= 0, got "
                                                                     "'1.5'"));
  CHECK(contains(parse_error(sweep_text(grid, "seeds: [a]\n")), "seeds must be integers"));
  CHECK(contains(parse_error(sweep_text(grid, "seeds: [-1]\n")), "seeds must be integers"));
  CHECK(contains(parse_error(sweep_text(grid, "seeds: 3\n")), "seeds must be a list"));
  CHECK(contains(parse_error(sweep_text(grid, "seeds: [1, 1]\n")), "seed 1 is listed twice"));
  // keys the sweep sets itself
  CHECK(contains(parse_error(sweep_text("  training.seed: [1, 2]\n")), "list the seeds under seeds:"));
  CHECK(contains(parse_error(sweep_text("  logging.run_dir: [a]\n")), "own run directory"));
  // missing parts, group_by, select, tune
  CHECK(contains(parse_error("grid: {optimizer.lr: [1]}\n"), "missing key 'base'"));
  CHECK(contains(parse_error("base: {model: {arch: mamba2}}\n"), "missing key 'grid'"));
  CHECK(contains(parse_error(sweep_text(grid, "group_by: [model.arch]\n")),
                 "sw/s.yaml:6: group_by key 'model.arch' is not a grid key (the grid keys are: optimizer.lr)"));
  CHECK(contains(parse_error(sweep_text(grid, "select: {metric: val_loss, mode: up}\n")),
                 "select.mode must be min or max, got 'up'"));
  CHECK(contains(parse_error(sweep_text(grid, "select: {mode: max}\n")), "select needs a metric"));
  CHECK(contains(parse_error(sweep_text(grid, "select: {metrc: val_loss}\n")), "unknown key 'select.metrc'"));
  CHECK(contains(parse_error(sweep_text(grid, "tune: optimizer.lrr\n")), "did you mean 'optimizer.lr'"));
  // not YAML, not a map
  CHECK(contains(parse_error("grid: [\n"), "invalid YAML"));
  CHECK(contains(parse_error("- 1\n"), "a sweep file is a map"));
  CHECK(contains(error_message([] { load_sweep("/nonexistent/sweep.yaml"); }), "cannot read sweep file"));
}

TEST_CASE("sweep points: a bad value fails before anything runs, naming its line and point", "[train][sweep]") {
  // An unknown arch: the line of the value, the point, and the config's own suggestion.
  std::string e = resolve_error(sweep_text("  model.arch: [transformer, mamba3]\n  optimizer.lr: [1e-3]\n"));
  CHECK(contains(e, "[sweep] sw/s.yaml:5: model.arch=mamba3 (in point model.arch=mamba3,optimizer.lr=1e-3,seed=0)"));
  CHECK(contains(e, "did you mean 'mamba2'"));
  // A value out of range, and one of the wrong type.
  CHECK(contains(resolve_error(sweep_text("  optimizer.lr: [1e-3,\n    -1]\n")), "sw/s.yaml:6: optimizer.lr=-1"));
  CHECK(contains(resolve_error(sweep_text("  model.d_model: [wide]\n")), "expects an integer"));
  // A cross-key check that a value breaks: transformer heads must divide d_model.
  e = resolve_error(sweep_text("  model.d_model: [16, 15]\n"));
  CHECK(contains(e, "sw/s.yaml:5: model.d_model=15"));
  CHECK(contains(e, "must divide model.d_model (15)"));
  // The same config under two spellings.
  CHECK(contains(resolve_error(sweep_text("  optimizer.lr: [1e-3, 0.001]\n")), "give the same config"));
  // Every value is checked before the points are compared.
  CHECK(contains(resolve_error(sweep_text("  model.arch: [transformer, mamba3]\n  optimizer.lr: [1e-3, 0.001]\n")),
                 "model.arch=mamba3"));
  // A base that misses what no point sets.
  CHECK(contains(resolve_error("base: {training: {steps: 3}}\ngrid: {optimizer.lr: [1]}\n"),
                 "missing required key 'model.arch'"));
}

TEST_CASE("sweep points: seed by seed, the last grid key fastest, with configs resolved", "[train][sweep]") {
  SweepSpec s = parse_sweep(sweep_text("  model.d_model: [16, 32]\n  optimizer.lr: [1e-3, 1e-2]\n",
                                       "seeds: [7, 2]\nsweep_dir: runs\n"),
                            "sw/s.yaml");
  std::vector<Point> p = resolve_points(s);
  REQUIRE(p.size() == 8);
  const std::vector<std::string> names = {
      "model.d_model=16,optimizer.lr=1e-3,seed=7", "model.d_model=16,optimizer.lr=1e-2,seed=7",
      "model.d_model=32,optimizer.lr=1e-3,seed=7", "model.d_model=32,optimizer.lr=1e-2,seed=7",
      "model.d_model=16,optimizer.lr=1e-3,seed=2", "model.d_model=16,optimizer.lr=1e-2,seed=2",
      "model.d_model=32,optimizer.lr=1e-3,seed=2", "model.d_model=32,optimizer.lr=1e-2,seed=2"};
  for (size_t i = 0; i < p.size(); ++i) CHECK(p[i].name == names[i]);
  CHECK(p[3].values == std::vector<std::string>{"32", "1e-2"});
  CHECK(p[3].config.model.d_model == 32);
  CHECK(p[3].config.optimizer.lr == 1e-2);
  CHECK(p[3].config.training.seed == 7);
  CHECK(p[3].config.checkpoint.resume);
  CHECK(p[3].dir == fs::path("sw/runs") / names[3]);
  CHECK(p[3].config.logging.run_dir == p[3].dir.string());
  CHECK(p[3].config.training.steps == 10);  // from the base
}

TEST_CASE("sweep linked: keys that follow a grid key's value", "[train][sweep]") {
  // Mamba-2's head dim follows the width; the transformer gets its own heads.
  const std::string grid = "  model.arch: [transformer, mamba2]\n  model.d_model: [16, 32]\n";
  const std::string linked = "linked:\n"
                             "  model.d_model:\n"
                             "    16: {model.head_dim: 8}\n"
                             "    32: {model.head_dim: 16, model.d_state: 8}\n"
                             "  model.arch:\n"
                             "    transformer: {model.n_heads: 4}\n"
                             "    mamba2: {}\n";
  SweepSpec s = parse_sweep(sweep_text(grid, linked), "sw/s.yaml");
  REQUIRE(s.grid[1].linked.size() == 2);
  CHECK(s.grid[1].linked[1] == std::vector<LinkedSet>{{"model.head_dim", "16", "sw/s.yaml:10"},
                                                      {"model.d_state", "8", "sw/s.yaml:10"}});
  std::vector<Point> p = resolve_points(s);
  REQUIRE(p.size() == 4);
  CHECK(p[0].name == "model.arch=transformer,model.d_model=16,seed=0");  // linked keys do not name points
  CHECK(p[0].config.model.n_heads == 4);
  CHECK(p[0].config.model.head_dim == 8);
  CHECK(p[3].config.model.arch == "mamba2");
  CHECK(p[3].config.model.n_heads == 2);  // mamba2's entry sets nothing: the base's value
  CHECK(p[3].config.model.head_dim == 16);
  CHECK(p[3].config.model.d_state == 8);
  CHECK(p[2].config.model.d_state == 64);  // 16's entry leaves it: the default

  // Every mistake is an error with its line.
  auto e = [&](const std::string& l) { return parse_error(sweep_text(grid, l)); };
  CHECK(contains(e("linked:\n  model.n_heads: {2: {model.head_dim: 8}}\n"),
                 "sw/s.yaml:8: linked key 'model.n_heads' is not a grid key (the grid keys are: model.arch, "
                 "model.d_model)"));
  CHECK(contains(e("linked:\n  model.d_model:\n    16: {model.head_dim: 8}\n"),
                 "sw/s.yaml:9: linked 'model.d_model' has no entry for its grid value '32' (given at sw/s.yaml:6)"));
  CHECK(contains(e("linked:\n  model.d_model:\n    16: {}\n    32: {}\n    64: {}\n"),
                 "sw/s.yaml:11: linked 'model.d_model' has an entry for '64', which is not one of its grid values "
                 "(16, 32"));
  CHECK(contains(e("linked:\n  model.d_model: {16: {model.head_dm: 8}, 32: {}}\n"),
                 "did you mean 'model.head_dim'"));
  CHECK(contains(e("linked:\n  model.d_model: {16: {model.arch: mamba2}, 32: {}}\n"),
                 "sets 'model.arch', which is a grid key"));
  CHECK(contains(e("linked:\n  model.d_model: {16: {training.seed: 1}, 32: {}}\n"), "list the seeds under seeds:"));
  CHECK(contains(e("linked:\n  model.d_model: {16: {model.head_dim: 8}, 32: {}}\n"
                   "  model.arch: {transformer: {model.head_dim: 4}, mamba2: {}}\n"),
                 "sw/s.yaml:9: 'model.head_dim' is set by linked 'model.arch' and by linked 'model.d_model' "
                 "(sw/s.yaml:8)"));
  CHECK(contains(e("linked:\n  model.d_model: {16: {model.head_dim: [8]}, 32: {}}\n"), "must be a plain value"));
  CHECK(contains(e("linked:\n  model.d_model: [16, 32]\n"), "must map each of its grid values (16, 32)"));
  CHECK(contains(e("linked: {}\n"), "linked must be a non-empty map"));

  // A linked value that breaks a point names its own line, the grid value it follows and the point.
  const std::string bad = resolve_error(sweep_text(grid, "linked:\n  model.d_model:\n    16: {model.head_dim: 8}\n"
                                                         "    32: {model.head_dim: 12}\n"));
  CHECK(contains(bad, "[sweep] sw/s.yaml:10: model.head_dim=12 (linked to model.d_model=32, in point "
                      "model.arch=mamba2,model.d_model=32,seed=0)"));
  CHECK(contains(bad, "must divide model.d_model * model.expand"));
}

TEST_CASE("sweep points: names are sanitized, and long ones end in a hash", "[train][sweep]") {
  CHECK(point_name({"model.arch", "optimizer.lr"}, {"mamba2", "0.001"}, 1) ==
        "model.arch=mamba2,optimizer.lr=0.001,seed=1");
  CHECK(point_name({"training.device"}, {"cuda:0"}, 0) == "training.device=cuda_0,seed=0");
  CHECK(point_name({"training.sample_prompt"}, {"a b/c"}, 0) == "training.sample_prompt=a_b_c,seed=0");
  const std::string a = point_name({"training.sample_prompt"}, {std::string(200, 'x') + "a"}, 0);
  const std::string b = point_name({"training.sample_prompt"}, {std::string(200, 'x') + "b"}, 0);
  CHECK(a.size() == 120);
  CHECK(a != b);
  CHECK(a[111] == '~');
  CHECK(a == point_name({"training.sample_prompt"}, {std::string(200, 'x') + "a"}, 0));  // stable
}

TEST_CASE("sweep points: where a point stands in its run directory", "[train][sweep]") {
  loglin_test::TempDir tmp("sweep_status");
  const std::string path = (tmp.path / "s.yaml").string();
  SweepSpec s = parse_sweep(sweep_text("  optimizer.lr: [1e-3]\n"), path);
  Point p = resolve_points(s).at(0);
  CHECK(point_status(p).state == PointState::pending);
  CHECK(point_status(p).total_steps == 10);

  fs::create_directories(p.dir / "checkpoints" / "step_000005");  // no state.json: not a checkpoint
  loglin::io::write_file_atomic(p.dir / "config.yaml", loglin::to_yaml(p.config));
  loglin::io::write_file_atomic(p.dir / "metrics.jsonl",
                                "{\"kind\":\"train\",\"step\":5,\"loss\":2.5}\n"
                                "{\"kind\":\"eval\",\"step\":5,\"tokens\":320,\"val_loss\":2.4}\n");
  PointStatus partial = point_status(p);
  CHECK(partial.state == PointState::partial);  // no eval of step 10 yet
  CHECK(partial.checkpoint_step == 0);  // the directory is not a complete checkpoint
  CHECK(partial.words() == "no checkpoint yet, starts over");
  fs::remove_all(p.dir / "checkpoints");
  loglin::save_checkpoint(p.dir / "checkpoints", 5, {}, {}, {}, 3);
  partial = point_status(p);
  CHECK(partial.state == PointState::partial);
  CHECK(partial.checkpoint_step == 5);
  CHECK(partial.words() == "resume from step 5 of 10");

  // The final eval (and a torn line after it, as a kill may leave) makes it done.
  loglin::io::write_file_atomic(p.dir / "metrics.jsonl",
                                "{\"kind\":\"eval\",\"step\":5,\"tokens\":320,\"val_loss\":2.4}\n"
                                "{\"kind\":\"eval\",\"step\":10,\"tokens\":640,\"val_loss\":2.1,\"val_ppl\":8.2,"
                                "\"val_bpb\":0,\"val_accuracy\":null}\n{\"kind\":\"tr");
  write_point_record(p, 12.5, "done");
  PointStatus done = point_status(p);
  CHECK(done.state == PointState::done);
  CHECK(done.wall_s == 12.5);
  CHECK_FALSE(done.failed_before);
  REQUIRE(done.final_metrics.size() == 4);
  CHECK(done.final_metrics[0] == std::pair<std::string, double>{"tokens", 640});  // in the order written
  CHECK(done.final_metrics[1] == std::pair<std::string, double>{"val_loss", 2.1});
  CHECK(done.final_metrics[3].first == "val_accuracy");
  CHECK(std::isnan(done.final_metrics[3].second));  // null; val_bpb 0 is the trainer's "not text", left out

  // The sweep changed under a finished point: refuse rather than report a stale run.
  std::string text = sweep_text("  optimizer.lr: [1e-3]\n");
  text.replace(text.find("steps: 10"), 9, "steps: 20");
  SweepSpec changed = parse_sweep(text, path);
  const std::string e = error_message([&] { point_status(resolve_points(changed).at(0)); });
  CHECK(contains(e, "holds a run of another config ('steps: 10' there, 'steps: 20' now)"));
}

TEST_CASE("sweep summary: best lr per (group, seed), then mean and std over seeds", "[train][sweep]") {
  std::vector<PointResult> rows = {
      // arch a, seed 0: best lr 1e-3 (loss 1.0); seed 1: best lr 1e-2 (loss 2.0)
      row("a", "1e-3", 0, 1.0, 0.9), row("a", "1e-2", 0, 1.5, 0.95), row("a", "1e-3", 1, 3.0, 0.2),
      row("a", "1e-2", 1, 2.0, 0.5),
      // arch b: one seed finished and a NaN that must not be chosen; another seed not run yet
      row("b", "1e-3", 0, NAN, 0.1), row("b", "1e-2", 0, 4.0, 0.3), row("b", "1e-3", 1, 0, 0, "failed"),
      row("b", "1e-2", 1, 0, 0, "pending")};
  SweepSettings s = arch_lr_settings();
  auto g = summarize(s, rows);
  REQUIRE(g.size() == 2);
  CHECK(g[0].group == std::vector<std::string>{"a"});
  CHECK(g[0].seeds == std::vector<int64_t>{0, 1});
  CHECK(g[0].chosen == std::vector<std::string>{"1e-3", "1e-2"});
  REQUIRE(g[0].metrics == std::vector<std::string>{"val_loss", "val_accuracy"});  // "tokens" left out
  LL_CHECK_NEAR(g[0].mean[0], 1.5, 1e-12);
  LL_CHECK_NEAR(g[0].std[0], std::sqrt(0.5), 1e-12);  // sample std of {1, 2}
  LL_CHECK_NEAR(g[0].mean[1], 0.7, 1e-12);            // accuracy at the chosen points: {0.9, 0.5}
  CHECK(g[1].seeds == std::vector<int64_t>{0});
  CHECK(g[1].chosen == std::vector<std::string>{"1e-2"});
  CHECK(g[1].mean[0] == 4.0);
  CHECK(g[1].std[0] == 0.0);
  CHECK(g[1].points == 4);
  CHECK(g[1].points_done == 2);

  // Chosen by accuracy instead: a picks 1e-2 for both seeds.
  s.metric = "val_accuracy";
  s.maximize = true;
  g = summarize(s, rows);
  CHECK(g[0].chosen == std::vector<std::string>{"1e-2", "1e-2"});
  LL_CHECK_NEAR(g[0].mean[0], 0.725, 1e-12);
  CHECK(g[0].metrics.front() == "val_accuracy");

  // The table: one line per group, seeds and incomplete groups marked, failures listed.
  const std::string md = summary_markdown("s.yaml", arch_lr_settings(), rows);
  CHECK(contains(md, "| model.arch | seeds | val_loss | val_accuracy | chosen optimizer.lr (per seed) |"));
  CHECK(contains(md, "| a | 2 | 1.5 ± 0.7071 | 0.7 ± 0.2828 | 1e-3, 1e-2 |"));
  CHECK(contains(md, "| b | 1 (2/4 points done) | 4 | 0.3 | 1e-2 |"));
  CHECK(contains(md, "6 of 8 points done"));
  CHECK(contains(md, "- `model.arch=b,optimizer.lr=1e-3,seed=1`"));
}

TEST_CASE("sweep summary: no grouping, and a grid key not grouped by is chosen over too", "[train][sweep]") {
  SweepSettings s;
  s.grid_keys = {"model.arch", "optimizer.lr"};
  std::vector<PointResult> rows = {row("a", "1e-3", 0, 2.0, 0), row("b", "1e-2", 0, 1.0, 0)};
  auto g = summarize(s, rows);
  REQUIRE(g.size() == 1);
  CHECK(g[0].chosen == std::vector<std::string>{"b/1e-2"});
  CHECK(contains(summary_markdown("x", s, rows), "chosen model.arch/optimizer.lr (per seed)"));
}

TEST_CASE("sweep csv: one row per point, read back the same", "[train][sweep]") {
  SweepSettings s = arch_lr_settings();
  std::vector<PointResult> rows = {row("a", "1e-3", 0, 1.25, 0.5), row("x,\"y\"", "1e-2", 1, 0, 0, "failed")};
  const std::string csv = sweep_csv(s, rows);
  CHECK(csv.rfind("point,model.arch,optimizer.lr,seed,status,wall_s,tokens,val_loss,val_accuracy\n", 0) == 0);
  CHECK(contains(csv, "\"model.arch=a,optimizer.lr=1e-3,seed=0\",a,1e-3,0,done,1.5,640,1.25,0.5\n"));
  CHECK(contains(csv, ",\"x,\"\"y\"\"\",1e-2,1,failed,1.5,,,\n"));
  auto back = parse_sweep_csv(csv, s, "sweep.csv");
  REQUIRE(back.size() == 2);
  CHECK(back[0].name == rows[0].name);
  CHECK(back[0].values == rows[0].values);
  CHECK(back[0].metrics == rows[0].metrics);
  CHECK(back[1].values[0] == "x,\"y\"");
  CHECK(back[1].status == "failed");
  CHECK(back[1].metrics.empty());
  CHECK(back[1].wall_s == 1.5);
  SweepSettings other = s;
  other.grid_keys = {"model.d_model", "optimizer.lr"};
  CHECK(contains(error_message([&] { parse_sweep_csv(csv, other, "sweep.csv"); }), "sweep.csv:1: the header"));
}

TEST_CASE("sweep settings: written and read back", "[train][sweep]") {
  SweepSettings s = arch_lr_settings();
  s.metric = "val_accuracy";
  s.maximize = true;
  CHECK(parse_settings(settings_yaml(s), "x") == s);
  s.group_by.clear();
  CHECK(parse_settings(settings_yaml(s), "x") == s);
  CHECK(contains(error_message([] { parse_settings("grid: [a]\n", "set.yaml"); }), "set.yaml"));
}
