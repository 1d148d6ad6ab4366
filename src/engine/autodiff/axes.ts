// ONNX axis attributes and inputs may count from the end (-1 = last axis); rules and the opset upgrade work with
// the non-negative position. Axes reach here after onnxruntime has run the model, so they are already in range.

/** The non-negative position of `axis` in a tensor of rank `rank` (-1 -> rank - 1). */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
