#!/usr/bin/python3
"""Golden values for bayun's autograd ops, computed by PyTorch in float32.

Run from the repository root with Debian's torch:   /usr/bin/python3 tools/make_golden_ops.py
It writes tests/golden/ops.json, which tests/autograd/test_golden_ops.cpp replays in C++.

Every case holds an op name, its inputs (written out, so the C++ side needs no random generator), the op's
params, the forward output, and the gradient of every input for the loss

    loss = sum(output * projection)

with the fixed `projection` stored in the case (random values in [-1, 1), or exactly 1 for a scalar output
such as cross_entropy's). The last case is a small composed expression: the cross-entropy of a
causal self-attention layer, with the gradients of all its leaves.

Inputs come from torch.manual_seed(1234) and are deterministic; numbers are written as the shortest decimal
that reads back as the same float32, one case per line, so the file stays small and diffs stay readable.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_num_threads(1)  # a fixed summation order: reruns give identical files

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "ops.json")


# ---- inputs ---------------------------------------------------------------------------------------------
def uniform(*shape, low=-1.0, high=1.0):
    return torch.rand(tuple(shape), dtype=torch.float32) * (high - low) + low


def away_from_zero(*shape, low=0.2, high=1.5):
    """Magnitudes in [low, high) with random signs: far from relu's kink and from 1/x's pole."""
    magnitude = uniform(*shape, low=low, high=high)
    sign = torch.where(torch.rand(tuple(shape)) < 0.5, -1.0, 1.0)
    return magnitude * sign


# ---- writing --------------------------------------------------------------------------------------------
def f32(value):
    """The shortest decimal that reads back (via double, as nlohmann::json does) as the same float32."""
    x = np.float32(value)
    short = float(str(x))
    if np.float32(short) != x:  # never seen; fall back to the exact double of the float32
        short = float(x)
    return short


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [f32(v) for v in t.flatten().tolist()]}


cases = []


def case(op, inputs, params, fn):
    """Runs fn(*inputs) forward and backward through sum(output * projection) and records the case."""
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    output = fn(*leaves)
    projection = torch.ones(()) if output.dim() == 0 else uniform(*output.shape)
    grads = torch.autograd.grad((output * projection).sum(), leaves)
    cases.append({
        "op": op,
        "inputs": [tensor_json(t) for t in leaves],
        "params": params,
        "output": tensor_json(output),
        "projection": tensor_json(projection),
        "grads": [tensor_json(g) for g in grads],
    })


# ---- elementwise ----------------------------------------------------------------------------------------
case("add", [uniform(2, 3), uniform(3)], {}, torch.add)
case("add", [uniform(2, 3, 4), uniform(2, 3, 4)], {}, torch.add)
case("sub", [uniform(3), uniform(2, 3)], {}, torch.sub)
case("sub", [uniform(4), uniform(4)], {}, torch.sub)
case("mul", [uniform(2, 2, 3), uniform(3)], {}, torch.mul)
case("mul", [uniform(3, 4), uniform()], {}, torch.mul)
case("div", [uniform(2, 3), away_from_zero(2, 3, low=0.5)], {}, torch.div)
case("div", [uniform(2, 4), away_from_zero(4, low=0.5)], {}, torch.div)
case("add_scalar", [uniform(2, 3)], {"scalar": 0.75}, lambda x: x + 0.75)
case("mul_scalar", [uniform(2, 3)], {"scalar": -1.5}, lambda x: x * -1.5)
case("neg", [uniform(3, 5)], {}, torch.neg)
case("exp", [uniform(3, 5, low=-2, high=2)], {}, torch.exp)
case("log", [uniform(3, 5, low=0.2, high=3)], {}, torch.log)
case("tanh", [uniform(3, 5, low=-2, high=2)], {}, torch.tanh)
case("relu", [away_from_zero(3, 5, low=0.05)], {}, torch.relu)
case("gelu", [uniform(3, 5, low=-3, high=3)], {}, lambda x: F.gelu(x, approximate="tanh"))

# ---- reductions -----------------------------------------------------------------------------------------
case("sum", [uniform(2, 3, 4)], {"axis": None, "keepdim": False}, torch.sum)
case("mean", [uniform(3, 5)], {"axis": None, "keepdim": False}, torch.mean)
case("sum", [uniform(2, 3, 4)], {"axis": -1, "keepdim": False}, lambda x: x.sum(-1))
case("sum", [uniform(3, 5)], {"axis": -1, "keepdim": True}, lambda x: x.sum(-1, keepdim=True))
case("mean", [uniform(2, 3, 4)], {"axis": -1, "keepdim": False}, lambda x: x.mean(-1))
case("mean", [uniform(3, 5)], {"axis": -1, "keepdim": True}, lambda x: x.mean(-1, keepdim=True))

# ---- matmul and linear ----------------------------------------------------------------------------------
case("matmul", [uniform(3, 4), uniform(4, 5)], {}, torch.matmul)
case("matmul", [uniform(2, 3, 4), uniform(4, 5)], {}, torch.matmul)
case("matmul", [uniform(2, 2, 3, 4), uniform(4, 3)], {}, torch.matmul)
case("matmul", [uniform(2, 3, 4), uniform(2, 4, 5)], {}, torch.matmul)
case("matmul", [uniform(2, 2, 3, 4), uniform(2, 2, 4, 3)], {}, torch.matmul)
case("linear", [uniform(2, 3, 4), uniform(5, 4), uniform(5)], {}, F.linear)
case("linear", [uniform(3, 4), uniform(2, 4)], {}, F.linear)

# ---- shape ops ------------------------------------------------------------------------------------------
case("reshape", [uniform(2, 3, 4)], {"shape": [4, -1]}, lambda x: x.reshape(4, -1))
case("reshape", [uniform(6)], {"shape": [2, 3]}, lambda x: x.reshape(2, 3))
case("transpose", [uniform(3, 4)], {}, lambda x: x.transpose(-2, -1))
case("transpose", [uniform(2, 3, 4)], {}, lambda x: x.transpose(-2, -1))
case("permute", [uniform(2, 3, 2, 4)], {"order": [0, 2, 1, 3]}, lambda x: x.permute(0, 2, 1, 3))
case("permute", [uniform(2, 3, 4)], {"order": [2, 0, 1]}, lambda x: x.permute(2, 0, 1))
for index in (0, 2):
    case("split", [uniform(2, 7)], {"sizes": [3, 1, 3], "index": index},
         lambda x, i=index: torch.split(x, [3, 1, 3], dim=-1)[i])
case("split", [uniform(2, 3, 6)], {"sizes": [2, 2, 2], "index": 1}, lambda x: torch.split(x, [2, 2, 2], dim=-1)[1])
case("concat", [uniform(2, 3), uniform(2, 1), uniform(2, 4)], {}, lambda *xs: torch.cat(xs, dim=-1))
case("concat", [uniform(2, 2, 3), uniform(2, 2, 2)], {}, lambda *xs: torch.cat(xs, dim=-1))


# ---- softmax --------------------------------------------------------------------------------------------
def causal_softmax(x):
    """Query row i of a (Tq, Tk) matrix sees keys j <= i + (Tk - Tq), as with a KV cache holding the past."""
    tq, tk = x.shape[-2], x.shape[-1]
    visible = torch.ones(tq, tk, dtype=torch.bool).tril(diagonal=tk - tq)
    return x.masked_fill(~visible, float("-inf")).softmax(-1)


case("softmax", [uniform(3, 5, low=-2, high=2)], {"causal": False}, lambda x: x.softmax(-1))
case("softmax", [uniform(2, 4, 4, low=-2, high=2)], {"causal": True}, causal_softmax)
case("softmax", [uniform(2, 3, 6, low=-2, high=2)], {"causal": True}, causal_softmax)
case("softmax", [uniform(1, 2, 3, 3, low=-2, high=2)], {"causal": True}, causal_softmax)
case("log_softmax", [uniform(3, 5, low=-2, high=2)], {}, lambda x: x.log_softmax(-1))
case("log_softmax", [uniform(2, 2, 7, low=-2, high=2)], {}, lambda x: x.log_softmax(-1))

# ---- loss, layer norm, embedding ------------------------------------------------------------------------
for shape, targets in (((6, 5), [0, 4, -1, 2, 2, 1]), ((2, 3, 7), [6, -1, 0, 3, -1, 3])):
    case("cross_entropy", [uniform(*shape, low=-2, high=2)], {"targets": targets},
         lambda x, t=targets: F.cross_entropy(x.reshape(-1, x.shape[-1]), torch.tensor(t), ignore_index=-1))
for shape in ((3, 8), (2, 3, 5)):
    C = shape[-1]
    case("layer_norm", [uniform(*shape, low=-2, high=2), uniform(C, low=0.5, high=1.5), uniform(C)], {"eps": 1e-5},
         lambda x, w, b: F.layer_norm(x, (x.shape[-1],), w, b, eps=1e-5))
for vocab, ids, ids_shape in ((6, [1, 5, 1, 0, 1, 3], [2, 3]), (5, [4, 4, 4, 0], [4])):
    case("embedding", [uniform(vocab, 3)], {"ids": ids, "ids_shape": ids_shape},
         lambda w, i=ids, s=ids_shape: F.embedding(torch.tensor(i).reshape(s), w))


# ---- a composed expression: cross-entropy of causal self-attention -------------------------------------
def attention_loss(x, wq, wk, wv, wo, bo, heads, targets):
    B, T, C = x.shape
    D = C // heads

    def split_heads(t):  # (B, T, C) -> (B, H, T, D)
        return t.reshape(B, T, heads, D).permute(0, 2, 1, 3)

    q, k, v = split_heads(F.linear(x, wq)), split_heads(F.linear(x, wk)), split_heads(F.linear(x, wv))
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(D)  # (B, H, T, T)
    weights = causal_softmax(scores)
    y = (weights @ v).permute(0, 2, 1, 3).reshape(B, T, C)
    logits = F.linear(y, wo, bo)  # (B, T, V)
    return F.cross_entropy(logits.reshape(B * T, -1), torch.tensor(targets), ignore_index=-1)


B, T, C, H, V = 2, 4, 8, 2, 6
targets = [1, 5, 0, 2, 3, -1, 4, 1]
case("attention_cross_entropy",
     [uniform(B, T, C), uniform(C, C, low=-0.5, high=0.5), uniform(C, C, low=-0.5, high=0.5),
      uniform(C, C, low=-0.5, high=0.5), uniform(V, C, low=-0.5, high=0.5), uniform(V, low=-0.1, high=0.1)],
     {"heads": H, "targets": targets},
     lambda *leaves: attention_loss(*leaves, heads=H, targets=targets))

# ---- write ----------------------------------------------------------------------------------------------
header = {
    "about": "PyTorch float32 golden values for bayun's ops; regenerate with /usr/bin/python3 tools/make_golden_ops.py",
    "torch": torch.__version__,
    "loss": "sum(output * projection); grads[i] = d(loss)/d(inputs[i])",
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    f.write("{\n")
    for key, value in header.items():
        f.write(f"{json.dumps(key)}: {json.dumps(value)},\n")
    f.write('"cases": [\n')
    f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
    f.write("\n]}\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")
