#!/usr/bin/env bash
# CI self-check: the test command must be able to fail. Each canary runs vitest with the project's configuration
# and global setup (which starts the embedded PostgreSQL, where an exit hook once turned every failure into exit 0):
# a failing test, an unimportable test file and a throwing global setup must each exit non-zero; a passing file, 0.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() { npx --no-install vitest run --config test/canary/vitest.config.ts "$@" >"$log" 2>&1; }

expect_exit() {
  local want=$1 what=$2
  shift 2
  run "$@"
  local rc=$?
  if { [ "$want" = zero ] && [ $rc -ne 0 ]; } || { [ "$want" = nonzero ] && [ $rc -eq 0 ]; }; then
    echo "test-canary: FAILED: $what exited $rc (expected $want). vitest printed:"
    tail -40 "$log"
    exit 1
  fi
  echo "test-canary: ok: $what exited $rc"
}

expect_exit zero "a passing test" test/canary/passes.canary.ts
expect_exit nonzero "a failing test" test/canary/fails.canary.ts
expect_exit nonzero "an unimportable test file" test/canary/import-error.canary.ts
CANARY_GLOBAL_SETUP_THROWS=1 expect_exit nonzero "a throwing global setup" test/canary/passes.canary.ts
