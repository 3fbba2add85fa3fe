// CUDA launchers of embedding (see embedding.h). Pointers are device memory
// of `device`; weight and dweight are contiguous [V, D], ids [N], out and dy
// [N, D]. Plain C++ declarations: embedding_cuda.cu has the kernels,
// instantiated for float/double weights and int32/int64 ids.
//
// Out-of-range ids: checking device-resident ids on the host would need a
// sync every call, and clamping would hide the bug. Instead the kernels skip
// such an id (its output row is NaN, it adds no gradient) and record it in a
// per-device slot of pinned host memory; embedding_take_bad_id() reads that
// slot without syncing, so the error is raised by the next embedding call
// (forward or backward) that runs after the bad kernel has finished, at the
// latest one step later. Ids that come from the host are checked there first.
#pragma once
#include <cstdint>

namespace loglin::cuda {

// out[n, :] = weight[ids[n], :].
template <class T, class I>
void embedding_fwd(const T* weight, const I* ids, T* out, int64_t N, int64_t V, int64_t D, int device);

// dweight[ids[n], :] += dy[n, :] with atomics: the order in which repeated ids
// add up varies from run to run, so dweight may differ in the last bits
// (unlike the cpu path, which is deterministic). dweight must be zeroed.
template <class T, class I>
void embedding_bwd(const T* dy, const I* ids, T* dweight, int64_t N, int64_t V, int64_t D, int device);

// True when a kernel on `device` has met an id outside [0, vocab) since the
// last call: sets id and vocab to one such id and its vocab size and clears
// the record. Never waits for the device.
bool embedding_take_bad_id(int device, int64_t& id, int64_t& vocab);

}  // namespace loglin::cuda
