#!/usr/bin/env bash
# The main job: build loglin, then train the default config (CPU when no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${LOGLIN_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)" --target loglin_cli
exec build/loglin train configs/default.yaml "$@"
