#!/usr/bin/env python3
"""Prints the ratios of issue #8 from a `bayun bench` and a `torch_reference.py` JSON-lines file."""
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def find(records, **keys):
    for r in records:
        if all(r.get(k) == v for k, v in keys.items()):
            return r
    return None


def main():
    ours, theirs = load(sys.argv[1]), load(sys.argv[2])
    m_ours, m_theirs = find(ours, bench="matmul", n=1024), find(theirs, bench="matmul", n=1024)
    print(f"matmul 1024^3: bayun {m_ours['gflops']:.1f} GFLOP/s, pytorch {m_theirs['gflops']:.1f} GFLOP/s "
          f"(ratio {m_ours['gflops'] / m_theirs['gflops']:.2f}); pytorch BLAS: {', '.join(m_theirs.get('blas', []))}")
    for shape in ("S", "M"):
        a, b = find(ours, bench="train", shape=shape), find(theirs, bench="train", shape=shape)
        if a and b:
            print(f"train {shape}: bayun {a['median_ms']:.1f} ms/step ({a['tokens_per_second']:.0f} tok/s, "
                  f"{a['gflops']:.1f} GFLOP/s, MFU {a['mfu']:.2f} of bayun's matmul), pytorch {b['median_ms']:.1f} "
                  f"ms/step ({b['tokens_per_second']:.0f} tok/s): speed-up x{b['median_ms'] / a['median_ms']:.2f}; "
                  f"peak RSS {a['peak_rss_mib']:.0f} vs {b['peak_rss_mib']:.0f} MiB")
    for shape in ("S", "M"):
        for n in (64, 256, 1024):
            ac = find(ours, bench="generate", shape=shape, new_tokens=n, kv_cache=True)
            an = find(ours, bench="generate", shape=shape, new_tokens=n, kv_cache=False)
            bc = find(theirs, bench="generate", shape=shape, new_tokens=n, kv_cache=True)
            bn = find(theirs, bench="generate", shape=shape, new_tokens=n, kv_cache=False)
            if ac and an and bc and bn:
                print(f"decode {shape} {n} tokens: bayun cached {ac['tokens_per_second']:.0f} tok/s, uncached "
                      f"{an['tokens_per_second']:.0f} (cache x{ac['tokens_per_second'] / an['tokens_per_second']:.1f}); "
                      f"pytorch cached {bc['tokens_per_second']:.0f}, uncached {bn['tokens_per_second']:.0f}; "
                      f"bayun/pytorch cached x{ac['tokens_per_second'] / bc['tokens_per_second']:.1f}")


if __name__ == "__main__":
    main()
