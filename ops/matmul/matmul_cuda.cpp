// cuBLAS is column-major: a row-major C [M, N] is the column-major C^T
// [N, M], and C^T = B^T A^T, so every product is issued as cuBLAS's
// (m, n, k) = (N, M, K) with B in the first operand slot and A in the second.
// A row-major operand read as column-major is its own transpose, so it goes
// in untransposed (OP_N); a column-major one (a transposed view) goes in as
// OP_T with no copy.
#include "ops/matmul/matmul_cuda.h"

#if LOGLIN_WITH_CUDA
#include <climits>

#include "ops/matmul/cublas_handle.h"

namespace loglin::cuda {
namespace {

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::f32: return CUDA_R_32F;
    case DType::f64: return CUDA_R_64F;
    case DType::bf16: return CUDA_R_16BF;
    default: LOGLIN_FAIL("[matmul] has no cuBLAS path for {} tensors", dtype_name(t));
  }
}

int checked_int(int64_t v, const char* what) {
  LOGLIN_CHECK(v >= 0 && v <= INT_MAX, "[matmul] {} = {} exceeds what cuBLAS takes (int)", what, v);
  return static_cast<int>(v);
}

}  // namespace

void gemm(const GemmArgs& g, int device) {
  LOGLIN_CHECK(g.in == g.out || (g.in == DType::bf16 && g.out == DType::f32),
               "[matmul] cuBLAS product of {} inputs into {} is not supported", dtype_name(g.in),
               dtype_name(g.out));
  const int m = checked_int(g.N, "N"), n = checked_int(g.M, "M"), k = checked_int(g.K, "K");
  const int batch = checked_int(g.batch, "batch");
  if (m == 0 || n == 0 || batch == 0) return;
  // The caller fills C with zeros when K == 0: cuBLAS would leave it alone.
  LOGLIN_CHECK(k > 0, "[matmul] internal: gemm with K = 0");
  const int lda = checked_int(g.b.ld, "ld of b"), ldb = checked_int(g.a.ld, "ld of a");
  const int ldc = checked_int(g.ldc, "ld of the output");
  const cublasOperation_t op_a = g.b.col_major ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.a.col_major ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cudaDataType_t in_type = cuda_type(g.in), out_type = cuda_type(g.out);

  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  if (g.in == DType::f64) compute = CUBLAS_COMPUTE_64F;
  if (g.in == DType::f32 && g.allow_tf32) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
  // alpha and beta have the compute type's precision.
  const double alpha_d = 1.0, beta_d = 0.0;
  const float alpha_f = 1.0f, beta_f = 0.0f;
  const void* alpha = g.in == DType::f64 ? static_cast<const void*>(&alpha_d) : &alpha_f;
  const void* beta = g.in == DType::f64 ? static_cast<const void*>(&beta_d) : &beta_f;

  cublasHandle_t h = cublas_handle(device);
  if (batch == 1) {
    LOGLIN_CUBLAS_CHECK(cublasGemmEx(h, op_a, op_b, m, n, k, alpha, g.b.data, in_type, lda, g.a.data, in_type, ldb,
                                     beta, g.c, out_type, ldc, compute, CUBLAS_GEMM_DEFAULT),
                        "matmul");
  } else {
    LOGLIN_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, op_a, op_b, m, n, k, alpha, g.b.data, in_type, lda,
                                                   g.b.batch_stride, g.a.data, in_type, ldb, g.a.batch_stride, beta,
                                                   g.c, out_type, ldc, g.batch_stride_c, batch, compute,
                                                   CUBLAS_GEMM_DEFAULT),
                        "matmul");
  }
}

}  // namespace loglin::cuda

#endif  // LOGLIN_WITH_CUDA
