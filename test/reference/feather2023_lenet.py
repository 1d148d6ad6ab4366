#!/usr/bin/env python3
"""PyTorch reference run of the FEATHER_2023 synthesis recipe on the lenet autodiff fixture.

Why: the TypeScript synthesis loop must match the paper's algorithm as PyTorch runs it. This script executes the
fixture's ONNX graph with torch ops (a tiny interpreter for the five op types lenet uses, so the weights are the
fixture's exactly), then runs the recipe from the fixture's x0 towards each stage's target:

    loss = ||A_L(x) - t||_2 / ||t||_2                      (fake ReLU at the matched stage when it is a Relu)
    x    = clamp(x - s * g / (||g||_2 + 1e-10), lo, hi)    s = initialStep / 2**round

Schedules: "short" = 1 round x 20 steps, "long" = 2 rounds x 200 steps, initial step 1.
Every schedule is also run in float64 (`finalLossFloat64`): deep-stage trajectories are chaotic under rounding, and
the float32/float64 pair shows how far two faithful PyTorch runs of the same algorithm end up apart.
Output (committed, so CI never needs torch): test/reference/feather2023-lenet/manifest.json plus one raw
little-endian float32 file per (schedule, stage) metamer. `finalLoss` is the loss evaluated at the returned metamer
(the last iterate), `losses` the loss at every step before its update.

Run with Debian's torch: /usr/bin/python3 test/reference/feather2023_lenet.py
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "..", "shared", "fixtures", "autodiff")
OUT = os.path.join(HERE, "feather2023-lenet")
SCHEDULES = {"short": (1, 20, 1.0), "long": (2, 200, 1.0)}

torch.set_num_threads(2)


class FakeReluFn(torch.autograd.Function):
    """ReLU forward, identity backward (the paper's fake ReLU at the matched stage)."""

    @staticmethod
    def forward(ctx, x):
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        return g


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def run_graph(model, weights, x, stage_tensor, fake_relu):
    values = {model.graph.input[0].name: x, **weights}
    for node in model.graph.node:
        a = attrs(node)
        ins = [values[i] for i in node.input]
        op = node.op_type
        if op == "Conv":
            pads = a.get("pads", [0, 0, 0, 0])
            assert pads[0] == pads[2] and pads[1] == pads[3]
            y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", [1, 1]),
                         padding=pads[:2], dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        elif op == "Relu":
            y = FakeReluFn.apply(ins[0]) if (fake_relu and node.output[0] == stage_tensor) else F.relu(ins[0])
        elif op == "MaxPool":
            assert a.get("pads", [0, 0, 0, 0]) == [0, 0, 0, 0]
            y = F.max_pool2d(ins[0], a["kernel_shape"], a["strides"], ceil_mode=bool(a.get("ceil_mode", 0)))
        elif op == "Flatten":
            y = torch.flatten(ins[0], a.get("axis", 1))
        elif op == "Gemm":
            assert a.get("transB", 0) == 1 and a.get("transA", 0) == 0
            y = a.get("alpha", 1.0) * ins[0] @ ins[1].t() + a.get("beta", 1.0) * ins[2]
        else:
            raise NotImplementedError(op)
        values[node.output[0]] = y
        if node.output[0] == stage_tensor:
            return y
    raise KeyError(stage_tensor)


def load_array(manifest, key):
    entry = manifest["arrays"][key]
    return torch.from_numpy(np.fromfile(os.path.join(FIXTURES, entry["file"]), dtype="<f4").reshape(entry["shape"]))


def synthesize(model, weights, x0, target, stage, rounds, steps, initial_step, lo, hi):
    fake = stage["producer_op"] == "Relu"
    x = x0.clone().clamp(lo, hi)
    t_norm = target.flatten().norm()
    losses = []
    step = initial_step
    for _ in range(rounds):
        for _ in range(steps):
            x.requires_grad_(True)
            a = run_graph(model, weights, x, stage["tensor"], fake)
            loss = (a - target).flatten().norm() / t_norm
            (g,) = torch.autograd.grad(loss, x)
            losses.append(float(loss))
            with torch.no_grad():
                x = (x - step * g / (g.flatten().norm() + 1e-10)).clamp(lo, hi)
        step = step / 2
    with torch.no_grad():
        final = float((run_graph(model, weights, x, stage["tensor"], False) - target).flatten().norm() / t_norm)
    return x.detach(), losses, final


def main():
    manifest = json.load(open(os.path.join(FIXTURES, "lenet.json")))
    model = onnx.load(os.path.join(FIXTURES, "lenet.onnx"))
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    lo, hi = manifest["input_range"]
    x0 = load_array(manifest, "x0")
    x_nat = load_array(manifest, "x_nat")
    os.makedirs(OUT, exist_ok=True)
    out = {"model": "lenet.onnx", "modelSha256": manifest["sha256"], "torch": torch.__version__,
           "x0": "lenet.x0.f32 (fixture)", "inputRange": [lo, hi], "schedules": {}}
    for name, (rounds, steps, initial_step) in SCHEDULES.items():
        runs = []
        for stage in manifest["stages"]:
            with torch.no_grad():
                target = run_graph(model, weights, x_nat, stage["tensor"], False)
            x, losses, final = synthesize(model, weights, x0, target, stage, rounds, steps, initial_step, lo, hi)
            w64 = {k: v.double() for k, v in weights.items()}
            with torch.no_grad():
                target64 = run_graph(model, w64, x_nat.double(), stage["tensor"], False)
            _, _, final64 = synthesize(model, w64, x0.double(), target64, stage, rounds, steps, initial_step, lo, hi)
            file = f"{name}.{stage['label']}.metamer.f32"
            x.numpy().astype("<f4").tofile(os.path.join(OUT, file))
            runs.append({"label": stage["label"], "tensor": stage["tensor"], "fakeRelu": stage["producer_op"] == "Relu",
                         "metamer": file, "initialLoss": losses[0], "finalLoss": final, "finalLossFloat64": final64, "losses": losses[::10]})
            print(f"{name} {stage['label']}: {losses[0]:.6f} -> {final:.6f} (float64: {final64:.6f})", file=sys.stderr)
        out["schedules"][name] = {"rounds": rounds, "stepsPerRound": steps, "initialStep": initial_step,
                                  "lossesEvery": 10, "stages": runs}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
