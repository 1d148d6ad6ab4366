#!/usr/bin/env python3
"""Dev check for models the engine has never seen: export a torchvision classifier (random weights, eval) to ONNX
at a given opset and input size, and write float64 PyTorch reference input gradients for some module outputs.

  torchvision_export.py <out_dir> <arch> <opset> <size> <module,module,...>

Writes <out_dir>/<arch>_op<opset>.onnx, x.f32, x_nat.f32 and, per stage, grad/target files plus a JSON manifest
in the layout of ../shared/fixtures/autodiff (stage tensor = the last ONNX node inside the module's scope).
"""
import json
import os
import sys

import numpy as np
import torch

from torch_resnet18 import build  # same folder: the script's directory is on sys.path


def main(out_dir, arch, opset, size, modules):
    os.makedirs(out_dir, exist_ok=True)
    model = build(arch, 10, randomize_bn=os.environ.get("KEEP_BN_INIT") != "1")
    name = f"{arch}_op{opset}"
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    torch.onnx.export(model, torch.rand(1, 3, size, size), onnx_path, opset_version=opset, input_names=["input"], output_names=["logits"])

    import onnx

    graph = onnx.load(onnx_path).graph
    ops = sorted({n.op_type for n in graph.node})

    def tensor_of(module):
        parts = module.split(".")
        prefix = "/" + "/".join(".".join(parts[: i + 1]) for i in range(len(parts))) + "/"
        last = [n for n in graph.node if n.name.startswith(prefix)]
        return last[-1].output[0] if last else None

    rng = np.random.default_rng(1)
    x_nat = rng.random((1, 3, size, size), dtype=np.float32)
    x0 = np.clip(0.5 + 0.05 * rng.standard_normal((1, 3, size, size)), 0, 1).astype(np.float32)
    x_nat.tofile(os.path.join(out_dir, f"{name}.x_nat.f32"))
    x0.tofile(os.path.join(out_dir, f"{name}.x0.f32"))
    model = model.double()
    captured = {}
    mods = dict(model.named_modules())
    for mod in modules:
        mods[mod].register_forward_hook(lambda _m, _i, out, key=mod: captured.__setitem__(key, out.clone()))  # clone: later in-place activations would overwrite it
    with torch.no_grad():
        logits = model(torch.from_numpy(x_nat).double())
    targets = {m: captured[m].clone() for m in modules}
    targets["logits"] = logits
    stages = []
    arrays = {"x0": {"file": f"{name}.x0.f32", "shape": list(x0.shape)}, "x_nat": {"file": f"{name}.x_nat.f32", "shape": list(x_nat.shape)}}
    for label in modules + ["logits"]:
        tensor = "logits" if label == "logits" else tensor_of(label)
        if tensor is None:
            print(f"no ONNX scope for {label}", file=sys.stderr)
            continue
        x = torch.from_numpy(x0).double().requires_grad_(True)
        out = model(x)
        a = out if label == "logits" else captured[label]
        t = targets[label]
        loss = ((a - t) ** 2).sum().sqrt() / (t * t).sum().sqrt()
        (g,) = torch.autograd.grad(loss, x)
        for kind, arr in (("grad", g), ("target", t)):
            f = f"{name}.{label}.{kind}.f32"
            arr.detach().numpy().astype("<f4").tofile(os.path.join(out_dir, f))
            arrays[f"{label}.{kind}"] = {"file": f, "shape": list(arr.shape)}
        stages.append({"label": label, "tensor": tensor, "loss": float(loss), "grad": f"{label}.grad", "target": f"{label}.target"})
    manifest = {"model": f"{name}.onnx", "input": "input", "input_shape": [1, 3, size, size], "opset": opset, "ops": ops, "arrays": arrays, "stages": stages}
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps({"model": name, "ops": ops, "stages": [s["label"] for s in stages]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), [m for m in sys.argv[5].split(",") if m])
