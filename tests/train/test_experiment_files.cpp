// Every experiment definition under experiments/ is valid: each config file
// loads, and each sweep file (a file with a top-level grid:) reads and
// resolves every point's config, as `loglin sweep --dry-run` does, so a
// broken experiment fails CI before a GPU session finds out. The checked-in
// experiments also keep the promises their READMEs make (point counts, the
// same step count for every architecture, the files they need).
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "catch.h"
#include "train/checkpoint/file_io.h"
#include "train/config/config.h"
#include "train/sweep/sweep_file.h"
#include "train/sweep/sweep_plan.h"
#include "train/trainer/saved_run.h"
#include "train/trainer/trainer.h"

using namespace loglin;
namespace fs = std::filesystem;

namespace {

const fs::path kExperiments = fs::path(LOGLIN_SOURCE_DIR) / "experiments";

bool is_sweep_file(const fs::path& p) {
  std::istringstream in(io::read_file(p));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("grid:", 0) == 0) return true;
  return false;
}

std::vector<fs::path> yaml_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(kExperiments))
    if (e.is_regular_file() && e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<sweep::Point> points_of(const std::string& relative) {
  return sweep::resolve_points(sweep::load_sweep((kExperiments / relative).string()));
}

}  // namespace

TEST_CASE("every config and sweep file under experiments/ is valid", "[train][config][sweep]") {
  int configs = 0, sweeps = 0;
  for (const fs::path& p : yaml_files()) {
    INFO(p.string());
    if (is_sweep_file(p)) {
      std::vector<sweep::Point> points;
      CHECK_NOTHROW(points = sweep::resolve_points(sweep::load_sweep(p.string())));
      CHECK(!points.empty());
      for (const auto& pt : points)  // a file the runs read must be in the repository (paths from its root)
        if (!pt.config.data.tokenizer_path.empty())
          CHECK(fs::is_regular_file(fs::path(LOGLIN_SOURCE_DIR) / pt.config.data.tokenizer_path));
      ++sweeps;
    } else {
      CHECK_NOTHROW(load_config(p.string()));
      ++configs;
    }
  }
  CHECK(sweeps >= 3);
  CHECK(configs >= 3);
}

TEST_CASE("experiments: the MQAR sweeps hold what their READMEs say", "[train][sweep]") {
  const std::vector<std::string> archs = {"transformer", "mamba2", "loglinear_mamba2", "gated_deltanet",
                                          "loglinear_gated_deltanet"};
  SECTION("experiments/mqar: 5 archs x 3 widths x 5 lrs x 3 seeds, the same steps for all") {
    auto points = points_of("mqar/mqar_zoology.yaml");
    CHECK(points.size() == 225);
    std::set<std::string> seen_archs;
    std::set<int64_t> steps;
    for (const auto& p : points) {
      const TrainConfig& c = p.config;
      seen_archs.insert(c.model.arch);
      steps.insert(c.training.steps);
      CHECK(c.model.n_layers == 2);
      CHECK(c.model.head_dim * 2 == c.model.d_model);  // linked: K = P = d_model / 2
      CHECK(c.data.mqar.preset == "zoology");
      CHECK(c.data.mqar.vocab_size == 8192);
      CHECK(c.data.mqar.seq_len == 256);
      CHECK(c.data.mqar.num_pairs == 64);
    }
    CHECK(seen_archs == std::set<std::string>(archs.begin(), archs.end()));
    CHECK(steps.size() == 1);
  }
  SECTION("experiments/mqar_long: T in {512, 2048, 8192}, pairs T / 8, at width 64") {
    auto points = points_of("mqar_long/mqar_long.yaml");
    CHECK(points.size() == 225);
    std::set<int64_t> steps;
    std::map<int, int> per_T;
    for (const auto& p : points) {
      const TrainConfig& c = p.config;
      const int T = c.data.mqar.seq_len;
      ++per_T[T];
      steps.insert(c.training.steps);
      CHECK(c.model.d_model == 64);
      CHECK(c.model.max_seq_len == T);
      REQUIRE(c.data.mqar.train_mix.size() == 1);
      REQUIRE(c.data.mqar.test_configs.size() == 1);
      CHECK(c.data.mqar.train_mix[0].seq_len == T);
      CHECK(c.data.mqar.train_mix[0].num_pairs == T / 8);
      CHECK(c.data.mqar.test_configs[0].seq_len == T);
      CHECK(c.data.mqar.test_configs[0].num_pairs == T / 8);
      CHECK(int64_t(c.data.batch_size) * T == 32768);  // the same tokens per step at every T
      // the whole test set is evaluated
      CHECK(int64_t(c.training.eval_batches) * c.data.batch_size >= c.data.mqar.test_configs[0].examples);
    }
    CHECK(per_T == std::map<int, int>{{512, 75}, {2048, 75}, {8192, 75}});
    CHECK(steps.size() == 1);
  }
}

TEST_CASE("experiments: the Brown sweep trains equal-size models on the same tokens", "[train][sweep]") {
  auto points = points_of("brown/brown.yaml");
  CHECK(points.size() == 45);
  std::set<std::string> data, schedules;
  for (const auto& p : points) {
    const TrainConfig& c = p.config;
    std::ostringstream d, s;
    d << c.data.tokenizer << c.data.tokenizer_path << c.data.seq_len << "x" << c.data.batch_size;
    s << c.training.steps << "/" << c.schedule.name << "/" << c.schedule.warmup_steps;
    data.insert(d.str());
    schedules.insert(s.str());
    CHECK(c.data.tokenizer == "bpe");
    CHECK(c.training.eval_position_buckets == 8);
  }
  CHECK(data.size() == 1);
  CHECK(schedules.size() == 1);

  // The parameter counts of README.md's table, within 5 % of each other.
  std::map<std::string, int64_t> params;
  for (const auto& p : points) {
    if (params.count(p.config.model.arch)) continue;
    DataConfig d = p.config.data;
    d.tokenizer_path = (fs::path(LOGLIN_SOURCE_DIR) / d.tokenizer_path).string();
    params[p.config.model.arch] = nn::LanguageModel(lm_options(p.config.model, config_vocab_size(d))).num_parameters();
  }
  CHECK(params == std::map<std::string, int64_t>{{"transformer", 8097024},
                                                 {"mamba2", 7935120},
                                                 {"loglinear_mamba2", 8083152},
                                                 {"gated_deltanet", 8027172},
                                                 {"loglinear_gated_deltanet", 8082684}});
  int64_t lo = INT64_MAX, hi = 0;
  for (const auto& [arch, n] : params) lo = std::min(lo, n), hi = std::max(hi, n);
  CHECK(static_cast<double>(hi) <= 1.05 * static_cast<double>(lo));
}
