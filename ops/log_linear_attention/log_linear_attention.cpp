// The entry point of log-linear attention: input checks (shared with the
// naive version), dtype handling (bf16 inputs, and f32 inputs under bf16
// autocast on CUDA), the chunked CPU forward, and the autograd record whose
// backward runs the hand-written chunked backward.
#include "ops/log_linear_attention/log_linear_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/autocast.h"
#include "ops/log_linear_attention/chunk_cpu.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/log_linear_attention/gpu_plan.h"
#include "ops/log_linear_attention/kernel_versions.h"
#include "ops/log_linear_attention/wide_heads.h"
#endif

namespace loglin {

namespace lla {

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

namespace {


void check_state(const LogLinearState& st, const Layout& lay, DType dtype, const Tensor& q) {
  const int64_t N = static_cast<int64_t>(lay.seqs.size());
  LOGLIN_CHECK(st.levels.defined(), "[{}] the initial state has no levels tensor", kOpName);
  check_same_device(kOpName, st.levels, q);
  const Shape want{N, lay.H, lay.L, lay.K, lay.V};
  LOGLIN_CHECK(st.levels.shape() == want,
               "[{}] initial state levels must be [N, H, L, K, V] = {} (N = {} sequences), got {}", kOpName,
               shape_str(want), N, shape_str(st.levels.shape()));
  LOGLIN_CHECK(st.levels.dtype() == dtype, "[{}] initial state levels are {} but the inputs compute in {}", kOpName,
               dtype_name(st.levels.dtype()), dtype_name(dtype));
  LOGLIN_CHECK(static_cast<int64_t>(st.positions.size()) == N,
               "[{}] initial state has {} positions for {} sequences", kOpName, st.positions.size(), N);
  std::vector<double> lv;
  for (int64_t n = 0; n < N; ++n) {
    LOGLIN_CHECK(st.positions[n] >= 0, "[{}] initial state position {} of sequence {} is negative", kOpName,
                 st.positions[n], n);
    // On cuda this value check would wait for the device; the kernels ignore
    // the levels of a sequence at position 0 anyway.
    if (st.positions[n] != 0 || !st.levels.device().is_cpu()) continue;
    if (lv.empty()) lv = st.levels.to_vector<double>();
    const int64_t per = lay.H * lay.L * lay.K * lay.V;
    for (int64_t x = n * per; x < (n + 1) * per; ++x)
      LOGLIN_CHECK(lv[x] == 0, "[{}] initial state of sequence {} is at position 0 (holds no tokens) but its "
                   "levels are not zero", kOpName, n);
  }
}

}  // namespace

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

Layout check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& ls,
                    const Tensor& cu_seqlens, int64_t chunk, const LogLinearState* state, bool bf16_ok) {
  check_defined(kOpName, {&ls});
  check_same_device(kOpName, ls, q);
  check_dim(kOpName, ls, 4, "level_scales [B, T, H, L]");
  Layout lay = check_qkvg(kOpName, q, k, v, g, cu_seqlens, chunk, bf16_ok);
  const int64_t B = q.size(0), T = q.size(1), H = lay.H;
  LOGLIN_CHECK(ls.size(0) == B && ls.size(1) == T && ls.size(2) == H,
               "[{}] level_scales must be [B, T, H, L] with [B, T, H] = {}, got {}", kOpName, shape_str(Shape{B, T, H}),
               shape_str(ls.shape()));
  LOGLIN_CHECK(ls.dtype() == q.dtype(),
               "[{}] level_scales is {} but q is {}: q, k, v and level_scales must share one dtype", kOpName,
               dtype_name(ls.dtype()), dtype_name(q.dtype()));
  lay.L = ls.size(3);
  if (state) {
    check_state(*state, lay, q.dtype() == DType::bf16 ? DType::f32 : q.dtype(), q);
    for (size_t n = 0; n < lay.seqs.size(); ++n) lay.seqs[n].pos = state->positions[n];
  }
  int64_t last = 0;
  for (const Seq& s : lay.seqs) last = std::max(last, s.pos + s.len - 1);
  LOGLIN_CHECK(lay.L >= bit_length(last) + 1,
               "[{}] level_scales has L = {} levels but the last position {} needs L >= bit_length({}) + 1 = {}", kOpName,
               lay.L, last, last, bit_length(last) + 1);
  return lay;
}

}  // namespace lla

namespace {

using lla::kOpName;

// A contiguous tensor of dtype D with x's values and no history.
Tensor prepared(const Tensor& x, DType D) {
  if (x.is_contiguous() && x.dtype() == D) return x.detach();
  return core::contiguous_copy(x, D);
}

bool is_bf16(const Tensor& t) { return t.defined() && t.dtype() == DType::bf16; }

LogLinearAttentionOutput with_final_positions(Tensor o, Tensor fin, const lla::Layout& lay) {
  LogLinearAttentionOutput out;
  out.o = std::move(o);
  if (fin.defined()) {
    out.final_state.levels = std::move(fin);
    for (const lla::Seq& s : lay.seqs) out.final_state.positions.push_back(s.pos + s.len);
  }
  return out;
}

#if LOGLIN_WITH_CUDA
// One device buffer of `bytes` bytes (a version's workspace, kernel_versions.h).
Tensor workspace(size_t bytes, Device dev) {
  return Tensor::empty({std::max<int64_t>(static_cast<int64_t>((bytes + 7) / 8), 1)}, DType::i64, dev);
}

template <class T, class A>
lla::ForwardFn<T, A> forward_fn(const lla::KernelVersion& v) {
  if constexpr (std::is_same_v<T, bf16>) return v.forward_bf16;
  else if constexpr (std::is_same_v<T, double>) return v.forward_f64;
  else return v.forward_f32;
}
template <class T, class A>
lla::BackwardFn<T, A> backward_fn(const lla::KernelVersion& v) {
  if constexpr (std::is_same_v<T, bf16>) return v.backward_bf16;
  else if constexpr (std::is_same_v<T, double>) return v.backward_f64;
  else return v.backward_f32;
}

// The CUDA forward through version `ver` and its autograd record, whose
// backward runs the same version. T: q, k, v, level_scales, o and their
// gradients (f32, f64, or bf16 for a native bf16 version); A: g, the states
// and their gradients (T, or f32 with bf16).
template <class T, class A>
LogLinearAttentionOutput cuda_forward(const lla::KernelVersion& ver, const lla::Layout& lay, const lla::GpuPlan& plan,
                                      lla::KernelCall call, const Tensor& q, const Tensor& k, const Tensor& v,
                                      const Tensor& g, const Tensor& level_scales, const LogLinearState* st) {
  const DType D = dtype_of<T>::value, DA = dtype_of<A>::value;
  const int64_t B = q.size(0), Tn = q.size(1), N = static_cast<int64_t>(lay.seqs.size());
  const Device dev = q.device();
  const Tensor qc = prepared(q, D), kc = prepared(k, D), vc = prepared(v, D), gc = prepared(g, DA),
               lsc = prepared(level_scales, D);
  const Tensor sc = st ? prepared(st->levels, DA) : Tensor();
  Tensor o = Tensor::empty({B, Tn, lay.H, lay.V}, D, dev);
  Tensor fin = call.state_out ? Tensor::empty({N, lay.H, lay.L, lay.K, lay.V}, DA, dev) : Tensor();
  const Tensor ws = workspace(ver.workspace_bytes(plan.prob, call, lla::Pass::forward), dev);
  {
    lla::GpuForward<T, A> a;
    a.q = qc.data<T>(), a.k = kc.data<T>(), a.v = vc.data<T>(), a.g = gc.data<A>(), a.ls = lsc.data<T>();
    a.state_in = sc.defined() ? sc.data<A>() : nullptr;
    a.o = o.data<T>();
    a.state_out = fin.defined() ? fin.data<A>() : nullptr;
    forward_fn<T, A>(ver)(plan.prob, a, ws.raw_data());
  }

  const Tensor state_levels = st ? st->levels : Tensor();
  autograd::record(
      kOpName, {q, k, v, g, level_scales, state_levels}, {o, fin},
      [vp = &ver, lay, call, qc, kc, vc, gc, lsc, sc, od = o.detach(), fd = fin.defined() ? fin.detach() : Tensor(),
       g_dtype = g.dtype(), fws = ver.backward_reuses_forward_workspace ? ws : Tensor()](autograd::BackwardContext& ctx) {
        const DType D = dtype_of<T>::value, DA = dtype_of<A>::value;
        const Device dev = qc.device();
        const Tensor dout = prepared(ctx.grads[0], D);
        const Tensor dfin = fd.defined() ? prepared(ctx.grads[1], DA) : Tensor();
        Tensor dq = Tensor::empty(qc.shape(), D, dev), dk = Tensor::empty(kc.shape(), D, dev);
        Tensor dv = Tensor::empty(vc.shape(), D, dev), dg = Tensor::empty(gc.shape(), DA, dev);
        Tensor dls = Tensor::empty(lsc.shape(), D, dev);
        Tensor dstate = sc.defined() && ctx.needs(5) ? Tensor::empty(sc.shape(), DA, dev) : Tensor();
        const lla::GpuPlan plan = lla::make_gpu_plan(lay, dev);
        lla::KernelCall bc = call;
        bc.dstate_in = dstate.defined();
        const Tensor ws = workspace(vp->workspace_bytes(plan.prob, bc, lla::Pass::backward), dev);
        lla::GpuBackward<T, A> a;
        a.fwd.q = qc.data<T>(), a.fwd.k = kc.data<T>(), a.fwd.v = vc.data<T>(), a.fwd.g = gc.data<A>();
        a.fwd.ls = lsc.data<T>();
        a.fwd.state_in = sc.defined() ? sc.data<A>() : nullptr;
        a.fwd.o = od.data<T>();
        a.fwd.state_out = fd.defined() ? fd.data<A>() : nullptr;
        a.dout = dout.data<T>();
        a.dstate_out = dfin.defined() ? dfin.data<A>() : nullptr;
        a.dq = dq.data<T>(), a.dk = dk.data<T>(), a.dv = dv.data<T>(), a.dg = dg.data<A>();
        a.dls = dls.data<T>();
        a.dstate_in = dstate.defined() ? dstate.data<A>() : nullptr;
        a.forward_workspace = fws.defined() ? fws.raw_data() : nullptr;
        backward_fn<T, A>(*vp)(plan.prob, a, ws.raw_data());
        if (g_dtype != DA) dg = core::contiguous_copy(dg, g_dtype);
        return std::vector<Tensor>{dq, dk, dv, dg, dls, dstate};
      });
  return with_final_positions(o, fin, lay);
}

bool is_f32(const Tensor& t) { return t.defined() && t.dtype() == DType::f32; }

// Whether the op's backward can be asked for: grad mode on and an input that
// requires a gradient (a version may take a call only without it).
bool wants_grad(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& ls,
                const LogLinearState* st) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : {&q, &k, &v, &g, &ls})
    if (t->requires_grad()) return true;
  return st && st->levels.defined() && st->levels.requires_grad();
}

// bf16 q, k, v, level_scales on CUDA straight into a version with native
// bf16 launchers, when the current choice has one for this call; nullopt
// sends the caller to the f32 conversion (v1). With `autocast`, q, k, v,
// level_scales are f32 instead: they are converted to bf16 (differentiably)
// only once a version has taken the call, and o comes back in f32; nullopt
// then means the unchanged f32 path, with nothing converted.
std::optional<LogLinearAttentionOutput> cuda_native_bf16(const Tensor& q, const Tensor& k, const Tensor& v,
                                                         const Tensor& g, const Tensor& level_scales,
                                                         const LogLinearAttentionOptions& options,
                                                         bool autocast = false) {
  const auto in_dtype = autocast ? is_f32 : is_bf16;
  if (!(in_dtype(q) && in_dtype(k) && in_dtype(v) && in_dtype(level_scales) && g.dtype() == DType::f32))
    return std::nullopt;
  const std::vector<lla::KernelVersion>& all = lla::kernel_versions();
  const std::string choice = lla::kernel_version_choice();
  const bool by_auto = choice.empty() || choice == "auto";
  if (std::none_of(all.begin(), all.end(), [&](const lla::KernelVersion& v) {
        return v.forward_bf16 != nullptr && (by_auto ? v.in_auto : choice == v.name);
      }))
    return std::nullopt;  // no selectable version has native bf16 launchers: no plan to build
  const LogLinearState* st = options.has_initial_state() ? &options.initial_state() : nullptr;
  // f32 inputs pass the same checks (the state is f32 either way).
  const lla::Layout lay =
      lla::check_inputs(q, k, v, g, level_scales, options.cu_seqlens(), options.chunk_size(), st, /*bf16_ok=*/true);
  const lla::GpuPlan plan = lla::make_gpu_plan(lay, q.device());
  lla::KernelCall call{DType::bf16, st != nullptr, options.return_final_state(), false};
  call.backward = wants_grad(q, k, v, g, level_scales, st);
  const lla::KernelVersion* ver = lla::select_native_bf16_version(plan.prob, call);
  if (!ver) return std::nullopt;
  if (!autocast) return cuda_forward<bf16, float>(*ver, lay, plan, call, q, k, v, g, level_scales, st);
  // g and the states stay f32 (A = float); the final state is f32 already.
  const auto b = [](const Tensor& t) { return t.to(DType::bf16); };
  LogLinearAttentionOutput out =
      cuda_forward<bf16, float>(*ver, lay, plan, call, b(q), b(k), b(v), g, b(level_scales), st);
  out.o = out.o.to(DType::f32);
  return out;
}
#endif

}  // namespace

LogLinearAttentionOutput log_linear_attention_with_state(const Tensor& q, const Tensor& k, const Tensor& v,
                                                         const Tensor& g, const Tensor& level_scales,
                                                         const LogLinearAttentionOptions& options) {
  // q, k (B,T,G,K); v (B,T,H,V); g (B,T,H); level_scales (B,T,H,L) -> o (B,T,H,V).
  check_defined(kOpName, {&q, &k, &v, &g, &level_scales});
#if LOGLIN_WITH_CUDA
  // K or V = 256 headed for v2: narrower v2 calls (wide_heads.h).
  if (on_cuda(q))
    if (std::optional<Tensor> o = lla::wide_heads_through_narrow_calls(q, k, v, g, level_scales, options,
                                                                       wants_grad(q, k, v, g, level_scales, nullptr)))
      return LogLinearAttentionOutput{std::move(*o), LogLinearState{}};
#endif
  if (is_bf16(q) || is_bf16(k) || is_bf16(v) || is_bf16(level_scales)) {
#if LOGLIN_WITH_CUDA
    if (on_cuda(q))
      if (std::optional<LogLinearAttentionOutput> out = cuda_native_bf16(q, k, v, g, level_scales, options))
        return std::move(*out);
#endif
    // bf16 is storage only on the cpu (and for CUDA versions without native
    // bf16 launchers): compute in f32 through the differentiable .to(), so
    // gradients come back to bf16 by the same road.
    auto f32 = [](const Tensor& t) { return t.dtype() == DType::bf16 ? t.to(DType::f32) : t; };
    LogLinearAttentionOutput out =
        log_linear_attention_with_state(f32(q), f32(k), f32(v), g, f32(level_scales), options);
    out.o = out.o.to(DType::bf16);
    return out;
  }
#if LOGLIN_WITH_CUDA
  // Under bf16 autocast (ops/autocast.h), f32 inputs on CUDA get the same
  // mixed precision as matmul and causal_attention: a version with native
  // bf16 launchers (tensor cores) computes on bf16 copies of q, k, v,
  // level_scales, and o returns to f32, so the model around it stays f32 and
  // gradients reach the f32 inputs through the .to() conversions. g and the
  // states stay f32. Where no such version takes the call (v1), nothing is
  // converted and the f32 path below runs as without autocast.
  if (on_cuda(q) && autocast_dtype() == DType::bf16)
    if (std::optional<LogLinearAttentionOutput> out =
            cuda_native_bf16(q, k, v, g, level_scales, options, /*autocast=*/true))
      return std::move(*out);
#endif
  const LogLinearState* st = options.has_initial_state() ? &options.initial_state() : nullptr;
  const lla::Layout lay = lla::check_inputs(q, k, v, g, level_scales, options.cu_seqlens(), options.chunk_size(), st);
  const DType D = q.dtype();
  const bool want_final = options.return_final_state();

#if LOGLIN_WITH_CUDA
  if (on_cuda(q)) {
    // The CUDA version the dispatcher picks (kernel_versions.h) runs the
    // forward and, through the record, the backward.
    const lla::GpuPlan plan = lla::make_gpu_plan(lay, q.device());
    lla::KernelCall call{D, st != nullptr, want_final, false};
    call.backward = wants_grad(q, k, v, g, level_scales, st);
    call.allow_tf32 = D == DType::f32 && log_linear_attention_allow_tf32();
    const lla::KernelVersion& ver = lla::select_kernel_version(plan.prob, call);
    LogLinearAttentionOutput out;
    dispatch_float(D, kOpName, [&]<class T_>() {
      out = cuda_forward<T_, T_>(ver, lay, plan, call, q, k, v, g, level_scales, st);
    });
    return out;
  }
#endif

  const int64_t B = q.size(0), T = q.size(1), N = static_cast<int64_t>(lay.seqs.size());
  const Tensor qc = prepared(q, D), kc = prepared(k, D), vc = prepared(v, D), gc = prepared(g, D),
               lsc = prepared(level_scales, D);
  const Tensor sc = st ? prepared(st->levels, D) : Tensor();
  const Device dev = q.device();
  Tensor o = Tensor::empty({B, T, lay.H, lay.V}, D, dev);
  Tensor fin = want_final ? Tensor::empty({N, lay.H, lay.L, lay.K, lay.V}, D, dev) : Tensor();
  dispatch_float(D, kOpName, [&]<class T_>() {
    lla::ForwardArgs<T_> a;
    a.q = qc.data<T_>(), a.k = kc.data<T_>(), a.v = vc.data<T_>(), a.g = gc.data<T_>(), a.ls = lsc.data<T_>();
    a.state_in = sc.defined() ? sc.data<T_>() : nullptr;
    a.o = o.data<T_>();
    a.state_out = want_final ? fin.data<T_>() : nullptr;
    lla::chunk_forward_cpu<T_>(lay, a);
  });

  const Tensor state_levels = st ? st->levels : Tensor();
  autograd::record(
      kOpName, {q, k, v, g, level_scales, state_levels}, {o, fin},
      [lay, qc, kc, vc, gc, lsc, sc, od = o.detach(), fd = want_final ? fin.detach() : Tensor(), g_dtype = g.dtype()](autograd::BackwardContext& ctx) {
        const DType D = qc.dtype();
        const Tensor dout = prepared(ctx.grads[0], D);
        const Tensor dfin = fd.defined() ? prepared(ctx.grads[1], D) : Tensor();
        const Device dev = qc.device();
        Tensor dq = Tensor::empty(qc.shape(), D, dev), dk = Tensor::empty(kc.shape(), D, dev);
        Tensor dv = Tensor::empty(vc.shape(), D, dev), dg = Tensor::empty(gc.shape(), D, dev);
        Tensor dls = Tensor::empty(lsc.shape(), D, dev);
        Tensor dstate = sc.defined() && ctx.needs(5) ? Tensor::empty(sc.shape(), D, dev) : Tensor();
        dispatch_float(D, kOpName, [&]<class T_>() {
          lla::BackwardArgs<T_> a;
          a.fwd.q = qc.data<T_>(), a.fwd.k = kc.data<T_>(), a.fwd.v = vc.data<T_>(), a.fwd.g = gc.data<T_>();
          a.fwd.ls = lsc.data<T_>();
          a.fwd.state_in = sc.defined() ? sc.data<T_>() : nullptr;
          a.fwd.o = od.data<T_>();
          a.fwd.state_out = fd.defined() ? fd.data<T_>() : nullptr;
          a.dout = dout.data<T_>();
          a.dstate_out = dfin.defined() ? dfin.data<T_>() : nullptr;
          a.dq = dq.data<T_>(), a.dk = dk.data<T_>(), a.dv = dv.data<T_>(), a.dg = dg.data<T_>();
          a.dls = dls.data<T_>();
          a.dstate_in = dstate.defined() ? dstate.data<T_>() : nullptr;
          lla::chunk_backward_cpu<T_>(lay, a);
        });
        if (g_dtype != D) dg = core::contiguous_copy(dg, g_dtype);
        return std::vector<Tensor>{dq, dk, dv, dg, dls, dstate};
      });

  return with_final_positions(o, fin, lay);
}

Tensor log_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                            const Tensor& level_scales, const LogLinearAttentionOptions& options) {
  LOGLIN_CHECK(!options.return_final_state(),
               "[{}] return_final_state() is set: call log_linear_attention_with_state to receive the state",
               lla::kOpName);
  return log_linear_attention_with_state(q, k, v, g, level_scales, options).o;
}

LogLinearState LogLinearState::zeros(int64_t N, int64_t H, int64_t L, int64_t K, int64_t V, DType dtype) {
  return {Tensor::zeros({N, H, L, K, V}, dtype), std::vector<int64_t>(static_cast<size_t>(N), 0)};
}

namespace {
// -1: not set, LOGLIN_LLA_TF32 decides; 0 / 1: the setter's choice.
std::atomic<int> allow_tf32_choice{-1};
}  // namespace

void set_log_linear_attention_allow_tf32(bool allow) { allow_tf32_choice.store(allow ? 1 : 0); }

bool log_linear_attention_allow_tf32() {
  const int c = allow_tf32_choice.load();
  if (c >= 0) return c == 1;
  static const bool from_env = [] {
    const char* e = std::getenv("LOGLIN_LLA_TF32");
    return e && std::string(e) == "1";
  }();
  return from_env;
}

}  // namespace loglin

namespace loglin::lla {

std::optional<Tensor> tf32_tensor_core_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                                 const Tensor& level_scales, const LogLinearAttentionOptions& options) {
#if LOGLIN_WITH_CUDA
  if (!on_cuda(q) || !log_linear_attention_allow_tf32() || options.has_initial_state() || options.return_final_state())
    return std::nullopt;
  if (!(is_f32(q) && is_f32(k) && is_f32(v) && is_f32(level_scales) && is_f32(g))) return std::nullopt;
  const lla::Layout lay = lla::check_inputs(q, k, v, g, level_scales, options.cu_seqlens(), options.chunk_size(), nullptr);
  const lla::GpuPlan plan = lla::make_gpu_plan(lay, q.device());
  lla::KernelCall call{DType::f32, false, false, false};
  call.backward = wants_grad(q, k, v, g, level_scales, nullptr);
  call.allow_tf32 = true;
  // The version the choice gives this call, if it is a tensor-core one (it
  // has native bf16 launchers too; v1 has neither).
  const lla::KernelVersion* ver = lla::version_taking(plan.prob, call);
  if (!ver || !ver->forward_bf16) return std::nullopt;
  return cuda_forward<float, float>(*ver, lay, plan, call, q, k, v, g, level_scales, nullptr).o;
#else
  (void)q, (void)k, (void)v, (void)g, (void)level_scales, (void)options;
  return std::nullopt;
#endif
}

std::optional<Tensor> autocast_tensor_core_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                                     const Tensor& g, const Tensor& level_scales,
                                                     const LogLinearAttentionOptions& options) {
#if LOGLIN_WITH_CUDA
  if (on_cuda(q) && autocast_dtype() == DType::bf16 && !options.has_initial_state() &&
      !options.return_final_state())
    if (std::optional<LogLinearAttentionOutput> out =
            cuda_native_bf16(q, k, v, g, level_scales, options, /*autocast=*/true))
      return std::move(out->o);
#else
  (void)q, (void)k, (void)v, (void)g, (void)level_scales, (void)options;
#endif
  return std::nullopt;
}

}  // namespace loglin::lla

