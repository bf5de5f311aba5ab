//! End-to-end `nhid replay` through the binary: the Invictus trail, bad input of every kind,
//! exit codes, and the bundled rule pack's lint and inline tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn nhid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nhid"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn alerts(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("stdout carries only JSON alert lines"))
        .collect()
}

fn invictus_files() -> Vec<String> {
    // File order (as listed), which is not event-time order: delivery files overlap.
    let mut v: Vec<String> = std::fs::read_dir(root().join("tests/fixtures/invictus/raw"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn labels() -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(root().join("tests/fixtures/invictus/labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["eventID"].as_str().unwrap().to_string(),
                v["label"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn invictus_stolen_instance_credentials_alert_and_terraform_is_quiet() {
    let files = invictus_files();
    // Rule by rule (which records raise which rules); incidents: the test after this one.
    let mut args = vec!["replay", "--no-incidents"];
    args.extend(files.iter().map(String::as_str));
    let out = nhid(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = alerts(&out);
    let labels = labels();
    let stolen: Vec<&Value> = alerts
        .iter()
        .filter(|a| {
            let id = a["evidences"][0]["data"]["record_id"]
                .as_str()
                .unwrap_or("");
            labels.get(id).map(String::as_str)
                == Some("attack:stolen_instance_role_credentials_used_off_instance")
        })
        .collect();
    assert!(
        !stolen.is_empty(),
        "no alert on the stolen instance credentials: {alerts:#?}"
    );
    let a = stolen[0];
    assert!(a["severity_id"].as_u64().unwrap() >= 3, "Medium or above");
    assert_eq!(a["class_uid"], 2004);
    assert_eq!(a["type_uid"], 200401);
    assert_eq!(a["metadata"]["version"], "1.5.0");
    // 2023-07-10T11:57:22Z
    assert_eq!(a["time"].as_i64().unwrap(), 1_688_990_242_000);
    assert!(a["actor"]["user"]["uid"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:iam::"));
    assert!(
        a["actor"]["user"]["uid"]
            .as_str()
            .unwrap()
            .contains(":role/"),
        "role, not session"
    );
    assert!(a["finding_info"]["uid"].as_str().unwrap().len() == 32);
    assert!(!a["finding_info"]["analytic"]["uid"]
        .as_str()
        .unwrap()
        .is_empty());
    // Explains itself: the observed network and the session's baseline.
    let an = a["anomaly_analyses"].as_array().unwrap();
    assert!(an
        .iter()
        .any(|x| x["analysis_targets"][0]["name"] == "network"));
    assert!(an.iter().all(|x| !x["baselines"][0]["observations"]
        .as_array()
        .unwrap()
        .is_empty()));
    // Which attack records raise which rules (new alerts, not updates).
    let created: Vec<&Value> = alerts.iter().filter(|a| a["activity_id"] == 1).collect();
    let rule_on = |rule: &str, action: &str, label: &str| {
        created.iter().any(|a| {
            let d = &a["evidences"][0]["data"];
            a["finding_info"]["analytic"]["uid"] == rule
                && d["action"] == action
                && labels
                    .get(d["record_id"].as_str().unwrap_or(""))
                    .is_some_and(|l| l == label)
        })
    };
    let det = "attack:stratus_detonation";
    assert!(rule_on(
        "aws.cloudtrail_tampering",
        "cloudtrail:PutEventSelectors",
        det
    ));
    assert!(rule_on(
        "aws.cloudtrail_tampering",
        "ec2:DeleteFlowLogs",
        det
    ));
    assert!(rule_on(
        "standard.pentest_client",
        "ec2:GetPasswordData",
        det
    ));
    assert!(rule_on(
        "standard.pentest_client",
        "organizations:LeaveOrganization",
        det
    ));
    assert!(rule_on(
        "standard.correlated_anomalies",
        "ec2:DeleteFlowLogs",
        det
    ));
    // Terraform setup / cleanup and background: at most 2 new Medium+ alerts (the Stratus
    // operator's first call carries the red-team tool's user agent, and the cleanup deletes a
    // trail). Repeats of attack findings may update alerts on such records, but raise no new one.
    let quiet: Vec<&Value> = created
        .iter()
        .copied()
        .filter(|a| {
            let id = a["evidences"][0]["data"]["record_id"]
                .as_str()
                .unwrap_or("");
            labels
                .get(id)
                .is_some_and(|l| l.starts_with("setup:") || l == "background")
                && a["severity_id"].as_u64().unwrap() >= 3
        })
        .collect();
    assert!(
        quiet.len() <= 2,
        "Terraform / background raised {} new alerts: {quiet:#?}",
        quiet.len()
    );
    // Updates keep the uid of the alert they update.
    for u in alerts.iter().filter(|a| a["activity_id"] == 2) {
        assert!(u["count"].as_u64().unwrap() >= 2);
        assert_eq!(u["type_uid"], 200402);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2900 record(s) read, 2900 parsed, 0 skipped"),
        "{stderr}"
    );
}

/// An alert's rules: its analytic and an incident's related analytics.
fn rules_of(a: &Value) -> Vec<String> {
    let fi = &a["finding_info"];
    std::iter::once(&fi["analytic"])
        .chain(fi["related_analytics"].as_array().into_iter().flatten())
        .filter_map(|r| r["uid"].as_str().map(str::to_string))
        .collect()
}

/// The records an alert cites (an incident cites its latest ones).
fn records_of(a: &Value) -> Vec<String> {
    a["evidences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["data"]["record_id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn invictus_detonation_is_one_incident_that_tells_the_story() {
    let files = invictus_files();
    let mut args = vec!["replay"];
    args.extend(files.iter().map(String::as_str));
    let out = nhid(&args);
    assert!(out.status.success());
    let alerts = alerts(&out);
    let labels = labels();
    let det = |a: &Value| {
        records_of(a).iter().any(|r| {
            labels
                .get(r)
                .is_some_and(|l| l == "attack:stratus_detonation")
        })
    };
    let on_det: Vec<&Value> = alerts.iter().filter(|a| det(a)).collect();
    // Stratus detonates each technique with a role of its own, so the detonation spans several
    // identities: one new alert per identity (its incident), the rest are versions of them.
    let mut created_by_identity: std::collections::BTreeMap<&str, usize> = Default::default();
    for a in on_det.iter().filter(|a| a["activity_id"] == 1) {
        *created_by_identity
            .entry(a["actor"]["user"]["uid"].as_str().unwrap())
            .or_default() += 1;
    }
    assert!(!created_by_identity.is_empty());
    assert!(
        created_by_identity.values().all(|&n| n == 1),
        "{created_by_identity:?}"
    );
    let finding_level = {
        let mut args = vec!["replay", "--no-incidents"];
        args.extend(files.iter().map(String::as_str));
        self::alerts(&nhid(&args))
            .iter()
            .filter(|a| det(a) && a["activity_id"] == 1)
            .count()
    };
    let created: usize = created_by_identity.values().sum();
    assert!(
        created < finding_level,
        "{created} vs {finding_level} without incidents"
    );
    let rules: std::collections::BTreeSet<String> =
        on_det.iter().flat_map(|a| rules_of(a)).collect();
    for r in ["aws.cloudtrail_tampering", "standard.pentest_client"] {
        assert!(rules.contains(r), "{r} missing from {rules:?}");
    }
    // Versions of one incident: sequence 1, 2, ... in order, activity 1 only for the first,
    // severity never falls, the timeline grows.
    let mut by_uid: std::collections::BTreeMap<&str, Vec<&Value>> = Default::default();
    for a in &alerts {
        by_uid
            .entry(a["finding_info"]["uid"].as_str().unwrap())
            .or_default()
            .push(a);
    }
    for (uid, versions) in &by_uid {
        for (k, v) in versions.iter().enumerate() {
            assert_eq!(v["metadata"]["sequence"], (k + 1) as u64, "{uid}");
            assert_eq!(v["activity_id"], if k == 0 { 1 } else { 2 }, "{uid}");
            if k > 0 {
                let prev = versions[k - 1];
                assert!(
                    v["severity_id"].as_u64() >= prev["severity_id"].as_u64(),
                    "{uid}"
                );
                if let (Some(a), Some(b)) = (
                    v["unmapped"]["nhid"]["incident"]["findings"].as_u64(),
                    prev["unmapped"]["nhid"]["incident"]["findings"].as_u64(),
                ) {
                    assert!(a >= b, "{uid}");
                }
            }
        }
    }
    // The story names the identity and its steps in order.
    let story = on_det
        .iter()
        .max_by_key(|a| a["metadata"]["sequence"].as_u64())
        .unwrap();
    let msg = story["message"].as_str().unwrap();
    assert!(
        msg.contains(story["actor"]["user"]["name"].as_str().unwrap()),
        "{msg}"
    );
    assert!(msg.contains(", then "), "{msg}");
    assert!(!story["unmapped"]["nhid"]["incident"]["timeline"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn demo_raises_one_alert_per_misuse_episode() {
    let out = nhid(&[
        "replay",
        "--geoip-city",
        "examples/geoip/test-city.mmdb",
        "--geoip-asn",
        "examples/geoip/test-asn.mmdb",
        "--inventory",
        "examples/inventory.csv",
        "examples/demo.jsonl",
    ]);
    assert!(out.status.success());
    let alerts = alerts(&out);
    let created: Vec<&Value> = alerts.iter().filter(|a| a["activity_id"] == 1).collect();
    // Five misuse episodes (examples/make_demo.py) and one posture finding per unowned
    // identity, which stays a standalone alert.
    let episodes: Vec<&&Value> = created
        .iter()
        .filter(|a| a["finding_info"]["analytic"]["uid"] != "standard.orphan_nhi")
        .collect();
    let identities: std::collections::BTreeSet<&str> = episodes
        .iter()
        .map(|a| a["actor"]["user"]["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        episodes.len(),
        5,
        "{:#?}",
        episodes.iter().map(|a| &a["message"]).collect::<Vec<_>>()
    );
    assert_eq!(identities.len(), 5);
    for a in &alerts {
        assert!(a["metadata"]["sequence"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn replay_is_deterministic_and_uids_are_stable() {
    let files = invictus_files();
    let mut args = vec!["replay"];
    args.extend(files.iter().map(String::as_str));
    let a = nhid(&args);
    let b = nhid(&args);
    assert_eq!(a.stdout, b.stdout);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

const GOOD: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/ci-deployer","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"ci-deployer"},"eventTime":"2024-03-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"3.5.1.10","userAgent":"aws-cli/2.15.0","eventID":"EID"}"#;

fn good(n: usize) -> String {
    GOOD.replace("EID", &format!("e-{n}"))
}

#[test]
fn bad_records_are_counted_reported_dead_lettered_and_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut jsonl = Vec::new();
    writeln!(jsonl, "{}", good(1)).unwrap();
    writeln!(jsonl, "{}", &good(2)[..120]).unwrap(); // truncated JSON
    writeln!(
        jsonl,
        "{}",
        good(3).replace("\"2024-03-01T00:00:00Z\"", "[1,2]")
    )
    .unwrap(); // wrong type
    writeln!(
        jsonl,
        "{}",
        good(4).replace("2024-03-01T00:00:00Z", "yesterday")
    )
    .unwrap(); // bad time
    writeln!(jsonl, "{{\"hello\":\"world\"}}").unwrap(); // unknown shape
    writeln!(
        jsonl,
        "{}",
        good(5).replace(r#""userIdentity":"#, r#""ignored":"#)
    )
    .unwrap(); // no actor
    jsonl.extend_from_slice(b"\x00\x01\x02\xff\xfe garbage \x80\n"); // binary garbage
    let mut huge = good(6).replace("\"eventID\"", "\"pad\":\"PAD\",\"eventID\"");
    huge = huge.replace("PAD", &"x".repeat(10 << 20)); // a 10 MB record
    writeln!(jsonl, "{huge}").unwrap();
    writeln!(jsonl, "{}", good(7)).unwrap();
    let input = write(dir.path(), "mixed.jsonl", &jsonl);
    let empty = write(dir.path(), "empty.json", b"");
    let dl = dir.path().join("dead.jsonl");
    let out = nhid(&[
        "replay",
        "--dead-letter",
        dl.to_str().unwrap(),
        &input,
        &empty,
    ]);
    assert_eq!(out.status.code(), Some(0), "input consumed: exit 0");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("9 record(s) read, 2 parsed, 7 skipped"),
        "{stderr}"
    );
    for reason in [
        "malformed_json: 2",
        "wrong_type: 1",
        "bad_time: 1",
        "unknown_format: 1",
        "missing_actor: 1",
        "too_large: 1",
    ] {
        assert!(
            stderr.contains(&format!("skipped {reason}")),
            "{reason} in {stderr}"
        );
    }
    assert!(
        stderr.contains("mixed.jsonl:2: malformed_json"),
        "file and line reported: {stderr}"
    );
    let dead: Vec<Value> = std::fs::read_to_string(&dl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dead.len(), 7);
    assert_eq!(dead[0]["line"], 2);
    assert_eq!(dead[0]["reason"], "malformed_json");
    let big = dead.iter().find(|d| d["reason"] == "too_large").unwrap();
    assert!(big["record_bytes"].as_u64().unwrap() > 10 << 20);
    assert_eq!(
        big["record_omitted"], true,
        "only the position and start are kept"
    );
    assert_eq!(big["nhid_dead_letter"], 1);
    assert_eq!(
        big["input"].as_str().map(|i| i.ends_with("mixed.jsonl")),
        Some(true)
    );
}

#[test]
fn gzip_batches_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let batch = format!("{{\"Records\":[{},{}]}}", good(1), good(2));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(batch.as_bytes()).unwrap();
    let p = write(dir.path(), "batch.json.gz", &gz.finish().unwrap());
    let out = nhid(&["replay", &p]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 record(s) read, 2 parsed"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_nhid"))
        .args(["replay", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("[{}]", good(3)).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 record(s) read, 1 parsed"));
}

#[test]
fn exit_codes() {
    // Unreadable input: 1, after the readable ones were consumed.
    let out = nhid(&[
        "replay",
        "tests/fixtures/otrf/ec2_proxy_s3_exfiltration_2020-09-14.normalized.jsonl",
        "/nonexistent/x.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("103 record(s) read"));
    // Usage and configuration errors: 2, with every error listed.
    let out = nhid(&[
        "replay",
        "--format",
        "syslog",
        "--learning-period",
        "soon",
        "x.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("--format") && e.contains("--learning-period"),
        "{e}"
    );
    assert_eq!(nhid(&["replay"]).status.code(), Some(2));
    assert_eq!(
        nhid(&["replay", "--geoip-city", "/nonexistent.mmdb", "x"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn bad_rule_files_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("aws")).unwrap();
    std::fs::write(
        dir.path().join("aws/broken.yml"),
        "id: aws.wrong_id\ntitle: t\ndescription: d\nseverity: urgent\nkind: match\nmatch:\n  - field: src.ip\n    cidr: [\"10.0.0.0/33\"]\n  - field: user_agent\n    regex: \"(unclosed\"\n  - field: nonsense\n    eq: x\nmitre: [X1]\nbogus: 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("aws/typo.yml"),
        "id: aws.typo\ntitle: t\ndescription: d\nseverity: low\nkind: match\nmatch:\n  - field: action\n    eq: s3:GetObject\nmitre: [T1078]\nbogus_key: 1\n",
    )
    .unwrap();
    let out = nhid(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("aws/typo.yml:10: invalid rule file"),
        "unknown field with line: {s}"
    );
    // broken.yml has `bogus` too: serde stops at the first unknown field, so it reports that.
    assert!(s.contains("aws/broken.yml:"), "{s}");
    // A replay with a broken pack refuses to start: exit 2.
    let out = nhid(&["replay", "--rules", dir.path().to_str().unwrap(), "x.json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn semantic_rule_problems_are_all_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yml"),
        "id: aws.wrong_id\ntitle: t\ndescription: d\nseverity: urgent\nkind: match\nmatch:\n  - field: src.ip\n    cidr: [\"10.0.0.0/33\"]\n  - field: user_agent\n    regex: \"(unclosed\"\n  - field: nonsense\n    eq: x\nmitre: [X1]\n",
    )
    .unwrap();
    let out = nhid(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    for want in [
        "broken.yml:1: id \"aws.wrong_id\" does not match its path",
        "broken.yml:4: unknown severity",
        "broken.yml:8: bad CIDR",
        "broken.yml:10: bad regex",
        "broken.yml:11: unknown field \"nonsense\"",
        "broken.yml:13: mitre:",
        "needs at least one firing test",
        "needs at least one quiet test",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
}

#[test]
fn bundled_rule_pack_is_clean_and_its_tests_pass() {
    let out = nhid(&["rules", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = nhid(&["rules", "test"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{s}");
    assert!(s.contains(" 0 failed"), "{s}");
}

#[test]
fn demo_command_prints_explained_alerts() {
    let out = nhid(&[
        "replay",
        "--no-incidents",
        "--geoip-city",
        "examples/geoip/test-city.mmdb",
        "--geoip-asn",
        "examples/geoip/test-asn.mmdb",
        "examples/demo.jsonl",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = alerts(&out);
    assert!(
        alerts.len() >= 3,
        "demo shows several alerts, got {}",
        alerts.len()
    );
    for a in &alerts {
        let kind = a["finding_info"]["types"][0].as_str().unwrap();
        assert!(!a["message"].as_str().unwrap().is_empty());
        if kind != "match" {
            // Baseline detectors explain observed vs baseline; composites list their findings.
            assert!(
                a["anomaly_analyses"]
                    .as_array()
                    .is_some_and(|v| !v.is_empty()),
                "{a:#}"
            );
        }
        if kind == "composite" {
            assert!(a["unmapped"]["nhid"]["related"].as_array().unwrap().len() >= 2);
        }
    }
    assert!(alerts
        .iter()
        .any(|a| a["message"].as_str().unwrap().contains("baseline")));
}

#[test]
fn rules_dir_replaces_the_bundled_pack() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("aws")).unwrap();
    std::fs::copy(
        root().join("detections/aws/instance_credentials_used_elsewhere.yml"),
        dir.path()
            .join("aws/instance_credentials_used_elsewhere.yml"),
    )
    .unwrap();
    let mut args = vec![
        "replay".to_string(),
        "--rules".into(),
        dir.path().to_string_lossy().into_owned(),
    ];
    args.extend(invictus_files());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = nhid(&args);
    assert!(out.status.success());
    let a = alerts(&out);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0]["finding_info"]["analytic"]["uid"],
        "aws.instance_credentials_used_elsewhere"
    );
    // An empty rules directory: records are parsed, nothing alerts.
    let empty = tempfile::tempdir().unwrap();
    let mut args = vec![
        "replay".to_string(),
        "--rules".into(),
        empty.path().to_string_lossy().into_owned(),
    ];
    args.extend(invictus_files());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = nhid(&args);
    assert!(out.status.success());
    assert!(alerts(&out).is_empty());
}

#[test]
fn a_condition_no_firing_test_pins_down_is_reported() {
    // The firing test has one matching and one non-matching record and expects one alert: with
    // the condition negated the other record fires instead, and the test still passes.
    let rec = |name: &str, src: &str| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/ci","accountId":"111122223333","accessKeyId":"AKIAX","userName":"ci"}},"eventTime":"2024-03-01T00:00:00Z","eventSource":"{src}.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"3.5.1.10","userAgent":"aws-cli/2.15.0","eventID":"{name}"}}"#
        )
    };
    let rule = format!(
        "id: aws.weak\ntitle: t\ndescription: d\nseverity: low\nkind: match\nmatch:\n  - field: action\n    eq: sts:GetCallerIdentity\nmitre: [T1087]\ntests:\n  - name: fires\n    events:\n      - record: {}\n      - record: {}\n    expect: {{alerts: 1}}\n  - name: quiet\n    events:\n      - record: {}\n    expect: {{alerts: 0}}\n",
        rec("GetCallerIdentity", "sts"),
        rec("ListBuckets", "s3"),
        rec("ListBuckets", "s3"),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("aws")).unwrap();
    std::fs::write(dir.path().join("aws/weak.yml"), rule).unwrap();
    let out = nhid(&["rules", "test", dir.path().to_str().unwrap()]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s.contains("ok   aws.weak :: fires"), "{s}");
    assert!(
        s.contains("FAIL aws.weak :: negating match[0] (action)"),
        "{s}"
    );
    assert!(s.contains("the condition is untested"), "{s}");
}

/// The allowlist: a reviewed exception mutes exactly what it names (and is counted); an
/// approval into the baseline makes the value known to every detector; a bad file is refused
/// with every problem and its line, before any input is read (exit 2).
#[test]
fn allowlist_mutes_approves_and_rejects_bad_files() {
    let root = root();
    let city = root.join("examples/geoip/test-city.mmdb");
    let asn = root.join("examples/geoip/test-asn.mmdb");
    let demo = root.join("examples/demo.jsonl");
    // Finding by finding: the allowlist acts on findings, before incidents group them.
    let base = [
        "replay",
        "--no-incidents",
        "--geoip-city",
        city.to_str().unwrap(),
        "--geoip-asn",
        asn.to_str().unwrap(),
    ];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        args.push(demo.to_str().unwrap());
        nhid(&args)
    };
    let count = |out: &Output, rule: &str, identity: &str| {
        alerts(out)
            .iter()
            .filter(|a| {
                a["finding_info"]["analytic"]["uid"] == rule
                    && a["actor"]["user"]["uid"] == identity
            })
            .count()
    };
    let okta = "okta:0oademo1billingsync";
    let plain = run(&[]);
    assert!(plain.status.success());
    assert_eq!(count(&plain, "standard.new_country", okta), 1);
    let before = alerts(&plain).len();

    let dir = tempfile::tempdir().unwrap();
    let mute = dir.path().join("mute.yml");
    std::fs::write(
        &mute,
        "entries:\n  - identity: \"okta:*\"\n    rule: standard.new_country\n    feature: country\n    value: RU\n    expires: 2099-01-01\n    reason: test\n    approver: ci@example.com\n",
    )
    .unwrap();
    let out = run(&["--allowlist", mute.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(count(&out, "standard.new_country", okta), 0);
    assert_eq!(
        alerts(&out).len(),
        before - 1,
        "only the named finding is muted"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 allowlisted"));

    // Expired (by event time): no effect.
    std::fs::write(
        &mute,
        "entries:\n  - identity: \"okta:*\"\n    rule: standard.new_country\n    expires: 2001-01-01\n    reason: test\n    approver: ci@example.com\n",
    )
    .unwrap();
    let out = run(&["--allowlist", mute.to_str().unwrap()]);
    assert_eq!(count(&out, "standard.new_country", okta), 1);

    // Approved into the baseline: no detector sees RU as new for this identity.
    std::fs::write(
        &mute,
        format!("entries:\n  - identity: \"{okta}\"\n    feature: country\n    value: RU\n    expires: never\n    reason: planned move\n    approver: ci@example.com\n    approve_into_baseline: true\n"),
    )
    .unwrap();
    let out = run(&["--allowlist", mute.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(count(&out, "standard.new_country", okta), 0);

    // A bad file: every problem with its line, exit 2, no alerts.
    std::fs::write(
        &mute,
        "entries:\n  - rule: x\n    expires: soon\n  - identity: a\n    feature: planet\n    expires: never\n    reason: r\n    approver: b\n",
    )
    .unwrap();
    let out = run(&["--allowlist", mute.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mute.yml:2: entry needs a reason"), "{err}");
    assert!(err.contains("bad date"), "{err}");
    assert!(err.contains("mute.yml:4: unknown feature"), "{err}");
}

/// (rule, identity, time, uid) of an alert.
fn key_of(a: &Value) -> (String, String, i64, String) {
    (
        a["finding_info"]["analytic"]["uid"]
            .as_str()
            .unwrap()
            .into(),
        a["actor"]["user"]["uid"].as_str().unwrap().into(),
        a["time"].as_i64().unwrap(),
        a["finding_info"]["uid"].as_str().unwrap().into(),
    )
}

#[test]
fn inventory_puts_owner_criticality_and_revocation_on_alerts_and_reports_orphans() {
    let geo = [
        "--geoip-city",
        "examples/geoip/test-city.mmdb",
        "--geoip-asn",
        "examples/geoip/test-asn.mmdb",
    ];
    // Finding by finding (incidents would fold the inventory-only rules' findings into the
    // same alerts): the owner context is a property of every finding's alert.
    let mut plain_args = vec!["replay", "--no-incidents"];
    plain_args.extend(geo);
    plain_args.push("examples/demo.jsonl");
    let plain = alerts(&nhid(&plain_args));
    let mut inv_args = vec![
        "replay",
        "--no-incidents",
        "--inventory",
        "examples/inventory.csv",
    ];
    inv_args.extend(geo);
    inv_args.push("examples/demo.jsonl");
    let out = nhid(&inv_args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let with = alerts(&out);

    // Without an inventory: no orphan rule, no owner fields.
    assert!(plain.iter().all(
        |a| a["finding_info"]["analytic"]["uid"] != "standard.orphan_nhi"
            && a.get("enrichments").is_none()
    ));

    // The same findings (plus the inventory-only rules' alerts), each with its owner context.
    let orphan_rule = |a: &&Value| a["finding_info"]["analytic"]["uid"] == "standard.orphan_nhi";
    let undeclared =
        |a: &&Value| a["finding_info"]["analytic"]["uid"] == "standard.undeclared_country";
    let others: Vec<&Value> = with
        .iter()
        .filter(|a| !orphan_rule(a) && !undeclared(a))
        .collect();
    // Identities declared US-only are caught calling from abroad, with no baseline needed.
    let abroad: Vec<&Value> = with.iter().filter(undeclared).collect();
    assert!(!abroad.is_empty());
    for a in &abroad {
        assert_ne!(a["src_endpoint"]["location"]["country"], "US");
        assert_eq!(a["enrichments"][0]["data"]["expected_countries"][0], "US");
    }
    assert_eq!(
        others.iter().map(|a| key_of(a)).collect::<Vec<_>>(),
        plain.iter().map(key_of).collect::<Vec<_>>()
    );
    let by_id = |id: &str| -> Vec<&Value> {
        others
            .iter()
            .copied()
            .filter(|a| a["actor"]["user"]["uid"] == id)
            .collect()
    };
    let plain_sev = |a: &Value| -> u64 {
        plain.iter().find(|p| key_of(p) == key_of(a)).unwrap()["severity_id"]
            .as_u64()
            .unwrap()
    };

    // etl-loader: exact entry, critical -> one step up (Critical stays Critical).
    let etl = by_id("arn:aws:iam::111122223333:role/etl-loader");
    assert!(!etl.is_empty());
    for a in &etl {
        let e = &a["enrichments"][0];
        assert_eq!(e["name"], "nhi_inventory");
        assert_eq!(e["value"], "alice@example.com");
        assert_eq!(e["data"]["team"], "data-platform");
        assert_eq!(e["data"]["criticality"], "critical");
        assert_eq!(
            e["data"]["revoke_handle"],
            "arn:aws:iam::111122223333:role/etl-loader"
        );
        let desc = a["remediation"]["desc"].as_str().unwrap();
        assert!(
            desc.starts_with("Revoke arn:aws:iam::111122223333:role/etl-loader"),
            "{desc}"
        );
        assert!(desc.contains("alice@example.com"), "{desc}");
        assert_eq!(
            a["remediation"]["references"][0],
            "https://soar.example.com/playbooks/aws-revoke-role-sessions"
        );
        let before = plain_sev(a);
        assert_eq!(a["severity_id"].as_u64().unwrap(), (before + 1).min(5));
        if before < 5 {
            assert_eq!(
                a["unmapped"]["nhid"]["severity_adjustment"]["criticality"],
                "critical"
            );
        }
    }
    // app-server: matched by the `role/app-*` pattern, criticality high: unchanged severity.
    let app = by_id("arn:aws:iam::111122223333:role/app-server");
    assert!(!app.is_empty());
    for a in app {
        assert_eq!(a["enrichments"][0]["data"]["team"], "web-team");
        assert_eq!(a["severity_id"].as_u64().unwrap(), plain_sev(a));
    }
    // Okta client: matched by its client id (credential); revoke handle from the inventory.
    let okta = by_id("okta:0oademo1billingsync");
    assert!(!okta.is_empty());
    for a in okta {
        assert_eq!(a["enrichments"][0]["value"], "bob@example.com");
        assert!(a["remediation"]["desc"]
            .as_str()
            .unwrap()
            .contains("playbook: okta-deactivate-client"));
    }
    // GitHub app: by name within its organisation; low criticality -> one step down.
    let bot = by_id("github:deploy-bot[bot]");
    assert!(!bot.is_empty());
    for a in &bot {
        assert_eq!(a["enrichments"][0]["data"]["team"], "release-eng");
        assert_eq!(
            a["severity_id"].as_u64().unwrap(),
            plain_sev(a).saturating_sub(1).max(1)
        );
    }

    // Azure SP: nobody owns it. Its alerts say so, and the orphan rule reports it once a day.
    let sp = "azure:72f988bf-0000-4000-8000-00000000demo:a1b2c3d4-demo-app";
    let sp_alerts = by_id(sp);
    assert!(!sp_alerts.is_empty());
    for a in sp_alerts {
        assert_eq!(a["enrichments"][0]["value"], "unowned");
        assert!(a.get("remediation").is_none());
    }
    let orphans: Vec<&Value> = with.iter().filter(orphan_rule).collect();
    assert!(!orphans.is_empty());
    assert!(orphans.iter().all(|a| a["actor"]["user"]["uid"] == sp
        && a["activity_id"] == 1
        && a["severity_id"] == 2));
    let times: Vec<i64> = orphans
        .iter()
        .map(|a| a["time"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] >= 24 * 3_600_000),
        "{times:?}"
    );
    // The SP is active over ~9 days of the demo: one reminder per day.
    let span_days = (times[times.len() - 1] - times[0]) / (24 * 3_600_000);
    assert!(
        orphans.len() as i64 >= span_days && orphans.len() as i64 <= span_days + 1,
        "{} orphan alerts over {span_days} days",
        orphans.len()
    );
}

#[test]
fn inventory_check_lists_problems_and_counts_entries() {
    let ok = nhid(&["inventory", "check", "examples/inventory.csv"]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stderr).contains("4 entries"));
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "inv.csv",
        b"identity,owner,criticality\narn:a,alice,urgent\n,bob,\n",
    );
    let out = nhid(&["inventory", "check", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("inv.csv:2: criticality `urgent`"), "{text}");
    assert!(text.contains("inv.csv:3: no matcher"), "{text}");
    // replay refuses a bad inventory as a usage error (exit 2), naming the problem.
    let r = nhid(&["replay", "--inventory", &bad, "examples/demo.jsonl"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("urgent"));
}

/// Collects string values of secret-bearing keys anywhere in a JSON value.
fn secrets_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let k = k.to_ascii_lowercase();
                let secretish = [
                    "sessiontoken",
                    "secretaccesskey",
                    "password",
                    "clientsecret",
                    "privatekey",
                    "secretstring",
                ]
                .iter()
                .any(|s| k.contains(s));
                match x {
                    Value::String(s) if secretish && s.len() >= 16 && !s.starts_with("HIDDEN") => {
                        out.push(s.clone())
                    }
                    _ => secrets_in(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| secrets_in(x, out)),
        _ => {}
    }
}

#[test]
fn alerts_never_carry_credential_secrets_from_the_records() {
    // Real records with live-looking secrets: AssumeRole / GetSessionToken responses with
    // session tokens (Invictus, Panther samples), GetPasswordData, Secrets Manager reads.
    let mut inputs: Vec<String> = invictus_files();
    for d in ["tests/fixtures/panther", "tests/fixtures/stratus"] {
        for e in std::fs::read_dir(root().join(d)).unwrap() {
            inputs.push(e.unwrap().path().display().to_string());
        }
    }
    let mut secrets = Vec::new();
    for f in &inputs {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let docs: Vec<Value> = match serde_json::from_str::<Value>(&text) {
            Ok(v) => vec![v],
            Err(_) => text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
        };
        for d in &docs {
            secrets_in(d, &mut secrets);
        }
    }
    assert!(
        secrets.iter().any(|s| s.starts_with("IQoJ")),
        "the fixtures hold session tokens"
    );
    let mut args = vec![
        "replay",
        "--geoip-city",
        "examples/geoip/test-city.mmdb",
        "--geoip-asn",
        "examples/geoip/test-asn.mmdb",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let out = nhid(&args);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() > 50, "the run raises alerts");
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "a secret from the records is in an alert"
        );
    }
}
