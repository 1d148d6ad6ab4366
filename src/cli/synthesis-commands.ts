// `metamers synthesize ...`: queue a synthesis batch through the GraphQL API and (with --wait) follow it.
import { parseArgs } from "node:util";
import { AppError } from "../errors.js";
import type { Output } from "./api-commands.js";
import type { MetamersClient } from "./client.js";

export const SYNTHESIZE_USAGE = `usage:
  metamers synthesize --model <id> --stages <a,b,...> (--set <setId> | --stimuli <id,id,...>)
                      [--recipe FEATHER_2023|ADAM_RANGE_PENALTY] [--rounds N] [--steps N] [--step S]
                      [--seed N] [--idempotency-key K] [--wait] [--json]
  stages are tensor names or stage labels; without --rounds/--steps the paper's 8 x 3000 schedule runs.
  --wait shows a progress bar until every job has finished, then prints where the metamers are.`;

export interface SynthesizeOptions {
  /** Poll interval for --wait (tests shorten it). */
  pollMs?: number;
  /** Whether `out` is a terminal: a bar redrawn in place (\\r) instead of one line per change. */
  tty?: boolean;
}

const BATCH = `query($id: ID!) { synthesisBatch(id: $id) { id counts { queued running succeeded failed cancelled } } }`;

type SynthesizeValues = ReturnType<typeof parseSynthesizeArgs>;

interface JobResult {
  jobId: string;
  stage: string;
  stimulusId?: string;
  status: string;
  metamer: { id: string; passed: boolean; renderingUrl: string; tensorUrl: string } | null;
  error: { code: string; message: string } | null;
}

export async function synthesizeCommand(argv: string[], client: MetamersClient, out: Output, options: SynthesizeOptions = {}): Promise<void> {
  const values = parseSynthesizeArgs(argv);
  const stimulusIds = (values.stimuli?.split(",").filter(Boolean) ?? []).concat(values.set ? await stimulusIdsOfSet(client, values.set) : []);
  const { synthesizeMetamers: batch } = await client.gql(
    `mutation($input: SynthesizeMetamersInput!) { synthesizeMetamers(input: $input) { id counts { queued } } }`,
    {
      input: {
        modelId: values.model,
        stages: values.stages.split(",").filter(Boolean),
        stimulusIds,
        config: configOf(values),
        seed: number("seed", values.seed),
        idempotencyKey: values["idempotency-key"],
      },
    },
  );
  const total = batch.counts.queued as number;
  if (!values.wait) {
    out.write(values.json ? JSON.stringify({ batchId: batch.id, jobs: total }) + "\n" : `batch ${batch.id}: ${total} jobs queued (follow: metamers synthesize ... --wait, or query synthesisBatch(id: "${batch.id}"))\n`);
    return;
  }
  await waitForBatch(client, batch.id, total, values.json ? null : out, options);
  const { counts, results } = await batchResults(client, batch.id);
  if (values.json) {
    out.write(JSON.stringify({ batchId: batch.id, counts, results }) + "\n");
    return;
  }
  for (const r of results) out.write(resultLine(r));
}

/** The flags, with the required ones checked (BAD_USER_INPUT with the usage otherwise). */
function parseSynthesizeArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      stages: { type: "string" },
      set: { type: "string" },
      stimuli: { type: "string" },
      recipe: { type: "string" },
      rounds: { type: "string" },
      steps: { type: "string" },
      step: { type: "string" },
      seed: { type: "string" },
      "idempotency-key": { type: "string" },
      wait: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const { model, stages } = values;
  if (!model || !stages || (!values.set && !values.stimuli)) {
    throw new AppError("BAD_USER_INPUT", `synthesize: --model, --stages and --set or --stimuli are required\n${SYNTHESIZE_USAGE}`);
  }
  return { ...values, model, stages };
}

function number(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new AppError("BAD_USER_INPUT", `--${name}: expected a number, got '${v}'`);
  return n;
}

/** The synthesis config from the flags given (the server fills in the recipe's defaults for the rest). */
function configOf(values: SynthesizeValues): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries({
      recipe: values.recipe,
      rounds: number("rounds", values.rounds),
      stepsPerRound: number("steps", values.steps),
      initialStep: number("step", values.step),
    }).filter(([, v]) => v !== undefined),
  );
}

/** Every stimulus id of a set, page by page. */
async function stimulusIdsOfSet(client: MetamersClient, setId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  do {
    const { stimulusSet }: { stimulusSet: any } = await client.gql(
      `query($id: ID!, $after: String) { stimulusSet(id: $id) { stimuli(first: 500, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`,
      { id: setId, after },
    );
    if (!stimulusSet) throw new AppError("NOT_FOUND", `--set: no stimulus set '${setId}' visible to this key`);
    ids.push(...stimulusSet.stimuli.edges.map((e: { node: { id: string } }) => e.node.id));
    after = stimulusSet.stimuli.pageInfo.hasNextPage ? stimulusSet.stimuli.pageInfo.endCursor : null;
  } while (after);
  return ids;
}

/** Polls the batch until every job has ended, showing a progress bar on `out` (none when null: --json). */
async function waitForBatch(client: MetamersClient, batchId: string, total: number, out: Output | null, options: SynthesizeOptions): Promise<void> {
  let last = "";
  for (;;) {
    const { synthesisBatch } = await client.gql(BATCH, { id: batchId });
    const c = synthesisBatch.counts;
    const done = c.succeeded + c.failed + c.cancelled;
    const line = progressBar(done, total) + ` ${done}/${total} done (${c.running} running, ${c.succeeded} succeeded, ${c.failed} failed${c.cancelled ? `, ${c.cancelled} cancelled` : ""})`;
    if (out && line !== last) out.write(options.tty ? `\r${line}` : `${line}\n`);
    last = line;
    if (done >= total) break;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
  if (out && options.tty) out.write("\n");
}

/** The batch's final counts and, per job, its metamer (with its validation and links) or its error. */
async function batchResults(client: MetamersClient, batchId: string): Promise<{ counts: unknown; results: JobResult[] }> {
  const { synthesisBatch } = await client.gql(
    `query($id: ID!) { synthesisBatch(id: $id) { counts { succeeded failed } jobs { id stage status stimulus { id } metamer { id } error { code message } } } }`,
    { id: batchId },
  );
  const results: JobResult[] = [];
  for (const job of synthesisBatch.jobs) {
    const m = job.metamer
      ? (await client.gql(`query($id: ID!) { metamer(id: $id) { id passed renderingUrl tensorUrl } }`, { id: job.metamer.id })).metamer
      : null;
    results.push({ jobId: job.id, stage: job.stage, stimulusId: job.stimulus?.id, status: job.status, metamer: m, error: job.error });
  }
  return { counts: synthesisBatch.counts, results };
}

function resultLine(r: JobResult): string {
  return r.metamer
    ? `${r.stage}  stimulus ${r.stimulusId}: metamer ${r.metamer.id} ${r.metamer.passed ? "passed" : "did not pass"} validation; rendering ${r.metamer.renderingUrl}, tensor ${r.metamer.tensorUrl}\n`
    : `${r.stage}  stimulus ${r.stimulusId}: ${r.status}${r.error ? ` [${r.error.code}] ${r.error.message}` : ""}\n`;
}

export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}
