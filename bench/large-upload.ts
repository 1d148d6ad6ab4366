// npm run bench:large-upload [-- --model <file.onnx> ...] [--generated-mb 1510] [--inspect-memory-gb N] [--inspect-timeout-s N]
//                                [--no-generate] [--no-regression] [--keep] [--out report.json]
//
// Large files end to end against a real server process:
//  1. writes a generated 1.5 GB ONNX model to a temp dir (streamed protobuf, bench/large-onnx.ts),
//  2. starts `src/main.ts` on a fresh temp data dir (embedded PostgreSQL, no job workers),
//  3. per model (the generated one, then each --model, e.g. vgg11 from bench/export_classifier.py): createUpload,
//     PUT streamed from disk, GET /blobs streamed into sha256 (must match), one Range read,
//  4. uploads 300 MiB and 1 GiB of seeded bytes (these crashed the server) and downloads them back,
//  5. registers each model (last: registration leaves model-sized garbage that would blur the later phases' memory),
// while sampling the server's resident memory (/proc/<pid>/status; VmHWM reset per phase through clear_refs) and that
// of its model inspector child process (where onnxruntime loads the model; its memory and time limits are the
// server's defaults, which grow with the file's size; --inspect-memory-gb / --inspect-timeout-s set the base instead).
// Fails (exit 1) when a hash differs, the server dies, or upload+hashing peaks 300 MB or more above idle.
// Needs about 2x the model sizes of free disk in the temp dir; everything generated is deleted unless --keep.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DEFAULT_SPEC, writeLargeModel } from "./large-onnx.js";

const MB = 1e6;

/** The upload and download figures every file's report has. */
function transferReport(
  label: string,
  byteSize: number,
  up: { seconds: number; MBps: number; peak: number },
  dl: { seconds: number; MBps: number; peakAbove: number; ok: boolean },
  idle: number,
) {
  return {
    file: label,
    byteSize,
    uploadSeconds: up.seconds,
    uploadMBps: up.MBps,
    uploadPeakRssMB: mb(up.peak),
    uploadPeakAboveIdleMB: mb(up.peak - idle),
    downloadSeconds: dl.seconds,
    downloadMBps: dl.MBps,
    downloadPeakAboveIdleMB: mb(dl.peakAbove),
    sha256Matches: dl.ok,
  };
}
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const UPLOAD_BUDGET_BYTES = 300 * MB;
const repo = path.resolve(import.meta.dirname, "..");

interface Options {
  models: string[];
  /** size of the generated model (its three big weights get the columns that make it this size) */
  generatedMB: number;
  /** METAMERS_INSPECT_MEMORY_BYTES for the server (default: the server's own, which grows with the file's size) */
  inspectMemoryGB?: number;
  /** METAMERS_INSPECT_TIMEOUT_MS for the server, in seconds (default: the server's own, also scaled by size) */
  inspectTimeoutS?: number;
  generate: boolean;
  regression: boolean;
  keep: boolean;
  out?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { models: [], generatedMB: 1510, generate: true, regression: true, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--model") o.models.push(path.resolve(argv[++i] ?? ""));
    else if (a === "--generated-mb") o.generatedMB = Number(argv[++i]);
    else if (a === "--inspect-memory-gb") o.inspectMemoryGB = Number(argv[++i]);
    else if (a === "--inspect-timeout-s") o.inspectTimeoutS = Number(argv[++i]);
    else if (a === "--no-generate") o.generate = false;
    else if (a === "--no-regression") o.regression = false;
    else if (a === "--keep") o.keep = true;
    else if (a === "--out") o.out = argv[++i];
    else throw new Error(`unknown argument ${JSON.stringify(a)}; expected --model <file>, --generated-mb <n>, --inspect-memory-gb <n>, --inspect-timeout-s <n>, --no-generate, --no-regression, --keep, --out <file>`);
  }
  if (!(o.generatedMB >= 1 && o.generatedMB <= 2000)) throw new Error(`--generated-mb: expected 1 to 2000, got ${o.generatedMB}`);
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// resident memory of the server process

const procStatus = (pid: number, field: "VmRSS" | "VmHWM"): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(m[1]) * 1024;
};

/** Child processes of `pid` named `comm` (e.g. the model inspector, a `node` child of the server), recursively. */
function descendants(pid: number, comm: string): number[] {
  const found: number[] = [];
  const visit = (p: number) => {
    let kids: number[] = [];
    try {
      for (const task of readdirSync(`/proc/${p}/task`)) {
        kids = kids.concat(readFileSync(`/proc/${p}/task/${task}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number));
      }
    } catch {
      return; // gone
    }
    for (const k of kids) {
      try {
        if (readFileSync(`/proc/${k}/comm`, "utf8").trim() === comm) found.push(k);
      } catch {
        continue;
      }
      visit(k);
    }
  };
  visit(pid);
  return found;
}

const tryStatus = (pid: number, field: "VmRSS" | "VmHWM") => {
  try {
    return procStatus(pid, field);
  } catch {
    return 0; // exited
  }
};

/**
 * Samples RSS every 50 ms; per phase, the server's peak is VmHWM after resetting it (exact). The server's `node`
 * children (the model inspector process) are sampled too: their peak is the larger of the samples and their VmHWM.
 */
class Memory {
  private timer?: NodeJS.Timeout;
  private childPeak = 0;
  constructor(private readonly pid: number) {}

  begin(): void {
    // "5" resets the peak (VmHWM) to the current RSS (Linux >= 4.0, same user)
    writeFileSync(`/proc/${this.pid}/clear_refs`, "5");
    for (const c of descendants(this.pid, "node")) {
      try {
        writeFileSync(`/proc/${c}/clear_refs`, "5");
      } catch {
        // exited meanwhile
      }
    }
    this.childPeak = 0;
    const sample = () => {
      for (const c of descendants(this.pid, "node")) this.childPeak = Math.max(this.childPeak, tryStatus(c, "VmRSS"));
    };
    sample();
    this.timer = setInterval(sample, 50);
  }

  end(): { peak: number; childPeak: number } {
    clearInterval(this.timer);
    for (const c of descendants(this.pid, "node")) this.childPeak = Math.max(this.childPeak, tryStatus(c, "VmHWM"));
    return { peak: procStatus(this.pid, "VmHWM"), childPeak: this.childPeak };
  }

  rss(): number {
    return procStatus(this.pid, "VmRSS");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the server

interface Server {
  url: string;
  key: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startServer(dataDir: string, inspect: { memoryBytes?: number; timeoutMs?: number }): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "@swc-node/register/esm-register", "src/main.ts"], {
    cwd: repo,
    env: {
      ...process.env,
      METAMERS_DATA_DIR: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      METAMERS_DISPATCHER: "none",
      LOG_LEVEL: "warn",
      ...(inspect.memoryBytes ? { METAMERS_INSPECT_MEMORY_BYTES: String(inspect.memoryBytes) } : {}),
      ...(inspect.timeoutMs ? { METAMERS_INSPECT_TIMEOUT_MS: String(inspect.timeoutMs) } : {}),
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  let exited: number | null = null;
  child.once("exit", (code) => (exited = code ?? -1));
  const serverFile = path.join(dataDir, "server.json");
  const deadline = Date.now() + 180_000;
  while (!existsSync(serverFile)) {
    if (exited !== null) throw new Error(`the server exited during startup (code ${exited})`);
    if (Date.now() > deadline) throw new Error("the server did not start within 180 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  const { url } = JSON.parse(await readFile(serverFile, "utf8")) as { url: string };
  const key = (await readFile(path.join(dataDir, "api-key"), "utf8")).trim();
  return {
    url,
    key,
    child,
    async stop() {
      if (exited !== null) return;
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await done;
    },
  };
}

async function gql(s: Server, query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${s.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${s.key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join("; ")}`);
  return body.data;
}

/** PUT with the body streamed from `source`, Content-Length set; resolves to the JSON answer. */
function put(url: string, key: string, source: Readable, length: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "PUT",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/octet-stream", "content-length": length },
    });
    req.once("response", async (res) => {
      const parts: Buffer[] = [];
      for await (const p of res) parts.push(p as Buffer);
      const text = Buffer.concat(parts).toString("utf8");
      try {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      } catch {
        reject(new Error(`PUT ${url}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`));
      }
    });
    req.once("error", reject);
    pipeline(source, req).catch(reject);
  });
}

/** GET streamed into a hash (nothing kept); `range` as in the Range header. */
function download(url: string, key: string, range?: string): Promise<{ status: number; bytes: number; sha256: string; head?: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: `Bearer ${key}`, ...(range ? { range } : {}) } }, async (res) => {
        const hash = createHash("sha256");
        let bytes = 0;
        const keep: Buffer[] = [];
        try {
          for await (const p of res as AsyncIterable<Buffer>) {
            hash.update(p);
            bytes += p.length;
            if (range) keep.push(p);
          }
          resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest("hex"), head: range ? Buffer.concat(keep) : undefined, headers: res.headers });
        } catch (e) {
          reject(e);
        }
      })
      .once("error", reject);
  });
}

async function health(s: Server): Promise<boolean> {
  try {
    const res = await fetch(`${s.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ health { ok } }" }),
    });
    return res.ok && ((await res.json()) as any).data?.health?.ok === true;
  } catch {
    return false;
  }
}

const mb = (n: number) => Math.round(n / MB);
const secs = (ms: number) => Math.round(ms / 100) / 10;
/** MB per second (rounded to whole MB/s) */
const rate = (bytes: number, ms: number) => Math.round(bytes / MB / Math.max(ms / 1000, 1e-3));

// ---------------------------------------------------------------------------------------------------------------
// phases

interface UploadReport {
  file: string;
  byteSize: number;
  uploadSeconds: number;
  uploadMBps: number;
  uploadPeakRssMB: number;
  uploadPeakAboveIdleMB: number;
  downloadSeconds?: number;
  downloadMBps?: number;
  downloadPeakAboveIdleMB?: number;
  registerSeconds?: number;
  registerRssBeforeMB?: number;
  registerPeakRssMB?: number;
  registerRssAfterMB?: number;
  /** the model inspector child process (onnxruntime), which registration runs the model in */
  registerInspectorPeakRssMB?: number;
  layers?: number;
  sha256Matches: boolean;
  rangeMatches?: boolean;
}

async function createTicket(s: Server, byteSize: number, sha256: string): Promise<{ id: string; url: string }> {
  return (await gql(s, `mutation($i: CreateUploadInput!) { createUpload(input: $i) { id url } }`, { i: { purpose: "MODEL", byteSize, sha256 } })).createUpload;
}

async function uploadPhase(s: Server, mem: Memory, idle: number, source: () => Readable, byteSize: number, sha256: string, label: string) {
  const ticket = await createTicket(s, byteSize, sha256);
  mem.begin();
  const t0 = performance.now();
  const res = await put(ticket.url, s.key, source(), byteSize);
  const ms = performance.now() - t0;
  const m = mem.end();
  if (res.status !== 200 || res.body.sha256 !== sha256) throw new Error(`${label}: PUT answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  console.log(`${label}: uploaded ${mb(byteSize)} MB in ${secs(ms)} s (${rate(byteSize, ms)} MB/s); server peak RSS ${mb(m.peak)} MB, ${mb(m.peak - idle)} MB above idle`);
  return { ticket, seconds: secs(ms), MBps: rate(byteSize, ms), peak: m.peak };
}

async function downloadPhase(s: Server, mem: Memory, idle: number, sha256: string, byteSize: number, label: string) {
  const start = mem.rss();
  mem.begin();
  const t0 = performance.now();
  const dl = await download(`${s.url}/blobs/${sha256}`, s.key);
  const ms = performance.now() - t0;
  const m = mem.end();
  const ok = dl.status === 200 && dl.sha256 === sha256 && dl.bytes === byteSize && Number(dl.headers["content-length"]) === byteSize;
  console.log(`${label}: downloaded ${mb(dl.bytes)} MB in ${secs(ms)} s (${rate(dl.bytes, ms)} MB/s), sha256 ${ok ? "matches" : `DIFFERS (${dl.status}, ${dl.sha256})`}; server peak RSS ${mb(m.peak)} MB, ${mb(m.peak - idle)} MB above idle, ${mb(m.peak - start)} MB above the start of the download`);
  return { ok, seconds: secs(ms), peakAbove: m.peak - idle, MBps: rate(dl.bytes, ms) };
}

/** A range that crosses the first 8 MiB chunk edge, compared with the file's bytes. */
async function rangePhase(s: Server, sha256: string, file: string, byteSize: number): Promise<boolean> {
  const start = Math.min(8 * MiB - 10, byteSize - 20);
  const end = start + 19;
  const dl = await download(`${s.url}/blobs/${sha256}`, s.key, `bytes=${start}-${end}`);
  const fh = await (await import("node:fs/promises")).open(file);
  try {
    const expected = Buffer.alloc(20);
    await fh.read(expected, 0, 20, start);
    return dl.status === 206 && dl.headers["content-range"] === `bytes ${start}-${end}/${byteSize}` && !!dl.head?.equals(expected);
  } finally {
    await fh.close();
  }
}

/** Upload, download and a range read of a model file; registration comes later (registerRun). */
async function transferRun(s: Server, mem: Memory, idle: number, file: string, byteSize: number, sha256: string) {
  const label = path.basename(file);
  const up = await uploadPhase(s, mem, idle, () => createReadStream(file, { highWaterMark: MiB }), byteSize, sha256, label);
  const dl = await downloadPhase(s, mem, idle, sha256, byteSize, label);
  const rangeOk = await rangePhase(s, sha256, file, byteSize);
  console.log(`${label}: range across the first chunk edge ${rangeOk ? "matches" : "DIFFERS"}`);
  const report: UploadReport = {
    ...transferReport(label, byteSize, up, dl, idle),
    rangeMatches: rangeOk,
  };
  return { report, uploadId: up.ticket.id };
}

/**
 * Registration of an uploaded model. Run after every upload and download: registration leaves model-sized buffers
 * that V8 returns to the OS only at its next major GC, which would blur the memory of whatever phase came next.
 */
async function registerRun(s: Server, mem: Memory, report: UploadReport, uploadId: string, sha256: string): Promise<void> {
  const before = mem.rss();
  mem.begin();
  const t0 = performance.now();
  const reg = await gql(s, `mutation($i: RegisterModelInput!) { registerModel(input: $i) { id sha256 layers { name } } }`, {
    i: { name: report.file.replace(/\W+/g, "-"), modality: "IMAGE", uploadId },
  });
  const regMs = performance.now() - t0;
  const regMem = mem.end();
  const after = mem.rss();
  console.log(
    `${report.file}: registered in ${secs(regMs)} s (${reg.registerModel.layers.length} layers); server RSS ${mb(before)} MB before, ` +
      `peak ${mb(regMem.peak)} MB, ${mb(after)} MB right after; inspector process peak ${mb(regMem.childPeak)} MB`,
  );
  Object.assign(report, {
    registerSeconds: secs(regMs),
    registerRssBeforeMB: mb(before),
    registerPeakRssMB: mb(regMem.peak),
    registerRssAfterMB: mb(after),
    registerInspectorPeakRssMB: mb(regMem.childPeak),
    layers: reg.registerModel.layers.length,
    sha256Matches: report.sha256Matches && reg.registerModel.sha256 === sha256,
  });
}

/** Seeded bytes (xorshift32) as a stream of 1 MiB blocks; the same seed gives the same file. */
function seededStream(byteSize: number, seed: number): Readable {
  return Readable.from(
    (function* () {
      let x = seed >>> 0 || 1;
      for (let done = 0; done < byteSize; ) {
        const n = Math.min(MiB, byteSize - done);
        const words = new Uint32Array(Math.ceil(n / 4));
        for (let i = 0; i < words.length; i++) {
          x ^= x << 13;
          x >>>= 0;
          x ^= x >>> 17;
          x ^= x << 5;
          x >>>= 0;
          words[i] = x;
        }
        done += n;
        yield Buffer.from(words.buffer, 0, n);
      }
    })(),
    { objectMode: false, highWaterMark: MiB },
  );
}

async function regressionRun(s: Server, mem: Memory, idle: number, byteSize: number, seed: number): Promise<UploadReport> {
  const label = `${byteSize / MiB} MiB of seeded bytes`;
  const hash = createHash("sha256");
  for await (const b of seededStream(byteSize, seed)) hash.update(b);
  const sha256 = hash.digest("hex");
  const up = await uploadPhase(s, mem, idle, () => seededStream(byteSize, seed), byteSize, sha256, label);
  const alive = await health(s);
  if (!alive) throw new Error(`${label}: the server stopped answering after the upload`);
  const dl = await downloadPhase(s, mem, idle, sha256, byteSize, label);
  return transferReport(label, byteSize, up, dl, idle);
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-large-"));
  // under root, PostgreSQL runs as `postgres` and must enter the data dir's parents
  await chmod(tmp, 0o755);
  const dataDir = path.join(tmp, "data");
  const reports: UploadReport[] = [];
  let server: Server | undefined;
  let failed = false;
  try {
    const models: { file: string; byteSize: number; sha256: string }[] = [];
    if (options.generate) {
      const file = path.join(tmp, "large.onnx");
      const t0 = performance.now();
      const cols = Math.round((options.generatedMB * MB) / (DEFAULT_SPEC.weights * DEFAULT_SPEC.rows * 4));
      const written = await writeLargeModel(file, { ...DEFAULT_SPEC, cols });
      console.log(`generated ${file}: ${mb(written.byteSize)} MB in ${secs(performance.now() - t0)} s (client RSS ${mb(process.memoryUsage().rss)} MB)`);
      models.push({ file, ...written });
    }
    for (const file of options.models) {
      const hash = createHash("sha256");
      await pipeline(createReadStream(file), hash);
      models.push({ file, byteSize: (await stat(file)).size, sha256: hash.digest("hex") });
    }

    const t0 = performance.now();
    server = await startServer(dataDir, {
      memoryBytes: options.inspectMemoryGB && options.inspectMemoryGB * GiB,
      timeoutMs: options.inspectTimeoutS && options.inspectTimeoutS * 1000,
    });
    const mem = new Memory(server.child.pid!);
    await health(server);
    await new Promise((r) => setTimeout(r, 3000));
    const idle = mem.rss();
    console.log(`server pid ${server.child.pid} up in ${secs(performance.now() - t0)} s at ${server.url}; idle RSS ${mb(idle)} MB`);

    // every upload and download first, from an idle server; then the registrations (see registerRun)
    const uploaded: { report: UploadReport; uploadId: string; sha256: string }[] = [];
    for (const m of models) {
      const run = await transferRun(server, mem, idle, m.file, m.byteSize, m.sha256);
      reports.push(run.report);
      uploaded.push({ ...run, sha256: m.sha256 });
    }
    if (options.regression) {
      reports.push(await regressionRun(server, mem, idle, 300 * MiB, 300));
      reports.push(await regressionRun(server, mem, idle, GiB, 1024));
    }
    for (const u of uploaded) await registerRun(server, mem, u.report, u.uploadId, u.sha256);
    const alive = await health(server);
    console.log(`server still answering health: ${alive}`);

    const overBudget = reports.filter((r) => r.uploadPeakAboveIdleMB * MB >= UPLOAD_BUDGET_BYTES);
    const mismatched = reports.filter((r) => !r.sha256Matches || r.rangeMatches === false);
    failed = !alive || overBudget.length > 0 || mismatched.length > 0;
    const summary = { idleRssMB: mb(idle), uploadBudgetMB: UPLOAD_BUDGET_BYTES / MB, serverAlive: alive, runs: reports };
    console.log(JSON.stringify(summary, null, 2));
    if (options.out) writeFileSync(options.out, JSON.stringify(summary, null, 2));
    for (const r of overBudget) console.error(`FAIL ${r.file}: upload peak ${r.uploadPeakAboveIdleMB} MB above idle (budget < 300 MB)`);
    for (const r of mismatched) console.error(`FAIL ${r.file}: downloaded bytes differ`);
  } catch (e) {
    failed = true;
    console.error(`FAIL: ${e instanceof Error ? e.stack : e}`);
  } finally {
    await server?.stop();
    if (options.keep) console.log(`kept ${tmp}`);
    else await rm(tmp, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
