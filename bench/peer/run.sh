#!/usr/bin/env bash
# npm run bench:peer [-- --quick | --only NET[,NET] | --rounds N | --no-checks | --no-profile | --no-stock]
#
# The PyTorch peer bench (../shared/bench/pytorch-peer, read-only) with three sides in one run:
# PyTorch, stock tfjs-wasm (the peer's own worker) and adv2's engine (the same tfjs worker with
# adv2's kernels registered, bench/peer/adv2-worker.ts). The peer's files are copied at run time
# into .cache/peer/ (git-ignored); nothing of the peer is committed here. Its tfjs_bench.mjs then
# resolves @tensorflow/tfjs to this project's node_modules (4.22.0, the peer's pin), so the adv2
# side uses the very tfjs instance adv2 registers its kernels on. bench/peer/peer3.py wraps the
# peer's driver.py (checks, interleaved timing, profile) for the third worker.
#
# Environment: PEER_DIR (default <project>/../shared/bench/pytorch-peer), TORCH_PYTHON (default
# /usr/bin/python3, Debian's python3-torch), TORCH_BLAS=openblas|system (default openblas, as the
# peer: setup_openblas.sh unpacks Debian's OpenBLAS into .cache/peer/.deps for the torch worker
# only), NODE (default node).
# Output: the report on stdout, .cache/peer/out/report3.md and .cache/peer/out/results3.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
peer="${PEER_DIR:-$root/../shared/bench/pytorch-peer}"
work="$root/.cache/peer"
export TORCH_PYTHON="${TORCH_PYTHON:-/usr/bin/python3}"
export TORCH_BLAS="${TORCH_BLAS:-openblas}"

for f in driver.py torch_bench.py tfjs_bench.mjs spec.json setup_openblas.sh; do
  [ -f "$peer/$f" ] || { echo "bench:peer: $peer/$f not found (set PEER_DIR)" >&2; exit 2; }
done
mkdir -p "$work"
for f in driver.py torch_bench.py tfjs_bench.mjs spec.json setup_openblas.sh; do
  install -m 644 "$peer/$f" "$work/$f"        # fresh copy each run (keeps .deps/ and out/)
done
# the stock worker must see the same tfjs as adv2: no node_modules of its own in the copy
if [ -e "$work/node_modules" ]; then
  echo "bench:peer: $work/node_modules exists; remove it so the copy resolves this project's tfjs" >&2
  exit 2
fi
[ -d "$root/node_modules/@tensorflow/tfjs-backend-wasm" ] || { echo "bench:peer: run 'npm ci' in $root first" >&2; exit 2; }
"$TORCH_PYTHON" -c 'import torch' 2>/dev/null || { echo "bench:peer: $TORCH_PYTHON cannot import torch (apt-get install python3-torch, or set TORCH_PYTHON)" >&2; exit 2; }
if [ "$TORCH_BLAS" = openblas ]; then
  bash "$work/setup_openblas.sh" || echo "bench:peer: WARNING: OpenBLAS unavailable, torch uses the system BLAS (see report)" >&2
fi
cd "$root"
exec "$TORCH_PYTHON" "$root/bench/peer/peer3.py" "$work" "$@"
