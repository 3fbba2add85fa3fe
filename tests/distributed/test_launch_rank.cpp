// rank_from_env(): the rank a launcher gave this process, from loglin's own
// --gpus (RANK, WORLD_SIZE, LOCAL_RANK), Open MPI's mpirun or Slurm's srun;
// the first family present wins, bad values are named.
#include <array>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catch.h"
#include "distributed/launch_rank.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::EnvVar;

namespace {

// Every variable rank_from_env() reads, cleared, then the given ones set.
class LaunchEnv {
 public:
  LaunchEnv(std::initializer_list<std::pair<const char*, const char*>> set) {
    static constexpr std::array kAll = {"RANK",          "WORLD_SIZE",           "LOCAL_RANK",
                                        "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                                        "SLURM_PROCID",  "SLURM_NTASKS",         "SLURM_LOCALID"};
    for (const char* name : kAll) {
      const char* value = nullptr;
      for (const auto& [n, v] : set)
        if (std::string(n) == name) value = v;
      vars_.push_back(std::make_unique<EnvVar>(name, value));
    }
  }

 private:
  std::vector<std::unique_ptr<EnvVar>> vars_;
};

std::string error_of_env(std::initializer_list<std::pair<const char*, const char*>> set) {
  LaunchEnv e(set);
  return loglin_test::error_message([] { dist::rank_from_env(); });
}

}  // namespace

TEST_CASE("launch rank: no launcher means rank 0 of 1", "[distributed]") {
  LaunchEnv e({});
  const dist::LaunchRank r = dist::rank_from_env();
  CHECK(r.rank == 0);
  CHECK(r.world_size == 1);
  CHECK(r.local_rank == 0);
  CHECK(r.source == "none");
}

TEST_CASE("launch rank: RANK, WORLD_SIZE, LOCAL_RANK", "[distributed]") {
  {
    LaunchEnv e({{"RANK", "3"}, {"WORLD_SIZE", "4"}});
    const dist::LaunchRank r = dist::rank_from_env();
    CHECK(r.rank == 3);
    CHECK(r.world_size == 4);
    CHECK(r.local_rank == 3);  // LOCAL_RANK defaults to RANK
    CHECK(r.source == "RANK");
  }
  {
    LaunchEnv e({{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}});
    const dist::LaunchRank r = dist::rank_from_env();
    CHECK(r.rank == 5);
    CHECK(r.local_rank == 1);
  }
}

TEST_CASE("launch rank: Open MPI's and Slurm's variables when RANK is not set", "[distributed]") {
  {
    LaunchEnv e({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "6"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}});
    const dist::LaunchRank r = dist::rank_from_env();
    CHECK(r.rank == 2);
    CHECK(r.world_size == 6);
    CHECK(r.local_rank == 0);
    CHECK(r.source == "OMPI_COMM_WORLD_RANK");
  }
  {
    LaunchEnv e({{"SLURM_PROCID", "7"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "3"}});
    const dist::LaunchRank r = dist::rank_from_env();
    CHECK(r.rank == 7);
    CHECK(r.world_size == 8);
    CHECK(r.local_rank == 3);
    CHECK(r.source == "SLURM_PROCID");
  }
  {
    // RANK wins over Slurm's, and nothing of Slurm's is mixed in.
    LaunchEnv e({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "16"},
                 {"SLURM_LOCALID", "5"}});
    const dist::LaunchRank r = dist::rank_from_env();
    CHECK(r.rank == 1);
    CHECK(r.world_size == 2);
    CHECK(r.local_rank == 1);
    CHECK(r.source == "RANK");
  }
  {
    // Open MPI wins over Slurm (mpirun inside an allocation).
    LaunchEnv e({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"SLURM_PROCID", "0"},
                 {"SLURM_NTASKS", "1"}});
    const dist::LaunchRank r = dist::rank_from_env();
    CHECK(r.rank == 1);
    CHECK(r.world_size == 2);
    CHECK(r.source == "OMPI_COMM_WORLD_RANK");
  }
}

TEST_CASE("launch rank: bad values are named", "[distributed]") {
  CHECK(loglin_test::contains(error_of_env({{"RANK", "4"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "0"}}),
                              "RANK=4 is not below WORLD_SIZE=4"));
  CHECK(loglin_test::contains(error_of_env({{"RANK", "one"}, {"WORLD_SIZE", "2"}}), "RANK='one'"));
  CHECK(loglin_test::contains(error_of_env({{"RANK", "0"}, {"WORLD_SIZE", "-2"}}), "WORLD_SIZE='-2'"));
  CHECK(loglin_test::contains(error_of_env({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "2"}}),
                              "LOCAL_RANK=2 is not below WORLD_SIZE=2"));
  CHECK(loglin_test::contains(error_of_env({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "2"}}),
                              "SLURM_PROCID=3 is not below SLURM_NTASKS=2"));
  CHECK(loglin_test::contains(error_of_env({{"OMPI_COMM_WORLD_RANK", "x1"}, {"OMPI_COMM_WORLD_SIZE", "2"}}),
                              "OMPI_COMM_WORLD_RANK='x1'"));
  const std::string no_rank = error_of_env({{"WORLD_SIZE", "2"}});
  CHECK(loglin_test::contains(no_rank, "WORLD_SIZE=2 is set but RANK is not"));
  CHECK(loglin_test::contains(no_rank, "--gpus 2"));
}
