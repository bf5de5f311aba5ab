//! Hostile input against the release binary: decoys around the storm breaker, and floods
//! against the memory budget (issue 15). Records are written here; nothing names a dataset.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `nhid replay` with `extra` options over `file`; its whole output.
fn replay(file: &std::path::Path, extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = extra.iter().map(std::ffi::OsStr::new).collect();
    args.push(file.as_os_str());
    common::replay_output(&args)
}

fn alerts(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn rules_of(a: &Value) -> Vec<String> {
    let fi = &a["finding_info"];
    std::iter::once(&fi["analytic"])
        .chain(fi["related_analytics"].as_array().into_iter().flatten())
        .filter_map(|r| r["uid"].as_str().map(str::to_string))
        .collect()
}

const BASE: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn time(secs: i64) -> String {
    let t = BASE + secs;
    let (d, s) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Days from 2026-01-01 (all within January-February 2026 here).
    let day = d - BASE / 86_400;
    let (month, dom) = if day < 31 {
        (1, day + 1)
    } else {
        (2, day - 30)
    };
    format!(
        "2026-{month:02}-{dom:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn iam_user(name: &str, secs: i64, ip: &str, ua: &str, op: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{name}"),
            "arn": format!("arn:aws:iam::111122223333:user/{name}"), "accountId": "111122223333",
            "accessKeyId": format!("AKIA{name}"), "userName": name},
        "eventTime": time(secs), "eventSource": "s3.amazonaws.com", "eventName": op,
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": ua,
        "requestParameters": {"bucketName": "data"}, "responseElements": null,
        "eventID": format!("{name}-{secs}"), "readOnly": true, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
}

fn outsider(session: &str, secs: i64, ua: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AWSAccount", "principalId": format!("AROAOUTSIDE:{session}"),
            "accountId": "999988887777"},
        "eventTime": time(secs), "eventSource": "iam.amazonaws.com", "eventName": "ListUsers",
        "awsRegion": "us-east-1", "sourceIPAddress": "185.220.100.7", "userAgent": ua,
        "errorCode": "AccessDenied", "errorMessage": "not authorized",
        "requestParameters": null, "responseElements": null,
        "eventID": format!("{session}-{secs}"), "readOnly": true, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
}

const CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/5.10 exe/x86_64.amzn.2";
const SQLMAP: &str = "sqlmap/1.7.2#stable (https://sqlmap.org)";

/// Eight days of a job's calls from one cloud network: a baseline of its own.
fn history(w: &mut impl Write, name: &str) {
    for k in 0..100 {
        let r = iam_user(name, k * 7200, "3.5.1.10", CLI, "GetObject");
        writeln!(w, "{r}").unwrap();
    }
}

/// Thirty fresh outside principals calling with an offensive client make a wave; the victim,
/// an established identity, calls with the same client inside it. Its own finding must be its
/// own alert, not folded into the decoys' storm (it was: storms counted per rule only).
#[test]
fn decoys_do_not_hide_the_victim() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decoys.jsonl");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    history(&mut w, "svc-victim");
    let at = 8 * 86_400 + 3600;
    for i in 0..30 {
        writeln!(
            w,
            "{}",
            outsider(&format!("decoy{i:02}"), at + i * 5, SQLMAP)
        )
        .unwrap();
    }
    let r = iam_user("svc-victim", at + 200, "3.5.1.10", SQLMAP, "GetObject");
    writeln!(w, "{r}").unwrap();
    drop(w);
    let all = alerts(&replay(&path, &[]));
    let victim: Vec<&Value> = all
        .iter()
        .filter(|a| a["actor"]["user"]["uid"] == "arn:aws:iam::111122223333:user/svc-victim")
        .collect();
    assert!(
        victim.iter().any(
            |a| rules_of(a).contains(&"standard.pentest_client".to_string())
                && a["unmapped"]["nhid"]["storm"].is_null()
        ),
        "the victim's offensive-client call has an alert of its own: {victim:#?}"
    );
    // No storm alert folds the victim.
    for a in &all {
        if let Some(s) = a["unmapped"]["nhid"]["storm"]["sample"].as_array() {
            assert!(
                !s.iter().any(|k| k.as_str().unwrap().contains("svc-victim")),
                "{a:#}"
            );
        }
    }
}

/// A genuine storm: thirty established jobs move to one new network operator at once (a
/// provider re-IP). Their single-anomaly `new_asn` findings fold into one storm alert that says
/// what they share; an identity whose call also brings a client new to it is not hidden.
#[test]
fn a_shared_new_value_storms_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reip.jsonl");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..40 {
        history(&mut w, &format!("job-{i:02}"));
    }
    let at = 8 * 86_400 + 3600;
    for i in 0..40 {
        let r = iam_user(
            &format!("job-{i:02}"),
            at + i * 3,
            "64.124.0.9",
            CLI,
            "GetObject",
        );
        writeln!(w, "{r}").unwrap();
    }
    drop(w);
    let out = replay(&path, &["--no-incidents"]);
    let all = alerts(&out);
    let new_asn: Vec<&Value> = all
        .iter()
        .filter(|a| rules_of(a) == ["standard.new_asn"])
        .collect();
    let storms: Vec<&Value> = new_asn
        .iter()
        .copied()
        .filter(|a| !a["unmapped"]["nhid"]["storm"].is_null())
        .collect();
    assert!(!storms.is_empty(), "a storm alert: {new_asn:#?}");
    let shared = storms[0]["unmapped"]["nhid"]["storm"]["shared"]
        .as_str()
        .unwrap();
    assert!(shared.contains("AS6461"), "{shared}");
    assert!(
        new_asn.len() < 40,
        "{} new_asn alerts: the storm folds the wave",
        new_asn.len()
    );
}

/// The numbers of the summary's memory-budget line.
fn budget_line(out: &Output) -> (String, String) {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let line = err
        .lines()
        .find(|l| l.contains("memory budget:"))
        .unwrap_or_else(|| panic!("no memory budget line: {err}"))
        .to_string();
    (line, err)
}

fn identities_of(stderr: &str) -> usize {
    let head = stderr.lines().next().unwrap();
    let before = head.split(" identities (").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

fn flood(kind: &str, n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = std::fs::File::create(dir.path().join("flood.jsonl")).unwrap();
    let st = Command::new("python3")
        .arg(root().join("scripts/hostile-input.py"))
        .args([kind, &n.to_string()])
        .stdout(out)
        .status()
        .unwrap();
    assert!(st.success());
    dir
}

/// 30,000 distinct identities against a budget of 2,000: the table never holds more, the
/// evicted leave markers, and the run says so.
#[test]
fn identity_flood_stays_within_max_identities() {
    let dir = flood("identities", 30_000);
    let out = replay(
        &dir.path().join("flood.jsonl"),
        &["--max-identities", "2000"],
    );
    let (line, err) = budget_line(&out);
    assert!(identities_of(&err) <= 2000, "{err}");
    assert!(line.contains("identities evicted"), "{line}");
    let evicted: usize = line
        .split("memory budget: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(evicted >= 28_000, "{line}");
}

/// One identity reading 20,000 random 2 KB secret ids with an 8 MiB budget: value labels stay
/// within their eighth of it (they grew by 2 KB a value, without bound), by compaction.
#[test]
fn value_flood_keeps_labels_within_budget() {
    let dir = flood("values", 20_000);
    let out = replay(
        &dir.path().join("flood.jsonl"),
        &["--max-state-bytes", "8388608"],
    );
    let (line, _) = budget_line(&out);
    let kib: usize = line
        .split(" label(s) (~")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .trim_end_matches("KiB),")
        .parse()
        .unwrap();
    assert!(kib <= 1024, "labels within 1 MiB: {line}");
}
