// The config keys of packed documents (data.pack, data.documents): their
// defaults, and the combinations that are errors before training starts.
#include <string>

#include "catch.h"
#include "test_util.h"
#include "train/config/config.h"

using loglin::parse_config;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

std::string parse_error(const std::string& yaml) {
  return error_message([&] { parse_config(yaml, "x.yaml"); });
}

}  // namespace

TEST_CASE("config: data.pack and data.documents", "[train][packed]") {
  const auto plain = parse_config("model: {arch: mamba2}\n", "x.yaml");
  CHECK_FALSE(plain.data.pack);
  CHECK(plain.data.documents == "files");
  const auto packed =
      parse_config("model: {arch: transformer}\ndata:\n  pack: true\n  documents: blank_lines\n", "x.yaml");
  CHECK(packed.data.pack);
  CHECK(packed.data.documents == "blank_lines");
  // Every architecture resets at document starts, so each may pack.
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2", "gated_deltanet", "loglinear_gated_deltanet"})
    CHECK_NOTHROW(parse_config(std::string("model: {arch: ") + arch + "}\ndata: {pack: true}\n", "x.yaml"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ndata:\n  dataset: mqar\n  pack: true\n"),
                 "x.yaml:4: data.pack packs the documents of a text corpus"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ndata:\n  documents: blank_lines\n"),
                 "x.yaml:3: data.documents says where documents end, which only packing uses; set data.pack: true"));
  // The default, as every written config.yaml names it, is fine without packing.
  CHECK_NOTHROW(parse_config("model: {arch: mamba2}\ndata:\n  documents: files\n", "x.yaml"));
  CHECK_NOTHROW(parse_config(loglin::to_yaml(packed), "resolved.yaml"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ndata:\n  pack: true\n  documents: paragraphs\n"),
                 "data.documents"));
}
