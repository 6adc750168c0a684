#!/usr/bin/env python3
"""The PyTorch baseline for `bayun bench`: the same models and measurements, printed as the same JSON lines.

Runs only where Debian's python3-torch is installed (never in the tests). Two traps, handled by
bench/compare.sh: Debian's torch must run under /usr/bin/python3, and its default BLAS is the slow
reference one (or OpenBLAS's pthreads build, whose thread pool fights torch's on 2 cores); the fair
baseline loads libopenblas0-openmp through LD_LIBRARY_PATH. The BLAS library actually loaded is recorded.

Usage: /usr/bin/python3 bench/torch_reference.py [--threads N] [--steps N] [--shape S --shape M]
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {  # name: (layers, heads, embd, context, batch, vocab), as `bayun bench`
    "S": (4, 4, 128, 64, 16, 65),
    "small": (4, 4, 128, 128, 16, 161),
    "M": (6, 6, 384, 256, 8, 65),
}


class Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def attend(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        Tk = k.size(2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        mask = torch.ones(T, Tk, dtype=torch.bool).tril(diagonal=Tk - T)
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cache=None):
        x = x + self.attend(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, H, C, T, V):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block(C, H) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, V, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, start=0, caches=None):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(start, start + T))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.lm_head(self.ln_f(x))


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_it(warmup, repeats, body):
    for _ in range(warmup):
        body()
    ms = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        ms.append((time.perf_counter() - start) * 1000.0)
    ms.sort()
    return ms[len(ms) // 2], ms[0], ms[-1]


def blas_library():
    try:
        with open("/proc/self/maps") as maps:
            libs = sorted({line.split()[-1] for line in maps if "blas" in line.lower()})
        return libs
    except OSError:
        return []


def decode(model, L, T, new, cached):
    """Greedy decode of `new` tokens after token 1; returns the seconds the loop took. With the cache, each
    step feeds one token; without, the whole window. A full window slides to its last half and is rebuilt."""
    with torch.no_grad():
        tokens = [1]
        caches = [dict() for _ in range(L)] if cached else None
        logits = model(torch.tensor([tokens]), 0, caches)
        start = time.perf_counter()
        window = 0
        for _ in range(new):
            nxt = int(logits[0, -1].argmax())
            tokens.append(nxt)
            if len(tokens) - window > T:  # slide: keep the last half, rebuild
                window = len(tokens) - T // 2
                caches = [dict() for _ in range(L)] if cached else None
                logits = model(torch.tensor([tokens[window:]]), 0, caches)
            elif cached:
                logits = model(torch.tensor([[nxt]]), len(tokens) - 1 - window, caches)
            else:
                logits = model(torch.tensor([tokens[window:]]), 0, None)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--shape", action="append")
    parser.add_argument("--tokens", type=int, action="append")
    parser.add_argument("--what", default="all", choices=["all", "train", "generate", "matmul"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shapes = args.shape or ["S", "M"]
    common = {"framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads()}

    n = 1024
    a, b = torch.rand(n, n), torch.rand(n, n)
    med, lo, hi = time_it(1, 5, lambda: a @ b)
    ceiling = 2 * n ** 3 / (med * 1e6)
    print(json.dumps({"bench": "matmul", "n": n, "median_ms": med, "min_ms": lo, "max_ms": hi, "gflops": ceiling,
                      "blas": blas_library(), **common}), flush=True)

    if args.what in ("all", "train"):
        for name in shapes:
            L, H, C, T, B, V = SHAPES[name]
            model = GPT(L, H, C, T, V)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.99), weight_decay=0.1)
            idx = torch.randint(0, V, (B, T))
            tgt = torch.randint(0, V, (B, T))

            def step():
                opt.zero_grad(set_to_none=True)
                logits = model(idx)
                F.cross_entropy(logits.view(-1, V), tgt.view(-1)).backward()
                opt.step()

            med, lo, hi = time_it(2, args.steps, step)
            flops = B * T * 6.0 * (L * 12.0 * C * C + V * C) + 3.0 * B * L * 4.0 * T * T * C
            gflops = flops / (med * 1e6)
            print(json.dumps({"bench": "train", "shape": name, "layers": L, "heads": H, "embd": C, "context": T,
                              "batch": B, "vocab": V, "median_ms": med, "min_ms": lo, "max_ms": hi,
                              "tokens_per_second": B * T / (med / 1000.0), "gflops": gflops,
                              "mfu": gflops / ceiling, "matmul_ceiling_gflops": ceiling,
                              "peak_rss_mib": peak_rss_mib(), **common}), flush=True)

    if args.what in ("all", "generate"):
        for name in shapes:
            L, H, C, T, B, V = SHAPES[name]
            T = max(T, 256)
            model = GPT(L, H, C, T, V).eval()
            for new in args.tokens or [64, 256, 1024]:
                for cached in (True, False):
                    # As in `bayun bench generate`: cached decodes get one warm-up run and the median of five.
                    warmup, repeats = (1, 5) if cached else (0, 1)
                    seconds = []
                    for run in range(warmup + repeats):
                        s = decode(model, L, T, new, cached)
                        if run >= warmup:
                            seconds.append(s)
                    seconds.sort()
                    median = seconds[len(seconds) // 2]
                    print(json.dumps({"bench": "generate", "shape": name, "context": T, "new_tokens": new,
                                      "kv_cache": cached, "runs": repeats, "seconds": median,
                                      "min_seconds": seconds[0], "max_seconds": seconds[-1],
                                      "tokens_per_second": new / median, "peak_rss_mib": peak_rss_mib(), **common}),
                          flush=True)


if __name__ == "__main__":
    main()
