//! The alert of an incident version: the latest finding's alert, re-framed as the incident's
//! story. uid, sequence, severity (the incident's highest, adjusted by the owner's
//! criticality), risk, analytic (its highest-severity rule) and related analytics, techniques
//! of every rule, the timeline, evidence and anomaly analyses accumulated (bounded), and the
//! runbook and revoke handle of the most severe step.

use super::model::{Attack, IncidentDetails};
use super::{analytic, attacks, build_finding, criticality_shift, owner_context, Alert};
use crate::detect::engine::Finding;
use crate::detect::incident::IncidentView;
use crate::detect::rule::Rule;
use crate::event::AuditEvent;
use crate::time::format_duration_ms;

/// Builds the alert of an incident version carried by finding `f` on event `ev`.
pub fn build(rules: &[Rule], f: &Finding, inc: &IncidentView, ev: &AuditEvent<'_>) -> Alert {
    let top = &rules[inc.top];
    let mut a = build_finding(&rules[f.rule], f, ev);
    let (activity_id, activity_name) = if inc.seq == 1 {
        (1u8, "Create")
    } else {
        (2u8, "Update")
    };
    a.activity_id = activity_id;
    a.activity_name = activity_name.into();
    a.type_uid = 200400 + activity_id as u32;
    a.type_name = format!("Detection Finding: {activity_name}");
    a.count = inc.count;
    a.metadata.sequence = inc.seq;
    let (severity, adjustment) = criticality_shift(inc.severity, ev);
    a.severity_id = severity.id();
    a.severity = severity.caption().into();
    a.risk_score = inc.risk;
    let fi = &mut a.finding_info;
    fi.uid = inc.uid.clone();
    fi.title = top.title.clone();
    fi.desc = top.description.trim().to_string();
    fi.analytic = analytic(top);
    fi.related_analytics = inc.related.iter().map(|&i| analytic(&rules[i])).collect();
    fi.attacks = techniques(rules, inc);
    fi.first_seen_time = inc.opened;
    let mut kinds: Vec<super::model::Str> = Vec::new();
    for i in std::iter::once(inc.top).chain(inc.related.iter().copied()) {
        let k = rules[i].detector.kind();
        if !kinds.iter().any(|x| x == k) {
            kinds.push(k.into());
        }
    }
    fi.types = kinds;
    let (enrichments, remediation) = owner_context(ev, top);
    a.enrichments = enrichments;
    a.remediation = remediation;
    a.evidences = inc.evidences.clone();
    a.anomaly_analyses = inc.anomalies.clone();
    a.message = crate::alert::one_line(&story(rules, inc, ev)).into_owned();
    let nhid = &mut a.unmapped.nhid;
    nhid.severity_adjustment = adjustment;
    nhid.runbook = top.runbook.as_deref().map(|r| r.trim().to_string());
    nhid.rule_status = format!("{:?}", top.status).to_lowercase();
    nhid.incident = Some(IncidentDetails {
        opened_time: inc.opened,
        findings: inc.count,
        timeline: inc.steps.clone(),
        steps_omitted: inc.steps_dropped,
    });
    a
}

/// Techniques of every rule of the incident, each once, in the order the rules appeared.
fn techniques(rules: &[Rule], inc: &IncidentView) -> Vec<Attack> {
    let mut out: Vec<Attack> = Vec::new();
    for i in std::iter::once(inc.top).chain(inc.related.iter().copied()) {
        for a in attacks(&rules[i]) {
            if !out.iter().any(|x| x.technique.uid == a.technique.uid) {
                out.push(a);
            }
        }
    }
    out
}

/// The story in one line: who, whose, what happened in order, what to look at first.
/// `web-deployer (arn:...) (owner: alice): new_country DE (standard.new_country), then
/// enumeration 25 distinct actions (standard.enumeration_burst), then ... — 3 findings over
/// 12m; most severe: <title>`.
fn story(rules: &[Rule], inc: &IncidentView, ev: &AuditEvent<'_>) -> String {
    let mut m = format!("{} ({})", ev.identity.name, ev.identity.key);
    if let Some(e) = ev.inventory.entry() {
        if let Some(o) = e.owner.as_deref().or(e.team.as_deref()) {
            m.push_str(&format!(" (owner: {o})"));
        }
    }
    m.push_str(": ");
    let mut chain: Vec<String> = Vec::new();
    let mut last_rule = "";
    for s in &inc.steps {
        if s.rule == last_rule {
            continue;
        }
        last_rule = &s.rule;
        let what = if s.observed.is_empty() {
            s.action.clone()
        } else {
            s.observed.clone()
        };
        chain.push(format!("{what} on {} ({})", s.action, s.rule));
    }
    if inc.steps_dropped > 0 && chain.len() > 1 {
        chain.insert(
            chain.len() / 2,
            format!("{} more step(s)", inc.steps_dropped),
        );
    }
    m.push_str(&chain.join(", then "));
    let span = inc
        .steps
        .last()
        .map_or(0, |s| s.time.saturating_sub(inc.opened));
    m.push_str(&format!(
        " — {} finding(s) over {}; most severe: {}",
        inc.count,
        format_duration_ms(span),
        rules[inc.top].title
    ));
    m
}
