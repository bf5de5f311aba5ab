//! `nhid run` end to end with file sources (the Kafka-broker tests are separate): the daemon's
//! alerts equal `nhid replay`'s on the same records; SIGTERM drains, snapshots and exits 0
//! promptly; a restart restores the state and neither relearns nor repeats alerts; /metrics
//! counts exactly; `nhid state inspect` / `forget` read and edit the snapshot; a bad config
//! lists every problem with exit 2.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{free_port, http_get, log_tail, replay, uids, Daemon, BIN, ROOT};

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

#[test]
fn daemon_matches_replay_survives_restart_and_reports_metrics() {
    let dir = tempfile::tempdir().unwrap();
    // The demo plus two bad records, to see them counted and dead-lettered.
    let input = dir.path().join("in.jsonl");
    let mut data = std::fs::read_to_string(format!("{ROOT}/examples/demo.jsonl")).unwrap();
    data.push_str("{not json\n{\"some\":\"unknown format\"}\n");
    std::fs::write(&input, &data).unwrap();
    let replay_path = dir.path().join("replay.jsonl");
    std::fs::write(&replay_path, replay(&input)).unwrap();
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

    let mut d = Daemon::start(&cfg, port, Duration::from_secs(30));
    // Wait until the input is processed (the record gauge reaches every line).
    let lines = data.lines().filter(|l| !l.trim().is_empty()).count();
    let metrics = d.wait_metrics(&format!("nhid_records_processed {lines}"));
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
    let took = d.sigterm_and_wait();
    assert!(took < Duration::from_secs(10));
    assert!(dir.path().join("state/nhid.snapshot").is_file());

    // Restart: state restored, input already consumed -> no new alert, no relearning.
    let mut d = Daemon::start(&cfg, port, Duration::from_secs(30));
    let m = d.wait_metrics("nhid_records_processed ");
    // Restored from the snapshot, and nothing re-read.
    assert!(
        m.contains(&format!("nhid_records_processed {lines}\n")),
        "{m}"
    );
    d.sigterm_and_wait();
    assert_eq!(uids(&dir.path().join("alerts.jsonl")).len(), expected.len());

    // A second input with the same records, same state: the first-seen rules stay quiet
    // (nothing is new any more); only repeats of ongoing findings may update.
    let input2 = dir.path().join("again.jsonl");
    std::fs::write(&input2, &data).unwrap();
    let port2 = free_port();
    let cfg2 = write_config(dir.path(), port2, &input2.display().to_string());
    let mut d = Daemon::start(&cfg2, port2, Duration::from_secs(30));
    d.wait_metrics(&format!("nhid_records_processed {}", 2 * lines));
    d.sigterm_and_wait();
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
    let mut bytes = b"NHIDSNAP".to_vec();
    bytes.extend_from_slice(&nhid::state::VERSION.to_le_bytes());
    bytes.extend_from_slice(b"garbage");
    std::fs::write(st.join("nhid.snapshot"), bytes).unwrap();
    let out = Command::new(BIN)
        .args(["state", "inspect", "--state"])
        .arg(&st)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
}

#[test]
fn snapshot_of_another_format_version_is_ignored_and_the_daemon_relearns() {
    // An upgrade: the state dir holds a snapshot written by another nhid format version. The
    // daemon must start, warn, relearn, and lose no record or alert (same as replay).
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::copy(format!("{ROOT}/examples/demo.jsonl"), &input).unwrap();
    let replay_path = dir.path().join("replay.jsonl");
    std::fs::write(&replay_path, replay(&input)).unwrap();
    let expected: BTreeSet<_> = uids(&replay_path).into_iter().collect();
    let st = dir.path().join("state");
    std::fs::create_dir_all(&st).unwrap();
    let mut old = b"NHIDSNAP".to_vec();
    old.extend_from_slice(&(nhid::state::VERSION - 1).to_le_bytes());
    old.extend_from_slice(b"an older body");
    std::fs::write(st.join("nhid.snapshot"), old).unwrap();

    let port = free_port();
    let cfg = write_config(dir.path(), port, &input.display().to_string());
    let mut d = Daemon::start(&cfg, port, Duration::from_secs(30));
    let lines = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    d.wait_metrics(&format!("nhid_records_processed {lines}"));
    let got: BTreeSet<_> = uids(&dir.path().join("alerts.jsonl")).into_iter().collect();
    assert_eq!(
        got, expected,
        "alerts after ignoring the old snapshot differ from replay's"
    );
    d.sigterm_and_wait();
    let log = std::fs::read_to_string(&d.log).unwrap_or_default();
    assert!(
        log.contains("snapshot of another nhid version ignored"),
        "{}",
        log_tail(&d.log)
    );
    // The daemon wrote a snapshot of the current version over it.
    let snap = std::fs::read(st.join("nhid.snapshot")).unwrap();
    assert_eq!(&snap[8..12], &nhid::state::VERSION.to_le_bytes());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn rules_loaded(m: &str) -> Option<u64> {
    m.lines()
        .find_map(|l| l.strip_prefix("nhid_rules_loaded "))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn rule_changes_reload_on_sighup_and_by_watching_and_a_bad_pack_keeps_the_old_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    copy_dir(Path::new(&format!("{ROOT}/detections")), &rules);
    let input = dir.path().join("in.jsonl");
    std::fs::copy(format!("{ROOT}/examples/demo.jsonl"), &input).unwrap();
    let port = free_port();
    let cfg = write_config(dir.path(), port, &input.display().to_string());
    let inventory = dir.path().join("inventory.csv");
    std::fs::copy(format!("{ROOT}/examples/inventory.csv"), &inventory).unwrap();
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "\n[detections]\ndir = \"{}\"\nwatch = true\n\n[inventory]\npath = \"{}\"\n",
        rules.display(),
        inventory.display()
    ));
    std::fs::write(&cfg, text).unwrap();
    let d = Daemon::start(&cfg, port, Duration::from_secs(30));
    let m = d.wait_metrics("nhid_rules_loaded ");
    let n = rules_loaded(&m).unwrap();
    assert!(n >= 20, "{m}");

    // A broken rule file: refused (by the watcher), the old rules stay active.
    std::fs::write(rules.join("standard/broken.yml"), "id: [unclosed\n").unwrap();
    let m = d.wait_metrics("nhid_reloads_total{result=\"refused\"} 1");
    assert_eq!(rules_loaded(&m), Some(n));
    let log = std::fs::read_to_string(&d.log).unwrap();
    assert!(
        log.contains("broken.yml"),
        "the refusal names the file:\n{log}"
    );

    // Fixed: one more valid rule (a copy of a bundled one under a new id) is picked up.
    std::fs::remove_file(rules.join("standard/broken.yml")).unwrap();
    let src = std::fs::read_to_string(rules.join("aws/cloudtrail_tampering.yml")).unwrap();
    let id_line = src.lines().find(|l| l.starts_with("id:")).unwrap();
    std::fs::write(
        rules.join("aws/cloudtrail_tampering_copy.yml"),
        src.replacen(id_line, "id: aws.cloudtrail_tampering_copy", 1),
    )
    .unwrap();
    let m = d.wait_metrics_until(Duration::from_secs(30), |m| rules_loaded(m) == Some(n + 1));
    assert!(m.contains("nhid_reloads_total{result=\"ok\"} 1"), "{m}");

    // SIGHUP reloads too.
    let ok = Command::new("kill")
        .args(["-HUP", &d.child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    d.wait_metrics("nhid_reloads_total{result=\"ok\"} 2");

    // The inventory reloads with them: a bad file keeps the previous one (4 entries) ...
    let m = d.wait_metrics("nhid_inventory_entries 4");
    assert!(
        m.contains("nhid_alerts_total{rule=\"standard.orphan_nhi\""),
        "{m}"
    );
    std::fs::write(
        &inventory,
        "identity,owner,criticality\narn:x,alice,urgent\n",
    )
    .unwrap();
    let m = d.wait_metrics("nhid_inventory_reloads_total{result=\"refused\"} 1");
    assert!(m.contains("nhid_inventory_entries 4\n"), "{m}");
    // ... and a good one replaces it.
    let mut good = std::fs::read_to_string(format!("{ROOT}/examples/inventory.csv")).unwrap();
    good.push_str(",,a1b2c3d4-demo-app,,dave@example.com,identity-team,,high,prod,,,,,,,\n");
    std::fs::write(&inventory, good).unwrap();
    d.wait_metrics("nhid_inventory_entries 5");
}

#[test]
fn the_example_config_passes_check_config_with_host_paths_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let example = format!("{ROOT}/deploy/nhid.toml");
    let ok = Command::new(BIN)
        .args(["run", "--check-config", "--config", &example])
        .env(
            "NHID_GEOIP__CITY",
            format!("{ROOT}/examples/geoip/test-city.mmdb"),
        )
        .env(
            "NHID_GEOIP__ASN",
            format!("{ROOT}/examples/geoip/test-asn.mmdb"),
        )
        .env("NHID_STATE__DIR", format!("{d}/state"))
        .env("NHID_DEAD_LETTER__PATH", format!("{d}/dead.jsonl"))
        .env("NHID_SINKS__0__PATH", format!("{d}/alerts.jsonl"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // As shipped, the host paths it names do not exist here: every one is reported, exit 2.
    let bad = Command::new(BIN)
        .args(["run", "--check-config", "--config", &example])
        .env("NHID_STATE__DIR", format!("{d}/state"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    for needle in [
        "geoip.city",
        "geoip.asn",
        "dead_letter.path",
        "sinks[0].path",
    ] {
        assert!(err.contains(needle), "missing {needle}: {err}");
    }
}

#[path = "common/http_server.rs"]
mod http_server;

#[test]
fn daemon_delivers_every_alert_to_http_sinks_and_dead_letters_what_a_receiver_refuses() {
    use http_server::{Resp, TestServer};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::copy(format!("{ROOT}/examples/demo.jsonl"), &input).unwrap();
    let replay_path = dir.path().join("replay.jsonl");
    std::fs::write(&replay_path, replay(&input)).unwrap();
    let expected: BTreeSet<String> = uids(&replay_path).into_iter().map(|k| k.3).collect();

    // A SOAR that is busy at first, and an Elasticsearch that refuses one document for good.
    let soar = TestServer::start(|_, i| {
        if i < 2 {
            Resp::json(503, "{}")
        } else {
            Resp::json(202, "{}")
        }
    });
    let es = TestServer::start(|r, _| {
        let n = String::from_utf8_lossy(&r.body).lines().count() / 2;
        let items: Vec<String> = (0..n)
            .map(|k| {
                let status = if k == 0 { 400 } else { 201 };
                format!(r#"{{"index":{{"status":{status},"error":{{"type":"x","reason":"y"}}}}}}"#)
            })
            .collect();
        Resp::json(
            200,
            &format!(r#"{{"errors":true,"items":[{}]}}"#, items.join(",")),
        )
    });
    let port = free_port();
    let cfg = write_config(dir.path(), port, &input.display().to_string());
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        r#"
[[sinks]]
type = "webhook"
name = "soar"
url = "{}/hook"
hmac_key = "k"
retry_backoff = "10ms"

[[sinks]]
type = "elastic"
name = "es"
url = "{}"
batch_max = 1000
dead_letter = "es-dead.jsonl"
"#,
        soar.url(),
        es.url()
    ));
    std::fs::write(&cfg, text).unwrap();
    let mut d = Daemon::start(&cfg, port, Duration::from_secs(30));
    let m = d.wait_metrics("nhid_sink_alerts_total{sink=\"es\"}");
    d.sigterm_and_wait();

    // The key is UID:SEQ (every alert of the demo is a first version).
    let hooked: BTreeSet<String> = soar
        .requests()
        .iter()
        .filter_map(|r| r.header("idempotency-key"))
        .filter_map(|k| k.strip_suffix(":1").map(str::to_string))
        .collect();
    assert_eq!(
        hooked, expected,
        "every alert reached the SOAR (after two 503s)"
    );
    let dead = std::fs::read_to_string(dir.path().join("es-dead.jsonl")).unwrap();
    assert_eq!(dead.lines().count(), 1, "{dead}");
    assert!(
        m.contains("nhid_sink_dead_letters_total{sink=\"es\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("nhid_sink_retries_total{sink=\"soar\"} 2"),
        "{m}"
    );
}
