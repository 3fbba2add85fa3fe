// One way to pin a kernel version for every op that has several
// (llm.c's numbered kernel versions, kept in the library behind one
// dispatcher instead of pasted). An op with several CUDA implementations
// lists them as Version structs with at least
//   const char* name; const char* about; int rank; bool in_auto;
// and a takes(call) test, and asks select_version() which one runs a call.
//
// The choice, per op:
//   - "auto" (the default): the highest-ranked version with in_auto that
//     takes the call;
//   - a version's name: that version; a call it cannot take is a clear
//     error, never a silent fall-back.
// LOGLIN_KERNELS="op=version,op=version" sets choices at start-up, e.g.
// LOGLIN_KERNELS=log_linear_attention=v1,causal_attention=simt;
// set_kernel_version(op, version) overrides it (tests, benchmarks);
// KernelVersionScope does so for a scope.
//
// The ops that register versions are listed in kernel_registry.cpp
// (registered_kernel_versions()); the test harness runs every version of
// every op against the CPU.
#pragma once
#include <string>
#include <vector>

#include "core/error.h"

namespace loglin {

// One version as tables and messages show it.
struct KernelVersionInfo {
  std::string name, about;
  int rank = 0;
  bool in_auto = true;
};

// An op with several versions and its versions, best rank first.
struct OpKernelVersions {
  std::string op;
  std::vector<KernelVersionInfo> versions;
};

// Every op with registered versions (empty lists in builds without CUDA).
std::vector<OpKernelVersions> registered_kernel_versions();

// "auto" or a registered version of `op` (a clear error lists them
// otherwise) overrides LOGLIN_KERNELS for `op`; "" hands the choice back to
// the environment. Not thread safe against running ops: meant for tests,
// benchmarks and start-up.
void set_kernel_version(const std::string& op, const std::string& version);
// The current choice for `op`: the setter's, else LOGLIN_KERNELS', else "auto".
std::string kernel_version_choice(const std::string& op);
// Checks LOGLIN_KERNELS names registered ops and versions (the CLI calls it at
// start-up, so a typo fails before any work, not at the first call).
void check_kernel_environment();

// Chooses `version` for `op` for its lifetime, then restores the previous choice.
class KernelVersionScope {
 public:
  KernelVersionScope(std::string op, const std::string& version);
  ~KernelVersionScope();
  KernelVersionScope(const KernelVersionScope&) = delete;
  KernelVersionScope& operator=(const KernelVersionScope&) = delete;

 private:
  std::string op_, saved_;
};

namespace kernels {

// The setter's choice for `op` ("" when only the environment decides).
std::string override_of(const std::string& op);
bool is_auto(const std::string& choice);
// Where the current choice of `op` comes from, for messages.
std::string choice_source(const std::string& op);

template <class Version>
std::string names_of(const std::vector<Version>& all) {
  std::string out;
  for (const Version& v : all) out += (out.empty() ? "" : ", ") + std::string(v.name) + " (" + v.about + ")";
  return out.empty() ? std::string("none (this build has no CUDA backend)") : out;
}

template <class Version>
std::vector<KernelVersionInfo> infos_of(const std::vector<Version>& all) {
  std::vector<KernelVersionInfo> out;
  for (const Version& v : all) out.push_back({v.name, v.about, v.rank, v.in_auto});
  return out;
}

template <class Version>
const Version* find_version(const std::vector<Version>& all, const std::string& name) {
  for (const Version& v : all)
    if (name == v.name) return &v;
  return nullptr;
}

// The version the choice gives a call (all sorted best rank first), or null
// where select_version would fail.
template <class Version, class Takes>
const Version* version_taking(const std::string& op, const std::vector<Version>& all, Takes&& takes) {
  const std::string choice = kernel_version_choice(op);
  if (is_auto(choice)) {
    for (const Version& v : all)
      if (v.in_auto && takes(v)) return &v;
    return nullptr;
  }
  const Version* v = find_version(all, choice);
  return v && takes(*v) ? v : nullptr;
}

// The version that runs a call, or a clear error naming the op, the call
// (`call`: one line) and the registered versions.
template <class Version, class Takes>
const Version& select_version(const std::string& op, const std::vector<Version>& all, Takes&& takes,
                              const std::string& call) {
  if (const Version* v = version_taking(op, all, takes)) return *v;
  const std::string choice = kernel_version_choice(op);
  if (is_auto(choice))
    LOGLIN_FAIL("[{}] no CUDA kernel version takes this call ({}); registered: {}", op, call, names_of(all));
  LOGLIN_CHECK(find_version(all, choice) != nullptr,
               "[{}] {} names CUDA kernel version '{}', which does not exist; choose auto or one of: {}", op,
               choice_source(op), choice, names_of(all));
  LOGLIN_FAIL("[{}] CUDA kernel version '{}' (chosen by {}) does not take this call ({}); choose auto or another of: {}",
              op, choice, choice_source(op), call, names_of(all));
}

}  // namespace kernels
}  // namespace loglin
