#!/usr/bin/env bash
# The whole test suite: install what is missing; build the ASan+UBSan preset and run the unit
# tests under it; build everything (warnings are errors, CUDA kernels when nvcc is found) and run
# every test with ctest, whose summary ends the output. SOTTO_TEST_ASAN=0 skips the sanitizer
# pass (about half the time on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
jobs=$(nproc 2>/dev/null || echo 2)

if [ "${SOTTO_TEST_ASAN:-1}" = "1" ]; then
  echo "== ASan+UBSan build and unit tests"
  cmake --preset asan "${launcher[@]}" >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs" -L unit
fi

echo "== main build (warnings are errors) and every test"
cmake --preset ci "${launcher[@]}"
cmake --build --preset ci -j "$jobs"
ctest --preset ci -j "$jobs"
