// Reads the autodiff fixtures in ../shared/fixtures/autodiff (beside the repository, see the fixtures' README).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";

export const FIXTURE_DIR = AUTODIFF_FIXTURES;

export interface FixtureStage {
  label: string;
  tensor: string;
  producer_op: string;
  loss: number;
  grad: string;
  grad_fake_relu?: string;
  target: string;
}

export interface FixtureManifest {
  name: string;
  model: string;
  input: string;
  input_shape: number[];
  opset: number;
  arrays: Record<string, { file: string; shape: number[] }>;
  stages: FixtureStage[];
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function loadManifest(name: string): FixtureManifest {
  return { name, ...JSON.parse(readFileSync(path.join(FIXTURE_DIR, `${name}.json`), "utf8")) };
}

export function modelBytes(m: FixtureManifest): Uint8Array {
  return new Uint8Array(readFileSync(path.join(FIXTURE_DIR, m.model)));
}

export function readArray(m: FixtureManifest, key: string): Float32Array {
  const b = readFileSync(path.join(FIXTURE_DIR, m.arrays[key].file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function compareGradients(ours: Float32Array, ref: Float32Array): { cosine: number; maxAbsError: number; maxAbsRef: number } {
  let dot = 0;
  let a = 0;
  let b = 0;
  let maxAbsError = 0;
  let maxAbsRef = 0;
  for (let i = 0; i < ref.length; i++) {
    dot += ours[i] * ref[i];
    a += ours[i] * ours[i];
    b += ref[i] * ref[i];
    maxAbsError = Math.max(maxAbsError, Math.abs(ours[i] - ref[i]));
    maxAbsRef = Math.max(maxAbsRef, Math.abs(ref[i]));
  }
  return { cosine: dot / Math.sqrt(a * b), maxAbsError, maxAbsRef };
}
