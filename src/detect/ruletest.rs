//! Runs the tests written inside rule files: replay the `history` records (building baselines),
//! then the `events`, and compare this rule's alerts on the events with `expect`. Records go
//! through the real parsers and enrichment (with the bundled test GeoIP networks), so a rule test
//! also tests parsing.

use std::sync::Arc;

use super::engine::Engine;
use super::rule::{Rule, Severity, TestFile, TestRecordFile};
use crate::baseline::BaselineConfig;
use crate::enrich::Enricher;
use crate::geo::GeoDb;
use crate::parsers::{Format, Parsers};
use crate::time::parse_duration_ms;

/// Result of one inline test.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// Rule id.
    pub rule: String,
    /// Rule file.
    pub path: String,
    /// Test name.
    pub test: String,
    /// Passed?
    pub passed: bool,
    /// Why it failed, or a summary.
    pub detail: String,
}

/// Runs every test of every rule, then the negation check of every rule whose tests pass.
pub fn run_all(rules: &[Rule]) -> Vec<TestOutcome> {
    let parsers = Parsers::default();
    let mut out = Vec::new();
    for rule in rules {
        let start = out.len();
        for t in &rule.tests {
            out.push(run_one_in(rule, t, &parsers, rules));
        }
        if out[start..].iter().all(|o| o.passed) {
            out.extend(negation_check_in(rule, &parsers, rules));
        }
    }
    out
}

/// Honest tests: negating any one `match` condition must make at least one firing test fail;
/// otherwise the condition is not tested (or does nothing). One outcome per condition.
pub fn negation_check(rule: &Rule, parsers: &Parsers) -> Vec<TestOutcome> {
    negation_check_in(rule, parsers, &[])
}

/// [`negation_check`] with the rule pack (composite rules need their members).
pub fn negation_check_in(rule: &Rule, parsers: &Parsers, pack: &[Rule]) -> Vec<TestOutcome> {
    let firing: Vec<&TestFile> = rule.tests.iter().filter(|t| t.expect.alerts > 0).collect();
    (0..rule.conditions.len())
        .map(|i| {
            let mut mutant = rule.clone();
            mutant.conditions[i].not = !mutant.conditions[i].not;
            let broken = firing
                .iter()
                .any(|t| !run_one_in(&mutant, t, parsers, pack).passed);
            let field = super::condition::FIELDS
                .iter()
                .find(|(_, f)| *f == rule.conditions[i].field)
                .map_or("?", |(n, _)| *n);
            TestOutcome {
                rule: rule.id.clone(),
                path: rule.path.clone(),
                test: format!("negating match[{i}] ({field}) breaks a firing test"),
                passed: broken,
                detail: if broken {
                    "a firing test fails".into()
                } else {
                    "every firing test still passes: the condition is untested".into()
                },
            }
        })
        .collect()
}

/// Sets a dotted path in a JSON object (creating objects on the way); `null` removes the field.
fn set_path(v: &mut serde_json::Value, path: &str, val: &serde_json::Value) -> Result<(), String> {
    let mut cur = v;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let obj = cur
            .as_object_mut()
            .ok_or_else(|| format!("set {path:?}: {p:?} is inside a non-object"))?;
        if i + 1 == parts.len() {
            if val.is_null() {
                obj.remove(*p);
            } else {
                obj.insert(p.to_string(), val.clone());
            }
            return Ok(());
        }
        cur = obj
            .entry(p.to_string())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    Ok(())
}

/// The record a test entry stands for: its `record`, or its template with `set` applied.
pub fn build_record(rule: &Rule, r: &TestRecordFile) -> Result<serde_json::Value, String> {
    let mut v = match (&r.record, &r.template) {
        (Some(rec), _) => rec.clone(),
        (None, Some(t)) => rule
            .templates
            .get(t)
            .cloned()
            .ok_or_else(|| format!("unknown template {t:?}"))?,
        (None, None) => return Err("no record or template".into()),
    };
    for (path, val) in &r.set {
        set_path(&mut v, path, val)?;
    }
    Ok(v)
}

fn expand(rule: &Rule, r: &TestRecordFile) -> Result<Vec<(Vec<u8>, i64)>, String> {
    let rec = build_record(rule, r)?;
    let bytes = serde_json::to_vec(&rec).map_err(|e| format!("record not serialisable: {e}"))?;
    let every = match &r.every {
        Some(e) => parse_duration_ms(e).ok_or_else(|| format!("bad duration {e:?}"))?,
        None => 0,
    };
    let after = match &r.after {
        Some(e) => parse_duration_ms(e).ok_or_else(|| format!("bad duration {e:?}"))?,
        None => 0,
    };
    let n = r.repeat.unwrap_or(1).max(1);
    Ok((0..n)
        .map(|i| {
            (
                bytes.clone(),
                after.saturating_add((i as i64).saturating_mul(every)),
            )
        })
        .collect())
}

/// Runs one test of one rule.
pub fn run_one(rule: &Rule, t: &TestFile, parsers: &Parsers) -> TestOutcome {
    run_one_in(rule, t, parsers, &[])
}

/// Runs one test of one rule; a composite rule runs with the rest of `pack` (its members), and
/// only its own new alerts count (not updates of repeated findings).
pub fn run_one_in(rule: &Rule, t: &TestFile, parsers: &Parsers, pack: &[Rule]) -> TestOutcome {
    let name = t.name.value.clone();
    let fail = |detail: String| TestOutcome {
        rule: rule.id.clone(),
        path: rule.path.clone(),
        test: name.clone(),
        passed: false,
        detail,
    };
    let set: Vec<Rule> = if matches!(rule.detector, super::rule::Detector::Composite(_)) {
        pack.iter()
            .filter(|r| r.id != rule.id)
            .cloned()
            .chain(std::iter::once(rule.clone()))
            .collect()
    } else {
        vec![rule.clone()]
    };
    let mut engine = Engine::new(Arc::new(set), BaselineConfig::default());
    let mut enricher = Enricher::new(GeoDb::bundled_test());
    let mut findings = Vec::new();
    let mut severities = Vec::new();
    let inventory = match &t.inventory {
        None => None,
        Some(list) => match crate::inventory::Inventory::from_values(list) {
            Ok(i) => Some(i),
            Err(e) => return fail(format!("inventory: {e}")),
        },
    };
    for (phase, list) in [("history", &t.history), ("events", &t.events)] {
        // Each phase is replayed in event-time order (records of one phase may interleave).
        let mut raws: Vec<(usize, Vec<u8>, i64)> = Vec::new();
        for (k, rec) in list.iter().enumerate() {
            match expand(rule, rec) {
                Ok(v) => raws.extend(v.into_iter().map(|(b, shift)| (k, b, shift))),
                Err(e) => return fail(format!("{phase}[{k}]: {e}")),
            }
        }
        let mut events = Vec::with_capacity(raws.len());
        for (k, bytes, shift) in &raws {
            match parsers.parse(bytes, Format::Auto) {
                Ok(mut ev) => {
                    ev.time_ms = ev.time_ms.saturating_add(*shift);
                    events.push((*k, ev));
                }
                Err(e) => return fail(format!("{phase}[{k}]: record does not parse: {e}")),
            }
        }
        events.sort_by_key(|(k, ev)| (ev.time_ms, *k));
        for (_, mut ev) in events {
            enricher.enrich(&mut ev);
            if let Some(inv) = &inventory {
                ev.inventory = inv.matching(&ev.identity);
            }
            findings.clear();
            engine.process(&ev, &mut findings);
            if phase == "events" {
                let rules = engine.rules();
                severities.extend(
                    findings
                        .iter()
                        .filter(|f| {
                            rules[f.rule].id == rule.id
                                && f.activity == super::engine::Activity::Create
                        })
                        .map(|f| f.severity),
                );
            }
        }
    }
    let got = severities.len() as u64;
    if got != t.expect.alerts {
        return fail(format!("expected {} alert(s), got {got}", t.expect.alerts));
    }
    if let Some(min) = t
        .expect
        .min_severity
        .as_deref()
        .and_then(Severity::from_name)
    {
        if let Some(s) = severities.iter().find(|s| **s < min) {
            return fail(format!("alert severity {s} below expected minimum {min}"));
        }
    }
    if let Some(max) = t
        .expect
        .max_severity
        .as_deref()
        .and_then(Severity::from_name)
    {
        if let Some(s) = severities.iter().find(|s| **s > max) {
            return fail(format!("alert severity {s} above expected maximum {max}"));
        }
    }
    TestOutcome {
        rule: rule.id.clone(),
        path: rule.path.clone(),
        test: name,
        passed: true,
        detail: format!("{got} alert(s)"),
    }
}
