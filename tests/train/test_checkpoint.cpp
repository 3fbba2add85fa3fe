// Checkpoints: save/load round trip, pruning to keep_last, no leftovers,
// and damaged files refused with a clear message.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "catch.h"
#include "core/rng.h"
#include "test_util.h"
#include "train/checkpoint/checkpoint.h"

namespace fs = std::filesystem;
using namespace loglin;
using loglin_test::TempDir;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TensorMap small_model(uint64_t seed) {
  Generator gen(seed);
  return {{"embed.weight", randn({5, 4}, DType::f32, gen)}, {"head.bias", Tensor::zeros({5})}};
}

}  // namespace

TEST_CASE("checkpoint save and load round-trip", "[train][checkpoint]") {
  TempDir dir("ck_roundtrip");
  Generator gen(123);
  gen.normal();  // leaves a spare normal in the state
  const TensorMap model = small_model(1);
  const TensorMap optim = {{"embed.weight.m", Tensor::ones({5, 4})}, {"step", Tensor::scalar(42, DType::i64)}};
  const StringMap meta = {{"config", "model:\n  d_model: 4\n"}, {"rng", rng_state_to_string(gen.state())}};

  const fs::path saved = save_checkpoint(dir.path, 42, model, optim, meta, 3);
  CHECK(saved == dir.path / "step_000042");
  CHECK(names_in(saved) == std::vector<std::string>{"model.safetensors", "optimizer.safetensors", "state.json"});
  CHECK(names_in(dir.path) == std::vector<std::string>{"step_000042"});  // no temporary left
  REQUIRE(latest_checkpoint(dir.path).has_value());
  CHECK(*latest_checkpoint(dir.path) == saved);

  Checkpoint ck = load_checkpoint(saved);
  CHECK(ck.step == 42);
  CHECK(ck.path == saved);
  CHECK(ck.metadata == meta);
  REQUIRE(ck.model.size() == 2);
  CHECK(ck.model.at("embed.weight").to_vector<float>() == model.at("embed.weight").to_vector<float>());
  CHECK(ck.model.at("head.bias").shape() == Shape{5});
  CHECK(ck.optimizer.at("step").dim() == 0);
  CHECK(ck.optimizer.at("step").item() == 42);

  // The model file is plain safetensors with the step in its metadata.
  SafetensorsFile st = load_safetensors(saved / "model.safetensors");
  CHECK(st.metadata.at("step") == "42");

  // The RNG state round-trips exactly, spare normal included.
  Generator restored(0);
  restored.set_state(rng_state_from_string(ck.metadata.at("rng")));
  for (int i = 0; i < 5; ++i) CHECK(restored.normal() == gen.normal());
  CHECK_THROWS_AS(rng_state_from_string("xoshiro256ss 1 2 3"), Error);
  CHECK_THROWS_AS(rng_state_from_string(rng_state_to_string(gen.state()) + " extra"), Error);
}

TEST_CASE("checkpoint keeps the last N and finds the latest", "[train][checkpoint]") {
  TempDir dir("ck_prune");
  CHECK_FALSE(latest_checkpoint(dir.path).has_value());
  CHECK_FALSE(latest_checkpoint(dir.path / "nope").has_value());
  for (int64_t step : {100, 200, 300, 400, 500}) save_checkpoint(dir.path, step, small_model(step), {}, {}, 2);
  CHECK(names_in(dir.path) == std::vector<std::string>{"step_000400", "step_000500"});
  CHECK(*latest_checkpoint(dir.path) == dir.path / "step_000500");

  // Steps sort as numbers, not text.
  save_checkpoint(dir.path, 1234567, small_model(9), {}, {}, 2);
  CHECK(names_in(dir.path) == std::vector<std::string>{"step_000500", "step_1234567"});
  CHECK(*latest_checkpoint(dir.path) == dir.path / "step_1234567");

  // What was just written survives pruning even if older than the rest.
  save_checkpoint(dir.path, 50, small_model(50), {}, {}, 2);
  CHECK(names_in(dir.path) == std::vector<std::string>{"step_000050", "step_1234567"});

  // keep_last <= 0 keeps everything; re-saving a step replaces it.
  save_checkpoint(dir.path, 60, small_model(60), {}, {}, 0);
  save_checkpoint(dir.path, 60, small_model(61), {}, {{"again", "yes"}}, 0);
  CHECK(names_in(dir.path) == std::vector<std::string>{"step_000050", "step_000060", "step_1234567"});
  Checkpoint again = load_checkpoint(dir.path / "step_000060");
  CHECK(again.metadata.at("again") == "yes");
  CHECK(again.model.at("embed.weight").to_vector<float>() == small_model(61).at("embed.weight").to_vector<float>());
}

TEST_CASE("checkpoint ignores and clears what a crashed save left", "[train][checkpoint]") {
  TempDir dir("ck_crash");
  save_checkpoint(dir.path, 1, small_model(1), {}, {}, 5);
  // A crash mid-save: a temporary dir, and a step dir without state.json.
  fs::create_directories(dir.path / ".tmp_step_2.999999");
  std::ofstream(dir.path / ".tmp_step_2.999999" / "model.safetensors") << "partial";
  fs::create_directories(dir.path / "step_000003");
  CHECK(*latest_checkpoint(dir.path) == dir.path / "step_000001");
  CHECK(list_checkpoints(dir.path).size() == 1);
  CHECK_THROWS_AS(load_checkpoint(dir.path / "step_000003"), Error);
  CHECK(contains(error_message([&] { load_checkpoint(dir.path / "step_000003"); }), "has no state.json"));

  save_checkpoint(dir.path, 4, small_model(4), {}, {}, 5);
  CHECK_FALSE(fs::exists(dir.path / ".tmp_step_2.999999"));
}

TEST_CASE("checkpoint rejects truncated and corrupted files", "[train][checkpoint]") {
  TempDir dir("ck_damage");
  const fs::path ck = save_checkpoint(dir.path, 100, small_model(3), {{"m", Tensor::ones({64})}}, {}, 3);
  const fs::path model = ck / "model.safetensors";
  const uint64_t size = fs::file_size(model);

  SECTION("truncated model") {
    fs::resize_file(model, size - 10);
    CHECK_THROWS_AS(load_checkpoint(ck), Error);
    const std::string msg = error_message([&] { load_checkpoint(ck); });
    CHECK(contains(msg, "checkpoint " + model.string() + " is truncated"));
    CHECK(contains(msg, fmt::format("says {} bytes, file has {}", size, size - 10)));
  }
  SECTION("a flipped byte") {
    {
      std::fstream f(model, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(size - 1));
      f.put('\x55');
    }
    CHECK(contains(error_message([&] { load_checkpoint(ck); }), "is corrupt"));
  }
  SECTION("missing optimizer file") {
    fs::remove(ck / "optimizer.safetensors");
    CHECK(contains(error_message([&] { load_checkpoint(ck); }), "optimizer.safetensors is missing"));
  }
  SECTION("truncated state.json") {
    const fs::path state = ck / "state.json";
    fs::resize_file(state, fs::file_size(state) / 2);
    const std::string msg = error_message([&] { load_checkpoint(ck); });
    CHECK(contains(msg, state.string()));
    CHECK(contains(msg, "invalid JSON at byte"));
  }
}
