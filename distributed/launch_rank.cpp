#include "distributed/launch_rank.h"

#include <cstdlib>

#include "core/error.h"

namespace loglin::dist {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int fallback) {
  const char* v = env(name);
  if (!v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  LOGLIN_CHECK(end && *end == '\0' && x >= 0 && x < (1 << 20), "[dist] environment variable {}='{}' is not a rank count",
               name, v);
  return static_cast<int>(x);
}

struct Family {
  const char* rank;
  const char* size;
  const char* local;
};

constexpr Family kFamilies[] = {
    {"RANK", "WORLD_SIZE", "LOCAL_RANK"},
    {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
    {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
};

}  // namespace

LaunchRank rank_from_env() {
  LaunchRank r;
  const Family* f = nullptr;
  for (const Family& fam : kFamilies)
    if (env(fam.rank)) {
      f = &fam;
      break;
    }
  if (!f) {
    // No rank anywhere: one process, unless a world size says otherwise, in
    // which case every process would think it is rank 0 and wait for ever.
    r.world_size = env_int("WORLD_SIZE", 1);
    LOGLIN_CHECK(r.world_size == 1,
                 "[dist] WORLD_SIZE={} is set but RANK is not: set RANK (and LOCAL_RANK) for every process, or use "
                 "`loglin train CONFIG --gpus {}`, which sets them",
                 r.world_size, r.world_size);
    return r;
  }
  r.source = f->rank;
  r.rank = env_int(f->rank, 0);
  r.world_size = env_int(f->size, 1);
  r.local_rank = env_int(f->local, r.rank);
  LOGLIN_CHECK(r.world_size >= 1 && r.rank < r.world_size, "[dist] {}={} is not below {}={}", f->rank, r.rank, f->size,
               r.world_size);
  LOGLIN_CHECK(r.local_rank < r.world_size, "[dist] {}={} is not below {}={}", f->local, r.local_rank, f->size,
               r.world_size);
  return r;
}

}  // namespace loglin::dist
