// The GPU worker's entry (AWS Batch, image ./Dockerfile): database credentials from Secrets Manager, then the job
// handler loop of src/worker.ts until the job table has nothing left to claim; exit 0 (a job's failure is recorded in
// its row, not in the container's exit code, so Batch does not retry a worker for it).
import "reflect-metadata";
import { withDatabaseFromSecrets } from "../../src/cloud/secrets.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { runDrainingWorker } from "../../src/worker.js";

const config = await withDatabaseFromSecrets(loadConfig());
const log = createLogger(config.logLevel);
await runDrainingWorker(config, log);
// Clients' idle sockets (S3, Secrets Manager) must not keep the container, and so the instance, alive.
process.exit(0);
