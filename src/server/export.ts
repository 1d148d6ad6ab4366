import { EXPORT_TABLES, toCsv } from "../services/metrics/export.js";
import type { Services } from "../services/index.js";
import type { SharedRoute } from "./shared-routes.js";

/**
 * GET /export/<table>.csv?<params> with `Authorization: Bearer <key>`: bulk CSV of the recognizability tables
 * (schemas in EXPORT_TABLES, src/services/metrics/export.ts; GET /export lists them as JSON). Errors come back
 * as the usual JSON error body with the HTTP status of their code.
 */
export function exportRoutes(services: Services): SharedRoute[] {
  return [
    {
      method: "GET",
      pattern: /^\/export\/?$/,
      async handle() {
        const tables = Object.entries(EXPORT_TABLES).map(([name, t]) => ({ path: `/export/${name}.csv`, ...t }));
        return { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: JSON.stringify({ tables }) };
      },
    },
    {
      method: "GET",
      pattern: /^\/export\/([a-z-]+)\.csv$/,
      async handle(req, [name]) {
        const caller = await services.auth.authenticate(req.headers.authorization);
        const table = await services.metrics.exportTable(caller, name, req.url.searchParams);
        const body = toCsv(table.columns, table.rows);
        return {
          status: 200,
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="${table.filename}"`,
            "content-length": String(Buffer.byteLength(body)),
          },
          body,
        };
      },
    },
  ];
}
