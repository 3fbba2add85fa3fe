#include "train/checkpoint/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <sstream>

#include "train/checkpoint/file_io.h"
#include "train/checkpoint/json.h"

namespace fs = std::filesystem;

namespace loglin {
namespace {

constexpr const char* kFormat = "loglin-checkpoint";
constexpr int64_t kVersion = 1;
constexpr const char* kModelFile = "model.safetensors";
constexpr const char* kOptimFile = "optimizer.safetensors";
constexpr const char* kStateFile = "state.json";
constexpr const char* kTempPrefix = ".tmp_step_";

// The step of a "step_<digits>" name, or -1.
int64_t parse_step_name(const std::string& name) {
  if (name.rfind("step_", 0) != 0 || name.size() == 5) return -1;
  int64_t step = -1;
  const char* b = name.data() + 5;
  const char* e = name.data() + name.size();
  auto r = std::from_chars(b, e, step);
  return (r.ec == std::errc() && r.ptr == e) ? step : -1;
}

json::Value file_record(const fs::path& p) {
  json::Value::Object rec;
  rec.emplace("bytes", json::Value(static_cast<uint64_t>(fs::file_size(p))));
  rec.emplace("fnv1a64", json::Value(io::hex64(io::fnv1a64_file(p))));
  return json::Value(std::move(rec));
}

void verify_file(const fs::path& p, const json::Value& rec, const fs::path& state_path) {
  LOGLIN_CHECK(fs::exists(p), "[checkpoint] checkpoint {} is missing (listed in {})", p.string(), state_path.string());
  uint64_t want = 0;
  std::string want_hash;
  try {
    want = static_cast<uint64_t>(rec.at("bytes").as_int());
    want_hash = rec.at("fnv1a64").as_string();
  } catch (const Error& e) {
    LOGLIN_FAIL("[checkpoint] {}: bad record for {}: {}", state_path.string(), p.filename().string(), e.what());
  }
  const uint64_t have = fs::file_size(p);
  LOGLIN_CHECK(have >= want, "[checkpoint] checkpoint {} is truncated: state.json says {} bytes, file has {}",
               p.string(), want, have);
  LOGLIN_CHECK(have == want, "[checkpoint] checkpoint {} has {} bytes but state.json says {}: changed after saving",
               p.string(), have, want);
  const std::string got = io::hex64(io::fnv1a64_file(p));
  LOGLIN_CHECK(got == want_hash, "[checkpoint] checkpoint {} is corrupt: its FNV-1a 64 is {}, state.json says {}",
               p.string(), got, want_hash);
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

}  // namespace

std::string checkpoint_dir_name(int64_t step) { return fmt::format("step_{:06d}", step); }

fs::path save_checkpoint(const fs::path& dir, int64_t step, const TensorMap& model, const TensorMap& optimizer,
                         const StringMap& metadata, int keep_last) {
  LOGLIN_CHECK(step >= 0, "[checkpoint] step {} is negative", step);
  std::error_code ec;
  fs::create_directories(dir, ec);
  LOGLIN_CHECK(!ec, "[checkpoint] cannot create {}: {}", dir.string(), ec.message());

  // One trainer writes a run directory, so temporary directories found here
  // are leftovers of a crashed save.
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(kTempPrefix, 0) == 0) remove_quietly(entry.path());
  }

  const std::string name = checkpoint_dir_name(step);
  const fs::path final_dir = dir / name;
  const fs::path tmp = dir / fmt::format("{}{}.{}", kTempPrefix, step, ::getpid());
  fs::create_directory(tmp, ec);
  LOGLIN_CHECK(!ec, "[checkpoint] cannot create {}: {}", tmp.string(), ec.message());
  try {
    const std::string step_text = std::to_string(step);
    save_safetensors(tmp / kModelFile, model, {{"loglin", "model"}, {"step", step_text}});
    save_safetensors(tmp / kOptimFile, optimizer, {{"loglin", "optimizer"}, {"step", step_text}});

    json::Value::Object files;
    files.emplace(kModelFile, file_record(tmp / kModelFile));
    files.emplace(kOptimFile, file_record(tmp / kOptimFile));
    json::Value::Object meta;
    for (const auto& [k, v] : metadata) meta.emplace(k, json::Value(v));
    json::Value::Object state;
    state.emplace("format", json::Value(kFormat));
    state.emplace("version", json::Value(kVersion));
    state.emplace("step", json::Value(step));
    state.emplace("files", json::Value(std::move(files)));
    state.emplace("metadata", json::Value(std::move(meta)));
    io::write_file_atomic(tmp / kStateFile, json::Value(std::move(state)).dump() + "\n");
    io::sync_dir(tmp);

    if (fs::exists(final_dir)) {
      // Saving a step twice (a resumed run): move the old one aside first,
      // because rename cannot replace a non-empty directory.
      const fs::path old = dir / fmt::format("{}old_{}.{}", kTempPrefix, step, ::getpid());
      fs::rename(final_dir, old);
      fs::rename(tmp, final_dir);
      remove_quietly(old);
    } else {
      fs::rename(tmp, final_dir);
    }
    io::sync_dir(dir);
  } catch (const fs::filesystem_error& e) {
    remove_quietly(tmp);
    LOGLIN_FAIL("[checkpoint] cannot save {}: {}", final_dir.string(), e.what());
  } catch (...) {
    remove_quietly(tmp);
    throw;
  }

  if (keep_last > 0) {
    std::vector<fs::path> all = list_checkpoints(dir);
    std::erase(all, final_dir);  // never prune what was just written
    const size_t keep_others = static_cast<size_t>(keep_last - 1);
    for (size_t i = 0; i + keep_others < all.size(); ++i) remove_quietly(all[i]);
  }
  return final_dir;
}

Checkpoint load_checkpoint(const fs::path& step_dir) {
  const fs::path state_path = step_dir / kStateFile;
  LOGLIN_CHECK(fs::is_directory(step_dir), "[checkpoint] {} is not a checkpoint directory", step_dir.string());
  LOGLIN_CHECK(fs::exists(state_path), "[checkpoint] {} has no {} (not a checkpoint, or an incomplete one)",
               step_dir.string(), kStateFile);
  json::Value state = json::Value::parse(io::read_file(state_path), "[checkpoint] " + state_path.string());

  Checkpoint ck;
  ck.path = step_dir;
  try {
    LOGLIN_CHECK(state.at("format").as_string() == kFormat, "format is not {}", kFormat);
    const int64_t version = state.at("version").as_int();
    LOGLIN_CHECK(version == kVersion, "version {} is not supported (this build reads {})", version, kVersion);
    ck.step = state.at("step").as_int();
    for (const auto& [k, v] : state.at("metadata").as_object()) ck.metadata[k] = v.as_string();
    state.at("files").at(kModelFile);
    state.at("files").at(kOptimFile);
  } catch (const Error& e) {
    LOGLIN_FAIL("[checkpoint] {}: {}", state_path.string(), e.what());
  }
  const json::Value& files = state.at("files");
  verify_file(step_dir / kModelFile, files.at(kModelFile), state_path);
  verify_file(step_dir / kOptimFile, files.at(kOptimFile), state_path);
  ck.model = load_safetensors(step_dir / kModelFile).tensors;
  ck.optimizer = load_safetensors(step_dir / kOptimFile).tensors;
  return ck;
}

std::vector<fs::path> list_checkpoints(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  for (const auto& entry : fs::directory_iterator(dir)) {
    const int64_t step = parse_step_name(entry.path().filename().string());
    if (step >= 0 && entry.is_directory() && fs::exists(entry.path() / kStateFile)) found.emplace_back(step, entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [_, p] : found) out.push_back(std::move(p));
  return out;
}

std::optional<fs::path> latest_checkpoint(const fs::path& dir) {
  std::vector<fs::path> all = list_checkpoints(dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::string rng_state_to_string(const Generator::State& s) {
  uint64_t spare_bits;
  std::memcpy(&spare_bits, &s.spare, sizeof spare_bits);
  // The spare normal is kept as raw bits so it round-trips exactly.
  return fmt::format("xoshiro256ss {:016x} {:016x} {:016x} {:016x} {} {:016x}", s.s[0], s.s[1], s.s[2], s.s[3],
                     s.has_spare ? 1 : 0, spare_bits);
}

Generator::State rng_state_from_string(const std::string& text) {
  std::istringstream in(text);
  std::string tag;
  Generator::State s{};
  int spare_flag = -1;
  uint64_t spare_bits = 0;
  in >> tag >> std::hex >> s.s[0] >> s.s[1] >> s.s[2] >> s.s[3] >> std::dec >> spare_flag >> std::hex >> spare_bits;
  std::string rest;
  LOGLIN_CHECK(in && tag == "xoshiro256ss" && (spare_flag == 0 || spare_flag == 1) && !(in >> rest),
               "[checkpoint] '{}' is not a generator state (expected \"xoshiro256ss\" then 4 words, a flag and a word "
               "in hex)",
               text);
  s.has_spare = spare_flag == 1;
  std::memcpy(&s.spare, &spare_bits, sizeof spare_bits);
  return s;
}

}  // namespace loglin
