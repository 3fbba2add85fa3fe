// Gradcheck cases for causal_conv1d: a typical short conv (W = 4), a single
// tap (W = 1), no bias, a sequence shorter than the kernel (T < W); the fused
// silu activation (with and without bias, T < W, a wide kernel); and x read
// in place as a row-strided view (a narrow() of the last dim of a wider
// input, as Mamba-2's split of its projection gives), with and without silu.
// Packed documents (cu_seqlens): a document shorter than the kernel, one of
// a single row and one longer than it, on the fused op (plain, silu, a
// strided view) and on the composite reference it is tested against.
#include "ops/conv1d/causal_conv1d.h"
#include "ops/conv1d/causal_conv1d_reference.h"
#include "ops/gradcheck_cases.h"

namespace loglin {

void add_conv1d_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  struct Case {
    int64_t B, T, C, W;
    bool bias;
    ConvActivation act;
    int64_t pad;  // > 0: x is [B, T, C + pad] and the conv reads channels [1, 1 + C)
  };
  const ConvActivation none = ConvActivation::none, silu = ConvActivation::silu;
  for (Case k : {Case{2, 6, 3, 4, true, none, 0}, Case{2, 5, 3, 1, true, none, 0}, Case{2, 6, 3, 4, false, none, 0},
                 Case{2, 2, 3, 4, true, none, 0}, Case{1, 3, 2, 4, false, none, 0}, Case{2, 6, 3, 4, true, silu, 0},
                 Case{2, 5, 3, 4, false, silu, 0}, Case{2, 2, 3, 4, true, silu, 0}, Case{1, 7, 2, 6, true, silu, 0},
                 Case{2, 6, 3, 4, true, none, 3}, Case{2, 5, 4, 3, true, silu, 2}}) {
    Shape sx{k.B, k.T, k.C + k.pad}, sw{k.C, k.W}, sb{k.C};
    std::string label =
        k.bias ? gc_label({{"x", sx}, {"w", sw}, {"b", sb}}) : gc_label({{"x", sx}, {"w", sw}}) + " no bias";
    if (k.act == silu) label += ", silu";
    if (k.pad > 0) label += ", x = narrow(x, 2, 1, " + std::to_string(k.C) + ")";
    cases.push_back({"causal_conv1d", label,
                     [sx, sw, sb, k](Generator& g) {
                       std::vector<Tensor> in{gc_randn(g, sx), gc_randn(g, sw)};
                       if (k.bias) in.push_back(gc_randn(g, sb));
                       return in;
                     },
                     [k](const std::vector<Tensor>& in) {
                       Tensor x = k.pad > 0 ? in[0].narrow(2, 1, k.C) : in[0];
                       return causal_conv1d(x, in[1], in.size() > 2 ? in[2] : Tensor(), k.act);
                     }});
  }

  // Documents of 2, 1 and 6 rows in one packed sequence of 9.
  const Tensor cu = Tensor::from_vector(std::vector<int64_t>{0, 2, 3, 9}, {4});
  struct Packed {
    ConvActivation act;
    int64_t pad;
    bool reference;
  };
  for (Packed k : {Packed{none, 0, false}, Packed{silu, 0, false}, Packed{silu, 2, false}, Packed{silu, 0, true}}) {
    const int64_t C = 3, W = 4;
    Shape sx{1, 9, C + k.pad}, sw{C, W}, sb{C};
    std::string label = gc_label({{"x", sx}, {"w", sw}, {"b", sb}}) + ", cu_seqlens {0, 2, 3, 9}";
    if (k.act == silu) label += ", silu";
    if (k.pad > 0) label += ", x = narrow(x, 2, 1, " + std::to_string(C) + ")";
    cases.push_back({k.reference ? "causal_conv1d_reference" : "causal_conv1d", label,
                     [sx, sw, sb](Generator& g) {
                       return std::vector<Tensor>{gc_randn(g, sx), gc_randn(g, sw), gc_randn(g, sb)};
                     },
                     [k, cu, C](const std::vector<Tensor>& in) {
                       Tensor x = k.pad > 0 ? in[0].narrow(2, 1, C) : in[0];
                       return k.reference ? causal_conv1d_reference(x, in[1], in[2], k.act, cu)
                                          : causal_conv1d(x, in[1], in[2], k.act, cu);
                     }});
  }
}

}  // namespace loglin
