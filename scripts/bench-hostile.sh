#!/usr/bin/env bash
# The "hostile input" figures of BENCHMARKS.md (issue 15): floods through the release binary
# with default settings, peak RSS by /usr/bin/time (replay) and /proc VmHWM (daemon restore).
#   1. 2,000,000 distinct IAM users, one call each   (the default budget must hold it < 1 GiB)
#   2. 1,000,000 outside principals, refused calls   (no detail part for never-let-in identities)
#   3. one identity reading 300,000 random 2 KB ids  (labels bounded by bytes)
#   4. the daemon on flood 1 with a state dir: snapshot at SIGTERM, then a restart's peak RSS
# Usage: scripts/bench-hostile.sh [WORKDIR]   (needs ~3 GB of disk in WORKDIR, default /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp}/nhid-hostile
mkdir -p "$W"
cargo build --release --bin nhid >/dev/null
NHID=$PWD/target/release/nhid
gen() { [[ -s $W/$1.jsonl ]] || python3 scripts/hostile-input.py "$1" "$2" > "$W/$1.jsonl"; }
gen identities 2000000
gen outsiders 1000000
gen values 300000
for f in identities outsiders values; do
  /usr/bin/time -f "$f: peak RSS %M KiB, %e s" "$NHID" replay "$W/$f.jsonl" >/dev/null 2>"$W/$f.err"
  tail -1 "$W/$f.err"
  grep -E "^nhid replay|memory budget" "$W/$f.err" | sed 's/^/    /'
done

# Daemon: ingest flood 1 with snapshots, stop (final snapshot), restart and read its peak.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$W/state"
cat > "$W/daemon.toml" <<TOML
[[sources]]
type = "file"
paths = ["$W/identities.jsonl"]
[state]
dir = "$W/state"
[server]
listen = "127.0.0.1:$port"
[[sinks]]
type = "file"
name = "all"
path = "$W/alerts.jsonl"
TOML
metric() { curl -s "127.0.0.1:$port/metrics" | awk -v m="$1" '$1==m {print $2}'; }
"$NHID" run --config "$W/daemon.toml" 2>"$W/daemon.log" & pid=$!
until [[ "$(metric nhid_records_processed)" == "2e+06" || "$(metric nhid_records_processed)" == "2000000" ]]; do sleep 1; done
echo "daemon: ingested 2,000,000 records, VmHWM $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status), state $(metric nhid_state_bytes) bytes accounted"
kill -TERM $pid; wait $pid || true
ls -l "$W/state/nhid.snapshot" | awk '{print "snapshot: " $5 " bytes"}'
"$NHID" run --config "$W/daemon.toml" 2>>"$W/daemon.log" & pid=$!
until curl -sf "127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
echo "restart: restored, VmHWM $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status), VmRSS $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
kill -TERM $pid; wait $pid || true
