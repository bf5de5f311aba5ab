//! The published JSON Schemas (`schemas/`) hold for real output: every alert of the demo (with
//! and without an inventory), of the real public datasets, of the synthetic attack scenario, and
//! the body a webhook sink sends.

mod common;

use serde_json::Value;

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/schemas/{name}", common::ROOT)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn alerts_of(args: &[&str]) -> Vec<Value> {
    common::replay_args(args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn check_all(validator: &jsonschema::Validator, alerts: &[Value], what: &str) {
    assert!(!alerts.is_empty(), "{what}: no alerts");
    for a in alerts {
        let errors: Vec<String> = validator
            .iter_errors(a)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:?}\n{a}");
    }
}

#[test]
fn every_alert_matches_the_published_alert_schema() {
    let schema = load("nhid-alert.v1.schema.json");
    let v = jsonschema::validator_for(&schema).expect("the schema itself is valid");
    check_all(&v, &alerts_of(&["examples/demo.jsonl"]), "demo");
    check_all(
        &v,
        &alerts_of(&[
            "--inventory",
            "examples/inventory.csv",
            "examples/demo.jsonl",
        ]),
        "demo with inventory",
    );
    let mut fixtures = vec![
        "--inventory".to_string(),
        "examples/inventory.csv".to_string(),
    ];
    for d in [
        "tests/fixtures/panther",
        "tests/fixtures/stratus",
        "tests/fixtures/otrf",
    ] {
        for e in std::fs::read_dir(format!("{}/{d}", common::ROOT)).unwrap() {
            fixtures.push(e.unwrap().path().display().to_string());
        }
    }
    let args: Vec<&str> = fixtures.iter().map(String::as_str).collect();
    check_all(&v, &alerts_of(&args), "public datasets");

    // Synthetic attacks: every rule kind, updates, storms, correlations.
    let dir = tempfile::tempdir().unwrap();
    let f = common::generate(dir.path(), 3, 60, 10, 30000);
    let synthetic = alerts_of(&[f.to_str().unwrap()]);
    assert!(
        synthetic.iter().any(|a| a["activity_id"] == 2),
        "updates covered"
    );
    check_all(&v, &synthetic, "synthetic");

    // The schema is not vacuous: a broken alert is refused.
    let mut bad = synthetic[0].clone();
    bad["finding_info"]["uid"] = "not-a-uid".into();
    bad["surprise"] = 1.into();
    assert!(v.iter_errors(&bad).count() >= 2);
}

#[test]
fn the_webhook_schema_describes_the_alert_body() {
    let wh = load("nhid-webhook.v1.schema.json");
    // The webhook body is one alert: the schema refers to the alert schema.
    assert_eq!(wh["$ref"], "nhid-alert.v1.schema.json");
    let alert = load("nhid-alert.v1.schema.json");
    let v = jsonschema::validator_for(&alert).unwrap();
    // Bodies as the webhook sink builds them (ocsf format, no template): the document itself.
    let alerts = alerts_of(&[
        "--inventory",
        "examples/inventory.csv",
        "examples/demo.jsonl",
    ]);
    let bodies: Vec<Value> = alerts
        .iter()
        .map(|a| serde_json::from_slice(&serde_json::to_vec(a).unwrap()).unwrap())
        .collect();
    check_all(&v, &bodies, "webhook bodies");
}
