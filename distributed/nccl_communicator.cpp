// NcclCommunicator (nccl_communicator.h). Everything NCCL- or CUDA-specific
// is inside LOGLIN_WITH_NCCL; other builds get the clear errors only.
#include "distributed/nccl_communicator.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"

#if LOGLIN_WITH_NCCL
#include <nccl.h>

#include "core/cuda_stream.h"
#endif

namespace loglin::dist {

namespace {

constexpr const char* kIdFile = "nccl_unique_id";

std::filesystem::path id_path(const FileRendezvous& rdv) { return std::filesystem::path(rdv.dir) / kIdFile; }

}  // namespace

void clear_rendezvous(const FileRendezvous& rdv) {
  namespace fs = std::filesystem;
  LOGLIN_CHECK(!rdv.dir.empty(), "[dist] the NCCL rendezvous needs a directory shared by all ranks");
  std::error_code ec;
  fs::create_directories(rdv.dir, ec);
  LOGLIN_CHECK(!ec, "[dist] cannot create the rendezvous directory {}: {}", rdv.dir, ec.message());
  for (const fs::path& stale : {id_path(rdv), fs::path(id_path(rdv).string() + ".tmp")}) {
    fs::remove(stale, ec);
    LOGLIN_CHECK(!ec, "[dist] cannot remove the previous run's {}: {}", stale.string(), ec.message());
  }
}

#if LOGLIN_WITH_NCCL

namespace {

void nccl_check(ncclResult_t r, const char* what) {
  LOGLIN_CHECK(r == ncclSuccess, "[dist] NCCL {} failed: {}", what, ncclGetErrorString(r));
}

ncclDataType_t nccl_type(DType d) { return d == DType::f64 ? ncclDouble : ncclFloat; }

// Rank 0's unique id through a file in the shared directory.
ncclUniqueId exchange_id(int rank, const FileRendezvous& rdv) {
  namespace fs = std::filesystem;
  LOGLIN_CHECK(!rdv.dir.empty(), "[dist] the NCCL rendezvous needs a directory shared by all ranks");
  const fs::path final_path = id_path(rdv);
  ncclUniqueId id;
  if (rank == 0) {
    nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    fs::create_directories(rdv.dir);
    const fs::path tmp = final_path.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(&id), sizeof(id));
      LOGLIN_CHECK(out.good(), "[dist] cannot write the NCCL id to {}", tmp.string());
    }
    fs::rename(tmp, final_path);
    return id;
  }
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    std::ifstream in(final_path, std::ios::binary);
    if (in && in.read(reinterpret_cast<char*>(&id), sizeof(id)) && in.gcount() == sizeof(id)) return id;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    LOGLIN_CHECK(waited < rdv.timeout_s,
                 "[dist] rank {} waited {:.0f} s for rank 0's NCCL id in {}; is rank 0 running, and is the directory "
                 "shared?",
                 rank, waited, final_path.string());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

bool nccl_available() { return true; }

std::unique_ptr<NcclCommunicator> NcclCommunicator::create(int rank, int world_size, int device,
                                                           const FileRendezvous& rdv) {
  LOGLIN_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "[dist] rank {} of world size {} is out of range",
               rank, world_size);
  int n_dev = 0;
  LOGLIN_CHECK(cudaGetDeviceCount(&n_dev) == cudaSuccess && device >= 0 && device < n_dev,
               "[dist] rank {} asks for GPU {}, this machine has {}", rank, device, n_dev);
  const ncclUniqueId id = exchange_id(rank, rdv);
  LOGLIN_CHECK(cudaSetDevice(device) == cudaSuccess, "[dist] cudaSetDevice({}) failed", device);
  ncclComm_t comm = nullptr;
  nccl_check(ncclCommInitRank(&comm, world_size, id, rank), "ncclCommInitRank");
  // ncclCommInitRank returns once every rank has joined, so every rank has
  // read the id: rank 0 removes it, and a later run in this directory cannot
  // read a stale one.
  if (rank == 0) {
    std::error_code ec;
    std::filesystem::remove(id_path(rdv), ec);
  }
  return std::unique_ptr<NcclCommunicator>(new NcclCommunicator(rank, world_size, device, comm));
}

NcclCommunicator::NcclCommunicator(int rank, int world_size, int device, void* comm)
    : rank_(rank), world_(world_size), device_(device), comm_(comm) {
  (void)cuda::stream(device_);
  cudaStream_t side = nullptr;
  cudaEvent_t a = nullptr, b = nullptr;
  // Non-blocking: no implicit ordering with the legacy default stream; the
  // events below are the only ordering.
  if (cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking) != cudaSuccess ||
      cudaEventCreateWithFlags(&a, cudaEventDisableTiming) != cudaSuccess ||
      cudaEventCreateWithFlags(&b, cudaEventDisableTiming) != cudaSuccess) {
    const std::string err = cudaGetErrorString(cudaGetLastError());
    if (side) cudaStreamDestroy(side);
    if (a) cudaEventDestroy(a);
    if (b) cudaEventDestroy(b);
    (void)ncclCommDestroy(static_cast<ncclComm_t>(comm));
    LOGLIN_FAIL("[dist] rank {}: cannot create the communication stream on GPU {}: {}", rank, device, err);
  }
  side_ = side;
  compute_done_ = a;
  side_done_ = b;
}

NcclCommunicator::~NcclCommunicator() {
  if (side_) (void)cudaStreamSynchronize(static_cast<cudaStream_t>(side_));
  if (comm_) (void)ncclCommDestroy(static_cast<ncclComm_t>(comm_));
  if (compute_done_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(compute_done_));
  if (side_done_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(side_done_));
  if (side_) (void)cudaStreamDestroy(static_cast<cudaStream_t>(side_));
}

void NcclCommunicator::check_tensors(const char* op, const std::vector<Tensor>& tensors) const {
  const std::string bad = check_collective_tensors(op, tensors);
  LOGLIN_CHECK(bad.empty(), "{}", bad);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Device d = tensors[i].device();
    LOGLIN_CHECK(d.is_cuda() && d.index == device_, "[dist] {}: tensor {} is on {}, this rank's GPU is cuda:{}", op, i,
                 d.str(), device_);
  }
}

void NcclCommunicator::side_after_compute() {
  cudaStream_t compute = cuda::stream(device_);
  auto ev = static_cast<cudaEvent_t>(compute_done_);
  LOGLIN_CHECK(cudaEventRecord(ev, compute) == cudaSuccess, "[dist] cudaEventRecord failed");
  LOGLIN_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(side_), ev, 0) == cudaSuccess,
               "[dist] cudaStreamWaitEvent failed");
}

void NcclCommunicator::all_reduce_async(const std::vector<Tensor>& tensors, ReduceOp op) {
  check_tensors("all_reduce", tensors);
  side_after_compute();
  auto side = static_cast<cudaStream_t>(side_);
  const ncclRedOp_t nop = op == ReduceOp::average ? ncclAvg : ncclSum;
  nccl_check(ncclGroupStart(), "ncclGroupStart");
  for (const Tensor& t : tensors) {
    void* p = const_cast<void*>(t.raw_data());
    nccl_check(ncclAllReduce(p, p, static_cast<size_t>(t.numel()), nccl_type(t.dtype()), nop,
                             static_cast<ncclComm_t>(comm_), side),
               "ncclAllReduce");
    stats_.all_reduce_bytes += t.numel() * static_cast<int64_t>(dtype_size(t.dtype()));
  }
  nccl_check(ncclGroupEnd(), "ncclGroupEnd");
  pending_ = true;
  ++stats_.all_reduce_calls;
}

void NcclCommunicator::wait_all() {
  if (!pending_) return;
  auto ev = static_cast<cudaEvent_t>(side_done_);
  LOGLIN_CHECK(cudaEventRecord(ev, static_cast<cudaStream_t>(side_)) == cudaSuccess, "[dist] cudaEventRecord failed");
  LOGLIN_CHECK(cudaStreamWaitEvent(cuda::stream(device_), ev, 0) == cudaSuccess, "[dist] cudaStreamWaitEvent failed");
  pending_ = false;
}

void NcclCommunicator::all_reduce(const std::vector<Tensor>& tensors, ReduceOp op) {
  all_reduce_async(tensors, op);
  wait_all();
}

void NcclCommunicator::broadcast(const std::vector<Tensor>& tensors, int root) {
  LOGLIN_CHECK(root >= 0 && root < world_, "[dist] broadcast: root {} is not a rank of {}", root, world_);
  check_tensors("broadcast", tensors);
  side_after_compute();
  auto side = static_cast<cudaStream_t>(side_);
  nccl_check(ncclGroupStart(), "ncclGroupStart");
  for (const Tensor& t : tensors) {
    void* p = const_cast<void*>(t.raw_data());
    nccl_check(ncclBroadcast(p, p, static_cast<size_t>(t.numel()), nccl_type(t.dtype()), root,
                             static_cast<ncclComm_t>(comm_), side),
               "ncclBroadcast");
  }
  nccl_check(ncclGroupEnd(), "ncclGroupEnd");
  pending_ = true;
  wait_all();
  ++stats_.broadcast_calls;
}

void NcclCommunicator::barrier() {
  // A one-element all-reduce on the side stream, waited for on the host.
  Tensor one = Tensor::zeros({1}, DType::f32, Device::cuda(device_));
  side_after_compute();  // the zeros are written on the device's stream
  auto side = static_cast<cudaStream_t>(side_);
  void* p = one.raw_data();
  nccl_check(ncclAllReduce(p, p, 1, ncclFloat, ncclSum, static_cast<ncclComm_t>(comm_), side), "ncclAllReduce");
  LOGLIN_CHECK(cudaStreamSynchronize(side) == cudaSuccess, "[dist] barrier: cudaStreamSynchronize failed");
  pending_ = false;  // the side stream is idle
  ++stats_.barrier_calls;
}

#else  // no NCCL in this build

bool nccl_available() { return false; }

std::unique_ptr<NcclCommunicator> NcclCommunicator::create(int, int, int, const FileRendezvous&) {
  LOGLIN_FAIL("[dist] this build has no NCCL (it needs the CUDA backend and NCCL's headers and library at configure "
              "time); several GPUs cannot be used");
}
NcclCommunicator::NcclCommunicator(int rank, int world_size, int device, void* comm)
    : rank_(rank), world_(world_size), device_(device), comm_(comm) {}
NcclCommunicator::~NcclCommunicator() = default;
void NcclCommunicator::check_tensors(const char*, const std::vector<Tensor>&) const {}
void NcclCommunicator::all_reduce(const std::vector<Tensor>&, ReduceOp) { LOGLIN_FAIL("[dist] no NCCL in this build"); }
void NcclCommunicator::all_reduce_async(const std::vector<Tensor>&, ReduceOp) {
  LOGLIN_FAIL("[dist] no NCCL in this build");
}
void NcclCommunicator::wait_all() {}
void NcclCommunicator::side_after_compute() {}
void NcclCommunicator::broadcast(const std::vector<Tensor>&, int) { LOGLIN_FAIL("[dist] no NCCL in this build"); }
void NcclCommunicator::barrier() { LOGLIN_FAIL("[dist] no NCCL in this build"); }

#endif

}  // namespace loglin::dist
