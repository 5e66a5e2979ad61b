#!/usr/bin/env bash
# The main job: install what is missing, build sotto (release), and run the default simulated
# federation. Extra arguments go to `sotto sim` (see `build/release/cli/sotto sim --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake --preset release "${launcher[@]}" -DSOTTO_BUILD_TESTS=OFF -DSOTTO_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release --target sotto

exec build/release/cli/sotto sim --out results/latest "$@"
