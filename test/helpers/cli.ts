// The CLI run in-process against a test server, as a lab script would run it: stdout comes back as text (or parsed
// from --json). `server()` is read at each call, as tests fill in their server, key and data dir in beforeAll.
import { runCli } from "../../src/cli/main.js";

export interface CliServer {
  url: string;
  key: string;
  dataDir: string;
}

export function inProcessCli(server: () => CliServer): { cli: (...argv: string[]) => Promise<string>; json: (...argv: string[]) => Promise<any> } {
  const cli = async (...argv: string[]): Promise<string> => {
    const { url, key, dataDir } = server();
    let text = "";
    await runCli(argv, { write: (s: string) => (text += s) }, { url, apiKey: key, dataDir });
    return text;
  };
  return { cli, json: async (...argv: string[]) => JSON.parse(await cli(...argv, "--json")) };
}
