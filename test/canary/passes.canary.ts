// The control of the CI self-check: with the same configuration and global setup, a passing file exits 0, so the
// non-zero exits of the other canaries come from their failures and not from a broken configuration.
import { expect, it } from "vitest";
import { inject } from "vitest";

it("passes, with the embedded PostgreSQL of the global setup provided", () => {
  expect(inject("pgServer").port).toBeGreaterThan(0);
});
