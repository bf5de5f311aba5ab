//! `impossible_travel`: the distance between an identity's previous located call and this one,
//! over the time between them, is faster than an aircraft. Hops inside one cloud provider's
//! network are ignored (a workload moving between regions of its provider is not travel), and so
//! are moves to a place the identity already uses (country and ASN both in its baseline): a
//! machine identity legitimately running in two places alternates between them.

use super::Hit;
use crate::baseline::{feature_value, location_of, BaselineConfig, Feature, Profile};
use crate::detect::engine::Anomaly;
use crate::detect::rule::{Scope, TravelParams};
use crate::event::AuditEvent;

/// Great-circle distance in km.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

/// Evaluates the detector.
pub fn evaluate(
    p: &TravelParams,
    ev: &AuditEvent<'_>,
    profile: Option<&Profile>,
    cfg: &BaselineConfig,
) -> Option<Hit> {
    let profile = profile?;
    let prev = profile.last_location()?;
    let cur = location_of(ev)?;
    if cur.time_ms < prev.time_ms {
        return None;
    }
    let same_provider = prev.asn == cur.asn
        || crate::netclass::cloud_provider(prev.asn)
            .is_some_and(|a| crate::netclass::cloud_provider(cur.asn) == Some(a));
    if prev.cloud && cur.cloud && (same_provider || p.ignore_cloud) {
        return None;
    }
    let km = haversine_km(
        prev.lat as f64,
        prev.lon as f64,
        cur.lat as f64,
        cur.lon as f64,
    );
    if km < p.min_distance_km {
        return None;
    }
    // At least a minute: timestamps are coarse and locations imprecise.
    let hours = ((cur.time_ms - prev.time_ms).max(60_000)) as f64 / 3_600_000.0;
    let speed = km / hours;
    if speed <= p.max_speed_kmh {
        return None;
    }
    let now = profile.last_seen.max(ev.time_ms);
    let known = |f: Feature| {
        feature_value(ev, f).is_some_and(|v| {
            profile
                .values(f)
                .get_live(v.key, now, cfg.forget_after_ms)
                .is_some()
        })
    };
    if known(Feature::Country) && known(Feature::Asn) {
        return None;
    }
    let country = |c: [u8; 2]| String::from_utf8_lossy(&c).trim_matches('\0').to_string();
    let anomaly = Anomaly {
        feature: "location",
        observation_type: "travel_speed",
        scope: Scope::Identity,
        observed: format!(
            "{} (AS{}) {:.0} km from the previous call in {} (AS{}) {} earlier: {:.0} km/h",
            country(cur.country),
            cur.asn,
            km,
            country(prev.country),
            prev.asn,
            crate::time::format_duration_ms(cur.time_ms - prev.time_ms),
            speed
        ),
        baseline: Vec::new(),
        baseline_total: 0,
        scope_first_seen: profile.first_seen,
        scope_events: profile.observations,
        pattern: Some(format!(
            "previous located call at {}; speeds above {:.0} km/h are impossible",
            crate::time::format_rfc3339_ms(prev.time_ms),
            p.max_speed_kmh
        )),
    };
    Some(Hit {
        anomalies: vec![anomaly],
        components: vec![(
            "travel_speed",
            if speed > 5.0 * p.max_speed_kmh { 10 } else { 0 },
        )],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn distances() {
        // London - New York ~ 5570 km.
        let d = super::haversine_km(51.51, -0.13, 40.71, -74.01);
        assert!((5500.0..5650.0).contains(&d), "{d}");
    }
}
