// A global setup that throws after the embedded PostgreSQL has started: the run must exit non-zero.
import startPostgres from "../helpers/global-setup.js";
import type { TestProject } from "vitest/node";

export default async function setup(project: TestProject) {
  const teardown = await startPostgres(project);
  await teardown();
  throw new Error("global setup failed on purpose (CI self-check)");
}
