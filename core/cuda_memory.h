// Device memory and copies for CUDA tensors. In builds without CUDA every
// function here throws a clear error (core/cuda_runtime_stub.cpp).
//
// The allocator caches freed blocks per device and rounded size (512 B
// steps below 1 MiB, 2 MiB steps above), so a training step that allocates
// the same sizes every time stops calling cudaMalloc after the first one.
// Copies run on one stream per device and, where they hand data to the host,
// wait for it. Uploads up to 64 MiB (token batches, index tables) go through
// two pinned host buffers per device and return without waiting; larger ones
// copy from the caller's memory and wait.
#pragma once
#include <cstddef>

#include "core/allocator.h"

namespace loglin::cuda {

void* allocate(size_t nbytes, int device);
void free(void* p, size_t nbytes, int device);
MemoryStats memory_stats(int device);
void reset_peak_memory(int device);
void empty_cache(int device);

void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device);
void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device);
void copy_device_to_device(void* dst, const void* src, size_t nbytes, int device);
void fill_zero(void* p, size_t nbytes, int device);
// Waits for everything queued on the device's stream.
void synchronize(int device);

}  // namespace loglin::cuda
