// `metamers grad` and `metamers layers` on a fixture model, checked against the PyTorch reference gradient.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gradCommand, layersCommand } from "../../src/cli/engine-commands.js";
import { AppError } from "../../src/errors.js";
import { compareGradients, FIXTURE_DIR, loadManifest, readArray } from "../engine/fixture-data.js";

const dir = mkdtempSync(path.join(tmpdir(), "metamers-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  let text = "";
  return { out: { write: (s: string) => (text += s) }, text: () => text };
}

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

describe("metamers grad", () => {
  const m = loadManifest("lenet");
  const stage = m.stages.find((s) => s.grad_fake_relu)!;
  const model = path.join(FIXTURE_DIR, m.model);
  const x0 = path.join(FIXTURE_DIR, m.arrays.x0.file);

  it("--target: writes the gradient and prints loss=<value> last", async () => {
    const outFile = path.join(dir, "g1.f32");
    const c = capture();
    await gradCommand(["--model", model, "--stage", stage.tensor, "--input", x0, "--target", path.join(FIXTURE_DIR, m.arrays[stage.target].file), "--out", outFile], c.out);
    const lines = c.text().trim().split("\n");
    const loss = Number(lines.at(-1)!.replace(/^loss=/, ""));
    expect(lines.at(-1)).toMatch(/^loss=/);
    expect(Math.abs(loss - stage.loss) / stage.loss).toBeLessThan(1e-4);
    expect(compareGradients(readF32(outFile), readArray(m, stage.grad)).cosine).toBeGreaterThan(0.9999);
  });

  it("--natural with --fake-relu computes the target itself", async () => {
    const outFile = path.join(dir, "g2.f32");
    const c = capture();
    await gradCommand(["--model", model, "--stage", stage.tensor, "--input", x0, "--natural", path.join(FIXTURE_DIR, m.arrays.x_nat.file), "--fake-relu", "--out", outFile], c.out);
    const loss = Number(c.text().trim().split("\n").at(-1)!.replace(/^loss=/, ""));
    expect(Math.abs(loss - stage.loss) / stage.loss).toBeLessThan(1e-4);
    expect(compareGradients(readF32(outFile), readArray(m, stage.grad_fake_relu!)).cosine).toBeGreaterThan(0.9999);
  });

  it("bad arguments are BAD_USER_INPUT with the usage", async () => {
    const bad = path.join(dir, "odd.f32");
    writeFileSync(bad, Buffer.alloc(7));
    await expect(gradCommand(["--model", model, "--stage", stage.tensor, "--input", x0, "--out", "o"])).rejects.toThrow(/exactly one of --target and --natural/);
    await expect(gradCommand(["--model", model, "--stage", stage.tensor, "--input", bad, "--target", bad, "--out", "o"])).rejects.toBeInstanceOf(AppError);
  });
});

describe("metamers layers", () => {
  it("prints every layer with its differentiability", async () => {
    const m = loadManifest("resnet_mini");
    const c = capture();
    await layersCommand([path.join(FIXTURE_DIR, m.model)], c.out);
    const text = c.text();
    for (const s of m.stages) expect(text).toContain(s.tensor);
    expect(text).toMatch(/(\d+) of \1 layers differentiable/);
  });
});
