//! Real public datasets (tests/fixtures/README.md): every record parses into an event with an
//! identity; the identity table and the per-parser golden outputs, reviewed by hand, hold.
//!
//! `NHID_BLESS=1 cargo test --test datasets` rewrites identities.tsv and golden/ for review;
//! CI never sets it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use nhid::enrich::Enricher;
use nhid::geo::GeoDb;
use nhid::parsers::{Format, Parsers};
use nhid::sources::file::{read_input, Item, ReadLimits};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn files(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".json") || p.ends_with(".jsonl"))
        .collect();
    v.sort();
    v
}

/// Parses every record of the inputs; returns (records, failures with reasons).
fn parse_all(inputs: &[String]) -> (usize, Vec<String>) {
    let p = Parsers::default();
    let mut n = 0;
    let mut bad = Vec::new();
    for input in inputs {
        read_input(input, ReadLimits::default(), |it| match it {
            Item::Record(b, o) => {
                n += 1;
                match p.parse(b, Format::Auto) {
                    Ok(ev) => assert!(!ev.identity.key.is_empty(), "{o}: empty identity"),
                    Err(e) => bad.push(format!("{o}: {e}")),
                }
            }
            Item::Unframed { origin, error, .. } => bad.push(format!("{origin}: {error}")),
        })
        .unwrap();
    }
    (n, bad)
}

#[test]
fn every_invictus_stratus_and_otrf_record_parses() {
    let sets = [("invictus/raw", 2900), ("stratus", 310), ("otrf", 103)];
    for (dir, want) in sets {
        let (n, bad) = parse_all(&files(dir));
        assert_eq!(n, want, "{dir}: record count");
        assert!(
            bad.is_empty(),
            "{dir}: {} failures: {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
    }
}

fn is_timestamp(v: &Value) -> bool {
    match v {
        Value::Number(_) => true,
        // An independent shape check: YYYY-MM-DD[T ]HH:MM:SS.
        Value::String(s) => {
            let b = s.as_bytes();
            b.len() >= 19
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[4] == b'-'
                && b[7] == b'-'
                && (b[10] == b'T' || b[10] == b' ')
                && b[13] == b':'
                && b[16] == b':'
                && b[17..19].iter().all(u8::is_ascii_digit)
                && matches!(b.get(19), None | Some(b'.' | b'Z' | b'+' | b'-'))
        }
        _ => false,
    }
}

fn nonempty_obj(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_some_and(|m| !m.is_empty())
}

/// The records of a Panther test file that carry the source's real wire shape: a real
/// timestamp, the actor and the action under their wire names, and an actor that names someone.
fn wire_records(file: &str) -> Vec<String> {
    let text = fs::read_to_string(fixtures().join("panther").join(file)).unwrap();
    text.lines()
        .filter(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            let has = |k: &str| r.get(k).is_some();
            match file {
                "aws_cloudtrail.jsonl" => {
                    r.get("eventTime").is_some_and(is_timestamp)
                        && has("eventName")
                        && nonempty_obj(r.get("userIdentity"))
                }
                "azure_monitoractivity.jsonl" => {
                    let t = r.get("time").or(r.get("eventTimestamp"));
                    let names_someone = r
                        .pointer("/identity/claims")
                        .and_then(Value::as_object)
                        .is_some_and(|c| {
                            c.keys().any(|k| {
                                k == "appid"
                                    || k == "name"
                                    || k.ends_with("/upn")
                                    || k.ends_with("/objectidentifier")
                                    || k.ends_with("/emailaddress")
                            })
                        })
                        || r.pointer("/identity/authorization/evidence/principalId")
                            .is_some()
                        || has("caller");
                    t.is_some_and(is_timestamp) && has("operationName") && names_someone
                }
                "okta_systemlog.jsonl" => {
                    r.get("published").is_some_and(is_timestamp)
                        && has("eventType")
                        && r.pointer("/actor/id").is_some()
                }
                "github_audit.jsonl" => {
                    r.get("@timestamp")
                        .or(r.get("created_at"))
                        .is_some_and(is_timestamp)
                        && has("action")
                        && r.get("actor")
                            .and_then(Value::as_str)
                            .is_some_and(|a| !a.is_empty())
                }
                _ => unreachable!(),
            }
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_panther_wire_shaped_record_parses_with_an_identity() {
    let p = Parsers::default();
    let expect_min = [
        (
            "aws_cloudtrail.jsonl",
            400,
            nhid::event::SourceKind::Cloudtrail,
        ),
        (
            "azure_monitoractivity.jsonl",
            15,
            nhid::event::SourceKind::AzureActivity,
        ),
        ("okta_systemlog.jsonl", 25, nhid::event::SourceKind::Okta),
        (
            "github_audit.jsonl",
            60,
            nhid::event::SourceKind::GithubAudit,
        ),
    ];
    for (file, min, source) in expect_min {
        let recs = wire_records(file);
        assert!(
            recs.len() >= min,
            "{file}: only {} wire-shaped records",
            recs.len()
        );
        for (i, r) in recs.iter().enumerate() {
            match p.parse(r.as_bytes(), Format::Auto) {
                Ok(ev) => {
                    assert_eq!(ev.source, source, "{file} #{i} detected as {}", ev.source);
                    assert!(!ev.identity.key.is_empty());
                }
                Err(e) => panic!("{file} #{i}: {e}: {}", &r[..r.len().min(300)]),
            }
        }
    }
}

fn all_identity_inputs(tmp: &Path) -> Vec<String> {
    let mut inputs = files("invictus/raw");
    inputs.extend(files("stratus"));
    inputs.extend(files("otrf"));
    for f in [
        "aws_cloudtrail.jsonl",
        "azure_monitoractivity.jsonl",
        "okta_systemlog.jsonl",
        "github_audit.jsonl",
    ] {
        let p = tmp.join(f);
        fs::write(&p, wire_records(f).join("\n")).unwrap();
        inputs.push(p.to_string_lossy().into_owned());
    }
    inputs
}

fn bless() -> bool {
    std::env::var("NHID_BLESS").is_ok_and(|v| v == "1")
}

#[test]
fn identity_classes_match_the_reviewed_table() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = all_identity_inputs(tmp.path());
    let mut enricher = Enricher::new(GeoDb::default());
    let map = nhid::inspect::identities(&inputs, Format::Auto, &mut enricher).unwrap();
    let mut got = Vec::new();
    nhid::inspect::write_identity_table(&map, &mut got).unwrap();
    let got = String::from_utf8(got).unwrap();
    let path = fixtures().join("identities.tsv");
    if bless() {
        fs::write(&path, &got).unwrap();
        return;
    }
    let want = fs::read_to_string(&path).expect("tests/fixtures/identities.tsv");
    // Compare row by row for a readable failure.
    let rows = |s: &str| -> BTreeMap<String, String> {
        s.lines()
            .skip(1)
            .map(|l| {
                let (k, rest) = l.split_once('\t').unwrap();
                (k.to_string(), rest.to_string())
            })
            .collect()
    };
    let (g, w) = (rows(&got), rows(&want));
    for (k, v) in &w {
        assert_eq!(
            g.get(k),
            Some(v),
            "identity {k}: got {:?}, reviewed {v:?}",
            g.get(k)
        );
    }
    assert_eq!(
        g.len(),
        w.len(),
        "identities not in the reviewed table: {:?}",
        g.keys().filter(|k| !w.contains_key(*k)).collect::<Vec<_>>()
    );
}

/// Per-parser golden outputs: a few hand-picked records of each source, normalised and enriched
/// with the bundled test GeoIP networks.
#[test]
fn parser_golden_outputs() {
    let picks: &[(&str, &str, &[usize])] = &[
        // Invictus: an operator call, an AWS service principal, a call invoked by a service on a
        // user's behalf, the SSM agent on the instance, and the stolen instance credentials.
        (
            "cloudtrail",
            "invictus/raw/218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json",
            &[0, 64, 66, 90, 91],
        ),
        (
            "cloudtrail_otrf",
            "otrf/ec2_proxy_s3_exfiltration_2020-09-14.normalized.jsonl",
            &[0, 98],
        ),
        ("azure_activity", "panther/azure_monitoractivity.jsonl", &[]),
        ("okta", "panther/okta_systemlog.jsonl", &[]),
        ("github_audit", "panther/github_audit.jsonl", &[]),
    ];
    let p = Parsers::default();
    let mut enricher = Enricher::new(GeoDb::bundled_test());
    for (name, file, idx) in picks {
        let recs: Vec<String> = if file.starts_with("panther/") {
            // The first four wire-shaped records of the file.
            wire_records(file.trim_start_matches("panther/"))
                .into_iter()
                .take(4)
                .collect()
        } else {
            let mut v = Vec::new();
            read_input(
                &fixtures().join(file).to_string_lossy(),
                ReadLimits::default(),
                |it| {
                    if let Item::Record(b, _) = it {
                        v.push(String::from_utf8_lossy(b).into_owned());
                    }
                },
            )
            .unwrap();
            idx.iter().map(|&i| v[i].clone()).collect()
        };
        let mut out = Vec::new();
        for r in &recs {
            let mut ev = p.parse(r.as_bytes(), Format::Auto).unwrap();
            enricher.enrich(&mut ev);
            out.push(ev.to_json());
        }
        let got = serde_json::to_string_pretty(&out).unwrap() + "\n";
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.json"));
        if bless() {
            fs::write(&path, &got).unwrap();
            continue;
        }
        let want =
            fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        let (g, w): (Value, Value) = (
            serde_json::from_str(&got).unwrap(),
            serde_json::from_str(&want).unwrap(),
        );
        assert_eq!(g, w, "golden output {name} differs");
    }
}
