// Input checks shared by the chunked linear-attention family (checks.h).
#include "ops/chunk_layout/checks.h"

#include <cmath>
#include <utility>

#include "ops/op_checks.h"

namespace loglin::lla {

std::vector<int64_t> read_cu_seqlens(const char* op, const Tensor& cu, int64_t B, int64_t T) {
  // Read on the host wherever it lives: N + 1 integers.
  LOGLIN_CHECK(cu.dim() == 1 && cu.size(0) >= 2,
               "[{}] cu_seqlens must be a 1-D tensor [N + 1] with N >= 1 sequences, got shape {}", op,
               shape_str(cu.shape()));
  LOGLIN_CHECK(cu.dtype() == DType::i32 || cu.dtype() == DType::i64,
               "[{}] cu_seqlens must be an integer (i32 or i64) tensor, got {}", op, dtype_name(cu.dtype()));
  LOGLIN_CHECK(B == 1, "[{}] cu_seqlens packs the sequences along T: B must be 1, got B = {}", op, B);
  std::vector<int64_t> c = cu.to_vector<int64_t>();
  LOGLIN_CHECK(c.front() == 0, "[{}] cu_seqlens must start at 0, got {}", op, c.front());
  for (size_t i = 1; i < c.size(); ++i)
    LOGLIN_CHECK(c[i] > c[i - 1], "[{}] cu_seqlens must be strictly increasing, got {} then {} at index {}", op,
                 c[i - 1], c[i], i);
  LOGLIN_CHECK(c.back() == T, "[{}] cu_seqlens must end at T = {}, got {}", op, T, c.back());
  return c;
}

Layout check_qkvg(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                  const Tensor& cu_seqlens, int64_t chunk, bool bf16_ok) {
  check_defined(op, {&q, &k, &v, &g});
  for (const Tensor* t : {&k, &v, &g}) check_same_device(op, *t, q);
  check_dim(op, q, 4, "q [B, T, G, K]");
  check_dim(op, k, 4, "k [B, T, G, K]");
  check_dim(op, v, 4, "v [B, T, H, V]");
  check_dim(op, g, 3, "g [B, T, H]");
  const int64_t B = q.size(0), T = q.size(1), G = q.size(2), K = q.size(3);
  const int64_t H = v.size(2), V = v.size(3);
  LOGLIN_CHECK(k.shape() == q.shape(), "[{}] q and k must have the same shape [B, T, G, K], got {} and {}", op,
               shape_str(q.shape()), shape_str(k.shape()));
  LOGLIN_CHECK(v.size(0) == B && v.size(1) == T, "[{}] v must be [B, T, H, V] with B = {}, T = {} as q, got {}", op,
               B, T, shape_str(v.shape()));
  LOGLIN_CHECK(g.shape() == (Shape{B, T, H}), "[{}] g must be [B, T, H] = {}, got {}", op, shape_str(Shape{B, T, H}),
               shape_str(g.shape()));
  LOGLIN_CHECK(B >= 1 && T >= 1, "[{}] need B >= 1 and T >= 1, got B = {}, T = {}", op, B, T);
  LOGLIN_CHECK(K >= 1 && V >= 1 && G >= 1 && H >= 1, "[{}] need K, V, G, H >= 1, got K = {}, V = {}, G = {}, H = {}",
               op, K, V, G, H);
  LOGLIN_CHECK(H % G == 0, "[{}] the q/k groups G = {} must divide the heads H = {}", op, G, H);
  LOGLIN_CHECK(chunk >= 1 && (chunk & (chunk - 1)) == 0, "[{}] chunk size must be a power of two, got {}", op, chunk);
  // dtypes: q, k, v share f32 or f64 (bf16 was converted by the caller).
  const DType D = q.dtype();
  LOGLIN_CHECK(D == DType::f32 || D == DType::f64 || (bf16_ok && D == DType::bf16),
               "[{}] q must be f32, f64 or bf16, got {}", op, dtype_name(D));
  for (const auto& [t, name] : {std::pair{&k, "k"}, std::pair{&v, "v"}})
    LOGLIN_CHECK(t->dtype() == D, "[{}] {} is {} but q is {}: q, k and v must share one dtype", op, name,
                 dtype_name(t->dtype()), dtype_name(D));
  LOGLIN_CHECK(g.dtype() == DType::f32 || (g.dtype() == DType::f64 && D == DType::f64),
               "[{}] g must be f32 (f64 only with f64 inputs), got {}", op, dtype_name(g.dtype()));

  Layout lay;
  lay.H = H, lay.G = G, lay.K = K, lay.V = V, lay.L = 0;
  lay.C = chunk;
  lay.c = bit_length(chunk) - 1;
  lay.rows = B * T;
  if (cu_seqlens.defined()) {
    std::vector<int64_t> cu = read_cu_seqlens(op, cu_seqlens, B, T);
    for (size_t i = 0; i + 1 < cu.size(); ++i) lay.seqs.push_back({cu[i], cu[i + 1] - cu[i], 0});
  } else {
    for (int64_t b = 0; b < B; ++b) lay.seqs.push_back({b * T, T, 0});
  }
  // On cuda the finiteness of g is not checked: it would wait for the device
  // in every call (a non-finite g gives non-finite outputs there).
  if (g.device().is_cpu())
    for (double x : g.to_vector<double>())
      LOGLIN_CHECK(std::isfinite(x), "[{}] g has a non-finite value ({}): the decays must be finite", op, x);
  return lay;
}

}  // namespace loglin::lla
