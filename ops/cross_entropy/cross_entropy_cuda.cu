// Fused cross-entropy kernels. Forward: a team per row (warp for C <= 1024,
// else a block) finds the max and the sum of exp and writes the row's lse and
// loss; one block then averages the counted rows' losses in a fixed order
// (deterministic, no atomics) and writes the loss and the count on the
// device. Backward: a team per row writes (exp(x - lse) - onehot) * g / count.
#include <limits>

#include "core/cuda_launch.cuh"
#include "ops/cross_entropy/cross_entropy_cuda.h"
#include "ops/reduce/team_reduce.cuh"
#include "ops/reduce/workspace.cuh"

namespace loglin::cuda {
namespace {

template <class Team, class T, class I>
__global__ void cross_entropy_fwd_rows_kernel(const T* logits, const I* targets, int64_t rows, int64_t C,
                                              int64_t ignore_index, double* lse, double* row_loss) {
  using A = acc_t<T>;
  const Team team{};
  for (int64_t r = team.id(); r < rows; r += team.count()) {
    const int64_t t = static_cast<int64_t>(targets[r]);
    if (t == ignore_index) {
      if (team.rank() == 0) lse[r] = row_loss[r] = 0.0;
      continue;
    }
    const T* x = logits + r * C;
    A m = MaxOp<A>{}.identity();
    for (int64_t c = team.rank(); c < C; c += team.size()) m = fmax(m, load_acc(x + c));
    m = team.allreduce(m, MaxOp<A>{});
    A s = A(0);
    for (int64_t c = team.rank(); c < C; c += team.size()) s += dev_exp(load_acc(x + c) - m);
    s = team.allreduce(s, SumOp<A>{});
    if (team.rank() == 0) {
      // As the CPU: m exact in T, log(s) added in double.
      const double l = static_cast<double>(m) + log(static_cast<double>(s));
      const bool valid = t >= 0 && t < C;
      const double nan = std::numeric_limits<double>::quiet_NaN();
      lse[r] = valid ? l : nan;
      row_loss[r] = valid ? l - static_cast<double>(load_acc(x + t)) : nan;
    }
  }
}

// One block: the mean over counted rows, summed in a fixed order.
template <class T, class I>
__global__ void cross_entropy_mean_kernel(const I* targets, const double* row_loss, int64_t rows, int64_t ignore_index,
                                          T* loss, double* count) {
  double total = 0.0, n = 0.0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
    if (static_cast<int64_t>(targets[r]) == ignore_index) continue;
    total += row_loss[r];
    n += 1.0;
  }
  const BlockTeam team{};
  total = team.allreduce(total, SumOp<double>{});
  n = team.allreduce(n, SumOp<double>{});
  if (threadIdx.x == 0) {
    store_from(loss, static_cast<acc_t<T>>(n > 0 ? total / n : 0.0));
    *count = n;
  }
}

template <class Team, class T, class I>
__global__ void cross_entropy_bwd_rows_kernel(const T* logits, const I* targets, const double* lse, const T* g,
                                              const double* count, int64_t rows, int64_t C, int64_t ignore_index,
                                              T* dlogits) {
  using A = acc_t<T>;
  const Team team{};
  const double n = *count;
  const double scale = n > 0 ? static_cast<double>(load_acc(g)) / n : 0.0;
  for (int64_t r = team.id(); r < rows; r += team.count()) {
    const int64_t t = static_cast<int64_t>(targets[r]);
    T* dx = dlogits + r * C;
    if (t == ignore_index) {
      for (int64_t c = team.rank(); c < C; c += team.size()) store_from(dx + c, A(0));
      continue;
    }
    const T* x = logits + r * C;
    const double l = lse[r];
    for (int64_t c = team.rank(); c < C; c += team.size()) {
      const double p = static_cast<double>(dev_exp(static_cast<A>(static_cast<double>(load_acc(x + c)) - l)));
      // p - 1 in double: in T it would cancel when p is near 1.
      store_from(dx + c, static_cast<A>((c == t ? p - 1.0 : p) * scale));
    }
  }
}

}  // namespace

template <class T, class I>
void cross_entropy_fwd(const T* logits, const I* targets, int64_t rows, int64_t C, int64_t ignore_index, double* lse,
                       T* loss, double* count, int device) {
  cudaStream_t s = stream(device);
  Workspace<double> row_loss(rows, device);
  if (rows > 0) {
    if (C <= kWarpRowMax)
      cross_entropy_fwd_rows_kernel<WarpTeam, T, I><<<warp_team_blocks(rows), kWarpTeamThreads, 0, s>>>(
          logits, targets, rows, C, ignore_index, lse, row_loss.get());
    else
      cross_entropy_fwd_rows_kernel<BlockTeam, T, I><<<block_team_blocks(rows), kBlockTeamThreads, 0, s>>>(
          logits, targets, rows, C, ignore_index, lse, row_loss.get());
    LOGLIN_CUDA_LAUNCHED("cross_entropy");
  }
  // Also for rows == 0: the loss and count are still written (as 0).
  cross_entropy_mean_kernel<T, I><<<1, kBlockTeamThreads, 0, s>>>(targets, row_loss.get(), rows, ignore_index, loss,
                                                                  count);
  LOGLIN_CUDA_LAUNCHED("cross_entropy");
}

template <class T, class I>
void cross_entropy_bwd(const T* logits, const I* targets, const double* lse, const T* g, const double* count,
                       int64_t rows, int64_t C, int64_t ignore_index, T* dlogits, int device) {
  if (rows == 0 || C == 0) return;
  cudaStream_t s = stream(device);
  if (C <= kWarpRowMax)
    cross_entropy_bwd_rows_kernel<WarpTeam, T, I><<<warp_team_blocks(rows), kWarpTeamThreads, 0, s>>>(
        logits, targets, lse, g, count, rows, C, ignore_index, dlogits);
  else
    cross_entropy_bwd_rows_kernel<BlockTeam, T, I><<<block_team_blocks(rows), kBlockTeamThreads, 0, s>>>(
        logits, targets, lse, g, count, rows, C, ignore_index, dlogits);
  LOGLIN_CUDA_LAUNCHED("cross_entropy");
}

#define LOGLIN_CE_INSTANTIATE(T, I)                                                                         \
  template void cross_entropy_fwd<T, I>(const T*, const I*, int64_t, int64_t, int64_t, double*, T*, double*, \
                                        int);                                                               \
  template void cross_entropy_bwd<T, I>(const T*, const I*, const double*, const T*, const double*, int64_t,  \
                                        int64_t, int64_t, T*, int);
LOGLIN_CE_INSTANTIATE(float, int32_t)
LOGLIN_CE_INSTANTIATE(float, int64_t)
LOGLIN_CE_INSTANTIATE(double, int32_t)
LOGLIN_CE_INSTANTIATE(double, int64_t)
#undef LOGLIN_CE_INSTANTIATE

}  // namespace loglin::cuda
