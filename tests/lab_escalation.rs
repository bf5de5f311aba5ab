//! The lab-escalation trail (tests/fixtures/lab-escalation, DERIVED from real record shapes):
//! a never-seen IAM user key enumerates, is denied, grants itself `Action:* Resource:*` with an
//! inline policy, mints itself a second key and uses it, among unchanged real background records
//! and an admin's bulk S3 download whose KMS Decrypt calls S3 makes on the admin's behalf.
//! Issue 12's acceptance: Medium+ within 2 minutes of event time from the escalation record,
//! nothing at Medium+ on the background.

mod common;

use std::collections::HashMap;

use serde_json::Value;

fn labels() -> HashMap<String, (String, String, String)> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/lab-escalation/labels.jsonl",
        common::ROOT
    ))
    .unwrap();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            (s("eventID"), (s("label"), s("eventName"), s("eventTime")))
        })
        .collect()
}

#[test]
fn self_escalation_by_a_never_seen_key_is_caught_within_two_minutes() {
    let labels = labels();
    let out = common::replay_args(&["tests/fixtures/lab-escalation/trail.jsonl"]);
    let alerts: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let escalation = labels
        .values()
        .find(|(l, name, _)| l.starts_with("attack:") && name == "PutUserPolicy")
        .expect("the fixture has the escalation record");
    let t_esc = nhid::time::parse_rfc3339_ms(&escalation.2).unwrap();
    let mut first_medium_on_attack: Option<i64> = None;
    for a in &alerts {
        let sev = a["severity_id"].as_u64().unwrap();
        // The record this version was raised on (an incident cites its latest records last).
        let rid = a["evidences"]
            .as_array()
            .and_then(|e| e.last())
            .and_then(|e| e["data"]["record_id"].as_str())
            .unwrap_or("");
        let label = labels.get(rid).map_or("?", |l| l.0.as_str());
        if sev < 3 {
            continue;
        }
        assert!(
            label.starts_with("attack:"),
            "Medium+ alert on a {label} record: {} {}",
            a["finding_info"]["analytic"]["uid"],
            a["actor"]["user"]["uid"]
        );
        let t = a["time"].as_i64().unwrap();
        if t >= t_esc {
            first_medium_on_attack = Some(first_medium_on_attack.map_or(t, |f| f.min(t)));
        }
    }
    let first = first_medium_on_attack.expect("a Medium+ alert at or after the escalation");
    assert!(
        first - t_esc <= 2 * 60_000,
        "first Medium+ {} s after the escalation",
        (first - t_esc) / 1000
    );
    // The escalation alert explains itself: the decoded policy, granted to itself.
    // Rules of an alert: its analytic and, for an incident, the related analytics.
    let has_rule = |a: &Value, id: &str| {
        a["finding_info"]["analytic"]["uid"] == id
            || a["finding_info"]["related_analytics"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x["uid"] == id))
    };
    let esc = alerts
        .iter()
        .find(|a| has_rule(a, "aws.admin_policy_attached"))
        .expect("the escalation raises the admin grant rule");
    assert!(esc["severity_id"].as_u64().unwrap() >= 4);
    let text = esc.to_string();
    assert!(text.contains("Allow Action:* on Resource:*"), "{text}");
    assert!(text.contains("(itself)"), "{text}");
    // The new key's first use is tied to its minting after the escalation.
    let minted = alerts
        .iter()
        .find(|a| has_rule(a, "aws.minted_key_first_use"))
        .expect("the minted key's first use is judged");
    assert!(minted["severity_id"].as_u64().unwrap() >= 3);
    assert!(minted
        .to_string()
        .contains("Medium+ finding within the hour before minting"));
    // One incident tells the story: the self-escalation and the minted key's use are versions
    // of one alert, not separate alerts.
    let on_key: std::collections::BTreeSet<&str> = alerts
        .iter()
        .filter(|a| {
            has_rule(a, "aws.admin_policy_attached") || has_rule(a, "aws.minted_key_first_use")
        })
        .map(|a| a["finding_info"]["uid"].as_str().unwrap())
        .collect();
    assert_eq!(on_key.len(), 1, "one incident: {on_key:?}");
}
