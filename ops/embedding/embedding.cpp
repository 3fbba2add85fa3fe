#include "ops/embedding/embedding.h"

#include <algorithm>
#include <cstring>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/embedding/embedding_cuda.h"
#endif

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

#if LOGLIN_WITH_CUDA
// Raises the out-of-range id that an earlier kernel on this device met (see
// embedding_cuda.h for why it is found late rather than clamped).
void throw_bad_id_from_device(int device) {
  int64_t id = 0, vocab = 0;
  if (cuda::embedding_take_bad_id(device, id, vocab))
    LOGLIN_FAIL("[embedding] id {} out of range for vocab {}, met on cuda:{} by an earlier embedding call (its row "
                "came out NaN and got no gradient)",
                id, vocab, device);
}

// weight [V, D] on cuda; ids on the same device, or on the cpu (checked there,
// then uploaded).
Tensor embedding_cuda(const Tensor& weight, const Tensor& ids, const Shape& out_shape) {
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  const int device = weight.device().index;
  throw_bad_id_from_device(device);
  Tensor idc;
  if (ids.device().is_cpu()) {
    std::vector<int64_t> idv = checked_ids(ids, V);
    idc = Tensor::empty(ids.shape(), DType::i64, weight.device());
    core::copy_into(idc, Tensor::from_vector<int64_t>(idv, ids.shape()));
  } else {
    check_same_device("embedding", weight, ids);
    idc = ids.is_contiguous() ? ids.detach() : core::contiguous_copy(ids);
  }
  const int64_t N = idc.numel();
  Tensor w = weight.is_contiguous() ? weight : core::contiguous_copy(weight);
  Tensor out = Tensor::empty(out_shape, weight.dtype(), weight.device());
  dispatch_float(weight, "embedding", [&]<class T>() {
    dispatch_index(idc.dtype(), "embedding", [&]<class I>() {
      cuda::embedding_fwd<T, I>(w.data<T>(), idc.data<I>(), out.data<T>(), N, V, D, device);
    });
  });

  autograd::record("embedding", {weight, ids}, {out}, [idc, N, V, D, device](autograd::BackwardContext& ctx) {
    throw_bad_id_from_device(device);
    const Tensor& g = ctx.grads[0];
    Tensor gc = g.is_contiguous() ? g : core::contiguous_copy(g);
    Tensor dw = Tensor::zeros({V, D}, g.dtype(), g.device());
    dispatch_float(g, "embedding", [&]<class T>() {
      dispatch_index(idc.dtype(), "embedding", [&]<class I>() {
        cuda::embedding_bwd<T, I>(gc.data<T>(), idc.data<I>(), dw.data<T>(), N, V, D, device);
      });
    });
    return std::vector<Tensor>{dw, Tensor()};
  });
  return out;
}
#endif

}  // namespace

// weight [V, D], ids any shape (i32/i64) -> out ids.shape + [D].
Tensor embedding(const Tensor& weight, const Tensor& ids) {
  check_defined("embedding", {&weight, &ids});
  LOGLIN_CHECK(weight.dim() == 2, "[embedding] weight must be [V, D], got shape {}", shape_str(weight.shape()));
  LOGLIN_CHECK(ids.dtype() == DType::i32 || ids.dtype() == DType::i64, "[embedding] ids must be i32 or i64, got {}",
               dtype_name(ids.dtype()));
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  Shape out_shape = ids.shape();
  out_shape.push_back(D);
#if LOGLIN_WITH_CUDA
  if (on_cuda(weight)) return embedding_cuda(weight, ids, out_shape);
#endif
  check_cpu("embedding", weight);
  check_same_device("embedding", weight, ids);
  std::vector<int64_t> idv = checked_ids(ids, V);

  Tensor w = weight.is_contiguous() ? weight : core::contiguous_copy(weight);
  Tensor out = Tensor::empty(out_shape, weight.dtype());
  dispatch_float(weight, "embedding",
                 [&]<class T>() { embedding_fwd_cpu<T>(w.data<T>(), idv, D, out.data<T>()); });

  autograd::record("embedding", {weight, ids}, {out}, [idv = std::move(idv), V, D](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    Tensor gc = g.is_contiguous() ? g : core::contiguous_copy(g);
    Tensor dw = Tensor::zeros({V, D}, g.dtype());
    dispatch_float(g, "embedding",
                   [&]<class T>() { embedding_bwd_cpu<T>(gc.data<T>(), idv, V, D, dw.data<T>()); });
    return std::vector<Tensor>{dw, Tensor()};
  });
  return out;
}

}  // namespace loglin
