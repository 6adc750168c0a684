#!/usr/bin/env bash
# Runs `bayun bench` and the PyTorch baseline (bench/torch_reference.py) on the same machine in one go,
# then prints the ratios of issue #8. PyTorch runs under /usr/bin/python3 with OpenBLAS's OpenMP build
# (libopenblas0-openmp), so that its BLAS does not start a second thread pool.
# Usage: bench/compare.sh [--threads N]     (needs python3-torch and libopenblas0-openmp)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
[ "${1:-}" = "--threads" ] && threads=$2
out=$(mktemp -d)
cmake --build build -j"$(nproc)" --target bayun >/dev/null
blas_dir=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -d "$blas_dir" ] || { echo "install libopenblas0-openmp for a fair baseline" >&2; exit 1; }
echo "bayun ..." >&2
build/bayun bench all --threads "$threads" --shape S --shape M --tokens 64 --tokens 256 --tokens 1024 > "$out/bayun.jsonl"
echo "pytorch ..." >&2
LD_LIBRARY_PATH=$blas_dir OMP_NUM_THREADS=$threads /usr/bin/python3 bench/torch_reference.py --threads "$threads" \
  > "$out/torch.jsonl"
python3 bench/ratios.py "$out/bayun.jsonl" "$out/torch.jsonl"
echo "(raw JSON lines in $out)" >&2
