import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Stored with every metamer and statistic: what computed it (reproducibility is data, architecture.md). */
export function softwareVersions(serviceVersion: string): Record<string, string> {
  let ort = "unknown";
  try {
    ort = (require("onnxruntime-node/package.json") as { version: string }).version;
  } catch {
    // A bundled deployment may not ship package.json files; the service version still pins it.
  }
  return { node: process.version, "onnxruntime-node": ort, "metamer-hub": serviceVersion };
}
