//! Enrichment after parsing: GeoIP location and AS of the caller, event-reported location as a
//! fallback, and the user-agent family. Stateful (caches), so it runs once per event in the worker.
//! (Owner context from the NHI inventory will join here.)

use std::net::IpAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::event::useragent::UaClassifier;
use crate::event::AuditEvent;
use crate::geo::{GeoDb, GeoInfo};

/// Fills the enrichment fields of events.
pub struct Enricher {
    geo: GeoDb,
    geo_cache: FxHashMap<IpAddr, Option<Arc<GeoInfo>>>,
    ua: UaClassifier,
    cache_limit: usize,
}

impl Enricher {
    /// An enricher over the given GeoIP databases (possibly none).
    pub fn new(geo: GeoDb) -> Self {
        Enricher {
            geo,
            geo_cache: FxHashMap::default(),
            ua: UaClassifier::new(),
            cache_limit: 262_144,
        }
    }

    /// Sets `ua_family` and `geo` on the event.
    pub fn enrich(&mut self, ev: &mut AuditEvent<'_>) {
        ev.ua_family = Some(self.ua.family(&ev.user_agent));
        if let Some(ip) = ev.src_ip {
            let geo = &self.geo;
            if self.geo_cache.len() >= self.cache_limit {
                self.geo_cache.clear();
            }
            ev.geo = self
                .geo_cache
                .entry(ip)
                .or_insert_with(|| geo.lookup(ip).map(Arc::new))
                .clone();
        }
        if ev.geo.as_ref().is_none_or(|g| g.country.is_none()) {
            if let Some(eg) = ev.event_geo.as_ref().filter(|g| g.country.is_some()) {
                let mut g = ev.geo.as_deref().cloned().unwrap_or_default();
                g.country = eg.country.as_deref().map(Into::into);
                g.city = eg.city.as_deref().map(Into::into);
                g.lat = eg.lat;
                g.lon = eg.lon;
                g.origin = if g.asn.is_some() {
                    "geoip+event"
                } else {
                    "event"
                };
                ev.geo = Some(Arc::new(g));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsers::{Format, Parsers};

    const OKTA: &str = r#"{"uuid":"u1","published":"2024-03-01T00:00:00.000Z","eventType":"app.oauth2.as.token.grant.access_token","actor":{"id":"0oa1","type":"PublicClientApp"},"client":{"ipAddress":"IP","userAgent":{"rawUserAgent":"okhttp/4.12.0"},"geographicalContext":{"country":"Iceland","city":"Reykjavik","geolocation":{"lat":64.1,"lon":-21.9}}}}"#;

    #[test]
    fn event_geo_fills_in_where_geoip_has_none() {
        let p = Parsers::default();
        let mut e = Enricher::new(GeoDb::bundled_test());
        // An address the databases do not know: the event's own location is used.
        let raw = OKTA.replace("IP", "198.51.100.7");
        let mut ev = p.parse(raw.as_bytes(), Format::Auto).unwrap();
        e.enrich(&mut ev);
        let g = ev.geo.as_deref().unwrap();
        assert_eq!(g.country.as_deref(), Some("Iceland"));
        assert_eq!(g.city.as_deref(), Some("Reykjavik"));
        assert_eq!(g.origin, "event");
        assert_eq!(ev.client(), "okhttp");
        // A known address: GeoIP wins.
        let raw = OKTA.replace("IP", "45.135.232.10");
        let mut ev = p.parse(raw.as_bytes(), Format::Auto).unwrap();
        e.enrich(&mut ev);
        let g = ev.geo.as_deref().unwrap();
        assert_eq!(
            (g.country.as_deref(), g.asn, g.origin),
            (Some("RU"), Some(49505), "geoip")
        );
    }
}
