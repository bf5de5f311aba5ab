//! `new_value`: the first time an identity (or one role session) shows a value of a feature —
//! a new country, ASN, network, client family, action or region.
//!
//! On the identity scope the learning period gates the rule (low-risk novelty means nothing while
//! a baseline is young). On the session scope nothing needs learning: a session's credentials
//! are bound to where they were issued, and their use from a second network or with a second
//! client within their lifetime is a strong signal of theft on its own.

use crate::baseline::{feature_label, feature_value, BaselineConfig, Feature, Profile};
use crate::detect::engine::Anomaly;
use crate::detect::rule::{NewValueParams, Scope};
use crate::event::AuditEvent;

/// What `new_value` found: the anomalies, and how many features had a value to compare.
pub struct NewValueHit {
    /// One per new feature value.
    pub anomalies: Vec<Anomaly>,
    /// Features that were compared.
    pub compared: usize,
}

/// Evaluates the detector.
pub fn evaluate(
    p: &NewValueParams,
    ev: &AuditEvent<'_>,
    profile: Option<&Profile>,
    cfg: &BaselineConfig,
) -> Option<NewValueHit> {
    let profile = profile?;
    let now = profile.last_seen.max(ev.time_ms);
    let mut anomalies = Vec::new();
    let mut compared = 0;
    match p.scope {
        Scope::Identity => {
            for &f in &p.features {
                let Some(v) = feature_value(ev, f) else {
                    continue;
                };
                let set = profile.values(f);
                if (set.live_count(now, cfg.forget_after_ms) as u64) < p.min_prior_values {
                    continue;
                }
                compared += 1;
                if set.get_live(v.key, now, cfg.forget_after_ms).is_none() {
                    let live = set.live_entries(now, cfg.forget_after_ms);
                    anomalies.push(Anomaly {
                        feature: f,
                        scope: Scope::Identity,
                        observed: feature_label(ev, f),
                        baseline_total: live.len(),
                        baseline: live.into_iter().take(10).cloned().collect(),
                        scope_first_seen: profile.first_seen,
                        scope_events: profile.observations,
                    });
                }
            }
        }
        Scope::Session => {
            let name = ev.identity.session.as_deref()?;
            let s = profile.session(name, ev.time_ms.max(now), cfg.session_idle_ms)?;
            for &f in &p.features {
                let Some(v) = feature_value(ev, f) else {
                    continue;
                };
                let set = match f {
                    Feature::Network => &s.networks,
                    Feature::Client => &s.clients,
                    _ => continue,
                };
                if (set.len() as u64) < p.min_prior_values {
                    continue;
                }
                compared += 1;
                if set.get_live(v.key, now, i64::MAX).is_none() {
                    let live = set.live_entries(now, i64::MAX);
                    anomalies.push(Anomaly {
                        feature: f,
                        scope: Scope::Session,
                        observed: feature_label(ev, f),
                        baseline_total: live.len(),
                        baseline: live.into_iter().take(10).cloned().collect(),
                        scope_first_seen: s.first_seen,
                        scope_events: s.count,
                    });
                }
            }
        }
    }
    let fire = if p.require_all {
        compared > 0 && anomalies.len() == compared
    } else {
        !anomalies.is_empty()
    };
    fire.then_some(NewValueHit {
        anomalies,
        compared,
    })
}
