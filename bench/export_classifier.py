#!/usr/bin/env python3
"""Exports a torchvision classifier with seeded random weights (no download) to ONNX, for bench/large-upload.ts.

  /usr/bin/python3 bench/export_classifier.py <arch> <out.onnx> [classes=1000] [size=224] [opset=17]

vgg11 with 1000 classes is a 531 MB file, the size that once broke registration. Weights are untrained: the hub only reads the graph and
shapes, so trained weights would change nothing but the bytes.
"""
import sys

import torch
import torchvision


def main(arch, out, classes=1000, size=224, opset=17):
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=classes).eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.rand(1, 3, size, size), out, opset_version=opset, input_names=["input"], output_names=["logits"])
    print(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    main(args[0], args[1], *(int(a) for a in args[2:]))
