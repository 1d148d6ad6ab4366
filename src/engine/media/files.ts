// Stimulus files by their content: which kind a file is (from its first bytes, never its name) and whether it suits
// a set's modality.
import { EngineError } from "../errors.js";

export type StimulusKind = "png" | "jpeg" | "wav";

const CONTENT_TYPES: Record<StimulusKind, string> = { png: "image/png", jpeg: "image/jpeg", wav: "audio/wav" };

/** Identifies a file by its first bytes (never by its name); null for anything else. */
export function sniffKind(bytes: Uint8Array): StimulusKind | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 12));
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WAVE") return "wav";
  return null;
}

export const contentTypeOf = (kind: StimulusKind): string => CONTENT_TYPES[kind];

const describe = (kind: StimulusKind | null): string =>
  kind === "png" ? "a PNG image" : kind === "jpeg" ? "a JPEG image" : kind === "wav" ? "a WAV file" : "an unrecognised file";

/** Checks that the file suits the set's modality; returns its kind. */
export function checkStimulusFile(bytes: Uint8Array, modality: "IMAGE" | "AUDIO", where: string): StimulusKind {
  if (bytes.byteLength === 0) throw new EngineError("INVALID_MEDIA", `${where}: the file is empty (0 bytes)`);
  const kind = sniffKind(bytes);
  const wanted = modality === "IMAGE" ? "a PNG or JPEG image" : "a WAV file (RIFF/WAVE)";
  const ok = modality === "IMAGE" ? kind === "png" || kind === "jpeg" : kind === "wav";
  if (!ok) throw new EngineError("INVALID_MEDIA", `${where}: expected ${wanted} for an ${modality} set, got ${describe(kind)}`);
  return kind!;
}

