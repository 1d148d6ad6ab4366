import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sanitizeFilename } from "../../src/services/filenames.js";
import { pngBytes } from "./query-fixtures.js";
import { countRows } from "../helpers/db.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Issue 10 item 8: stageLabels nested 5,000 deep and a NUL byte in a file name were INTERNAL errors; each is now
// BAD_USER_INPUT naming the argument, and file names are stored sanitized with the name as sent kept beside them.
describe("deep nesting and NUL bytes in arguments", () => {
  let t: TestApp;
  let key: string;
  let setId: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ key } = await t.createGroupWithKey("lab-inputs", "MEMBER"));
    const set = await t.gql(`mutation { createStimulusSet(input: { name: "s", modality: IMAGE }) { id } }`, {}, key);
    setId = set.data.createStimulusSet.id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("stageLabels nested 5,000 deep (as a variable) is BAD_USER_INPUT naming the argument", async () => {
    const before = await countRows(t.store);
    // Written by hand: JSON.stringify itself overflows the stack on 5,000 levels.
    const labels = `${'{"a":'.repeat(5000)}"t"${"}".repeat(5000)}`;
    const body = `{"query":"mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }","variables":{"i":{"name":"m","modality":"IMAGE","data":"AAAA","stageLabels":${labels}}}}`;
    const http = await fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body });
    const res = (await http.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    expect(http.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].message).toBe("$i: expected at most 32 levels of nesting, got more");
    expect(await countRows(t.store)).toEqual(before);
  });

  it("stageLabels nested deep in the query text is BAD_USER_INPUT naming the argument", async () => {
    const literal = `${"{a: ".repeat(1000)}"t"${"}".repeat(1000)}`;
    const res = await t.gql(`mutation { registerModel(input: { name: "m", modality: IMAGE, data: "AAAA", stageLabels: ${literal} }) { id } }`, {}, key);
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe("BAD_USER_INPUT");
    expect(res.errors![0].message).toBe("input: expected at most 32 levels of nesting, got more");
  });

  it("a NUL byte in a file name, a label or a set name is BAD_USER_INPUT naming where it is", async () => {
    const before = await countRows(t.store);
    const file = await t.gql(
      `mutation($i: AddStimuliInput!) { addStimuli(input: $i) { id } }`,
      { i: { setId, items: [{ label: "x", filename: "a\u0000.png", data: pngBytes().toString("base64") }] } },
      key,
    );
    expect(file.errors?.[0]?.extensions?.code, JSON.stringify(file.errors)).toBe("BAD_USER_INPUT");
    expect(file.errors![0].message).toBe("input.items[0].filename: expected text without NUL characters (U+0000), got one");
    const name = await t.gql(`mutation($n: String!) { createStimulusSet(input: { name: $n, modality: IMAGE }) { id } }`, { n: "x\u0000y" }, key);
    expect(name.errors![0].message).toBe("input.name: expected text without NUL characters (U+0000), got one");
    const labels = await t.gql(`mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }`, { i: { name: "m", modality: "IMAGE", data: "AAAA", stageLabels: { "a\u0000": "t" } } }, key);
    expect(labels.errors![0].message).toBe("input.stageLabels: expected text without NUL characters (U+0000), got one");
    expect(await countRows(t.store)).toEqual(before);
    // Services refuse it too, for callers that do not come through GraphQL.
    expect(() => sanitizeFilename("a\u0000b", "filename")).toThrow(/filename: expected a file name without NUL characters/);
  });

  it("file names are stored without path separators or control characters, the original kept", async () => {
    const sent = "../../etc/\u001b[31mpasswd\u202e.png";
    const res = await t.gql(
      `mutation($i: AddStimuliInput!) { addStimuli(input: $i) { id filename originalFilename } }`,
      { i: { setId, items: [{ label: "x", filename: sent, data: pngBytes().toString("base64") }] } },
      key,
    );
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    expect(res.data.addStimuli[0]).toMatchObject({ filename: ".._.._etc_[31mpasswd.png", originalFilename: sent });
    const plain = await t.gql(
      `mutation($i: AddStimuliInput!) { addStimuli(input: $i) { filename originalFilename } }`,
      { i: { setId, items: [{ label: "x", filename: "digit 7.png", data: pngBytes(2).toString("base64") }] } },
      key,
    );
    expect(plain.data.addStimuli[0]).toEqual({ filename: "digit 7.png", originalFilename: null });
  });

  it("sanitizeFilename bounds the stored length, keeps the extension, and never yields '.', '..' or ''", () => {
    const long = sanitizeFilename(`${"é".repeat(300)}.png`, "f");
    expect(Buffer.byteLength(long.filename)).toBeLessThanOrEqual(255);
    expect(long.filename.endsWith(".png")).toBe(true);
    expect(long.original).toBe(`${"é".repeat(300)}.png`);
    expect(sanitizeFilename("..", "f").filename).toBe("_..");
    expect(sanitizeFilename("\u0007", "f").filename).toBe("_");
    expect(() => sanitizeFilename("x".repeat(1025), "f")).toThrow("f: expected a file name of at most 1024 characters, got 1025");
  });
});
