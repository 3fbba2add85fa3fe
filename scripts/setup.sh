#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages loglin builds against, only where they
# are missing. Idempotent; prints nothing when everything is present (as on
# the GPU machine, which has them and no package registry).
set -euo pipefail

# package -> a file its -dev package provides (CMake config or header)
declare -A probe=(
  [libeigen3-dev]="Eigen3Config.cmake"
  [libfmt-dev]="fmt-config.cmake"
  [libspdlog-dev]="spdlogConfig.cmake"
  [libyaml-cpp-dev]="yaml-cpp-config.cmake"
  [catch2]="Catch2Config.cmake"
)
search_dirs=(/usr/share /usr/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/share /usr/local/lib /usr/local/lib64 /opt)

have_file() {
  local d
  for d in "${search_dirs[@]}"; do
    [ -d "$d" ] || continue
    if find "$d" -maxdepth 4 -name "$1" -print -quit 2>/dev/null | grep -q .; then return 0; fi
  done
  return 1
}

missing=()
for pkg in "${!probe[@]}"; do
  have_file "${probe[$pkg]}" || missing+=("$pkg")
done
command -v cmake >/dev/null || missing+=(cmake)
command -v ninja >/dev/null || missing+=(ninja-build)
command -v g++ >/dev/null || missing+=(g++)

# gnuplot draws `loglin plot`; nothing else needs it, so failing to get it
# (no registry, as on the GPU machine) is a note, not an error.
optional=()
command -v gnuplot >/dev/null || optional+=(gnuplot-nox)
# Debian's python3 with numpy runs the Hugging Face export's independent
# logits check in tests/cli/cli_test.sh (skipped with a note without it).
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || optional+=(python3-numpy)

if [ ${#missing[@]} -eq 0 ]; then
  # No `apt-get update` here: on a machine without a registry it can hang.
  if [ ${#optional[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive timeout 120 apt-get install -y -qq --no-install-recommends "${optional[@]}" >/dev/null 2>&1 ||
      echo "setup: could not install ${optional[*]} (only \`loglin plot\` and the export's numpy check need them)" >&2
  fi
  exit 0
fi
missing+=("${optional[@]}")

if ! command -v apt-get >/dev/null; then
  echo "setup: missing ${missing[*]} and no apt-get to install them; install them by hand" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}" >&2
log=$(mktemp)
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: apt-get failed installing ${missing[*]}" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
