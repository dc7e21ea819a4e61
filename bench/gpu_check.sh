#!/usr/bin/env bash
# The GPU readiness check on a GPU machine without network: install the wheels that
# bench/make_gpu_bundle.sh gathered in .whl/ into /tmp/site, then run bench/gpu_check.py on the GPU.
#   bash bench/gpu_check.sh [gpu_check.py options]      results in $OUT (else gpu_check_out/)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site${PYTHONPATH:+:${PYTHONPATH}} PYTHONUNBUFFERED=1
exec python3 bench/gpu_check.py --device cuda --out "${OUT:-gpu_check_out}" "$@"
