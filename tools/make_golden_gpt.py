#!/usr/bin/env python3
"""Golden values for bayun's GPT from an independent PyTorch implementation.

A tiny GPT written here in PyTorch the way nanoGPT's model.py writes it (plus the two options bayun adds:
post-norm blocks and ReLU), with weights drawn from torch's seeded generator. For each variant it writes the
config, every parameter (under nanoGPT's state-dict names), a fixed batch, and the logits, the loss and every
parameter's gradient to tests/golden/gpt.json. The C++ test loads the same weights and must reproduce them.

Run with Debian's torch:  /usr/bin/python3 tools/make_golden_gpt.py
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        self.n_head = c["n_head"]

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        att = att.masked_fill(~mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"])
        self.act = c["activation"]

    def forward(self, x):
        h = self.c_fc(x)
        h = F.gelu(h, approximate="tanh") if self.act == "gelu" else F.relu(h)
        return self.c_proj(h)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c["n_embd"], elementwise_affine=True)
        self.attn = Attention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"], elementwise_affine=True)
        self.mlp = MLP(c)
        self.norm = c["norm"]
        if not c["bias"]:
            self.ln_1.bias = None
            self.ln_2.bias = None

    def forward(self, x):
        if self.norm == "pre":
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))
        x = self.ln_1(x + self.attn(x))
        return self.ln_2(x + self.mlp(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c["vocab_size"], c["n_embd"]),
            wpe=nn.Embedding(c["block_size"], c["n_embd"]),
            h=nn.ModuleList([Block(c) for _ in range(c["n_layer"])]),
            ln_f=nn.LayerNorm(c["n_embd"]),
        ))
        if not c["bias"]:
            self.transformer.ln_f.bias = None
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        if c["tie_weights"]:
            self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx, targets):
        B, T = idx.size()
        pos = torch.arange(T)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def variant(name, seed, **overrides):
    config = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, dropout=0.0, bias=True,
                  activation="gelu", norm="pre", tie_weights=True)
    config.update(overrides)
    torch.manual_seed(seed)
    model = GPT(config)
    # Weights: normal(0, 0.3) everywhere (larger than GPT-2's 0.02 so that every path matters), layer-norm
    # weights around 1.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if ".ln_" in pname or "ln_f" in pname:
                p.copy_(1.0 + 0.1 * torch.randn_like(p) if pname.endswith("weight") else 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    B, T = 2, 6
    idx = torch.randint(0, config["vocab_size"], (B, T))
    targets = torch.randint(0, config["vocab_size"], (B, T))
    logits, loss = model(idx, targets)
    loss.backward()
    params = {n: tensor_json(p) for n, p in model.named_parameters()}
    grads = {n: tensor_json(p.grad) for n, p in model.named_parameters()}
    return {"name": name, "config": config, "B": B, "T": T, "tokens": idx.reshape(-1).tolist(),
            "targets": targets.reshape(-1).tolist(), "params": params, "logits": tensor_json(logits),
            "loss": float(loss), "grads": grads}


def main():
    torch.set_default_dtype(torch.float32)
    variants = [
        variant("pre-norm, gelu, tied head", 1),
        variant("post-norm, gelu, untied head", 2, norm="post", tie_weights=False),
        variant("pre-norm, relu, untied head", 3, activation="relu", tie_weights=False),
        variant("post-norm, relu, tied head", 4, norm="post", activation="relu"),
        variant("pre-norm, gelu, no biases, 3 layers", 5, bias=False, n_layer=3, n_head=4),
    ]
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "gpt.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"generator": "tools/make_golden_gpt.py", "torch": torch.__version__, "variants": variants}, f)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
