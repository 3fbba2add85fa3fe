// The registry of log_linear_attention's CUDA versions and the dispatcher
// (kernel_versions.h). Each version is one entry of the list in
// kernel_versions(); v1 is defined here as an adapter over the SIMT
// launchers of log_linear_attention_cuda.h.
#include "ops/log_linear_attention/kernel_versions.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <type_traits>

#include <fmt/format.h>

#include "core/error.h"
#include "ops/kernel_registry.h"
#include "ops/workspace_carver.h"
#include "ops/log_linear_attention/checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/log_linear_attention/cuda_v1/log_linear_attention_v1.h"
#include "ops/log_linear_attention/cuda_v2/v2_backward_cuda.h"
#include "ops/log_linear_attention/cuda_v2/v2_forward_cuda.h"
#endif

namespace loglin::lla {

namespace {

using Carver = WorkspaceCarver;

#if LOGLIN_WITH_CUDA
// ---- v1: the SIMT path ----

// The forward's workspace: G per row, the tree nodes, the initial state's
// prefix sums; the backward's adds the per-head dq / dk, the node gradients
// and the initial state's scratch.
template <class T, class A>
void v1_carve_forward(Carver& w, const GpuProblem& p, bool state_in, GpuForward<T, A>& f) {
  f.Gd = w.take<double>(p.rows * p.H);
  f.nodes = w.take<A>(p.n_nodes * p.H * p.K * p.V);
  f.prefix = state_in ? w.take<A>(p.n_seqs * p.H * p.L * p.K * p.V) : nullptr;
}

template <class T, class A>
void v1_carve_backward(Carver& w, const GpuProblem& p, bool state_in, bool dstate_in, GpuBackward<T, A>& b) {
  v1_carve_forward(w, p, state_in, b.fwd);
  b.dq_head = w.take<A>(p.rows * p.H * p.K);
  b.dk_head = w.take<A>(p.rows * p.H * p.K);
  b.dnodes = w.take<A>(p.n_nodes * p.H * p.K * p.V);
  b.dscratch = dstate_in ? w.take<A>(p.n_seqs * p.H * p.L * p.K * p.V) : nullptr;
}

size_t v1_workspace_bytes(const GpuProblem& p, const KernelCall& c, Pass pass) {
  Carver w(nullptr);
  // The element size is the compute type's: f64 for f64, f32 otherwise.
  if (c.dtype == DType::f64) {
    GpuBackward<double> b;
    if (pass == Pass::forward) v1_carve_forward(w, p, c.state_in, b.fwd);
    else v1_carve_backward(w, p, c.state_in, c.dstate_in, b);
  } else {
    GpuBackward<float> b;
    if (pass == Pass::forward) v1_carve_forward(w, p, c.state_in, b.fwd);
    else v1_carve_backward(w, p, c.state_in, c.dstate_in, b);
  }
  return w.used();
}

template <class T>
void v1_forward(const GpuProblem& p, const GpuForward<T>& f, void* ws) {
  GpuForward<T> a = f;
  Carver w(ws);
  v1_carve_forward(w, p, f.state_in != nullptr, a);
  log_linear_attention_forward_cuda<T>(p, a);
}

template <class T>
void v1_backward(const GpuProblem& p, const GpuBackward<T>& b, void* ws) {
  GpuBackward<T> a = b;
  Carver w(ws);
  v1_carve_backward(w, p, b.fwd.state_in != nullptr, b.dstate_in != nullptr, a);
  log_linear_attention_backward_cuda<T>(p, a);
}

KernelVersion v1_simple() {
  KernelVersion v;
  v.name = "v1";
  v.about = "simple: SIMT port of the chunked CPU code (f32, f64; bf16 via f32)";
  v.rank = 1;
  v.supports = nullptr;  // every problem, f32 and f64
  v.workspace_bytes = v1_workspace_bytes;
  v.forward_f32 = v1_forward<float>;
  v.forward_f64 = v1_forward<double>;
  v.backward_f32 = v1_backward<float>;
  v.backward_f64 = v1_backward<double>;
  return v;
}

// ---- v2: tensor cores (v2_forward_cuda.cu, v2_backward_cuda.cu, KERNELS_PLAN.md) ----
// bf16 inputs on bf16 mma, f32 inputs (when the call allows TF32) on TF32
// mma: the same kernels, templates on the element type. The backward has
// kernels for K, V in {32, 64, 128} where their tiles fit in shared memory;
// otherwise bf16 runs v1's f32 backward on f32 copies of the inputs, o and
// dout (gradients rounded back to bf16), and f32 runs v1's backward as is
// (correct, slow).

bool v2_supports(const GpuProblem& p, const KernelCall& c) {
  const bool f32 = c.dtype == DType::f32;
  if (!(c.dtype == DType::bf16 || (f32 && c.allow_tf32))) return false;
  // The final state is forward-only (prefill): with a backward it runs v1.
  return !c.state_in && (!c.state_out || !c.backward) && !c.dstate_in && v2::forward_shape_ok(p.K, p.V, p.C, f32) &&
         v2::device_ok(p.device) && p.L <= 32 && p.max_levels <= 16;
}

bool v2_native_backward(const GpuProblem& p, bool f32) { return v2::backward_shape_ok(p.K, p.V, p.C, p.device, f32); }

// The forward's workspace: G per row (double) and the tree nodes in the
// inputs' element type T.
template <class T>
void v2_carve_forward(Carver& w, const GpuProblem& p, GpuForward<T, float>& f, T*& nodes) {
  f.Gd = w.take<double>(p.rows * p.H);
  nodes = w.take<T>(p.n_nodes * p.H * p.K * p.V);
  f.nodes = nullptr;
  f.prefix = nullptr;
}

// G and the tree come from the forward's workspace (kept by the entry point,
// backward_reuses_forward_workspace), carved as the forward carved it.
template <class T>
v2::BackwardWorkspace<T> v2_carve_backward_native(Carver& w, const GpuProblem& p, const void* forward_ws) {
  v2::BackwardWorkspace<T> ws;
  Carver fw(const_cast<void*>(forward_ws));
  GpuForward<T, float> f;
  v2_carve_forward(fw, p, f, ws.nodes);
  ws.Gd = f.Gd;
  const int64_t KV = p.K * p.V;
  ws.dRp = w.take<float>(p.n_groups * v2::node_grad_slots(p) * p.H * KV);
  ws.dU = w.take<T>(p.n_jobs * p.H * KV);
  ws.dGrow = w.take<float>(p.rows * p.H);
  return ws;
}

// The bf16 backward adapter's f32 copies, then v1's f32 backward workspace.
struct V2BackwardCopies {
  float *q, *k, *v, *ls, *o, *dout, *dq, *dk, *dv, *dls;
};
V2BackwardCopies v2_carve_backward(Carver& w, const GpuProblem& p) {
  const int64_t nqk = p.rows * p.G * p.K, nv = p.rows * p.H * p.V, nls = p.rows * p.H * p.L;
  V2BackwardCopies c;
  c.q = w.take<float>(nqk), c.k = w.take<float>(nqk), c.v = w.take<float>(nv), c.ls = w.take<float>(nls);
  c.o = w.take<float>(nv), c.dout = w.take<float>(nv);
  c.dq = w.take<float>(nqk), c.dk = w.take<float>(nqk), c.dv = w.take<float>(nv), c.dls = w.take<float>(nls);
  return c;
}

template <class T>
void v2_count_forward(Carver& w, const GpuProblem& p) {
  GpuForward<T, float> f;
  T* nodes = nullptr;
  v2_carve_forward(w, p, f, nodes);
}

size_t v2_workspace_bytes(const GpuProblem& p, const KernelCall& c, Pass pass) {
  const bool f32 = c.dtype == DType::f32;
  Carver w(nullptr);
  if (pass == Pass::forward) {
    if (f32) v2_count_forward<float>(w, p);
    else v2_count_forward<bf16>(w, p);
    return w.used();
  }
  if (v2_native_backward(p, f32)) {
    if (f32) (void)v2_carve_backward_native<float>(w, p, nullptr);
    else (void)v2_carve_backward_native<bf16>(w, p, nullptr);
    return w.used();
  }
  KernelCall v1_call = c;
  v1_call.dtype = DType::f32;
  if (!f32) (void)v2_carve_backward(w, p);
  return w.used() + v1_workspace_bytes(p, v1_call, Pass::backward);
}

template <class T>
void v2_forward(const GpuProblem& p, const GpuForward<T, float>& f, void* ws) {
  GpuForward<T, float> a = f;
  Carver w(ws);
  T* nodes = nullptr;
  v2_carve_forward(w, p, a, nodes);
  if constexpr (std::is_same_v<T, float>) v2::forward_f32(p, a, nodes);
  else v2::forward_bf16(p, a, nodes);
}

template <class T>
void v2_check_no_states(const GpuBackward<T, float>& b) {
  LOGLIN_CHECK(!b.fwd.state_in && !b.fwd.state_out && !b.dstate_out && !b.dstate_in,
               "[{}] v2 takes no states (its supports() refuses them)", kOpName);
}

void v2_backward_f32(const GpuProblem& p, const GpuBackward<float, float>& b, void* ws) {
  v2_check_no_states(b);
  if (!v2_native_backward(p, true)) {
    v1_backward<float>(p, b, ws);  // v1 recomputes its forward from the inputs
    return;
  }
  LOGLIN_CHECK(b.forward_workspace != nullptr, "[{}] the v2 backward needs its forward's workspace", kOpName);
  Carver w(ws);
  v2::backward_f32(p, b, v2_carve_backward_native<float>(w, p, b.forward_workspace));
}

void v2_backward(const GpuProblem& p, const GpuBackward<bf16, float>& b, void* ws) {
  v2_check_no_states(b);
  Carver w(ws);
  if (v2_native_backward(p, false)) {
    LOGLIN_CHECK(b.forward_workspace != nullptr, "[{}] the v2 backward needs its forward's workspace", kOpName);
    v2::backward_bf16(p, b, v2_carve_backward_native<bf16>(w, p, b.forward_workspace));
    return;
  }
  const V2BackwardCopies c = v2_carve_backward(w, p);
  const int64_t nqk = p.rows * p.G * p.K, nv = p.rows * p.H * p.V, nls = p.rows * p.H * p.L;
  const int dev = p.device;
  v2::bf16_to_f32(b.fwd.q, c.q, nqk, dev);
  v2::bf16_to_f32(b.fwd.k, c.k, nqk, dev);
  v2::bf16_to_f32(b.fwd.v, c.v, nv, dev);
  v2::bf16_to_f32(b.fwd.ls, c.ls, nls, dev);
  v2::bf16_to_f32(b.fwd.o, c.o, nv, dev);
  v2::bf16_to_f32(b.dout, c.dout, nv, dev);
  GpuBackward<float> a;
  a.fwd.q = c.q, a.fwd.k = c.k, a.fwd.v = c.v, a.fwd.g = b.fwd.g, a.fwd.ls = c.ls, a.fwd.o = c.o;
  a.dout = c.dout;
  a.dq = c.dq, a.dk = c.dk, a.dv = c.dv, a.dg = b.dg, a.dls = c.dls;
  // v1 carves its own workspace after the copies (Carver pieces are 256-byte aligned).
  v1_backward<float>(p, a, static_cast<char*>(ws) + w.used());
  v2::f32_to_bf16(c.dq, b.dq, nqk, dev);
  v2::f32_to_bf16(c.dk, b.dk, nqk, dev);
  v2::f32_to_bf16(c.dv, b.dv, nv, dev);
  v2::f32_to_bf16(c.dls, b.dls, nls, dev);
}

KernelVersion v2_tensor_core() {
  KernelVersion v;
  v.name = "v2";
  v.about = "tensor cores (mma.sync): bf16, K, V in {32, 64, 128, 256} (backward via v1 for 256); f32 on TF32 when "
            "allowed, K, V in {32, 64, 128}; chunk 64; no initial state, a final state without backward";
  v.rank = 2;
  v.in_auto = true;
  v.tensor_cores = true;
  v.backward_reuses_forward_workspace = true;
  v.supports = v2_supports;
  v.workspace_bytes = v2_workspace_bytes;
  v.forward_bf16 = v2_forward<bf16>;
  v.backward_bf16 = v2_backward;
  v.forward_f32 = v2_forward<float>;
  v.backward_f32 = v2_backward_f32;
  return v;
}
#endif

std::string describe(const GpuProblem& p, const KernelCall& c) {
  const char* math = c.dtype != DType::f32 ? ""
                     : c.allow_tf32       ? ", TF32 allowed"
                                          : ", TF32 not allowed (float32 matmul precision highest; set it to high)";
  return fmt::format("{} inputs, K = {}, V = {}, G = {}, H = {}, L = {}, chunk {}{}{}{}", dtype_name(c.dtype), p.K, p.V,
                     p.G, p.H, p.L, p.C, c.state_in ? ", initial state" : "",
                     c.state_out ? (c.backward ? ", final state with gradient" : ", final state") : "", math);
}

}  // namespace

bool KernelVersion::takes(const GpuProblem& p, const KernelCall& c) const {
  bool has = false;
  switch (c.dtype) {
    case DType::f32: has = forward_f32 && backward_f32; break;
    case DType::f64: has = forward_f64 && backward_f64; break;
    case DType::bf16: has = forward_bf16 && backward_bf16; break;
    default: has = false;
  }
  return has && (!supports || supports(p, c));
}

const std::vector<KernelVersion>& kernel_versions() {
  static const std::vector<KernelVersion> all = [] {
    std::vector<KernelVersion> v = {
#if LOGLIN_WITH_CUDA
        v1_simple(),
        v2_tensor_core(),  // register a new version here, one line each
#endif
    };
    std::stable_sort(v.begin(), v.end(), [](const KernelVersion& a, const KernelVersion& b) { return a.rank > b.rank; });
    return v;
  }();
  return all;
}

const KernelVersion* find_kernel_version(const std::string& name) {
  for (const KernelVersion& v : kernel_versions())
    if (name == v.name) return &v;
  return nullptr;
}

const KernelVersion* version_taking(const GpuProblem& p, const KernelCall& c) {
  return kernels::version_taking(kOpName, kernel_versions(), [&](const KernelVersion& v) { return v.takes(p, c); });
}

const KernelVersion& select_kernel_version(const GpuProblem& p, const KernelCall& c) {
  return kernels::select_version(
      kOpName, kernel_versions(), [&](const KernelVersion& v) { return v.takes(p, c); }, describe(p, c));
}

const KernelVersion* select_native_bf16_version(const GpuProblem& p, const KernelCall& c) {
  KernelCall b = c;
  b.dtype = DType::bf16;
  const std::string choice = kernel_version_choice(kOpName);
  if (kernels::is_auto(choice)) {
    // Under auto a native bf16 version wins only when it outranks the best
    // version for the f32 path the entry would take otherwise.
    KernelCall f = c;
    f.dtype = DType::f32;
    for (const KernelVersion& v : kernel_versions()) {
      if (!v.in_auto) continue;
      if (v.takes(p, b)) return &v;
      if (v.takes(p, f)) return nullptr;
    }
    return nullptr;
  }
  const KernelVersion* v = find_kernel_version(choice);
  return v && v->takes(p, b) ? v : nullptr;
}

}  // namespace loglin::lla
