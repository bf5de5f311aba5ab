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
