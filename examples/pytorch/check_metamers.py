#!/usr/bin/env python3
"""A cheap check, in PyTorch, that the demo models show the paper's finding before the service is asked to.

For every demo model and stage, synthesise metamers of a few test digits with the paper's recipe (normalised-gradient
steps, step halved each round, fake ReLU at the matched stage, init N(0.5, 0.05^2) clamped to [0, 1], last iterate),
at the demo's schedule (8 rounds x 150 steps by default), quantise them to 8 bits as a PNG would, and let every model
classify every metamer. Prints, per generating model and stage: the loss, the label-check pass rate, the generating
model's accuracy and the other models' mean accuracy (other-model recognisability).

Needs the checkpoints written by train_mnist_models.py. Run from the repository root:
    /usr/bin/python3 examples/pytorch/check_metamers.py [--per-class 5] [--rounds 8] [--steps 150]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

import train_mnist_models as demo


class FakeReLUFn(torch.autograd.Function):
    """ReLU forward, identity backward: the paper's fake ReLU at the matched stage."""

    @staticmethod
    def forward(ctx, x):
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        return grad


class FakeReLU(nn.Module):
    def forward(self, x):
        return FakeReLUFn.apply(x)


def stage_module_path(model: nn.Module, label: str) -> str | None:
    path = model.stages[label]
    if path == "logits":
        return None
    if isinstance(model.get_submodule(path), demo.BasicBlock):
        return f"{path}.relu2"
    return path


def set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, leaf = path.rpartition(".")
    setattr(model.get_submodule(parent_path) if parent_path else model, leaf, module)


def stage_activations(model: nn.Module, label: str, x: torch.Tensor, fake_relu: bool) -> torch.Tensor:
    path = stage_module_path(model, label)
    if path is None:
        return model(x).flatten(1)
    original = model.get_submodule(path)
    if fake_relu and isinstance(original, nn.ReLU):
        set_submodule(model, path, FakeReLU())
    captured = {}
    handle = model.get_submodule(path).register_forward_hook(lambda m, i, o: captured.setdefault("a", o))
    try:
        model(x)
    finally:
        handle.remove()
        set_submodule(model, path, original)
    return captured["a"].flatten(1)


def synthesise(model, label, x_nat, x0, rounds, steps):
    with torch.no_grad():
        target = stage_activations(model, label, x_nat, fake_relu=False)
    x = x0.clone().clamp(0, 1)
    step = 1.0
    for _ in range(rounds):
        for _ in range(steps):
            x.requires_grad_(True)
            a = stage_activations(model, label, x, fake_relu=True)
            # Per-image normalised L2 loss; images in the batch are independent (eval mode), so one backward of the
            # sum gives every image its own gradient.
            loss = (a - target).norm(dim=1) / target.norm(dim=1)
            (g,) = torch.autograd.grad(loss.sum(), x)
            with torch.no_grad():
                gnorm = g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                x = (x - step * g / (gnorm + 1e-10)).clamp(0, 1)
        step /= 2
    with torch.no_grad():
        final_loss = ((stage_activations(model, label, x, False) - target).norm(dim=1) / target.norm(dim=1))
    return x.detach(), final_loss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--stages", default="all", help="'all' or 'ends' (first and last stage only)")
    parser.add_argument("--checkpoints", default=os.path.join(demo.REPO_ROOT, "examples", "pytorch", ".checkpoints"))
    parser.add_argument("--models", default=",".join(demo.TRAINING))
    parser.add_argument("--json", default="", help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    images, labels = demo.load_mnist_package_digits()
    with open(os.path.join(demo.REPO_ROOT, "models", "demo", "mnist-split.json")) as f:
        test_idx = np.asarray(json.load(f)["test"])
    picks = np.concatenate([test_idx[labels[test_idx] == k][:args.per_class] for k in range(10)])
    x_nat = torch.from_numpy(images[picks]).unsqueeze(1)
    y = torch.from_numpy(labels[picks])
    gen = torch.Generator().manual_seed(0)
    x0 = (0.5 + 0.05 * torch.randn(x_nat.shape, generator=gen)).clamp(0, 1)  # one draw per digit, every stage

    models = {}
    for name in args.models.split(","):
        model = demo.ARCHITECTURES[demo.TRAINING[name][0]][0]()
        model.load_state_dict(torch.load(os.path.join(args.checkpoints, f"{name}.pt")))
        models[name] = model.eval()
        for p in model.parameters():
            p.requires_grad_(False)

    results = {}
    for gen_name, model in models.items():
        labels_ = list(model.stages)
        if args.stages == "ends":
            labels_ = [labels_[0], labels_[-1]]
        with torch.no_grad():
            own_pred_nat = model(x_nat).argmax(1)
        for label in labels_:
            t0 = time.time()
            x, loss = synthesise(model, label, x_nat, x0, args.rounds, args.steps)
            x = torch.round(x * 255) / 255  # what an 8-bit PNG keeps
            with torch.no_grad():
                preds = {r: m(x).argmax(1) for r, m in models.items()}
            passed = preds[gen_name] == own_pred_nat
            others = [r for r in models if r != gen_name]
            other_acc = float(np.mean([float((preds[r] == y).float().mean()) for r in others]))
            other_acc_valid = (float(np.mean([float((preds[r][passed] == y[passed]).float().mean()) for r in others]))
                               if passed.any() else float("nan"))
            row = {"loss_median": float(loss.median()), "label_pass": float(passed.float().mean()),
                   "own_acc": float((preds[gen_name] == y).float().mean()), "other_acc": other_acc,
                   "other_acc_validated": other_acc_valid,
                   "per_recogniser": {r: float((preds[r] == y).float().mean()) for r in others},
                   "seconds": round(time.time() - t0, 1)}
            results.setdefault(gen_name, {})[label] = row
            print(f"{gen_name:13s} {label:11s} loss {row['loss_median']:.3f}  label-pass {row['label_pass']:.2f}  "
                  f"own {row['own_acc']:.2f}  others {other_acc:.2f} (validated {other_acc_valid:.2f})  "
                  f"{row['seconds']}s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
