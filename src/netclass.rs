//! What sort of network an autonomous system is: a major cloud provider, a hosting / VPS
//! provider, an anonymising service (Tor exits, commercial VPNs), or anything else (ISPs,
//! enterprises). A non-human identity's credentials used from a VPS or a Tor exit it has never
//! used are a classic sign of theft, so `hosting` and `anonymizer` are a risk factor in scoring
//! and a field rules can match (`src.net_class`).
//!
//! The lists are deliberately small and conservative: well-known ASNs, then keywords in the AS
//! organisation name. A GeoIP ASN database gives the organisation; nothing here needs a network.

/// Network class of an AS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetClass {
    /// AWS, Azure, Google Cloud, Oracle, IBM, Alibaba and SaaS platforms' own networks.
    Cloud,
    /// Rentable servers: VPS and dedicated hosting.
    Hosting,
    /// Tor exit operators and commercial VPN providers.
    Anonymizer,
}

impl NetClass {
    /// Name used in rules and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            NetClass::Cloud => "cloud",
            NetClass::Hosting => "hosting",
            NetClass::Anonymizer => "anonymizer",
        }
    }

    /// True for classes that raise the risk of a finding.
    pub fn is_risky(self) -> bool {
        matches!(self, NetClass::Hosting | NetClass::Anonymizer)
    }
}

/// The cloud provider that owns an ASN, for the ones in the cloud list.
pub fn cloud_provider(asn: u32) -> Option<&'static str> {
    Some(match asn {
        16509 | 14618 | 8987 => "amazon",
        8075 | 8068 | 8069 | 12076 => "microsoft",
        15169 | 396982 | 19527 | 36040 => "google",
        31898 => "oracle",
        36351 => "ibm",
        45102 | 37963 => "alibaba",
        36459 => "github",
        13335 => "cloudflare",
        _ => return None,
    })
}

const HOSTING: &[u32] = &[
    14061, // DigitalOcean
    63949, // Akamai Connected Cloud (Linode)
    20473, // The Constant Company (Vultr, Choopa)
    16276, // OVH
    24940, 213230, // Hetzner
    9009,   // M247
    51167,  // Contabo
    49505,  // Selectel
    60781, 28753, 16265,  // Leaseweb
    12876,  // Scaleway
    51852,  // Private Layer
    57523,  // Chang Way Technologies
    60068,  // Datacamp (CDN77)
    47583,  // Hostinger
    62240,  // Clouvider
    136258, // BrainStorm Network
    35916,  // Multacom
    46562,  // Performive
    202425, // IP Volume
    211252, // Delis
    399629, // BL Networks
    53667,  // FranTech (BuyVM)
    8100,   // QuadraNet
    36352,  // ColoCrossing
];

const ANONYMIZER: &[u32] = &[
    205100, // F3 Netze (Tor exits)
    208323, // Foundation for Applied Privacy (Tor exits)
    396507, // Emerald Onion (Tor exits)
    39351,  // 31173 Services (Mullvad)
    209103, // Proton AG
    207137, // PacketHub (NordVPN)
];

const HOSTING_WORDS: &[&str] = &[
    "hosting",
    "vps",
    "data-center",
    "datacenter",
    "data center",
    "dedicated",
    "server",
    "colocation",
    "colo ",
];

const ANONYMIZER_WORDS: &[&str] = &["tor exit", "torservers", "vpn", "privacy", "anonym"];

/// Classifies an AS by number, then by organisation name.
pub fn classify(asn: Option<u32>, org: Option<&str>) -> Option<NetClass> {
    if let Some(a) = asn {
        if cloud_provider(a).is_some() {
            return Some(NetClass::Cloud);
        }
        if ANONYMIZER.contains(&a) {
            return Some(NetClass::Anonymizer);
        }
        if HOSTING.contains(&a) {
            return Some(NetClass::Hosting);
        }
    }
    let org = org?.to_ascii_lowercase();
    if ANONYMIZER_WORDS.iter().any(|w| org.contains(w)) {
        Some(NetClass::Anonymizer)
    } else if HOSTING_WORDS.iter().any(|w| org.contains(w)) {
        Some(NetClass::Hosting)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(
            classify(Some(16509), Some("AMAZON-02")),
            Some(NetClass::Cloud)
        );
        assert_eq!(classify(Some(14061), None), Some(NetClass::Hosting));
        assert_eq!(classify(Some(205100), None), Some(NetClass::Anonymizer));
        assert_eq!(
            classify(Some(1), Some("OOO Network of data-centers Selectel")),
            Some(NetClass::Hosting)
        );
        assert_eq!(classify(Some(7922), Some("COMCAST-7922")), None);
        assert_eq!(classify(None, None), None);
    }
}
