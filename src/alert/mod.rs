//! Alerts: a [`Finding`] on an event built as a typed OCSF 1.5 Detection Finding (class 2004,
//! [`model::Alert`]), serialized as one JSON object per alert. The finding uid is deterministic (rule id, identity key and the
//! record's own id, or its bytes), so re-delivered records give the same uid.

pub mod incident;
pub mod model;
pub mod shrink;

use sha2::{Digest, Sha256};

pub use model::Alert;
use model::{
    Actor, AnalysisTarget, Analytic, AnomalyAnalysis, Api, ApiResponse, Attack, AutonomousSystem,
    Baseline, BaselineObservation, Cloud, Enrichment, EnrichmentData, Evidence, EvidenceData,
    FindingInfo, Learning, Location, Metadata, Named, NhidDetails, Observation, Observed, Product,
    Remediation, Session, SeverityAdjustment, SrcEndpoint, Timespan, UidRef, Unmapped, User,
};

use crate::detect::engine::{Activity, Finding};
use crate::detect::rule::{Rule, Severity};
use crate::event::AuditEvent;
use crate::time::format_rfc3339_ms;

/// nhid's version, as reported in `metadata.product.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Deterministic finding uid: 32 hex digits of SHA-256 over rule id, identity key and the
/// record's id (or, lacking one, its raw bytes).
pub fn finding_uid(rule_id: &str, ev: &AuditEvent<'_>) -> String {
    record_uid(&[rule_id.as_bytes(), &[0]], ev)
}

/// 32 hex digits of SHA-256 over `prefix`, the identity key and the record's id (or, lacking
/// one, its raw bytes): the uid of an alert raised on this record, stable across re-delivery.
pub(crate) fn record_uid(prefix: &[&[u8]], ev: &AuditEvent<'_>) -> String {
    let mut h = Sha256::new();
    for p in prefix {
        h.update(p);
    }
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

/// Uid of a storm's aggregated alert: rule id, what the storm shares, and its start time.
pub fn storm_uid(rule_id: &str, shared: &str, started_ms: i64) -> String {
    let mut h = Sha256::new();
    h.update(b"storm\0");
    h.update(rule_id.as_bytes());
    h.update(b"\0");
    h.update(shared.as_bytes());
    h.update(started_ms.to_le_bytes());
    let d = h.finalize();
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Attacker-chosen text (user agents, session and resource names) made safe for one line of a
/// log viewer or terminal: control characters (line breaks, escape sequences, NUL) and the
/// Unicode controls that reorder or hide text (bidi overrides and isolates, zero-width marks)
/// become U+FFFD, so a value can neither forge a second log line nor disguise itself.
pub fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}')
    };
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| if bad(c) { '\u{FFFD}' } else { c })
            .collect(),
    )
}

/// One-line explanation for the SIEM's message column (see [`one_line`]).
pub fn message(rule: &Rule, f: &Finding, ev: &AuditEvent<'_>) -> String {
    let mut m = String::new();
    if let Some(st) = &f.storm {
        m.push_str(&format!(
            "STORM: {} finding(s) on {} identities sharing {} since {} (folded into this alert; sample in unmapped.nhid.storm) — ",
            st.findings,
            st.identities,
            st.shared,
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
    one_line(&m).into_owned()
}

/// The alert's severity after the owner's criticality (critical +1, low −1; documented in
/// docs/inventory.md), and the adjustment made, if any.
pub fn owner_severity(f: &Finding, ev: &AuditEvent<'_>) -> (Severity, Option<SeverityAdjustment>) {
    criticality_shift(f.severity, ev)
}

/// `base` moved by the owner's criticality, and the adjustment made, if any (a finding's
/// severity, or an incident's).
pub(crate) fn criticality_shift(
    base: Severity,
    ev: &AuditEvent<'_>,
) -> (Severity, Option<SeverityAdjustment>) {
    let Some(c) = ev.inventory.entry().and_then(|e| e.criticality) else {
        return (base, None);
    };
    let shifted = match c.severity_shift() {
        s if s > 0 => base.raised(),
        s if s < 0 => base.lowered(),
        _ => base,
    };
    if shifted == base {
        return (base, None);
    }
    let note = SeverityAdjustment {
        criticality: c.as_str().into(),
        from: base.caption().into(),
        to: shifted.caption().into(),
    };
    (shifted, Some(note))
}

/// The rule as the alert's analytic.
pub(crate) fn analytic(rule: &Rule) -> Analytic {
    Analytic {
        uid: rule.id.clone(),
        name: rule.title.clone(),
        type_id: 1,
        kind: "Rule".into(),
    }
}

/// The rule's ATT&CK techniques.
pub(crate) fn attacks(rule: &Rule) -> impl Iterator<Item = Attack> + '_ {
    rule.mitre.iter().map(|t| Attack {
        technique: UidRef { uid: t.clone() },
        version: "v15".into(),
    })
}

/// Owner context for the alert: OCSF `enrichments` entry and `remediation` text.
pub(crate) fn owner_context(
    ev: &AuditEvent<'_>,
    rule: &Rule,
) -> (Vec<Enrichment>, Option<Remediation>) {
    let Some(e) = ev.inventory.entry() else {
        // Without an inventory nothing is added; with one, "no owner of record" is said.
        let enrichments = ev
            .inventory
            .status()
            .map(|s| Enrichment {
                name: "nhi_inventory".into(),
                kind: "owner".into(),
                value: s.to_string(),
                data: EnrichmentData {
                    entry: None,
                    status: s.to_string(),
                    revoke_handle: None,
                },
            })
            .into_iter()
            .collect();
        return (enrichments, None);
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
    let references: Vec<String> = e
        .playbook
        .iter()
        .filter(|p| p.starts_with("http://") || p.starts_with("https://"))
        .cloned()
        .collect();
    let enrichment = Enrichment {
        name: "nhi_inventory".into(),
        kind: "owner".into(),
        value: e
            .owner
            .as_deref()
            .or(e.team.as_deref())
            .unwrap_or("owned")
            .to_string(),
        data: EnrichmentData {
            entry: Some(e.clone()),
            status: "owned".to_string(),
            revoke_handle: Some(handle.to_string()),
        },
    };
    (vec![enrichment], Some(Remediation { desc, references }))
}

pub(crate) fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

fn account(ev: &AuditEvent<'_>) -> Option<UidRef> {
    ev.identity
        .account
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| UidRef { uid: a.to_string() })
}

/// Observed vs baseline, in OCSF's terms.
pub(crate) fn anomaly_analyses_of(f: &Finding) -> Vec<AnomalyAnalysis> {
    f.anomalies
        .iter()
        .map(|a| AnomalyAnalysis {
            analysis_targets: vec![AnalysisTarget {
                name: a.feature.into(),
                kind: a.scope.as_str().into(),
            }],
            anomalies: vec![Observed {
                observation_parameter: a.feature.into(),
                observation_type: a.observation_type.into(),
                observations: vec![Observation {
                    value: a.observed.clone(),
                    count: 1,
                }],
            }],
            baselines: vec![Baseline {
                observation_parameter: a.feature.into(),
                observation_type: if a.observation_type == "new_value" {
                    "known_values".into()
                } else {
                    a.observation_type.into()
                },
                observations: a
                    .baseline
                    .iter()
                    .map(|b| BaselineObservation {
                        value: b.value.to_string(),
                        count: b.count,
                        timespan: Timespan {
                            start_time: b.first_seen,
                            end_time: b.last_seen,
                        },
                    })
                    .collect(),
                observed_pattern: a.pattern.clone().unwrap_or_else(|| {
                    format!(
                        "{} distinct value(s) over {} event(s) since {}",
                        a.baseline_total,
                        a.scope_events,
                        format_rfc3339_ms(a.scope_first_seen)
                    )
                }),
            }],
        })
        .collect()
}

/// The triggering record as nhid normalised it.
pub(crate) fn evidence_of(ev: &AuditEvent<'_>) -> EvidenceData {
    EvidenceData {
        source: ev.source.as_str().into(),
        record_id: owned(ev.record_id.as_deref()),
        event_time: format_rfc3339_ms(ev.time_ms),
        action: ev.action(),
        src_ip: ev.src_ip.map(|i| i.to_string()),
        src_host: owned(ev.src_host.as_deref()),
        user_agent: ev.user_agent.to_string(),
        client: ev.client().to_string(),
        outcome: ev.outcome.as_str().into(),
        error_code: owned(ev.error_code.as_deref()),
        credential: owned(ev.identity.credential.as_deref()),
        session: owned(ev.identity.session.as_deref()),
        invoked_by: owned(ev.invoked_by.as_deref()),
        target: owned(ev.target.as_deref()),
        federation: owned(ev.federation.as_deref()),
        net_class: ev
            .geo
            .as_deref()
            .and_then(|g| g.net_class)
            .map(|c| c.as_str().into()),
        classes: ev.classes.names().into_iter().map(Into::into).collect(),
    }
}

/// Where the call came from.
fn src_endpoint(ev: &AuditEvent<'_>) -> SrcEndpoint {
    let geo = ev.geo.as_deref();
    SrcEndpoint {
        ip: ev.src_ip.map(|i| i.to_string()),
        hostname: owned(ev.src_host.as_deref()),
        location: geo.map(|g| Location {
            country: g.country.as_deref().map(str::to_string),
            city: g.city.as_deref().map(str::to_string),
            lat: g.lat,
            long: g.lon,
            provider: g.origin.into(),
        }),
        autonomous_system: geo.and_then(|g| {
            g.asn.map(|n| AutonomousSystem {
                number: n,
                name: g.as_org.as_deref().map(str::to_string),
            })
        }),
    }
}

/// Builds the OCSF Detection Finding of a finding on an event: the incident version it
/// carries, or the finding alone (incidents off, posture rules, storms).
pub fn build(rules: &[Rule], f: &Finding, ev: &AuditEvent<'_>) -> Alert {
    let rule = &rules[f.rule];
    match &f.incident {
        Some(inc) => incident::build(rules, f, inc, ev),
        None => build_finding(rule, f, ev),
    }
}

/// Builds the alert of one finding on an event.
pub fn build_finding(rule: &Rule, f: &Finding, ev: &AuditEvent<'_>) -> Alert {
    let uid = f.uid.clone().unwrap_or_else(|| finding_uid(&rule.id, ev));
    let (severity, severity_adjustment) = owner_severity(f, ev);
    let (enrichments, remediation) = owner_context(ev, rule);
    let (activity_id, activity_name) = match f.activity {
        Activity::Create => (1u8, "Create"),
        Activity::Update => (2u8, "Update"),
    };
    let mut score_components = std::collections::BTreeMap::new();
    for (k, v) in &f.score_components {
        score_components.insert((*k).into(), *v);
    }
    Alert {
        class_uid: 2004,
        class_name: "Detection Finding".into(),
        category_uid: 2,
        category_name: "Findings".into(),
        activity_id,
        activity_name: activity_name.into(),
        type_uid: 200400 + activity_id as u32,
        type_name: format!("Detection Finding: {activity_name}"),
        count: f.count,
        time: ev.time_ms,
        severity_id: severity.id(),
        severity: severity.caption().into(),
        status_id: 1,
        status: "New".into(),
        message: message(rule, f, ev),
        metadata: Metadata {
            version: "1.5.0".into(),
            product: Product {
                name: "nhid".into(),
                vendor_name: "nhid".into(),
                version: VERSION.into(),
            },
            log_name: ev.source.as_str().into(),
            sequence: f.sequence,
        },
        finding_info: FindingInfo {
            uid,
            title: rule.title.clone(),
            desc: rule.description.trim().to_string(),
            analytic: analytic(rule),
            related_analytics: Vec::new(),
            attacks: attacks(rule).collect(),
            first_seen_time: f.first_seen,
            last_seen_time: ev.time_ms,
            types: vec![rule.detector.kind().into()],
        },
        actor: Actor {
            user: User {
                uid: ev.identity.key.to_string(),
                name: ev.identity.name.to_string(),
                kind: ev.identity.kind.as_str().into(),
                credential_uid: owned(ev.identity.credential.as_deref()),
                uid_alt: owned(ev.identity.principal_id.as_deref()),
                account: account(ev),
            },
            session: ev.identity.session.as_deref().map(|s| Session {
                uid: s.to_string(),
                created_time: ev.identity.session_created_ms,
            }),
            invoked_by: owned(ev.invoked_by.as_deref()),
        },
        src_endpoint: src_endpoint(ev),
        api: Api {
            operation: ev.operation.to_string(),
            service: Named {
                name: ev.service.to_string(),
            },
            response: ev.error_code.as_deref().map(|e| ApiResponse {
                error: e.to_string(),
            }),
        },
        cloud: Cloud {
            provider: ev.source.provider().into(),
            account: account(ev),
            region: owned(ev.region.as_deref()),
        },
        resources: ev
            .resources
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| UidRef { uid: r.to_string() })
            .collect(),
        evidences: vec![Evidence {
            data: evidence_of(ev),
        }],
        enrichments,
        remediation,
        anomaly_analyses: anomaly_analyses_of(f),
        risk_score: f.risk_score,
        unmapped: Unmapped {
            nhid: NhidDetails {
                identity_class: f.class.as_str().into(),
                class_reason: ev.identity.reason.as_str().into(),
                learning_state: f.learning.map(|l| Learning {
                    learning: l.learning,
                    observations: l.observations,
                    observed_span_hours: l.observed_span_ms as f64 / 3_600_000.0,
                }),
                score_components,
                rule_status: format!("{:?}", rule.status).to_lowercase(),
                runbook: rule.runbook.as_deref().map(|r| r.trim().to_string()),
                severity_adjustment,
                related: f.related.clone(),
                storm: f.storm.clone(),
                incident: None,
                truncated: None,
            },
        },
    }
}
