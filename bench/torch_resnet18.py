#!/usr/bin/env python3
"""Export torchvision models to ONNX and time PyTorch autograd as the baseline for bench/gradient.ts.

  export <out_dir> [--arch resnet18] [--size 224] [--opset 17] [--classes 1000]
      writes <arch>.onnx (eval mode, random weights, BN stats randomised so folding is not a no-op) and
      <arch>.json with the input shape and the tensor names of the stages (layer3, logits).
  serve <out_dir> [--arch resnet18] [--threads 2]
      reads commands from stdin, one per line:  "<stage> <steps>"  -> one JSON line {"ms": [...]}
      each step = forward to the stage + ||a - t|| / ||t|| + torch.autograd.grad(loss, x) (input gradient only).
  grads <out_dir> <arch> <stage_label> <x.f32> <target_natural.f32> <out.f32>
      reference input gradient (float64) for correctness checks; prints loss=<value>.
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision


def build(arch, classes, randomize_bn=True):
    """A torchvision classifier with seeded random weights in eval mode. randomize_bn also randomises the BatchNorm
    statistics and affine parameters, so that folding BN into the convs is not a no-op."""
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=classes)
    for m in model.modules():
        if randomize_bn and isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def stage_module(model, arch, label):
    """A module computing the stage tensor (truncated network) for torch timing."""
    if label == "logits":
        return model
    if arch.startswith("resnet") and label.startswith("layer"):
        n = int(label[5:])
        parts = [model.conv1, model.bn1, model.relu, model.maxpool] + [getattr(model, f"layer{i}") for i in range(1, n + 1)]
        return torch.nn.Sequential(*parts)
    raise SystemExit(f"unknown stage {label} for {arch}")


def stage_tensors(onnx_path, arch):
    import onnx

    g = onnx.load(onnx_path).graph
    names = {"logits": g.output[0].name}
    # the output of the last node whose name starts with /layerN/ is that block's output
    for n in g.node:
        for k in range(1, 5):
            if n.name.startswith(f"/layer{k}/"):
                names[f"layer{k}"] = n.output[0]
    return names


def export(args):
    os.makedirs(args.out_dir, exist_ok=True)
    model = build(args.arch, args.classes)
    x = torch.rand(1, 3, args.size, args.size)
    path = os.path.join(args.out_dir, f"{args.arch}.onnx")
    torch.onnx.export(model, x, path, opset_version=args.opset, input_names=["input"], output_names=["logits"], do_constant_folding=True)
    meta = {"arch": args.arch, "input_shape": [1, 3, args.size, args.size], "opset": args.opset, "stages": stage_tensors(path, args.arch)}
    with open(os.path.join(args.out_dir, f"{args.arch}.json"), "w") as f:
        json.dump(meta, f)
    print(json.dumps(meta))


def serve(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = build(args.arch, args.classes)
    x = torch.rand(1, 3, args.size, args.size)
    x_nat = torch.rand(1, 3, args.size, args.size)
    mods = {}
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        label, steps = line.split()
        if label not in mods:
            m = stage_module(model, args.arch, label)
            with torch.no_grad():
                t = m(x_nat)
            mods[label] = (m, t, (t * t).sum().sqrt())
        m, t, tn = mods[label]
        times = []
        for _ in range(int(steps)):
            t0 = time.perf_counter()
            xi = x.clone().requires_grad_(True)
            a = m(xi)
            loss = ((a - t) ** 2).sum().sqrt() / tn
            (g,) = torch.autograd.grad(loss, xi)
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"ms": times, "loss": float(loss)}), flush=True)


def grads(args):
    import numpy as np

    model = build(args.arch, args.classes).double()
    m = stage_module(model, args.arch, args.stage)
    x = torch.from_numpy(np.fromfile(args.x, dtype="<f4").astype("f8")).reshape(1, 3, args.size, args.size)
    x_nat = torch.from_numpy(np.fromfile(args.x_nat, dtype="<f4").astype("f8")).reshape(1, 3, args.size, args.size)
    with torch.no_grad():
        t = m(x_nat)
    xi = x.clone().requires_grad_(True)
    a = m(xi)
    loss = ((a - t) ** 2).sum().sqrt() / (t * t).sum().sqrt()
    (g,) = torch.autograd.grad(loss, xi)
    g.numpy().astype("<f4").tofile(args.out)
    print(f"loss={float(loss)}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("export", "serve", "grads"):
        s = sub.add_parser(name)
        s.add_argument("out_dir")
        s.add_argument("--arch", default="resnet18")
        s.add_argument("--size", type=int, default=224)
        s.add_argument("--opset", type=int, default=17)
        s.add_argument("--classes", type=int, default=1000)
        s.add_argument("--threads", type=int, default=2)
        if name == "grads":
            s.add_argument("stage")
            s.add_argument("x")
            s.add_argument("x_nat")
            s.add_argument("out")
    a = p.parse_args()
    {"export": export, "serve": serve, "grads": grads}[a.cmd](a)
