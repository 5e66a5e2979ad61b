#!/usr/bin/env bash
# The whole test suite: install what is missing, build everything (warnings are errors), run
# every test with ctest. With SOTTO_TEST_ASAN=1 the ASan+UBSan build runs the unit tests too.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
jobs=$(nproc 2>/dev/null || echo 2)

if [ "${SOTTO_TEST_ASAN:-0}" = "1" ]; then
  cmake --preset asan "${launcher[@]}" >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs" -L unit
fi

cmake --preset ci "${launcher[@]}"
cmake --build --preset ci -j "$jobs"
ctest --preset ci -j "$jobs"
