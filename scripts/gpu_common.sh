# The build every scripts/gpu_*.sh starts with, in one place. Sourced, not
# run:  source "$(dirname "$0")/gpu_common.sh"
# Sourcing it moves to the repo root and sets `out` (the log folder: the
# script's own `out` if it set one first, else $OUT, else gpu_check) and
# creates it. It sets no shell options; the scripts keep `set -uo pipefail`.
#   gpu_info              the GPU (nvidia-smi: name, driver), then gpu_commit
#   gpu_commit            the commit checked out ("unknown" without .git)
#   gpu_configure         configure build-gpu: Ninja, Release, CUDA on, sm_90
#                         (LOGLIN_CUDA_ARCH overrides); log in $out/configure.log,
#                         its tail printed on failure
#   gpu_compile [TARGET...]  build build-gpu (every target when none is named),
#                         ninja -k 0; log in $out/build.log, its errors printed
#                         on failure
#   gpu_build [TARGET...]    gpu_info, then gpu_configure and gpu_compile
# Each returns non-zero on failure; the caller decides (`gpu_build || exit 1`).

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
out=${out:-${OUT:-gpu_check}}
mkdir -p "$out"

gpu_info() {
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 | sed 's/^/gpu: /'
  gpu_commit
}

gpu_commit() {
  local commit
  commit=$(git rev-parse --short HEAD 2>/dev/null) || commit=unknown
  [ "$commit" = unknown ] || git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
  echo "commit: $commit"
}

gpu_configure() {
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOGLIN_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=${LOGLIN_CUDA_ARCH:-90} >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; return 1; }
}

gpu_compile() {
  local targets=()
  [ $# -eq 0 ] || targets=(--target "$@")
  cmake --build build-gpu -j"$(nproc)" ${targets[@]+"${targets[@]}"} -- -k 0 >"$out/build.log" 2>&1 ||
    { grep -E "error" -A5 "$out/build.log" | head -60; return 1; }
}

gpu_build() {
  gpu_info
  gpu_configure && gpu_compile "$@"
}
