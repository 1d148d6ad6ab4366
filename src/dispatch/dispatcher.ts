/**
 * How queued jobs reach a worker. The job rows in PostgreSQL are the truth; a dispatcher only makes a worker look
 * sooner (local pool: wake the worker processes; Lambda: invoke the function once per job). Losing a dispatch is
 * harmless: pool workers also poll, and a Lambda job can be re-dispatched.
 */
export interface Dispatcher {
  readonly kind: "local" | "lambda" | "none";
  dispatch(jobIds: string[]): Promise<void>;
  close(): Promise<void>;
}

/** For processes that only enqueue (tests, an API node without workers): jobs wait for whichever worker polls. */
export class NoDispatcher implements Dispatcher {
  readonly kind = "none" as const;
  async dispatch(): Promise<void> {}
  async close(): Promise<void> {}
}
