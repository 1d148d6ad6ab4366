// `metamers batches list|show|cancel|retry`: synthesis batches through the GraphQL API (synthesisBatches,
// synthesisBatch, cancelSynthesis, retrySynthesisBatch). `show --wait` follows a batch to its end and exits 4
// (JobsFailedError) when any of its jobs failed or was cancelled, so a lab script can branch on the outcome.
import { AppError } from "../errors.js";
import type { MetamersClient } from "./client.js";
import { JobsFailedError } from "./exit-codes.js";
import {
  booleanOf, defined, emit, instantOf, integerOf, listOf, parseCommand, positionalsOf, runSubcommand, table, type Output,
} from "./output.js";

export const BATCHES_USAGE = `usage:
  metamers batches list [--model <id,...>] [--config <hash,...>] [--cancelled true|false] [--archived]
                        [--created-after <ISO time>] [--created-before <ISO time>] [--oldest-first] [--first <n>] [--after <cursor>]
  metamers batches show <batch id> [--jobs] [--wait] [--poll-ms <ms>]
                        counts, progress and (--jobs) each job; --wait polls until no job is queued or running
                        (exit 4 when any failed or was cancelled)
  metamers batches cancel <batch id>    cancel the batch's queued and running jobs
  metamers batches retry <batch id>     re-queue the batch's failed and cancelled jobs
  metamers batches archive <batch id> [--undo]   hide the batch from lists (kept for provenance); --undo lists it again
  every subcommand takes --json (one JSON value on stdout)`;

export interface BatchesOptions {
  /** Default poll interval of `show --wait` (tests shorten it). */
  pollMs?: number;
}

type Counts = { queued: number; running: number; succeeded: number; failed: number; cancelled: number };

const COUNTS = "counts { queued running succeeded failed cancelled }";
const BATCH_FIELDS = `id modelId seed configHash idempotencyKey cancelledAt archivedAt createdAt ${COUNTS}`;

export function batchesCommand(argv: string[], client: MetamersClient, out: Output, options: BatchesOptions = {}): Promise<void> {
  return runSubcommand("batches", BATCHES_USAGE, { list, show, cancel, retry, archive }, argv, client, out, options);
}

const countsText = (c: Counts) =>
  `${c.queued} queued, ${c.running} running, ${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled`;

/** `batches list`: the connection with the filter grammar's fields as flags. */
async function list(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, BATCHES_USAGE, {
    model: { type: "string", multiple: true },
    config: { type: "string", multiple: true },
    cancelled: { type: "string" },
    archived: { type: "boolean", default: false },
    "created-after": { type: "string" },
    "created-before": { type: "string" },
    "oldest-first": { type: "boolean", default: false },
    first: { type: "string" },
    after: { type: "string" },
  });
  positionalsOf(positionals, 0, "no arguments besides flags", BATCHES_USAGE);
  const filter = defined({
    modelIds: listOf(v.model),
    configHashes: listOf(v.config),
    cancelled: booleanOf("cancelled", v.cancelled, BATCHES_USAGE),
    archived: v.archived ? true : undefined,
    createdAfter: instantOf("created-after", v["created-after"], BATCHES_USAGE),
    createdBefore: instantOf("created-before", v["created-before"], BATCHES_USAGE),
  });
  const { synthesisBatches: c } = await client.gql(
    `query CliBatches($f: SynthesisBatchFilter, $first: Int, $after: String, $order: ListOrder!) {
      synthesisBatches(filter: $f, first: $first, after: $after, order: $order) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { ${BATCH_FIELDS} } } } }`,
    {
      f: Object.keys(filter).length ? filter : undefined,
      first: integerOf("first", v.first, BATCHES_USAGE, 1, 500),
      after: v.after,
      order: v["oldest-first"] ? "OLDEST_FIRST" : "NEWEST_FIRST",
    },
  );
  const batches = c.edges.map((e: { node: unknown }) => e.node);
  emit(out, json, { totalCount: c.totalCount, pageInfo: c.pageInfo, batches }, () => {
    const rows = [["id", "model", "created", "queued", "running", "succeeded", "failed", "cancelled", "config"]];
    for (const b of batches as { id: string; modelId: string; createdAt: string; configHash: string; counts: Counts }[]) {
      const k = b.counts;
      rows.push([b.id, b.modelId, b.createdAt, String(k.queued), String(k.running), String(k.succeeded), String(k.failed), String(k.cancelled), b.configHash.slice(0, 12)]);
    }
    const more = c.pageInfo.hasNextPage ? ` (more: --after ${c.pageInfo.endCursor})` : "";
    return table(rows) + `${batches.length} of ${c.totalCount} batch(es)${more}\n`;
  });
}

/** `SynthesisBatch.progress` as `batches show` prints it (its per-stage list is left to --json users of the API). */
const PROGRESS_FIELDS =
  "progress { jobsTotal jobsDone jobsSucceeded jobsFailed jobsCancelled jobsRunning jobsQueued stepsTotal stepsDone fraction stepsPerSecond etaSeconds observedAt }";

async function fetchBatch(client: MetamersClient, id: string, jobs: boolean) {
  const jobFields = jobs ? "jobs(first: 1000) { id status stage stageLabel attempts stimulus { id label filename } metamer { id } error { code message } }" : "";
  const { synthesisBatch } = await client.gql(`query CliBatch($id: ID!) { synthesisBatch(id: $id) { ${BATCH_FIELDS} ${PROGRESS_FIELDS} ${jobFields} } }`, { id });
  if (!synthesisBatch) throw new AppError("NOT_FOUND", `batches: no synthesis batch '${id}' visible to this key`);
  return synthesisBatch;
}

/** `batches show <id>`: counts, progress, jobs; `--wait` polls to the end. */
async function show(rest: string[], client: MetamersClient, out: Output, options: BatchesOptions): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, BATCHES_USAGE, {
    jobs: { type: "boolean", default: false },
    wait: { type: "boolean", default: false },
    "poll-ms": { type: "string" },
  });
  const [id] = positionalsOf(positionals, 1, "one batch id", BATCHES_USAGE);
  const pollMs = integerOf("poll-ms", v["poll-ms"], BATCHES_USAGE, 10, 600_000) ?? options.pollMs ?? 2000;
  let batch = await fetchBatch(client, id, false);
  if (v.wait) {
    let last = "";
    while (batch.counts.queued + batch.counts.running > 0) {
      const line = `batch ${batch.id}: ${countsText(batch.counts)}\n`;
      if (!json && line !== last) out.write(line);
      last = line;
      await new Promise((r) => setTimeout(r, pollMs));
      batch = await fetchBatch(client, id, false);
    }
  }
  if (v.jobs) batch = await fetchBatch(client, id, true);
  emit(out, json, batch, () => {
    let text = `batch ${batch.id}\n  model ${batch.modelId}, seed ${batch.seed}, config ${batch.configHash}\n  created ${batch.createdAt}` +
      `${batch.cancelledAt ? `, cancelled ${batch.cancelledAt}` : ""}${batch.idempotencyKey ? `, idempotency key ${batch.idempotencyKey}` : ""}\n` +
      `  jobs: ${countsText(batch.counts)}\n` +
      `  progress: ${Object.entries(batch.progress as Record<string, unknown>).map(([k, x]) => `${k} ${x ?? "-"}`).join(", ")}\n`;
    if (batch.jobs) {
      type Job = { id: string; status: string; stage: string; stageLabel: string | null; attempts: number; stimulus: { label: string; filename: string } | null; metamer: { id: string } | null; error: { code: string; message: string } | null };
      const rows = [["job", "status", "stage", "label", "stimulus", "attempts", "metamer / error"]];
      for (const j of batch.jobs as Job[]) {
        rows.push([j.id, j.status, j.stage, j.stageLabel ?? "", j.stimulus ? `${j.stimulus.filename} (${j.stimulus.label})` : "", String(j.attempts), j.metamer?.id ?? (j.error ? `[${j.error.code}] ${j.error.message}` : "")]);
      }
      text += table(rows);
    }
    return text;
  });
  if (v.wait && batch.counts.failed + batch.counts.cancelled > 0) {
    throw new JobsFailedError(`batch ${batch.id}: ${batch.counts.failed} job(s) failed, ${batch.counts.cancelled} cancelled (metamers batches show ${batch.id} --jobs lists why)`, batch.counts.failed, batch.counts.cancelled);
  }
}

async function cancel(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { positionals, json } = parseCommand(rest, BATCHES_USAGE, {});
  const [id] = positionalsOf(positionals, 1, "one batch id", BATCHES_USAGE);
  const { cancelSynthesis: b } = await client.gql(`mutation CliCancelBatch($id: ID!) { cancelSynthesis(batchId: $id) { ${BATCH_FIELDS} } }`, { id });
  emit(out, json, b, () => `cancelled batch ${b.id}: ${countsText(b.counts)}\n`);
}

async function retry(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { positionals, json } = parseCommand(rest, BATCHES_USAGE, {});
  const [id] = positionalsOf(positionals, 1, "one batch id", BATCHES_USAGE);
  const { retrySynthesisBatch: b } = await client.gql(`mutation CliRetryBatch($id: ID!) { retrySynthesisBatch(batchId: $id) { ${BATCH_FIELDS} } }`, { id });
  emit(out, json, b, () => `re-queued batch ${b.id}: ${countsText(b.counts)} (follow: metamers batches show ${b.id} --wait)\n`);
}

/** `batches archive <id> [--undo]`: archiveSynthesisBatch, or unarchiveSynthesisBatch with --undo. */
async function archive(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, BATCHES_USAGE, { undo: { type: "boolean", default: false } });
  const [id] = positionalsOf(positionals, 1, "one batch id", BATCHES_USAGE);
  const mutation = v.undo ? "unarchiveSynthesisBatch" : "archiveSynthesisBatch";
  const { [mutation]: b } = await client.gql(`mutation CliArchiveBatch($id: ID!) { ${mutation}(batchId: $id) { ${BATCH_FIELDS} } }`, { id });
  emit(out, json, b, () => `${v.undo ? "listed again" : "archived"} batch ${b.id}\n`);
}
