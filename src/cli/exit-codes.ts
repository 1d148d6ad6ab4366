// The CLI's exit codes (issue 13 item 6): lab scripts tell a typo from a server problem from failed science.
// main.ts maps every error to one of them; commands throw, they never call process.exit themselves.

export const EXIT_CODES = {
  /** Everything asked for was done. */
  OK: 0,
  /** The command line was wrong (unknown command or flag, bad value): nothing was sent, or the server refused it as bad input. */
  USAGE: 2,
  /** The server could not be reached or answered with an error that is not the caller's input. */
  SERVER: 3,
  /** The request went through but jobs it waited for failed or were cancelled (e.g. `synthesize --wait`). */
  JOBS_FAILED: 4,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Thrown by a command that waited for jobs of which some failed or were cancelled; main exits with JOBS_FAILED. */
export class JobsFailedError extends Error {
  readonly code = "JOBS_FAILED";
  constructor(
    message: string,
    readonly failed: number,
    readonly cancelled: number,
  ) {
    super(message);
  }
}
