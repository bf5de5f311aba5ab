#!/usr/bin/env bash
# The whole test suite, on a fresh machine (Rust, gcc, make, python3 and PyPI access):
#   0. installs the Debian packages of scripts/deps.sh when missing (as root),
#   1. starts a loopback Kafka-protocol broker (scripts/kafka-broker.sh; reused if running),
#   2. runs `cargo test --release` with the broker required (no Kafka test may skip),
#   3. validates deploy/ offline (scripts/validate-deploy.sh: hadolint, Kubernetes schemas,
#      systemd-analyze, the example config through `nhid run --check-config`),
#   4. stops the broker it started.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test kafka`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

started=0
if ! scripts/kafka-broker.sh status >/dev/null 2>&1; then
  started=1
fi
eval "$(scripts/kafka-broker.sh start)"
export NHID_TEST_KAFKA NHID_TANSU_BIN NHID_REQUIRE_KAFKA=1
stop() { if [[ $started == 1 ]]; then scripts/kafka-broker.sh stop; fi; }
trap stop EXIT

echo "== cargo test --release (broker $NHID_TEST_KAFKA)"
cargo test --release "$@"

if [[ $# -eq 0 ]]; then
  echo "== deploy/ validation"
  NHID_BIN=target/release/nhid scripts/validate-deploy.sh
fi
