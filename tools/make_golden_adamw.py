#!/usr/bin/env python3
"""Golden values for bayun's AdamW from torch.optim.AdamW.

Two parameters, as in nanoGPT's configure_optimizers: a (3, 4) matrix in the weight-decay group and a (4,)
bias in the no-decay group. Each of a few steps uses fixed gradients (drawn once from a seeded generator) and
its own learning rate (as a schedule would give). After every step the parameters, exp_avg and exp_avg_sq are
recorded to tests/golden/adamw.json; the C++ test replays the steps and must match within 1e-6 relative.

Run with Debian's torch:  /usr/bin/python3 tools/make_golden_adamw.py
"""
import json
import os

import torch


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(x) for x in t.detach().reshape(-1).tolist()]}


def main():
    torch.manual_seed(1234)
    options = {"beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1}
    lrs = [1e-2, 3e-2, 2e-2, 1e-2, 5e-3]

    weight = torch.nn.Parameter(torch.randn(3, 4))
    bias = torch.nn.Parameter(torch.randn(4))
    initial = {"weight": tensor_json(weight), "bias": tensor_json(bias)}
    grads = [{"weight": torch.randn(3, 4), "bias": torch.randn(4) * 0.1} for _ in lrs]
    grads[2]["bias"].zero_()  # a zero gradient: only the running averages move the bias in that step

    groups = [{"params": [weight], "weight_decay": options["weight_decay"]},
              {"params": [bias], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=lrs[0], betas=(options["beta1"], options["beta2"]),
                                  eps=options["eps"], foreach=False)
    steps = []
    for lr, g in zip(lrs, grads):
        for group in optimizer.param_groups:
            group["lr"] = lr
        weight.grad = g["weight"].clone()
        bias.grad = g["bias"].clone()
        optimizer.step()
        record = {"lr": lr, "grad": {"weight": tensor_json(g["weight"]), "bias": tensor_json(g["bias"])}}
        for name, p in (("weight", weight), ("bias", bias)):
            state = optimizer.state[p]
            record[name] = tensor_json(p)
            record[name + ".exp_avg"] = tensor_json(state["exp_avg"])
            record[name + ".exp_avg_sq"] = tensor_json(state["exp_avg_sq"])
        steps.append(record)

    out = {"source": f"torch {torch.__version__} torch.optim.AdamW(foreach=False)", "options": options,
           "initial": initial, "steps": steps}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "adamw.json")
    with open(path, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(f"wrote {os.path.normpath(path)}: {len(steps)} steps")


if __name__ == "__main__":
    main()
