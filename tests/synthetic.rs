//! A synthetic multi-day scenario (nhid-gen: many identities, four sources, benign drift, injected
//! labelled attacks; it shares no code with the detectors) replayed on three seeds: at least three
//! quarters of injected attacks are detected at Medium or above, and benign Medium+ alerts stay
//! within a measured bound (numbers in BENCHMARKS.md).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run_seed(seed: u64, dir: &Path) -> (usize, usize, usize, usize) {
    let data = dir.join(format!("s{seed}.jsonl"));
    let gen = Command::new(env!("CARGO_BIN_EXE_nhid-gen"))
        .args([
            "--seed",
            &seed.to_string(),
            "--identities",
            "120",
            "--days",
            "12",
            "--events",
            "150000",
            "--attacks",
            "--output",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_nhid"))
        .args([
            "replay",
            "--geoip-city",
            &format!("{root}/examples/geoip/test-city.mmdb"),
            "--geoip-asn",
            &format!("{root}/examples/geoip/test-asn.mmdb"),
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Attack instances: (attack, identity) -> record ids and source networks.
    let mut inst: HashMap<(String, String), (HashSet<String>, HashSet<String>)> = HashMap::new();
    let labels = std::fs::read_to_string(format!("{}.labels.jsonl", data.display())).unwrap();
    for l in labels.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let e = inst
            .entry((
                v["attack"].as_str().unwrap().into(),
                v["identity"].as_str().unwrap().into(),
            ))
            .or_default();
        e.0.insert(v["eventId"].as_str().unwrap().into());
        if let Some(ip) = v["sourceIp"].as_str() {
            e.1.insert(ip.rsplit_once('.').unwrap().0.to_string());
        }
    }
    let belongs = |a: &Value, ids: &HashSet<String>, nets: &HashSet<String>| {
        let d = &a["evidences"][0]["data"];
        if d["record_id"].as_str().is_some_and(|r| ids.contains(r)) {
            return true;
        }
        // Azure diagnostic records carry no record id: match the attacker's /24.
        d["source"] == "azure_activity"
            && d["src_ip"]
                .as_str()
                .is_some_and(|ip| nets.contains(ip.rsplit_once('.').unwrap().0))
    };
    let mut detected = 0;
    for (ids, nets) in inst.values() {
        if alerts
            .iter()
            .any(|a| belongs(a, ids, nets) && a["severity_id"].as_u64().unwrap() >= 3)
        {
            detected += 1;
        }
    }
    let false_medium = alerts
        .iter()
        .filter(|a| a["severity_id"].as_u64().unwrap() >= 3 && a["activity_id"] == 1)
        .filter(|a| !inst.values().any(|(ids, nets)| belongs(a, ids, nets)))
        .count();
    (inst.len(), detected, alerts.len(), false_medium)
}

#[test]
fn synthetic_scenarios_on_three_seeds() {
    let dir = tempfile::tempdir().unwrap();
    for seed in [11, 22, 33] {
        let (attacks, detected, alerts, false_medium) = run_seed(seed, dir.path());
        eprintln!("seed {seed}: {detected}/{attacks} attacks detected at Medium+, {alerts} alerts, {false_medium} false Medium+");
        assert!(
            attacks >= 12,
            "seed {seed}: the generator injected {attacks} attacks"
        );
        // Measured on this generator (BENCHMARKS.md): 11-12 of 14 attack instances at Medium+
        // per seed; the misses are attacks the 12-day scenario is too short for (dormancy of
        // 8 days against a 14-day threshold, off-hours needing 14 days of history).
        assert!(
            detected * 4 >= attacks * 3,
            "seed {seed}: {detected}/{attacks} attacks detected at Medium+"
        );
        // Benign Medium+ comes from the generator's deployer roles changing trails and trust
        // policies before these become their habit; bounded, and tracked in BENCHMARKS.md.
        assert!(
            false_medium <= 60,
            "seed {seed}: {false_medium} false alerts at Medium+"
        );
    }
}
