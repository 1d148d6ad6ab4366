// `npm run bench:load [-- --seconds 10]`: requests/s and latency percentiles of `health`, `models(first: 50)` and a
// statistics query at 10 and 100 connections, while a hostile mix runs beside them (the largest allowed statistics,
// over-cost aliased statistics, too many aliases, huge counts). Starts the service from src/main.ts on a temporary
// data directory (embedded PostgreSQL, no job workers), loopback only; every scenario is bounded in time.
// Acceptance: health's p99 stays under 100 ms. The rate limit is at its defaults: the hostile mix comes
// from one READER key (so it is also rate limited), and the measured load spreads over one key per connection (all
// of it comes from 127.0.0.1, which would otherwise be one anonymous bucket).
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const repo = path.resolve(import.meta.dirname, "..");
const { values: flags } = parseArgs({ options: { seconds: { type: "string", default: "10" }, profile: { type: "string" }, connections: { type: "string", default: "10,100" }, only: { type: "string" } } });
const SECONDS = Number(flags.seconds);
const HEALTH_P99_LIMIT_MS = 100;

interface Sample {
  ms: number;
  ok: boolean;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function post(agent: http.Agent, port: number, body: string, key?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/graphql",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...(key ? { authorization: `Bearer ${key}` } : {}) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const query = (q: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query: q, variables });

async function startService(): Promise<{ child: ChildProcess; port: number; key: string; dataRoot: string }> {
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), "metamers-load-"));
  await chmod(dataRoot, 0o711); // under root, PostgreSQL runs as `postgres` and must pass through
  const dataDir = path.join(dataRoot, "data");
  const port = await freePort();
  // --profile DIR: the service writes a V8 CPU profile there when it stops (open it in Chrome's DevTools).
  const profile = flags.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(flags.profile)}`] : [];
  const child = spawn(process.execPath, [...profile, "--import", "@swc-node/register/esm-register", "src/main.ts"], {
    cwd: repo,
    env: {
      ...process.env,
      METAMERS_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: "",
      METAMERS_DISPATCHER: "none",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const agent = new http.Agent();
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error("the service did not answer health within 180 s");
    try {
      const res = await post(agent, port, query("{ health { ok } }"));
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  agent.destroy();
  const key = (await readFile(path.join(dataDir, "api-key"), "utf8")).trim();
  return { child, port, key, dataRoot };
}

/** `connections` loops sending `body` back to back for `seconds`; latencies of the requests that finished. */
async function load(port: number, connections: number, seconds: number, body: () => string, keys: string[], okWhen = (s: number, t: string) => s === 200 && !t.includes('"errors"')) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const samples: Sample[] = [];
  const end = performance.now() + seconds * 1000;
  // Requests take the keys in turn, so the load stays under each key's rate limit (it measures the server, not the
  // limiter: 100 keys allow 100 x METAMERS_RATE_LIMIT_PER_SECOND requests a second).
  let sent = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        try {
          const res = await post(agent, port, body(), keys[sent++ % keys.length]);
          samples.push({ ms: performance.now() - started, ok: okWhen(res.status, res.text) });
        } catch {
          samples.push({ ms: performance.now() - started, ok: false });
        }
      }
    }),
  );
  agent.destroy();
  return samples;
}

function summary(samples: Sample[], seconds: number) {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
  return {
    requests: samples.length,
    perSecond: samples.length / seconds,
    p50: pct(50),
    p99: pct(99),
    max: sorted.at(-1) ?? NaN,
    failed: samples.filter((s) => !s.ok).length,
  };
}

/** The hostile mix: runs until `stop()`, counting what the server answered. */
function hostile(port: number, key: string, modelId: string) {
  const counts = { maxStatistics: 0, refused: 0, rateLimited: 0, other: 0 };
  let running = true;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const zero = "00000000-0000-4000-8000-000000000000";
  const refusedBodies = [
    query(`{ ${Array.from({ length: 10 }, (_, i) => `h${i}: humanVsModel(modelId: "${modelId}", permutations: 100000) { permutations }`).join(" ")} }`),
    query(`{ ${Array.from({ length: 300 }, (_, i) => `a${i}: health { ok }`).join(" ")} }`),
    query(`{ recognizability(modelId: "${modelId}", stage: "FINAL", observer: HUMAN, resamples: 300000000) { mean } }`),
    query(`{ idiosyncrasy(modality: VISION, resamples: 10000000) { n } }`),
    query(`{ synthesisBatch(id: "${zero}") { jobs(first: -5, offset: -1) { id } } }`),
    query(`{ stimulusSets(first: 500) { edges { node { stimuli(first: 500) { edges { node { id tensors { shape } } } } } } } }`),
  ];
  const maxBodies = [
    query(`query($m: ID!) { humanVsModel(modelId: $m, permutations: 100000) { permutations } }`, { m: modelId }),
    query(`{ idiosyncrasy(modality: VISION, resamples: 10000) { n } }`),
  ];
  const loop = async (bodies: string[], kind: "maxStatistics" | "refused") => {
    let i = 0;
    while (running) {
      try {
        const res = await post(agent, port, bodies[i++ % bodies.length], key);
        if (kind === "refused" ? res.status === 400 : res.status === 200 && !res.text.includes('"errors"')) counts[kind]++;
        else if (res.status === 429 || res.text.includes('"RATE_LIMITED"')) counts.rateLimited++;
        else counts.other++;
      } catch {
        counts.other++;
      }
    }
  };
  // Four connections keep the statistics threads and their queue busy with the largest allowed runs; two send
  // queries that must be refused before anything runs.
  const loops = [...Array.from({ length: 4 }, () => loop(maxBodies, "maxStatistics")), ...Array.from({ length: 2 }, () => loop(refusedBodies, "refused"))];
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");

async function main() {
  console.log(`CPU: ${os.cpus()[0]?.model ?? "unknown"} x ${os.cpus().length}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; node ${process.version}`);
  const service = await startService();
  const stop = async () => {
    service.child.kill("SIGTERM");
    await new Promise((r) => service.child.once("exit", r));
    await rm(service.dataRoot, { recursive: true, force: true });
  };
  try {
    const agent = new http.Agent();
    const imported = await post(agent, service.port, query("mutation { importFeather2023 { models } }"), service.key);
    if (imported.status !== 200 || imported.text.includes('"errors"')) throw new Error(`importFeather2023 failed: ${imported.text.slice(0, 300)}`);
    const models = JSON.parse((await post(agent, service.port, query(`{ models(first: 100, filter: { name: "cochresnet50" }) { edges { node { id } } } }`), service.key)).text);
    const modelId: string = models.data.models.edges[0].node.id;
    const newKey = async (name: string) => {
      const res = await post(agent, service.port, query(`mutation($n: String!) { createApiKey(name: $n, role: READER) { key } }`, { n: name }), service.key);
      return JSON.parse(res.text).data.createApiKey.key as string;
    };
    const loadKeys: string[] = [];
    for (let i = 0; i < 100; i++) loadKeys.push(await newKey(`load-${i}`));
    const hostileKey = await newKey("hostile");
    agent.destroy();

    const scenarios = [
      { name: "health", body: () => query("{ health { ok database } }") },
      { name: "models(first: 50)", body: () => query("{ models(first: 50) { totalCount edges { node { id name inputShape } } } }") },
      {
        name: "recognizability (1,000 resamples)",
        body: () => query(`query($m: ID!) { recognizability(modelId: $m, stage: "FINAL", observer: HUMAN) { mean ci95 { low high } } }`, { m: modelId }),
      },
    ];
    const rows: string[] = [];
    let healthOk = true;
    for (const connections of flags.connections.split(",").map(Number)) {
      for (const s of scenarios.filter((x) => !flags.only || x.name.startsWith(flags.only))) {
        // The baseline of the same run: the same load with no hostile mix, so the mix's own cost shows as a ratio
        // apart from what this machine's cores can serve at that concurrency.
        const quiet = summary(await load(service.port, connections, SECONDS, s.body, loadKeys), SECONDS);
        const mix = hostile(service.port, hostileKey, modelId);
        const samples = await load(service.port, connections, SECONDS, s.body, loadKeys);
        await mix.stop();
        const r = summary(samples, SECONDS);
        if (s.name === "health" && !(r.p99 < HEALTH_P99_LIMIT_MS)) healthOk = false;
        rows.push(
          `| ${s.name} | ${connections} | ${fmt(r.perSecond)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${r.failed} | ${fmt(quiet.p99)} | ${fmt(r.p99 / quiet.p99, 2)} | ${mix.counts.maxStatistics} max statistics done, ${mix.counts.refused} refused (400), ${mix.counts.rateLimited} rate limited, ${mix.counts.other} other |`,
        );
        console.log(rows.at(-1));
      }
    }
    console.log(`\n${SECONDS} s per scenario; load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);
    console.log("| query | connections | requests/s | p50 ms | p99 ms | max ms | failed | p99 ms without the mix | p99 ratio | hostile mix beside it |");
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    for (const row of rows) console.log(row);
    console.log(`\nhealth p99 under ${HEALTH_P99_LIMIT_MS} ms at every load: ${healthOk ? "yes" : "NO"}`);
    process.exitCode = healthOk ? 0 : 1;
  } finally {
    await stop();
  }
}

await main();
