// Deliberately unimportable: a test file that cannot be loaded must fail the run, not vanish from it.
import { it } from "vitest";
// @ts-expect-error the module does not exist, on purpose
import { nothing } from "./this-module-does-not-exist.js";

it("never runs", () => {
  nothing();
});
