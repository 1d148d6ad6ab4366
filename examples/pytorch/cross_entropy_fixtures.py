"""Reference input gradients of the cross-entropy loss for the hub's tests (test/engine/cross-entropy.test.ts).

For each autodiff fixture model whose ops onnx_in_torch.py covers, and for two labels (the class the model predicts
at x0 and another one), writes d CE(logits(x0), label) / d x0 from torch.autograd in float64, where
CE = F.cross_entropy (log-softmax + negative log-likelihood, mean over the batch of one). CI has no PyTorch: the
outputs are committed under test/fixtures/robustness/cross-entropy/.

    /usr/bin/python3 examples/pytorch/cross_entropy_fixtures.py [--fixtures ../shared/fixtures/autodiff]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_in_torch import OnnxInTorch  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# mobilenet_v2_mini is left out: its random-weight logits are equal to 1e-7 at x0, so its CE gradient (~6e-9) is
# float32 rounding noise and cannot discriminate a right graph from a wrong one.
MODELS = ["mlp", "lenet", "alexnet_mini", "resnet_mini", "resnet_mini_bn"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.path.join(REPO_ROOT, "..", "shared", "fixtures", "autodiff"))
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "test", "fixtures", "robustness", "cross-entropy"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = {"torchVersion": torch.__version__, "loss": "F.cross_entropy(logits(x0), label), reduction mean, float64 autograd",
                "models": {}}
    for name in MODELS:
        meta = json.load(open(os.path.join(args.fixtures, f"{name}.json")))
        shape = meta["arrays"]["x0"]["shape"]
        x0 = np.fromfile(os.path.join(args.fixtures, meta["arrays"]["x0"]["file"]), dtype="<f4").reshape(shape)
        net = OnnxInTorch(os.path.join(args.fixtures, meta["model"]))
        x = torch.tensor(x0, dtype=torch.float64)
        logits = net(x).detach()
        predicted = int(logits.argmax(1)[0])
        other = (predicted + 3) % logits.shape[1]
        entries = []
        for label in (predicted, other):
            xr = x.clone().requires_grad_(True)
            loss = F.cross_entropy(net(xr), torch.tensor([label]))
            (grad,) = torch.autograd.grad(loss, xr)
            file = f"{name}.label{label}.grad.f32"
            grad.numpy().astype("<f4").tofile(os.path.join(args.out, file))
            entries.append({"label": label, "loss": float(loss), "grad": file})
        manifest["models"][name] = {"model": meta["model"], "sha256": meta.get("sha256"), "logitsTensor": net.output_name,
                                    "classes": int(logits.shape[1]), "logits": logits[0].tolist(), "labels": entries}
        print(f"{name}: predicted {predicted}, logits {logits.shape[1]}, loss {entries[0]['loss']:.5f} / {entries[1]['loss']:.5f}")
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
