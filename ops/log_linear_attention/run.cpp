// Running a plan (internal.h): the dtype conversions at the edges, the
// pieces of a head split, then the implementation through the record path.
#include "ops/explain.h"
#include "ops/log_linear_attention/checks.h"
#include "ops/log_linear_attention/internal.h"
#include "ops/log_linear_attention/record.h"

namespace loglin::lla {

LogLinearAttentionOutput run(const Plan& p, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                             const Tensor& level_scales, const LogLinearAttentionOptions& options) {
  if (p.split != HeadSplit::none) {
    const Tensor o = run_head_split(p.split, q, k, v, g, level_scales,
                                    [&](const Tensor& pq, const Tensor& pk, const Tensor& pv, const Tensor& pg,
                                        const Tensor& pls) {
                                      // A piece may split again (K = V = 256: K halves, then
                                      // V panels of each); each split halves K or V, so it ends.
                                      const Plan piece = make_plan(pq, pk, pv, pg, pls, options, p.backward);
                                      explain(kOpName, piece.kernel.str());
                                      return run(piece, pq, pk, pv, pg, pls, options).o;
                                    });
    return LogLinearAttentionOutput{o, LogLinearState{}};
  }
  // bf16 on the cpu or on v1 computes in f32, f32 under bf16 autocast in
  // bf16: the differentiable .to() brings the gradients back to the inputs'
  // dtype. g and the states keep theirs.
  const DType at = p.kernel.compute_dtype;
  const auto in_compute = [at](const Tensor& t) { return t.dtype() == at ? t : t.to(at); };
  const Implementation impl = p.version ? cuda_implementation(*p.version, p.layout, p.call) : cpu_implementation(p.layout);
  const LogLinearState* st = options.has_initial_state() ? &options.initial_state() : nullptr;
  LogLinearAttentionOutput out = run_and_record(impl, p.layout, at, in_compute(q), in_compute(k), in_compute(v), g,
                                                in_compute(level_scales), st, options.return_final_state());
  if (out.o.dtype() != q.dtype()) out.o = out.o.to(q.dtype());
  return out;
}

}  // namespace loglin::lla
