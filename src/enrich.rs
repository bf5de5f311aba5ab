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
    event_geo_cache: FxHashMap<u64, Arc<GeoInfo>>,
    ua: UaClassifier,
    cache_limit: usize,
}

impl Enricher {
    /// An enricher over the given GeoIP databases (possibly none).
    pub fn new(geo: GeoDb) -> Self {
        Enricher {
            geo,
            geo_cache: FxHashMap::default(),
            event_geo_cache: FxHashMap::default(),
            ua: UaClassifier::new(),
            cache_limit: 262_144,
        }
    }

    /// Sets `ua_family` and `geo` on the event.
    pub fn enrich(&mut self, ev: &mut AuditEvent<'_>) {
        ev.ua_family = Some(self.ua.family(&ev.user_agent));
        ev.classes = crate::event::classify::classify(ev);
        if let Some((t, _)) = crate::event::classify::target(ev) {
            ev.target = Some(t);
        }
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
                use std::hash::Hasher;
                let mut h = xxhash_rust::xxh3::Xxh3::new();
                h.write(eg.country.as_deref().unwrap_or("").as_bytes());
                h.write_u8(0);
                h.write(eg.city.as_deref().unwrap_or("").as_bytes());
                h.write_u64(
                    eg.lat.unwrap_or(0.0).to_bits()
                        ^ eg.lon.unwrap_or(0.0).to_bits().rotate_left(1),
                );
                if let Some(g) = &ev.geo {
                    h.write_u64(g.asn.unwrap_or(0) as u64);
                }
                let key = h.finish();
                if self.event_geo_cache.len() >= self.cache_limit {
                    self.event_geo_cache.clear();
                }
                let base = ev.geo.clone();
                let g = self.event_geo_cache.entry(key).or_insert_with(|| {
                    let mut g = base.as_deref().cloned().unwrap_or_default();
                    g.country = eg.country.as_deref().map(|c| match iso_country(c) {
                        Some(iso) => iso.into(),
                        None => c.into(),
                    });
                    g.city = eg.city.as_deref().map(Into::into);
                    g.lat = eg.lat;
                    g.lon = eg.lon;
                    g.origin = if g.asn.is_some() {
                        "geoip+event"
                    } else {
                        "event"
                    };
                    Arc::new(g)
                });
                ev.geo = Some(g.clone());
            }
        }
    }
}

/// ISO 3166-1 alpha-2 code of a country given as a code or an English name ("United States",
/// "Russia", "us"), so that event-reported countries compare equal to GeoIP's codes.
pub fn iso_country(name: &str) -> Option<&'static str> {
    use std::str::FromStr;
    let key: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if key.is_empty() {
        return None;
    }
    celes::Country::from_str(&key)
        .or_else(|_| celes::Country::from_alias(&key))
        .ok()
        .map(|c| c.alpha2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsers::{Format, Parsers};

    const OKTA: &str = r#"{"uuid":"u1","published":"2024-03-01T00:00:00.000Z","eventType":"app.oauth2.as.token.grant.access_token","actor":{"id":"0oa1","type":"PublicClientApp"},"client":{"ipAddress":"IP","userAgent":{"rawUserAgent":"okhttp/4.12.0"},"geographicalContext":{"country":"Iceland","city":"Reykjavik","geolocation":{"lat":64.1,"lon":-21.9}}}}"#;

    #[test]
    fn country_names_and_codes() {
        assert_eq!(iso_country("United States"), Some("US"));
        assert_eq!(iso_country("Russia"), Some("RU"));
        assert_eq!(iso_country("United Kingdom"), Some("GB"));
        assert_eq!(iso_country("us"), Some("US"));
        assert_eq!(iso_country("Brazil"), Some("BR"));
        assert_eq!(iso_country("Atlantis"), None);
        assert_eq!(iso_country(""), None);
    }

    #[test]
    fn event_geo_fills_in_where_geoip_has_none() {
        let p = Parsers::default();
        let mut e = Enricher::new(GeoDb::bundled_test());
        // An address the databases do not know: the event's own location is used.
        let raw = OKTA.replace("IP", "198.51.100.7");
        let mut ev = p.parse(raw.as_bytes(), Format::Auto).unwrap();
        e.enrich(&mut ev);
        let g = ev.geo.as_deref().unwrap();
        assert_eq!(g.country.as_deref(), Some("IS"), "names become ISO codes");
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
