//! `nhid run` end to end with file sources (the Kafka-broker tests are separate): the daemon's
//! alerts equal `nhid replay`'s on the same records; SIGTERM drains, snapshots and exits 0
//! promptly; a restart restores the state and neither relearns nor repeats alerts; /metrics
//! counts exactly; `nhid state inspect` / `forget` read and edit the snapshot; a bad config
//! lists every problem with exit 2.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_nhid");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let code = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|x| x.1.to_string())?;
    Some((code, body))
}

fn wait_ready(port: u16, child: &mut Child) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("daemon exited early: {st}");
        }
        if http_get(port, "/readyz").is_some_and(|(c, _)| c == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("daemon not ready in 30 s");
}

/// Starts the daemon on `cfg` and waits until /readyz answers 200.
fn start(cfg: &Path, port: u16) -> (Child, Guard) {
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(cfg)
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let guard = Guard(child.id());
    wait_ready(port, &mut child);
    (child, guard)
}

/// Scrapes /metrics until it contains `needle` (30 s at most) and returns that scrape.
fn wait_metrics(port: u16, needle: &str) -> String {
    let t = Instant::now();
    loop {
        let (_, m) = http_get(port, "/metrics").unwrap();
        if m.contains(needle) {
            return m;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no `{needle}` in /metrics:\n{m}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills the daemon if a test fails before stopping it (no orphans holding the test's pipes).
struct Guard(u32);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.0.to_string()])
            .status();
    }
}

fn sigterm_and_wait(child: &mut Child) -> Duration {
    let t = Instant::now();
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "daemon exit status {st}");
            return t.elapsed();
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no exit within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn write_config(dir: &Path, port: u16, input: &str) -> std::path::PathBuf {
    let p = dir.join("nhid.toml");
    std::fs::write(
        &p,
        format!(
            r#"
[[sources]]
type = "file"
paths = ["{input}"]

[geoip]
city = "{ROOT}/examples/geoip/test-city.mmdb"
asn = "{ROOT}/examples/geoip/test-asn.mmdb"

[state]
dir = "state"

[dead_letter]
path = "dead.jsonl"

[server]
listen = "127.0.0.1:{port}"

[[sinks]]
type = "file"
path = "alerts.jsonl"

[[sinks]]
type = "file"
name = "high"
path = "high.jsonl"
min_severity = "high"
"#
        ),
    )
    .unwrap();
    p
}

fn uids(path: &Path) -> Vec<(String, String, i64, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["finding_info"]["analytic"]["uid"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                v["actor"]["user"]["uid"].as_str().unwrap_or("").to_string(),
                v["time"].as_i64().unwrap(),
                v["finding_info"]["uid"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn daemon_matches_replay_survives_restart_and_reports_metrics() {
    let dir = tempfile::tempdir().unwrap();
    // The demo plus two bad records, to see them counted and dead-lettered.
    let input = dir.path().join("in.jsonl");
    let mut data = std::fs::read_to_string(format!("{ROOT}/examples/demo.jsonl")).unwrap();
    data.push_str("{not json\n{\"some\":\"unknown format\"}\n");
    std::fs::write(&input, &data).unwrap();
    let replay = Command::new(BIN)
        .args([
            "replay",
            "--geoip-city",
            &format!("{ROOT}/examples/geoip/test-city.mmdb"),
            "--geoip-asn",
            &format!("{ROOT}/examples/geoip/test-asn.mmdb"),
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert!(replay.status.success());
    let replay_path = dir.path().join("replay.jsonl");
    std::fs::write(&replay_path, &replay.stdout).unwrap();
    let expected: BTreeSet<_> = uids(&replay_path).into_iter().collect();
    assert!(expected.len() >= 3);

    let port = free_port();
    let cfg = write_config(dir.path(), port, &input.display().to_string());
    let check = Command::new(BIN)
        .args(["run", "--check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let (mut child, _g) = start(&cfg, port);
    // Wait until the input is processed (the record gauge reaches every line).
    let lines = data.lines().filter(|l| !l.trim().is_empty()).count();
    let metrics = wait_metrics(port, &format!("nhid_records_processed {lines}"));
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);
    let got: Vec<_> = uids(&dir.path().join("alerts.jsonl"));
    let got_set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got_set, expected, "daemon alerts differ from replay's");
    assert_eq!(got.len(), expected.len(), "no duplicates");
    // Exact counts: alerts by rule sum to the alerts written; parse errors are the two bad lines.
    let alerts_total: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("nhid_alerts_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(alerts_total as usize, expected.len(), "{metrics}");
    let dead = std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap();
    assert_eq!(dead.lines().count(), 2, "{dead}");
    assert!(metrics.contains("nhid_identities "), "{metrics}");
    assert!(
        metrics.contains("nhid_delivery_latency_seconds_count"),
        "{metrics}"
    );
    // The high sink got only High and Critical.
    let high = std::fs::read_to_string(dir.path().join("high.jsonl")).unwrap();
    for l in high.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["severity_id"].as_u64().unwrap() >= 4);
    }
    let took = sigterm_and_wait(&mut child);
    assert!(took < Duration::from_secs(10));
    assert!(dir.path().join("state/nhid.snapshot").is_file());

    // Restart: state restored, input already consumed -> no new alert, no relearning.
    let (mut child, _g) = start(&cfg, port);
    let m = wait_metrics(port, "nhid_records_processed ");
    // Restored from the snapshot, and nothing re-read.
    assert!(
        m.contains(&format!("nhid_records_processed {lines}\n")),
        "{m}"
    );
    sigterm_and_wait(&mut child);
    assert_eq!(uids(&dir.path().join("alerts.jsonl")).len(), expected.len());

    // A second input with the same records, same state: the first-seen rules stay quiet
    // (nothing is new any more); only repeats of ongoing findings may update.
    let input2 = dir.path().join("again.jsonl");
    std::fs::write(&input2, &data).unwrap();
    let port2 = free_port();
    let cfg2 = write_config(dir.path(), port2, &input2.display().to_string());
    let (mut child, _g2) = start(&cfg2, port2);
    wait_metrics(port2, &format!("nhid_records_processed {}", 2 * lines));
    sigterm_and_wait(&mut child);
    let after = std::fs::read_to_string(dir.path().join("alerts.jsonl")).unwrap();
    let new_creates = after
        .lines()
        .skip(expected.len())
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["activity_id"] == 1 && v["finding_info"]["types"][0] == "new_value"
        })
        .count();
    assert_eq!(
        new_creates, 0,
        "first-seen alerts after a restart:\n{after}"
    );

    // state inspect / forget.
    let st = dir.path().join("state");
    let list = Command::new(BIN)
        .args(["state", "inspect", "--state"])
        .arg(&st)
        .output()
        .unwrap();
    assert!(list.status.success());
    let ids = String::from_utf8(list.stdout).unwrap();
    let first = ids.lines().next().unwrap().to_string();
    let one = Command::new(BIN)
        .args(["state", "inspect", "--state"])
        .arg(&st)
        .arg(&first)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["identity"], first.as_str());
    assert!(v["features"]["action"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    let f = Command::new(BIN)
        .args(["state", "forget", "--state"])
        .arg(&st)
        .arg(&first)
        .output()
        .unwrap();
    assert!(f.status.success(), "{}", String::from_utf8_lossy(&f.stderr));
    let list2 = Command::new(BIN)
        .args(["state", "inspect", "--state"])
        .arg(&st)
        .output()
        .unwrap();
    let ids2 = String::from_utf8(list2.stdout).unwrap();
    assert_eq!(ids2.lines().count(), ids.lines().count() - 1);
    assert!(!ids2.lines().any(|l| l == first));
}

#[test]
fn bad_config_lists_every_problem_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(
        &p,
        "[[sources]]\ntype = \"kafka\"\nbrokers = \"\"\ngroup_id = \"\"\ntopics = []\n[server]\nlisten = \"x\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["brokers", "group_id", "topics", "server.listen", "sinks"] {
        assert!(err.contains(needle), "missing {needle}: {err}");
    }
}

#[test]
fn damaged_snapshot_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("state");
    std::fs::create_dir_all(&st).unwrap();
    std::fs::write(st.join("nhid.snapshot"), b"NHIDSNAP\x01\x00\x00\x00garbage").unwrap();
    let out = Command::new(BIN)
        .args(["state", "inspect", "--state"])
        .arg(&st)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
}
