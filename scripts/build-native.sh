#!/usr/bin/env bash
# Build adv2's optional native convolution addon: build/adv2-native.node (see src/engine/node/native.ts).
# Needs g++, Node's headers (shipped with Node) and OpenBLAS; uses oneDNN too when present (much faster):
#   apt-get install g++ libopenblas-dev libdnnl-dev
# With --optional (used by `npm install`), a missing toolchain is a note, not a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
optional=0
[[ "${1:-}" == "--optional" ]] && optional=1

skip() {
  if (( optional )); then
    echo "adv2: native addon not built ($1); the wasm backend uses its own convolution kernels. See the README, 'Faster, optional'." >&2
    exit 0
  fi
  echo "adv2: cannot build the native addon: $1" >&2
  exit 1
}

command -v g++ >/dev/null || skip "g++ not found: apt-get install g++"
node_include="$(dirname "$(dirname "$(command -v node)")")/include/node"
[[ -f "$node_include/node_api.h" ]] || skip "Node's headers not found in $node_include"
cblas_dir=""
for d in /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu /usr/include/openblas /usr/include; do
  if [[ -f "$d/cblas.h" ]]; then cblas_dir="$d"; break; fi
done
[[ -n "$cblas_dir" ]] || skip "OpenBLAS headers not found: apt-get install libopenblas-dev"

dnnl=()
if [[ -f /usr/include/dnnl.hpp || -f /usr/include/oneapi/dnnl/dnnl.hpp ]]; then
  dnnl=(-DADV2_WITH_DNNL -fopenmp -ldnnl)
else
  echo "adv2: oneDNN not found (apt-get install libdnnl-dev): building the OpenBLAS-only addon" >&2
fi

mkdir -p build
tmp="build/adv2-native.node.tmp.$$"
if ! g++ -O3 -std=c++17 -fPIC -shared -DNODE_GYP_MODULE_NAME=adv2_native \
    -I"$node_include" -I"$cblas_dir" native/adv2_native.cc -o "$tmp" "${dnnl[@]}" -lopenblas 2>build/native-build.log; then
  rm -f "$tmp"
  skip "compilation failed (build/native-build.log)"
fi
mv "$tmp" build/adv2-native.node
node -e "const m = require('./build/adv2-native.node'); console.error('adv2: built build/adv2-native.node (' + m.config().trim() + ')')"
