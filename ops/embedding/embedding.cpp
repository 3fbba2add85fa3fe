#include "ops/embedding/embedding.h"

#include <algorithm>
#include <cstring>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/op_checks.h"

namespace loglin {
namespace {

constexpr int64_t kParallelGrain = 1 << 15;

// ids in row-major order as int64, each checked against the vocab size here,
// outside any parallel region, so a bad id throws cleanly.
std::vector<int64_t> checked_ids(const Tensor& ids, int64_t vocab) {
  std::vector<int64_t> out = dispatch_index(ids.dtype(), "embedding", [&]<class I>() {
    std::vector<I> v = ids.to_vector<I>();
    return std::vector<int64_t>(v.begin(), v.end());
  });
  for (int64_t id : out)
    LOGLIN_CHECK(id >= 0 && id < vocab, "[embedding] id {} out of range for vocab {}", id, vocab);
  return out;
}

// weight [V, D] contiguous, out [N, D]: out[n] = weight[ids[n]].
template <class T>
void embedding_fwd_cpu(const T* weight, const std::vector<int64_t>& ids, int64_t D, T* out) {
  const int64_t N = static_cast<int64_t>(ids.size());
#pragma omp parallel for if (N * D > kParallelGrain)
  for (int64_t n = 0; n < N; ++n) std::memcpy(out + n * D, weight + ids[n] * D, sizeof(T) * D);
}

// g [N, D] contiguous, dweight [V, D] zeroed: dweight[v] = sum of g[n] over n with ids[n] == v.
// Positions are bucketed by id first so each row of dweight has one writer
// (no races) and sums its rows in position order (deterministic).
template <class T>
void embedding_bwd_cpu(const T* g, const std::vector<int64_t>& ids, int64_t V, int64_t D, T* dweight) {
  const int64_t N = static_cast<int64_t>(ids.size());
  std::vector<int64_t> start(V + 1, 0), order(N);
  for (int64_t id : ids) ++start[id + 1];
  for (int64_t v = 0; v < V; ++v) start[v + 1] += start[v];
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t n = 0; n < N; ++n) order[fill[ids[n]]++] = n;
#pragma omp parallel for schedule(dynamic, 64) if (N * D > kParallelGrain)
  for (int64_t v = 0; v < V; ++v) {
    T* row = dweight + v * D;
    for (int64_t k = start[v]; k < start[v + 1]; ++k) {
      const T* src = g + order[k] * D;
      for (int64_t j = 0; j < D; ++j) row[j] += src[j];
    }
  }
}

}  // namespace

// weight [V, D], ids any shape (i32/i64) -> out ids.shape + [D].
Tensor embedding(const Tensor& weight, const Tensor& ids) {
  check_defined("embedding", {&weight, &ids});
  check_cpu("embedding", weight);
  check_cpu("embedding", ids);
  LOGLIN_CHECK(weight.dim() == 2, "[embedding] weight must be [V, D], got shape {}", shape_str(weight.shape()));
  LOGLIN_CHECK(ids.dtype() == DType::i32 || ids.dtype() == DType::i64, "[embedding] ids must be i32 or i64, got {}",
               dtype_name(ids.dtype()));
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  std::vector<int64_t> idv = checked_ids(ids, V);
  Shape out_shape = ids.shape();
  out_shape.push_back(D);

  Tensor w = weight.is_contiguous() ? weight : core::contiguous_copy(weight);
  Tensor out = Tensor::empty(out_shape, weight.dtype());
  dispatch_float(weight.dtype(), "embedding",
                 [&]<class T>() { embedding_fwd_cpu<T>(w.data<T>(), idv, D, out.data<T>()); });

  autograd::record("embedding", {weight, ids}, {out}, [idv = std::move(idv), V, D](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    Tensor gc = g.is_contiguous() ? g : core::contiguous_copy(g);
    Tensor dw = Tensor::zeros({V, D}, g.dtype());
    dispatch_float(g.dtype(), "embedding",
                   [&]<class T>() { embedding_bwd_cpu<T>(gc.data<T>(), idv, V, D, dw.data<T>()); });
    return std::vector<Tensor>{dw, Tensor()};
  });
  return out;
}

}  // namespace loglin
