#!/usr/bin/env bash
# End-to-end throughput through a real broker: records produced to a topic, consumed by
# `nhid run` (consumer group, full rule pack, file sink, snapshots), every alert delivered.
#
#   scripts/bench-kafka.sh [EVENTS]      (default 1000000)
#
# Steps: build; start the loopback broker (scripts/kafka-broker.sh); generate the nhid-gen
# scenario used for the replay figure in BENCHMARKS.md (seed 7, 300 identities, 14 days, 4
# sources); produce it to a fresh 4-partition topic keyed by identity (`nhid produce`, timed);
# start the daemon and time from its first consumed message to the last one (the group join
# before it is excluded and reported apart); report events/s, MB/s and the daemon's peak RSS.
# `nhid replay` on the same file runs first, for the figure to compare with.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${1:-1000000}"
WORK=target/bench-kafka
mkdir -p "$WORK"
rm -rf "$WORK/state" "$WORK"/alerts.jsonl "$WORK"/*.log

cargo build --release --quiet --bins
eval "$(scripts/kafka-broker.sh start)"
BROKER="$NHID_TEST_KAFKA"

DATA="$WORK/events-$EVENTS.jsonl"
if [[ ! -s "$DATA" ]]; then
  target/release/nhid-gen --seed 7 --identities 300 --days 14 --events "$EVENTS" --attacks \
    --output "$DATA" 2>/dev/null
fi
RECORDS=$(wc -l <"$DATA")
BYTES=$(stat -c %s "$DATA")
echo "data: $RECORDS records, $((BYTES / 1000000)) MB ($DATA)"

echo "== replay (reference)"
TIME=()
[[ -x /usr/bin/time ]] && TIME=(/usr/bin/time -f "replay: %e s wall, %M KB max RSS")
t0=$(date +%s.%N)
"${TIME[@]}" target/release/nhid replay \
  --geoip-city examples/geoip/test-city.mmdb --geoip-asn examples/geoip/test-asn.mmdb \
  "$DATA" >/dev/null 2>"$WORK/replay.log" || { cat "$WORK/replay.log"; exit 1; }
echo "replay: $(python3 -c "print(f'{$(date +%s.%N) - $t0:.2f}')") s"
grep -E "^replay:|^nhid replay:" "$WORK/replay.log" || true

TOPIC="bench-$(date +%s)-$$"
echo "== produce to $TOPIC (4 partitions)"
target/release/nhid produce --brokers "$BROKER" --topic "$TOPIC" --partitions 4 "$DATA"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/nhid.toml" <<EOF
[[sources]]
type = "kafka"
brokers = "$BROKER"
group_id = "$TOPIC-group"
topics = ["$TOPIC"]
start_from = "earliest"
# Tansu's first group assignment waits about half the session timeout (23 s at librdkafka's
# default of 45 s); the join is excluded from the figure anyway.
properties = { "session.timeout.ms" = "6000"${NHID_BENCH_PROPS:+, $NHID_BENCH_PROPS} }

[geoip]
city = "$PWD/examples/geoip/test-city.mmdb"
asn = "$PWD/examples/geoip/test-asn.mmdb"

[state]
dir = "$PWD/$WORK/state"

[server]
listen = "127.0.0.1:$PORT"

[[sinks]]
type = "file"
path = "$PWD/$WORK/alerts.jsonl"
EOF

echo "== nhid run"
${NHID_BENCH_WRAP:-} target/release/nhid run --config "$WORK/nhid.toml" 2>"$WORK/daemon.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true' EXIT
python3 - "$PORT" "$RECORDS" "$BYTES" "$PID" "$(cat target/kafka-run/pid)" <<'PY'
import os, sys, time, urllib.request
port, records, size, pid, broker = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
HZ = os.sysconf("SC_CLK_TCK")
def cpu(p):
    # utime + stime of every thread of process p, in seconds
    f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ
def received():
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except Exception:
        return None, ""
    n = sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines()
            if l.startswith("nhid_messages_received_total{"))
    return int(n), body
t0 = time.time()
first = None
while True:
    n, body = received()
    now = time.time()
    if n and first is None:
        first = (now, n)
        cpu0 = (cpu(pid), cpu(broker))
    if n is not None and n >= records:
        break
    if now - t0 > 1800:
        sys.exit(f"timed out at {n} of {records}")
    time.sleep(0.02)
end = time.time()
cpu1 = (cpu(pid), cpu(broker))
# Alerts are delivered per batch before the next poll; read the final count after a moment.
time.sleep(1.5)
_, body = received()
alerts = sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines() if l.startswith("nhid_alerts_total{"))
hwm = [l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")][0]
# Arrival at the consumer to every sink's acceptance, over the whole run (at saturation).
lat = {l.split('"')[1]: float(l.rsplit(" ", 1)[1]) for l in body.splitlines()
       if l.startswith("nhid_delivery_latency_seconds{quantile=")}
span = end - first[0]
print(f"group join + first fetch: {first[0] - t0:.1f} s")
print(f"consumed {records - first[1]} records after the first poll in {span:.2f} s: "
      f"{(records - first[1]) / span:,.0f} events/s, {size / 1e6 * (records - first[1]) / records / span:,.0f} MB/s; "
      f"{alerts:.0f} alerts; peak RSS {int(hwm) / 1024:.1f} MB")
print(f"CPU meanwhile: nhid {cpu1[0] - cpu0[0]:.1f} s ({(cpu1[0] - cpu0[0]) / span:.0%} of a core), "
      f"broker {cpu1[1] - cpu0[1]:.1f} s ({(cpu1[1] - cpu0[1]) / span:.0%}); "
      f"nhid {(cpu1[0] - cpu0[0]) * 1e6 / (records - first[1]):.1f} µs CPU per event (all its threads)")
print("delivery latency (arrival to every sink's acceptance, saturated): "
      + ", ".join(f"p{float(q) * 100:g} {v * 1000:.1f} ms" for q, v in sorted(lat.items())))
PY
kill -TERM $PID
wait $PID
echo "daemon stopped cleanly"
