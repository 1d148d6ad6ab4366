// Gemm and MatMul (numpy semantics: 1-D operands promoted, batch dims broadcast).
import { attrFloat, attrInt } from "../../onnx/attributes.js";
import { rule, type RuleTable, type VjpContext } from "../types.js";

const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];

function matmulVjp(c: VjpContext): (string | null)[] {
  const [A, B] = c.node.inputs;
  const aShape = c.shape(A);
  const bShape = c.shape(B);
  // Promote 1-D operands the way numpy does, work on the promoted shapes, reshape back at the end.
  const aP = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const bP = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const batchRank = Math.max(aP.length, bP.length) - 2;
  const batch: number[] = [];
  for (let i = 0; i < batchRank; i++) {
    const da = aP[aP.length - 2 - batchRank + i] ?? 1;
    const db = bP[bP.length - 2 - batchRank + i] ?? 1;
    batch.push(Math.max(da, db));
  }
  const yP = [...batch, aP[aP.length - 2], bP[bP.length - 1]];
  const g = c.b.reshape(c.gy(), yP);
  const a2 = aShape.length === 1 ? c.b.reshape(A, aP) : A;
  const b2 = bShape.length === 1 ? c.b.reshape(B, bP) : B;
  let dA: string | null = null;
  let dB: string | null = null;
  if (c.needs(0)) {
    // dA = dY @ B^T, summed over broadcast batch dims
    const full = c.b.op("MatMul", [g, c.b.transpose(b2, swapLast(bP.length))]);
    dA = c.b.reshape(c.unbroadcast(full, yP.slice(0, -1).concat(aP[aP.length - 1]), aP), aShape);
  }
  if (c.needs(1)) {
    // dB = A^T @ dY
    const full = c.b.op("MatMul", [c.b.transpose(a2, swapLast(aP.length)), g]);
    dB = c.b.reshape(c.unbroadcast(full, [...batch, bP[bP.length - 2], bP[bP.length - 1]], bP), bShape);
  }
  return [dA, dB];
}

export const linearRules: RuleTable = {
  // Y = alpha * A' B' + beta * C: dA' = alpha dY B'^T, dB' = alpha A'^T dY, dC = unbroadcast(beta dY)
  Gemm: rule([0, 1, 2], (c) => {
    const [A, B, C] = c.node.inputs;
    const p = c.node.proto;
    const alpha = attrFloat(p, "alpha", 1);
    const beta = attrFloat(p, "beta", 1);
    const tA = attrInt(p, "transA", 0);
    const tB = attrInt(p, "transB", 0);
    const dy = c.gy();
    const al = { alpha: { f: alpha } };
    const dA = !c.needs(0)
      ? null
      : tA
        ? c.b.op("Gemm", [B, dy], { ...al, transA: { i: tB }, transB: { i: 1 } })
        : c.b.op("Gemm", [dy, B], { ...al, transB: { i: tB ? 0 : 1 } });
    const dB = !c.needs(1)
      ? null
      : tB
        ? c.b.op("Gemm", [dy, A], { ...al, transA: { i: 1 }, transB: { i: tA } })
        : c.b.op("Gemm", [A, dy], { ...al, transA: { i: tA ? 0 : 1 } });
    const dC = C && c.needs(2) ? c.unbroadcastTo(2, beta === 1 ? dy : c.b.op("Mul", [dy, c.scalar(beta)])) : null;
    return [dA, dB, dC];
  }),
  MatMul: rule([0, 1], matmulVjp),
};
