// Every YAML file shipped in configs/ passes strict validation.
#include <filesystem>

#include "catch.h"
#include "train/config/config.h"

using namespace loglin;

TEST_CASE("every file in configs/ is a valid config", "[train][config]") {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(LOGLIN_SOURCE_DIR) / "configs")) {
    if (e.path().extension() != ".yaml") continue;
    INFO(e.path().string());
    CHECK_NOTHROW(load_config(e.path().string()));
    ++n;
  }
  CHECK(n >= 9);
}
