// Launcher of log_linear_attention_step's CUDA path: one decoding step per
// sequence on device tensors. Plain C++17; instantiated for float and double
// in recurrent_step_cuda.cu.
#pragma once
#include <cstdint>

namespace loglin::lla {

// q, k [N,G,K]; v, o [N,H,V]; g [N,H]; ls [N,H,L]; levels [N,H,L,K,V]:
// levels_out = the stepped levels_in (a new buffer), o from levels_out.
// positions [N] (device): tokens consumed before this step.
template <class T>
void log_linear_attention_step_cuda(const T* q, const T* k, const T* v, const T* g, const T* ls, const T* levels_in,
                                    T* levels_out, T* o, const int64_t* positions, int64_t N, int64_t H, int64_t G,
                                    int64_t L, int64_t K, int64_t V, int device);

}  // namespace loglin::lla
