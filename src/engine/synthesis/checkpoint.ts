import type { HistoryEntry } from "./history.js";

/**
 * Everything needed to continue a synthesis exactly where it stopped: resuming from a checkpoint gives the same
 * bits as an uninterrupted run. Plain data, so it can be stored as bytes in the job row.
 */
export interface SynthesisState {
  iteration: number;
  x: Float32Array;
  history: HistoryEntry[];
  /** Adam moments (ADAM_RANGE_PENALTY only). */
  m?: Float64Array;
  v?: Float64Array;
  /** Recent losses for the stop rule (ADAM_RANGE_PENALTY only). */
  recentLosses?: number[];
  lastLoss?: number;
}

const MAGIC = 0x4d4d4350; // "MMCP"

/**
 * Layout: u32 magic, u32 header length, JSON header, padding to 8 bytes, then x (f32), m and v (f64).
 * Binary for the arrays because a 3x224x224 input as JSON text would be ~3 MB and lose bits.
 */
export function encodeCheckpoint(state: SynthesisState): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({
      iteration: state.iteration,
      history: state.history,
      xLength: state.x.length,
      momentLength: state.m?.length ?? 0,
      recentLosses: state.recentLosses ?? null,
      lastLoss: state.lastLoss ?? null,
    }),
  );
  const headerEnd = align8(8 + header.length);
  const momentBytes = state.m && state.v ? state.m.length * 16 : 0;
  const xBytes = align8(state.x.length * 4);
  const out = new Uint8Array(headerEnd + xBytes + momentBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, header.length, true);
  out.set(header, 8);
  out.set(new Uint8Array(state.x.buffer, state.x.byteOffset, state.x.byteLength), headerEnd);
  if (state.m && state.v) {
    const mStart = headerEnd + xBytes;
    out.set(new Uint8Array(state.m.buffer, state.m.byteOffset, state.m.byteLength), mStart);
    out.set(new Uint8Array(state.v.buffer, state.v.byteOffset, state.v.byteLength), mStart + state.m.byteLength);
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): SynthesisState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== MAGIC) {
    throw new Error(`not a synthesis checkpoint (expected magic ${MAGIC.toString(16)}, got ${bytes.byteLength < 4 ? "too few bytes" : view.getUint32(0, true).toString(16)})`);
  }
  const headerLength = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const headerEnd = align8(8 + headerLength);
  // Copy into fresh, aligned buffers: the input may be a Buffer slice at any offset.
  const x = new Float32Array(header.xLength);
  new Uint8Array(x.buffer).set(bytes.subarray(headerEnd, headerEnd + header.xLength * 4));
  const state: SynthesisState = { iteration: header.iteration, x, history: header.history };
  if (header.momentLength > 0) {
    const mStart = headerEnd + align8(header.xLength * 4);
    const m = new Float64Array(header.momentLength);
    const v = new Float64Array(header.momentLength);
    new Uint8Array(m.buffer).set(bytes.subarray(mStart, mStart + m.byteLength));
    new Uint8Array(v.buffer).set(bytes.subarray(mStart + m.byteLength, mStart + 2 * m.byteLength));
    state.m = m;
    state.v = v;
  }
  if (header.recentLosses) state.recentLosses = header.recentLosses;
  if (header.lastLoss !== null) state.lastLoss = header.lastLoss;
  return state;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
