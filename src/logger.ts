import { pino, type Logger } from "pino";

export type { Logger };

/** JSON lines on stdout (pino). Tests pass level "silent". */
export function createLogger(level: string = "info"): Logger {
  return pino({ level, base: { svc: "metamers" } });
}
