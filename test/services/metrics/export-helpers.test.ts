import { describe, expect, it } from "vitest";
import { toCsv } from "../../../src/services/metrics/export.js";
import { globToLike } from "../../../src/services/metrics/recognizability-service.js";

describe("export and filter helpers", () => {
  it("writes RFC 4180 CSV: quoting, nulls, non-finite numbers", () => {
    expect(toCsv(["a", "b", "c"], [["x,y", 'say "hi"', null], [0.1, Number.NaN, true]])).toBe(
      'a,b,c\n"x,y","say ""hi""",\n0.1,,true\n',
    );
  });

  it.each([
    ["natural_*", "natural\\_%"],
    ["input_after_preproc", "input\\_after\\_preproc"],
    ["100%", "100\\%"],
    ["*fake*", "%fake%"],
  ])("turns the glob %s into the LIKE pattern %s", (glob, like) => {
    expect(globToLike(glob)).toBe(like);
  });
});
