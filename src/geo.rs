//! GeoIP: MaxMind City/Country and ASN databases (GeoLite2, GeoIP2, DB-IP in MMDB format) read with
//! `maxminddb`. Lookups return a shared [`GeoInfo`]; [`crate::enrich::Enricher`] caches them per IP.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use serde::{Deserialize, Serialize};

/// Errors opening GeoIP databases.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be opened or is not an MMDB database.
    #[error("cannot open GeoIP database {path}: {source}")]
    Open {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        source: maxminddb::MaxMindDbError,
    },
}

/// Where an address is, and whose network it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 country code (or the country as the event wrote it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Box<str>>,
    /// City name (English).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<Box<str>>,
    /// Latitude.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Autonomous system number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Autonomous system organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_org: Option<Box<str>>,
    /// Cloud, hosting or anonymiser network ([`crate::netclass`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_class: Option<crate::netclass::NetClass>,
    /// `geoip` when from the databases, `event` when the record itself reported it.
    pub origin: &'static str,
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct CountryRec<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct CityName<'a> {
    #[serde(borrow)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct LocationRec {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct CityRec<'a> {
    #[serde(borrow)]
    country: Option<CountryRec<'a>>,
    #[serde(borrow)]
    registered_country: Option<CountryRec<'a>>,
    #[serde(borrow)]
    city: Option<CityName<'a>>,
    location: Option<LocationRec>,
}

#[derive(Deserialize)]
struct AsnRec<'a> {
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
}

/// The opened databases (either may be absent).
#[derive(Default)]
pub struct GeoDb {
    city: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
}

impl GeoDb {
    /// Opens the databases that are given.
    pub fn open(city: Option<&Path>, asn: Option<&Path>) -> Result<Self, GeoError> {
        let open = |p: &Path| {
            Reader::open_readfile(p).map_err(|source| GeoError::Open {
                path: p.to_path_buf(),
                source,
            })
        };
        Ok(GeoDb {
            city: city.map(open).transpose()?,
            asn: asn.map(open).transpose()?,
        })
    }

    /// Databases from in-memory MMDB images (e.g. the bundled test fixtures).
    pub fn from_bytes(
        city: Option<Vec<u8>>,
        asn: Option<Vec<u8>>,
    ) -> Result<Self, maxminddb::MaxMindDbError> {
        Ok(GeoDb {
            city: city.map(Reader::from_source).transpose()?,
            asn: asn.map(Reader::from_source).transpose()?,
        })
    }

    /// The invented test networks bundled with nhid (`examples/geoip/`, see NETWORKS.tsv there):
    /// used by inline rule tests so they run anywhere without a MaxMind download.
    pub fn bundled_test() -> Self {
        GeoDb::from_bytes(
            Some(include_bytes!("../examples/geoip/test-city.mmdb").to_vec()),
            Some(include_bytes!("../examples/geoip/test-asn.mmdb").to_vec()),
        )
        .expect("bundled test GeoIP databases are valid")
    }

    /// True if no database is loaded.
    pub fn is_empty(&self) -> bool {
        self.city.is_none() && self.asn.is_none()
    }

    /// Looks an address up in both databases. Private, loopback and unrouted addresses and
    /// addresses absent from both databases give `None`.
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoInfo> {
        let mut g = GeoInfo {
            origin: "geoip",
            ..GeoInfo::default()
        };
        let mut found = false;
        if let Some(r) = &self.city {
            if let Some(c) = r
                .lookup(ip)
                .ok()
                .and_then(|l| l.decode::<CityRec>().ok().flatten())
            {
                g.country = c
                    .country
                    .and_then(|c| c.iso_code)
                    .or(c.registered_country.and_then(|c| c.iso_code))
                    .map(Into::into);
                g.city = c
                    .city
                    .and_then(|c| c.names)
                    .and_then(|n| n.en)
                    .map(Into::into);
                if let Some(l) = c.location {
                    g.lat = l.latitude;
                    g.lon = l.longitude;
                }
                found |= g.country.is_some() || g.city.is_some();
            }
        }
        if let Some(r) = &self.asn {
            if let Some(a) = r
                .lookup(ip)
                .ok()
                .and_then(|l| l.decode::<AsnRec>().ok().flatten())
            {
                g.asn = a.autonomous_system_number;
                g.as_org = a.autonomous_system_organization.map(Into::into);
                g.net_class = crate::netclass::classify(g.asn, g.as_org.as_deref());
                found |= g.asn.is_some();
            }
        }
        found.then_some(g)
    }
}
