//! Alerts: a [`Finding`] on an event rendered as an OCSF 1.5 Detection Finding (class 2004),
//! one JSON object per alert. The finding uid is deterministic (rule id, identity key and the
//! record's own id, or its bytes), so re-delivered records give the same uid.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::detect::engine::{Activity, Finding};
use crate::detect::rule::{Rule, Severity};
use crate::event::AuditEvent;
use crate::time::format_rfc3339_ms;

/// nhid's version, as reported in `metadata.product.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Deterministic finding uid: 32 hex digits of SHA-256 over rule id, identity key and the
/// record's id (or, lacking one, its raw bytes).
pub fn finding_uid(rule_id: &str, ev: &AuditEvent<'_>) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(ev.identity.key.as_bytes());
    h.update([0]);
    match &ev.record_id {
        Some(id) => {
            h.update(b"id:");
            h.update(id.as_bytes());
        }
        None => {
            h.update(b"raw:");
            h.update(ev.raw);
        }
    }
    let d = h.finalize();
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Uid of a storm's aggregated alert: rule id and the storm's start time.
pub fn storm_uid(rule_id: &str, started_ms: i64) -> String {
    let mut h = Sha256::new();
    h.update(b"storm\0");
    h.update(rule_id.as_bytes());
    h.update(started_ms.to_le_bytes());
    let d = h.finalize();
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map(Into::into).unwrap_or(Value::Null)
}

/// Drops nulls and empty objects/arrays so alerts stay compact.
fn prune(v: &mut Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(m) => {
            m.retain(|_, x| prune(x));
            !m.is_empty()
        }
        Value::Array(a) => {
            a.retain_mut(prune);
            !a.is_empty()
        }
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// One-line explanation for the SIEM's message column.
pub fn message(rule: &Rule, f: &Finding, ev: &AuditEvent<'_>) -> String {
    let mut m = String::new();
    if let Some(st) = &f.storm {
        m.push_str(&format!(
            "STORM: {} finding(s) on {} identities since {} (folded into this alert; sample in unmapped.nhid.storm) — ",
            st.findings,
            st.identities,
            format_rfc3339_ms(st.started)
        ));
    } else if f.activity == Activity::Update {
        m.push_str(&format!(
            "REPEATED x{} since {} — ",
            f.count,
            format_rfc3339_ms(f.first_seen)
        ));
    }
    m.push_str(&format!(
        "{} — {} ({})",
        rule.title, ev.identity.name, ev.identity.key
    ));
    for a in &f.anomalies {
        if a.observation_type == "new_value" {
            let base: Vec<String> = a
                .baseline
                .iter()
                .take(3)
                .map(|b| format!("{} x{}", b.value, b.count))
                .collect();
            m.push_str(&format!(
                "; {} {} {:?} not in its {} baseline [{}{}]",
                a.scope.as_str(),
                a.feature,
                a.observed,
                a.scope.as_str(),
                base.join(", "),
                if a.baseline_total > 3 { ", ..." } else { "" }
            ));
        } else {
            m.push_str(&format!("; {}: {}", a.feature, a.observed));
            if let Some(p) = &a.pattern {
                m.push_str(&format!(" ({p})"));
            }
        }
    }
    if !f.related.is_empty() {
        let r: Vec<String> = f
            .related
            .iter()
            .map(|r| format!("{} [{}]", r.rule, r.risk_score))
            .collect();
        m.push_str(&format!("; correlated: {}", r.join(" + ")));
    }
    m.push_str(&format!("; calling {}", ev.action()));
    if let Some(t) = &ev.target {
        m.push_str(&format!(" on {t}"));
    }
    m
}

/// The alert's severity after the owner's criticality (critical +1, low −1; documented in
/// docs/inventory.md), and the adjustment made, if any.
pub fn owner_severity(f: &Finding, ev: &AuditEvent<'_>) -> (Severity, Option<Value>) {
    let Some(c) = ev.inventory.entry().and_then(|e| e.criticality) else {
        return (f.severity, None);
    };
    let shifted = match c.severity_shift() {
        s if s > 0 => f.severity.raised(),
        s if s < 0 => f.severity.lowered(),
        _ => f.severity,
    };
    if shifted == f.severity {
        return (f.severity, None);
    }
    let note = json!({
        "criticality": c.as_str(),
        "from": f.severity.caption(),
        "to": shifted.caption(),
    });
    (shifted, Some(note))
}

/// Owner context for the alert: OCSF `enrichments` entry and `remediation` text.
fn owner_context(ev: &AuditEvent<'_>, rule: &Rule) -> (Value, Value) {
    let Some(e) = ev.inventory.entry() else {
        // Without an inventory nothing is added; with one, "no owner of record" is said.
        let status = ev.inventory.status();
        return (
            status.map_or(Value::Null, |s| {
                json!([{"name": "nhi_inventory", "type": "owner", "value": s, "data": {"status": s}}])
            }),
            Value::Null,
        );
    };
    let handle = e
        .revoke
        .as_deref()
        .or(ev.identity.credential.as_deref())
        .unwrap_or(ev.identity.key.as_ref());
    let who: Vec<&str> = [e.owner.as_deref(), e.team.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let mut desc = format!("Revoke {handle}");
    if let Some(p) = &e.playbook {
        desc.push_str(&format!(" (playbook: {p})"));
    }
    if !who.is_empty() {
        desc.push_str(&format!("; owner of record: {}", who.join(", ")));
    }
    if let Some(r) = rule.runbook.as_deref() {
        desc.push_str(". ");
        desc.push_str(r.trim());
    }
    let mut data = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut data {
        m.insert("status".into(), "owned".into());
        m.insert("revoke_handle".into(), handle.into());
    }
    let references: Vec<&str> = e
        .playbook
        .as_deref()
        .filter(|p| p.starts_with("http://") || p.starts_with("https://"))
        .into_iter()
        .collect();
    (
        json!([{
            "name": "nhi_inventory",
            "type": "owner",
            "value": e.owner.as_deref().or(e.team.as_deref()).unwrap_or("owned"),
            "data": data,
        }]),
        json!({"desc": desc, "references": references}),
    )
}

/// Renders the OCSF Detection Finding.
pub fn render(rule: &Rule, f: &Finding, ev: &AuditEvent<'_>) -> Value {
    let uid = f.uid.clone().unwrap_or_else(|| finding_uid(&rule.id, ev));
    let (severity, severity_adjustment) = owner_severity(f, ev);
    let (enrichments, remediation) = owner_context(ev, rule);
    let (activity_id, activity_name) = match f.activity {
        Activity::Create => (1, "Create"),
        Activity::Update => (2, "Update"),
    };
    let geo = ev.geo.as_deref();
    let location = geo.map(|g| {
        json!({
            "country": g.country.as_deref(),
            "city": g.city.as_deref(),
            "lat": g.lat,
            "long": g.lon,
            "provider": g.origin,
        })
    });
    let asys = geo
        .and_then(|g| g.asn)
        .map(|n| json!({"number": n, "name": geo.and_then(|g| g.as_org.as_deref())}));
    let attacks: Vec<Value> = rule
        .mitre
        .iter()
        .map(|t| json!({"technique": {"uid": t}, "version": "v15"}))
        .collect();
    let anomaly_analyses: Vec<Value> = f
        .anomalies
        .iter()
        .map(|a| {
            json!({
                "analysis_targets": [{"name": a.feature, "type": a.scope.as_str()}],
                "anomalies": [{
                    "observation_parameter": a.feature,
                    "observation_type": a.observation_type,
                    "observations": [{"value": a.observed, "count": 1}],
                }],
                "baselines": [{
                    "observation_parameter": a.feature,
                    "observation_type": if a.observation_type == "new_value" { "known_values" } else { a.observation_type },
                    "observations": a.baseline.iter().map(|b| json!({
                        "value": b.value.as_ref(),
                        "count": b.count,
                        "timespan": {"start_time": b.first_seen, "end_time": b.last_seen},
                    })).collect::<Vec<_>>(),
                    "observed_pattern": a.pattern.clone().unwrap_or_else(|| format!(
                        "{} distinct value(s) over {} event(s) since {}",
                        a.baseline_total, a.scope_events, format_rfc3339_ms(a.scope_first_seen)
                    )),
                }],
            })
        })
        .collect();
    let mut evidence = Map::new();
    evidence.insert("source".into(), ev.source.as_str().into());
    evidence.insert("record_id".into(), opt(ev.record_id.as_deref()));
    evidence.insert("event_time".into(), format_rfc3339_ms(ev.time_ms).into());
    evidence.insert("action".into(), ev.action().into());
    evidence.insert("src_ip".into(), opt(ev.src_ip.map(|i| i.to_string())));
    evidence.insert("src_host".into(), opt(ev.src_host.as_deref()));
    evidence.insert("user_agent".into(), ev.user_agent.as_ref().into());
    evidence.insert("client".into(), ev.client().into());
    evidence.insert("outcome".into(), ev.outcome.as_str().into());
    evidence.insert("error_code".into(), opt(ev.error_code.as_deref()));
    evidence.insert("credential".into(), opt(ev.identity.credential.as_deref()));
    evidence.insert("session".into(), opt(ev.identity.session.as_deref()));
    evidence.insert("invoked_by".into(), opt(ev.invoked_by.as_deref()));
    evidence.insert("target".into(), opt(ev.target.as_deref()));
    evidence.insert("federation".into(), opt(ev.federation.as_deref()));
    evidence.insert(
        "net_class".into(),
        opt(geo.and_then(|g| g.net_class).map(|c| c.as_str())),
    );
    evidence.insert("classes".into(), ev.classes.names().into());
    let learning = f.learning.map(|l| {
        json!({
            "learning": l.learning,
            "observations": l.observations,
            "observed_span_hours": l.observed_span_ms as f64 / 3_600_000.0,
        })
    });
    let components: Map<String, Value> = f
        .score_components
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).into()))
        .collect();
    let mut v = json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": 200400 + activity_id,
        "type_name": format!("Detection Finding: {activity_name}"),
        "count": f.count,
        "time": ev.time_ms,
        "severity_id": severity.id(),
        "severity": severity.caption(),
        "status_id": 1,
        "status": "New",
        "message": message(rule, f, ev),
        "metadata": {
            "version": "1.5.0",
            "product": {"name": "nhid", "vendor_name": "nhid", "version": VERSION},
            "log_name": ev.source.as_str(),
        },
        "finding_info": {
            "uid": uid,
            "title": rule.title,
            "desc": rule.description.trim(),
            "analytic": {"uid": rule.id, "name": rule.title, "type_id": 1, "type": "Rule"},
            "attacks": attacks,
            "first_seen_time": f.first_seen,
            "last_seen_time": ev.time_ms,
            "types": [rule.detector.kind()],
        },
        "actor": {
            "user": {
                "uid": ev.identity.key.as_ref(),
                "name": ev.identity.name.as_ref(),
                "type": ev.identity.kind.as_str(),
                "credential_uid": ev.identity.credential.as_deref(),
                "uid_alt": ev.identity.principal_id.as_deref(),
                "account": {"uid": ev.identity.account.as_deref()},
            },
            "session": ev.identity.session.as_deref().map(|s| json!({
                "uid": s,
                "created_time": ev.identity.session_created_ms,
            })),
            "invoked_by": ev.invoked_by.as_deref(),
        },
        "src_endpoint": {
            "ip": ev.src_ip.map(|i| i.to_string()),
            "hostname": ev.src_host.as_deref(),
            "location": location,
            "autonomous_system": asys,
        },
        "api": {
            "operation": ev.operation.as_ref(),
            "service": {"name": ev.service.as_ref()},
            "response": {"error": ev.error_code.as_deref()},
        },
        "cloud": {
            "provider": ev.source.provider(),
            "account": {"uid": ev.identity.account.as_deref()},
            "region": ev.region.as_deref(),
        },
        "resources": ev.resources.iter().map(|r| json!({"uid": r.as_ref()})).collect::<Vec<_>>(),
        "evidences": [{"data": Value::Object(evidence)}],
        "enrichments": enrichments,
        "remediation": remediation,
        "anomaly_analyses": anomaly_analyses,
        "risk_score": f.risk_score,
        "unmapped": {"nhid": {
            "identity_class": f.class.as_str(),
            "class_reason": ev.identity.reason.as_str(),
            "learning_state": learning,
            "score_components": components,
            "rule_status": format!("{:?}", rule.status).to_lowercase(),
            "runbook": rule.runbook.as_deref().map(str::trim),
            "severity_adjustment": severity_adjustment,
            "related": &f.related,
            "storm": &f.storm,
        }},
    });
    prune(&mut v);
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn prune_drops_empties() {
        let mut v = serde_json::json!({"a": null, "b": {"c": null}, "d": [], "e": 0, "f": ""});
        super::prune(&mut v);
        assert_eq!(v, serde_json::json!({"e": 0}));
    }
}
