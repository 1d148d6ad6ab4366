"""Runs a plain ONNX classifier with PyTorch ops, so that torch.autograd can serve as the reference for the hub's
emitted gradient graphs on models that only exist as ONNX files (the autodiff fixtures, the demo models).

Covers the ops of those files: Conv, Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm, Add, Sub, Mul,
Div, BatchNormalization (inference), Clip, Identity, Constant. Any other op raises, so a wrong reference cannot
pass silently. Works on any batch size (the weights do not depend on it).
"""
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _sym_pads(pads, n):
    begin, end = list(pads[:n]), list(pads[n:])
    return begin, end


class OnnxInTorch:
    def __init__(self, path: str, dtype=torch.float64):
        self.model = onnx.load(path)
        g = self.model.graph
        self.dtype = dtype
        self.consts = {t.name: torch.tensor(numpy_helper.to_array(t).copy()) for t in g.initializer}
        inits = set(self.consts)
        self.input_name = next(i.name for i in g.input if i.name not in inits)
        self.output_name = g.output[0].name

    def _f(self, t):
        return t.to(self.dtype) if t.is_floating_point() else t

    def __call__(self, x: torch.Tensor, outputs=None) -> torch.Tensor:
        env = {k: self._f(v) for k, v in self.consts.items()}
        env[self.input_name] = x
        for n in self.model.graph.node:
            a = _attrs(n)
            i = [env[name] if name else None for name in n.input]
            op = n.op_type
            if op == "Constant":
                y = self._f(torch.tensor(numpy_helper.to_array(a["value"]).copy()))
            elif op == "Identity":
                y = i[0]
            elif op == "Conv":
                k = len(i[1].shape) - 2
                begin, end = _sym_pads(a.get("pads", [0] * 2 * k), k)
                xin = i[0]
                if begin != end:
                    pad = []
                    for d in reversed(range(k)):
                        pad += [begin[d], end[d]]
                    xin, begin = F.pad(xin, pad), [0] * k
                conv = F.conv2d if k == 2 else F.conv1d
                y = conv(xin, i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", [1] * k),
                         padding=begin, dilation=a.get("dilations", [1] * k), groups=a.get("group", 1))
            elif op == "Relu":
                y = F.relu(i[0])
            elif op == "Clip":
                lo = i[1] if len(i) > 1 and i[1] is not None else None
                hi = i[2] if len(i) > 2 and i[2] is not None else None
                y = torch.clamp(i[0], min=None if lo is None else float(lo), max=None if hi is None else float(hi))
            elif op == "MaxPool":
                k = a["kernel_shape"]
                begin, end = _sym_pads(a.get("pads", [0] * 2 * len(k)), len(k))
                if begin != end:
                    raise NotImplementedError(f"MaxPool with asymmetric pads {a.get('pads')}")
                pool = F.max_pool2d if len(k) == 2 else F.max_pool1d
                y = pool(i[0], k, stride=a.get("strides", [1] * len(k)), padding=begin,
                         dilation=a.get("dilations", [1] * len(k)), ceil_mode=bool(a.get("ceil_mode", 0)))
            elif op == "AveragePool":
                k = a["kernel_shape"]
                begin, end = _sym_pads(a.get("pads", [0] * 2 * len(k)), len(k))
                if begin != end:
                    raise NotImplementedError(f"AveragePool with asymmetric pads {a.get('pads')}")
                pool = F.avg_pool2d if len(k) == 2 else F.avg_pool1d
                y = pool(i[0], k, stride=a.get("strides", [1] * len(k)), padding=begin,
                         ceil_mode=bool(a.get("ceil_mode", 0)), count_include_pad=bool(a.get("count_include_pad", 0)))
            elif op == "GlobalAveragePool":
                y = i[0].mean(dim=tuple(range(2, i[0].dim())), keepdim=True)
            elif op == "Flatten":
                ax = a.get("axis", 1)
                y = i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)
            elif op == "Gemm":
                A = i[0].t() if a.get("transA", 0) else i[0]
                B = i[1].t() if a.get("transB", 0) else i[1]
                y = a.get("alpha", 1.0) * A @ B
                if len(i) > 2 and i[2] is not None:
                    y = y + a.get("beta", 1.0) * i[2]
            elif op in ("Add", "Sub", "Mul", "Div"):
                y = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op](i[0], i[1])
            elif op == "BatchNormalization":
                if a.get("training_mode", 0):
                    raise NotImplementedError("training-mode BatchNormalization")
                y = F.batch_norm(i[0], i[3], i[4], i[1], i[2], training=False, eps=a.get("epsilon", 1e-5))
            else:
                raise NotImplementedError(f"op {op} (node {n.name})")
            env[n.output[0]] = y
        if outputs is not None:
            return [env[o] for o in outputs]
        return env[self.output_name]
