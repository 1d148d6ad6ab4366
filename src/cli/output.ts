// What every CLI command shares: strict flag parsing (a bad flag is BAD_USER_INPUT with the usage, exit code 2),
// `--json` (one JSON value on stdout, for scripts) versus a table for people, and small typed option readers.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { AppError } from "../errors.js";

export interface Output {
  write(text: string): unknown;
}

export type Values = Record<string, string | boolean | string[] | undefined>;

/** A usage error: the message, then the command's usage (main exits 2 on BAD_USER_INPUT). */
export const usageError = (message: string, usage: string) => new AppError("BAD_USER_INPUT", `${message}\n${usage}`);

/** Parses `argv` strictly with `options` plus `--json`; an unknown flag or a missing value is a usage error. */
export function parseCommand(argv: string[], usage: string, options: NonNullable<ParseArgsConfig["options"]>): { values: Values; positionals: string[]; json: boolean } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, json: { type: "boolean", default: false } }, allowPositionals: true, strict: true });
    const values = r.values as Values;
    return { values, positionals: r.positionals, json: values.json === true };
  } catch (e) {
    throw usageError((e as Error).message, usage);
  }
}

/** Exactly `count` positional arguments (`what` names them in the error). */
export function positionalsOf(positionals: string[], count: number, what: string, usage: string): string[] {
  if (positionals.length !== count) throw usageError(`expected ${what}, got ${positionals.length} argument(s)${positionals.length ? `: ${positionals.join(" ")}` : ""}`, usage);
  return positionals;
}

/** Writes `value` as one JSON line with --json, else the text `text()` makes. */
export function emit(out: Output, json: boolean, value: unknown, text: () => string): void {
  out.write(json ? `${JSON.stringify(value)}\n` : text());
}

/** Left-aligned columns, two spaces apart; the first row is the header. */
export function table(rows: string[][]): string {
  if (!rows.length) return "";
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd()).join("\n") + "\n";
}

/** A comma-separated flag as a list (undefined when absent); repeated flags are joined. */
export function listOf(v: string | boolean | string[] | undefined): string[] | undefined {
  if (v === undefined || typeof v === "boolean") return undefined;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
  return parts.length ? parts : undefined;
}

/** An integer flag within [min, max] (undefined when absent). */
export function integerOf(name: string, v: string | boolean | string[] | undefined, usage: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n) || n < min || n > max) throw usageError(`--${name}: expected an integer from ${min} to ${max}, got '${String(v)}'`, usage);
  return n;
}

/** A flag that must be one of `choices` (case-insensitive; returned upper-cased). */
export function choiceOf(name: string, v: string | boolean | string[] | undefined, choices: readonly string[], usage: string): string | undefined {
  if (v === undefined) return undefined;
  const s = String(v).toUpperCase();
  if (!choices.includes(s)) throw usageError(`--${name}: expected one of ${choices.join(", ")}, got '${String(v)}'`, usage);
  return s;
}

/** An ISO 8601 instant flag (undefined when absent). */
export function instantOf(name: string, v: string | boolean | string[] | undefined, usage: string): string | undefined {
  if (v === undefined) return undefined;
  const t = typeof v === "string" ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw usageError(`--${name}: expected an ISO 8601 instant such as 2026-11-29T00:00:00Z, got '${String(v)}'`, usage);
  return new Date(t).toISOString();
}

/** A yes/no flag value (`--passed true|false`). */
export function booleanOf(name: string, v: string | boolean | string[] | undefined, usage: string): boolean | undefined {
  if (v === undefined) return undefined;
  const s = String(v).toLowerCase();
  if (s === "true" || s === "yes") return true;
  if (s === "false" || s === "no") return false;
  throw usageError(`--${name}: expected true or false, got '${String(v)}'`, usage);
}

/** Drops the entries whose value is undefined (GraphQL inputs leave those fields out). */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Runs `argv[0]` of `subcommands`; a missing or unknown one is a usage error naming them. */
export async function runSubcommand<A extends unknown[]>(
  command: string,
  usage: string,
  subcommands: Record<string, (rest: string[], ...args: A) => Promise<void>>,
  argv: string[],
  ...args: A
): Promise<void> {
  const [sub, ...rest] = argv;
  const run = sub !== undefined && Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
  if (!run) throw usageError(`${command}: expected one of ${Object.keys(subcommands).join(", ")}, got ${sub ? `'${sub}'` : "nothing"}`, usage);
  await run(rest, ...args);
}
