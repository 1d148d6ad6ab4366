import { EXPORT_TABLES, toCsv } from "../services/metrics/export.js";
import type { Services } from "../services/index.js";
import type { Route } from "./http.js";

/**
 * GET /export/<table>.csv?<params> with `Authorization: Bearer <key>`: bulk CSV of the recognizability tables
 * (schemas in EXPORT_TABLES, src/services/metrics/export.ts; GET /export lists them as JSON). Errors come back
 * as the usual JSON error body with the HTTP status of their code.
 */
export function exportRoutes(services: Services): Route[] {
  return [
    {
      method: "GET",
      pattern: /^\/export\/?$/,
      async handle(_req, res) {
        res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ tables: Object.entries(EXPORT_TABLES).map(([name, t]) => ({ path: `/export/${name}.csv`, ...t })) }));
      },
    },
    {
      method: "GET",
      pattern: /^\/export\/([a-z-]+)\.csv$/,
      async handle(req, res, [name], info) {
        const caller = await services.auth.authenticate(req.headers.authorization);
        const table = await services.metrics.exportTable(caller, name, info.url.searchParams);
        const body = toCsv(table.columns, table.rows);
        res.writeHead(200, {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="${table.filename}"`,
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      },
    },
  ];
}
