// The per-op kernel-version choice (kernel_registry.h): the setter's
// overrides, LOGLIN_KERNELS, and the list of ops that register versions.
#include "ops/kernel_registry.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "ops/attention/causal_attention_versions.h"
#include "ops/conv1d/causal_conv1d_versions.h"
#include "ops/gated_delta_rule/kernel_versions.h"
#include "ops/log_linear_attention/kernel_versions.h"

namespace loglin {
namespace {

std::mutex& mu() {
  static std::mutex m;
  return m;
}

std::map<std::string, std::string>& overrides() {
  static std::map<std::string, std::string> m;
  return m;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// LOGLIN_KERNELS parsed once: op -> version.
const std::map<std::string, std::string>& environment() {
  static const std::map<std::string, std::string> env = [] {
    std::map<std::string, std::string> m;
    const char* e = std::getenv("LOGLIN_KERNELS");
    if (!e) return m;
    const std::string s = e;
    size_t start = 0;
    while (start <= s.size()) {
      const size_t end = std::min(s.find(',', start), s.size());
      const std::string item = trim(s.substr(start, end - start));
      start = end + 1;
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      LOGLIN_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < item.size(),
                   "[kernels] LOGLIN_KERNELS item '{}' is not op=version (e.g. LOGLIN_KERNELS=log_linear_attention=v1)",
                   item);
      m[trim(item.substr(0, eq))] = trim(item.substr(eq + 1));
    }
    return m;
  }();
  return env;
}

const OpKernelVersions* find_op(const std::vector<OpKernelVersions>& all, const std::string& op) {
  for (const OpKernelVersions& o : all)
    if (o.op == op) return &o;
  return nullptr;
}

std::string op_names(const std::vector<OpKernelVersions>& all) {
  std::string out;
  for (const OpKernelVersions& o : all) out += (out.empty() ? "" : ", ") + o.op;
  return out;
}

void check_choice(const std::string& op, const std::string& version, const char* where) {
  const std::vector<OpKernelVersions> all = registered_kernel_versions();
  const OpKernelVersions* o = find_op(all, op);
  LOGLIN_CHECK(o != nullptr, "[kernels] {}: '{}' is not an op with kernel versions; ops with versions: {}", where, op,
               op_names(all));
  if (version.empty() || kernels::is_auto(version)) return;
  std::string names;
  for (const KernelVersionInfo& v : o->versions) {
    if (v.name == version) return;
    names += (names.empty() ? "" : ", ") + v.name + " (" + v.about + ")";
  }
  LOGLIN_FAIL("[{}] {}: no CUDA kernel version '{}'; choose auto or one of: {}", op, where, version,
              names.empty() ? std::string("none (this build has no CUDA backend)") : names);
}

}  // namespace

std::vector<OpKernelVersions> registered_kernel_versions() {
  return {
      {"log_linear_attention", kernels::infos_of(lla::kernel_versions())},
      {"causal_attention", kernels::infos_of(causal_attention_versions())},
      {"causal_conv1d", kernels::infos_of(causal_conv1d_versions())},
      {"gated_delta_rule", kernels::infos_of(gdr::gated_delta_rule_versions())},
  };
}

void set_kernel_version(const std::string& op, const std::string& version) {
  check_choice(op, version, "set_kernel_version");
  std::lock_guard<std::mutex> lock(mu());
  if (version.empty()) overrides().erase(op);
  else overrides()[op] = version;  // "auto" overrides the environment too
}

std::string kernel_version_choice(const std::string& op) {
  {
    std::lock_guard<std::mutex> lock(mu());
    auto it = overrides().find(op);
    if (it != overrides().end()) return it->second;
  }
  auto it = environment().find(op);
  return it != environment().end() ? it->second : std::string("auto");
}

void check_kernel_environment() {
  for (const auto& [op, version] : environment()) check_choice(op, version, "LOGLIN_KERNELS");
}

KernelVersionScope::KernelVersionScope(std::string op, const std::string& version)
    : op_(std::move(op)), saved_(kernels::override_of(op_)) {
  set_kernel_version(op_, version);
}

KernelVersionScope::~KernelVersionScope() {
  std::lock_guard<std::mutex> lock(mu());
  if (saved_.empty()) overrides().erase(op_);
  else overrides()[op_] = saved_;
}

namespace kernels {

std::string override_of(const std::string& op) {
  std::lock_guard<std::mutex> lock(mu());
  auto it = overrides().find(op);
  return it == overrides().end() ? std::string() : it->second;
}

bool is_auto(const std::string& choice) { return choice.empty() || choice == "auto"; }

std::string choice_source(const std::string& op) {
  return override_of(op).empty() ? "LOGLIN_KERNELS" : "set_kernel_version";
}

}  // namespace kernels
}  // namespace loglin
