//! A synthetic multi-day scenario (nhid-gen: many identities, four sources, benign drift, injected
//! labelled attacks and their benign twins; it shares no code with the detectors) replayed on three
//! seeds: every attack is detected at Medium or above (or is Low by design, as its label says),
//! and at most one benign alert per seed reaches Medium (issue 12's bar; numbers in
//! BENCHMARKS.md).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Scores of one seed: attack instances, those detected (Medium+, or Low by design as the
/// generator's label says), alerts, false Medium+ alerts, and the attack kinds missed.
struct Score {
    attacks: usize,
    detected: usize,
    alerts: usize,
    false_medium: usize,
    /// Most new alerts (activity 1) citing one attack's records.
    most_new_per_attack: usize,
    missed: Vec<String>,
}

fn run_seed(seed: u64, dir: &Path) -> Score {
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
    let mut low_by_design: HashSet<(String, String)> = HashSet::new();
    let labels = std::fs::read_to_string(format!("{}.labels.jsonl", data.display())).unwrap();
    for l in labels.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let key = (
            v["attack"].as_str().unwrap().to_string(),
            v["identity"].as_str().unwrap().to_string(),
        );
        if v["expect"] == "low_by_design" {
            assert!(v["why"].as_str().is_some_and(|w| !w.is_empty()));
            low_by_design.insert(key.clone());
        }
        let e = inst.entry(key).or_default();
        e.0.insert(v["eventId"].as_str().unwrap().into());
        if let Some(ip) = v["sourceIp"].as_str() {
            e.1.insert(ip.rsplit_once('.').unwrap().0.to_string());
        }
    }
    // An alert belongs to an attack when it cites one of its records (an incident version
    // cites its latest records).
    let belongs = |a: &Value, ids: &HashSet<String>, nets: &HashSet<String>| {
        a["evidences"].as_array().into_iter().flatten().any(|e| {
            let d = &e["data"];
            if d["record_id"].as_str().is_some_and(|r| ids.contains(r)) {
                return true;
            }
            // Azure diagnostic records carry no record id: match the attacker's /24.
            d["source"] == "azure_activity"
                && d["src_ip"]
                    .as_str()
                    .is_some_and(|ip| nets.contains(ip.rsplit_once('.').unwrap().0))
        })
    };
    let mut detected = 0;
    let mut missed = Vec::new();
    for (key, (ids, nets)) in &inst {
        let medium = alerts
            .iter()
            .any(|a| belongs(a, ids, nets) && a["severity_id"].as_u64().unwrap() >= 3);
        if medium || low_by_design.contains(key) {
            detected += 1;
        } else {
            missed.push(key.0.clone());
        }
    }
    // False Medium+: alert uids (incidents or standalone alerts) that never cite an attack
    // record and reach Medium in some version (an update that raises severity counts).
    let mut by_uid: HashMap<&str, Vec<&Value>> = HashMap::new();
    for a in &alerts {
        by_uid
            .entry(a["finding_info"]["uid"].as_str().unwrap())
            .or_default()
            .push(a);
    }
    let false_medium = by_uid
        .values()
        .filter(|v| {
            v.iter().any(|a| a["severity_id"].as_u64().unwrap() >= 3)
                && !v
                    .iter()
                    .any(|a| inst.values().any(|(ids, nets)| belongs(a, ids, nets)))
        })
        .count();
    let most_new_per_attack = inst
        .values()
        .map(|(ids, nets)| {
            alerts
                .iter()
                .filter(|a| a["activity_id"] == 1 && belongs(a, ids, nets))
                .count()
        })
        .max()
        .unwrap_or(0);
    Score {
        attacks: inst.len(),
        detected,
        alerts: alerts.len(),
        false_medium,
        most_new_per_attack,
        missed,
    }
}

#[test]
fn synthetic_scenarios_on_three_seeds() {
    let dir = tempfile::tempdir().unwrap();
    for seed in [11, 22, 33] {
        let s = run_seed(seed, dir.path());
        eprintln!(
            "seed {seed}: {}/{} attacks detected (Medium+ or Low by design), {} alerts, {} false Medium+, missed {:?}",
            s.detected, s.attacks, s.alerts, s.false_medium, s.missed
        );
        assert!(
            s.attacks >= 17,
            "seed {seed}: the generator injected {} attacks",
            s.attacks
        );
        // Issue 12's shapes are caught on every seed: a never-seen key escalating itself, a key
        // minted for another user, a quiet key enumerating from its usual place.
        for must in [
            "new_key_self_escalation",
            "key_minted_for_other_user",
            "etl_key_enumeration",
        ] {
            assert!(
                !s.missed.iter().any(|m| m == must),
                "seed {seed}: {must} missed"
            );
        }
        // Measured (BENCHMARKS.md): 17 of 17 on each seed.
        assert!(
            s.detected == s.attacks,
            "seed {seed}: {}/{} attacks detected, missed {:?}",
            s.detected,
            s.attacks,
            s.missed
        );
        // Benign twins (region expansion, CI runners moving country in their cloud ASN, new
        // deployer roles on day one, key rotation, trail selectors widened, weekly batches
        // re-reading their secrets) stay below Medium; what remains is the first deployer of
        // its kind deleting a trail of its stack before any peer did (measured 0, 1 and 1).
        assert!(
            s.false_medium <= 1,
            "seed {seed}: {} false alerts at Medium+",
            s.false_medium
        );
        // One incident per attack (issue 13): at most 3 new alerts cite one attack's records
        // (measured: 2 on each seed; 12 before incidents).
        assert!(
            s.most_new_per_attack <= 3,
            "seed {seed}: {} new alerts for one attack",
            s.most_new_per_attack
        );
    }
}
