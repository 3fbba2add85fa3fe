// Which rank this process is, as a launcher told it through the environment,
// so the same binary runs under `loglin train --gpus N`, torchrun-style
// launchers, mpirun and srun without flags of its own.
//
//   RANK, WORLD_SIZE, LOCAL_RANK                 loglin --gpus, torchrun, most wrappers
//   OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK     Open MPI's mpirun (when RANK is not set)
//   SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID    srun (when neither of the above is set)
//
// The first family present wins, and all three values come from it (mixing
// families would pair one launcher's rank with another's world size).
// Slurm sets SLURM_PROCID and SLURM_NTASKS in a batch script too, outside any
// srun step: start the ranks with srun, not by running the program directly
// in an sbatch script with several tasks.
#pragma once
#include <string>

namespace loglin::dist {

struct LaunchRank {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string source = "none";  // the variable the rank came from: "RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"
};

// Defaults: rank 0 of 1, LOCAL_RANK = rank. Errors name the variable: a value
// that is not a non-negative integer, a rank not below the world size, a local
// rank not below the world size, or a world size above 1 with no rank given.
LaunchRank rank_from_env();

}  // namespace loglin::dist
