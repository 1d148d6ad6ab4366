// npm run bench:matrix — median time of the crossModelMatrix query (MetricsService -> one SQL statement) for
// 20 generators x 20 recognizers with 400 validated metamers per generator (160,000 Recognition rows; plus 100 per
// generator of an older configuration that the default query leaves out), on a fresh
// embedded PostgreSQL whose data the benchmark generates itself. Acceptance: under 300 ms.
// The Recognition rows go in through plain SQL, so the "RecognitionTally" triggers do the same work as for workers.
// BENCH_ROUNDS (default 25) sets the number of timed queries; 3 warm-up queries run first.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { MetricsService } from "../src/services/metrics/recognizability-service.js";
import { startEmbeddedPostgres } from "../src/store/embedded.js";
import { applyMigrations } from "../src/store/migrate.js";
import { Store } from "../src/store/store.js";

const MODELS = 20;
const METAMERS_PER_MODEL = 400;
/** Final-stage metamers per generator in an older configuration (left out by the default query). */
const OLD_METAMERS = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 25);

/**
 * Bulk data in a handful of INSERT ... SELECT statements. Correctness flags are a deterministic function of the
 * (recognizer, metamer) pair (an md5 bit pattern), with a per-pair accuracy so cells differ: no randomness needed.
 */
async function generate(client: pg.Client): Promise<{ groupId: string; modelIds: string[] }> {
  const { rows: [group] } = await client.query(`INSERT INTO "Group" (id, name) VALUES (gen_random_uuid(), 'bench') RETURNING id`);
  const { rows: models } = await client.query(
    `INSERT INTO "Model" (id, "groupId", name, version, modality, "inputShape", "inputRange", "classLabels", sha256, "outputName")
     SELECT gen_random_uuid(), $1, 'bench-model-' || i, 1, 'IMAGE', '{1,3,32,32}', '{0,1}', '{a,b,c,d}', md5(i::text), 'logits'
       FROM generate_series(1, $2) AS i RETURNING id`,
    [group.id, MODELS],
  );
  await client.query(
    `INSERT INTO "Layer" (id, "modelId", name, shape, "producerOp", "order")
     SELECT gen_random_uuid(), m.id, s.name, '{}', 'Relu', s.ord
       FROM "Model" m, (VALUES ('layer1', 0), ('layer2', 1), ('final', 2)) AS s(name, ord)`,
  );
  const { rows: [set] } = await client.query(
    `INSERT INTO "StimulusSet" (id, "groupId", name, modality, "classLabels") VALUES (gen_random_uuid(), $1, 'bench', 'IMAGE', '{a,b,c,d}') RETURNING id`,
    [group.id],
  );
  await client.query(
    `INSERT INTO "Stimulus" (id, "setId", "groupId", label, filename, "contentType", sha256, position)
     SELECT gen_random_uuid(), $1, $2, (ARRAY['a','b','c','d'])[1 + i % 4], 's' || i || '.png', 'image/png', md5('s' || i), i
       FROM generate_series(0, $3 - 1) AS i`,
    [set.id, group.id, METAMERS_PER_MODEL],
  );
  // Two configurations per generator, as results are keyed by configuration: the current batch (one synthesis job +
  // metamer per (generator, stimulus) at the final stage, plus as many at layer2 so that the stage filter has rows
  // to skip), and an older batch of another configuration with OLD_METAMERS more final-stage metamers, which the
  // default query (latest configuration per generator and stage) must leave out.
  await client.query(
    `INSERT INTO "SynthesisBatch" (id, "groupId", "modelId", config, seed, "configHash", "createdAt")
     SELECT gen_random_uuid(), $1, m.id, '{}', 0, c.hash, c.at
       FROM "Model" m CROSS JOIN (VALUES ('bench-current', now()), ('bench-older', now() - interval '1 day')) AS c(hash, at)
      WHERE m."groupId" = $1`,
    [group.id],
  );
  await client.query(
    `INSERT INTO "Job" (id, kind, "groupId", "batchId", "modelId", "stimulusId", stage, status)
     SELECT gen_random_uuid(), 'SYNTHESIS', $1, b.id, b."modelId", s.id, st.stage, 'SUCCEEDED'
       FROM "SynthesisBatch" b CROSS JOIN "Stimulus" s CROSS JOIN (VALUES ('final'), ('layer2')) AS st(stage)
      WHERE b."groupId" = $1 AND (b."configHash" = 'bench-current' OR (st.stage = 'final' AND s.position < $2))`,
    [group.id, OLD_METAMERS],
  );
  // A statement of its own: the Metamer trigger copies each job's batch and configuration, which it can only see
  // once the jobs are written.
  await client.query(
    `INSERT INTO "Metamer" (id, "jobId", "groupId", "modelId", "stimulusId", stage, seed, config, history, certificate,
                            passed, "tensorSha256", "renderingSha256", sha256, "softwareVersions")
     SELECT gen_random_uuid(), j.id, $1, j."modelId", j."stimulusId", j.stage, 0, '{}', '[]', '{}', true,
            md5(j.id::text), md5(j.id::text), md5(j.id::text), '{}'
       FROM "Job" j WHERE j."groupId" = $1`,
    [group.id],
  );
  await client.query(
    `INSERT INTO "Recognition" (id, "recognizerId", "metamerId", "predictedLabel", correct)
     SELECT gen_random_uuid(), r.id, m.id, 'a',
            ('x' || substr(md5(r.id::text || m.id::text), 1, 4))::bit(16)::int % 100 < 10 + (abs(hashtext(r.id::text || m."modelId"::text)) % 80)
       FROM "Metamer" m CROSS JOIN "Model" r
      WHERE m."groupId" = $1 AND r."groupId" = $1`,
    [group.id],
  );
  await client.query(`VACUUM ANALYZE`);
  return { groupId: group.id, modelIds: models.map((m: { id: string }) => m.id) };
}

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), "metamers-bench-matrix-"));
  await chmod(root, 0o777); // the postgres user must enter the folder when running as root (docs/stack.md G18)
  const server = await startEmbeddedPostgres({ dataDir: path.join(root, "data"), unsafeNoFsync: true });
  let store: Store | undefined;
  try {
    const admin = new pg.Client(server.config);
    await admin.connect();
    await admin.query(`CREATE DATABASE bench`);
    await admin.end();
    const config = { ...server.config, database: "bench" };
    await applyMigrations(config);
    const client = new pg.Client(config);
    await client.connect();
    const t0 = performance.now();
    const { groupId, modelIds } = await generate(client);
    const counts = await client.query(`SELECT (SELECT count(*) FROM "Metamer") AS metamers, (SELECT count(*) FROM "Recognition") AS recognitions`);
    await client.end();
    console.log(
      `generated ${MODELS} models, ${counts.rows[0].metamers} metamers, ${counts.rows[0].recognitions} recognitions in ${Math.round(performance.now() - t0)} ms`,
    );

    store = Store.connect(config, { poolSize: 2 });
    const metrics = new MetricsService(store);
    const caller = { groupId, role: "READER" as const, apiKeyId: "bench" };
    const query = () => metrics.crossModelMatrix(caller, { generatorIds: modelIds, recognizerIds: modelIds, stage: "FINAL" });
    const first = await query();
    if (first.length !== MODELS * MODELS || first.some((c) => c.n !== METAMERS_PER_MODEL || c.configHashes.join() !== "bench-current")) {
      throw new Error(`unexpected matrix: ${first.length} cells, n values ${[...new Set(first.map((c) => c.n))].join(", ")}`);
    }
    for (let i = 0; i < 2; i++) await query();
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const start = performance.now();
      await query();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    console.log(
      `crossModelMatrix ${MODELS}x${MODELS}, ${METAMERS_PER_MODEL} metamers per cell: median ${median.toFixed(1)} ms ` +
        `(min ${times[0].toFixed(1)}, max ${times.at(-1)!.toFixed(1)}, ${ROUNDS} rounds; target < 300 ms)`,
    );
  } finally {
    await store?.close();
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
