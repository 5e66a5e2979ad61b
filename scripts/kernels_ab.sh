#!/usr/bin/env bash
# Interleaved A/B of the CPU kernels of two or more revisions (docs/BENCHMARKS.md, "Run-to-run
# variation"). Each revision's kernels/ and core/base/ are compiled (-O3, as the Release build)
# into one shared library; bench/kernels_ab.cc, from the working tree, loads them all and times
# their TopK or fused EF calls alternately on fresh data.
#
#   scripts/kernels_ab.sh REV_A REV_B [REV...] LOG2_D K_OVER_D EF CALLS
#   scripts/kernels_ab.sh 3aa35a5 HEAD 20 0.1 0 300
#   KERNELS_AB_THREADS=2 scripts/kernels_ab.sh ...     (calls on a two-thread pool)
#
# A revision is anything git names, or "worktree" for the files as they are. The entry points'
# signatures and ExecOptions must be the same in every revision compared.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -lt 6 ]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
args=("$@")
n=$#
revs=("${args[@]:0:n-4}")
params=("${args[@]:n-4}")
work=build/ab
mkdir -p "$work"
cxx=${CXX:-g++}

build_so() {  # $1 revision, $2 output
  local rev=$1 out=$2 src
  if [ "$rev" = worktree ]; then
    src=$PWD
  else
    src=$work/src-$(git rev-parse --short "$rev")
    rm -rf "$src"
    mkdir -p "$src"
    git archive "$rev" kernels core/base | tar -x -C "$src"
  fi
  local objs=() pids=()
  mkdir -p "$out.obj"
  for f in "$src"/kernels/src/*.cc "$src"/kernels/src/cpu/*.cc "$src"/core/base/src/*.cc; do
    local o
    o=$out.obj/$(echo "$f" | md5sum | cut -c1-12).o
    objs+=("$o")
    "$cxx" -O3 -DNDEBUG -std=c++20 -fPIC -ffp-contract=off -I"$src/kernels/src" \
      -I"$src/kernels/include" -I"$src/core/base/include" -c "$f" -o "$o" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  "$cxx" -shared -o "$out" "${objs[@]}" -lpthread
  rm -rf "$out.obj"
}

libs=()
for rev in "${revs[@]}"; do
  name=$(if [ "$rev" = worktree ]; then echo worktree; else git rev-parse --short "$rev"; fi)
  echo "== building $rev ($name)"
  build_so "$rev" "$PWD/$work/kernels-$name.so"
  libs+=("$PWD/$work/kernels-$name.so")
done
"$cxx" -O2 -std=c++20 -Ikernels/include -Icore/base/include bench/kernels_ab.cc \
  kernels/src/thread_pool.cc core/base/src/*.cc -ldl -lpthread -o "$work/kernels_ab"
"$work/kernels_ab" "${params[@]}" "${libs[@]}"
