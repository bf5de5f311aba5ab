//! `new_value`: the first time an identity (or one role session) shows a value of a feature —
//! a new country, ASN, network, client family, action or region.
//!
//! On the identity scope the learning period gates the rule (low-risk novelty means nothing while
//! a baseline is young). On the session scope nothing needs learning: a session's credentials
//! are bound to where they were issued, and their use from a second network or with a second
//! client within their lifetime is a strong signal of theft on its own.

use crate::baseline::{
    feature_label, feature_value, session_key, BaselineConfig, Feature, Labels, Profile,
    SessionState,
};
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

/// Evaluates the detector: fires when the `features` are new (any or all of them); `context`
/// features that are new as well are reported and count towards escalation, but never fire alone.
pub fn evaluate(
    p: &NewValueParams,
    ev: &AuditEvent<'_>,
    profile: Option<&Profile>,
    labels: &Labels,
    cfg: &BaselineConfig,
) -> Option<NewValueHit> {
    let profile = profile?;
    let now = profile.last_seen.max(ev.time_ms);
    let session = match p.scope {
        // `account` is not a new_value scope (the rule compiler refuses it).
        Scope::Identity | Scope::Account => None,
        // Liveness by the event's own time: a late record of a live session is still evaluated.
        Scope::Session => {
            Some(profile.session(session_key(ev)?, ev.time_ms, cfg.session_idle_ms)?)
        }
    };
    let mut anomalies = Vec::new();
    let mut compared = 0;
    for &f in &p.features {
        if let Some(a) = check(p, f, ev, profile, session, now, labels, cfg) {
            compared += 1;
            let known = a.is_none();
            anomalies.extend(a);
            // All must be new: one known value settles it (most calls of most identities).
            if p.require_all && known {
                return None;
            }
        }
    }
    let fire = if p.require_all {
        compared > 0 && anomalies.len() == compared
    } else {
        !anomalies.is_empty()
    };
    if !fire {
        return None;
    }
    for &f in &p.context {
        if let Some(a) = check(p, f, ev, profile, session, now, labels, cfg) {
            compared += 1;
            anomalies.extend(a);
        }
    }
    Some(NewValueHit {
        anomalies,
        compared,
    })
}

/// Compares one feature: `None` if there was nothing to compare, `Some(None)` if the value is
/// known, `Some(Some(anomaly))` if it is new.
#[allow(clippy::too_many_arguments)]
fn check(
    p: &NewValueParams,
    f: Feature,
    ev: &AuditEvent<'_>,
    profile: &Profile,
    session: Option<&SessionState>,
    now: i64,
    labels: &Labels,
    cfg: &BaselineConfig,
) -> Option<Option<Anomaly>> {
    let v = feature_value(ev, f)?;
    let (set, forget, scope, first, events) = match session {
        None => (
            profile.values(f),
            cfg.forget_after_ms,
            Scope::Identity,
            profile.first_seen,
            profile.observations,
        ),
        Some(s) => {
            let set = match f {
                Feature::Network => &s.networks,
                Feature::Client => &s.clients,
                _ => return None,
            };
            (set, i64::MAX, Scope::Session, s.first_seen, s.count as u64)
        }
    };
    // Known first: the common case costs one scan of the set.
    if set.get_live(v.key, now, forget).is_some() {
        return Some(None);
    }
    if (set.live_count(now, forget) as u64) < p.min_prior_values {
        return None;
    }
    // A session's address changing inside the network operator it already uses (NAT gateways,
    // egress pools) is churn, not a second place.
    if let (Some(s), Feature::Network) = (session, f) {
        if feature_value(ev, Feature::Asn)
            .is_some_and(|a| s.asns.get_live(a.key, now, forget).is_some())
        {
            return Some(None);
        }
    }
    let live = set.live_entries(now, forget, labels);
    Some(Some(Anomaly {
        feature: f.as_str(),
        observation_type: "new_value",
        scope,
        observed: feature_label(ev, f),
        baseline_total: live.len(),
        baseline: live.into_iter().take(10).collect(),
        scope_first_seen: first,
        scope_events: events,
        pattern: None,
    }))
}
