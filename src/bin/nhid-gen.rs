//! nhid-gen: a reproducible generator of realistic synthetic cloud audit logs.
//!
//! Writes JSON Lines in event-time order, mixing AWS CloudTrail (~70%), Azure Activity Log
//! (diagnostic-settings shape, ~12%), Okta System Log (~10%) and GitHub audit-log streaming (~8%)
//! records. Every identity has a stable "home" (1-2 source IPs in one or two /24s, one network and
//! country, 1-2 client families, 5-40 habitual actions, working hours and a rate) with benign
//! drift (SDK version bumps, an occasional new /24 in the same range, an occasional new harmless
//! read action). With `--attacks`, labelled attacks are injected and listed in a sidecar file.
//!
//! This binary deliberately shares no code or constants with the nhid library: it is an
//! independent model of the wire formats, so detectors are tested against data they did not shape.
//!
//! Output is byte-for-byte reproducible for a given set of arguments: all randomness comes from
//! `ChaCha8Rng` streams seeded from `--seed`. Days are generated one at a time (events of one day
//! are sampled as small descriptors, sorted, rendered and written), so memory stays bounded by one
//! day's descriptors (24 bytes per event) regardless of the total.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ------------------------------------------------------------------------------------------------
// CLI
// ------------------------------------------------------------------------------------------------

/// Synthetic, reproducible NHI audit-log generator (CloudTrail, Azure Activity, Okta, GitHub).
#[derive(Parser, Debug)]
#[command(name = "nhid-gen", version, about)]
struct Cli {
    /// Random seed: the same arguments and seed give byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of identities (about 95% non-human identities, 5% humans).
    #[arg(long, default_value_t = 200)]
    identities: usize,
    /// Number of days of history.
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// Number of benign events in total (attack records come on top).
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Inject labelled attacks (after at least 8 days of history of the victim identity).
    #[arg(long)]
    attacks: bool,
    /// Output file, or `-` for stdout.
    #[arg(long, short, default_value = "-")]
    output: String,
    /// Labels file for `--attacks` (default: OUTPUT.labels.jsonl, or nhid-gen.labels.jsonl when
    /// writing to stdout).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// First day (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2024-03-01")]
    start: String,
}

// ------------------------------------------------------------------------------------------------
// Small helpers: hashing, random strings, time formatting, an ordered JSON writer
// ------------------------------------------------------------------------------------------------

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn mix(a: u64, b: u64) -> u64 {
    splitmix(a ^ splitmix(b.wrapping_mul(0xD6E8_FEB8_6659_FD93)))
}

fn mix3(a: u64, b: u64, c: u64) -> u64 {
    mix(mix(a, b), c)
}

/// A tiny deterministic stream for values derived from identity state (session keys, names).
struct Sm(u64);

impl Sm {
    fn new(seed: u64) -> Sm {
        Sm(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix(self.0)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chars(&mut self, alpha: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alpha[self.below(alpha.len())] as char)
            .collect()
    }
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn rstr<R: Rng>(rng: &mut R, alpha: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| alpha[rng.random_range(0..alpha.len())] as char)
        .collect()
}

fn uuid<R: Rng>(rng: &mut R) -> String {
    let a: u64 = rng.random();
    let b: u64 = rng.random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

fn uuid_from(h: u64) -> String {
    let mut s = Sm::new(h);
    let a = s.next();
    let b = s.next();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u64;
    let mp = (m as u64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as u64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i64 - 719_468
}

/// RFC 3339 UTC time. `frac`: 0 (CloudTrail), 3 (Okta), 7 (Azure; `sub` adds the 4 digits below
/// the millisecond).
fn ts(ms: i64, frac: u8, sub: u32) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let (h, mi, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    match frac {
        0 => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        3 => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z"),
        _ => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}{sub:04}Z"),
    }
}

fn parse_date(s: &str) -> Result<i64> {
    let p: Vec<&str> = s.split('-').collect();
    if p.len() != 3 {
        bail!("--start must be YYYY-MM-DD, got {s:?}");
    }
    let y: i64 = p[0].parse().context("year")?;
    let m: u32 = p[1].parse().context("month")?;
    let d: u32 = p[2].parse().context("day")?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        bail!("--start must be a valid date, got {s:?}");
    }
    Ok(days_from_civil(y, m, d))
}

fn esc(b: &mut String, s: &str) {
    b.push('"');
    for c in s.chars() {
        match c {
            '"' => b.push_str("\\\""),
            '\\' => b.push_str("\\\\"),
            '\n' => b.push_str("\\n"),
            '\r' => b.push_str("\\r"),
            '\t' => b.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(b, "\\u{:04x}", c as u32);
            }
            c => b.push(c),
        }
    }
    b.push('"');
}

/// A JSON object being written in key order; closed on drop.
struct O<'a> {
    b: &'a mut String,
    n: bool,
}

impl<'a> O<'a> {
    fn new(b: &'a mut String) -> O<'a> {
        b.push('{');
        O { b, n: false }
    }
    fn k(&mut self, k: &str) {
        if self.n {
            self.b.push(',');
        }
        self.n = true;
        esc(self.b, k);
        self.b.push(':');
    }
    fn s(&mut self, k: &str, v: &str) -> &mut Self {
        self.k(k);
        esc(self.b, v);
        self
    }
    fn n(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Self {
        self.k(k);
        let _ = write!(self.b, "{v}");
        self
    }
    fn null(&mut self, k: &str) -> &mut Self {
        self.k(k);
        self.b.push_str("null");
        self
    }
    fn raw(&mut self, k: &str, v: &str) -> &mut Self {
        self.k(k);
        self.b.push_str(v);
        self
    }
    fn o(&mut self, k: &str, f: impl FnOnce(&mut O)) -> &mut Self {
        self.k(k);
        {
            let mut c = O::new(&mut *self.b);
            f(&mut c);
        }
        self
    }
    fn a(&mut self, k: &str, f: impl FnOnce(&mut A)) -> &mut Self {
        self.k(k);
        {
            let mut c = A::new(&mut *self.b);
            f(&mut c);
        }
        self
    }
}

impl Drop for O<'_> {
    fn drop(&mut self) {
        self.b.push('}');
    }
}

/// A JSON array being written; closed on drop.
struct A<'a> {
    b: &'a mut String,
    n: bool,
}

impl<'a> A<'a> {
    fn new(b: &'a mut String) -> A<'a> {
        b.push('[');
        A { b, n: false }
    }
    fn sep(&mut self) {
        if self.n {
            self.b.push(',');
        }
        self.n = true;
    }
    fn s(&mut self, v: &str) -> &mut Self {
        self.sep();
        esc(self.b, v);
        self
    }
    fn o(&mut self, f: impl FnOnce(&mut O)) -> &mut Self {
        self.sep();
        {
            let mut c = O::new(&mut *self.b);
            f(&mut c);
        }
        self
    }
}

impl Drop for A<'_> {
    fn drop(&mut self) {
        self.b.push(']');
    }
}

/// Builds a JSON object into a fresh string.
fn obj(f: impl FnOnce(&mut O)) -> String {
    let mut s = String::with_capacity(256);
    {
        let mut o = O::new(&mut s);
        f(&mut o);
    }
    s
}

// ------------------------------------------------------------------------------------------------
// Networks (homes and attacker ranges) with the geography they imply
// ------------------------------------------------------------------------------------------------

struct Net {
    a: u8,
    b: (u8, u8),
    c: (u8, u8),
    cc: &'static str,
    country: &'static str,
    state: &'static str,
    city: &'static str,
    postal: &'static str,
    lat: f64,
    lon: f64,
    asn: u32,
    org: &'static str,
    domain: &'static str,
    tz: i64,
    aws_region: &'static str,
    az_loc: &'static str,
}

const N_AWS_USE: usize = 0;
const N_AWS_USW: usize = 1;
const N_AWS_JP: usize = 2;
const N_AWS_GB: usize = 3;
const N_GCP: usize = 4;
const N_AZ_IE: usize = 5;
const N_AZ_US: usize = 6;
const N_GITHUB: usize = 7;
const N_CORP: usize = 8;
const N_RESI: usize = 9;
const N_ATK_DE: usize = 10;
const N_ATK_RU: usize = 11;
const N_ATK_RU_OKTA: usize = 12;
const N_ATK_SG: usize = 13;
const N_ATK_NG: usize = 14;

#[rustfmt::skip]
static NETS: [Net; 15] = [
    // 3.0.0.0/9
    Net { a: 3, b: (0, 127), c: (0, 255), cc: "US", country: "United States", state: "Virginia", city: "Ashburn", postal: "20149", lat: 39.0469, lon: -77.4903, asn: 14618, org: "amazon.com inc.", domain: "amazonaws.com", tz: -5, aws_region: "us-east-1", az_loc: "eastus" },
    // 52.0.0.0/11
    Net { a: 52, b: (0, 31), c: (0, 255), cc: "US", country: "United States", state: "Oregon", city: "Boardman", postal: "97818", lat: 45.8399, lon: -119.7006, asn: 16509, org: "amazon.com inc.", domain: "amazonaws.com", tz: -8, aws_region: "us-west-2", az_loc: "westus2" },
    // 54.64.0.0/11
    Net { a: 54, b: (64, 95), c: (0, 255), cc: "JP", country: "Japan", state: "Tokyo", city: "Tokyo", postal: "151-0053", lat: 35.6895, lon: 139.6917, asn: 16509, org: "amazon.com inc.", domain: "amazonaws.com", tz: 9, aws_region: "ap-northeast-1", az_loc: "japaneast" },
    // 18.130.0.0/16
    Net { a: 18, b: (130, 130), c: (0, 255), cc: "GB", country: "United Kingdom", state: "England", city: "London", postal: "EC2V", lat: 51.5085, lon: -0.1257, asn: 16509, org: "amazon.com inc.", domain: "amazonaws.com", tz: 0, aws_region: "eu-west-2", az_loc: "uksouth" },
    // 34.64.0.0/10
    Net { a: 34, b: (64, 127), c: (0, 255), cc: "US", country: "United States", state: "Iowa", city: "Council Bluffs", postal: "51502", lat: 41.2619, lon: -95.8608, asn: 396982, org: "google llc", domain: "googleusercontent.com", tz: -6, aws_region: "us-east-2", az_loc: "centralus" },
    // 20.0.0.0/11
    Net { a: 20, b: (0, 31), c: (0, 255), cc: "IE", country: "Ireland", state: "Leinster", city: "Dublin", postal: "D02", lat: 53.3331, lon: -6.2489, asn: 8075, org: "microsoft corporation", domain: "microsoft.com", tz: 0, aws_region: "eu-west-1", az_loc: "northeurope" },
    // 40.64.0.0/10
    Net { a: 40, b: (64, 127), c: (0, 255), cc: "US", country: "United States", state: "Virginia", city: "Boydton", postal: "23917", lat: 36.6676, lon: -78.3875, asn: 8075, org: "microsoft corporation", domain: "microsoft.com", tz: -5, aws_region: "us-east-1", az_loc: "eastus" },
    // 140.82.112.0/20
    Net { a: 140, b: (82, 82), c: (112, 127), cc: "US", country: "United States", state: "California", city: "San Francisco", postal: "94107", lat: 37.7697, lon: -122.3933, asn: 36459, org: "github, inc.", domain: "github.com", tz: -8, aws_region: "us-west-1", az_loc: "westus" },
    // 64.124.0.0/15
    Net { a: 64, b: (124, 125), c: (0, 255), cc: "US", country: "United States", state: "New York", city: "New York", postal: "10004", lat: 40.7143, lon: -74.006, asn: 6461, org: "zayo bandwidth", domain: "zayo.com", tz: -5, aws_region: "us-east-1", az_loc: "eastus2" },
    // 73.0.0.0/8
    Net { a: 73, b: (0, 255), c: (0, 255), cc: "US", country: "United States", state: "Colorado", city: "Denver", postal: "80202", lat: 39.7392, lon: -104.9847, asn: 7922, org: "comcast cable communications llc", domain: "comcast.net", tz: -7, aws_region: "us-west-2", az_loc: "westus2" },
    // 185.220.100.0/22
    Net { a: 185, b: (220, 220), c: (100, 103), cc: "DE", country: "Germany", state: "Hesse", city: "Frankfurt am Main", postal: "60313", lat: 50.1155, lon: 8.6842, asn: 205100, org: "f3 netze e.v.", domain: "f3netze.de", tz: 1, aws_region: "eu-central-1", az_loc: "germanywestcentral" },
    // 45.135.232.0/22
    Net { a: 45, b: (135, 135), c: (232, 235), cc: "RU", country: "Russia", state: "Moscow", city: "Moscow", postal: "101000", lat: 55.7522, lon: 37.6156, asn: 210644, org: "aeza international ltd", domain: "aeza.net", tz: 3, aws_region: "eu-central-1", az_loc: "westeurope" },
    // 5.188.10.0/23
    Net { a: 5, b: (188, 188), c: (10, 11), cc: "RU", country: "Russia", state: "St.-Petersburg", city: "Saint Petersburg", postal: "190000", lat: 59.9386, lon: 30.3141, asn: 49453, org: "global layer b.v.", domain: "globallayer.com", tz: 3, aws_region: "eu-central-1", az_loc: "westeurope" },
    // 103.251.166.0/23
    Net { a: 103, b: (251, 251), c: (166, 167), cc: "SG", country: "Singapore", state: "Singapore", city: "Singapore", postal: "018989", lat: 1.2897, lon: 103.8501, asn: 138915, org: "kaopu cloud hk limited", domain: "kaopuyun.com", tz: 8, aws_region: "ap-southeast-1", az_loc: "southeastasia" },
    // 196.251.72.0/22
    Net { a: 196, b: (251, 251), c: (72, 75), cc: "NG", country: "Nigeria", state: "Lagos", city: "Lagos", postal: "100001", lat: 6.4541, lon: 3.3947, asn: 401120, org: "cheapy.host llc", domain: "cheapy.host", tz: 1, aws_region: "eu-west-3", az_loc: "southafricanorth" },
];

fn ip_in<R: Rng>(net: &Net, rng: &mut R) -> [u8; 4] {
    [
        net.a,
        rng.random_range(net.b.0..=net.b.1),
        rng.random_range(net.c.0..=net.c.1),
        rng.random_range(4..=250),
    ]
}

fn ip_str(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

// ------------------------------------------------------------------------------------------------
// Identity kinds, catalogs of actions and clients
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Src {
    CloudTrail,
    Azure,
    Okta,
    GitHub,
}

impl Src {
    fn idx(self) -> usize {
        self as usize
    }
    fn name(i: usize) -> &'static str {
        ["cloudtrail", "azure_activity", "okta", "github_audit"][i]
    }
}

/// Target share of events per source.
const SHARE: [f64; 4] = [0.70, 0.12, 0.10, 0.08];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Ec2Role,
    LambdaRole,
    CiRole,
    IamUser,
    AwsHuman,
    AzureSp,
    AzureMi,
    OktaApp,
    OktaHuman,
    GhBot,
    GhPat,
    GhHuman,
}

impl Kind {
    fn src(self) -> Src {
        match self {
            Kind::Ec2Role | Kind::LambdaRole | Kind::CiRole | Kind::IamUser | Kind::AwsHuman => {
                Src::CloudTrail
            }
            Kind::AzureSp | Kind::AzureMi => Src::Azure,
            Kind::OktaApp | Kind::OktaHuman => Src::Okta,
            Kind::GhBot | Kind::GhPat | Kind::GhHuman => Src::GitHub,
        }
    }
    /// Catalog tag bit of this kind.
    fn tag(self) -> u8 {
        match self {
            Kind::Ec2Role => T_EC2,
            Kind::LambdaRole => T_LAMBDA,
            Kind::CiRole => T_CI,
            Kind::IamUser => T_USER,
            Kind::AwsHuman => T_HUMAN,
            Kind::AzureSp => T_SP,
            Kind::AzureMi => T_MI,
            Kind::OktaApp => T_APP,
            Kind::OktaHuman => T_OHUMAN,
            Kind::GhBot => T_BOT,
            Kind::GhPat => T_PAT,
            Kind::GhHuman => T_GHUMAN,
        }
    }
    /// Home networks (weighted by repetition).
    fn nets(self) -> &'static [usize] {
        match self {
            Kind::Ec2Role | Kind::LambdaRole => &[
                N_AWS_USE, N_AWS_USE, N_AWS_USE, N_AWS_USW, N_AWS_USW, N_AWS_JP, N_AWS_GB,
            ],
            Kind::CiRole => &[N_AZ_US, N_AZ_US, N_AZ_IE, N_AWS_USE],
            Kind::IamUser => &[N_CORP, N_CORP, N_GCP, N_GCP, N_AWS_USE, N_RESI],
            Kind::AwsHuman | Kind::OktaHuman | Kind::GhHuman => &[N_RESI, N_RESI, N_CORP],
            Kind::AzureSp => &[N_AZ_US, N_AZ_US, N_AZ_IE, N_AZ_IE, N_CORP, N_GCP],
            Kind::AzureMi => &[N_AZ_US, N_AZ_IE],
            Kind::OktaApp => &[N_AWS_USE, N_AWS_USW, N_GCP, N_AZ_US, N_AZ_IE, N_CORP],
            Kind::GhBot => &[N_GITHUB, N_GITHUB, N_AWS_USE, N_AZ_US],
            Kind::GhPat => &[N_CORP, N_AWS_USE, N_GCP, N_AZ_US],
        }
    }
    /// Relative event rate of the kind (multiplied by a per-identity log-normal factor).
    fn rate(self) -> f64 {
        match self {
            Kind::Ec2Role => 1.6,
            Kind::LambdaRole => 1.0,
            Kind::CiRole => 0.6,
            Kind::IamUser => 0.8,
            Kind::AwsHuman | Kind::OktaHuman | Kind::GhHuman => 0.25,
            Kind::AzureSp => 1.0,
            Kind::AzureMi => 1.2,
            Kind::OktaApp => 1.0,
            Kind::GhBot => 1.2,
            Kind::GhPat => 1.0,
        }
    }
}

/// Identity kind mix (fractions of `--identities`).
const MIX: [(Kind, f64); 12] = [
    (Kind::Ec2Role, 0.25),
    (Kind::LambdaRole, 0.15),
    (Kind::CiRole, 0.08),
    (Kind::IamUser, 0.12),
    (Kind::AwsHuman, 0.03),
    (Kind::AzureSp, 0.09),
    (Kind::AzureMi, 0.06),
    (Kind::OktaApp, 0.10),
    (Kind::OktaHuman, 0.01),
    (Kind::GhBot, 0.06),
    (Kind::GhPat, 0.04),
    (Kind::GhHuman, 0.01),
];

const T_EC2: u8 = 1;
const T_LAMBDA: u8 = 2;
const T_CI: u8 = 4;
const T_USER: u8 = 8;
const T_HUMAN: u8 = 16;
const T_SP: u8 = 1;
const T_MI: u8 = 2;
const T_APP: u8 = 1;
const T_OHUMAN: u8 = 2;
const T_BOT: u8 = 1;
const T_PAT: u8 = 2;
const T_GHUMAN: u8 = 4;

/// AWS API calls: (service, eventName, readOnly, data event, kinds using it habitually).
#[rustfmt::skip]
static AWS: &[(&str, &str, bool, bool, u8)] = &[
    ("s3", "GetObject", true, true, T_EC2 | T_LAMBDA | T_CI | T_USER),
    ("s3", "PutObject", false, true, T_EC2 | T_LAMBDA | T_CI | T_USER),
    ("s3", "HeadObject", true, true, T_EC2 | T_LAMBDA | T_USER),
    ("s3", "ListObjects", true, true, T_EC2 | T_LAMBDA | T_CI | T_USER | T_HUMAN),
    ("secretsmanager", "GetSecretValue", true, false, T_EC2 | T_LAMBDA | T_CI | T_USER),
    ("kms", "Decrypt", true, false, T_EC2 | T_LAMBDA | T_CI | T_USER),
    ("ssm", "GetParameter", true, false, T_EC2 | T_LAMBDA | T_CI),
    ("ec2", "DescribeInstances", true, false, T_EC2 | T_CI | T_USER | T_HUMAN),
    ("sts", "GetCallerIdentity", true, false, T_EC2 | T_LAMBDA | T_CI | T_USER | T_HUMAN),
    ("ssm", "UpdateInstanceInformation", false, false, T_EC2),
    ("kms", "GenerateDataKey", true, false, T_EC2 | T_LAMBDA | T_USER),
    ("dynamodb", "DescribeTable", true, false, T_LAMBDA | T_EC2 | T_CI),
    ("sqs", "GetQueueAttributes", true, false, T_LAMBDA | T_EC2),
    ("ssm", "GetParameters", true, false, T_EC2 | T_LAMBDA | T_CI),
    ("ssm", "GetParametersByPath", true, false, T_EC2 | T_LAMBDA),
    ("ssm", "ListInstanceAssociations", true, false, T_EC2),
    ("ec2", "DescribeTags", true, false, T_EC2 | T_USER),
    ("ecr", "GetAuthorizationToken", true, false, T_EC2 | T_CI),
    ("ecr", "BatchGetImage", true, false, T_EC2 | T_CI),
    ("ecr", "GetDownloadUrlForLayer", true, false, T_EC2 | T_CI),
    ("secretsmanager", "DescribeSecret", true, false, T_EC2 | T_LAMBDA | T_CI | T_HUMAN),
    ("logs", "CreateLogStream", false, false, T_EC2 | T_LAMBDA),
    ("logs", "DescribeLogGroups", true, false, T_CI | T_HUMAN | T_EC2),
    ("kms", "Encrypt", true, false, T_LAMBDA | T_USER),
    ("kms", "DescribeKey", true, false, T_CI | T_HUMAN),
    ("s3", "DeleteObject", false, true, T_LAMBDA | T_USER),
    ("s3", "ListBuckets", true, false, T_CI | T_USER | T_HUMAN),
    ("s3", "GetBucketLocation", true, false, T_EC2 | T_CI | T_USER | T_HUMAN),
    ("s3", "GetBucketPolicy", true, false, T_CI | T_HUMAN),
    ("sts", "AssumeRole", false, false, T_CI | T_USER | T_EC2),
    ("sts", "GetSessionToken", false, false, T_USER),
    ("ec2", "DescribeVolumes", true, false, T_EC2 | T_USER | T_HUMAN),
    ("ec2", "DescribeSecurityGroups", true, false, T_CI | T_USER | T_HUMAN),
    ("ec2", "DescribeSubnets", true, false, T_CI | T_USER),
    ("ec2", "DescribeVpcs", true, false, T_CI | T_USER | T_HUMAN),
    ("ec2", "DescribeNetworkInterfaces", true, false, T_EC2 | T_CI),
    ("ec2", "DescribeSnapshots", true, false, T_USER | T_HUMAN),
    ("ec2", "CreateSnapshot", false, false, T_USER),
    ("ec2", "CreateTags", false, false, T_EC2 | T_CI | T_USER),
    ("ec2", "DescribeRegions", true, false, T_USER | T_HUMAN),
    ("ec2", "RunInstances", false, false, T_CI),
    ("iam", "GetRole", true, false, T_CI | T_HUMAN),
    ("iam", "ListRoles", true, false, T_HUMAN),
    ("iam", "ListAttachedRolePolicies", true, false, T_CI | T_HUMAN),
    ("iam", "GetPolicy", true, false, T_CI | T_HUMAN),
    ("iam", "GetPolicyVersion", true, false, T_CI),
    ("iam", "ListUsers", true, false, T_HUMAN),
    ("iam", "GetUser", true, false, T_USER | T_HUMAN),
    ("iam", "ListAccessKeys", true, false, T_USER | T_HUMAN),
    ("lambda", "GetFunction", true, false, T_CI | T_HUMAN),
    ("lambda", "ListFunctions20150331", true, false, T_CI | T_HUMAN),
    ("lambda", "UpdateFunctionCode20150331v2", false, false, T_CI),
    ("lambda", "GetFunctionConfiguration20150331v2", true, false, T_CI | T_LAMBDA),
    ("dynamodb", "ListTables", true, false, T_CI | T_HUMAN),
    ("sqs", "ListQueues", true, false, T_LAMBDA | T_EC2 | T_HUMAN),
    ("ecr", "PutImage", false, false, T_CI),
    ("ecr", "InitiateLayerUpload", false, false, T_CI),
    ("ssm", "PutParameter", false, false, T_CI | T_HUMAN),
    ("cloudformation", "DescribeStacks", true, false, T_CI | T_HUMAN),
    ("cloudformation", "DescribeStackEvents", true, false, T_CI),
    ("cloudformation", "UpdateStack", false, false, T_CI),
    ("eks", "DescribeCluster", true, false, T_CI | T_EC2 | T_HUMAN),
    ("monitoring", "GetMetricData", true, false, T_EC2 | T_USER | T_HUMAN),
    ("monitoring", "DescribeAlarms", true, false, T_USER | T_HUMAN),
    ("autoscaling", "DescribeAutoScalingGroups", true, false, T_EC2 | T_CI | T_HUMAN),
    ("elasticloadbalancing", "DescribeLoadBalancers", true, false, T_CI | T_HUMAN | T_USER),
    ("route53", "ListHostedZones", true, false, T_CI | T_HUMAN | T_USER),
    ("route53", "ChangeResourceRecordSets", false, false, T_CI),
    ("rds", "DescribeDBInstances", true, false, T_USER | T_HUMAN | T_CI),
    ("cloudtrail", "LookupEvents", true, false, T_HUMAN | T_USER),
    ("config", "DescribeConfigRules", true, false, T_USER),
    ("organizations", "DescribeOrganization", true, false, T_HUMAN | T_USER),
    // Used by attackers only.
    ("secretsmanager", "ListSecrets", true, false, 0),
    ("iam", "CreateAccessKey", false, false, 0),
    ("iam", "CreateUser", false, false, 0),
    ("iam", "GetAccountAuthorizationDetails", true, false, 0),
];

fn aws_act(name: &str) -> usize {
    AWS.iter()
        .position(|a| a.1 == name)
        .expect("known AWS action")
}

/// Azure operations: (operationName, kinds using it habitually).
#[rustfmt::skip]
static AZURE: &[(&str, u8)] = &[
    ("Microsoft.KeyVault/vaults/secrets/read", T_SP | T_MI),
    ("Microsoft.Storage/storageAccounts/read", T_SP | T_MI),
    ("Microsoft.Compute/virtualMachines/read", T_SP | T_MI),
    ("Microsoft.Storage/storageAccounts/listKeys/action", T_SP | T_MI),
    ("Microsoft.KeyVault/vaults/read", T_SP | T_MI),
    ("Microsoft.Resources/subscriptions/resourceGroups/read", T_SP | T_MI),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/read", T_SP | T_MI),
    ("Microsoft.Compute/disks/read", T_SP | T_MI),
    ("Microsoft.Network/networkInterfaces/read", T_SP | T_MI),
    ("Microsoft.Web/sites/read", T_SP | T_MI),
    ("Microsoft.ContainerService/managedClusters/read", T_SP | T_MI),
    ("Microsoft.Sql/servers/databases/read", T_SP | T_MI),
    ("Microsoft.Insights/diagnosticSettings/read", T_SP | T_MI),
    ("Microsoft.ContainerRegistry/registries/read", T_SP | T_MI),
    ("Microsoft.KeyVault/vaults/secrets/write", T_SP),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/write", T_SP),
    ("Microsoft.Compute/virtualMachines/write", T_SP),
    ("Microsoft.Compute/virtualMachines/start/action", T_SP),
    ("Microsoft.Compute/virtualMachines/deallocate/action", T_SP),
    ("Microsoft.Compute/snapshots/write", T_SP),
    ("Microsoft.Network/networkSecurityGroups/read", T_SP),
    ("Microsoft.Network/publicIPAddresses/read", T_SP),
    ("Microsoft.Network/virtualNetworks/read", T_SP),
    ("Microsoft.Resources/deployments/write", T_SP),
    ("Microsoft.Resources/tags/write", T_SP),
    ("Microsoft.Web/sites/config/list/action", T_SP),
    ("Microsoft.Web/sites/restart/action", T_SP),
    ("Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", T_SP),
    ("Microsoft.Sql/servers/firewallRules/write", T_SP),
    ("Microsoft.Authorization/roleAssignments/read", T_SP),
    ("Microsoft.OperationalInsights/workspaces/sharedKeys/action", T_SP),
    ("Microsoft.ContainerRegistry/registries/listCredentials/action", T_SP),
];

fn az_act(op: &str) -> usize {
    AZURE
        .iter()
        .position(|a| a.0 == op)
        .expect("known Azure operation")
}

/// Okta System Log event types: (eventType, displayMessage, kinds, harmless/read-like).
#[rustfmt::skip]
static OKTA: &[(&str, &str, u8, bool)] = &[
    ("app.oauth2.as.token.grant.access_token", "OAuth2 access token is granted", T_APP, true),
    ("app.oauth2.token.grant.access_token", "OAuth2 access token is granted", T_APP, true),
    ("user.lifecycle.create", "Create Okta user", T_APP, false),
    ("user.lifecycle.activate", "Activate Okta user", T_APP, false),
    ("user.lifecycle.deactivate", "Deactivate Okta user", T_APP, false),
    ("user.account.update_profile", "Update user profile for Okta", T_APP, false),
    ("group.user_membership.add", "Add user to group membership", T_APP, false),
    ("group.user_membership.remove", "Remove user from group membership", T_APP, false),
    ("application.user_membership.add", "Add user to application membership", T_APP, false),
    ("application.user_membership.remove", "Remove user from application membership", T_APP, false),
    ("group.profile.update", "Update group profile", T_APP, false),
    ("system.org.rate_limit.warning", "Rate limit warning", T_APP, true),
    ("app.oauth2.as.token.revoke", "OAuth2 token revocation request", T_APP, false),
    ("user.session.start", "User login to Okta", T_OHUMAN, true),
    ("user.authentication.sso", "User single sign on to app", T_OHUMAN, true),
    ("user.authentication.auth_via_mfa", "Authentication of user via MFA", T_OHUMAN, true),
    ("app.oauth2.as.authorize", "OAuth2 authorization request", T_OHUMAN, true),
    ("app.oauth2.as.authorize.code", "OAuth2 authorization code request", T_OHUMAN, true),
    ("app.oauth2.as.token.grant.id_token", "OAuth2 id token is granted", T_OHUMAN, true),
    ("policy.evaluate_sign_on", "Evaluation of sign-on policy", T_OHUMAN, true),
    ("user.session.end", "User logout from Okta", T_OHUMAN, true),
    ("user.authentication.verify", "Verify user identity", T_OHUMAN, true),
];

/// GitHub audit actions: (action, operation_type, kinds, read-like, git transport).
#[rustfmt::skip]
static GITHUB: &[(&str, &str, u8, bool, bool)] = &[
    ("git.clone", "access", T_BOT | T_PAT | T_GHUMAN, true, true),
    ("git.fetch", "access", T_BOT | T_PAT | T_GHUMAN, true, true),
    ("git.push", "modify", T_BOT | T_PAT | T_GHUMAN, false, true),
    ("repo.download_zip", "access", T_BOT | T_PAT | T_GHUMAN, true, false),
    ("workflows.created_workflow_run", "create", T_BOT | T_PAT | T_GHUMAN, false, false),
    ("workflows.completed_workflow_run", "modify", T_BOT | T_GHUMAN, false, false),
    ("workflows.prepared_workflow_job", "create", T_BOT, false, false),
    ("pull_request.create", "create", T_BOT | T_PAT | T_GHUMAN, false, false),
    ("pull_request.merge", "modify", T_BOT | T_GHUMAN, false, false),
    ("pull_request_review.submit", "create", T_BOT | T_GHUMAN, false, false),
    ("pull_request.close", "modify", T_BOT | T_GHUMAN, false, false),
    ("packages.package_version_published", "create", T_BOT | T_PAT, false, false),
    ("issue_comment.update", "modify", T_BOT | T_GHUMAN, false, false),
    ("repo.update_actions_secret", "modify", T_PAT | T_GHUMAN, false, false),
    ("hook.create", "create", T_PAT | T_GHUMAN, false, false),
    ("protected_branch.policy_override", "modify", T_GHUMAN, false, false),
    ("repo.create", "create", T_GHUMAN | T_PAT, false, false),
    ("repo.add_topic", "modify", T_GHUMAN, false, false),
    ("integration_installation.repositories_added", "modify", T_GHUMAN, false, false),
];

/// Client families (user agents), each with a version ladder for SDK bumps.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Client {
    Boto3,
    AwsCli,
    GoV2,
    Java,
    Terraform,
    NodeJs,
    SsmAgent,
    Chrome,
    Firefox,
    OktaJava,
    OktaPython,
    PyRequests,
    OkHttp,
    OktaNode,
    GoHttp,
    Git,
    Octokit,
    GhCli,
    PyGithub,
}

impl Client {
    fn versions(self) -> &'static [&'static str] {
        match self {
            Client::Boto3 => &[
                "1.34.12", "1.34.34", "1.34.51", "1.34.69", "1.34.84", "1.34.101", "1.34.113",
            ],
            Client::AwsCli => &[
                "2.15.10", "2.15.17", "2.15.30", "2.15.38", "2.15.45", "2.15.57",
            ],
            Client::GoV2 => &["1.24.0", "1.24.1", "1.25.0", "1.25.2", "1.26.0", "1.26.1"],
            Client::Java => &[
                "2.21.46", "2.23.10", "2.24.13", "2.25.6", "2.25.16", "2.25.40",
            ],
            Client::Terraform => &["1.6.6", "1.7.3", "1.7.4", "1.7.5", "1.8.0", "1.8.2"],
            Client::NodeJs => &[
                "3.490.0", "3.509.0", "3.525.0", "3.540.0", "3.554.0", "3.565.0",
            ],
            Client::SsmAgent => &[
                "3.2.2016.0",
                "3.2.2143.0",
                "3.2.2222.0",
                "3.3.40.0",
                "3.3.131.0",
            ],
            Client::Chrome => &[
                "120.0.0.0",
                "121.0.0.0",
                "122.0.0.0",
                "123.0.0.0",
                "124.0.0.0",
            ],
            Client::Firefox => &["121.0", "122.0", "123.0", "124.0", "125.0"],
            Client::OktaJava => &["8.2.3", "8.2.5", "10.0.0", "10.2.0", "11.0.0"],
            Client::OktaPython => &["2.9.2", "2.9.5", "2.9.6", "2.9.7", "2.9.8"],
            Client::PyRequests => &["2.28.2", "2.31.0", "2.32.0", "2.32.2", "2.32.3"],
            Client::OkHttp => &[
                "4.10.0",
                "4.11.0",
                "4.12.0",
                "5.0.0-alpha.12",
                "5.0.0-alpha.14",
            ],
            Client::OktaNode => &["7.0.1", "7.1.0", "7.1.1", "7.2.0", "7.3.0"],
            Client::GoHttp => &["1.1", "1.1", "2.0", "2.0", "2.0"],
            Client::Git => &["2.39.3", "2.40.1", "2.43.0", "2.43.2", "2.44.0", "2.45.0"],
            Client::Octokit => &["20.0.2", "20.1.0", "20.1.1", "21.0.0", "21.0.1"],
            Client::GhCli => &["2.42.1", "2.43.1", "2.44.1", "2.45.0", "2.46.0"],
            Client::PyGithub => &["1.59.1", "2.1.1", "2.2.0", "2.3.0", "2.3.0"],
        }
    }
    fn families(kind: Kind) -> &'static [Client] {
        match kind {
            Kind::Ec2Role => &[
                Client::Boto3,
                Client::Boto3,
                Client::Java,
                Client::GoV2,
                Client::AwsCli,
            ],
            Kind::LambdaRole => &[Client::Boto3, Client::NodeJs, Client::Java],
            Kind::CiRole => &[Client::AwsCli, Client::Terraform, Client::Terraform],
            Kind::IamUser => &[
                Client::Boto3,
                Client::GoV2,
                Client::Java,
                Client::AwsCli,
                Client::Terraform,
            ],
            Kind::AwsHuman | Kind::OktaHuman | Kind::GhHuman => {
                &[Client::Chrome, Client::Chrome, Client::Firefox]
            }
            Kind::AzureSp | Kind::AzureMi => &[Client::GoHttp],
            Kind::OktaApp => &[
                Client::OktaJava,
                Client::OktaPython,
                Client::PyRequests,
                Client::OkHttp,
                Client::OktaNode,
                Client::GoHttp,
            ],
            Kind::GhBot => &[Client::Octokit, Client::Git, Client::GoHttp],
            Kind::GhPat => &[Client::Git, Client::Git, Client::GhCli, Client::PyGithub],
        }
    }
}

static APPS: &[&str] = &[
    "billing",
    "checkout",
    "search",
    "ingest",
    "etl",
    "analytics",
    "payments",
    "catalog",
    "auth",
    "notify",
    "reporting",
    "mltrain",
    "inventory",
    "gateway",
    "web",
    "batch",
    "scheduler",
    "backup",
    "monitor",
    "events",
    "orders",
    "ledger",
    "pricing",
    "media",
    "export",
    "sync",
    "crm",
    "fraud",
    "recs",
    "audit",
];
static ENVS: &[&str] = &["prod", "prod", "prod", "staging", "dev"];
static FN_VERBS: &[&str] = &[
    "processor",
    "handler",
    "exporter",
    "resizer",
    "consumer",
    "rotator",
    "cleanup",
    "webhook",
    "indexer",
    "notifier",
];
static FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki", "priya",
    "omar", "chen", "fatima",
];
static LAST: &[&str] = &[
    "smith", "jones", "garcia", "chen", "kumar", "nakamura", "okafor", "muller", "rossi", "novak",
    "silva", "kim", "patel", "ahmed", "schmidt",
];
static REPO_SUFFIX: &[&str] = &[
    "service",
    "api",
    "infra",
    "terraform",
    "web",
    "worker",
    "lib",
    "deploy",
    "config",
    "docs",
    "sdk",
    "cli",
    "charts",
    "pipelines",
    "frontend",
];
const COMPANY: &str = "acme";
const EMAIL_DOMAIN: &str = "acme-corp.example";
const GH_ORG: &str = "acme-corp";
const GH_BUSINESS: &str = "acme";

// ------------------------------------------------------------------------------------------------
// Identities
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Sched {
    /// Around the clock.
    Always,
    /// Local office hours [start, end) on weekdays, little on weekends.
    Office(i64, i64),
    /// Periodic job: every `period` seconds, at `offset` into the period.
    Cron(i64, i64),
}

struct Ident {
    kind: Kind,
    h: u64,
    app: &'static str,
    env: &'static str,
    /// Role / IAM user / Okta app display name / GitHub login / Azure app display name.
    name: String,
    /// Index of the AWS account or Azure subscription.
    acct: usize,
    /// AROA/AIDA unique id; Azure application id; Okta client or user id; GitHub actor id.
    pid: String,
    /// Azure object id; human e-mail; GitHub token id.
    oid: String,
    net: usize,
    ips: Vec<[u8; 4]>,
    /// Per IP: EC2 instance id, Lambda function name.
    sessions: Vec<String>,
    drift_ip: Option<(u32, [u8; 4], String)>,
    clients: Vec<Client>,
    ver: usize,
    bump_day: u32,
    actions: Vec<u16>,
    cum: Vec<f64>,
    drift_action: Option<(u32, u16)>,
    sched: Sched,
    weight: f64,
    weekend: f64,
    start_day: u32,
    region: &'static str,
    /// Azure: client authenticates with a certificate (appidacr 2) or a secret (1).
    cert: bool,
    /// GitHub repositories (indexes into the org list).
    repos: Vec<usize>,
    /// IAM user access key rotation day.
    rotate_day: u32,
}

impl Ident {
    /// The identity's usual client, or its second one 30% of the time.
    fn pick_client(&self, rng: &mut impl Rng) -> Client {
        if self.clients.len() > 1 && rng.random_bool(0.3) {
            self.clients[1]
        } else {
            self.clients[0]
        }
    }

    /// The label's natural identifier of the identity.
    fn label_id(&self, w: &World) -> String {
        match self.kind {
            Kind::Ec2Role | Kind::LambdaRole | Kind::CiRole | Kind::AwsHuman => {
                format!("arn:aws:iam::{}:role/{}", w.accounts[self.acct], self.name)
            }
            Kind::IamUser => format!("arn:aws:iam::{}:user/{}", w.accounts[self.acct], self.name),
            Kind::AzureSp | Kind::AzureMi => self.pid.clone(),
            Kind::OktaApp | Kind::OktaHuman => self.pid.clone(),
            Kind::GhBot | Kind::GhPat | Kind::GhHuman => self.name.clone(),
        }
    }
}

fn normal<R: Rng>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn pick<'a, T, R: Rng>(rng: &mut R, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

fn sample_cum(cum: &[f64], x: f64) -> usize {
    let total = *cum.last().unwrap_or(&0.0);
    let x = x * total;
    cum.partition_point(|&c| c <= x).min(cum.len() - 1)
}

fn kind_counts(n: usize) -> Vec<(Kind, usize)> {
    let mut counts: Vec<(Kind, usize, f64)> = MIX
        .iter()
        .map(|&(k, p)| {
            let x = n as f64 * p;
            (k, x.floor() as usize, x - x.floor())
        })
        .collect();
    let mut left = n - counts.iter().map(|c| c.1).sum::<usize>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        counts[b]
            .2
            .partial_cmp(&counts[a].2)
            .unwrap()
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[i].1 += 1;
        left -= 1;
    }
    // Every source (and every attack target kind) gets at least one identity when possible.
    if n >= 4 {
        for need in [Kind::Ec2Role, Kind::AzureSp, Kind::OktaApp, Kind::GhPat] {
            let i = counts.iter().position(|c| c.0 == need).unwrap();
            if counts[i].1 == 0 {
                let j = (0..counts.len())
                    .max_by_key(|&j| (counts[j].1, usize::MAX - j))
                    .unwrap();
                counts[j].1 -= 1;
                counts[i].1 += 1;
            }
        }
    }
    counts.into_iter().map(|(k, c, _)| (k, c)).collect()
}

struct World {
    start_day: i64,
    days: u32,
    accounts: Vec<String>,
    subs: Vec<String>,
    tenant: String,
    auth_servers: Vec<(String, &'static str)>,
    repos: Vec<String>,
    org_id: u64,
    business_id: u64,
    ids: Vec<Ident>,
    attacks: Vec<Attack>,
}

fn unique(used: &mut std::collections::HashSet<String>, base: String) -> String {
    if used.insert(base.clone()) {
        return base;
    }
    for i in 2.. {
        let c = format!("{base}-{i}");
        if used.insert(c.clone()) {
            return c;
        }
    }
    unreachable!()
}

fn unique_bot(used: &mut std::collections::HashSet<String>, base: &str) -> String {
    let stem = base.trim_end_matches("[bot]");
    if used.insert(base.to_string()) {
        return base.to_string();
    }
    for i in 2.. {
        let c = format!("{stem}-{i}[bot]");
        if used.insert(c.clone()) {
            return c;
        }
    }
    unreachable!()
}

fn build_world(cli: &Cli, start_day: i64) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(cli.seed);
    let accounts: Vec<String> = (0..4)
        .map(|_| {
            format!(
                "{:012}",
                rng.random_range(100_000_000_000u64..999_999_999_999)
            )
        })
        .collect();
    let subs: Vec<String> = (0..3).map(|_| uuid(&mut rng)).collect();
    let tenant = uuid(&mut rng);
    let auth_servers = vec![
        (format!("aus{}", rstr(&mut rng, ALNUM, 17)), "default"),
        (format!("aus{}", rstr(&mut rng, ALNUM, 17)), "acme-api"),
        (format!("aus{}", rstr(&mut rng, ALNUM, 17)), "partner-api"),
    ];
    let n_repos = (cli.identities / 2).clamp(60, 400);
    let mut used = std::collections::HashSet::new();
    let repos: Vec<String> = (0..n_repos)
        .map(|_| {
            let base = format!("{}-{}", pick(&mut rng, APPS), pick(&mut rng, REPO_SUFFIX));
            unique(&mut used, base)
        })
        .collect();
    let org_id = rng.random_range(10_000_000..99_999_999);
    let business_id = rng.random_range(1_000..99_999);

    let mut ids = Vec::with_capacity(cli.identities);
    let mut names = std::collections::HashSet::new();
    let days = cli.days.max(1);
    for (kind, count) in kind_counts(cli.identities) {
        for _ in 0..count {
            ids.push(new_ident(
                kind,
                &mut rng,
                &mut names,
                days,
                ids.len(),
                &repos,
            ));
        }
    }
    let mut w = World {
        start_day,
        days,
        accounts,
        subs,
        tenant,
        auth_servers,
        repos,
        org_id,
        business_id,
        ids,
        attacks: Vec::new(),
    };
    if cli.attacks {
        plan_attacks(&mut w, &mut rng);
    }
    w
}

fn new_ident(
    kind: Kind,
    rng: &mut ChaCha8Rng,
    names: &mut std::collections::HashSet<String>,
    days: u32,
    index: usize,
    repos: &[String],
) -> Ident {
    let h = rng.random::<u64>() ^ index as u64;
    let app = *pick(rng, APPS);
    let env = *pick(rng, ENVS);
    let acct = match env {
        "prod" => 0,
        "staging" => 1,
        _ => 2,
    };
    let acct = if rng.random_bool(0.1) { 3 } else { acct };
    let human_name = |rng: &mut ChaCha8Rng| format!("{}.{}", pick(rng, FIRST), pick(rng, LAST));
    let (name, pid, oid) = match kind {
        Kind::Ec2Role => (
            unique(
                names,
                format!(
                    "{app}-{env}-{}",
                    pick(
                        rng,
                        &["ec2-role", "instance-role", "node-role", "worker-role"]
                    )
                ),
            ),
            format!("AROA{}", rstr(rng, UPPER_ALNUM, 17)),
            String::new(),
        ),
        Kind::LambdaRole => (
            unique(
                names,
                format!("{app}-{env}-{}-lambda-role", pick(rng, FN_VERBS)),
            ),
            format!("AROA{}", rstr(rng, UPPER_ALNUM, 17)),
            String::new(),
        ),
        Kind::CiRole => (
            unique(
                names,
                format!(
                    "gha-{app}-{}-{env}",
                    pick(rng, &["deploy", "terraform", "release", "build"])
                ),
            ),
            format!("AROA{}", rstr(rng, UPPER_ALNUM, 17)),
            String::new(),
        ),
        Kind::IamUser => {
            let base = match rng.random_range(0..5) {
                0 => format!("svc-{app}-{env}"),
                1 => format!("{app}-{env}-integration"),
                2 => format!("jenkins-{env}"),
                3 => format!(
                    "{}-integration",
                    pick(
                        rng,
                        &["datadog", "snowflake", "fivetran", "pagerduty", "splunk"]
                    )
                ),
                _ => format!("terraform-{env}"),
            };
            (
                unique(names, base),
                format!("AIDA{}", rstr(rng, UPPER_ALNUM, 17)),
                String::new(),
            )
        }
        Kind::AwsHuman => {
            let person = unique(names, human_name(rng));
            let perm = pick(
                rng,
                &[
                    "AdministratorAccess",
                    "PowerUserAccess",
                    "ReadOnlyAccess",
                    "DeveloperAccess",
                ],
            );
            (
                format!("AWSReservedSSO_{perm}_{}", rstr(rng, HEX, 16)),
                format!("AROA{}", rstr(rng, UPPER_ALNUM, 17)),
                format!("{person}@{EMAIL_DOMAIN}"),
            )
        }
        Kind::AzureSp => (
            unique(
                names,
                format!(
                    "sp-{app}-{env}-{}",
                    pick(rng, &["automation", "deploy", "backup", "sync", "reader"])
                ),
            ),
            uuid(rng),
            uuid(rng),
        ),
        Kind::AzureMi => (
            unique(names, format!("id-{app}-{env}")),
            uuid(rng),
            uuid(rng),
        ),
        Kind::OktaApp => (
            unique(
                names,
                format!(
                    "{app}-{env}-{}",
                    pick(rng, &["service", "sync", "scim", "worker", "integration"])
                ),
            ),
            format!("0oa{}", rstr(rng, ALNUM, 17)),
            String::new(),
        ),
        Kind::OktaHuman => {
            let person = unique(names, human_name(rng));
            (
                person.clone(),
                format!("00u{}", rstr(rng, ALNUM, 17)),
                format!("{person}@{EMAIL_DOMAIN}"),
            )
        }
        Kind::GhBot => {
            let base = match rng.random_range(0..6) {
                0 => "dependabot[bot]".to_string(),
                1 => "renovate[bot]".to_string(),
                2 => "github-actions[bot]".to_string(),
                3 => format!("{app}-deployer[bot]"),
                4 => format!("{COMPANY}-{app}-app[bot]"),
                _ => format!("{app}-release-bot[bot]"),
            };
            (
                unique_bot(names, &base),
                rng.random_range(10_000_000u64..190_000_000).to_string(),
                String::new(),
            )
        }
        Kind::GhPat => {
            let base = match rng.random_range(0..3) {
                0 => format!("svc-{app}-ci"),
                1 => format!("{COMPANY}-{app}-automation"),
                _ => format!("jenkins-{env}-{COMPANY}"),
            };
            (
                unique(names, base),
                rng.random_range(10_000_000u64..190_000_000).to_string(),
                rng.random_range(100_000_000u64..999_999_999).to_string(),
            )
        }
        Kind::GhHuman => {
            let login = unique(
                names,
                format!("{}{}-{COMPANY}", pick(rng, FIRST), pick(rng, LAST)),
            );
            (
                login,
                rng.random_range(1_000_000u64..150_000_000).to_string(),
                String::new(),
            )
        }
    };

    // Home: one network, 1-2 IPs in one or two /24s.
    let net = *pick(rng, kind.nets());
    let first = ip_in(&NETS[net], rng);
    let mut ips = vec![first];
    if rng.random_bool(0.45) {
        if rng.random_bool(0.6) {
            let mut second = first;
            second[3] = rng.random_range(4..=250);
            if second != first {
                ips.push(second);
            }
        } else {
            ips.push(ip_in(&NETS[net], rng));
        }
    }
    let sessions: Vec<String> = match kind {
        Kind::Ec2Role => ips
            .iter()
            .map(|_| format!("i-{}", rstr(rng, HEX, 17)))
            .collect(),
        Kind::LambdaRole => {
            let f = format!("{app}-{env}-{}", pick(rng, FN_VERBS));
            vec![f]
        }
        _ => Vec::new(),
    };
    let drift_ip = if days > 3 && rng.random_bool(0.15) {
        let d = rng.random_range(2..days);
        let mut ip = ip_in(&NETS[net], rng);
        ip[0] = first[0];
        let s = if kind == Kind::Ec2Role {
            format!("i-{}", rstr(rng, HEX, 17))
        } else {
            String::new()
        };
        Some((d, ip, s))
    } else {
        None
    };

    // Clients: 1-2 families.
    let fams = Client::families(kind);
    let mut clients = vec![*pick(rng, fams)];
    if rng.random_bool(0.35) {
        let c = *pick(rng, fams);
        if !clients.contains(&c) {
            clients.push(c);
        }
    }
    let ver = rng.random_range(0..3);
    let bump_day = if days > 2 && rng.random_bool(0.4) {
        rng.random_range(1..days)
    } else {
        u32::MAX
    };

    // Habitual actions: 5-40 of the kind's pool, Zipf-weighted.
    let tag = kind.tag();
    let pool: Vec<u16> = match kind.src() {
        Src::CloudTrail => (0..AWS.len())
            .filter(|&i| AWS[i].4 & tag != 0)
            .map(|i| i as u16)
            .collect(),
        Src::Azure => (0..AZURE.len())
            .filter(|&i| AZURE[i].1 & tag != 0)
            .map(|i| i as u16)
            .collect(),
        Src::Okta => (0..OKTA.len())
            .filter(|&i| OKTA[i].2 & tag != 0)
            .map(|i| i as u16)
            .collect(),
        Src::GitHub => (0..GITHUB.len())
            .filter(|&i| GITHUB[i].2 & tag != 0)
            .map(|i| i as u16)
            .collect(),
    };
    let k = rng.random_range(5.min(pool.len())..=40.min(pool.len()));
    // Popular actions (early in the catalog) are more likely to be picked and to rank high.
    let mut scored: Vec<(f64, u16)> = pool
        .iter()
        .enumerate()
        .map(|(r, &a)| (rng.random::<f64>() * (1.0 + r as f64 * 0.15), a))
        .collect();
    scored.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let mut actions: Vec<u16> = scored.iter().take(k).map(|s| s.1).collect();
    // Primary actions for some kinds.
    let primary: Option<u16> = match kind {
        Kind::OktaApp => Some(0),
        Kind::Ec2Role if rng.random_bool(0.5) => Some(aws_act("UpdateInstanceInformation") as u16),
        Kind::GhBot | Kind::GhPat => Some(rng.random_range(0..2)),
        Kind::OktaHuman => Some(13),
        _ => None,
    };
    if let Some(p) = primary {
        actions.retain(|&a| a != p);
        actions.insert(0, p);
    }
    let mut cum = Vec::with_capacity(actions.len());
    let mut acc = 0.0;
    for r in 0..actions.len() {
        acc += 1.0 / ((r + 1) as f64).powf(0.9);
        cum.push(acc);
    }
    let read_like = |a: u16| match kind.src() {
        Src::CloudTrail => AWS[a as usize].2,
        Src::Azure => AZURE[a as usize].0.ends_with("/read"),
        Src::Okta => OKTA[a as usize].3,
        Src::GitHub => GITHUB[a as usize].3,
    };
    let spare: Vec<u16> = pool
        .iter()
        .copied()
        .filter(|a| !actions.contains(a) && read_like(*a))
        .collect();
    let drift_action = if days > 3 && !spare.is_empty() && rng.random_bool(0.3) {
        Some((rng.random_range(2..days), *pick(rng, &spare)))
    } else {
        None
    };

    let sched = match kind {
        Kind::Ec2Role | Kind::AzureMi => {
            if rng.random_bool(0.7) {
                Sched::Always
            } else {
                let p = *pick(rng, &[300, 600, 900]);
                Sched::Cron(p, rng.random_range(0..p))
            }
        }
        Kind::LambdaRole | Kind::GhPat => {
            if rng.random_bool(0.6) {
                let p = *pick(rng, &[60, 300, 900, 1800, 3600]);
                Sched::Cron(p, rng.random_range(0..p))
            } else {
                Sched::Always
            }
        }
        Kind::OktaApp => {
            if rng.random_bool(0.7) {
                Sched::Cron(3600, rng.random_range(0..3600))
            } else {
                Sched::Always
            }
        }
        Kind::CiRole | Kind::AwsHuman | Kind::OktaHuman | Kind::GhHuman => {
            Sched::Office(rng.random_range(7..10), rng.random_range(17..20))
        }
        Kind::IamUser | Kind::AzureSp | Kind::GhBot => match rng.random_range(0..10) {
            0..=4 => Sched::Always,
            5..=7 => {
                let p = *pick(rng, &[300, 900, 3600]);
                Sched::Cron(p, rng.random_range(0..p))
            }
            _ => Sched::Office(rng.random_range(7..10), rng.random_range(17..20)),
        },
    };
    let weekend = match sched {
        Sched::Office(..) => 0.1,
        _ => 1.0,
    };
    let weight = kind.rate() * (normal(rng) * 0.9).exp();
    let start_day = if days > 4 && rng.random_bool(0.08) {
        rng.random_range(1..days / 2 + 1)
    } else {
        0
    };
    let region = match kind.src() {
        Src::Azure => NETS[net].az_loc,
        _ => NETS[net].aws_region,
    };
    let repos = if kind.src() == Src::GitHub {
        let n = rng.random_range(3..=15).min(repos.len());
        let mut v: Vec<usize> = Vec::with_capacity(n);
        while v.len() < n {
            let r = rng.random_range(0..repos.len());
            if !v.contains(&r) {
                v.push(r);
            }
        }
        v
    } else {
        Vec::new()
    };
    let rotate_day = if kind == Kind::IamUser && days > 3 && rng.random_bool(0.1) {
        rng.random_range(2..days)
    } else {
        u32::MAX
    };
    Ident {
        kind,
        h,
        app,
        env,
        name,
        acct,
        pid,
        oid,
        net,
        ips,
        sessions,
        drift_ip,
        clients,
        ver,
        bump_day,
        actions,
        cum,
        drift_action,
        sched,
        weight,
        weekend,
        start_day,
        region,
        cert: rng.random_bool(0.7),
        repos,
        rotate_day,
    }
}

// ------------------------------------------------------------------------------------------------
// Attacks
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AtkKind {
    StolenInstanceCreds,
    OktaClientCreds,
    GithubMassClone,
    AzureListKeys,
}

impl AtkKind {
    fn name(self) -> &'static str {
        match self {
            AtkKind::StolenInstanceCreds => "stolen_instance_credentials",
            AtkKind::OktaClientCreds => "okta_client_credentials_abuse",
            AtkKind::GithubMassClone => "github_token_mass_clone",
            AtkKind::AzureListKeys => "azure_sp_list_keys",
        }
    }
}

struct Step {
    at: i64,
    act: u16,
    region: &'static str,
    denied: bool,
    arg: usize,
}

struct Attack {
    kind: AtkKind,
    victim: usize,
    day: u32,
    start: i64,
    net: usize,
    ip: [u8; 4],
    ua: String,
    steps: Vec<Step>,
}

fn plan_attacks(w: &mut World, rng: &mut ChaCha8Rng) {
    let plans: [(AtkKind, &[Kind], usize); 4] = [
        (AtkKind::StolenInstanceCreds, &[Kind::Ec2Role], 2),
        (AtkKind::OktaClientCreds, &[Kind::OktaApp], 1),
        (AtkKind::GithubMassClone, &[Kind::GhPat, Kind::GhBot], 1),
        (AtkKind::AzureListKeys, &[Kind::AzureSp], 1),
    ];
    let mut taken: Vec<usize> = Vec::new();
    for (kind, kinds, count) in plans {
        // Victims: identities of the kind with at least 8 days of history before the attack day
        // and an ordinary-or-better rate (so the history is real), busiest half first.
        let mut cands: Vec<usize> = (0..w.ids.len())
            .filter(|&i| {
                kinds.contains(&w.ids[i].kind)
                    && w.ids[i].start_day + 8 < w.days
                    && !taken.contains(&i)
            })
            .collect();
        cands.sort_by(|&a, &b| {
            w.ids[b]
                .weight
                .partial_cmp(&w.ids[a].weight)
                .unwrap()
                .then(a.cmp(&b))
        });
        cands.truncate(cands.len().div_ceil(2).max(1));
        if cands.is_empty() {
            eprintln!(
                "nhid-gen: warning: no identity eligible for attack {} (needs one of {:?} with 8 days of history)",
                kind.name(),
                kinds
            );
        }
        for _ in 0..count {
            if cands.is_empty() {
                break;
            }
            let victim = cands.remove(rng.random_range(0..cands.len()));
            taken.push(victim);
            let id = &w.ids[victim];
            let day = rng.random_range(id.start_day + 8..w.days);
            let sod = rng.random_range(3600..86_400 - 3 * 3600) as i64;
            let start =
                (w.start_day + day as i64) * 86_400_000 + sod * 1000 + rng.random_range(0..1000);
            let atk = build_attack(kind, victim, id, day, start, w, rng);
            w.attacks.push(atk);
        }
    }
}

fn build_attack(
    kind: AtkKind,
    victim: usize,
    id: &Ident,
    day: u32,
    start: i64,
    w: &World,
    rng: &mut ChaCha8Rng,
) -> Attack {
    let mut steps = Vec::new();
    let mut t = start;
    let mut gap = |rng: &mut ChaCha8Rng, lo: i64, hi: i64| {
        t += rng.random_range(lo..hi);
        t
    };
    let (net, ua) = match kind {
        AtkKind::StolenInstanceCreds => {
            let net = if rng.random_bool(0.5) {
                N_ATK_DE
            } else {
                N_ATK_RU
            };
            let ua = if rng.random_bool(0.7) {
                "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off".to_string()
            } else {
                "Boto3/1.28.62 md/Botocore#1.31.62 ua/2.0 os/linux#6.5.0-kali3-amd64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.62 Pacu".to_string()
            };
            let home = id.region;
            let mut push = |rng: &mut ChaCha8Rng,
                            name: &str,
                            region: &'static str,
                            denied: bool,
                            arg: usize| {
                let at = gap(rng, 2_000, 45_000);
                steps.push(Step {
                    at,
                    act: aws_act(name) as u16,
                    region,
                    denied,
                    arg,
                });
            };
            push(rng, "GetCallerIdentity", home, false, 0);
            push(rng, "ListBuckets", home, false, 0);
            push(rng, "GetAccountAuthorizationDetails", home, true, 0);
            push(rng, "ListUsers", home, true, 0);
            let denied = rng.random_bool(0.5);
            push(rng, "ListRoles", home, denied, 0);
            push(rng, "ListSecrets", home, false, 0);
            for k in 0..rng.random_range(1..5) {
                push(rng, "GetSecretValue", home, false, k + 3);
            }
            let regions = [
                "us-east-1",
                "us-west-2",
                "eu-west-1",
                "eu-central-1",
                "ap-southeast-1",
                "sa-east-1",
            ];
            for r in regions.iter().take(rng.random_range(3..=6)) {
                push(rng, "DescribeInstances", r, false, 0);
            }
            for k in 0..rng.random_range(2..8) {
                push(rng, "ListObjects", home, false, k);
                push(rng, "GetObject", home, false, k);
            }
            push(rng, "CreateUser", home, true, 0);
            push(rng, "CreateAccessKey", home, true, 0);
            (net, ua)
        }
        AtkKind::OktaClientCreds => {
            let ua = if id.clients.contains(&Client::PyRequests) {
                "curl/8.5.0".to_string()
            } else {
                "python-requests/2.31.0".to_string()
            };
            for _ in 0..rng.random_range(2..5) {
                let at = gap(rng, 5_000, 120_000);
                steps.push(Step {
                    at,
                    act: 0,
                    region: "",
                    denied: false,
                    arg: 0,
                });
            }
            if rng.random_bool(0.6) {
                let at = gap(rng, 20_000, 90_000);
                steps.push(Step {
                    at,
                    act: 2,
                    region: "",
                    denied: false,
                    arg: 0,
                });
                let at = gap(rng, 2_000, 10_000);
                steps.push(Step {
                    at,
                    act: 6,
                    region: "",
                    denied: false,
                    arg: 0,
                });
            }
            (N_ATK_RU_OKTA, ua)
        }
        AtkKind::GithubMassClone => {
            let n = rng.random_range(30..=80).min(w.repos.len());
            let mut order: Vec<usize> = (0..w.repos.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
            for &r in order.iter().take(n) {
                let at = gap(rng, 1_000, 15_000);
                steps.push(Step {
                    at,
                    act: 0,
                    region: "",
                    denied: false,
                    arg: r,
                });
            }
            for &r in order.iter().take(rng.random_range(2..6)) {
                let at = gap(rng, 2_000, 20_000);
                steps.push(Step {
                    at,
                    act: 3,
                    region: "",
                    denied: false,
                    arg: r,
                });
            }
            (N_ATK_SG, "git/2.34.1".to_string())
        }
        AtkKind::AzureListKeys => {
            let mut push = |rng: &mut ChaCha8Rng, op: &str, arg: usize| {
                let at = gap(rng, 3_000, 60_000);
                steps.push(Step {
                    at,
                    act: az_act(op) as u16,
                    region: "",
                    denied: false,
                    arg,
                });
            };
            push(
                rng,
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                0,
            );
            push(rng, "Microsoft.Storage/storageAccounts/read", 0);
            for v in 0..rng.random_range(3..9) {
                push(
                    rng,
                    "Microsoft.Storage/storageAccounts/listKeys/action",
                    10 + v,
                );
            }
            for v in 0..rng.random_range(2..6) {
                push(rng, "Microsoft.KeyVault/vaults/secrets/read", 10 + v);
            }
            for v in 0..rng.random_range(1..3) {
                push(rng, "Microsoft.Web/sites/config/list/action", 10 + v);
            }
            (N_ATK_NG, String::new())
        }
    };
    let ip = ip_in(&NETS[net], rng);
    Attack {
        kind,
        victim,
        day,
        start,
        net,
        ip,
        ua,
        steps,
    }
}

// ------------------------------------------------------------------------------------------------
// Event sampling
// ------------------------------------------------------------------------------------------------

/// One event to render: 24 bytes, so a day of millions fits easily.
#[derive(Clone, Copy)]
struct Ev {
    t: i64,
    id: u32,
    seq: u32,
    /// `attack << 16 | step`, or `u32::MAX` for benign events.
    atk: u32,
}

const BENIGN: u32 = u32::MAX;

fn sample_sod(sched: Sched, tz: i64, rng: &mut ChaCha8Rng) -> i64 {
    match sched {
        Sched::Always => rng.random_range(0..86_400),
        Sched::Office(s, e) => {
            if rng.random_bool(0.9) {
                let local = rng.random_range(s * 3600..e * 3600);
                (local - tz * 3600).rem_euclid(86_400)
            } else {
                rng.random_range(0..86_400)
            }
        }
        Sched::Cron(p, off) => {
            if rng.random_bool(0.85) {
                let slots = 86_400 / p;
                let k = rng.random_range(0..slots);
                let jitter = (p / 4).clamp(2, 90);
                (k * p + off + rng.random_range(0..jitter)) % 86_400
            } else {
                rng.random_range(0..86_400)
            }
        }
    }
}

fn is_weekend(abs_day: i64) -> bool {
    let dow = (abs_day + 4).rem_euclid(7); // 0 = Sunday (1970-01-01 was a Thursday)
    dow == 0 || dow == 6
}

// ------------------------------------------------------------------------------------------------
// Rendering
// ------------------------------------------------------------------------------------------------

/// Per-event context chosen from the identity's home (or the attack).
struct Ctx<'a> {
    t: i64,
    day: u32,
    ip: [u8; 4],
    net: &'a Net,
    /// EC2 instance / Lambda function index into `sessions` (or the drift session).
    session: String,
    /// Execution environment (host, container, runner) holding the session credentials: each
    /// has its own temporary credentials.
    env: u64,
    act: u16,
    attack: Option<(&'a Attack, &'a Step)>,
}

impl World {
    fn home_ctx<'a>(&'a self, id: &'a Ident, t: i64, day: u32, rng: &mut ChaCha8Rng) -> Ctx<'a> {
        let ipi = if id.ips.len() > 1 && rng.random_bool(0.3) {
            1
        } else {
            0
        };
        let mut ip = id.ips[ipi];
        let mut env = ipi as u64;
        let mut session = id
            .sessions
            .get(ipi)
            .or(id.sessions.first())
            .cloned()
            .unwrap_or_default();
        if let Some((d, dip, ds)) = &id.drift_ip {
            if day >= *d && rng.random_bool(0.5) {
                ip = *dip;
                env = 7;
                if !ds.is_empty() {
                    session = ds.clone();
                }
            }
        }
        let act = match id.drift_action {
            Some((d, a)) if day >= d && rng.random_bool(0.03) => a,
            _ => id.actions[sample_cum(&id.cum, rng.random())],
        };
        Ctx {
            t,
            day,
            ip,
            net: &NETS[id.net],
            session,
            env,
            act,
            attack: None,
        }
    }

    fn render(
        &self,
        ev: &Ev,
        day: u32,
        rng: &mut ChaCha8Rng,
        b: &mut String,
    ) -> (usize, Option<String>) {
        let id = &self.ids[ev.id as usize];
        let ctx = if ev.atk == BENIGN {
            self.home_ctx(id, ev.t, day, rng)
        } else {
            let a = &self.attacks[(ev.atk >> 16) as usize];
            let s = &a.steps[(ev.atk & 0xffff) as usize];
            let session = id.sessions.first().cloned().unwrap_or_default();
            Ctx {
                t: ev.t,
                day,
                ip: a.ip,
                net: &NETS[a.net],
                session,
                env: 0,
                act: s.act,
                attack: Some((a, s)),
            }
        };
        let src = id.kind.src();
        let eid = match src {
            Src::CloudTrail => self.cloudtrail(id, &ctx, rng, b),
            Src::Azure => self.azure(id, &ctx, rng, b),
            Src::Okta => self.okta(id, &ctx, rng, b),
            Src::GitHub => self.github(id, &ctx, rng, b),
        };
        (src.idx(), ctx.attack.map(|_| eid))
    }

    fn ua_version(&self, id: &Ident, c: Client, day: u32) -> &'static str {
        let v = c.versions();
        let i = id.ver + usize::from(day >= id.bump_day);
        v[i.min(v.len() - 1)]
    }

    // --------------------------------------------------------------------------------------------
    // CloudTrail
    // --------------------------------------------------------------------------------------------

    fn aws_ua(&self, id: &Ident, ctx: &Ctx, svc: &str, name: &str, rng: &mut ChaCha8Rng) -> String {
        if let Some((a, _)) = ctx.attack {
            if a.ua.starts_with("aws-cli") {
                return format!("{} command/{}.{}", a.ua, svc, kebab(name));
            }
            return a.ua.clone();
        }
        if id.kind == Kind::Ec2Role
            && (name == "UpdateInstanceInformation" || name == "ListInstanceAssociations")
        {
            let v = self.ua_version(id, Client::SsmAgent, ctx.day);
            return format!("aws-sdk-go/1.50.10 (go1.21.6; linux; amd64) amazon-ssm-agent/{v}");
        }
        let c = id.pick_client(rng);
        let v = self.ua_version(id, c, ctx.day);
        let kern = [
            "5.10.205-195.807.amzn2.x86_64",
            "6.1.77-99.164.amzn2023.x86_64",
            "5.15.0-1053-aws",
        ][(id.h % 3) as usize];
        let lambda = id.kind == Kind::LambdaRole;
        match c {
            Client::Boto3 => {
                let py = if lambda { "3.12.2" } else { ["3.11.6", "3.10.13", "3.9.18"][(id.h >> 8) as usize % 3] };
                let env = if lambda { " exec-env/AWS_Lambda_python3.12" } else { "" };
                format!("Boto3/{v} md/Botocore#{v} ua/2.0 os/linux#{kern} md/arch#x86_64 lang/python#{py} md/pyimpl#CPython{env} cfg/retry-mode#legacy Botocore/{v}")
            }
            Client::AwsCli => format!(
                "aws-cli/{v} md/awscrt#0.19.19 ua/2.0 os/linux#{kern} md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2 md/prompt#off md/command#{svc}.{}",
                kebab(name)
            ),
            Client::GoV2 => format!(
                "aws-sdk-go-v2/{v} os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.{}.{}",
                20 + (id.h >> 12) % 30,
                (id.h >> 20) % 9
            ),
            Client::Java => {
                let env = if lambda { " exec-env/AWS_Lambda_java17" } else { "" };
                format!("aws-sdk-java/{v} Linux/{kern} OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc.{env} io/sync http/Apache cfg/retry-mode/legacy")
            }
            Client::Terraform => format!(
                "APN/1.0 HashiCorp/1.0 Terraform/{v} (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.28.1"
            ),
            Client::NodeJs => format!(
                "aws-sdk-js/{v} ua/2.0 os/linux#{kern} lang/js md/nodejs#20.11.1 api/{svc}#{v} exec-env/AWS_Lambda_nodejs20.x"
            ),
            Client::Firefox => format!("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{v}) Gecko/20100101 Firefox/{v}"),
            _ => format!("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36"),
        }
    }

    fn cloudtrail(&self, id: &Ident, ctx: &Ctx, rng: &mut ChaCha8Rng, b: &mut String) -> String {
        let (svc, name, ro, data, _) = AWS[ctx.act as usize];
        let acct = &self.accounts[id.acct];
        let global = matches!(svc, "iam" | "route53" | "organizations");
        let region: &str = match ctx.attack {
            Some((_, s)) if !global => s.region,
            _ if global => "us-east-1",
            _ => id.region,
        };
        let ua = self.aws_ua(id, ctx, svc, name, rng);
        let console = id.kind == Kind::AwsHuman;
        let eid = uuid(rng);
        // Session: instance role credentials rotate about every 6 h, Lambda containers every
        // few hours, CI jobs are short, console sessions last a working day.
        let period: i64 = match id.kind {
            Kind::Ec2Role => 6 * 3_600_000,
            Kind::LambdaRole => 3 * 3_600_000,
            Kind::CiRole => 3_600_000,
            _ => 10 * 3_600_000,
        };
        let key_t = match ctx.attack {
            Some((a, _)) => a.start,
            None => ctx.t,
        };
        let phase = (mix(id.h, 7 + ctx.env) % period as u64) as i64;
        let bucket = (key_t - phase).div_euclid(period);
        let session_start = bucket * period + phase;
        let session_name = match id.kind {
            Kind::Ec2Role | Kind::LambdaRole => ctx.session.clone(),
            Kind::CiRole => "GitHubActions".to_string(),
            Kind::AwsHuman => id.oid.clone(),
            _ => String::new(),
        };
        let mut key_seed = Sm::new(mix3(
            id.h,
            bucket as u64,
            splitmix(ctx.env ^ hash_str(&session_name)),
        ));
        let session_key = format!("ASIA{}", key_seed.chars(BASE32, 16));

        let ip =
            if svc == "kms" && ctx.attack.is_none() && name == "Decrypt" && rng.random_bool(0.4) {
                None // called by Secrets Manager on the identity's behalf
            } else {
                Some(ip_str(ctx.ip))
            };
        let err: Option<(&str, String)> = if let Some((_, s)) = ctx.attack {
            s.denied.then(|| {
                let code = if svc == "ec2" { "Client.UnauthorizedOperation" } else { "AccessDenied" };
                (code, format!(
                    "User: arn:aws:sts::{acct}:assumed-role/{}/{} is not authorized to perform: {}:{} on resource: arn:aws:{}::{acct}:{} because no identity-based policy allows the {}:{} action",
                    id.name, session_name, svc, name, svc, if svc == "iam" { "user/*" } else { "*" }, svc, name
                ))
            })
        } else if rng.random_bool(0.006) {
            Some(match svc {
                "s3" => ("NoSuchKey", "The specified key does not exist.".to_string()),
                "secretsmanager" => (
                    "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret.".to_string(),
                ),
                "ec2" => (
                    "Client.RequestLimitExceeded",
                    "Request limit exceeded.".to_string(),
                ),
                _ => ("ThrottlingException", "Rate exceeded".to_string()),
            })
        } else {
            None
        };
        let d = self.ct_detail(id, ctx, svc, name, region, acct, err.is_some(), rng);
        let host = match svc {
            _ if global => format!("{svc}.amazonaws.com"),
            "s3" if data || d.bucket.is_some() => format!(
                "{}.s3.{region}.amazonaws.com",
                d.bucket.as_deref().unwrap_or("s3")
            ),
            _ => format!("{svc}.{region}.amazonaws.com"),
        };
        let tls13 = !matches!(id.clients.first(), Some(Client::Java)) || ctx.attack.is_some();

        let mut o = O::new(b);
        o.s("eventVersion", if data { "1.10" } else { "1.09" });
        o.o("userIdentity", |u| match id.kind {
            Kind::IamUser => {
                let rot = u64::from(ctx.day >= id.rotate_day);
                let mut ks = Sm::new(mix3(id.h, 99, rot));
                u.s("type", "IAMUser")
                    .s("principalId", &id.pid)
                    .s("arn", &format!("arn:aws:iam::{acct}:user/{}", id.name))
                    .s("accountId", acct)
                    .s("accessKeyId", &format!("AKIA{}", ks.chars(BASE32, 16)))
                    .s("userName", &id.name);
            }
            _ => {
                u.s("type", "AssumedRole")
                    .s("principalId", &format!("{}:{}", id.pid, session_name))
                    .s("arn", &format!("arn:aws:sts::{acct}:assumed-role/{}/{}", id.name, session_name))
                    .s("accountId", acct)
                    .s("accessKeyId", &session_key)
                    .o("sessionContext", |sc| {
                        sc.o("sessionIssuer", |si| {
                            si.s("type", "Role").s("principalId", &id.pid);
                            if id.kind == Kind::AwsHuman {
                                si.s("arn", &format!("arn:aws:iam::{acct}:role/aws-reserved/sso.amazonaws.com/{}", id.name));
                            } else {
                                si.s("arn", &format!("arn:aws:iam::{acct}:role/{}", id.name));
                            }
                            si.s("accountId", acct).s("userName", &id.name);
                        });
                        sc.o("webIdFederationData", |wf| {
                            if id.kind == Kind::CiRole {
                                wf.s(
                                    "federatedProvider",
                                    &format!("arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com"),
                                )
                                .o("attributes", |_| {});
                            }
                        });
                        sc.o("attributes", |at| {
                            at.s("creationDate", &ts(session_start, 0, 0)).s("mfaAuthenticated", "false");
                        });
                        if id.kind == Kind::Ec2Role {
                            sc.s("ec2RoleDelivery", "2.0");
                        }
                    });
            }
        });
        o.s("eventTime", &ts(ctx.t, 0, 0))
            .s("eventSource", &format!("{svc}.amazonaws.com"))
            .s("eventName", name)
            .s("awsRegion", region);
        match &ip {
            Some(ip) => {
                o.s("sourceIPAddress", ip).s("userAgent", &ua);
            }
            None => {
                o.s("sourceIPAddress", "secretsmanager.amazonaws.com")
                    .s("userAgent", "secretsmanager.amazonaws.com");
            }
        }
        if let Some((code, msg)) = &err {
            o.s("errorCode", code).s("errorMessage", msg);
        }
        o.raw("requestParameters", &d.req)
            .raw("responseElements", &d.resp);
        if let Some(add) = &d.add {
            o.raw("additionalEventData", add);
        }
        let rid = if svc == "s3" {
            rstr(rng, UPPER_ALNUM, 16)
        } else {
            uuid(rng)
        };
        o.s("requestID", &rid).s("eventID", &eid).n("readOnly", ro);
        if let Some(res) = &d.res {
            o.raw("resources", res);
        }
        o.s("eventType", "AwsApiCall")
            .n("managementEvent", !data)
            .s("recipientAccountId", acct);
        if ip.is_none() {
            o.s("sharedEventID", &uuid(rng));
        }
        o.s("eventCategory", if data { "Data" } else { "Management" });
        if ip.is_some() {
            o.o("tlsDetails", |t| {
                if tls13 {
                    t.s("tlsVersion", "TLSv1.3")
                        .s("cipherSuite", "TLS_AES_128_GCM_SHA256");
                } else {
                    t.s("tlsVersion", "TLSv1.2")
                        .s("cipherSuite", "ECDHE-RSA-AES128-GCM-SHA256");
                }
                t.s("clientProvidedHostHeader", &host);
            });
        }
        if console {
            o.s("sessionCredentialFromConsole", "true");
        }
        drop(o);
        eid
    }

    #[allow(clippy::too_many_arguments)]
    fn ct_detail(
        &self,
        id: &Ident,
        ctx: &Ctx,
        svc: &str,
        name: &str,
        region: &str,
        acct: &str,
        failed: bool,
        rng: &mut ChaCha8Rng,
    ) -> Detail {
        let app = id.app;
        let env = id.env;
        let arg = ctx
            .attack
            .map(|(_, s)| s.arg)
            .unwrap_or_else(|| rng.random_range(0..3));
        let bucket = {
            let kinds = [
                "artifacts",
                "data",
                "logs",
                "exports",
                "backups",
                "reports",
                "uploads",
                "terraform-state",
            ];
            let k = if ctx.attack.is_some() {
                arg % kinds.len()
            } else {
                (id.h as usize >> 3).wrapping_add(arg % 2) % kinds.len()
            };
            format!("{COMPANY}-{app}-{env}-{}", kinds[k])
        };
        let secret = {
            let xs = [
                "db-credentials",
                "api-key",
                "stripe-key",
                "oauth-client-secret",
                "jwt-signing-key",
                "smtp-password",
                "github-token",
            ];
            let k = if ctx.attack.is_some() {
                arg % xs.len()
            } else {
                (id.h as usize >> 5).wrapping_add(arg % 2) % xs.len()
            };
            format!("{env}/{app}/{}", xs[k])
        };
        let secret_arn = format!(
            "arn:aws:secretsmanager:{region}:{acct}:secret:{secret}-{}",
            Sm::new(hash_str(&secret)).chars(ALNUM, 6)
        );
        let kms_key = uuid_from(mix(id.h, 31));
        let kms_arn = format!("arn:aws:kms:{region}:{acct}:key/{kms_key}");
        let param = format!(
            "/{env}/{app}/{}",
            [
                "db_host",
                "db_user",
                "feature_flags",
                "endpoint",
                "queue_url",
                "log_level"
            ][(id.h as usize >> 7).wrapping_add(arg) % 6]
        );
        let table = format!(
            "{app}-{env}-{}",
            ["sessions", "orders", "events", "state", "locks"][(id.h as usize >> 9) % 5]
        );
        let queue = format!(
            "{app}-{env}-{}",
            ["jobs", "events", "dlq", "ingest"][(id.h as usize >> 11) % 4]
        );
        let function = id
            .sessions
            .first()
            .filter(|_| id.kind == Kind::LambdaRole)
            .cloned()
            .unwrap_or_else(|| {
                format!(
                    "{app}-{env}-{}",
                    FN_VERBS[(id.h as usize >> 13) % FN_VERBS.len()]
                )
            });
        let instance = if id.kind == Kind::Ec2Role {
            ctx.session.clone()
        } else {
            format!("i-{}", Sm::new(mix(id.h, 41 + arg as u64)).chars(HEX, 17))
        };
        let cluster = format!("{app}-{env}");
        let object_key = || {
            let (y, m, d) = civil_from_days(ctx.t.div_euclid(86_400_000));
            let prefix = [
                "incoming",
                "exports",
                "reports",
                "raw",
                "processed",
                "artifacts/builds",
            ][(id.h as usize >> 15) % 6];
            format!(
                "{prefix}/{y:04}/{m:02}/{d:02}/{}.json.gz",
                Sm::new(mix(ctx.t as u64, id.h)).chars(HEX, 16)
            )
        };
        let mut det = Detail {
            req: "null".into(),
            resp: "null".into(),
            add: None,
            res: None,
            bucket: None,
        };
        let s3_add = |rng: &mut ChaCha8Rng, bin: u64, bout: u64| {
            let amz = format!("{}/{}", rstr(rng, B64, 40), rstr(rng, B64, 35));
            obj(|a| {
                a.s("SignatureVersion", "SigV4")
                    .s("CipherSuite", "TLS_AES_128_GCM_SHA256")
                    .n("bytesTransferredIn", bin)
                    .s("AuthenticationMethod", "AuthHeader")
                    .s("x-amz-id-2", &amz)
                    .n("bytesTransferredOut", bout);
            })
        };
        let res1 = |kind: &str, arn: &str| {
            let mut s = String::new();
            {
                let mut a = A::new(&mut s);
                a.o(|r| {
                    r.s("accountId", acct).s("type", kind).s("ARN", arn);
                });
            }
            s
        };
        match (svc, name) {
            ("s3", "GetObject" | "HeadObject" | "PutObject" | "DeleteObject") => {
                let key = object_key();
                let host = format!("{bucket}.s3.{region}.amazonaws.com");
                det.req = obj(|o| {
                    o.s("bucketName", &bucket).s("Host", &host).s("key", &key);
                    if name == "PutObject" {
                        o.s("x-amz-server-side-encryption", "aws:kms")
                            .s("x-amz-server-side-encryption-aws-kms-key-id", &kms_arn);
                    }
                });
                if name == "PutObject" && !failed {
                    det.resp = obj(|o| {
                        o.s("x-amz-server-side-encryption-aws-kms-key-id", &kms_arn)
                            .s("x-amz-server-side-encryption", "aws:kms")
                            .n("x-amz-server-side-encryption-bucket-key-enabled", true);
                    });
                }
                let size = rng.random_range(200..5_000_000u64);
                let (bin, bout) = match name {
                    "PutObject" => (size, 0),
                    "GetObject" => (0, size),
                    _ => (0, 0),
                };
                det.add = Some(s3_add(rng, bin, bout));
                let mut s = String::new();
                {
                    let mut a = A::new(&mut s);
                    a.o(|r| {
                        r.s("type", "AWS::S3::Object")
                            .s("ARN", &format!("arn:aws:s3:::{bucket}/{key}"));
                    });
                    a.o(|r| {
                        r.s("accountId", acct)
                            .s("type", "AWS::S3::Bucket")
                            .s("ARN", &format!("arn:aws:s3:::{bucket}"));
                    });
                }
                det.res = Some(s);
                det.bucket = Some(bucket);
            }
            ("s3", "ListObjects") => {
                let host = format!("{bucket}.s3.{region}.amazonaws.com");
                det.req = obj(|o| {
                    o.s("list-type", "2")
                        .s("bucketName", &bucket)
                        .s("encoding-type", "url")
                        .s("max-keys", "1000")
                        .s("prefix", ["incoming/", "exports/", "", "reports/"][arg % 4])
                        .s("Host", &host);
                });
                let out = rng.random_range(500..90_000);
                det.add = Some(s3_add(rng, 0, out));
                det.res = Some(res1("AWS::S3::Bucket", &format!("arn:aws:s3:::{bucket}")));
                det.bucket = Some(bucket);
            }
            ("s3", "ListBuckets") => {
                det.req = obj(|o| {
                    o.s("Host", &format!("s3.{region}.amazonaws.com"));
                });
                let out = rng.random_range(2_000..20_000);
                det.add = Some(s3_add(rng, 0, out));
            }
            ("s3", "GetBucketLocation" | "GetBucketPolicy") => {
                let host = format!("{bucket}.s3.{region}.amazonaws.com");
                det.req = obj(|o| {
                    o.s("bucketName", &bucket).s("Host", &host).s(
                        if name == "GetBucketPolicy" {
                            "policy"
                        } else {
                            "location"
                        },
                        "",
                    );
                });
                let out = rng.random_range(100..3_000);
                det.add = Some(s3_add(rng, 0, out));
                det.res = Some(res1("AWS::S3::Bucket", &format!("arn:aws:s3:::{bucket}")));
                det.bucket = Some(bucket);
            }
            ("secretsmanager", "GetSecretValue" | "DescribeSecret") => {
                det.req = obj(|o| {
                    if rng.random_bool(0.5) {
                        o.s("secretId", &secret_arn);
                    } else {
                        o.s("secretId", &secret);
                    }
                });
            }
            ("secretsmanager", "ListSecrets") => {
                det.req = obj(|o| {
                    o.n("maxResults", 100);
                });
            }
            ("kms", "Decrypt") => {
                let ctxv = if rng.random_bool(0.5) {
                    uuid(rng)
                } else {
                    String::new()
                };
                det.req = obj(|o| {
                    o.s("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
                    o.o("encryptionContext", |e| {
                        if ctxv.is_empty() {
                            e.s(
                                "aws:lambda:FunctionArn",
                                &format!("arn:aws:lambda:{region}:{acct}:function:{function}"),
                            );
                        } else {
                            e.s("SecretARN", &secret_arn).s("SecretVersionId", &ctxv);
                        }
                    });
                });
                det.res = Some(res1("AWS::KMS::Key", &kms_arn));
            }
            ("kms", "GenerateDataKey" | "Encrypt" | "DescribeKey") => {
                det.req = obj(|o| {
                    o.s("keyId", &format!("alias/{app}-{env}"));
                    if name == "GenerateDataKey" {
                        o.s("keySpec", "AES_256").o("encryptionContext", |e| {
                            e.s("aws:s3:arn", &format!("arn:aws:s3:::{bucket}"));
                        });
                    } else if name == "Encrypt" {
                        o.s("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
                    }
                });
                det.res = Some(res1("AWS::KMS::Key", &kms_arn));
            }
            ("ssm", "GetParameter") => {
                det.req = obj(|o| {
                    o.s("name", &param).n("withDecryption", true);
                });
            }
            ("ssm", "GetParameters") => {
                det.req = obj(|o| {
                    o.a("names", |a| {
                        a.s(&param)
                            .s(&format!("/{env}/{app}/db_password"))
                            .s(&format!("/{env}/shared/datadog_api_key"));
                    })
                    .n("withDecryption", true);
                });
            }
            ("ssm", "GetParametersByPath") => {
                det.req = obj(|o| {
                    o.s("path", &format!("/{env}/{app}/"))
                        .n("recursive", true)
                        .n("withDecryption", true);
                });
            }
            ("ssm", "UpdateInstanceInformation") => {
                let v = self.ua_version(id, Client::SsmAgent, ctx.day);
                let pip = format!(
                    "10.{}.{}.{}",
                    (id.h >> 16) as u8,
                    (id.h >> 24) as u8,
                    (hash_str(&instance) as u8).max(4)
                );
                det.req = obj(|o| {
                    o.s("instanceId", &instance)
                        .s("agentVersion", v)
                        .s("agentStatus", "Active")
                        .s("platformType", "Linux")
                        .s("platformName", "Amazon Linux")
                        .s("platformVersion", "2023")
                        .s("iPAddress", &pip)
                        .s(
                            "computerName",
                            &format!("ip-{}.{region}.compute.internal", pip.replace('.', "-")),
                        )
                        .s("agentName", "amazon-ssm-agent")
                        .s("availabilityZone", &format!("{region}a"))
                        .s("availabilityZoneId", &az_id(region, id.h >> 5));
                });
            }
            ("ssm", "ListInstanceAssociations") => {
                det.req = obj(|o| {
                    o.s("instanceId", &instance).n("maxResults", 20);
                });
            }
            ("ssm", "PutParameter") => {
                det.req = obj(|o| {
                    o.s("name", &param)
                        .s("type", "SecureString")
                        .n("overwrite", true)
                        .s("keyId", "alias/aws/ssm")
                        .s("value", "HIDDEN_DUE_TO_SECURITY_REASONS");
                });
                det.resp = obj(|o| {
                    o.n("version", rng.random_range(2..40))
                        .s("tier", "Standard");
                });
            }
            ("ec2", "DescribeInstances") => {
                det.req = obj(|o| {
                    if ctx.attack.is_some() || rng.random_bool(0.5) {
                        o.o("instancesSet", |_| {}).o("filterSet", |_| {});
                    } else {
                        o.o("instancesSet", |s| {
                            s.a("items", |a| {
                                a.o(|i| {
                                    i.s("instanceId", &instance);
                                });
                            });
                        })
                        .o("filterSet", |f| {
                            f.a("items", |a| {
                                a.o(|i| {
                                    i.s("name", "tag:Environment").o("valueSet", |v| {
                                        v.a("items", |a| {
                                            a.o(|x| {
                                                x.s("value", env);
                                            });
                                        });
                                    });
                                });
                            });
                        });
                    }
                });
            }
            ("ec2", "DescribeTags" | "DescribeVolumes" | "DescribeNetworkInterfaces") => {
                let fname = if name == "DescribeTags" {
                    "resource-id"
                } else {
                    "attachment.instance-id"
                };
                det.req = obj(|o| {
                    match name {
                        "DescribeVolumes" => {
                            o.o("volumeSet", |_| {});
                        }
                        "DescribeNetworkInterfaces" => {
                            o.o("networkInterfaceIdSet", |_| {});
                        }
                        _ => {}
                    }
                    o.o("filterSet", |f| {
                        f.a("items", |a| {
                            a.o(|i| {
                                i.s("name", fname).o("valueSet", |v| {
                                    v.a("items", |a| {
                                        a.o(|x| {
                                            x.s("value", &instance);
                                        });
                                    });
                                });
                            });
                        });
                    });
                });
            }
            (
                "ec2",
                "DescribeSecurityGroups"
                | "DescribeSubnets"
                | "DescribeVpcs"
                | "DescribeSnapshots"
                | "DescribeRegions",
            ) => {
                let vpc = format!("vpc-{}", Sm::new(mix(id.h, 51)).chars(HEX, 17));
                det.req = obj(|o| match name {
                    "DescribeSecurityGroups" => {
                        o.o("securityGroupSet", |_| {})
                            .o("securityGroupIdSet", |s| {
                                s.a("items", |a| {
                                    a.o(|i| {
                                        i.s(
                                            "groupId",
                                            &format!(
                                                "sg-{}",
                                                Sm::new(mix(id.h, 52)).chars(HEX, 17)
                                            ),
                                        );
                                    });
                                });
                            })
                            .o("filterSet", |_| {});
                    }
                    "DescribeSubnets" => {
                        o.o("subnetSet", |_| {}).o("filterSet", |f| {
                            f.a("items", |a| {
                                a.o(|i| {
                                    i.s("name", "vpc-id").o("valueSet", |v| {
                                        v.a("items", |a| {
                                            a.o(|x| {
                                                x.s("value", &vpc);
                                            });
                                        });
                                    });
                                });
                            });
                        });
                    }
                    "DescribeVpcs" => {
                        o.o("vpcSet", |_| {}).o("filterSet", |_| {});
                    }
                    "DescribeSnapshots" => {
                        o.o("snapshotSet", |_| {})
                            .o("ownersSet", |s| {
                                s.a("items", |a| {
                                    a.o(|i| {
                                        i.s("owner", "self");
                                    });
                                });
                            })
                            .o("sharedUsersSet", |_| {})
                            .o("filterSet", |_| {});
                    }
                    _ => {
                        o.o("regionSet", |_| {});
                    }
                });
            }
            ("ec2", "CreateSnapshot") => {
                let vol = format!("vol-{}", Sm::new(mix(id.h, 53)).chars(HEX, 17));
                det.req = obj(|o| {
                    o.s("volumeId", &vol)
                        .s("description", &format!("{app}-{env} nightly backup"));
                });
                if !failed {
                    det.resp = obj(|o| {
                        o.s("requestId", &uuid(rng))
                            .s("snapshotId", &format!("snap-{}", rstr(rng, HEX, 17)))
                            .s("volumeId", &vol)
                            .s("status", "pending")
                            .n("startTime", ctx.t)
                            .s("progress", "")
                            .s("ownerId", acct)
                            .n("volumeSize", 100)
                            .n("encrypted", true)
                            .s("kmsKeyId", &kms_arn);
                    });
                }
            }
            ("ec2", "CreateTags") => {
                det.req = obj(|o| {
                    o.o("resourcesSet", |s| {
                        s.a("items", |a| {
                            a.o(|i| {
                                i.s("resourceId", &instance);
                            });
                        });
                    })
                    .o("tagSet", |s| {
                        s.a("items", |a| {
                            a.o(|i| {
                                i.s("key", "LastHealthCheck").s("value", &ts(ctx.t, 0, 0));
                            });
                        });
                    });
                });
                det.resp = obj(|o| {
                    o.s("requestId", &uuid(rng)).n("_return", true);
                });
            }
            ("ec2", "RunInstances") => {
                let new_i = format!("i-{}", rstr(rng, HEX, 17));
                det.req = obj(|o| {
                    o.o("instancesSet", |s| {
                        s.a("items", |a| {
                            a.o(|i| {
                                i.s(
                                    "imageId",
                                    &format!("ami-{}", Sm::new(mix(id.h, 61)).chars(HEX, 17)),
                                )
                                .n("minCount", 1)
                                .n("maxCount", 1);
                            });
                        });
                    })
                    .s("instanceType", "m6i.large")
                    .o("blockDeviceMapping", |_| {})
                    .o("monitoring", |m| {
                        m.n("enabled", false);
                    })
                    .n("disableApiTermination", false)
                    .n("disableApiStop", false)
                    .s("clientToken", &format!("terraform-{}", rstr(rng, HEX, 26)))
                    .o("iamInstanceProfile", |p| {
                        p.s(
                            "arn",
                            &format!("arn:aws:iam::{acct}:instance-profile/{app}-{env}-profile"),
                        );
                    });
                });
                if !failed {
                    det.resp = obj(|o| {
                        o.s("requestId", &uuid(rng))
                            .s("reservationId", &format!("r-{}", rstr(rng, HEX, 17)))
                            .s("ownerId", acct)
                            .o("groupSet", |_| {})
                            .o("instancesSet", |s| {
                                s.a("items", |a| {
                                    a.o(|i| {
                                        i.s("instanceId", &new_i)
                                            .o("instanceState", |st| {
                                                st.n("code", 0).s("name", "pending");
                                            })
                                            .s(
                                                "privateDnsName",
                                                &format!(
                                                    "ip-10-0-{}-{}.{region}.compute.internal",
                                                    rng.random_range(0..255),
                                                    rng.random_range(4..250)
                                                ),
                                            )
                                            .n("amiLaunchIndex", 0)
                                            .s("instanceType", "m6i.large")
                                            .n("launchTime", ctx.t);
                                    });
                                });
                            });
                    });
                }
            }
            ("sts", "AssumeRole") => {
                let target = format!(
                    "{app}-{env}-{}",
                    ["deployer", "cross-account-reader", "terraform", "audit"]
                        [(id.h as usize >> 17) % 4]
                );
                let target_acct =
                    &self.accounts[(id.acct + 1 + (id.h as usize >> 19) % 3) % self.accounts.len()];
                let sess = format!(
                    "{}-{}",
                    id.name.chars().take(20).collect::<String>(),
                    ctx.t / 1000
                );
                let role_arn = format!("arn:aws:iam::{target_acct}:role/{target}");
                det.req = obj(|o| {
                    o.s("roleArn", &role_arn)
                        .s("roleSessionName", &sess)
                        .n("durationSeconds", 3600);
                });
                if !failed {
                    let key = format!("ASIA{}", rstr(rng, BASE32, 16));
                    let tok = format!("IQoJb3JpZ2luX2Vj{}", rstr(rng, B64, 420));
                    let aroa = format!(
                        "AROA{}",
                        Sm::new(hash_str(&role_arn)).chars(UPPER_ALNUM, 17)
                    );
                    det.resp = obj(|o| {
                        o.o("credentials", |c| {
                            c.s("accessKeyId", &key)
                                .s("sessionToken", &tok)
                                .s("expiration", &ts_ct_resp(ctx.t + 3_600_000));
                        })
                        .o("assumedRoleUser", |u| {
                            u.s("assumedRoleId", &format!("{aroa}:{sess}")).s(
                                "arn",
                                &format!("arn:aws:sts::{target_acct}:assumed-role/{target}/{sess}"),
                            );
                        });
                    });
                }
                let mut s = String::new();
                {
                    let mut a = A::new(&mut s);
                    a.o(|r| {
                        r.s("accountId", target_acct)
                            .s("type", "AWS::IAM::Role")
                            .s("ARN", &role_arn);
                    });
                }
                det.res = Some(s);
            }
            ("sts", "GetSessionToken") => {
                det.req = obj(|o| {
                    o.n("durationSeconds", 43200);
                });
                if !failed {
                    let key = format!("ASIA{}", rstr(rng, BASE32, 16));
                    let tok = format!("IQoJb3JpZ2luX2Vj{}", rstr(rng, B64, 380));
                    det.resp = obj(|o| {
                        o.o("credentials", |c| {
                            c.s("accessKeyId", &key)
                                .s("sessionToken", &tok)
                                .s("expiration", &ts_ct_resp(ctx.t + 43_200_000));
                        });
                    });
                }
            }
            ("iam", _) => {
                det.req = obj(|o| match name {
                    "GetRole" | "ListAttachedRolePolicies" => {
                        o.s(
                            "roleName",
                            &format!(
                                "{app}-{env}-{}",
                                ["ec2-role", "lambda-role", "deployer"][arg % 3]
                            ),
                        );
                    }
                    "GetPolicy" | "GetPolicyVersion" => {
                        o.s(
                            "policyArn",
                            &format!("arn:aws:iam::{acct}:policy/{app}-{env}-access"),
                        );
                        if name == "GetPolicyVersion" {
                            o.s("versionId", &format!("v{}", 1 + (id.h >> 21) % 7));
                        }
                    }
                    "GetUser" | "ListAccessKeys" if id.kind == Kind::IamUser => {
                        o.s("userName", &id.name);
                    }
                    "CreateUser" => {
                        o.s(
                            "userName",
                            &format!("{}-support", ["aws", "backup", "sys"][arg % 3]),
                        );
                    }
                    "CreateAccessKey" => {
                        o.s("userName", &format!("svc-{app}-{env}"));
                    }
                    "ListUsers" | "ListRoles" => {
                        o.n("maxItems", 1000);
                    }
                    "GetAccountAuthorizationDetails" => {
                        o.a("filter", |a| {
                            a.s("User").s("Role").s("Group").s("LocalManagedPolicy");
                        });
                    }
                    _ => {}
                });
                if det.req == "{}" && !matches!(name, "GetUser" | "ListAccessKeys") {
                    det.req = "null".into();
                }
            }
            ("lambda", _) => {
                let farn = format!("arn:aws:lambda:{region}:{acct}:function:{function}");
                det.req = obj(|o| {
                    if name != "ListFunctions20150331" {
                        o.s("functionName", &function);
                    }
                    if name == "UpdateFunctionCode20150331v2" {
                        o.s("s3Bucket", &bucket)
                            .s(
                                "s3Key",
                                &format!("lambda/{function}/{}.zip", rstr(rng, HEX, 40)),
                            )
                            .n("publish", true)
                            .n("dryRun", false);
                    }
                });
                if name == "UpdateFunctionCode20150331v2" && !failed {
                    let sha = rstr(rng, B64, 43);
                    det.resp = obj(|o| {
                        o.s("functionName", &function)
                            .s("functionArn", &farn)
                            .s("runtime", "python3.12")
                            .s(
                                "role",
                                &format!("arn:aws:iam::{acct}:role/{function}-lambda-role"),
                            )
                            .s("handler", "app.handler")
                            .n("codeSize", rng.random_range(10_000..40_000_000))
                            .s("description", "")
                            .n("timeout", 30)
                            .n("memorySize", 512)
                            .s("lastModified", &ts(ctx.t, 3, 0).replace('Z', "+0000"))
                            .s("codeSha256", &format!("{sha}="))
                            .s("version", &format!("{}", rng.random_range(2..300)))
                            .o("tracingConfig", |t| {
                                t.s("mode", "PassThrough");
                            })
                            .s("revisionId", &uuid(rng))
                            .s("state", "Active")
                            .s("lastUpdateStatus", "InProgress")
                            .s("packageType", "Zip")
                            .a("architectures", |a| {
                                a.s("x86_64");
                            })
                            .o("ephemeralStorage", |e| {
                                e.n("size", 512);
                            });
                    });
                }
            }
            ("logs", "CreateLogStream") => {
                let (y, m, d) = civil_from_days(ctx.t.div_euclid(86_400_000));
                det.req = obj(|o| {
                    o.s("logGroupName", &format!("/aws/lambda/{function}")).s(
                        "logStreamName",
                        &format!("{y:04}/{m:02}/{d:02}/[$LATEST]{}", rstr(rng, HEX, 32)),
                    );
                });
            }
            ("logs", "DescribeLogGroups") => {
                det.req = obj(|o| {
                    o.s("logGroupNamePrefix", &format!("/aws/lambda/{app}-{env}"));
                });
            }
            ("dynamodb", "DescribeTable") => {
                det.req = obj(|o| {
                    o.s("tableName", &table);
                });
            }
            ("sqs", "GetQueueAttributes") => {
                det.req = obj(|o| {
                    o.s(
                        "queueUrl",
                        &format!("https://sqs.{region}.amazonaws.com/{acct}/{queue}"),
                    )
                    .a("attributeNames", |a| {
                        a.s("ApproximateNumberOfMessages")
                            .s("ApproximateNumberOfMessagesNotVisible");
                    });
                });
            }
            ("sqs", "ListQueues") => {
                det.req = obj(|o| {
                    o.s("queueNamePrefix", &format!("{app}-{env}"));
                });
            }
            (
                "ecr",
                "BatchGetImage" | "GetDownloadUrlForLayer" | "PutImage" | "InitiateLayerUpload",
            ) => {
                let repo = format!(
                    "{app}/{}",
                    ["api", "worker", "web", "jobs"][(id.h as usize >> 23) % 4]
                );
                det.req = obj(|o| {
                    o.s("repositoryName", &repo).s("registryId", acct);
                    match name {
                        "BatchGetImage" => {
                            o.a("imageIds", |a| {
                                a.o(|i| {
                                    i.s("imageTag", &format!("{env}-{}", rstr(rng, HEX, 7)));
                                });
                            })
                            .a("acceptedMediaTypes", |a| {
                                a.s("application/vnd.docker.distribution.manifest.v2+json")
                                    .s("application/vnd.oci.image.manifest.v1+json");
                            });
                        }
                        "GetDownloadUrlForLayer" => {
                            o.s("layerDigest", &format!("sha256:{}", rstr(rng, HEX, 64)));
                        }
                        "PutImage" => {
                            o.s("imageTag", &format!("{env}-{}", rstr(rng, HEX, 7))).s(
                                "imageManifestMediaType",
                                "application/vnd.docker.distribution.manifest.v2+json",
                            );
                        }
                        _ => {}
                    }
                });
                if name == "InitiateLayerUpload" && !failed {
                    det.resp = obj(|o| {
                        o.s("uploadId", &uuid(rng)).n("partSize", 10_485_760);
                    });
                }
                det.res = Some(res1(
                    "AWS::ECR::Repository",
                    &format!("arn:aws:ecr:{region}:{acct}:repository/{repo}"),
                ));
            }
            ("cloudformation", _) => {
                let stack = format!("{app}-{env}-stack");
                det.req = obj(|o| {
                    o.s("stackName", &stack);
                    if name == "UpdateStack" {
                        o.s(
                            "templateURL",
                            &format!(
                                "https://s3.{region}.amazonaws.com/{bucket}/cfn/{}.yaml",
                                rstr(rng, HEX, 12)
                            ),
                        )
                        .a("capabilities", |a| {
                            a.s("CAPABILITY_IAM").s("CAPABILITY_NAMED_IAM");
                        })
                        .a("parameters", |a| {
                            a.o(|p| {
                                p.s("parameterKey", "ImageTag")
                                    .s("parameterValue", &format!("{env}-{}", rstr(rng, HEX, 7)));
                            });
                        });
                    }
                });
                if name == "UpdateStack" && !failed {
                    det.resp = obj(|o| {
                        o.s(
                            "stackId",
                            &format!(
                                "arn:aws:cloudformation:{region}:{acct}:stack/{stack}/{}",
                                uuid_from(mix(id.h, 71))
                            ),
                        );
                    });
                }
            }
            ("eks", "DescribeCluster") => {
                det.req = obj(|o| {
                    o.s("name", &cluster);
                });
            }
            ("monitoring", "GetMetricData") => {
                det.req = obj(|o| {
                    o.a("metricDataQueries", |a| {
                        a.o(|q| {
                            q.s("id", "m1").o("metricStat", |m| {
                                m.o("metric", |mm| {
                                    mm.s("namespace", "AWS/EC2")
                                        .s("metricName", "CPUUtilization")
                                        .a("dimensions", |d| {
                                            d.o(|x| {
                                                x.s("name", "InstanceId").s("value", &instance);
                                            });
                                        });
                                })
                                .n("period", 300)
                                .s("stat", "Average");
                            });
                        });
                    })
                    .s("startTime", &ts_ct_resp(ctx.t - 3_600_000))
                    .s("endTime", &ts_ct_resp(ctx.t));
                });
            }
            ("autoscaling", "DescribeAutoScalingGroups") => {
                det.req = obj(|o| {
                    o.a("autoScalingGroupNames", |a| {
                        a.s(&format!("{app}-{env}-asg"));
                    });
                });
            }
            ("route53", "ChangeResourceRecordSets") => {
                let zone = format!("Z{}", Sm::new(mix(id.h, 81)).chars(UPPER_ALNUM, 20));
                det.req = obj(|o| {
                    o.s("hostedZoneId", &zone).o("changeBatch", |c| {
                        c.a("changes", |a| {
                            a.o(|ch| {
                                ch.s("action", "UPSERT").o("resourceRecordSet", |r| {
                                    r.s(
                                        "name",
                                        &format!("{app}.{env}.{COMPANY}-internal.example."),
                                    )
                                    .s("type", "CNAME")
                                    .n("tTL", 300)
                                    .a(
                                        "resourceRecords",
                                        |rr| {
                                            rr.o(|v| {
                                                v.s(
                                                    "value",
                                                    &format!(
                                                        "{app}-{env}-{}.{region}.elb.amazonaws.com",
                                                        rstr(rng, LOWER_ALNUM, 10)
                                                    ),
                                                );
                                            });
                                        },
                                    );
                                });
                            });
                        });
                    });
                });
                if !failed {
                    det.resp = obj(|o| {
                        o.o("changeInfo", |c| {
                            c.s("id", &format!("/change/C{}", rstr(rng, UPPER_ALNUM, 20)))
                                .s("status", "PENDING")
                                .s("submittedAt", &ts_ct_resp(ctx.t));
                        });
                    });
                }
            }
            ("cloudtrail", "LookupEvents") => {
                det.req = obj(|o| {
                    o.s("startTime", &ts_ct_resp(ctx.t - 86_400_000))
                        .s("endTime", &ts_ct_resp(ctx.t))
                        .n("maxResults", 50);
                });
            }
            ("rds", "DescribeDBInstances") => {
                det.req = obj(|o| {
                    o.s("dBInstanceIdentifier", &format!("{app}-{env}-db"));
                });
            }
            _ => {}
        }
        det
    }

    // --------------------------------------------------------------------------------------------
    // Azure Activity Log (diagnostic settings shape)
    // --------------------------------------------------------------------------------------------

    fn az_name(&self, id: &Ident, typ: &str, variant: usize) -> String {
        let (app, env) = if variant >= 14 {
            (
                APPS[(id.h as usize + variant) % APPS.len()],
                ENVS[variant % ENVS.len()],
            )
        } else {
            (id.app, id.env)
        };
        let v = variant % 4 + 1;
        match typ {
            "storageAccounts" => {
                let mut s = format!("st{app}{env}{v:02}");
                s.truncate(24);
                s
            }
            "vaults" => format!("kv-{app}-{env}-{v}"),
            "secrets" => [
                "db-password",
                "api-key",
                "storage-conn",
                "client-secret",
                "sp-cert-thumbprint",
            ][variant % 5]
                .to_string(),
            "virtualMachines" => format!("vm-{app}-{env}-{v:02}"),
            "disks" => format!(
                "vm-{app}-{env}-{v:02}_OsDisk_1_{}",
                Sm::new(mix(id.h, variant as u64)).chars(HEX, 32)
            ),
            "sites" => format!("app-{app}-{env}-{v}"),
            "managedClusters" => format!("aks-{app}-{env}"),
            "servers" => format!("sql-{app}-{env}"),
            "databases" => format!("{app}db"),
            "registries" => format!("acr{app}{env}"),
            "workspaces" => format!("log-{app}-{env}"),
            "deployments" => format!(
                "{app}-{env}-{}",
                Sm::new(mix(id.h, 900 + variant as u64)).chars(LOWER_ALNUM, 8)
            ),
            "containers" => ["uploads", "exports", "backups", "tfstate"][variant % 4].to_string(),
            "blobServices" => "default".to_string(),
            "tags" | "config" => "default".to_string(),
            "firewallRules" => format!("allow-{app}-{v}"),
            _ => format!(
                "{}-{app}-{env}-{v}",
                typ.chars().take(4).collect::<String>().to_lowercase()
            ),
        }
    }

    fn az_resource(&self, id: &Ident, op: &str, variant: usize) -> (String, String) {
        let sub = &self.subs[id.acct % self.subs.len()];
        let rg = format!("rg-{}-{}", id.app, id.env);
        let segs: Vec<&str> = op.split('/').collect();
        let provider = segs[0];
        let n = segs.len();
        let types: &[&str] = if segs[n - 1] == "action" {
            &segs[1..n - 2]
        } else {
            &segs[1..n - 1]
        };
        let mut rid = format!("/subscriptions/{sub}/resourceGroups/{rg}");
        if provider == "Microsoft.Resources" && types.first() == Some(&"subscriptions") {
            // .../resourceGroups/read: the resource group itself
        } else if provider == "Microsoft.Authorization" {
            rid = format!(
                "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{}",
                uuid_from(mix(id.h, variant as u64))
            );
        } else {
            rid.push_str(&format!("/providers/{provider}"));
            for t in types {
                let name = self.az_name(id, t, variant);
                rid.push_str(&format!("/{t}/{name}"));
            }
        }
        (rid.to_uppercase(), sub.clone())
    }

    fn azure(&self, id: &Ident, ctx: &Ctx, rng: &mut ChaCha8Rng, b: &mut String) -> String {
        let op = AZURE[ctx.act as usize].0;
        let variant = match ctx.attack {
            Some((_, s)) => s.arg,
            None => rng.random_range(0..2),
        };
        let (rid, sub) = self.az_resource(id, op, variant);
        let corr = uuid(rng);
        let tenant = &self.tenant;
        let t_s = ctx.t / 1000;
        // Tokens live about an hour: claims change hourly (a fresh token in an attack).
        let tok_h = match ctx.attack {
            Some((a, _)) => mix(id.h, a.start as u64),
            None => mix(id.h, (t_s / 3600) as u64),
        };
        let iat = match ctx.attack {
            Some((a, _)) => a.start / 1000 - 5,
            None => t_s - t_s % 3600 - (tok_h % 300) as i64,
        };
        let mut tk = Sm::new(tok_h);
        let failed = ctx.attack.is_none() && rng.random_bool(0.004);
        let oid_nodash = id.oid.replace('-', "");
        let role = match id.kind {
            Kind::AzureMi => [
                "Storage Blob Data Reader",
                "Key Vault Secrets User",
                "Reader",
            ][(id.h as usize >> 3) % 3],
            _ => ["Contributor", "Contributor", "Owner", "Reader"][(id.h as usize >> 3) % 4],
        };
        let read = op.ends_with("/read");
        let status = if failed {
            "Forbidden"
        } else if read {
            "OK"
        } else if op.ends_with("/write") {
            "Created"
        } else {
            "OK"
        };
        let appidacr = if ctx.attack.is_some() {
            "1"
        } else if id.cert || id.kind == Kind::AzureMi {
            "2"
        } else {
            "1"
        };
        let mut o = O::new(b);
        o.s("time", &ts(ctx.t, 7, rng.random_range(0..10_000)))
            .s("resourceId", &rid)
            .s("operationName", op)
            .s("category", "Administrative")
            .s("resultType", if failed { "Failure" } else { "Success" })
            .s(
                "resultSignature",
                if failed {
                    "Failed.Forbidden"
                } else if status == "Created" {
                    "Succeeded.Created"
                } else {
                    "Succeeded.OK"
                },
            )
            .s("durationMs", &rng.random_range(8..2400).to_string())
            .s("callerIpAddress", &ip_str(ctx.ip))
            .s("correlationId", &corr);
        o.o("identity", |i| {
            i.o("authorization", |a| {
                a.s("scope", &rid.to_lowercase()).s("action", op).o("evidence", |e| {
                    e.s("role", role)
                        .s("roleAssignmentScope", &format!("/subscriptions/{sub}"))
                        .s("roleAssignmentId", &Sm::new(mix(id.h, 3)).chars(HEX, 32))
                        .s("roleDefinitionId", &Sm::new(hash_str(role)).chars(HEX, 32))
                        .s("principalId", &oid_nodash)
                        .s("principalType", "ServicePrincipal");
                });
            });
            i.o("claims", |c| {
                c.s("aud", "https://management.core.windows.net/")
                    .s("iss", &format!("https://sts.windows.net/{tenant}/"))
                    .s("iat", &iat.to_string())
                    .s("nbf", &iat.to_string())
                    .s("exp", &(iat + 3600 + 1800 + (tok_h % 1800) as i64).to_string())
                    .s("aio", &format!("E2N{}==", tk.chars(ALNUM, 53)))
                    .s("appid", &id.pid)
                    .s("appidacr", appidacr)
                    .s("http://schemas.microsoft.com/identity/claims/identityprovider", &format!("https://sts.windows.net/{tenant}/"))
                    .s("idtyp", "app")
                    .s("http://schemas.microsoft.com/identity/claims/objectidentifier", &id.oid)
                    .s("rh", &format!("0.AR{}AA.", tk.chars(ALNUM, 64)))
                    .s("sub", &id.oid)
                    .s("http://schemas.microsoft.com/identity/claims/tenantid", tenant)
                    .s("uti", &tk.chars(ALNUM, 22))
                    .s("ver", "1.0");
                if id.kind == Kind::AzureMi {
                    let mirid = if id.h % 2 == 0 {
                        format!("/subscriptions/{sub}/resourcegroups/rg-{}-{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}", id.app, id.env, id.name)
                    } else {
                        format!("/subscriptions/{sub}/resourceGroups/rg-{}-{}/providers/Microsoft.Compute/virtualMachines/vm-{}-{}-01", id.app, id.env, id.app, id.env)
                    };
                    c.s("xms_mirid", &mirid);
                }
                c.s("xms_tcdt", "1589461046");
            });
        });
        o.s("level", if failed { "Error" } else { "Information" })
            .s("location", id.region)
            .o("properties", |p| {
                p.s("statusCode", status);
                if read {
                    p.s("serviceRequestId", &uuid(rng));
                } else {
                    p.null("serviceRequestId");
                }
                p.s("eventCategory", "Administrative")
                    .s("entity", &rid)
                    .s("message", op)
                    .s("hierarchy", &format!("{tenant}/mg-{COMPANY}-root/{sub}"));
            })
            .s("tenantId", tenant);
        drop(o);
        corr
    }

    // --------------------------------------------------------------------------------------------
    // Okta System Log
    // --------------------------------------------------------------------------------------------

    fn okta(&self, id: &Ident, ctx: &Ctx, rng: &mut ChaCha8Rng, b: &mut String) -> String {
        let (etype, msg, _, _) = OKTA[ctx.act as usize];
        let net = ctx.net;
        let human = id.kind == Kind::OktaHuman;
        let ua = match ctx.attack {
            Some((a, _)) => a.ua.clone(),
            None => {
                let c = id.pick_client(rng);
                let v = self.ua_version(id, c, ctx.day);
                match c {
                    Client::OktaJava => format!("okta-sdk-java/{v} java/17.0.9 Linux/5.15.0-1053-azure"),
                    Client::OktaPython => format!("okta-sdk-python/{v} python/3.11.7 Linux/5.10.205-195.807.amzn2.x86_64"),
                    Client::PyRequests => format!("python-requests/{v}"),
                    Client::OkHttp => format!("okhttp/{v}"),
                    Client::OktaNode => format!("okta-sdk-nodejs/{v} node/20.11.0 linux/5.10.0-28-cloud-amd64"),
                    Client::GoHttp => format!("Go-http-client/{v}"),
                    Client::Firefox => format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}) Gecko/20100101 Firefox/{v}"),
                    _ => format!("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36"),
                }
            }
        };
        let browser = ua.starts_with("Mozilla/");
        let (os, br) = if browser {
            if ua.contains("Firefox") {
                ("Windows 10", "FIREFOX")
            } else {
                ("Mac OS X", "CHROME")
            }
        } else {
            ("Unknown", "UNKNOWN")
        };
        let ip = ip_str(ctx.ip);
        let uuid_v = uuid(rng);
        let req_id = format!("Ze{}AAA{}", rstr(rng, ALNUM, 18), rstr(rng, ALNUM, 2));
        let (aus, aus_name) = &self.auth_servers[(id.h as usize >> 4) % self.auth_servers.len()];
        let org_as = etype == "app.oauth2.token.grant.access_token";
        let token_grant = etype.starts_with("app.oauth2") && etype.contains("token.grant");
        let mut o = O::new(b);
        o.o("actor", |a| {
            a.s("id", &id.pid)
                .s("type", if human { "User" } else { "PublicClientApp" });
            if human {
                a.s("alternateId", &id.oid)
                    .s("displayName", &title_name(&id.name));
            } else {
                a.s("alternateId", &id.name).s("displayName", &id.name);
            }
            a.null("detailEntry");
        });
        o.o("client", |c| {
            c.o("userAgent", |u| {
                u.s("rawUserAgent", &ua).s("os", os).s("browser", br);
            })
            .s("zone", "null")
            .s("device", if browser { "Computer" } else { "Unknown" });
            if human {
                c.null("id");
            } else {
                c.s("id", &id.pid);
            }
            c.s("ipAddress", &ip)
                .o("geographicalContext", |g| okta_geo(g, net));
        });
        o.null("device");
        o.o("authenticationContext", |a| {
            a.null("authenticationProvider")
                .null("credentialProvider")
                .null("credentialType")
                .null("issuer")
                .null("interface")
                .n("authenticationStep", 0);
            if human {
                a.s(
                    "rootSessionId",
                    &format!(
                        "102{}",
                        Sm::new(mix(id.h, (ctx.t / 36_000_000) as u64)).chars(ALNUM, 22)
                    ),
                )
                .s(
                    "externalSessionId",
                    &format!(
                        "102{}",
                        Sm::new(mix(id.h, (ctx.t / 36_000_000) as u64)).chars(ALNUM, 22)
                    ),
                );
            } else {
                a.s("rootSessionId", "unknown")
                    .s("externalSessionId", "unknown");
            }
        });
        o.s("displayMessage", msg).s("eventType", etype);
        o.o("outcome", |x| {
            x.s("result", "SUCCESS").null("reason");
        });
        o.s("published", &ts(ctx.t, 3, 0));
        o.o("securityContext", |s| {
            s.n("asNumber", net.asn)
                .s("asOrg", net.org)
                .s("isp", net.org)
                .s("domain", net.domain)
                .n("isProxy", false);
        });
        o.s(
            "severity",
            if etype.contains("rate_limit") {
                "WARN"
            } else {
                "INFO"
            },
        );
        o.o("debugContext", |d| {
            d.o("debugData", |dd| {
                dd.s("requestId", &req_id);
                if token_grant {
                    let uri = if org_as {
                        "/oauth2/v1/token".to_string()
                    } else {
                        format!("/oauth2/{aus}/v1/token")
                    };
                    dd.s("dtHash", &rstr(rng, HEX, 64)).s("requestUri", &uri);
                    if human {
                        dd.s("grantType", "authorization_code")
                            .s("grantedScopes", "openid profile email");
                    } else {
                        dd.s(
                            "grantedScopes",
                            if org_as {
                                "okta.users.manage okta.groups.manage"
                            } else {
                                "api:read api:write"
                            },
                        )
                        .s("grantType", "client_credentials");
                    }
                    dd.s("traceId", &uuid(rng).to_string())
                        .s("url", &format!("{uri}?"));
                } else if human {
                    dd.s("requestUri", "/app/okta_org2org/exk/sso/saml")
                        .s("url", "/app/okta_org2org/exk/sso/saml?");
                } else {
                    dd.s("requestUri", "/api/v1/users")
                        .s("url", "/api/v1/users?activate=true")
                        .s("traceId", &uuid(rng));
                }
            });
        });
        o.s("legacyEventType", &format!("{}_success", etype));
        o.o("transaction", |t| {
            t.s("type", "WEB").s("id", &req_id).o("detail", |_| {});
        });
        o.s("uuid", &uuid_v).s("version", "0");
        o.o("request", |r| {
            r.a("ipChain", |a| {
                a.o(|c| {
                    c.s("ip", &ip)
                        .o("geographicalContext", |g| okta_geo(g, net))
                        .s("version", "V4")
                        .null("source");
                });
            });
        });
        o.a("target", |a| {
            if token_grant {
                if org_as {
                    a.o(|t| {
                        t.s("id", &format!("aus{}", Sm::new(7).chars(ALNUM, 17)))
                            .s("type", "AuthorizationServer")
                            .s("alternateId", "Okta Org Authorization Server")
                            .s("displayName", "Okta Org Authorization Server")
                            .null("detailEntry");
                    });
                } else {
                    a.o(|t| {
                        t.s("id", aus)
                            .s("type", "AuthorizationServer")
                            .s("alternateId", aus_name)
                            .s("displayName", aus_name)
                            .null("detailEntry");
                    });
                }
                let exp = ts(ctx.t + 3_600_000, 3, 0);
                let h = rstr(rng, ALNUM, 43);
                a.o(|t| {
                    t.s("id", &format!("AT.{}", rstr(rng, ALNUM, 43)))
                        .s("type", "access_token")
                        .s("alternateId", "xxxxxxxxxxxxxxxxxxxxxxxx")
                        .s("displayName", "Access Token")
                        .o("detailEntry", |d| {
                            d.s("expires", &exp).s("subject", &id.pid).s("hash", &h);
                        });
                });
            } else if human {
                a.o(|t| {
                    t.s(
                        "id",
                        &format!("0oa{}", Sm::new(mix(id.h, 5)).chars(ALNUM, 17)),
                    )
                    .s("type", "AppInstance")
                    .s("alternateId", "Salesforce")
                    .s("displayName", "Salesforce.com")
                    .null("detailEntry");
                });
            } else {
                let person = format!(
                    "{}.{}",
                    FIRST[rng.random_range(0..FIRST.len())],
                    LAST[rng.random_range(0..LAST.len())]
                );
                a.o(|t| {
                    t.s("id", &format!("00u{}", rstr(rng, ALNUM, 17)))
                        .s("type", "User")
                        .s("alternateId", &format!("{person}@{EMAIL_DOMAIN}"))
                        .s("displayName", &title_name(&person))
                        .null("detailEntry");
                });
                if etype.starts_with("group.") || etype.starts_with("application.") {
                    a.o(|t| {
                        t.s(
                            "id",
                            &format!("00g{}", Sm::new(mix(id.h, 9)).chars(ALNUM, 17)),
                        )
                        .s("type", "UserGroup")
                        .s("alternateId", "unknown")
                        .s("displayName", &format!("{}-{}-users", id.app, id.env))
                        .null("detailEntry");
                    });
                }
            }
        });
        drop(o);
        uuid_v
    }

    // --------------------------------------------------------------------------------------------
    // GitHub audit log streaming
    // --------------------------------------------------------------------------------------------

    fn github(&self, id: &Ident, ctx: &Ctx, rng: &mut ChaCha8Rng, b: &mut String) -> String {
        let (action, optype, _, _, git) = GITHUB[ctx.act as usize];
        let repo_idx = match ctx.attack {
            Some((_, s)) => s.arg,
            None => id.repos[rng.random_range(0..id.repos.len())],
        };
        let repo = format!("{GH_ORG}/{}", self.repos[repo_idx]);
        let repo_id = 600_000_000 + (mix(self.org_id, repo_idx as u64) % 150_000_000);
        let ua = match ctx.attack {
            Some((a, s)) => {
                if s.act == 3 {
                    "python-requests/2.25.1".to_string()
                } else {
                    a.ua.clone()
                }
            }
            None => {
                let c = if git && id.clients.contains(&Client::Git) {
                    Client::Git
                } else {
                    id.pick_client(rng)
                };
                let v = self.ua_version(id, c, ctx.day);
                match c {
                    Client::Git => format!("git/{v}"),
                    Client::Octokit => format!("octokit-rest.js/{v} octokit-core.js/5.0.2 Node.js/20"),
                    Client::GhCli => format!("GitHub CLI {v}"),
                    Client::PyGithub => format!("PyGithub/{v}/Python"),
                    Client::GoHttp => format!("Go-http-client/{v}"),
                    Client::Firefox => format!("Mozilla/5.0 (X11; Linux x86_64; rv:{v}) Gecko/20100101 Firefox/{v}"),
                    _ => format!("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36"),
                }
            }
        };
        let doc = rstr(rng, ALNUM, 22);
        let mut o = O::new(b);
        o.n("@timestamp", ctx.t)
            .s("_document_id", &doc)
            .s("action", action)
            .s("actor", &id.name)
            .n("actor_id", &id.pid)
            .s("actor_ip", &ip_str(ctx.ip))
            .n("actor_is_bot", id.kind == Kind::GhBot);
        o.o("actor_location", |l| {
            l.s("country_code", ctx.net.cc);
        });
        o.s("business", GH_BUSINESS)
            .n("business_id", self.business_id)
            .n("created_at", ctx.t);
        match id.kind {
            Kind::GhBot => {
                // Installation tokens expire after an hour.
                let hour = match ctx.attack {
                    Some((a, _)) => a.start / 3_600_000,
                    None => ctx.t / 3_600_000,
                };
                let mut s = Sm::new(mix(id.h, hour as u64));
                o.s("hashed_token", &format!("{}=", s.chars(B64, 43)));
                o.n("integration_id", 100_000 + id.h % 800_000);
            }
            Kind::GhPat => {
                let mut s = Sm::new(mix(id.h, 17));
                o.s("hashed_token", &format!("{}=", s.chars(B64, 43)));
            }
            _ => {}
        }
        o.s("operation_type", optype)
            .s("org", GH_ORG)
            .n("org_id", self.org_id);
        match id.kind {
            Kind::GhBot => {
                o.s(
                    "programmatic_access_type",
                    "GitHub App server-to-server token",
                );
            }
            Kind::GhPat => {
                o.s(
                    "programmatic_access_type",
                    if id.h % 3 == 0 {
                        "Personal access token (classic)"
                    } else {
                        "Fine-grained personal access token"
                    },
                );
            }
            _ => {}
        }
        o.s("repo", &repo)
            .n("repo_id", repo_id)
            .s("repository", &repo)
            .n("repository_public", false);
        if id.kind == Kind::GhPat {
            o.n("token_id", &id.oid);
            if id.h % 3 == 0 {
                o.s("token_scopes", "repo,read:packages,write:packages");
            }
        }
        if git || action == "repo.download_zip" {
            o.n("transport_protocol", 1)
                .s("transport_protocol_name", "http");
        }
        if action.starts_with("workflows.") {
            let wf = ["ci.yml", "deploy.yml", "release.yml", "nightly.yml"]
                [(id.h as usize + repo_idx) % 4];
            o.n(
                "workflow_run_id",
                rng.random_range(8_000_000_000u64..9_000_000_000),
            )
            .s("name", wf.trim_end_matches(".yml"))
            .s("head_branch", "main")
            .s("head_sha", &rstr(rng, HEX, 40))
            .s(
                "event",
                ["push", "pull_request", "schedule", "workflow_dispatch"][(id.h as usize >> 2) % 4],
            )
            .n("trigger_id", rng.random_range(100_000_000u64..999_999_999));
        }
        if action.starts_with("pull_request") {
            o.n(
                "pull_request_id",
                rng.random_range(1_500_000_000u64..1_900_000_000),
            )
            .s(
                "pull_request_title",
                &format!("Bump dependencies in {}", self.repos[repo_idx]),
            );
        }
        o.s(
            "request_id",
            &format!(
                "{}:{}:{}:{}:{}",
                rstr(rng, HEX, 4).to_uppercase(),
                rstr(rng, HEX, 5).to_uppercase(),
                rstr(rng, HEX, 6).to_uppercase(),
                rstr(rng, HEX, 7).to_uppercase(),
                rstr(rng, HEX, 8).to_uppercase()
            ),
        );
        o.s("user_agent", &ua);
        drop(o);
        doc
    }
}

struct Detail {
    req: String,
    resp: String,
    add: Option<String>,
    res: Option<String>,
    bucket: Option<String>,
}

fn okta_geo(g: &mut O, net: &Net) {
    g.s("city", net.city)
        .s("state", net.state)
        .s("country", net.country)
        .s("postalCode", net.postal)
        .o("geolocation", |l| {
            l.n("lat", net.lat).n("lon", net.lon);
        });
}

/// `us-east-1` -> `use1-az2`.
fn az_id(region: &str, n: u64) -> String {
    let p: Vec<&str> = region.split('-').collect();
    if p.len() == 3 {
        let dir: String = p[1]
            .chars()
            .take(if p[1].contains("north") || p[1].contains("south") {
                2
            } else {
                1
            })
            .collect();
        format!("{}{}{}-az{}", p[0], dir, p[2], n % 4 + 1)
    } else {
        format!("{region}-az1")
    }
}

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// CloudTrail response element times: `Mar 1, 2024, 1:00:00 PM`.
fn ts_ct_resp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let (h, mi, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][mo as usize - 1];
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{mon} {d}, {y}, {h12}:{mi:02}:{s:02} {ampm}")
}

fn kebab(name: &str) -> String {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v');
    let base = if base.is_empty() { name } else { base };
    let mut s = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('-');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

fn title_name(n: &str) -> String {
    n.split('.')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------------------------------------------
// Main loop
// ------------------------------------------------------------------------------------------------

struct SizeHist {
    counts: Vec<Vec<u64>>,
    records: [u64; 4],
    bytes: [u64; 4],
}

impl SizeHist {
    fn new() -> Self {
        SizeHist {
            counts: vec![vec![0; 1 << 16]; 4],
            records: [0; 4],
            bytes: [0; 4],
        }
    }
    fn add(&mut self, src: usize, len: usize) {
        self.counts[src][len.min((1 << 16) - 1)] += 1;
        self.records[src] += 1;
        self.bytes[src] += len as u64;
    }
    fn median(&self, src: usize) -> usize {
        let n = self.records[src];
        if n == 0 {
            return 0;
        }
        let half = n.div_ceil(2);
        let mut acc = 0;
        for (len, c) in self.counts[src].iter().enumerate() {
            acc += c;
            if acc >= half {
                return len;
            }
        }
        0
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.identities == 0 {
        bail!("--identities must be at least 1");
    }
    if cli.days == 0 {
        bail!("--days must be at least 1");
    }
    let started = Instant::now();
    let start_day = parse_date(&cli.start)?;
    let world = build_world(&cli, start_day);
    if cli.attacks && world.attacks.is_empty() {
        eprintln!("nhid-gen: warning: no identity has 8 days of history (use --days 9 or more); no attacks injected");
    }

    let out: Box<dyn Write> = if cli.output == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(
            File::create(&cli.output).with_context(|| format!("cannot create {}", cli.output))?,
        )
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let labels_path = cli.labels.clone().unwrap_or_else(|| {
        if cli.output == "-" {
            PathBuf::from("nhid-gen.labels.jsonl")
        } else {
            PathBuf::from(format!("{}.labels.jsonl", cli.output))
        }
    });
    let mut labels = if cli.attacks {
        Some(BufWriter::new(File::create(&labels_path).with_context(
            || format!("cannot create {}", labels_path.display()),
        )?))
    } else {
        None
    };

    let n_ids = world.ids.len();
    let base = cli.events / cli.days as u64;
    let rem = cli.events % cli.days as u64;
    let mut hist = SizeHist::new();
    let mut attack_records = 0u64;
    let mut buf = String::with_capacity(8192);
    let mut cum = vec![0.0f64; n_ids];
    for day in 0..world.days {
        let abs_day = start_day + day as i64;
        let day_start = abs_day * 86_400_000;
        let mut rng = ChaCha8Rng::seed_from_u64(mix3(cli.seed, 0xDA7, day as u64));
        let n = base + u64::from((day as u64) < rem);
        // Identity weights for the day: per source, normalised to the source's share.
        let weekend = is_weekend(abs_day);
        let mut src_sum = [0.0f64; 4];
        for id in &world.ids {
            if id.start_day <= day {
                src_sum[id.kind.src().idx()] += id.weight * if weekend { id.weekend } else { 1.0 };
            }
        }
        let share_total: f64 = (0..4).filter(|&s| src_sum[s] > 0.0).map(|s| SHARE[s]).sum();
        let mut acc = 0.0;
        for (i, id) in world.ids.iter().enumerate() {
            let s = id.kind.src().idx();
            if id.start_day <= day && src_sum[s] > 0.0 {
                let w = id.weight * if weekend { id.weekend } else { 1.0 };
                acc += SHARE[s] / share_total * w / src_sum[s];
            }
            cum[i] = acc;
        }
        let mut evs: Vec<Ev> = Vec::with_capacity(n as usize + 256);
        if acc > 0.0 {
            for j in 0..n {
                let i = sample_cum(&cum, rng.random());
                let id = &world.ids[i];
                let sod = sample_sod(id.sched, NETS[id.net].tz, &mut rng);
                let t = day_start + sod * 1000 + rng.random_range(0..1000);
                evs.push(Ev {
                    t,
                    id: i as u32,
                    seq: j as u32,
                    atk: BENIGN,
                });
            }
        }
        let mut seq = n as u32;
        for (ai, a) in world.attacks.iter().enumerate() {
            if a.day != day {
                continue;
            }
            for (si, s) in a.steps.iter().enumerate() {
                evs.push(Ev {
                    t: s.at,
                    id: a.victim as u32,
                    seq,
                    atk: ((ai as u32) << 16) | si as u32,
                });
                seq += 1;
            }
        }
        evs.sort_unstable_by_key(|e| (e.t, e.seq));

        let mut rrng = ChaCha8Rng::seed_from_u64(mix3(cli.seed, 0x7E4D, day as u64));
        for ev in &evs {
            buf.clear();
            let (src, eid) = world.render(ev, day, &mut rrng, &mut buf);
            hist.add(src, buf.len());
            buf.push('\n');
            out.write_all(buf.as_bytes())?;
            if let (Some(eid), Some(l)) = (eid, labels.as_mut()) {
                let a = &world.attacks[(ev.atk >> 16) as usize];
                let id = &world.ids[a.victim];
                let line = obj(|o| {
                    o.s("eventId", &eid)
                        .s("attack", a.kind.name())
                        .s("identity", &id.label_id(&world))
                        .s("source", Src::name(src))
                        .s("time", &ts(ev.t, 3, 0))
                        .s("sourceIp", &ip_str(a.ip));
                });
                l.write_all(line.as_bytes())?;
                l.write_all(b"\n")?;
                attack_records += 1;
            }
        }
    }
    out.flush()?;
    drop(out);
    if let Some(mut l) = labels {
        l.flush()?;
    }

    let total: u64 = hist.records.iter().sum();
    let bytes: u64 = hist.bytes.iter().sum();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "nhid-gen: seed {} | {} identities over {} day(s) from {} | {} records ({} attack), {} bytes ({:.1} MB) in {:.1}s",
        cli.seed,
        n_ids,
        world.days,
        cli.start,
        total,
        attack_records,
        bytes,
        bytes as f64 / 1e6,
        secs
    );
    for s in 0..4 {
        if hist.records[s] == 0 {
            continue;
        }
        eprintln!(
            "  {:<15} {:>10} records ({:>5.1}%)  median {:>5} B  mean {:>6.0} B",
            Src::name(s),
            hist.records[s],
            100.0 * hist.records[s] as f64 / total.max(1) as f64,
            hist.median(s),
            hist.bytes[s] as f64 / hist.records[s] as f64
        );
    }
    if cli.attacks {
        for a in &world.attacks {
            eprintln!(
                "  attack {:<30} day {:>3} victim {} from {} ({} records)",
                a.kind.name(),
                a.day,
                world.ids[a.victim].label_id(&world),
                ip_str(a.ip),
                a.steps.len()
            );
        }
        eprintln!("  labels: {}", labels_path.display());
    }
    Ok(())
}
