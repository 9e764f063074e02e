#!/usr/bin/env bash
# Re-creates the bundled demo model from scratch (dev-only; see README.md):
#
#   bash demonstrator/demo-model/train.sh
#
# 1. installs what it needs from Debian when missing (as root; otherwise it says what to
#    install): python3-torch (for /usr/bin/python3, not a pyenv/venv python) and
#    dataset-fashion-mnist;
# 2. builds the engine and compiles the TypeScript (native/setup.js);
# 3. trains the net with PyTorch (train.py: deterministic, 2 threads) and dumps its weights
#    to a temporary directory;
# 4. writes the Caffe files with our own writer, checks them with our engine and exports
#    the demo images (build-model.ts).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
PY=/usr/bin/python3
DATA=/usr/share/datasets/fashion-mnist

missing=()
if [ ! -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  missing+=(python3 python3-torch python3-numpy)
fi
for f in train-images-idx3 train-labels-idx1 t10k-images-idx3 t10k-labels-idx1; do
  if [ ! -f "$DATA/$f-ubyte.gz" ]; then missing+=(dataset-fashion-mnist); break; fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "[train] installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "[train] missing Debian packages; install them first:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

node native/setup.js

dump="$(mktemp -d "${TMPDIR:-/tmp}/caffe-lrp-demo-model.XXXXXX")"
trap 'rm -rf "$dump"' EXIT
echo "[train] training with $("$PY" -c 'import torch; print("torch", torch.__version__)') (weights dumped to $dump)"
start=$(date +%s)
"$PY" demonstrator/demo-model/train.py --out "$dump"
echo "[train] training took $(( $(date +%s) - start )) s"
node dist/demonstrator/demo-model/build-model.js "$dump"
echo "[train] done: demonstrator/demo-model/ and demonstrator/demo-images/ are up to date"
