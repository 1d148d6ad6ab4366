import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath, pathToFileURL } from "node:url";
import { AppError, asAppError } from "../errors.js";
import type { Services } from "../services/index.js";
import { readBody } from "./body.js";
import type { RequestInfo, Route } from "./http.js";
import { httpStatus } from "./shared-routes.js";

/**
 * The participant page of a human experiment (issue 14) and the five routes it uses:
 *   GET  /experiments/<id>/run?token=…[&PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…]   the page (HTML; run/app.js, run/app.css)
 *   GET  /experiments/<id>/run?entry=…&PROLIFIC_PID=…   the study's entry URL: claims a place, redirects to ?token=…
 *   GET  /experiments/<id>/session                 start or resume: the design's texts and the participant's trials
 *   POST /experiments/<id>/responses               one answered trial (a replay is not stored twice)
 *   POST /experiments/<id>/complete                ends the participation: completion code / redirect, or exclusion
 *   GET  /experiments/<id>/stimuli/<stimulusKey>   one stimulus of the participant's own trial list
 * A participant is known by the one-time token of its link only, sent as the `x-participation-token` header or the
 * `token` query parameter (an <img> cannot send a header). An API key is never accepted here: a request with an
 * Authorization header is refused, so that no lab credential is ever handed to, or usable from, a participant's page.
 * The token decides the participant whose data a request reaches (stimulus keys are per participant), and it must
 * belong to the experiment the path names: another experiment's token is refused as unknown.
 */

/** The participant service as these routes use it (services/experiments/participation.ts). */
type Participation = Services["participation"];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** One trial's answer is a few hundred bytes; the completion carries nothing. */
export const PARTICIPANT_BODY_LIMITS = { response: 16 * 1024, complete: 1024 } as const;

interface PageFile {
  bytes: Buffer;
  etag: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const buildScript = path.resolve(here, "../../scripts/build-participant-page.mjs");

let bundle: Promise<Record<string, PageFile>> | undefined;

/**
 * The bundled page (scripts/build-participant-page.mjs), built on first use when `npm start`/`npm test` have not;
 * read once per server process.
 */
function participantPage(): Promise<Record<string, PageFile>> {
  bundle ??= (async () => {
    const script = (await import(pathToFileURL(buildScript).href)) as {
      buildParticipantPage(): Promise<boolean>;
      readParticipantPage(): Record<string, PageFile>;
    };
    await script.buildParticipantPage();
    return script.readParticipantPage();
  })().catch((e: unknown) => {
    bundle = undefined; // a failed build is retried by the next request
    throw e;
  });
  return bundle;
}

/** Headers of every participant response: nothing is framed, sniffed or leaked through the Referer. */
const BASE_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
} as const;

// jsPsych writes inline style attributes ('unsafe-inline' styles); scripts come only from this server; images and sound
// from this server (the noise masks are canvases); jsPsych's stylesheet embeds its fonts as data: URLs.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function experimentId(raw: string): string {
  const id = decodeURIComponent(raw);
  if (!UUID.test(id)) throw new AppError("BAD_USER_INPUT", `experiment id: expected a UUID in /experiments/<id>/..., got '${id.slice(0, 60)}'`);
  return id;
}

/** Every participant route refuses a request that carries an API key (any Authorization header). */
function refuseApiKey(req: IncomingMessage): void {
  if (req.headers.authorization !== undefined) {
    throw new AppError(
      "FORBIDDEN",
      "authorization: participant routes take no API key; send the participation link's token (x-participation-token header or token query parameter), got an Authorization header",
    );
  }
}

/** The participation token from the header or the query (after refusing an API key). */
function participationToken(req: IncomingMessage, info: RequestInfo): string {
  refuseApiKey(req);
  const header = req.headers["x-participation-token"];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const fromQuery = info.url.searchParams.get("token") ?? undefined;
  if (fromHeader !== undefined && fromQuery !== undefined && fromHeader !== fromQuery) {
    throw new AppError("BAD_USER_INPUT", "token: expected one participation token, got different ones in the x-participation-token header and the token query parameter");
  }
  const token = fromHeader ?? fromQuery;
  if (!token) throw new AppError("UNAUTHENTICATED", "token: expected the participation link's token (x-participation-token header or token query parameter), got none");
  return token;
}

/** The request's token, checked to belong to the experiment the URL names. */
async function experimentToken(participation: Participation, req: IncomingMessage, info: RequestInfo, rawId: string): Promise<string> {
  const id = experimentId(rawId);
  const token = participationToken(req, info);
  await participation.assertTokenOf(id, token);
  return token;
}

const PROLIFIC_PARAMS = ["PROLIFIC_PID", "STUDY_ID", "SESSION_ID"] as const;

/** Prolific's parameters as the service takes them (it checks their form). */
function prolificOf(info: RequestInfo): { pid?: string; studyId?: string; sessionId?: string } {
  const q = info.url.searchParams;
  return { pid: q.get("PROLIFIC_PID") ?? undefined, studyId: q.get("STUDY_ID") ?? undefined, sessionId: q.get("SESSION_ID") ?? undefined };
}

function sendJson(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { ...BASE_HEADERS, "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

async function readJsonObject(req: IncomingMessage, limit: number, what: string): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  let body: unknown;
  try {
    body = raw.length ? JSON.parse(raw.toString("utf8")) : {};
  } catch {
    throw new AppError("BAD_USER_INPUT", `${what}: expected a JSON object, got unparsable text`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AppError("BAD_USER_INPUT", `${what}: expected a JSON object, got ${Array.isArray(body) ? "an array" : body === null ? "null" : typeof body}`);
  }
  return body as Record<string, unknown>;
}

function sendHtml(res: ServerResponse, status: number, text: string): void {
  const html = Buffer.from(text, "utf8");
  res.writeHead(status, {
    ...BASE_HEADERS,
    "content-type": "text/html; charset=utf-8",
    "content-length": html.length,
    "content-security-policy": CSP,
    "cache-control": "no-store",
  });
  res.end(html);
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Why a link did not open, as a page (no script, so it works even without the bundle). */
function errorHtml(err: AppError): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>Experiment</title><link rel="icon" href="data:,">
<style>body{background:#808080;font-family:sans-serif;margin:0}div{max-width:40em;margin:12vh auto;background:#f4f4f4;padding:1.2em 2em;border-radius:6px;line-height:1.5}</style>
</head>
<body><div><h2>Sorry</h2><p class="mh-error" data-code="${err.code}">${escapeHtml(err.message)}</p></div></body>
</html>
`;
}

/** The page: no data in it (the script fetches the session with the token from the address bar). */
function pageHtml(js: PageFile, css: PageFile): string {
  const v = (f: PageFile) => encodeURIComponent(f.etag.replace(/"/g, ""));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Experiment</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="run/app.css?v=${v(css)}">
</head>
<body>
<div id="mh-root"><noscript>This experiment needs JavaScript.</noscript></div>
<script src="run/app.js?v=${v(js)}"></script>
</body>
</html>
`;
}

export function experimentRoutes(participation: Participation): Route[] {
  const asset = (name: "app.js" | "app.css", contentType: string): Route => ({
    method: "GET",
    pattern: new RegExp(`^/experiments/([^/]+)/run/${name.replace(".", "\\.")}$`),
    async handle(req, res, [id]) {
      experimentId(id);
      refuseApiKey(req); // the bundle is the same for every experiment and holds no data: no token needed
      const file = (await participantPage())[name];
      if (req.headers["if-none-match"] === file.etag) {
        res.writeHead(304, { ...BASE_HEADERS, etag: file.etag });
        res.end();
        return;
      }
      res.writeHead(200, { ...BASE_HEADERS, "content-type": contentType, "content-length": file.bytes.length, etag: file.etag, "cache-control": "public, max-age=3600" });
      res.end(file.bytes);
    },
  });

  /** The page, or for an entry URL the claim of a place and the redirect to the page with its token. */
  async function runPage(req: IncomingMessage, res: ServerResponse, [id]: string[], info: RequestInfo): Promise<void> {
    const experiment = experimentId(id);
    const entry = info.url.searchParams.get("entry");
    if (entry !== null) {
      // The study's one entry URL (Prolific): the participant's place gets a fresh token, and the browser goes on
      // to the same page with that token, keeping Prolific's parameters; a reload then resumes the same place.
      refuseApiKey(req);
      if (info.url.searchParams.has("token") || req.headers["x-participation-token"] !== undefined) {
        throw new AppError("BAD_USER_INPUT", "entry: expected either an entry key or a participation token, got both");
      }
      const { token } = await participation.claimParticipation(experiment, entry, prolificOf(info));
      const next = new URLSearchParams({ token });
      for (const name of PROLIFIC_PARAMS) {
        const value = info.url.searchParams.get(name);
        if (value !== null) next.set(name, value);
      }
      res.writeHead(303, { ...BASE_HEADERS, location: `run?${next}`, "cache-control": "no-store" });
      res.end();
      return;
    }
    await experimentToken(participation, req, info, experiment);
    const page = await participantPage();
    sendHtml(res, 200, pageHtml(page["app.js"], page["app.css"]));
  }

  return [
    {
      method: "GET",
      pattern: /^\/experiments\/([^/]+)\/run$/,
      async handle(req, res, params, info) {
        try {
          await runPage(req, res, params, info);
        } catch (e) {
          // A person following a link gets a page that says why (a place taken, a link already used); a script gets
          // the usual JSON error.
          const err = asAppError(e);
          if (!err || err.code === "INTERNAL" || res.headersSent || !(req.headers.accept ?? "").includes("text/html")) throw e;
          sendHtml(res, httpStatus[err.code] ?? 400, errorHtml(err));
        }
      },
    },
    asset("app.js", "text/javascript; charset=utf-8"),
    asset("app.css", "text/css; charset=utf-8"),
    {
      method: "GET",
      pattern: /^\/experiments\/([^/]+)\/session$/,
      async handle(req, res, [id], info) {
        const token = await experimentToken(participation, req, info, id);
        sendJson(res, await participation.startParticipation(token, prolificOf(info)));
      },
    },
    {
      method: "POST",
      pattern: /^\/experiments\/([^/]+)\/responses$/,
      async handle(req, res, [id], info) {
        const token = await experimentToken(participation, req, info, id);
        const body = await readJsonObject(req, PARTICIPANT_BODY_LIMITS.response, "response body");
        // The service checks every field (types, ranges, the trial's options) and names what arrived.
        const r = body as Record<string, never>;
        sendJson(
          res,
          await participation.recordResponse(token, {
            trialIndex: r.trialIndex,
            response: r.response,
            rtMs: r.rtMs,
            onsetMs: r.onsetMs,
            offsetMs: r.offsetMs,
            stimulusFrames: r.stimulusFrames,
            refreshHz: r.refreshHz,
          }),
        );
      },
    },
    {
      method: "POST",
      pattern: /^\/experiments\/([^/]+)\/complete$/,
      async handle(req, res, [id], info) {
        const token = await experimentToken(participation, req, info, id);
        await readJsonObject(req, PARTICIPANT_BODY_LIMITS.complete, "completion body");
        sendJson(res, await participation.completeParticipation(token));
      },
    },
    {
      method: "GET",
      pattern: /^\/experiments\/([^/]+)\/stimuli\/([^/]+)$/,
      async handle(req, res, [id, key], info) {
        const token = await experimentToken(participation, req, info, id);
        const { contentType, bytes } = await participation.stimulusForToken(token, decodeURIComponent(key));
        res.writeHead(200, {
          ...BASE_HEADERS,
          "content-type": contentType,
          "content-length": bytes.byteLength,
          // Private to this browser; the key is random per participant trial, so the bytes behind it never change.
          "cache-control": "private, max-age=86400",
        });
        res.end(bytes);
      },
    },
  ];
}
