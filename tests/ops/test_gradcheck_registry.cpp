// Runs every registered gradcheck case (the same registry `loglin gradcheck`
// prints), one Catch2 section per case, so a failure names the op and inputs.
#include "catch.h"
#include "ops/gradcheck_cases.h"

using namespace loglin;

TEST_CASE("gradcheck registry: every differentiable op passes", "[ops][gradcheck]") {
  const auto& cases = gradcheck_cases();
  REQUIRE(cases.size() > 20);
  for (const auto& name : gradcheck_op_names()) {
    DYNAMIC_SECTION(name) {
      for (const auto& row : run_gradcheck(name, 0)) {
        INFO(row.gcase->op << " " << row.gcase->label << ": " << row.result.message);
        CHECK(row.result.passed);
        CHECK(row.result.max_abs_err < 1e-4);
      }
    }
  }
}

TEST_CASE("gradcheck registry: unknown op is a clear error", "[ops][gradcheck]") {
  CHECK_THROWS_AS(run_gradcheck("no_such_op"), loglin::Error);
  try {
    run_gradcheck("no_such_op");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("no op named 'no_such_op'") != std::string::npos);
  }
}
