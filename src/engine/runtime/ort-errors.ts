// onnxruntime's messages name files: its own source files (/onnxruntime_src/.../graph.cc:123) and, for models
// loaded from a path, the model's path. Clients get the message without directories: an absolute
// path tells an attacker about the server's layout and nothing useful to a lab.

/** Absolute POSIX paths (two or more segments) and Windows drive paths, up to the last separator. */
const ABSOLUTE_DIRS = /(?:[A-Za-z]:\\(?:[^\\\s:'"]+\\)*|(?<![\w.~-])\/(?:[^/\s:'"()[\]]+\/)+)/g;

/** The message's first line with every absolute path reduced to its last segment, at most 500 characters. */
export function publicOrtMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const line = raw.split("\n").find((l) => l.trim()) ?? raw;
  const clean = line.replace(ABSOLUTE_DIRS, "");
  return clean.length > 500 ? `${clean.slice(0, 500)}…` : clean;
}

/** An Error with the public message, for rethrowing what onnxruntime threw. */
export function publicOrtError(e: unknown): Error {
  const out = new Error(publicOrtMessage(e));
  out.name = "OnnxRuntimeError";
  return out;
}
