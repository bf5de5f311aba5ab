//! `off_hours`: activity in an hour of the week (UTC) where the identity's histogram says it never
//! works, neither in that hour nor the neighbouring ones. Only identities with a shape (active in
//! at most `max_active_share` of the week's hours) have off hours: an always-on job has none.

use super::Hit;
use crate::baseline::{hour_of_week, Profile};
use crate::detect::engine::Anomaly;
use crate::detect::rule::{OffHoursParams, Scope};
use crate::event::AuditEvent;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn hour_name(h: usize) -> String {
    format!("{} {:02}:00 UTC", DAYS[h / 24 % 7], h % 24)
}

/// Evaluates the detector.
pub fn evaluate(p: &OffHoursParams, ev: &AuditEvent<'_>, profile: Option<&Profile>) -> Option<Hit> {
    let profile = profile?;
    let h = hour_of_week(ev.time_ms);
    let tol = p.tolerance_hours as isize;
    let hours = profile.hours();
    let near_busy = (-tol..=tol).any(|d| hours.get((h as isize + d).rem_euclid(168) as usize) > 0);
    if near_busy {
        return None;
    }
    let active = hours.active();
    if active as f64 > p.max_active_share * 168.0 || active == 0 {
        return None;
    }
    // The usual hours, busiest first, for the explanation.
    let mut busy: Vec<(usize, u8)> = hours
        .to_array()
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| (i, *c))
        .collect();
    busy.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let anomaly = Anomaly {
        feature: "hour_of_week",
        observation_type: "off_hours",
        scope: Scope::Identity,
        observed: hour_name(h),
        baseline: busy
            .iter()
            .take(10)
            .map(|(i, c)| crate::baseline::ValueEntry {
                value: hour_name(*i).into(),
                count: *c as u64,
                first_seen: profile.first_seen,
                last_seen: profile.last_seen,
            })
            .collect(),
        baseline_total: active,
        scope_first_seen: profile.first_seen,
        scope_events: profile.observations,
        pattern: Some(format!(
            "active in {active} of 168 hours of the week; none within {} hour(s) of this one",
            p.tolerance_hours
        )),
    };
    Some(Hit {
        anomalies: vec![anomaly],
        components: Vec::new(),
    })
}
