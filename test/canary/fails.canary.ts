// Deliberately failing: the CI self-check (scripts/test-canary.sh) requires vitest to exit non-zero on it.
import { expect, it } from "vitest";

it("fails on purpose", () => {
  expect(1).toBe(2);
});
