//! `burst`: an identity's count (or distinct count) of one action class within a window, against
//! the identity's own long-run rate. The count is tested as a Poisson tail: with `expected` calls
//! per window in the identity's history, how unlikely is seeing `count`? It fires once per window,
//! on the call that crosses both `min_count` and `max_p`. A burst after the class (or the whole
//! identity) was idle for `after_idle` scores higher: stolen credentials are typically tried in a
//! rush after a long silence.

use statrs::distribution::{DiscreteCDF, Poisson};

use crate::time::format_duration_ms;

use super::Hit;
use crate::baseline::rate::{Distinct, RateSpec, RateState};
use crate::baseline::{rate_key, BaselineConfig, Profile};
use crate::detect::engine::Anomaly;
use crate::detect::rule::{BurstParams, Scope};
use crate::event::AuditEvent;

/// A burst must exceed the identity's largest window so far by this factor.
const PEAK_FACTOR: f64 = 1.5;

/// Floor of the expected rate per window: no identity is assumed to be exactly silent.
const MIN_EXPECTED: f64 = 0.05;

/// P(X >= k) for X ~ Poisson(lambda).
pub fn poisson_tail(lambda: f64, k: u32) -> f64 {
    if k == 0 {
        return 1.0;
    }
    match Poisson::new(lambda.max(MIN_EXPECTED)) {
        Ok(p) => p.sf((k - 1) as u64),
        Err(_) => 1.0,
    }
}

/// Evaluates the detector.
pub fn evaluate(
    p: &BurstParams,
    spec: &RateSpec,
    ev: &AuditEvent<'_>,
    profile: Option<&Profile>,
    cfg: &BaselineConfig,
) -> Option<Hit> {
    if !ev.classes.contains(spec.class) {
        return None;
    }
    let profile = profile?;
    if let Some(f) = spec.distinct.novel_of() {
        if !profile.is_novel(ev, f, cfg) {
            return None;
        }
    }
    let fresh;
    let state = match profile.rate(p.spec) {
        Some(s) => s,
        None => {
            fresh = RateState::new(p.spec as u8);
            &fresh
        }
    };
    let key = rate_key(ev, spec);
    let v = state.view(spec, ev.time_ms, key, profile.first_seen);
    // Fire once per window: on the call that adds the measure up to the threshold.
    if !v.adds || v.count < p.min_count {
        return None;
    }
    // Also above anything the identity has done in one window before: regular sweeps (an
    // inventory job) are bursty but not new. The first count past every threshold fires.
    let need_peak = (v.peak * PEAK_FACTOR).floor() as u32 + 1;
    let passes =
        |k: u32| k >= p.min_count && k >= need_peak && poisson_tail(v.expected, k) <= p.max_p;
    if !passes(v.count) || passes(v.count - 1) {
        return None;
    }
    let pval = poisson_tail(v.expected, v.count);
    // Idle: since the previous call of the class, or since the identity's previous call at all
    // when it never did the class.
    let idle_ms = match v.idle_ms {
        Some(i) => i,
        None => v.win_start.saturating_sub(profile.first_seen),
    };
    let mut components = vec![("rate_surprise", surprise_points(pval))];
    if p.after_idle_ms.is_some_and(|a| idle_ms >= a) {
        components.push(("after_idle", 20));
    } else if p.require_idle {
        return None;
    }
    let measure = match spec.distinct {
        Distinct::Events => "calls",
        Distinct::Actions => "distinct actions",
        Distinct::Resources => "distinct resources",
        Distinct::NovelActions => "distinct actions new to the identity",
        Distinct::NovelResources => "distinct resources new to the identity",
    };
    let anomaly = Anomaly {
        feature: spec.class.as_str(),
        observation_type: "rate",
        scope: Scope::Identity,
        observed: format!(
            "{} {measure} in {}",
            v.count,
            format_duration_ms(spec.window_ms)
        ),
        baseline: Vec::new(),
        baseline_total: 0,
        scope_first_seen: profile.first_seen,
        scope_events: profile.observations,
        pattern: Some(format!(
            "expected {:.2} {measure} per {} from the identity's history, at most {:.0} in one window before (Poisson tail p={:.1e}); previous {} call {}",
            v.expected,
            format_duration_ms(spec.window_ms),
            v.peak,
            pval,
            spec.class.as_str(),
            match v.idle_ms {
                Some(i) => format!("{} before", format_duration_ms(i)),
                None => format!(
                    "never (identity seen for {})",
                    format_duration_ms(v.win_start.saturating_sub(profile.first_seen))
                ),
            }
        )),
    };
    Some(Hit {
        anomalies: vec![anomaly],
        components,
    })
}

/// Points for how surprising a count is: 0 at the threshold, up to 20 for astronomically
/// unlikely counts.
fn surprise_points(p: f64) -> i32 {
    let l = -p.max(1e-300).log10();
    ((l - 4.0) * 2.0).clamp(0.0, 20.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        assert!((poisson_tail(1.0, 1) - (1.0 - (-1.0f64).exp())).abs() < 1e-9);
        assert!(poisson_tail(0.3, 20) < 1e-20);
        assert!(poisson_tail(30.0, 20) > 0.9);
        assert_eq!(poisson_tail(5.0, 0), 1.0);
    }
}
