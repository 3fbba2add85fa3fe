// The chunked CPU forward and backward of the gated delta rule and its
// log-linear form (ops/gated_delta_rule/cpu/), on raw arrays:
//   - the forward against a per-level token recurrence written here in f64
//     (SPEC-gated-deltanet.md section 2), over awkward lengths, chunk sizes,
//     groups, head dims, packed sequences, initial and final states;
//   - the backward against central finite differences of the chunked forward
//     in f64, every entry on small shapes and a random subset at T = 200;
//   - f32 against f64; extreme beta and g;
//   - where ops/gated_delta_rule/reference.h is present, the forward and the
//     backward against its independent recurrence (gated_delta_rule_recurrent
//     and _recurrent_backward) on tensors.
// LOGLIN_GDR_REPORT=1 prints the worst relative error of each quantity.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "catch.h"
#include "core/error.h"
#include "ops/gated_delta_rule/cpu/chunk_cpu.h"
#if __has_include("ops/gated_delta_rule/reference.h")
#include "core/tensor.h"
#include "ops/gated_delta_rule/reference.h"
#define GDR_CHUNK_TEST_HAS_REFERENCE 1
#endif

namespace {

using loglin::lla::Layout;
using loglin::lla::Seq;
using Vec = std::vector<double>;

// ---- problems ----

struct Dims {
  int64_t G, H, K, V;
};

// One call: the layout and every input in f64 (ls empty when plain, state
// empty without an initial state).
struct Problem {
  Layout lay;
  bool plain = false;
  Vec q, k, v, g, beta, ls, state;
  int64_t Ls() const { return plain ? 1 : lay.L; }
  int64_t state_size() const { return static_cast<int64_t>(lay.seqs.size()) * lay.H * Ls() * lay.K * lay.V; }
};

// Sequences of lengths `lens` starting at absolute positions `pos`, packed
// along the rows. k rows have norms in [0.6, 1.2] and beta is in [0, 1], so
// the transition I - beta k k^T keeps its eigenvalues in (-1, 1] as in the
// layer (L2-normalised keys); g ~ U(-gmax, 0).
Problem make_problem(std::mt19937_64& rng, const std::vector<int64_t>& lens, const std::vector<int64_t>& pos, Dims d,
                     int64_t C, bool plain, bool with_state, double gmax = 0.2) {
  Problem p;
  Layout& lay = p.lay;
  lay.H = d.H, lay.G = d.G, lay.K = d.K, lay.V = d.V, lay.C = C;
  lay.c = loglin::lla::bit_length(C) - 1;
  int64_t last = 0;
  for (size_t n = 0; n < lens.size(); ++n) {
    lay.seqs.push_back(Seq{lay.rows, lens[n], pos[n]});
    lay.rows += lens[n];
    last = std::max(last, pos[n] + lens[n] - 1);
  }
  lay.L = loglin::lla::bit_length(last) + 2;  // one level more than needed: unused levels must stay exact
  p.plain = plain;
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unif;
  auto fill = [&](Vec& x, int64_t n, auto draw) {
    x.resize(static_cast<size_t>(n));
    for (double& e : x) e = draw();
  };
  fill(p.q, lay.rows * d.G * d.K, [&] { return normal(rng); });
  fill(p.k, lay.rows * d.G * d.K, [&] { return normal(rng); });
  for (int64_t r = 0; r < lay.rows * d.G; ++r) {
    double nq = 0, nk = 0;
    for (int64_t x = 0; x < d.K; ++x) nq += p.q[r * d.K + x] * p.q[r * d.K + x], nk += p.k[r * d.K + x] * p.k[r * d.K + x];
    const double sk = (0.6 + 0.6 * unif(rng)) / std::sqrt(nk), sq = 1 / std::sqrt(nq);
    for (int64_t x = 0; x < d.K; ++x) p.q[r * d.K + x] *= sq, p.k[r * d.K + x] *= sk;
  }
  fill(p.v, lay.rows * d.H * d.V, [&] { return normal(rng); });
  fill(p.g, lay.rows * d.H, [&] { return -gmax * unif(rng); });
  fill(p.beta, lay.rows * d.H, [&] { return unif(rng); });
  if (!plain) fill(p.ls, lay.rows * d.H * lay.L, [&] { return 0.5 + unif(rng); });
  if (with_state) fill(p.state, p.state_size(), [&] { return 0.5 * normal(rng); });
  return p;
}

// B sequences of length T each, at positions `pos` (one per sequence).
Problem batch_problem(std::mt19937_64& rng, int64_t T, const std::vector<int64_t>& pos, Dims d, int64_t C, bool plain,
                      bool with_state) {
  return make_problem(rng, std::vector<int64_t>(pos.size(), T), pos, d, C, plain, with_state);
}

// ---- the reference: the per-level token recurrence ----

struct Out {
  Vec o, state;
};

// Per (sequence, head), token by token: re-bucket the levels for position t
// (from t - 1, the trailing one bits m: levels 0..m join level m + 1), gate
// every level by A_t = e^g (I - beta k k^T), write beta k v^T into level 0,
// read o = sum_l lambda[l] S_l^T q. The plain form has one level and lambda = 1.
Out reference(const Problem& p) {
  const Layout& lay = p.lay;
  const int64_t H = lay.H, K = lay.K, V = lay.V, Ls = p.Ls(), kv = K * V;
  Out out;
  out.o.assign(static_cast<size_t>(lay.rows * H * V), 0.0);
  out.state.assign(static_cast<size_t>(p.state_size()), 0.0);
  for (size_t n = 0; n < lay.seqs.size(); ++n) {
    const Seq& s = lay.seqs[n];
    for (int64_t h = 0; h < H; ++h) {
      double* S = &out.state[(n * H + h) * Ls * kv];
      if (!p.state.empty()) std::copy_n(&p.state[(n * H + h) * Ls * kv], Ls * kv, S);
      const int64_t grp = h / (H / lay.G);
      for (int64_t i = 0; i < s.len; ++i) {
        const int64_t row = s.row0 + i, t = s.pos + i;
        const double* q = &p.q[(row * lay.G + grp) * K];
        const double* k = &p.k[(row * lay.G + grp) * K];
        const double* v = &p.v[(row * H + h) * V];
        const double g = p.g[row * H + h], b = p.beta[row * H + h];
        if (!p.plain && t > 0) {
          int m = 0;
          while ((t - 1) >> m & 1) ++m;
          for (int l = 0; l <= m; ++l)
            for (int64_t e = 0; e < kv; ++e) S[(m + 1) * kv + e] += S[l * kv + e], S[l * kv + e] = 0;
        }
        for (int64_t l = 0; l < Ls; ++l) {
          double* Sl = S + l * kv;
          for (int64_t y = 0; y < V; ++y) {
            double kS = 0;
            for (int64_t x = 0; x < K; ++x) kS += k[x] * Sl[x * V + y];
            for (int64_t x = 0; x < K; ++x) Sl[x * V + y] = std::exp(g) * (Sl[x * V + y] - b * k[x] * kS);
          }
        }
        for (int64_t x = 0; x < K; ++x)
          for (int64_t y = 0; y < V; ++y) S[x * V + y] += b * k[x] * v[y];
        double* o = &out.o[(row * H + h) * V];
        for (int64_t l = 0; l < Ls; ++l) {
          const double lam = p.plain ? 1.0 : p.ls[(row * H + h) * lay.L + l];
          for (int64_t x = 0; x < K; ++x)
            for (int64_t y = 0; y < V; ++y) o[y] += lam * q[x] * S[l * kv + x * V + y];
        }
      }
    }
  }
  return out;
}

// ---- the chunked code in T ----

template <class T>
std::vector<T> cast(const Vec& x) {
  return std::vector<T>(x.begin(), x.end());
}
template <class T>
Vec widen(const std::vector<T>& x) {
  return Vec(x.begin(), x.end());
}

// The problem's inputs in T, and the argument struct pointing at them.
template <class T>
struct Inputs {
  std::vector<T> q, k, v, g, beta, ls, state;
  loglin::gdr::ForwardArgs<T> args;
  explicit Inputs(const Problem& p)
      : q(cast<T>(p.q)), k(cast<T>(p.k)), v(cast<T>(p.v)), g(cast<T>(p.g)), beta(cast<T>(p.beta)),
        ls(cast<T>(p.ls)), state(cast<T>(p.state)) {
    args.q = q.data(), args.k = k.data(), args.v = v.data(), args.g = g.data(), args.beta = beta.data();
    args.ls = p.plain ? nullptr : ls.data();
    args.state_in = p.state.empty() ? nullptr : state.data();
  }
};

template <class T>
Out chunk_forward(const Problem& p, bool want_state = true) {
  Inputs<T> in(p);
  std::vector<T> o(static_cast<size_t>(p.lay.rows * p.lay.H * p.lay.V)), st(static_cast<size_t>(p.state_size()));
  in.args.o = o.data();
  in.args.state_out = want_state ? st.data() : nullptr;
  loglin::gdr::chunk_forward_cpu<T>(p.lay, in.args);
  return {widen(o), want_state ? widen(st) : Vec()};
}

struct Grads {
  Vec dq, dk, dv, dg, dbeta, dls, dstate;
};

// The gradients of sum(o * dout) + sum(final_state * dstate_out).
template <class T>
Grads chunk_backward(const Problem& p, const Vec& dout, const Vec& dstate_out) {
  const Layout& lay = p.lay;
  Inputs<T> in(p);
  const std::vector<T> d_o = cast<T>(dout), d_s = cast<T>(dstate_out);
  std::vector<T> dq(p.q.size()), dk(p.k.size()), dv(p.v.size()), dg(p.g.size()), db(p.beta.size()),
      dls(p.ls.size()), dst(static_cast<size_t>(p.state_size()));
  loglin::gdr::BackwardArgs<T> a;
  a.fwd = in.args;
  a.dout = d_o.data();
  a.dstate_out = dstate_out.empty() ? nullptr : d_s.data();
  a.dq = dq.data(), a.dk = dk.data(), a.dv = dv.data(), a.dg = dg.data(), a.dbeta = db.data();
  a.dls = p.plain ? nullptr : dls.data();
  a.dstate_in = dst.data();
  loglin::gdr::chunk_backward_cpu<T>(lay, a);
  return {widen(dq), widen(dk), widen(dv), widen(dg), widen(db), widen(dls), widen(dst)};
}

// ---- errors and the report ----

// ||a - b|| / ||b|| (||a - b|| when b is zero); NaN, infinity or a size
// mismatch give infinity.
double rel_err(const Vec& a, const Vec& b) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

bool all_finite(const Vec& a) {
  return std::all_of(a.begin(), a.end(), [](double x) { return std::isfinite(x); });
}

std::map<std::string, double>& worst() {
  static std::map<std::string, double> w;
  return w;
}
double note(const std::string& what, double err) {
  double& w = worst()[what];
  w = std::max(w, err);
  return err;
}
struct Reporter {
  Reporter() { worst(); }
  ~Reporter() {
    if (!std::getenv("LOGLIN_GDR_REPORT") || worst().empty()) return;
    std::printf("\nworst relative errors of the chunked gated delta rule:\n| check | worst rel. err |\n|---|---|\n");
    for (const auto& [k, v] : worst()) std::printf("| %s | %.3g |\n", k.c_str(), v);
  }
};
Reporter reporter;

Vec random_vec(std::mt19937_64& rng, size_t n) {
  std::normal_distribution<double> normal;
  Vec x(n);
  for (double& e : x) e = normal(rng);
  return x;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// ---- finite differences ----

struct Field {
  const char* name;
  Vec Problem::*input;
  Vec Grads::*grad;
};
const Field kFields[] = {{"dq", &Problem::q, &Grads::dq},          {"dk", &Problem::k, &Grads::dk},
                         {"dv", &Problem::v, &Grads::dv},          {"dg", &Problem::g, &Grads::dg},
                         {"dbeta", &Problem::beta, &Grads::dbeta}, {"dls", &Problem::ls, &Grads::dls},
                         {"dstate", &Problem::state, &Grads::dstate}};

// Compares the chunked backward with central differences of
// loss = sum(o * Wo) + sum(final_state * Ws), both in f64, on every entry
// (per_field = 0) or on per_field random entries of each input.
void check_against_fd(const Problem& p0, std::mt19937_64& rng, size_t per_field, double tol, const std::string& tag) {
  const Out out = chunk_forward<double>(p0);
  const Vec Wo = random_vec(rng, out.o.size()), Ws = random_vec(rng, out.state.size());
  const Grads gr = chunk_backward<double>(p0, Wo, Ws);
  auto loss = [&](const Problem& p) {
    const Out r = chunk_forward<double>(p);
    return dot(r.o, Wo) + dot(r.state, Ws);
  };
  Problem p = p0;
  for (const Field& f : kFields) {
    Vec& x = p.*(f.input);
    if (x.empty()) continue;
    std::vector<size_t> idx(x.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    if (per_field && per_field < idx.size()) {
      std::shuffle(idx.begin(), idx.end(), rng);
      idx.resize(per_field);
    }
    Vec fd, an;
    for (size_t i : idx) {
      const double x0 = x[i], h = 1e-5;
      x[i] = x0 + h;
      const double up = loss(p);
      x[i] = x0 - h;
      const double down = loss(p);
      x[i] = x0;
      fd.push_back((up - down) / (2 * h));
      an.push_back((gr.*(f.grad))[i]);
    }
    INFO(tag << " " << f.name << " over " << idx.size() << " entries");
    CHECK(note(std::string("f64 ") + f.name + " vs finite differences", rel_err(an, fd)) < tol);
  }
}

}  // namespace

TEST_CASE("gated_delta_rule chunk cpu: forward equals the per-level recurrence", "[ops][gated_delta_rule]") {
  std::mt19937_64 rng(101);
  const std::vector<Dims> dims = {{1, 2, 4, 3}, {2, 4, 1, 5}, {3, 3, 6, 1}};
  for (int64_t T : {1, 63, 64, 65, 200, 1000}) {
    for (const Dims& d : dims) {
      for (int64_t C : {16, 32, 64}) {
        for (bool plain : {false, true}) {
          for (bool state : {false, true}) {
            // Sequence 0 starts at 0, sequence 1 continues a state at 37 (no multiple of C).
            const Problem p = batch_problem(rng, T, {0, 37}, d, C, plain, state);
            const Out ref = reference(p), got = chunk_forward<double>(p);
            INFO("T " << T << " G " << d.G << " H " << d.H << " K " << d.K << " V " << d.V << " C " << C
                      << (plain ? " plain" : " log-linear") << (state ? " with state" : ""));
            CHECK(note("f64 forward o", rel_err(got.o, ref.o)) < 1e-10);
            CHECK(note("f64 forward final state", rel_err(got.state, ref.state)) < 1e-10);
          }
        }
      }
    }
  }
}

TEST_CASE("gated_delta_rule chunk cpu: packed sequences, states at awkward positions", "[ops][gated_delta_rule]") {
  // cu_seqlens-style packing with length-1 sequences, positions on both sides
  // of chunk and power-of-two boundaries, every chunk size.
  std::mt19937_64 rng(102);
  const std::vector<int64_t> lens = {1, 150, 1, 77, 40, 129};
  const std::vector<int64_t> pos = {5, 4090, 0, 64, 1023, 8193};
  for (int64_t C : {1, 2, 16, 64, 128}) {
    for (bool plain : {false, true}) {
      const Problem p = make_problem(rng, lens, pos, {2, 4, 5, 3}, C, plain, true);
      const Out ref = reference(p), got = chunk_forward<double>(p);
      INFO("C " << C << (plain ? " plain" : " log-linear"));
      CHECK(note("f64 forward o", rel_err(got.o, ref.o)) < 1e-10);
      CHECK(note("f64 forward final state", rel_err(got.state, ref.state)) < 1e-10);
      // The final state is optional and changes nothing else.
      CHECK(rel_err(chunk_forward<double>(p, false).o, got.o) == 0);
    }
  }
}

TEST_CASE("gated_delta_rule chunk cpu: more than 64 levels is a clear error", "[ops][gated_delta_rule]") {
  std::mt19937_64 rng(109);
  Problem p = make_problem(rng, {5}, {3}, {1, 1, 2, 2}, 4, false, false);
  p.lay.L = 65;
  p.ls.assign(static_cast<size_t>(p.lay.rows * p.lay.H * p.lay.L), 1.0);
  CHECK_THROWS_AS(chunk_forward<double>(p), loglin::Error);
  CHECK_THROWS_AS(chunk_backward<double>(p, Vec(p.v.size(), 1.0), Vec()), loglin::Error);
  p.lay.L = 64;
  p.ls.resize(static_cast<size_t>(p.lay.rows * p.lay.H * p.lay.L));
  CHECK(rel_err(chunk_forward<double>(p).o, reference(p).o) < 1e-12);
}

TEST_CASE("gated_delta_rule chunk cpu: backward equals finite differences on every entry", "[ops][gated_delta_rule]") {
  std::mt19937_64 rng(103);
  for (const Dims& d : {Dims{1, 2, 3, 2}, Dims{2, 2, 2, 3}}) {
    for (bool plain : {false, true}) {
      // A length-1 sequence, a state continuing inside a chunk, one from position 0.
      const Problem p = make_problem(rng, {1, 23, 10}, {3, 29, 0}, d, 8, plain, true);
      check_against_fd(p, rng, 0, 1e-6,
                       std::string(plain ? "plain" : "log-linear") + " G " + std::to_string(d.G));
    }
  }
}

TEST_CASE("gated_delta_rule chunk cpu: backward at T = 200 on random entries", "[ops][gated_delta_rule]") {
  std::mt19937_64 rng(104);
  for (bool plain : {false, true}) {
    const Problem p = make_problem(rng, {200, 57}, {37, 0}, {1, 2, 5, 4}, 16, plain, true);
    check_against_fd(p, rng, 40, 1e-6, plain ? "plain T 200" : "log-linear T 200");
  }
}

TEST_CASE("gated_delta_rule chunk cpu: backward across chunk and power-of-two boundaries", "[ops][gated_delta_rule]") {
  // Packed, G = 2 of H = 4, states at 4030 (the merge at 4096 lifts them to
  // level 13), 7 and 1000, chunk 32; random entries.
  std::mt19937_64 rng(108);
  for (bool plain : {false, true}) {
    const Problem p = make_problem(rng, {130, 1, 90}, {4030, 7, 1000}, {2, 4, 4, 3}, 32, plain, true);
    check_against_fd(p, rng, 30, 1e-6, plain ? "plain packed" : "log-linear packed");
  }
}

TEST_CASE("gated_delta_rule chunk cpu: f32 agrees with f64", "[ops][gated_delta_rule]") {
  std::mt19937_64 rng(105);
  for (bool plain : {false, true}) {
    // Long memory (g ~ U(-0.02, 0)) at realistic head dims, and a short sequence.
    const Problem p = make_problem(rng, {2000, 129}, {45, 0}, {1, 2, 32, 32}, 64, plain, true, 0.02);
    const Out o64 = chunk_forward<double>(p), o32 = chunk_forward<float>(p);
    CHECK(note("f32 forward o", rel_err(o32.o, o64.o)) < 1e-4);
    CHECK(note("f32 forward final state", rel_err(o32.state, o64.state)) < 1e-4);
    const Vec Wo = random_vec(rng, o64.o.size()), Ws = random_vec(rng, o64.state.size());
    const Grads g64 = chunk_backward<double>(p, Wo, Ws), g32 = chunk_backward<float>(p, Wo, Ws);
    for (const Field& f : kFields) {
      if ((g64.*(f.grad)).empty()) continue;
      INFO((plain ? "plain " : "log-linear ") << f.name);
      CHECK(note(std::string("f32 ") + f.name + " vs f64", rel_err(g32.*(f.grad), g64.*(f.grad))) < 1e-4);
    }
  }
}

TEST_CASE("gated_delta_rule chunk cpu: beta near 0 and 1, g near 0 and -30", "[ops][gated_delta_rule]") {
  std::mt19937_64 rng(106);
  for (double beta : {1e-7, 1 - 1e-7, 1.0}) {
    for (double g : {-1e-7, -30.0}) {
      for (bool plain : {false, true}) {
        Problem p = make_problem(rng, {150, 3}, {21, 0}, {1, 2, 4, 4}, 32, plain, true);
        std::fill(p.beta.begin(), p.beta.end(), beta);
        std::fill(p.g.begin(), p.g.end(), g);
        INFO("beta " << beta << " g " << g << (plain ? " plain" : " log-linear"));
        const Out ref = reference(p), got = chunk_forward<double>(p);
        CHECK(rel_err(got.o, ref.o) < 1e-10);
        CHECK(rel_err(got.state, ref.state) < 1e-10);
        const Out o32 = chunk_forward<float>(p);
        CHECK(all_finite(o32.o));
        CHECK(all_finite(o32.state));
        const Vec Wo = random_vec(rng, got.o.size()), Ws = random_vec(rng, got.state.size());
        for (const Grads& gr : {chunk_backward<float>(p, Wo, Ws), chunk_backward<double>(p, Wo, Ws)})
          for (const Field& f : kFields) {
            INFO(f.name);
            CHECK(all_finite(gr.*(f.grad)));
          }
      }
    }
  }
}

#if GDR_CHUNK_TEST_HAS_REFERENCE
TEST_CASE("gated_delta_rule chunk cpu: agrees with the recurrent reference and its backward", "[ops][gated_delta_rule]") {
  using loglin::Tensor;
  std::mt19937_64 rng(107);
  const std::vector<int64_t> lens = {1, 70, 33, 9}, pos = {0, 3, 64, 200};
  for (bool plain : {false, true}) {
    Problem p = make_problem(rng, lens, pos, {2, 4, 3, 2}, 16, plain, true);
    const int64_t H = p.lay.H, G = p.lay.G, K = p.lay.K, V = p.lay.V, rows = p.lay.rows, Ls = p.Ls();
    const int64_t N = static_cast<int64_t>(lens.size());
    // The reference requires a state at position 0 to be empty.
    std::fill_n(p.state.begin(), H * Ls * K * V, 0.0);
    std::vector<int64_t> cu = {0};
    for (int64_t n : lens) cu.push_back(cu.back() + n);
    const Tensor q = Tensor::from_vector(p.q, {1, rows, G, K}), k = Tensor::from_vector(p.k, {1, rows, G, K}),
                 v = Tensor::from_vector(p.v, {1, rows, H, V}), g = Tensor::from_vector(p.g, {1, rows, H}),
                 beta = Tensor::from_vector(p.beta, {1, rows, H}),
                 ls = plain ? Tensor() : Tensor::from_vector(p.ls, {1, rows, H, p.lay.L});
    const auto opt = loglin::GatedDeltaRuleOptions()
                         .chunk_size(p.lay.C)
                         .cu_seqlens(Tensor::from_vector(cu, {N + 1}))
                         .initial_state({Tensor::from_vector(p.state, {N, H, Ls, K, V}), pos})
                         .return_final_state();
    const loglin::GatedDeltaRuleOutput ref = loglin::gated_delta_rule_recurrent(q, k, v, g, beta, ls, opt);
    const Out got = chunk_forward<double>(p);
    INFO((plain ? "plain" : "log-linear"));
    CHECK(note("f64 o vs recurrent reference", rel_err(got.o, ref.o.to_vector<double>())) < 1e-10);
    CHECK(note("f64 final state vs recurrent reference",
               rel_err(got.state, ref.final_state.levels.to_vector<double>())) < 1e-10);

    const Vec Wo = random_vec(rng, got.o.size()), Ws = random_vec(rng, got.state.size());
    const loglin::GatedDeltaRuleGrads rg = loglin::gated_delta_rule_recurrent_backward(
        q, k, v, g, beta, ls, opt, Tensor::from_vector(Wo, {1, rows, H, V}), Tensor::from_vector(Ws, {N, H, Ls, K, V}));
    const Grads gr = chunk_backward<double>(p, Wo, Ws);
    const std::pair<const char*, std::pair<const Vec*, Tensor>> pairs[] = {
        {"dq", {&gr.dq, rg.dq}},     {"dk", {&gr.dk, rg.dk}},       {"dv", {&gr.dv, rg.dv}},
        {"dg", {&gr.dg, rg.dg}},     {"dbeta", {&gr.dbeta, rg.dbeta}}, {"dls", {&gr.dls, rg.dlevel_scales}},
        {"dstate", {&gr.dstate, rg.dinitial_state}}};
    for (const auto& [name, ab] : pairs) {
      if (ab.first->empty()) continue;
      INFO(name);
      REQUIRE(ab.second.defined());
      CHECK(note(std::string("f64 ") + name + " vs recurrent backward", rel_err(*ab.first, ab.second.to_vector<double>())) <
            1e-10);
    }
  }
}
#endif
