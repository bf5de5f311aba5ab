//! `dormant`: the first call after a long silence. The silence must be at least `min_idle` and
//! several times (`gap_factor`) the longest silence the identity ever had before, so a weekly job
//! is not "dormant" every week; the identity must have had some history (`min_prior_observations`).

use super::Hit;
use crate::baseline::Profile;
use crate::detect::engine::Anomaly;
use crate::detect::rule::{DormantParams, Scope};
use crate::event::AuditEvent;
use crate::time::format_duration_ms;

/// Evaluates the detector.
pub fn evaluate(p: &DormantParams, ev: &AuditEvent<'_>, profile: Option<&Profile>) -> Option<Hit> {
    let profile = profile?;
    // Before its first call back, an evicted identity's history speaks for it.
    let (last_seen, observations, max_gap_ms) = profile.activity();
    if observations < p.min_prior_observations {
        return None;
    }
    let gap = ev.time_ms.checked_sub(last_seen)?;
    if gap < p.min_idle_ms || (gap as f64) < p.gap_factor * max_gap_ms as f64 {
        return None;
    }
    let anomaly = Anomaly {
        feature: "silence",
        observation_type: "dormant",
        scope: Scope::Identity,
        observed: format!("first call after {} silent", format_duration_ms(gap)),
        baseline: Vec::new(),
        baseline_total: 0,
        scope_first_seen: profile.first_seen,
        scope_events: observations,
        pattern: Some(format!(
            "last call {}; longest silence before was {} over {} call(s)",
            crate::time::format_rfc3339_ms(last_seen),
            format_duration_ms(max_gap_ms),
            observations
        )),
    };
    Some(Hit {
        anomalies: vec![anomaly],
        components: vec![("dormancy", if gap >= 4 * p.min_idle_ms { 10 } else { 0 })],
    })
}
