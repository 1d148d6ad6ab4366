// Worker-thread entry for audio conversion: WAV decoding and windowed-sinc resampling are
// synchronous loops that took the event loop for 50 s on a hostile header; here they block only this thread.
import { parentPort } from "node:worker_threads";
import { asAppError } from "../errors.js";
import { audioToTensor, type StimulusLimits, type TensorSpec } from "../engine/index.js";

export interface AudioJob {
  id: number;
  bytes: Uint8Array;
  spec: TensorSpec;
  where: string;
  limits: StimulusLimits;
}
export type AudioReply =
  | { id: number; ok: true; tensor: Float32Array }
  | { id: number; ok: false; code?: string; message: string; details?: Record<string, unknown> };

parentPort!.on("message", (job: AudioJob) => {
  let reply: AudioReply;
  try {
    reply = { id: job.id, ok: true, tensor: audioToTensor(job.bytes, job.spec, job.where, job.limits) };
  } catch (e) {
    // The engine's error is mapped to the API's code here, before it crosses the thread boundary as plain data.
    const known = asAppError(e);
    const message = e instanceof Error ? e.message : String(e);
    reply = known ? { id: job.id, ok: false, code: known.code, message, details: known.details } : { id: job.id, ok: false, message };
  }
  parentPort!.postMessage(reply, reply.ok ? [reply.tensor.buffer as ArrayBuffer] : []);
});
