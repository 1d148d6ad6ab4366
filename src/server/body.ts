import type { IncomingMessage } from "node:http";
import { AppError } from "../errors.js";

/** Reads a request body up to `limit` bytes; PAYLOAD_TOO_LARGE as soon as it is exceeded. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) throw tooLarge(limit, declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw tooLarge(limit, size);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const tooLarge = (limit: number, got: number) =>
  new AppError(
    "PAYLOAD_TOO_LARGE",
    `request body: at most ${limit} bytes accepted here, got ${got}${Number.isFinite(got) ? "" : " (unknown)"}; ` +
      "send large files with createUpload and PUT /uploads/<id>",
    { limit },
  );
