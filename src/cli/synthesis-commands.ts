// `metamers synthesize ...`: queue a synthesis batch through the GraphQL API and (with --wait) follow it.
import { parseArgs } from "node:util";
import { AppError } from "../errors.js";
import type { Output } from "./api-commands.js";
import type { MetamersClient } from "./client.js";
import { JobsFailedError } from "./exit-codes.js";
import { formatEta, ProgressDisplay } from "./progress.js";

export const SYNTHESIZE_USAGE = `usage:
  metamers synthesize --model <id> --stages <a,b,...> (--set <setId> | --stimuli <id,id,...>)
                      [--recipe FEATHER_2023|ADAM_RANGE_PENALTY] [--rounds N] [--steps N] [--step S]
                      [--seed N] [--idempotency-key K] [--wait] [--json]
  stages are tensor names or stage labels; without --rounds/--steps the paper's 8 x 3000 schedule runs.
  The batch id is printed first (stdout). --wait then shows a progress bar with an ETA on stderr (one line per ~10%
  when stderr is not a terminal) until every job of the batch has ended, also when the request was a replay of an
  earlier one (same --idempotency-key), then prints where the metamers are; it exits with code 4 when jobs failed or
  were cancelled. --json prints one JSON object (with --wait: batchId, counts, results) and no text.`;

export interface SynthesizeOptions {
  /** Poll interval for --wait (tests shorten it). */
  pollMs?: number;
  /** Where the progress bar goes (default process.stderr). */
  err?: Output;
  /** Whether `err` is a terminal: a bar redrawn in place (\\r) instead of a line per ~10% (default: stderr's isTTY). */
  tty?: boolean;
}

/** The batch's progress as --wait reads it (SynthesisBatch.progress: the real job count, not the request's). */
const PROGRESS = `query($id: ID!) { synthesisBatch(id: $id) { id progress {
  jobsTotal jobsDone jobsSucceeded jobsFailed jobsCancelled jobsRunning fraction etaSeconds } } }`;

interface BatchProgress {
  jobsTotal: number;
  jobsDone: number;
  jobsSucceeded: number;
  jobsFailed: number;
  jobsCancelled: number;
  jobsRunning: number;
  fraction: number;
  etaSeconds: number | null;
}

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
    `mutation($input: SynthesizeMetamersInput!) { synthesizeMetamers(input: $input) { id progress { jobsTotal jobsDone } } }`,
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
  // The batch's own job count: on an idempotent replay the request's jobs may already be running or done, so what is
  // queued now says nothing about how many there are.
  const total = batch.progress.jobsTotal as number;
  if (!values.wait) {
    out.write(values.json ? JSON.stringify({ batchId: batch.id, jobs: total }) + "\n" : `batch ${batch.id}: ${total} jobs (follow: metamers synthesize ... --wait, or query synthesisBatch(id: "${batch.id}") { progress { jobsDone jobsTotal etaSeconds } })\n`);
    return;
  }
  // First, before any waiting: a script or a person who stops waiting still has the id to follow the batch by.
  if (!values.json) out.write(`batch ${batch.id}: ${total} jobs, ${batch.progress.jobsDone} done; waiting for them\n`);
  const err = options.err ?? process.stderr;
  const tty = options.tty ?? (err === process.stderr && Boolean(process.stderr.isTTY));
  const final = await waitForBatch(client, batch.id, new ProgressDisplay(err, { tty }), options);
  const { counts, results } = await batchResults(client, batch.id);
  if (values.json) out.write(JSON.stringify({ batchId: batch.id, counts, results }) + "\n");
  else for (const r of results) out.write(resultLine(r));
  if (final.jobsFailed + final.jobsCancelled > 0) {
    throw new JobsFailedError(
      `batch ${batch.id}: ${final.jobsFailed} of ${final.jobsTotal} jobs failed, ${final.jobsCancelled} cancelled`,
      final.jobsFailed,
      final.jobsCancelled,
    );
  }
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

/**
 * Polls the batch until every one of its jobs has ended (the server's count, re-read each time), showing the bar
 * (steps done, so it moves within long jobs) with the jobs done and the ETA. Returns the final progress.
 */
async function waitForBatch(client: MetamersClient, batchId: string, display: ProgressDisplay, options: SynthesizeOptions): Promise<BatchProgress> {
  for (;;) {
    const { synthesisBatch } = await client.gql(PROGRESS, { id: batchId });
    if (!synthesisBatch) throw new AppError("NOT_FOUND", `synthesis batch ${batchId} is no longer visible to this key`);
    const p: BatchProgress = synthesisBatch.progress;
    const ended = p.jobsDone >= p.jobsTotal;
    const text = `${p.jobsDone}/${p.jobsTotal} jobs done (${p.jobsRunning} running, ${p.jobsSucceeded} succeeded, ${p.jobsFailed} failed${p.jobsCancelled ? `, ${p.jobsCancelled} cancelled` : ""})${ended ? "" : ` ${formatEta(p.etaSeconds)}`}`;
    // The bar is full only when every job has ended (the last steps can be done while a job still saves its result).
    display.update(ended ? 1 : Math.min(p.fraction, 0.999), text, ended);
    if (ended) {
      display.done();
      return p;
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
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
