// Issue 10 item 3: a ~320-byte model (a Loop with 10^12 iterations) hung shape discovery on the main thread and the
// server ignored SIGTERM. Discovery now runs in a child process with a wall-clock limit: the model is refused, the
// child is killed, and the server answers health checks throughout.
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/config.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { reluModel } from "../helpers/onnx-models.js";
import { endlessLoopModel } from "./onnx-hostile-models.js";

const REGISTER = `mutation($input: RegisterModelInput!) { registerModel(input: $input) { id } }`;
const LIMIT_MS = 3000;

let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await startTestApp({ config: { limits: { ...DEFAULT_LIMITS, inspectTimeoutMs: LIMIT_MS } } });
  ({ key } = await t.createGroupWithKey("loopers", "MEMBER"));
});
afterAll(async () => {
  await t?.close();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("refuses the endless Loop after the limit, kills the inspecting process and keeps answering health", async () => {
  const model = endlessLoopModel();
  expect(model.byteLength).toBeLessThan(400);
  // Warm up the request path (first GraphQL operation, first registration) so the timings below are the model's.
  expect((await t.gql(`{ health { ok } }`)).data?.health.ok).toBe(true);
  const warm = await t.gql(REGISTER, { input: { name: "relu", modality: "IMAGE", data: Buffer.from(reluModel()).toString("base64") } }, key);
  expect(warm.errors).toBeUndefined();
  const before = await countRows(t.store);
  const started = performance.now();
  const registration = t.gql(REGISTER, { input: { name: "loop", modality: "IMAGE", data: Buffer.from(model).toString("base64") } }, key);
  let settled = false;
  void registration.finally(() => (settled = true));

  // While the model runs in the child: health round trips and the inspector's pid.
  let healthAnswers = 0;
  let childPid: number | undefined;
  while (!settled) {
    const h = await t.gql(`{ health { ok } }`);
    expect(h.data?.health.ok).toBe(true);
    healthAnswers++;
    const pids = await childPids(process.pid);
    childPid ??= pids.find((p) => p.cmd.includes("inspect-child"))?.pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await registration;
  const elapsed = performance.now() - started;
  expect(r.errors?.[0].extensions?.code).toBe("UNSUPPORTED_MODEL");
  expect(r.errors?.[0].message).toMatch(/^shape discovery exceeded 3 s; the model was refused/);
  expect(elapsed).toBeGreaterThanOrEqual(LIMIT_MS);
  // Served while the model ran: had the event loop been held, no health answer would have come back before the
  // registration's (an ordering, not a latency bound, so a loaded machine cannot make it flaky).
  expect(healthAnswers).toBeGreaterThan(5);
  expect(childPid, "the inspecting child process was seen while the model ran").toBeDefined();
  expect(alive(childPid!)).toBe(false);
  expect(await countRows(t.store)).toEqual(before);
});

/** Child processes of `pid` with their command lines, from /proc. */
async function childPids(pid: number): Promise<{ pid: number; cmd: string }[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push({ pid: Number(entry), cmd: (await readFile(`/proc/${entry}/cmdline`, "utf8")).replace(/\0/g, " ") });
    } catch {
      // the process went away meanwhile
    }
  }
  return out;
}
