// Refuses models whose tensors live outside the file. onnxruntime resolves an external-data `location` relative to
// the model's directory, which for a model loaded from memory is the server's working directory: a relative
// `.data/api-key` would be read into a tensor whose bytes the model can turn into shapes the catalogue returns
// (a member of another group recovered an admin key that way). So every TensorProto of the file is checked before onnxruntime sees it, wherever it sits:
// initializers, sparse initializers, Constant-style node attributes, subgraphs (If/Loop/Scan bodies), local
// functions and training-info graphs.
import type { onnx as O } from "onnx-proto";
import { EngineError } from "../errors.js";
import { onnx } from "./proto.js";

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
/** Nesting deeper than this is not a real export; it only costs stack (subgraphs within subgraphs). */
const MAX_GRAPH_DEPTH = 64;

interface Found {
  where: string;
  location: string | null;
}

/**
 * UNSUPPORTED_MODEL when any tensor of the model has data_location EXTERNAL or an `external_data` entry. The
 * message names the first such tensor and where it sits; the location itself is echoed only as a short name.
 */
export function assertSelfContained(proto: O.IModelProto): void {
  const found: Found[] = [];
  const limit = 5;
  const visitTensor = (t: O.ITensorProto | null | undefined, where: string) => {
    if (!t || found.length >= limit) return;
    const entries = t.externalData ?? [];
    if (t.dataLocation === EXTERNAL || entries.length > 0) {
      const location = entries.find((e) => e.key === "location")?.value ?? null;
      found.push({ where: `${where} tensor '${t.name ?? ""}'`, location });
    }
  };
  const visitSparse = (s: O.ISparseTensorProto | null | undefined, where: string) => {
    if (!s) return;
    visitTensor(s.values, `${where} (sparse values)`);
    visitTensor(s.indices, `${where} (sparse indices)`);
  };
  const visitNodes = (nodes: O.INodeProto[] | null | undefined, where: string, depth: number) => {
    for (const n of nodes ?? []) {
      const nodeWhere = `${where} node '${n.name || n.opType}' (${n.opType})`;
      for (const a of n.attribute ?? []) {
        const at = `${nodeWhere} attribute '${a.name}'`;
        visitTensor(a.t, at);
        for (const t of a.tensors ?? []) visitTensor(t, at);
        visitSparse(a.sparseTensor, at);
        for (const s of a.sparseTensors ?? []) visitSparse(s, at);
        if (a.g) visitGraph(a.g, `${at} subgraph`, depth + 1);
        for (const g of a.graphs ?? []) visitGraph(g, `${at} subgraph`, depth + 1);
      }
    }
  };
  const visitGraph = (g: O.IGraphProto | null | undefined, where: string, depth: number) => {
    if (!g) return;
    if (depth > MAX_GRAPH_DEPTH) {
      throw new EngineError("UNSUPPORTED_MODEL", `subgraphs are nested more than ${MAX_GRAPH_DEPTH} deep (at ${where})`);
    }
    for (const t of g.initializer ?? []) visitTensor(t, `${where} initializer`);
    for (const s of g.sparseInitializer ?? []) visitSparse(s, `${where} sparse initializer`);
    visitNodes(g.node, where, depth);
  };

  visitGraph(proto.graph, "graph", 0);
  for (const f of proto.functions ?? []) visitNodes(f.node, `function '${f.name}'`, 1);
  for (const [i, ti] of (proto.trainingInfo ?? []).entries()) {
    visitGraph(ti.initialization, `training_info[${i}].initialization`, 1);
    visitGraph(ti.algorithm, `training_info[${i}].algorithm`, 1);
  }
  if (found.length) {
    const first = found[0];
    const loc = first.location == null ? "" : ` (location ${JSON.stringify(first.location.slice(0, 80))})`;
    throw new EngineError(
      "UNSUPPORTED_MODEL",
      `external data is not accepted: ${first.where} keeps its bytes in a separate file${loc}` +
        (found.length > 1 ? ` (and ${found.length - 1}${found.length >= limit ? "+" : ""} more)` : "") +
        `; re-export the model with the weights inside the .onnx file (e.g. onnx.save_model(m, path, save_as_external_data=False))`,
    );
  }
}
