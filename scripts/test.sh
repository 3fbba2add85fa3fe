#!/usr/bin/env bash
# Installs what is missing, builds loglin (Release) and runs the whole test
# suite through ctest. [cuda] tests skip themselves where no GPU answers.
# Extra CMake flags: LOGLIN_CMAKE_ARGS="-DLOGLIN_CUDA=OFF" scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${LOGLIN_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 1200
