//! nhid-gen: a reproducible generator of realistic synthetic cloud audit logs.
//!
//! Writes JSON Lines in event-time order, mixing AWS CloudTrail (~70%), Azure Activity Log
//! (diagnostic-settings shape, ~12%), Okta System Log (~10%) and GitHub audit-log streaming (~8%)
//! records. Every identity has a stable "home" (1-2 source IPs in one or two /24s, one network and
//! country, 1-2 client families, 5-40 habitual actions, working hours and a rate).
//!
//! Identities have roles beyond their kind: Terraform-like deployer CI roles named
//! `terraform-deploy-<app>` (daily IAM role and policy changes, the odd trail created or
//! deleted), human admins (console sign-in with MFA, IAM and CloudTrail changes), strictly
//! business-hours reporting jobs, weekly batch jobs, and decommissioned identities that stop. CI
//! roles run as jobs, each opened by an OIDC web-identity federation (`AssumeRoleWithWebIdentity`)
//! from a per-job runner IP; human console sessions open with a `ConsoleLogin`.
//!
//! Benign drift (never labelled): SDK/CLI version bumps, NAT/IP churn inside the home network,
//! a new /24 in the same range, a new region of the same provider, access-key rotation (some by
//! the key's own user: `benign_key_rotation` creates the new key and uses it from the usual place
//! and client the same day; at least one user not attacked does), volume spikes of usual
//! actions, a new harmless read action. Benign twins of attacks (also never labelled, planned with
//! or without `--attacks`, when the world has an eligible identity):
//! - region expansion: an EC2/Lambda role on an AS16509 (Amazon) network also works, from a day
//!   on, in the AWS region of another country, from addresses of that region in the same ASN;
//! - CI runner country move: a CI role's runners come, from a day on, from the same cloud
//!   provider's addresses (same ASN) in another country, its jobs in that country's region;
//! - deployer day one: three or four new `terraform-deploy-<app>` roles appear, a few days apart,
//!   and on their first day create and change roles named for their application, create and
//!   start their own application trail, then stop it or replace it (delete and re-create), from
//!   the runner network and Terraform client of an existing deployer of the account.
//!
//! With `--attacks`, labelled attacks are injected and listed in a sidecar file: one JSON line
//! per attacker record (benign records of a victim are never labelled). An instance is identified
//! by (`attack`, `identity`):
//! - `stolen_instance_credentials`, `okta_client_credentials_abuse`, `github_token_mass_clone`,
//!   `azure_sp_list_keys`, `azure_sp_persistence`, `iam_key_privilege_escalation`,
//!   `pentest_enumeration`, `dormant_key_reactivated`, `cloudtrail_tampering`,
//!   `federation_new_issuer`: credentials used from a new (hosting) network;
//! - `secret_read_burst_after_idle`, `low_and_slow_secret_reads`, `off_hours_activity`: from the
//!   victim's usual place and client;
//! - `new_key_self_escalation`: the access key of a never-seen IAM user probes (access denied on
//!   five services), enumerates IAM, puts an `Action: *` inline policy on its own user, creates a
//!   second key and uses it a minute later (all from one hosting or residential address);
//! - `key_minted_for_other_user` (T1098.001): a deployer role or admin creates an access key for
//!   another IAM user, and the new key is used from abroad with another client within the hour;
//!   the instance's `identity` is the user the key was minted for (the `CreateAccessKey` record
//!   itself is the minter's);
//! - `etl_key_enumeration`: a quiet workload identity, from its usual place and client, calls
//!   15-25 List/Describe/Get APIs it never called across six services within five minutes.
//!
//! Label lines carry `eventId`, `attack`, `identity`, `source`, `time`, `action` and `sourceIp`;
//! none of the attacks is Low by design, so no `expect` field is written.
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
const N_ATK_CH: usize = 15;
const N_HOME_GB: usize = 16;

#[rustfmt::skip]
static NETS: [Net; 17] = [
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
    // 179.43.128.0/18 (offshore VPS hosting)
    Net { a: 179, b: (43, 43), c: (128, 191), cc: "CH", country: "Switzerland", state: "Zurich", city: "Zurich", postal: "8001", lat: 47.3667, lon: 8.55, asn: 51852, org: "private layer inc", domain: "privatelayer.com", tz: 1, aws_region: "eu-central-2", az_loc: "switzerlandnorth" },
    // 81.2.69.0/24 (UK home broadband)
    Net { a: 81, b: (2, 2), c: (69, 69), cc: "GB", country: "United Kingdom", state: "England", city: "London", postal: "EC1A", lat: 51.5085, lon: -0.1257, asn: 20712, org: "andrews & arnold ltd", domain: "aa.net.uk", tz: 0, aws_region: "eu-west-2", az_loc: "uksouth" },
];

fn ip_in<R: Rng>(net: &Net, rng: &mut R) -> [u8; 4] {
    [
        net.a,
        rng.random_range(net.b.0..=net.b.1),
        rng.random_range(net.c.0..=net.c.1),
        rng.random_range(4..=250),
    ]
}

/// A deterministic IP of `net` derived from a hash (per-job runner IPs, NAT churn).
fn ip_from(net: &Net, h: u64) -> [u8; 4] {
    let mut s = Sm::new(h);
    [
        net.a,
        net.b.0 + s.below((net.b.1 - net.b.0) as usize + 1) as u8,
        net.c.0 + s.below((net.c.1 - net.c.0) as usize + 1) as u8,
        4 + s.below(247) as u8,
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
/// Terraform-like deployer roles (IAM roles and policies, trails).
const T_DEPLOY: u8 = 32;
/// Human administrators (IAM users and keys, trail settings).
const T_ADMIN: u8 = 64;
/// Business-hours reporting jobs.
const T_REPORT: u8 = 128;
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
    ("s3", "GetObject", true, true, T_EC2 | T_LAMBDA | T_CI | T_USER | T_REPORT),
    ("s3", "PutObject", false, true, T_EC2 | T_LAMBDA | T_CI | T_USER | T_REPORT),
    ("s3", "HeadObject", true, true, T_EC2 | T_LAMBDA | T_USER | T_REPORT),
    ("s3", "ListObjects", true, true, T_EC2 | T_LAMBDA | T_CI | T_USER | T_HUMAN | T_REPORT),
    ("secretsmanager", "GetSecretValue", true, false, T_EC2 | T_LAMBDA | T_CI | T_USER | T_REPORT),
    ("kms", "Decrypt", true, false, T_EC2 | T_LAMBDA | T_CI | T_USER | T_REPORT),
    ("ssm", "GetParameter", true, false, T_EC2 | T_LAMBDA | T_CI),
    ("ec2", "DescribeInstances", true, false, T_EC2 | T_CI | T_USER | T_HUMAN),
    ("sts", "GetCallerIdentity", true, false, T_EC2 | T_LAMBDA | T_CI | T_USER | T_HUMAN | T_REPORT),
    ("ssm", "UpdateInstanceInformation", false, false, T_EC2),
    ("kms", "GenerateDataKey", true, false, T_EC2 | T_LAMBDA | T_USER | T_REPORT),
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
    ("s3", "GetBucketLocation", true, false, T_EC2 | T_CI | T_USER | T_HUMAN | T_REPORT),
    ("s3", "GetBucketPolicy", true, false, T_CI | T_HUMAN | T_DEPLOY),
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
    ("iam", "GetRole", true, false, T_CI | T_HUMAN | T_DEPLOY),
    ("iam", "ListRoles", true, false, T_HUMAN),
    ("iam", "ListAttachedRolePolicies", true, false, T_CI | T_HUMAN | T_DEPLOY),
    ("iam", "GetPolicy", true, false, T_CI | T_HUMAN | T_DEPLOY),
    ("iam", "GetPolicyVersion", true, false, T_CI | T_DEPLOY),
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
    // Reporting jobs.
    ("athena", "StartQueryExecution", false, false, T_REPORT),
    ("athena", "GetQueryExecution", true, false, T_REPORT),
    ("athena", "GetQueryResults", true, false, T_REPORT),
    ("glue", "GetTable", true, false, T_REPORT),
    ("glue", "GetPartitions", true, false, T_REPORT),
    // Deployers and human admins: IAM and CloudTrail changes.
    ("iam", "CreateRole", false, false, T_DEPLOY | T_ADMIN),
    ("iam", "DeleteRole", false, false, T_DEPLOY),
    ("iam", "UpdateAssumeRolePolicy", false, false, T_DEPLOY),
    ("iam", "PutRolePolicy", false, false, T_DEPLOY),
    ("iam", "AttachRolePolicy", false, false, T_DEPLOY | T_ADMIN),
    ("iam", "DetachRolePolicy", false, false, T_DEPLOY),
    ("iam", "CreatePolicy", false, false, T_DEPLOY),
    ("iam", "CreatePolicyVersion", false, false, T_DEPLOY),
    ("iam", "DeletePolicy", false, false, T_DEPLOY),
    ("iam", "TagRole", false, false, T_DEPLOY),
    ("iam", "AttachUserPolicy", false, false, T_ADMIN),
    ("iam", "DetachUserPolicy", false, false, T_ADMIN),
    ("iam", "CreateLoginProfile", false, false, T_ADMIN),
    ("iam", "UpdateAccessKey", false, false, T_ADMIN),
    ("iam", "DeleteAccessKey", false, false, T_ADMIN),
    ("iam", "ListAttachedUserPolicies", true, false, T_ADMIN),
    ("iam", "ListPolicies", true, false, T_ADMIN),
    ("iam", "GetAccountSummary", true, false, T_ADMIN),
    ("iam", "ListMFADevices", true, false, T_ADMIN),
    ("iam", "CreateAccessKey", false, false, T_ADMIN),
    ("iam", "CreateUser", false, false, T_ADMIN),
    ("cloudtrail", "DescribeTrails", true, false, T_DEPLOY | T_ADMIN),
    ("cloudtrail", "GetTrailStatus", true, false, T_DEPLOY | T_ADMIN),
    ("cloudtrail", "GetEventSelectors", true, false, T_DEPLOY | T_ADMIN),
    ("cloudtrail", "PutEventSelectors", false, false, T_DEPLOY | T_ADMIN),
    ("cloudtrail", "UpdateTrail", false, false, T_DEPLOY | T_ADMIN),
    ("cloudtrail", "CreateTrail", false, false, T_DEPLOY | T_ADMIN),
    ("cloudtrail", "StartLogging", false, false, T_DEPLOY),
    ("cloudtrail", "DeleteTrail", false, false, T_DEPLOY),
    ("ec2", "DescribeFlowLogs", true, false, T_DEPLOY),
    // Rendered for session starts only (CI jobs, console sign-in).
    ("sts", "AssumeRoleWithWebIdentity", true, false, 0),
    ("signin", "ConsoleLogin", false, false, 0),
    // Used by attackers only.
    ("secretsmanager", "ListSecrets", true, false, 0),
    ("iam", "GetAccountAuthorizationDetails", true, false, 0),
    ("secretsmanager", "BatchGetSecretValue", true, false, 0),
    ("cloudtrail", "StopLogging", false, false, 0),
    ("ec2", "DeleteFlowLogs", false, false, 0),
    ("iam", "ListUserPolicies", true, false, 0),
    ("iam", "ListGroupsForUser", true, false, 0),
    ("iam", "ListGroups", true, false, 0),
    ("iam", "GetAccountPasswordPolicy", true, false, 0),
    ("iam", "ListInstanceProfiles", true, false, 0),
    ("ec2", "DescribeImages", true, false, 0),
    ("ec2", "DescribeKeyPairs", true, false, 0),
    ("ec2", "GetEbsEncryptionByDefault", true, false, 0),
    ("s3", "GetBucketAcl", true, false, 0),
    ("s3", "GetBucketLogging", true, false, 0),
    ("s3", "GetBucketPublicAccessBlock", true, false, 0),
    ("kms", "ListKeys", true, false, 0),
    ("kms", "ListAliases", true, false, 0),
    ("ssm", "DescribeParameters", true, false, 0),
    ("guardduty", "ListDetectors", true, false, 0),
    ("config", "DescribeConfigurationRecorders", true, false, 0),
    ("rds", "DescribeDBSnapshots", true, false, 0),
    ("sns", "ListTopics", true, false, 0),
    ("ecr", "DescribeRepositories", true, false, 0),
    ("eks", "ListClusters", true, false, 0),
    ("ecs", "ListClusters", true, false, 0),
    ("cloudformation", "ListStacks", true, false, 0),
    ("organizations", "ListAccounts", true, false, 0),
    ("acm", "ListCertificates", true, false, 0),
    ("iam", "ListRolePolicies", true, false, 0),
    ("iam", "GetRolePolicy", true, false, 0),
    ("iam", "GetUserPolicy", true, false, 0),
    ("iam", "ListEntitiesForPolicy", true, false, 0),
    ("iam", "ListPolicyVersions", true, false, 0),
    ("iam", "ListSAMLProviders", true, false, 0),
    ("iam", "ListOpenIDConnectProviders", true, false, 0),
    ("iam", "ListServerCertificates", true, false, 0),
    ("iam", "ListVirtualMFADevices", true, false, 0),
    ("iam", "ListAccountAliases", true, false, 0),
    ("iam", "GetLoginProfile", true, false, 0),
    ("iam", "ListSSHPublicKeys", true, false, 0),
    ("iam", "ListSigningCertificates", true, false, 0),
    ("iam", "GetCredentialReport", true, false, 0),
    ("iam", "PutUserPolicy", false, false, 0),
];

fn aws_act(name: &str) -> usize {
    AWS.iter()
        .position(|a| a.1 == name)
        .expect("known AWS action")
}

/// `service:eventName` for names that exist in more than one service.
fn aws_act2(svc: &str, name: &str) -> usize {
    AWS.iter()
        .position(|a| a.0 == svc && a.1 == name)
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
    // Used by attackers only.
    ("Microsoft.Authorization/roleAssignments/write", 0),
    ("microsoft.insights/diagnosticSettings/delete", 0),
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
    /// Strictly local business hours [start, end) on local weekdays, never otherwise.
    Strict(i64, i64),
    /// Weekly batch: on UTC weekday `dow` (0 = Sunday), from hour `start` for `hours`.
    Weekly(i64, i64, i64),
}

/// What an identity is for, beyond its kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Plain,
    /// CI role applying infrastructure (IAM roles and policies every day, trails now and then).
    Deployer,
    /// Human administrator: IAM user with console password and MFA.
    Admin,
    /// Reporting job working strictly business hours on weekdays.
    Reporting,
    /// Batch job running one day a week.
    Weekly,
    /// Decommissioned: no activity from `end_day` on.
    Retired,
    /// Never active on its own and never named by others: only an attacker uses it.
    Unseen,
}

/// A burst of an identity's usual activity from its usual place.
#[derive(Clone, Copy, Debug)]
struct Spike {
    day: u32,
    /// Start (second of the UTC day) and length (seconds) of the burst.
    start: i64,
    dur: i64,
    /// Extra share of the day's weight (`(factor - 1) * dur / active seconds`).
    extra: f64,
}

/// A benign move of an identity's work to another country of the same cloud provider (same
/// ASN) from a day on, in that country's AWS region: a share of its events for a workload
/// expanding to a new region, every job for CI runners.
struct Away {
    day: u32,
    net: usize,
    /// Percentage of the events (not CI jobs) from the new place.
    share: u64,
    /// Addresses and sessions (EC2 instances, Lambda functions) in the new region.
    ips: Vec<[u8; 4]>,
    sessions: Vec<String>,
}

struct Ident {
    kind: Kind,
    role: Role,
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
    /// NAT churn: from this day on, most calls come from ever-changing IPs of the home network.
    churn: Option<u32>,
    clients: Vec<Client>,
    ver: usize,
    bump_day: u32,
    actions: Vec<u16>,
    cum: Vec<f64>,
    drift_action: Option<(u32, u16)>,
    /// A second region of the same provider adopted from a day on.
    region2: Option<(u32, &'static str)>,
    sched: Sched,
    weight: f64,
    weekend: f64,
    start_day: u32,
    /// First day without activity (`u32::MAX`: never retires).
    end_day: u32,
    spike: Option<Spike>,
    /// Absolute time windows (ms) without benign activity (a victim's idle time before an attack).
    mute: Vec<(i64, i64)>,
    region: &'static str,
    /// Azure: client authenticates with a certificate (appidacr 2) or a secret (1).
    cert: bool,
    /// GitHub repositories (indexes into the org list); CI roles: the repository of the workflow.
    repos: Vec<usize>,
    /// IAM user access key rotation: (day, millisecond of the day); by the user itself or not.
    rotate: Option<(u32, i64)>,
    self_rotate: bool,
    away: Option<Away>,
}

static AWS_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ca-central-1",
];
static AZ_LOCS: &[&str] = &["eastus", "eastus2", "westeurope", "northeurope", "uksouth"];

impl Ident {
    /// The identity's usual client, or its second one 30% of the time.
    fn pick_client(&self, rng: &mut impl Rng) -> Client {
        if self.clients.len() > 1 && rng.random_bool(0.3) {
            self.clients[1]
        } else {
            self.clients[0]
        }
    }

    /// AWS principals authenticated as IAM users (long-lived keys, console passwords).
    fn iam_user(&self) -> bool {
        self.kind == Kind::IamUser || (self.kind == Kind::AwsHuman && self.role == Role::Admin)
    }

    /// The label's natural identifier of the identity.
    fn label_id(&self, w: &World) -> String {
        match self.kind {
            _ if self.iam_user() => {
                format!("arn:aws:iam::{}:user/{}", w.accounts[self.acct], self.name)
            }
            Kind::Ec2Role | Kind::LambdaRole | Kind::CiRole | Kind::AwsHuman | Kind::IamUser => {
                format!("arn:aws:iam::{}:role/{}", w.accounts[self.acct], self.name)
            }
            Kind::AzureSp | Kind::AzureMi => self.pid.clone(),
            Kind::OktaApp | Kind::OktaHuman => self.pid.clone(),
            Kind::GhBot | Kind::GhPat | Kind::GhHuman => self.name.clone(),
        }
    }

    /// The AKIA key of an IAM user: `rotated` after its rotation.
    fn access_key(&self, rotated: bool) -> String {
        let mut ks = Sm::new(mix3(self.h, 99, u64::from(rotated)));
        format!("AKIA{}", ks.chars(BASE32, 16))
    }

    /// Relative weight of the identity on a day (0 when inactive).
    fn day_factor(&self, day: u32, abs_day: i64) -> f64 {
        if day < self.start_day || day >= self.end_day {
            return 0.0;
        }
        let tz = NETS[self.net].tz;
        let base = match self.sched {
            Sched::Strict(s, e) => {
                let (w, n) = strict_windows(abs_day, s, e, tz);
                let len: i64 = w[..n].iter().map(|x| x.1 - x.0).sum();
                len as f64 / ((e - s) * 3600) as f64
            }
            Sched::Weekly(dow, _, _) => {
                if weekday(abs_day) == dow {
                    7.0
                } else {
                    0.0
                }
            }
            _ => {
                if is_weekend(abs_day) {
                    self.weekend
                } else {
                    1.0
                }
            }
        };
        match self.spike {
            Some(sp) if sp.day == day => base * (1.0 + sp.extra),
            _ => base,
        }
    }

    /// Rebuilds the cumulative Zipf weights after the action list changed.
    fn recum(&mut self) {
        self.cum.clear();
        let mut acc = 0.0;
        for r in 0..self.actions.len() {
            acc += 1.0 / ((r + 1) as f64).powf(0.9);
            self.cum.push(acc);
        }
    }

    /// Makes `act` a habitual action at `rank` (or keeps it where it is if already earlier).
    fn ensure_action(&mut self, act: u16, rank: usize) {
        if let Some(p) = self.actions.iter().position(|&a| a == act) {
            if p <= rank {
                return;
            }
            self.actions.remove(p);
        }
        let r = rank.min(self.actions.len());
        self.actions.insert(r, act);
        if self.drift_action.is_some_and(|d| d.1 == act) {
            self.drift_action = None;
        }
        self.recum();
    }

    /// Moves `act` (if habitual) to the least frequent ranks, or adds it there.
    fn demote_action(&mut self, act: u16) {
        self.actions.retain(|&a| a != act);
        self.actions.push(act);
        if self.drift_action.is_some_and(|d| d.1 == act) {
            self.drift_action = None;
        }
        self.recum();
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

fn shuffle<T, R: Rng>(rng: &mut R, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.random_range(0..=i));
    }
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
    // Every source (and every attack target kind) gets identities when possible.
    let needs: &[(Kind, usize)] = if n >= 24 {
        &[
            (Kind::Ec2Role, 3),
            (Kind::AzureSp, 2),
            (Kind::OktaApp, 1),
            (Kind::GhPat, 1),
            (Kind::CiRole, 3),
            (Kind::IamUser, 5),
            (Kind::LambdaRole, 2),
            (Kind::AwsHuman, 1),
        ]
    } else if n >= 4 {
        &[
            (Kind::Ec2Role, 1),
            (Kind::AzureSp, 1),
            (Kind::OktaApp, 1),
            (Kind::GhPat, 1),
        ]
    } else {
        &[]
    };
    for &(need, min) in needs {
        let i = counts.iter().position(|c| c.0 == need).unwrap();
        while counts[i].1 < min {
            let j = (0..counts.len())
                .max_by_key(|&j| (counts[j].1, usize::MAX - j))
                .unwrap();
            if counts[j].1 <= 1 {
                break;
            }
            counts[j].1 -= 1;
            counts[i].1 += 1;
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
    assign_roles(&mut ids, &mut rng, &mut names, days, repos.len());
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
    plan_scripts(&mut w, &mut rng);
    // Later additions draw from their own streams, leaving the plans above as they were.
    let mut twin_rng = ChaCha8Rng::seed_from_u64(mix(cli.seed, 0x7715));
    plan_twins(&mut w, &mut twin_rng, &mut names);
    if cli.attacks {
        let mut key_rng = ChaCha8Rng::seed_from_u64(mix(cli.seed, 0x4E4B));
        plan_key_attacks(&mut w, &mut key_rng, &mut names);
    }
    w
}

/// Home addresses: 1-2 IPs in one or two /24s of the network.
fn home_ips(net: usize, rng: &mut ChaCha8Rng) -> Vec<[u8; 4]> {
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
    ips
}

/// The catalog pool of a kind's tag.
fn action_pool(src: Src, tag: u8) -> Vec<u16> {
    match src {
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
    }
}

/// Habitual actions: 5-40 of the pool, Zipf-weighted, a primary action for some kinds, and maybe
/// one harmless read action adopted later (drift).
fn set_habits(id: &mut Ident, tag: u8, rng: &mut ChaCha8Rng, days: u32) {
    let kind = id.kind;
    let pool = action_pool(kind.src(), tag);
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
    id.drift_action = if days > 3 && !spare.is_empty() && rng.random_bool(0.3) {
        Some((rng.random_range(2..days), *pick(rng, &spare)))
    } else {
        None
    };
    id.actions = actions;
    id.recum();
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
    let ips = home_ips(net, rng);
    let first = ips[0];
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
    let churn = if days > 3
        && matches!(
            kind,
            Kind::Ec2Role | Kind::LambdaRole | Kind::IamUser | Kind::OktaApp | Kind::GhPat
        )
        && rng.random_bool(0.12)
    {
        Some(rng.random_range(1..days))
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
    let region2 = if days > 4
        && matches!(kind.src(), Src::CloudTrail | Src::Azure)
        && kind != Kind::AwsHuman
        && rng.random_bool(0.1)
    {
        let list = if kind.src() == Src::Azure {
            AZ_LOCS
        } else {
            AWS_REGIONS
        };
        let r = *pick(rng, list);
        (r != region).then(|| (rng.random_range(2..days), r))
    } else {
        None
    };
    // Volume spike: 5-10x the usual rate for 1-3 hours of the identity's active time.
    let spike = if days > 3 && rng.random_bool(0.08) {
        let day = rng.random_range(1..days);
        let dur = rng.random_range(1..=3i64) * 3600;
        let factor: f64 = rng.random_range(5.0..10.0);
        let (start, active) = match sched {
            Sched::Office(s, e) => {
                let local = s * 3600 + rng.random_range(0..((e - s) * 3600 - dur).max(1));
                (
                    (local - NETS[net].tz * 3600).rem_euclid(86_400),
                    ((e - s) * 3600) as f64 / 0.9,
                )
            }
            _ => (rng.random_range(0..86_400 - dur), 86_400.0),
        };
        let start = start.min(86_400 - dur);
        Some(Spike {
            day,
            start,
            dur,
            extra: (factor - 1.0) * dur as f64 / active,
        })
    } else {
        None
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
    } else if kind == Kind::CiRole {
        vec![rng.random_range(0..repos.len())]
    } else {
        Vec::new()
    };
    let rotate = if kind == Kind::IamUser && days > 3 && rng.random_bool(0.2) {
        Some((
            rng.random_range(2..days),
            rng.random_range(7 * 3_600_000..19 * 3_600_000),
        ))
    } else {
        None
    };
    let self_rotate = rng.random_bool(0.6);
    let mut id = Ident {
        kind,
        role: Role::Plain,
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
        churn,
        clients,
        ver,
        bump_day,
        actions: Vec::new(),
        cum: Vec::new(),
        drift_action: None,
        region2,
        sched,
        weight,
        weekend,
        start_day,
        end_day: u32::MAX,
        spike,
        mute: Vec::new(),
        region,
        cert: rng.random_bool(0.7),
        repos,
        rotate,
        self_rotate,
        away: None,
    };
    set_habits(&mut id, kind.tag(), rng, days);
    id
}

/// `terraform-deploy-<app>`: every deployer shares the prefix, the application comes last (a
/// second deployer of an application gets a number glued to it, keeping the shape).
fn deployer_name(names: &mut std::collections::HashSet<String>, app: &str) -> String {
    let base = format!("terraform-deploy-{app}");
    if names.insert(base.clone()) {
        return base;
    }
    for i in 2.. {
        let c = format!("{base}{i}");
        if names.insert(c.clone()) {
            return c;
        }
    }
    unreachable!()
}

/// Habits of a Terraform-like deployer: IAM role and policy changes every day, trails now and
/// then.
fn deployer_habits(id: &mut Ident, rng: &mut ChaCha8Rng, days: u32) {
    set_habits(id, T_CI | T_DEPLOY, rng, days);
    for (k, name) in [
        "GetRole",
        "ListAttachedRolePolicies",
        "CreateRole",
        "AttachRolePolicy",
        "PutRolePolicy",
        "UpdateAssumeRolePolicy",
        "TagRole",
        "DetachRolePolicy",
        "DeleteRole",
        "CreatePolicyVersion",
    ]
    .iter()
    .enumerate()
    {
        id.ensure_action(aws_act(name) as u16, 1 + k * 2);
    }
    for name in [
        "DescribeTrails",
        "PutEventSelectors",
        "CreateTrail",
        "StartLogging",
        "DeleteTrail",
    ] {
        id.demote_action(aws_act(name) as u16);
    }
}

/// Gives some identities a role: deployer CI roles, human admins, reporting jobs, weekly batch
/// jobs and decommissioned identities.
fn assign_roles(
    ids: &mut [Ident],
    rng: &mut ChaCha8Rng,
    names: &mut std::collections::HashSet<String>,
    days: u32,
    n_repos: usize,
) {
    let n = ids.len();
    let of = |ids: &[Ident], f: &dyn Fn(&Ident) -> bool| -> Vec<usize> {
        (0..ids.len()).filter(|&i| f(&ids[i])).collect()
    };
    // Deployers: a third of the CI roles (at least two).
    let ci = of(ids, &|x| x.kind == Kind::CiRole);
    let n_dep = if ci.len() >= 2 {
        (ci.len() / 3).max(2)
    } else {
        ci.len()
    };
    for &i in ci.iter().take(n_dep) {
        let id = &mut ids[i];
        id.role = Role::Deployer;
        id.name = deployer_name(names, id.app);
        id.clients = if rng.random_bool(0.7) {
            vec![Client::Terraform]
        } else {
            vec![Client::Terraform, Client::AwsCli]
        };
        id.start_day = 0;
        id.weight = id.weight.max(0.5);
        id.repos = vec![rng.random_range(0..n_repos)];
        deployer_habits(id, rng, days);
    }
    // Human admins: half of the AWS humans, as IAM users with console password and MFA.
    let hum = of(ids, &|x| x.kind == Kind::AwsHuman);
    for &i in hum.iter().take(hum.len().div_ceil(2)) {
        let id = &mut ids[i];
        id.role = Role::Admin;
        id.name = id.oid.split('@').next().unwrap_or("admin").to_string();
        id.pid = format!("AIDA{}", rstr(rng, UPPER_ALNUM, 17));
        id.acct = 0;
        id.net = *pick(rng, &[N_CORP, N_CORP, N_RESI, N_HOME_GB]);
        id.ips = home_ips(id.net, rng);
        id.drift_ip = None;
        id.region = NETS[id.net].aws_region;
        id.start_day = 0;
        set_habits(id, T_HUMAN | T_ADMIN, rng, days);
        for (k, name) in [
            "ListUsers",
            "ListAccessKeys",
            "CreateAccessKey",
            "UpdateAccessKey",
            "AttachUserPolicy",
            "DescribeTrails",
            "CreateUser",
            "CreateLoginProfile",
            "DeleteAccessKey",
            "PutEventSelectors",
        ]
        .iter()
        .enumerate()
        {
            id.ensure_action(aws_act(name) as u16, 2 + k * 2);
        }
    }
    // Reporting jobs: strictly 08:00-18:00 (give or take an hour) on weekdays, local time.
    let mut rep = of(ids, &|x| {
        matches!(x.kind, Kind::IamUser | Kind::LambdaRole)
            && x.role == Role::Plain
            && x.start_day == 0
    });
    shuffle(rng, &mut rep);
    let n_rep = (n / 60).clamp(2, 6).min(rep.len().saturating_sub(4));
    for &i in rep.iter().take(n_rep) {
        let id = &mut ids[i];
        id.role = Role::Reporting;
        id.sched = Sched::Strict(rng.random_range(7..=9), rng.random_range(17..=19));
        id.weekend = 0.0;
        id.weight = id.weight.max(0.5) * 1.5;
        id.spike = None;
        id.rotate = None;
        id.name = if id.kind == Kind::IamUser {
            unique(names, format!("svc-reporting-{}", id.env))
        } else {
            id.sessions = vec![format!("{}-{}-report-builder", id.app, id.env)];
            unique(
                names,
                format!("{}-{}-report-builder-lambda-role", id.app, id.env),
            )
        };
        set_habits(id, T_REPORT, rng, days);
    }
    // Weekly batch jobs: one window of 1-3 hours on one weekday.
    let mut wk = of(ids, &|x| {
        matches!(x.kind, Kind::LambdaRole | Kind::Ec2Role | Kind::IamUser)
            && x.role == Role::Plain
            && x.start_day == 0
    });
    shuffle(rng, &mut wk);
    let n_wk = if days >= 7 { (n / 100).clamp(1, 4) } else { 0 };
    for &i in wk.iter().take(n_wk.min(wk.len().saturating_sub(6))) {
        let id = &mut ids[i];
        id.role = Role::Weekly;
        id.sched = Sched::Weekly(
            rng.random_range(0..7),
            rng.random_range(0..21),
            rng.random_range(1..=3),
        );
        id.weekend = 1.0;
        id.spike = None;
        id.rotate = None;
        id.name = match id.kind {
            Kind::IamUser => unique(names, format!("svc-{}-weekly-{}", id.app, id.env)),
            Kind::LambdaRole => unique(
                names,
                format!("{}-{}-weekly-export-lambda-role", id.app, id.env),
            ),
            _ => unique(names, format!("{}-{}-weekly-batch-role", id.app, id.env)),
        };
    }
    // Decommissioned identities: they stop for good in the second half of the scenario.
    if days > 6 {
        let mut ret = of(ids, &|x| {
            matches!(
                x.kind,
                Kind::Ec2Role
                    | Kind::LambdaRole
                    | Kind::IamUser
                    | Kind::AzureSp
                    | Kind::OktaApp
                    | Kind::GhPat
            ) && x.role == Role::Plain
                && x.start_day == 0
        });
        shuffle(rng, &mut ret);
        for &i in ret.iter().take((n / 50).max(1).min(ret.len() / 8)) {
            ids[i].role = Role::Retired;
            ids[i].end_day = rng.random_range(days / 2..days - 1);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Attacks (and benign scripted sequences)
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AtkKind {
    StolenInstanceCreds,
    OktaClientCreds,
    GithubMassClone,
    AzureListKeys,
    IamKeyPrivesc,
    PentestEnum,
    SecretBurst,
    LowSlowSecrets,
    DormantKey,
    TrailTamper,
    FedNewIssuer,
    OffHours,
    AzureSpPersistence,
    NewKeySelfEscalation,
    KeyMintedForOtherUser,
    EtlKeyEnumeration,
    /// Benign: an IAM user rotating its own access key (never labelled).
    KeyRotation,
    /// Benign: a new deployer role's first Terraform jobs (never labelled).
    DeployerDayOne,
}

impl AtkKind {
    fn name(self) -> &'static str {
        match self {
            AtkKind::StolenInstanceCreds => "stolen_instance_credentials",
            AtkKind::OktaClientCreds => "okta_client_credentials_abuse",
            AtkKind::GithubMassClone => "github_token_mass_clone",
            AtkKind::AzureListKeys => "azure_sp_list_keys",
            AtkKind::IamKeyPrivesc => "iam_key_privilege_escalation",
            AtkKind::PentestEnum => "pentest_enumeration",
            AtkKind::SecretBurst => "secret_read_burst_after_idle",
            AtkKind::LowSlowSecrets => "low_and_slow_secret_reads",
            AtkKind::DormantKey => "dormant_key_reactivated",
            AtkKind::TrailTamper => "cloudtrail_tampering",
            AtkKind::FedNewIssuer => "federation_new_issuer",
            AtkKind::OffHours => "off_hours_activity",
            AtkKind::AzureSpPersistence => "azure_sp_persistence",
            AtkKind::NewKeySelfEscalation => "new_key_self_escalation",
            AtkKind::KeyMintedForOtherUser => "key_minted_for_other_user",
            AtkKind::EtlKeyEnumeration => "etl_key_enumeration",
            AtkKind::KeyRotation => "benign_key_rotation",
            AtkKind::DeployerDayOne => "benign_deployer_day_one",
        }
    }
}

impl AtkKind {
    /// Why an attack is expected below Medium, if it is by design: the detectors see nothing
    /// but its timing.
    fn low_by_design(self) -> Option<&'static str> {
        match self {
            AtkKind::OffHours => Some(
                "off-hours activity alone, from the victim's usual place and client: a Low signal by design",
            ),
            _ => None,
        }
    }
}

struct Step {
    at: i64,
    act: u16,
    region: &'static str,
    denied: bool,
    /// Variant of the resource, or (with `cnt` > 0) the first of `cnt` entries of `names`.
    arg: usize,
    cnt: usize,
    /// Made by this other identity, from its usual place and client (an identity minting a key
    /// for the victim).
    by: Option<u32>,
    /// Labelled with the attack (a session opening around an attacker's call is not).
    label: bool,
}

/// OIDC web-identity federation of a session.
struct Fed {
    issuer: String,
    subject: String,
    aud: String,
    session: String,
    /// User agent of the federation call.
    ua: String,
}

struct Attack {
    kind: AtkKind,
    victim: usize,
    /// Day of the first step.
    day: u32,
    start: i64,
    /// Start of the session the attacker uses (stolen CI job credentials are minutes old).
    sess_start: i64,
    net: usize,
    ip: [u8; 4],
    ua: String,
    /// From the victim's usual place and client: IP, user agent and session are the victim's.
    home: bool,
    /// Attacker records are labelled; benign scripted sequences are not.
    label: bool,
    fed: Option<Fed>,
    /// Resource names the steps refer to (secret ids, user and role names, trails).
    names: Vec<String>,
    steps: Vec<Step>,
    /// IAM users: the access key the attacker's calls use from this time (ms) on.
    new_key: Option<(i64, String)>,
}

/// Builds a sequence of steps in time.
struct Seq {
    t: i64,
    steps: Vec<Step>,
}

impl Seq {
    fn new(t: i64) -> Seq {
        Seq {
            t,
            steps: Vec::new(),
        }
    }
    fn wait(&mut self, rng: &mut ChaCha8Rng, lo: i64, hi: i64) {
        self.t += rng.random_range(lo..hi);
    }
    fn add(&mut self, act: usize, region: &'static str, denied: bool, arg: usize, cnt: usize) {
        self.steps.push(Step {
            at: self.t,
            act: act as u16,
            region,
            denied,
            arg,
            cnt,
            by: None,
            label: true,
        });
    }
    /// An AWS call after a pause of `lo..hi` ms.
    #[allow(clippy::too_many_arguments)]
    fn aws(
        &mut self,
        rng: &mut ChaCha8Rng,
        lo: i64,
        hi: i64,
        name: &str,
        region: &'static str,
        denied: bool,
        arg: usize,
        cnt: usize,
    ) {
        self.wait(rng, lo, hi);
        self.add(aws_act(name), region, denied, arg, cnt);
    }
    /// Marks the last step as made by identity `who` (from its usual place), labelled or not.
    fn mark(&mut self, who: Option<usize>, label: bool) {
        if let Some(s) = self.steps.last_mut() {
            s.by = who.map(|w| w as u32);
            s.label = label;
        }
    }
}

static SECRET_KINDS: &[&str] = &[
    "db-credentials",
    "api-key",
    "stripe-key",
    "oauth-client-secret",
    "jwt-signing-key",
    "smtp-password",
    "github-token",
    "datadog-api-key",
    "slack-webhook",
    "redis-auth",
    "sftp-private-key",
    "snowflake-password",
    "sendgrid-api-key",
    "pagerduty-token",
];
static PARAM_KINDS: &[&str] = &[
    "db_password",
    "api_key",
    "signing_secret",
    "service_token",
    "encryption_key",
    "admin_password",
    "webhook_secret",
];

/// The two Secrets Manager secrets an identity reads habitually.
fn habitual_secrets(id: &Ident) -> [String; 2] {
    [0, 1].map(|k| {
        format!(
            "{}/{}/{}",
            id.env,
            id.app,
            SECRET_KINDS[(id.h as usize >> 5).wrapping_add(k) % 7]
        )
    })
}

/// `n` distinct secret names none of which is in `avoid`: Secrets Manager names
/// (`env/app/kind`) or, with `ssm`, SSM parameter paths (`/env/app/param`).
fn novel_secrets(
    rng: &mut ChaCha8Rng,
    n: usize,
    near: &Ident,
    ssm: bool,
    avoid: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(n);
    let mut tries = 0;
    while out.len() < n && tries < 10_000 {
        tries += 1;
        // A third from the identity's own application, the rest from others.
        let (app, env) = if rng.random_bool(0.3) {
            (near.app, near.env)
        } else {
            (
                *pick(rng, APPS),
                *pick(rng, &["prod", "prod", "staging", "dev"]),
            )
        };
        let s = if ssm {
            format!("/{env}/{app}/{}", pick(rng, PARAM_KINDS))
        } else {
            format!("{env}/{app}/{}", pick(rng, SECRET_KINDS))
        };
        if !out.contains(&s) && !avoid.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn new_attack(
    kind: AtkKind,
    victim: usize,
    start: i64,
    net: usize,
    ip: [u8; 4],
    ua: String,
) -> Attack {
    Attack {
        kind,
        victim,
        day: 0,
        start,
        sess_start: start,
        net,
        ip,
        ua,
        home: false,
        label: true,
        fed: None,
        names: Vec::new(),
        steps: Vec::new(),
        new_key: None,
    }
}

/// Candidate victims: identities matching `f` with 8 days of history before the scenario ends,
/// not yet attacked; with `busiest`, the busier half of them.
fn candidates(w: &World, taken: &[usize], f: &dyn Fn(&Ident) -> bool, busiest: bool) -> Vec<usize> {
    let mut c: Vec<usize> = (0..w.ids.len())
        .filter(|&i| f(&w.ids[i]) && w.ids[i].start_day + 8 < w.days && !taken.contains(&i))
        .collect();
    if busiest {
        c.sort_by(|&a, &b| {
            w.ids[b]
                .weight
                .partial_cmp(&w.ids[a].weight)
                .unwrap()
                .then(a.cmp(&b))
        });
        c.truncate(c.len().div_ceil(2).max(1));
    }
    c
}

/// A start time on a day with 8 days of the victim's history, between 01:00 and 21:00 UTC.
fn attack_start(w: &World, id: &Ident, rng: &mut ChaCha8Rng) -> i64 {
    let day = rng.random_range(id.start_day + 8..w.days);
    let sod = rng.random_range(3600..86_400 - 3 * 3600) as i64;
    (w.start_day + day as i64) * 86_400_000 + sod * 1000 + rng.random_range(0..1000)
}

fn warn_none(kind: AtkKind, what: &str) {
    eprintln!(
        "nhid-gen: warning: no identity eligible for attack {} (needs {what} with 8 days of history)",
        kind.name()
    );
}

fn plan_attacks(w: &mut World, rng: &mut ChaCha8Rng) {
    let mut taken: Vec<usize> = Vec::new();
    let plain = |x: &Ident, kinds: &[Kind]| kinds.contains(&x.kind) && x.role == Role::Plain;
    let aws_nhi = [Kind::Ec2Role, Kind::LambdaRole, Kind::IamUser];

    // The original four: stolen instance credentials (twice), Okta client credentials, GitHub
    // token mass clone, Azure service principal listing keys.
    let plans: [(AtkKind, &[Kind], usize); 4] = [
        (AtkKind::StolenInstanceCreds, &[Kind::Ec2Role], 2),
        (AtkKind::OktaClientCreds, &[Kind::OktaApp], 1),
        (AtkKind::GithubMassClone, &[Kind::GhPat, Kind::GhBot], 1),
        (AtkKind::AzureListKeys, &[Kind::AzureSp], 1),
    ];
    for (kind, kinds, count) in plans {
        let mut cands = candidates(w, &taken, &|x| plain(x, kinds), true);
        if cands.is_empty() {
            warn_none(kind, &format!("one of {kinds:?}"));
        }
        for _ in 0..count {
            if cands.is_empty() {
                break;
            }
            let victim = cands.remove(rng.random_range(0..cands.len()));
            taken.push(victim);
            let start = attack_start(w, &w.ids[victim], rng);
            let atk = build_attack(kind, victim, start, w, rng);
            w.attacks.push(atk);
        }
    }

    type Planner = fn(&mut World, usize, &mut ChaCha8Rng) -> Option<Attack>;
    let plans: [(AtkKind, &str, Planner); 9] = [
        (
            AtkKind::AzureSpPersistence,
            "an Azure service principal",
            atk_azure_persistence,
        ),
        (AtkKind::TrailTamper, "a deployer CI role", atk_trail_tamper),
        (AtkKind::FedNewIssuer, "a CI role", atk_federation),
        (
            AtkKind::OffHours,
            "a business-hours reporting job",
            atk_off_hours,
        ),
        (
            AtkKind::DormantKey,
            "an IAM user (and 11 days)",
            atk_dormant,
        ),
        (AtkKind::IamKeyPrivesc, "an IAM user", atk_privesc),
        (
            AtkKind::PentestEnum,
            "an EC2/Lambda role or IAM user",
            atk_pentest,
        ),
        (
            AtkKind::SecretBurst,
            "an EC2/Lambda role or IAM user",
            atk_secret_burst,
        ),
        (
            AtkKind::LowSlowSecrets,
            "an EC2/Lambda role or IAM user",
            atk_low_slow,
        ),
    ];
    for (kind, what, planner) in plans {
        let cands = match kind {
            AtkKind::AzureSpPersistence => {
                candidates(w, &taken, &|x| plain(x, &[Kind::AzureSp]), false)
            }
            AtkKind::TrailTamper => candidates(w, &taken, &|x| x.role == Role::Deployer, false),
            AtkKind::FedNewIssuer => {
                let c = candidates(w, &taken, &|x| plain(x, &[Kind::CiRole]), false);
                if c.is_empty() {
                    candidates(w, &taken, &|x| x.kind == Kind::CiRole, false)
                } else {
                    c
                }
            }
            AtkKind::OffHours => candidates(w, &taken, &|x| x.role == Role::Reporting, false),
            AtkKind::DormantKey => {
                if w.days < 11 {
                    Vec::new()
                } else {
                    let f = |x: &Ident| plain(x, &[Kind::IamUser]) && x.start_day == 0;
                    let c = candidates(w, &taken, &|x| f(x) && x.rotate.is_none(), false);
                    if c.is_empty() {
                        candidates(w, &taken, &f, false)
                    } else {
                        c
                    }
                }
            }
            AtkKind::IamKeyPrivesc => candidates(w, &taken, &|x| plain(x, &[Kind::IamUser]), true),
            AtkKind::LowSlowSecrets => {
                let gsv = aws_act("GetSecretValue") as u16;
                let c = candidates(
                    w,
                    &taken,
                    &|x| plain(x, &aws_nhi) && x.actions[..x.actions.len().min(12)].contains(&gsv),
                    false,
                );
                if c.is_empty() {
                    candidates(w, &taken, &|x| plain(x, &aws_nhi), false)
                } else {
                    c
                }
            }
            _ => candidates(w, &taken, &|x| plain(x, &aws_nhi), true),
        };
        if cands.is_empty() {
            warn_none(kind, what);
            continue;
        }
        let victim = cands[rng.random_range(0..cands.len())];
        taken.push(victim);
        if let Some(a) = planner(w, victim, rng) {
            w.attacks.push(a);
        } else {
            warn_none(kind, what);
        }
    }
    for a in &mut w.attacks {
        a.day = (a.steps[0].at.div_euclid(86_400_000) - w.start_day) as u32;
    }
}

/// Benign scripted sequences: IAM users rotating their own access keys.
fn plan_scripts(w: &mut World, rng: &mut ChaCha8Rng) {
    for v in 0..w.ids.len() {
        let id = &w.ids[v];
        let Some((day, _)) = id.rotate else { continue };
        if !id.self_rotate || id.kind != Kind::IamUser || day >= id.end_day || day < id.start_day {
            continue;
        }
        let a = key_rotation(w, v, rng);
        w.attacks.push(a);
    }
}

/// An IAM user rotating its own access key at its rotation time: it creates the new key (used
/// from then on, from its usual place and client), deactivates the old one within the hour and
/// deletes it hours later.
fn key_rotation(w: &World, v: usize, rng: &mut ChaCha8Rng) -> Attack {
    let id = &w.ids[v];
    let (day, ms) = id.rotate.expect("a rotation");
    let end = (w.start_day + w.days as i64) * 86_400_000;
    let t = (w.start_day + day as i64) * 86_400_000 + ms;
    let mut a = new_attack(AtkKind::KeyRotation, v, t, id.net, id.ips[0], String::new());
    a.home = true;
    a.label = false;
    a.names = vec![id.name.clone(), id.access_key(false), id.access_key(true)];
    let mut q = Seq::new(t - rng.random_range(5_000..60_000));
    q.add(aws_act("CreateAccessKey"), "", false, 0, 3);
    q.aws(rng, 300_000, 2_400_000, "UpdateAccessKey", "", false, 0, 3);
    q.aws(
        rng,
        3_600_000,
        5 * 3_600_000,
        "DeleteAccessKey",
        "",
        false,
        0,
        3,
    );
    q.steps.retain(|s| s.at < end);
    a.steps = q.steps;
    a.day = day;
    a
}

/// Benign twins of the attacks, never labelled and planned with or without `--attacks`: a
/// workload expanding to a region of another country and CI runners moving country (both within
/// the cloud provider's ASN), new deployer roles doing on their first day what deployers do, and
/// (if no routine user does it already) a user rotating its own key.
fn plan_twins(w: &mut World, rng: &mut ChaCha8Rng, names: &mut std::collections::HashSet<String>) {
    if w.days < 4 {
        return;
    }
    let mut taken: Vec<usize> = w
        .attacks
        .iter()
        .filter(|a| a.label)
        .map(|a| a.victim)
        .collect();
    region_expansion(w, rng, &mut taken);
    ci_runner_move(w, rng, &mut taken);
    new_deployers(w, rng, names);
    ensure_self_rotation(w, rng, &taken);
}

fn warn_twin(what: &str, needs: &str) {
    eprintln!("nhid-gen: warning: no identity eligible for benign {what} (needs {needs})");
}

/// The day a benign drift starts: in the second half of the scenario.
fn drift_day(w: &World, rng: &mut ChaCha8Rng) -> u32 {
    rng.random_range((w.days / 2).max(2)..w.days - 1)
}

/// An EC2 or Lambda role on an Amazon AS16509 network (US, Japan or UK) also works, from a day
/// on, in the region of another of these countries, from new addresses of that region.
fn region_expansion(w: &mut World, rng: &mut ChaCha8Rng, taken: &mut Vec<usize>) {
    let amazon = [N_AWS_USW, N_AWS_JP, N_AWS_GB];
    let c: Vec<usize> = (0..w.ids.len())
        .filter(|&i| {
            let x = &w.ids[i];
            matches!(x.kind, Kind::Ec2Role | Kind::LambdaRole)
                && x.role == Role::Plain
                && x.start_day == 0
                && x.region2.is_none()
                && amazon.contains(&x.net)
                && !taken.contains(&i)
        })
        .collect();
    if c.is_empty() {
        warn_twin(
            "region_expansion",
            "an EC2/Lambda role on 52.0.0.0/11, 54.64.0.0/11 or 18.130.0.0/16",
        );
        return;
    }
    let v = c[rng.random_range(0..c.len())];
    let day = drift_day(w, rng);
    let net = atk_net(rng, &amazon, w.ids[v].net);
    let ips: Vec<[u8; 4]> = (0..rng.random_range(1..=2))
        .map(|_| ip_in(&NETS[net], rng))
        .collect();
    let id = &w.ids[v];
    let sessions = match id.kind {
        Kind::Ec2Role => ips
            .iter()
            .map(|_| format!("i-{}", rstr(rng, HEX, 17)))
            .collect(),
        _ => id.sessions.clone(),
    };
    let share = rng.random_range(30..=60);
    w.ids[v].away = Some(Away {
        day,
        net,
        share,
        ips,
        sessions,
    });
    taken.push(v);
}

/// A CI role whose GitHub-hosted runners come, from a day on, from the cloud's addresses in
/// another country (Azure US <-> Ireland, one ASN); its jobs work in that country's region.
fn ci_runner_move(w: &mut World, rng: &mut ChaCha8Rng, taken: &mut Vec<usize>) {
    let hosted = |x: &Ident| x.kind == Kind::CiRole && matches!(x.net, N_AZ_US | N_AZ_IE);
    let mut c: Vec<usize> = (0..w.ids.len())
        .filter(|&i| hosted(&w.ids[i]) && w.ids[i].role == Role::Plain && !taken.contains(&i))
        .collect();
    if c.is_empty() {
        c = (0..w.ids.len())
            .filter(|&i| hosted(&w.ids[i]) && !taken.contains(&i))
            .collect();
    }
    if c.is_empty() {
        warn_twin(
            "ci_runner_country_move",
            "a CI role on GitHub-hosted runners",
        );
        return;
    }
    let v = c[rng.random_range(0..c.len())];
    let day = drift_day(w, rng);
    let net = if w.ids[v].net == N_AZ_US {
        N_AZ_IE
    } else {
        N_AZ_US
    };
    w.ids[v].away = Some(Away {
        day,
        net,
        share: 100,
        ips: Vec::new(),
        sessions: Vec::new(),
    });
    taken.push(v);
}

/// Three or four new applications get their Terraform deployer roles a day or two apart: in the
/// account of an existing deployer, on its runner network, with its Terraform client; each runs
/// its first jobs on its first day.
fn new_deployers(
    w: &mut World,
    rng: &mut ChaCha8Rng,
    names: &mut std::collections::HashSet<String>,
) {
    let peers: Vec<usize> = (0..w.ids.len())
        .filter(|&i| w.ids[i].role == Role::Deployer)
        .collect();
    if peers.is_empty() {
        warn_twin("deployer_day_one", "a deployer CI role");
        return;
    }
    let p = peers[rng.random_range(0..peers.len())];
    let mut apps: Vec<&'static str> = APPS
        .iter()
        .copied()
        .filter(|a| !peers.iter().any(|&i| w.ids[i].app == *a))
        .collect();
    shuffle(rng, &mut apps);
    let n = 3 + usize::from(rng.random_bool(0.3));
    let lo = (w.days / 3).max(1);
    let hi = w.days.saturating_sub(1 + 2 * (n as u32 - 1)).max(lo);
    let mut day = rng.random_range(lo..=hi);
    for &app in apps.iter().take(n) {
        // Onboarding happens on working days.
        while is_weekend(w.start_day + day as i64) && day + 1 < w.days {
            day += 1;
        }
        let mut id = new_ident(Kind::CiRole, rng, names, w.days, w.ids.len(), &w.repos);
        let peer = &w.ids[p];
        id.role = Role::Deployer;
        id.app = app;
        id.env = peer.env;
        id.acct = peer.acct;
        id.name = deployer_name(names, app);
        id.net = peer.net;
        id.ips = peer.ips.clone();
        id.region = peer.region;
        id.clients = peer.clients.clone();
        id.ver = peer.ver;
        id.bump_day = peer.bump_day;
        id.sched = peer.sched;
        id.weekend = peer.weekend;
        id.weight = peer.weight;
        id.start_day = day.min(w.days - 1);
        (id.drift_ip, id.churn, id.region2, id.spike) = (None, None, None, None);
        id.repos = vec![app_repo(&w.repos, app, rng)];
        deployer_habits(&mut id, rng, w.days);
        w.ids.push(id);
        let v = w.ids.len() - 1;
        for a in deployer_first_jobs(w, v, rng) {
            w.attacks.push(a);
        }
        day += rng.random_range(1..=2);
    }
}

/// The infrastructure repository of an application, if the organisation has one.
fn app_repo(repos: &[String], app: &str, rng: &mut ChaCha8Rng) -> usize {
    let of_app = |r: &String| r.starts_with(&format!("{app}-"));
    repos
        .iter()
        .position(|r| of_app(r) && (r.ends_with("-infra") || r.ends_with("-terraform")))
        .or_else(|| repos.iter().position(of_app))
        .unwrap_or_else(|| rng.random_range(0..repos.len()))
}

/// A new deployer's first two Terraform jobs, an hour or more apart in its office hours: roles
/// for its application created, tagged and given policies and trust; its application trail
/// created and started, then stopped or replaced.
fn deployer_first_jobs(w: &World, v: usize, rng: &mut ChaCha8Rng) -> Vec<Attack> {
    let id = &w.ids[v];
    let end = (w.start_day + w.days as i64) * 86_400_000;
    let local = rng.random_range(10 * 3600..15 * 3600i64);
    let sod = (local - NETS[id.net].tz * 3600).rem_euclid(86_400);
    let t1 = (w.start_day + id.start_day as i64) * 86_400_000 + sod * 1000;
    let t2 = t1 + rng.random_range(3_600..4 * 3_600) * 1000;
    let mut kinds = [
        "ecs-task-role",
        "lambda-exec-role",
        "glue-job-role",
        "batch-job-role",
        "sfn-role",
    ];
    shuffle(rng, &mut kinds);
    let names = vec![
        format!("{}-{}-{}", id.app, id.env, kinds[0]),
        format!("{}-{}-{}", id.app, id.env, kinds[1]),
        format!("{}-{}-audit-trail", id.app, id.env),
    ];
    let job = |t: i64, rng: &mut ChaCha8Rng, plan: &[(&str, usize)]| {
        let mut a = new_attack(
            AtkKind::DeployerDayOne,
            v,
            t,
            id.net,
            id.ips[0],
            String::new(),
        );
        (a.home, a.label, a.names) = (true, false, names.clone());
        let mut q = Seq::new(t);
        q.add(aws_act("AssumeRoleWithWebIdentity"), "", false, 0, 0);
        for &(name, arg) in plan {
            q.aws(rng, 300, 4_000, name, "", false, arg, usize::from(arg < 3));
        }
        q.steps.retain(|s| s.at < end);
        a.steps = q.steps;
        a.day = id.start_day;
        a
    };
    let first = [
        ("GetCallerIdentity", 9),
        ("CreateRole", 0),
        ("TagRole", 0),
        ("PutRolePolicy", 0),
        ("AttachRolePolicy", 0),
        ("CreateRole", 1),
        ("PutRolePolicy", 1),
        ("UpdateAssumeRolePolicy", 1),
        ("DescribeTrails", 9),
        ("CreateTrail", 2),
        ("StartLogging", 2),
        ("PutEventSelectors", 2),
    ];
    let second: &[(&str, usize)] = if rng.random_bool(0.5) {
        &[
            ("GetRole", 0),
            ("UpdateAssumeRolePolicy", 0),
            ("GetTrailStatus", 2),
            ("StopLogging", 2),
        ]
    } else {
        &[
            ("GetRole", 0),
            ("UpdateAssumeRolePolicy", 0),
            ("GetTrailStatus", 2),
            ("DeleteTrail", 2),
            ("CreateTrail", 2),
            ("StartLogging", 2),
        ]
    };
    vec![job(t1, rng, &first), job(t2, rng, second)]
        .into_iter()
        .filter(|a| !a.steps.is_empty())
        .collect()
}

/// Makes sure a routine IAM user (not attacked) rotates its own key: the benign twin of a key
/// minted and used elsewhere (new key, same place and client, same day).
fn ensure_self_rotation(w: &mut World, rng: &mut ChaCha8Rng, taken: &[usize]) {
    if w.attacks
        .iter()
        .any(|a| a.kind == AtkKind::KeyRotation && !taken.contains(&a.victim))
    {
        return;
    }
    let c: Vec<usize> = (0..w.ids.len())
        .filter(|&i| {
            let x = &w.ids[i];
            x.kind == Kind::IamUser
                && x.role == Role::Plain
                && x.start_day == 0
                && x.rotate.is_none()
                && matches!(x.sched, Sched::Always | Sched::Cron(..))
                && !taken.contains(&i)
        })
        .collect();
    if c.is_empty() {
        warn_twin(
            "benign_key_rotation",
            "a routine IAM user active around the clock",
        );
        return;
    }
    let v = c[rng.random_range(0..c.len())];
    let day = rng.random_range(2..w.days);
    w.ids[v].rotate = Some((day, rng.random_range(7 * 3_600_000..19 * 3_600_000)));
    w.ids[v].self_rotate = true;
    let a = key_rotation(w, v, rng);
    w.attacks.push(a);
}

/// Attacker networks other than the victim's.
fn atk_net(rng: &mut ChaCha8Rng, choices: &[usize], home: usize) -> usize {
    let c: Vec<usize> = choices.iter().copied().filter(|&n| n != home).collect();
    *pick(rng, &c)
}

/// 12-digit AWS account id.
fn acct_id(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{:012}",
        rng.random_range(100_000_000_000u64..999_999_999_999)
    )
}

/// Stolen automation-user key from a VPS: IAM enumeration (some denied), then access keys, admin
/// policy and console password for other users, maybe a backdoored role trust policy.
fn atk_privesc(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let id = &w.ids[v];
    let start = attack_start(w, id, rng);
    let net = atk_net(rng, &[N_ATK_CH, N_ATK_CH, N_ATK_RU, N_ATK_SG], id.net);
    let ua = if rng.random_bool(0.5) {
        "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.15.0-101-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69".to_string()
    } else {
        "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.0-18-cloud-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#debian.12 md/prompt#off".to_string()
    };
    let mut others: Vec<&str> = w
        .ids
        .iter()
        .filter(|x| {
            x.kind == Kind::IamUser
                && x.acct == id.acct
                && x.name != id.name
                && x.role == Role::Plain
        })
        .map(|x| x.name.as_str())
        .collect();
    if others.len() < 2 {
        others.extend(["svc-backup-admin", "ci-runner", "monitoring-readonly"]);
    }
    let key_user = (*pick(rng, &others)).to_string();
    let login_user = (*pick(rng, &others)).to_string();
    let admin_user = if rng.random_bool(0.5) {
        id.name.clone()
    } else {
        key_user.clone()
    };
    let role = w
        .ids
        .iter()
        .find(|x| x.role == Role::Deployer && x.acct == id.acct)
        .map(|x| x.name.clone())
        .unwrap_or_else(|| "OrganizationAccountAccessRole".to_string());
    let ext = acct_id(rng);
    let mut a = new_attack(
        AtkKind::IamKeyPrivesc,
        v,
        start,
        net,
        ip_in(&NETS[net], rng),
        ua,
    );
    a.names = vec![key_user, admin_user, login_user, role, ext, id.name.clone()];
    let home = id.region;
    let mut q = Seq::new(start);
    q.add(aws_act("GetCallerIdentity"), home, false, 0, 0);
    let d = rng.random_bool(0.3);
    q.aws(rng, 2_000, 30_000, "GetUser", home, d, 5, 1);
    let d = rng.random_bool(0.5);
    q.aws(
        rng,
        2_000,
        30_000,
        "ListAttachedUserPolicies",
        home,
        d,
        5,
        1,
    );
    q.aws(rng, 1_000, 10_000, "ListUserPolicies", home, d, 5, 1);
    let d = rng.random_bool(0.5);
    q.aws(rng, 2_000, 40_000, "ListGroupsForUser", home, d, 5, 1);
    let d = rng.random_bool(0.4);
    q.aws(rng, 2_000, 40_000, "ListUsers", home, d, 0, 0);
    let d = rng.random_bool(0.6);
    q.aws(rng, 2_000, 40_000, "ListRoles", home, d, 0, 0);
    q.aws(rng, 20_000, 180_000, "CreateAccessKey", home, false, 0, 1);
    q.aws(rng, 5_000, 60_000, "AttachUserPolicy", home, false, 1, 1);
    q.aws(rng, 5_000, 90_000, "CreateLoginProfile", home, false, 2, 1);
    if rng.random_bool(0.6) {
        q.aws(rng, 10_000, 120_000, "GetRole", home, false, 3, 1);
        q.aws(
            rng,
            5_000,
            60_000,
            "UpdateAssumeRolePolicy",
            home,
            false,
            3,
            2,
        );
    }
    if rng.random_bool(0.5) {
        q.aws(rng, 5_000, 60_000, "ListBuckets", home, false, 0, 0);
    }
    a.steps = q.steps;
    Some(a)
}

static ENUM_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "eu-north-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-south-1",
    "sa-east-1",
    "ca-central-1",
];

/// Stolen credentials driven by an offensive tool: a fast burst of List/Describe/Get calls
/// across services and regions, many denied.
fn atk_pentest(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let id = &w.ids[v];
    let start = attack_start(w, id, rng);
    let net = atk_net(
        rng,
        &[N_ATK_DE, N_ATK_RU, N_ATK_SG, N_ATK_NG, N_ATK_CH],
        id.net,
    );
    let tool = rng.random_range(0..7);
    let ua = match tool {
        // Pacu replaces a Kali/Parrot user agent with an innocuous old one.
        0 => pick(
            rng,
            &[
                "Boto3/1.5.8 Python/3.6.3 Windows/10 Botocore/1.8.22",
                "aws-cli/1.16.190 Python/3.7.0 Windows/10 botocore/1.12.180",
            ],
        )
        .to_string(),
        1 => "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off".to_string(),
        2 => "aws-cli/1.32.20 Python/3.11.2 Linux/6.5.0-13parrot1-amd64 botocore/1.34.20".to_string(),
        3 => "Scout Suite/5.14.0 Python/3.11.6 Linux/6.5.0-kali3-amd64 Botocore/1.34.51 Scout Suite/5.14.0 (https://github.com/nccgroup/ScoutSuite)".to_string(),
        4 => "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.5.0-kali3-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.34.51 APN_1826889".to_string(),
        5 => format!("stratus-red-team_{}", uuid(rng)),
        _ => "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64".to_string(),
    };
    // Scanners run concurrently; interactive tools are slower.
    let (lo, hi) = if matches!(tool, 3 | 4 | 6) {
        (80, 1_500)
    } else {
        (300, 6_000)
    };
    let role_creds = id.kind != Kind::IamUser;
    let p_iam = if role_creds { 0.75 } else { 0.5 };
    let mut a = new_attack(
        AtkKind::PentestEnum,
        v,
        start,
        net,
        ip_in(&NETS[net], rng),
        ua,
    );
    // Permissions are per service: a service is either denied everywhere or allowed.
    let salt = rng.random::<u64>();
    let denied = |svc: &str| (mix(salt, hash_str(svc)) % 100) < 45;
    let mut q = Seq::new(start);
    q.add(aws_act("GetCallerIdentity"), "us-east-1", false, 0, 0);
    let mut iam = vec![
        "ListUsers",
        "ListRoles",
        "ListPolicies",
        "ListGroups",
        "GetAccountAuthorizationDetails",
        "GetAccountSummary",
        "GetAccountPasswordPolicy",
        "ListInstanceProfiles",
        "ListMFADevices",
    ];
    shuffle(rng, &mut iam);
    for name in iam.iter().take(rng.random_range(4..=9)) {
        let d = rng.random_bool(p_iam);
        q.aws(rng, lo, hi, name, "us-east-1", d, 0, 0);
    }
    let s3_denied = denied("s3");
    q.aws(rng, lo, hi, "ListBuckets", "us-east-1", s3_denied, 0, 0);
    if !s3_denied {
        let mut bk = [
            "GetBucketAcl",
            "GetBucketPolicy",
            "GetBucketLogging",
            "GetBucketPublicAccessBlock",
        ];
        for k in 0..rng.random_range(2..6) {
            shuffle(rng, &mut bk);
            for name in bk.iter().take(rng.random_range(1..=4)) {
                let d = rng.random_bool(0.2);
                q.aws(rng, lo, hi, name, "us-east-1", d, k, 0);
            }
        }
    }
    let d = rng.random_bool(0.8);
    q.aws(rng, lo, hi, "DescribeOrganization", "us-east-1", d, 0, 0);
    if rng.random_bool(0.5) {
        q.aws(rng, lo, hi, "ListAccounts", "us-east-1", true, 0, 0);
    }
    q.aws(
        rng,
        lo,
        hi,
        "ListHostedZones",
        "us-east-1",
        denied("route53"),
        0,
        0,
    );
    let regional: &[(&str, &str)] = &[
        ("ec2", "DescribeInstances"),
        ("ec2", "DescribeSecurityGroups"),
        ("ec2", "DescribeVpcs"),
        ("ec2", "DescribeSnapshots"),
        ("ec2", "DescribeImages"),
        ("ec2", "DescribeKeyPairs"),
        ("ec2", "GetEbsEncryptionByDefault"),
        ("ec2", "DescribeFlowLogs"),
        ("lambda", "ListFunctions20150331"),
        ("secretsmanager", "ListSecrets"),
        ("ssm", "DescribeParameters"),
        ("kms", "ListKeys"),
        ("kms", "ListAliases"),
        ("cloudtrail", "DescribeTrails"),
        ("guardduty", "ListDetectors"),
        ("config", "DescribeConfigurationRecorders"),
        ("rds", "DescribeDBInstances"),
        ("rds", "DescribeDBSnapshots"),
        ("dynamodb", "ListTables"),
        ("sns", "ListTopics"),
        ("sqs", "ListQueues"),
        ("ecr", "DescribeRepositories"),
        ("eks", "ListClusters"),
        ("ecs", "ListClusters"),
        ("logs", "DescribeLogGroups"),
        ("cloudformation", "ListStacks"),
        ("acm", "ListCertificates"),
        ("elasticloadbalancing", "DescribeLoadBalancers"),
        ("monitoring", "DescribeAlarms"),
    ];
    let mut regions: Vec<&'static str> = ENUM_REGIONS.to_vec();
    shuffle(rng, &mut regions);
    let n_reg = if matches!(tool, 3 | 4) {
        rng.random_range(8..=14)
    } else {
        rng.random_range(3..=8)
    };
    let mut calls: Vec<usize> = (0..regional.len()).collect();
    for r in regions.iter().take(n_reg) {
        shuffle(rng, &mut calls);
        for &c in calls.iter().take(rng.random_range(3..=8)) {
            let (svc, name) = regional[c];
            q.wait(rng, lo, hi);
            q.add(aws_act2(svc, name), r, denied(svc), 0, 0);
            if q.steps.len() >= 140 {
                break;
            }
        }
    }
    a.steps = q.steps;
    Some(a)
}

/// Secret-read actions that a victim of a burst must not have habitually.
fn is_secret_read(act: u16) -> bool {
    matches!(
        AWS[act as usize].1,
        "GetSecretValue"
            | "BatchGetSecretValue"
            | "GetParameter"
            | "GetParameters"
            | "GetParametersByPath"
    )
}

/// An identity that never reads secrets goes quiet for hours, then reads 20-60 distinct secrets
/// within about ten minutes from its usual place and client.
fn atk_secret_burst(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let start = attack_start(w, &w.ids[v], rng);
    let quiet = rng.random_range(3..=7) * 3_600_000 + rng.random_range(0..3_600_000);
    {
        let id = &mut w.ids[v];
        id.actions.retain(|&a| !is_secret_read(a));
        if id.drift_action.is_some_and(|d| is_secret_read(d.1)) {
            id.drift_action = None;
        }
        id.recum();
        id.spike = None;
        id.mute.push((start - quiet, start + 30 * 60_000));
    }
    let id = &w.ids[v];
    let n = rng.random_range(20..=60);
    let n_ssm = (n as f64 * rng.random_range(0.15..0.35)) as usize;
    let mut names = novel_secrets(rng, n - n_ssm, id, false, &[]);
    let n_sm = names.len();
    names.extend(novel_secrets(rng, n_ssm, id, true, &[]));
    let mut a = new_attack(
        AtkKind::SecretBurst,
        v,
        start,
        id.net,
        id.ips[0],
        String::new(),
    );
    a.home = true;
    let mut q = Seq::new(start);
    if rng.random_bool(0.5) {
        q.add(aws_act("ListSecrets"), "", false, 0, 0);
        q.wait(rng, 2_000, 12_000);
    }
    let mut i = 0;
    while i < n_sm {
        let left = n_sm - i;
        if left >= 3 && rng.random_bool(0.2) {
            let c = rng.random_range(3..=8).min(left);
            q.add(aws_act("BatchGetSecretValue"), "", false, i, c);
            i += c;
        } else {
            q.add(aws_act("GetSecretValue"), "", false, i, 1);
            i += 1;
        }
        q.wait(rng, 1_000, 12_000);
    }
    while i < names.len() {
        let left = names.len() - i;
        if left >= 2 && rng.random_bool(0.6) {
            let c = rng.random_range(2..=6).min(left);
            q.add(aws_act("GetParameters"), "", false, i, c);
            i += c;
        } else {
            q.add(aws_act("GetParameter"), "", false, i, 1);
            i += 1;
        }
        q.wait(rng, 1_000, 12_000);
    }
    a.names = names;
    a.steps = q.steps;
    Some(a)
}

/// An identity that reads the same two secrets reads one new secret every 1-3 hours for a day,
/// from its usual place and client.
fn atk_low_slow(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let gsv = aws_act("GetSecretValue") as u16;
    {
        let id = &mut w.ids[v];
        if !id.actions.contains(&gsv) {
            id.ensure_action(gsv, 2);
        }
    }
    let id = &w.ids[v];
    let n = rng.random_range(8..=15usize);
    let names = novel_secrets(rng, n, id, false, &habitual_secrets(id));
    let max_gap = (180 * 60_000).min(23 * 3_600_000 / n as i64);
    let mut offs = vec![0i64];
    for _ in 1..names.len() {
        let last = *offs.last().unwrap();
        offs.push(last + rng.random_range(60 * 60_000..max_gap.max(60 * 60_000 + 1)));
    }
    let span = *offs.last().unwrap();
    let lo = (w.start_day + id.start_day as i64 + 8) * 86_400_000;
    let hi = (w.start_day + w.days as i64) * 86_400_000 - span - 60_000;
    let start = if hi > lo {
        rng.random_range(lo..hi)
    } else {
        lo
    };
    let mut a = new_attack(
        AtkKind::LowSlowSecrets,
        v,
        start,
        id.net,
        id.ips[0],
        String::new(),
    );
    a.home = true;
    for (k, o) in offs.iter().enumerate() {
        a.steps.push(Step {
            at: start + o + rng.random_range(0..90_000),
            act: gsv,
            region: "",
            denied: false,
            arg: k,
            cnt: 1,
            by: None,
            label: true,
        });
    }
    a.names = names;
    Some(a)
}

/// An access key active only in the first days, silent for at least 8 days, then used from a
/// new network for a handful of calls.
fn atk_dormant(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let end = rng.random_range(2..=3u32.min(w.days - 9));
    {
        let id = &mut w.ids[v];
        id.end_day = end;
        id.role = Role::Retired;
        id.rotate = None;
        id.spike = None;
        id.churn = None;
        id.region2 = None;
        id.drift_ip = None;
    }
    let id = &w.ids[v];
    let day = rng.random_range(end + 8..w.days);
    let sod = rng.random_range(3600..86_400 - 3 * 3600) as i64;
    let start = (w.start_day + day as i64) * 86_400_000 + sod * 1000 + rng.random_range(0..1000);
    let net = atk_net(
        rng,
        &[N_ATK_SG, N_ATK_NG, N_ATK_RU, N_ATK_DE, N_ATK_CH],
        id.net,
    );
    let ua = if rng.random_bool(0.5) {
        "aws-cli/2.15.57 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1018-aws md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off".to_string()
    } else {
        "Boto3/1.34.101 md/Botocore#1.34.101 ua/2.0 os/linux#6.8.0-31-generic md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.101".to_string()
    };
    let mut a = new_attack(
        AtkKind::DormantKey,
        v,
        start,
        net,
        ip_in(&NETS[net], rng),
        ua,
    );
    let home = id.region;
    let mut q = Seq::new(start);
    q.add(aws_act("GetCallerIdentity"), home, false, 0, 0);
    q.aws(rng, 5_000, 90_000, "ListBuckets", home, false, 0, 0);
    if rng.random_bool(0.5) {
        q.aws(rng, 2_000, 30_000, "GetBucketLocation", home, false, 1, 0);
    }
    q.aws(rng, 5_000, 60_000, "ListObjects", home, false, 1, 0);
    for k in 0..rng.random_range(1..=4) {
        q.aws(rng, 2_000, 60_000, "GetObject", home, false, 1 + k % 2, 0);
    }
    if rng.random_bool(0.4) {
        let d = rng.random_bool(0.5);
        q.aws(rng, 5_000, 60_000, "DescribeInstances", home, d, 0, 0);
    }
    a.steps = q.steps;
    Some(a)
}

/// Credentials of a deployer CI role used from a new network to stop and cripple the account's
/// trail (and maybe delete VPC flow logs).
fn atk_trail_tamper(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let id = &w.ids[v];
    let start = attack_start(w, id, rng);
    let net = atk_net(rng, &[N_ATK_SG, N_ATK_CH, N_GCP, N_ATK_RU], id.net);
    let ua = "aws-cli/2.15.57 md/awscrt#0.19.19 ua/2.0 os/linux#5.15.0-105-generic md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off".to_string();
    let mut a = new_attack(
        AtkKind::TrailTamper,
        v,
        start,
        net,
        ip_in(&NETS[net], rng),
        ua,
    );
    a.sess_start = start - rng.random_range(3 * 60_000..40 * 60_000);
    a.names = vec![
        main_trail(&w.accounts[id.acct], id.acct),
        format!("fl-{}", rstr(rng, HEX, 17)),
        format!("fl-{}", rstr(rng, HEX, 17)),
    ];
    let home = id.region;
    let mut q = Seq::new(start);
    q.add(aws_act("GetCallerIdentity"), home, false, 0, 0);
    q.aws(
        rng,
        3_000,
        40_000,
        "DescribeTrails",
        "us-east-1",
        false,
        0,
        0,
    );
    q.aws(
        rng,
        2_000,
        30_000,
        "GetTrailStatus",
        "us-east-1",
        false,
        0,
        1,
    );
    q.aws(rng, 3_000, 60_000, "StopLogging", "us-east-1", false, 0, 1);
    if rng.random_bool(0.55) {
        q.aws(
            rng,
            3_000,
            60_000,
            "PutEventSelectors",
            "us-east-1",
            false,
            0,
            1,
        );
    } else {
        q.aws(rng, 3_000, 60_000, "DeleteTrail", "us-east-1", false, 0, 1);
    }
    if rng.random_bool(0.5) {
        q.aws(rng, 5_000, 90_000, "DescribeFlowLogs", home, false, 0, 0);
        let d = rng.random_range(1..=2);
        q.aws(rng, 3_000, 30_000, "DeleteFlowLogs", home, false, 1, d);
    }
    a.steps = q.steps;
    Some(a)
}

/// A CI role normally federated from the organisation's GitHub workflows is assumed with a token
/// of a foreign repository or organisation, or of another issuer; the session then looks around.
fn atk_federation(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let id = &w.ids[v];
    let start = attack_start(w, id, rng);
    let repo = &w.repos[id.repos.first().copied().unwrap_or(0)];
    let variant = rng.random_range(0..3);
    let gh_ua = "aws-sdk-js/3.552.0 ua/2.0 os/linux#6.5.0-1017-azure lang/js md/nodejs#20.12.1 api/sts#3.552.0 configure-aws-credentials-for-github-actions".to_string();
    let (net, fed, ua) = match variant {
        // A fork or look-alike organisation.
        0 => {
            let org = *pick(
                rng,
                &[
                    "acme-c0rp",
                    "acmecorp-dev",
                    "octo-sandbox-ci",
                    "build-farm-labs",
                    "cloud-sec-research",
                ],
            );
            (
                *pick(rng, &[N_AZ_US, N_AZ_IE]),
                Fed {
                    issuer: "token.actions.githubusercontent.com".into(),
                    subject: format!("repo:{org}/{repo}:ref:refs/heads/main"),
                    aud: "sts.amazonaws.com".into(),
                    session: "GitHubActions".into(),
                    ua: gh_ua,
                },
                "aws-cli/2.15.57 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1017-azure md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off".to_string(),
            )
        }
        // Another repository of the organisation, from a pull request.
        1 => {
            let mut other = pick(rng, &w.repos).clone();
            if &other == repo {
                other = format!("{repo}-playground");
            }
            (
                *pick(rng, &[N_AZ_US, N_AZ_IE]),
                Fed {
                    issuer: "token.actions.githubusercontent.com".into(),
                    subject: format!("repo:{GH_ORG}/{other}:pull_request"),
                    aud: "sts.amazonaws.com".into(),
                    session: "GitHubActions".into(),
                    ua: gh_ua,
                },
                "aws-cli/2.15.57 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1017-azure md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off".to_string(),
            )
        }
        // Another issuer registered in the account (GitLab SaaS runners run on GCP).
        _ => {
            let grp = *pick(
                rng,
                &[
                    "devops-tools",
                    "infra-sandbox",
                    "ml-pipelines",
                    "partner-integration",
                ],
            );
            let cli = "aws-cli/2.15.40 md/awscrt#0.19.19 ua/2.0 os/linux#5.15.154+ md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#docker md/distrib#amzn.2 md/prompt#off".to_string();
            (
                N_GCP,
                Fed {
                    issuer: "gitlab.com".into(),
                    subject: format!("project_path:{grp}/{repo}:ref_type:branch:ref:main"),
                    aud: "https://gitlab.com".into(),
                    session: format!(
                        "gitlab-ci-{}",
                        rng.random_range(5_000_000_000u64..7_000_000_000)
                    ),
                    ua: format!("{cli} md/command#sts.assume-role-with-web-identity"),
                },
                cli,
            )
        }
    };
    let mut a = new_attack(
        AtkKind::FedNewIssuer,
        v,
        start,
        net,
        ip_in(&NETS[net], rng),
        ua,
    );
    a.fed = Some(fed);
    let home = id.region;
    let mut q = Seq::new(start);
    q.add(aws_act("AssumeRoleWithWebIdentity"), home, false, 0, 0);
    q.aws(rng, 3_000, 40_000, "GetCallerIdentity", home, false, 0, 0);
    let mut next = [
        "ListBuckets",
        "ListObjects",
        "GetObject",
        "GetSecretValue",
        "DescribeInstances",
        "GetAuthorizationToken",
        "ListSecrets",
    ];
    shuffle(rng, &mut next);
    for name in next.iter().take(rng.random_range(2..=6)) {
        let d = rng.random_bool(0.25);
        q.aws(rng, 2_000, 60_000, name, home, d, 7, 0);
    }
    a.steps = q.steps;
    Some(a)
}

/// A strictly business-hours job used around 03:00 local time on a weekend day from its usual
/// place: its usual reads plus a couple of unusual ones.
fn atk_off_hours(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let id = &w.ids[v];
    let tz = NETS[id.net].tz;
    let lo = (w.start_day + id.start_day as i64 + 8) * 86_400_000;
    let end = (w.start_day + w.days as i64) * 86_400_000 - 3_600_000;
    let at = |d: u32, rng: &mut ChaCha8Rng| {
        (w.start_day + d as i64) * 86_400_000
            + (3 - tz) * 3_600_000
            + rng.random_range(-40 * 60_000..40 * 60_000)
    };
    let mut days: Vec<u32> = (id.start_day + 8..w.days + 1)
        .filter(|&d| is_weekend(w.start_day + d as i64))
        .collect();
    if days.is_empty() {
        days = (id.start_day + 8..w.days + 1).collect();
    }
    shuffle(rng, &mut days);
    let mut start = None;
    for d in days {
        let t = at(d, rng);
        if t >= lo && t < end {
            start = Some(t);
            break;
        }
    }
    let start = start?;
    let names = novel_secrets(rng, 1, id, false, &habitual_secrets(id));
    let reads: Vec<u16> = id
        .actions
        .iter()
        .copied()
        .filter(|&x| AWS[x as usize].2)
        .collect();
    let unusual: Vec<&str> = [
        "ListBuckets",
        "GetSecretValue",
        "ListSecrets",
        "GetBucketPolicy",
        "DescribeInstances",
        "ListUsers",
    ]
    .into_iter()
    .filter(|n| n == &"GetSecretValue" || !id.actions.contains(&(aws_act(n) as u16)))
    .collect();
    let mut a = new_attack(
        AtkKind::OffHours,
        v,
        start,
        id.net,
        id.ips[0],
        String::new(),
    );
    a.home = true;
    a.names = names;
    let n_usual = rng.random_range(5..=12);
    let n_unusual = rng.random_range(2..=3);
    let mut plan: Vec<(u16, usize)> = Vec::new();
    for _ in 0..n_usual {
        let r = if reads.is_empty() {
            aws_act("GetObject") as u16
        } else {
            reads[sample_cum(&id.cum[..reads.len().min(id.cum.len())], rng.random())
                .min(reads.len() - 1)]
        };
        plan.push((r, 0));
    }
    let mut un = unusual.clone();
    shuffle(rng, &mut un);
    for n in un.iter().take(n_unusual) {
        let cnt = usize::from(*n == "GetSecretValue");
        let pos = rng.random_range(1..=plan.len());
        plan.insert(pos, (aws_act(n) as u16, cnt));
    }
    let mut q = Seq::new(start);
    for (i, (act, cnt)) in plan.into_iter().enumerate() {
        if i > 0 {
            q.wait(rng, 4_000, 90_000);
        }
        q.add(act as usize, "", false, 0, cnt);
    }
    a.steps = q.steps;
    Some(a)
}

/// A service principal's secret used from a new network to grant a role to another principal and
/// delete diagnostic settings.
fn atk_azure_persistence(w: &mut World, v: usize, rng: &mut ChaCha8Rng) -> Option<Attack> {
    let id = &w.ids[v];
    let start = attack_start(w, id, rng);
    let net = atk_net(rng, &[N_ATK_CH, N_ATK_SG, N_ATK_RU], id.net);
    let mut a = new_attack(
        AtkKind::AzureSpPersistence,
        v,
        start,
        net,
        ip_in(&NETS[net], rng),
        String::new(),
    );
    let role = *pick(
        rng,
        &[
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "18d7d88d-d35e-4fb5-a5c3-7773c4a72741",
            "b24988ac-6180-42a0-ab88-20f7382dd24c",
        ],
    );
    a.names = vec![uuid(rng), role.to_string()];
    let mut q = Seq::new(start);
    let az = |q: &mut Seq, rng: &mut ChaCha8Rng, op: &str, arg: usize| {
        q.wait(rng, 3_000, 90_000);
        q.add(az_act(op), "", false, arg, 0);
    };
    az(
        &mut q,
        rng,
        "Microsoft.Authorization/roleAssignments/read",
        0,
    );
    az(
        &mut q,
        rng,
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        0,
    );
    az(&mut q, rng, "Microsoft.Insights/diagnosticSettings/read", 0);
    az(
        &mut q,
        rng,
        "Microsoft.Authorization/roleAssignments/write",
        50,
    );
    let mut vs = [0usize, 1, 2, 3];
    shuffle(rng, &mut vs);
    for &x in vs.iter().take(rng.random_range(1..=3)) {
        az(
            &mut q,
            rng,
            "microsoft.insights/diagnosticSettings/delete",
            60 + x,
        );
    }
    a.steps = q.steps;
    Some(a)
}

/// The attacks around access keys and quiet workloads, planned after the others (and after the
/// benign twins, whose identities they leave alone) from their own random stream.
fn plan_key_attacks(
    w: &mut World,
    rng: &mut ChaCha8Rng,
    names: &mut std::collections::HashSet<String>,
) {
    let mut taken: Vec<usize> = w
        .attacks
        .iter()
        .flat_map(|a| {
            std::iter::once(a.victim).chain(a.steps.iter().filter_map(|s| s.by.map(|b| b as usize)))
        })
        .collect();
    taken.extend((0..w.ids.len()).filter(|&i| w.ids[i].away.is_some()));
    let first = w.attacks.len();
    match atk_etl_enum(w, &taken, rng) {
        Some(a) => {
            taken.push(a.victim);
            w.attacks.push(a);
        }
        None => warn_none(AtkKind::EtlKeyEnumeration, "an EC2/Lambda role or IAM user"),
    }
    match atk_key_minted(w, &taken, rng) {
        Some(a) => w.attacks.push(a),
        None => warn_none(
            AtkKind::KeyMintedForOtherUser,
            "a deployer role or admin and an IAM user of its account",
        ),
    }
    match atk_self_escalation(w, rng, names) {
        Some(a) => w.attacks.push(a),
        None => warn_none(
            AtkKind::NewKeySelfEscalation,
            "an AWS account with IAM users",
        ),
    }
    for a in &mut w.attacks[first..] {
        a.day = (a.steps[0].at.div_euclid(86_400_000) - w.start_day) as u32;
    }
}

/// Read-only calls an enumerating key makes across six services.
static ENUM_APIS: &[(&str, &str)] = &[
    ("iam", "ListUsers"),
    ("iam", "ListRoles"),
    ("iam", "ListPolicies"),
    ("iam", "ListGroups"),
    ("iam", "GetAccountSummary"),
    ("iam", "GetAccountAuthorizationDetails"),
    ("iam", "ListInstanceProfiles"),
    ("iam", "GetAccountPasswordPolicy"),
    ("iam", "ListAccountAliases"),
    ("iam", "ListOpenIDConnectProviders"),
    ("ec2", "DescribeInstances"),
    ("ec2", "DescribeSecurityGroups"),
    ("ec2", "DescribeVpcs"),
    ("ec2", "DescribeSubnets"),
    ("ec2", "DescribeSnapshots"),
    ("ec2", "DescribeImages"),
    ("ec2", "DescribeKeyPairs"),
    ("ec2", "DescribeVolumes"),
    ("ec2", "DescribeRegions"),
    ("s3", "ListBuckets"),
    ("s3", "GetBucketPolicy"),
    ("s3", "GetBucketAcl"),
    ("s3", "GetBucketLogging"),
    ("s3", "GetBucketPublicAccessBlock"),
    ("s3", "GetBucketLocation"),
    ("secretsmanager", "ListSecrets"),
    ("secretsmanager", "DescribeSecret"),
    ("kms", "ListKeys"),
    ("kms", "ListAliases"),
    ("kms", "DescribeKey"),
    ("lambda", "ListFunctions20150331"),
    ("lambda", "GetFunction"),
    ("lambda", "GetFunctionConfiguration20150331v2"),
];

/// Applications and integrations that move data around.
fn etl_like(x: &Ident) -> bool {
    [
        "etl",
        "ingest",
        "export",
        "sync",
        "analytics",
        "batch",
        "events",
    ]
    .contains(&x.app)
        || x.name.contains("integration")
}

/// A quiet ETL-like workload (few habitual actions), from its usual place and client, calls
/// 15-25 List/Describe/Get APIs it never called, across six services within five minutes; half
/// the time a few are denied.
fn atk_etl_enum(w: &World, taken: &[usize], rng: &mut ChaCha8Rng) -> Option<Attack> {
    let nhi = |x: &Ident| {
        matches!(x.kind, Kind::Ec2Role | Kind::LambdaRole | Kind::IamUser) && x.role == Role::Plain
    };
    // Quiet, and from a fixed address (no NAT churn, no address drift).
    let quiet =
        |x: &Ident| nhi(x) && x.actions.len() <= 12 && x.churn.is_none() && x.drift_ip.is_none();
    let mut c = candidates(w, taken, &quiet, false);
    if c.is_empty() {
        c = candidates(w, taken, &nhi, false);
    }
    c.sort_by_key(|&i| (!etl_like(&w.ids[i]), w.ids[i].actions.len(), i));
    let v = *c.get(rng.random_range(0..c.len().clamp(1, 3)))?;
    let id = &w.ids[v];
    let known = |svc: &str, name: &str| {
        let act = aws_act2(svc, name) as u16;
        id.actions.contains(&act) || id.drift_action.is_some_and(|d| d.1 == act)
    };
    let mut apis: Vec<(&str, &str)> = ENUM_APIS
        .iter()
        .copied()
        .filter(|&(s, n)| !known(s, n))
        .collect();
    shuffle(rng, &mut apis);
    // Taken round-robin over the services (every service is in), then walked service by
    // service as a script would.
    let mut svcs: Vec<&str> = Vec::new();
    for &(svc, _) in &apis {
        if !svcs.contains(&svc) {
            svcs.push(svc);
        }
    }
    let rank = |x: &(&str, &str)| {
        let nth = apis.iter().filter(|y| y.0 == x.0).position(|y| y == x);
        (nth, svcs.iter().position(|s| *s == x.0))
    };
    let mut calls = apis.clone();
    calls.sort_by_key(rank);
    calls.truncate(rng.random_range(15..=25));
    calls.sort_by_key(|x| svcs.iter().position(|s| *s == x.0));
    let start = attack_start(w, id, rng);
    let mut a = new_attack(
        AtkKind::EtlKeyEnumeration,
        v,
        start,
        id.net,
        id.ips[0],
        String::new(),
    );
    a.home = true;
    let mut denials = if rng.random_bool(0.5) {
        rng.random_range(2..=4)
    } else {
        0
    };
    let mut q = Seq::new(start);
    for (k, (svc, name)) in calls.into_iter().enumerate() {
        if k > 0 {
            q.wait(rng, 1_500, 10_000);
        }
        let d =
            denials > 0 && matches!(svc, "iam" | "kms" | "secretsmanager") && rng.random_bool(0.5);
        denials -= usize::from(d);
        q.add(aws_act2(svc, name), "", d, 0, 0);
    }
    a.steps = q.steps;
    Some(a)
}

/// A deployer role (in one of its CI jobs) or an admin (in a console session) creates an access
/// key for another IAM user of its account; 10-60 minutes later the new key is used from a
/// hosting network abroad with a bare HTTP client or an offensive tool, reading secrets. The
/// `CreateAccessKey` and the new key's calls are labelled, under the user the key was minted for.
fn atk_key_minted(w: &World, taken: &[usize], rng: &mut ChaCha8Rng) -> Option<Attack> {
    let minters: Vec<(usize, Vec<usize>)> = (0..w.ids.len())
        .filter(|&m| {
            let x = &w.ids[m];
            let deployer = x.role == Role::Deployer && x.start_day == 0;
            (deployer || x.role == Role::Admin) && !taken.contains(&m)
        })
        .map(|m| {
            let acct = w.ids[m].acct;
            let users = candidates(
                w,
                taken,
                &|x| x.kind == Kind::IamUser && x.role == Role::Plain && x.acct == acct,
                false,
            );
            (m, users)
        })
        .filter(|(_, users)| !users.is_empty())
        .collect();
    if minters.is_empty() {
        return None;
    }
    let (m, users) = &minters[rng.random_range(0..minters.len())];
    let (m, v) = (*m, users[rng.random_range(0..users.len())]);
    let (minter, id) = (&w.ids[m], &w.ids[v]);
    let start = attack_start(w, id, rng).div_euclid(1000) * 1000;
    let net = atk_net(
        rng,
        &[N_ATK_SG, N_ATK_NG, N_ATK_RU, N_ATK_DE, N_ATK_CH],
        id.net,
    );
    let ua = match rng.random_range(0..3) {
        0 => "curl/8.5.0",
        1 => "Go-http-client/1.1",
        _ => "aws-cli/1.32.20 Python/3.11.2 Linux/6.5.0-13parrot1-amd64 botocore/1.34.20",
    };
    let mut a = new_attack(
        AtkKind::KeyMintedForOtherUser,
        v,
        start,
        net,
        ip_in(&NETS[net], rng),
        ua.to_string(),
    );
    let new_key = format!("AKIA{}", rstr(rng, BASE32, 16));
    a.names = vec![id.name.clone(), id.access_key(false), new_key.clone()];
    a.names.extend(novel_secrets(rng, 3, id, false, &[]));
    // The minter's session: a CI job opened by its federation, or a console sign-in.
    let mut q = Seq::new(start + rng.random_range(0..1000));
    let who = Some(m);
    if minter.kind == Kind::CiRole {
        q.add(aws_act("AssumeRoleWithWebIdentity"), "", false, 0, 0);
        q.mark(who, false);
        q.aws(rng, 2_000, 20_000, "GetCallerIdentity", "", false, 0, 0);
    } else {
        q.add(aws_act("ConsoleLogin"), "", false, 0, 0);
        q.mark(who, false);
        q.aws(rng, 10_000, 90_000, "ListAccessKeys", "", false, 0, 1);
    }
    q.mark(who, false);
    q.aws(rng, 5_000, 60_000, "CreateAccessKey", "", false, 0, 3);
    q.mark(who, true);
    a.new_key = Some((q.t, new_key));
    // The new key, from elsewhere.
    let home = id.region;
    q.wait(rng, 10 * 60_000, 60 * 60_000);
    q.add(aws_act("GetCallerIdentity"), home, false, 0, 0);
    if rng.random_bool(0.6) {
        q.aws(rng, 2_000, 30_000, "ListSecrets", home, false, 0, 0);
    }
    for k in 0..rng.random_range(2..=3) {
        q.aws(rng, 2_000, 40_000, "GetSecretValue", home, false, 3 + k, 1);
    }
    q.aws(rng, 2_000, 40_000, "ListBuckets", home, false, 0, 0);
    if rng.random_bool(0.5) {
        q.aws(rng, 2_000, 30_000, "ListObjects", home, false, 1, 0);
        q.aws(rng, 1_000, 20_000, "GetObject", home, false, 1, 0);
    }
    a.sess_start = start;
    a.steps = q.steps;
    Some(a)
}

/// IAM reads of a key that found it may only use IAM.
static IAM_RECON: &[&str] = &[
    "ListGroups",
    "GetAccountSummary",
    "GetAccountPasswordPolicy",
    "ListInstanceProfiles",
    "ListMFADevices",
    "ListAccessKeys",
    "ListGroupsForUser",
    "ListRolePolicies",
    "ListAttachedRolePolicies",
    "GetRole",
    "GetRolePolicy",
    "GetUserPolicy",
    "GetPolicy",
    "ListEntitiesForPolicy",
    "ListPolicyVersions",
    "ListSAMLProviders",
    "ListOpenIDConnectProviders",
    "ListServerCertificates",
    "ListVirtualMFADevices",
    "ListAccountAliases",
    "GetLoginProfile",
    "ListSSHPublicKeys",
    "ListSigningCertificates",
    "GetCredentialReport",
];

/// A new IAM user in the account of a random existing user, named like the account's service
/// users (`svc-<app>-<env>`), with no activity of its own and never named by others.
fn unseen_user(
    w: &World,
    rng: &mut ChaCha8Rng,
    names: &mut std::collections::HashSet<String>,
) -> Option<Ident> {
    let users: Vec<usize> = (0..w.ids.len())
        .filter(|&i| w.ids[i].kind == Kind::IamUser && w.ids[i].role != Role::Unseen)
        .collect();
    let tpl = &w.ids[*users.get(rng.random_range(0..users.len().max(1)))?];
    let (acct, env) = (tpl.acct, tpl.env);
    let mut apps = APPS.to_vec();
    shuffle(rng, &mut apps);
    let app = *apps
        .iter()
        .find(|a| !names.contains(&format!("svc-{a}-{env}")))?;
    let mut id = new_ident(Kind::IamUser, rng, names, w.days, w.ids.len(), &w.repos);
    id.name = format!("svc-{app}-{env}");
    names.insert(id.name.clone());
    (id.app, id.env, id.acct, id.role) = (app, env, acct, Role::Unseen);
    (id.start_day, id.end_day, id.rotate, id.spike) = (0, 0, None, None);
    Some(id)
}

/// A residential or hosting network that no identity of the account uses.
fn stranger_net(w: &World, acct: usize, rng: &mut ChaCha8Rng) -> usize {
    let used: Vec<usize> = w
        .ids
        .iter()
        .filter(|x| x.acct == acct && x.kind.src() == Src::CloudTrail)
        .map(|x| x.net)
        .collect();
    let nets: Vec<usize> = [N_RESI, N_HOME_GB, N_ATK_CH, N_ATK_DE, N_ATK_SG, N_ATK_NG]
        .into_iter()
        .filter(|n| !used.contains(n))
        .collect();
    *pick(rng, &nets)
}

/// A new IAM user of an existing account, never seen before: its key is denied on five services,
/// enumerates IAM in a few seconds, puts an `Action: *` inline policy on its own user, creates a
/// second key and uses that a minute later, all from one residential or hosting address and one
/// client.
fn atk_self_escalation(
    w: &mut World,
    rng: &mut ChaCha8Rng,
    names: &mut std::collections::HashSet<String>,
) -> Option<Attack> {
    if w.days < 9 {
        return None;
    }
    let id = unseen_user(w, rng, names)?;
    let net = stranger_net(w, id.acct, rng);
    let day = rng.random_range(8..w.days);
    let sod = rng.random_range(3600..86_400 - 3 * 3600) as i64;
    let start = (w.start_day + day as i64) * 86_400_000 + sod * 1000 + rng.random_range(0..1000);
    let ua = if rng.random_bool(0.5) {
        "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.5.0-35-generic md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.84"
    } else {
        "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64"
    };
    // CloudTrail keeps the document as the client sent it: URL-encoded by some, plain by others.
    let doc =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let doc = if rng.random_bool(0.5) {
        pct(doc)
    } else {
        doc.to_string()
    };
    let policy = [
        "admin",
        "AdministratorAccess",
        "full-access",
        "ops-break-glass",
    ];
    let policy = policy[rng.random_range(0..policy.len())].to_string();
    let new_key = format!("AKIA{}", rstr(rng, BASE32, 16));
    let ip = ip_in(&NETS[net], rng);
    let mut a = new_attack(
        AtkKind::NewKeySelfEscalation,
        w.ids.len(),
        start,
        net,
        ip,
        ua.to_string(),
    );
    a.names = vec![
        id.name.clone(),
        id.access_key(false),
        new_key.clone(),
        policy,
        doc,
    ];
    a.names.extend(novel_secrets(rng, 3, &id, false, &[]));
    w.ids.push(id);
    let (steps, created) = escalation_steps(start, rng);
    a.steps = steps;
    a.new_key = Some((created + 1, new_key));
    Some(a)
}

/// The self-escalating key's calls (`names`: the user, its keys, the policy name and document,
/// three secrets) and the time its second key is created.
fn escalation_steps(start: i64, rng: &mut ChaCha8Rng) -> (Vec<Step>, i64) {
    let r = "us-east-1";
    let mut q = Seq::new(start);
    q.add(aws_act("GetCallerIdentity"), r, false, 0, 0);
    for (svc, name) in [
        ("s3", "ListBuckets"),
        ("ec2", "DescribeInstances"),
        ("lambda", "ListFunctions20150331"),
        ("secretsmanager", "ListSecrets"),
        ("rds", "DescribeDBInstances"),
    ] {
        q.wait(rng, 800, 5_000);
        q.add(aws_act2(svc, name), r, true, 0, 0);
    }
    let mut recon: Vec<&str> = IAM_RECON.to_vec();
    shuffle(rng, &mut recon);
    recon.truncate(rng.random_range(11..=15));
    recon.extend([
        "GetUser",
        "ListAttachedUserPolicies",
        "ListUserPolicies",
        "ListUsers",
        "ListRoles",
        "ListPolicies",
        "GetAccountAuthorizationDetails",
    ]);
    shuffle(rng, &mut recon);
    q.wait(rng, 2_000, 10_000);
    for name in recon {
        q.aws(rng, 150, 450, name, r, false, 0, 0);
    }
    q.aws(rng, 5_000, 40_000, "PutUserPolicy", r, false, 0, 5);
    q.aws(rng, 3_000, 20_000, "CreateAccessKey", r, false, 0, 3);
    let created = q.t;
    // The new key, a minute later, now allowed everything.
    q.aws(rng, 50_000, 80_000, "GetCallerIdentity", r, false, 0, 0);
    let mut next: Vec<(&str, usize, usize)> = vec![
        ("ListSecrets", 0, 0),
        ("GetSecretValue", 5, 1),
        ("GetSecretValue", 6, 1),
        ("ListBuckets", 0, 0),
        ("DescribeInstances", 0, 0),
        ("GetSecretValue", 7, 1),
        ("ListUsers", 0, 0),
    ];
    next.truncate(rng.random_range(4..=7));
    for (name, arg, cnt) in next {
        q.aws(rng, 1_000, 8_000, name, r, false, arg, cnt);
    }
    (q.steps, created)
}

/// The account's main trail.
fn main_trail(_acct: &str, acct_idx: usize) -> String {
    match acct_idx {
        0 => format!("{COMPANY}-org-trail"),
        1 => "management-events".to_string(),
        _ => format!("{COMPANY}-account-trail"),
    }
}

fn build_attack(
    kind: AtkKind,
    victim: usize,
    start: i64,
    w: &World,
    rng: &mut ChaCha8Rng,
) -> Attack {
    let id = &w.ids[victim];
    let mut steps = Vec::new();
    let mut t = start;
    let mut gap = |rng: &mut ChaCha8Rng, lo: i64, hi: i64| {
        t += rng.random_range(lo..hi);
        t
    };
    let step = |at: i64, act: u16, region: &'static str, denied: bool, arg: usize| Step {
        at,
        act,
        region,
        denied,
        arg,
        cnt: 0,
        by: None,
        label: true,
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
                steps.push(step(at, aws_act(name) as u16, region, denied, arg));
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
                steps.push(step(at, 0, "", false, 0));
            }
            if rng.random_bool(0.6) {
                let at = gap(rng, 20_000, 90_000);
                steps.push(step(at, 2, "", false, 0));
                let at = gap(rng, 2_000, 10_000);
                steps.push(step(at, 6, "", false, 0));
            }
            (N_ATK_RU_OKTA, ua)
        }
        AtkKind::GithubMassClone => {
            let n = rng.random_range(30..=80).min(w.repos.len());
            let mut order: Vec<usize> = (0..w.repos.len()).collect();
            shuffle(rng, &mut order);
            for &r in order.iter().take(n) {
                let at = gap(rng, 1_000, 15_000);
                steps.push(step(at, 0, "", false, r));
            }
            for &r in order.iter().take(rng.random_range(2..6)) {
                let at = gap(rng, 2_000, 20_000);
                steps.push(step(at, 3, "", false, r));
            }
            (N_ATK_SG, "git/2.34.1".to_string())
        }
        AtkKind::AzureListKeys => {
            let mut push = |rng: &mut ChaCha8Rng, op: &str, arg: usize| {
                let at = gap(rng, 3_000, 60_000);
                steps.push(step(at, az_act(op) as u16, "", false, arg));
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
        _ => unreachable!("planned elsewhere"),
    };
    let ip = ip_in(&NETS[net], rng);
    let mut a = new_attack(kind, victim, start, net, ip, ua);
    a.steps = steps;
    a
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
    /// `attack << 16 | step` for attack and scripted steps; `SESS | [SESS_FIRST] | seconds since the
    /// session start` for CI jobs and console sessions; `u32::MAX` for other benign events.
    atk: u32,
}

const BENIGN: u32 = u32::MAX;
const SESS: u32 = 0x8000_0000;
const SESS_FIRST: u32 = 0x4000_0000;
const OFFSET: u32 = 0x3FFF_FFFF;

/// Second of the UTC day of an event of the identity on `abs_day`.
fn sample_sod(id: &Ident, day: u32, abs_day: i64, rng: &mut ChaCha8Rng) -> i64 {
    if let Some(sp) = id.spike {
        if sp.day == day && rng.random_bool(sp.extra / (1.0 + sp.extra)) {
            return sp.start + rng.random_range(0..sp.dur);
        }
    }
    let tz = NETS[id.net].tz;
    match id.sched {
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
        Sched::Strict(s, e) => {
            let (w, n) = strict_windows(abs_day, s, e, tz);
            let total: i64 = w[..n].iter().map(|x| x.1 - x.0).sum();
            if total <= 0 {
                return rng.random_range(0..86_400);
            }
            let mut x = rng.random_range(0..total);
            for &(a, b) in &w[..n] {
                if x < b - a {
                    return a + x;
                }
                x -= b - a;
            }
            w[0].0
        }
        Sched::Weekly(_, start, hours) => {
            (start * 3600 + rng.random_range(0..hours * 3600)).min(86_399)
        }
    }
}

/// The parts of UTC day `abs_day` (seconds of the day) inside local business hours [s, e) of a
/// local weekday, for a UTC offset of `tz` hours.
fn strict_windows(abs_day: i64, s: i64, e: i64, tz: i64) -> ([(i64, i64); 3], usize) {
    let mut w = [(0, 0); 3];
    let mut n = 0;
    for l in [abs_day - 1, abs_day, abs_day + 1] {
        if is_weekend(l) {
            continue;
        }
        let off = (l - abs_day) * 86_400 - tz * 3600;
        let a = (off + s * 3600).max(0);
        let b = (off + e * 3600).min(86_400);
        if b > a {
            w[n] = (a, b);
            n += 1;
        }
    }
    (w, n)
}

/// Day of the week, 0 = Sunday (1970-01-01 was a Thursday).
fn weekday(abs_day: i64) -> i64 {
    (abs_day + 4).rem_euclid(7)
}

fn is_weekend(abs_day: i64) -> bool {
    let dow = weekday(abs_day);
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
    /// CI job or console session: start (ms, a whole second) and whether this event opens it.
    sess: Option<(i64, bool)>,
    /// AWS region of the place the event comes from, when not the identity's home.
    region: Option<&'static str>,
}

impl<'a> Ctx<'a> {
    /// The attack step of an event made by the attacker from elsewhere (not from the victim's
    /// usual place, not by another identity from its own).
    fn foreign(&self) -> Option<(&'a Attack, &'a Step)> {
        self.attack.filter(|(a, s)| !a.home && s.by.is_none())
    }
}

/// A role session: start (ms), temporary access key id, session name.
struct RoleSess {
    start: i64,
    key: String,
    name: String,
}

const GH_ISSUER: &str = "token.actions.githubusercontent.com";

impl World {
    fn home_ctx<'a>(
        &'a self,
        id: &'a Ident,
        t: i64,
        day: u32,
        sess: Option<(i64, bool)>,
        rng: &mut ChaCha8Rng,
    ) -> Ctx<'a> {
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
        // NAT churn: a new public address of the same network every now and then.
        if let Some(d) = id.churn {
            if day >= d && rng.random_bool(0.6) {
                let k = rng.random_range(0..3u64);
                ip = ip_from(&NETS[id.net], mix3(id.h, 0xC4, day as u64 * 4 + k));
            }
        }
        // A workload expanding to another region: a share of its events from there (decided by a
        // hash, so the other identities' records stay as they were).
        let mut away = None;
        if let Some(aw) = id.away.as_ref().filter(|aw| day >= aw.day) {
            let x = mix3(id.h, 0xA3A7, t as u64);
            if id.kind != Kind::CiRole && x % 100 < aw.share {
                let k = (x >> 32) as usize % aw.ips.len();
                ip = aw.ips[k];
                env = 8 + k as u64;
                if let Some(s) = aw.sessions.get(k) {
                    session = s.clone();
                }
                away = Some(aw.net);
            }
        }
        let mut act = match id.drift_action {
            Some((d, a)) if day >= d && rng.random_bool(0.03) => a,
            _ => id.actions[sample_cum(&id.cum, rng.random())],
        };
        if let Some((start, first)) = sess {
            if id.kind == Kind::CiRole {
                ip = self.job_ip(id, start);
                away = self.runners_away(id, start);
                if first {
                    act = aws_act("AssumeRoleWithWebIdentity") as u16;
                }
            } else if first && id.kind == Kind::AwsHuman {
                act = aws_act("ConsoleLogin") as u16;
            }
        }
        let net = away.unwrap_or(id.net);
        Ctx {
            t,
            day,
            ip,
            net: &NETS[net],
            session,
            env,
            act,
            attack: None,
            sess,
            region: away.map(|n| NETS[n].aws_region),
        }
    }

    /// The network of a CI role's runners when they moved away for the job starting at `start`.
    fn runners_away(&self, id: &Ident, start: i64) -> Option<usize> {
        let day = start.div_euclid(86_400_000) - self.start_day;
        id.away
            .as_ref()
            .filter(|aw| day >= aw.day as i64)
            .map(|aw| aw.net)
    }

    /// The runner of a CI job: GitHub-hosted runners get a fresh address of the cloud's range for
    /// every job; self-hosted runners use their own addresses.
    fn job_ip(&self, id: &Ident, start: i64) -> [u8; 4] {
        let h = mix3(id.h, 0x10B, start as u64);
        let net = self.runners_away(id, start).unwrap_or(id.net);
        match net {
            N_AZ_US | N_AZ_IE => ip_from(&NETS[net], h),
            _ => id.ips[(h % id.ips.len() as u64) as usize],
        }
    }

    /// The CI job or console session a scripted step of a CI role or console user belongs to:
    /// the script's session, opened by its federation or sign-in step.
    fn script_session(id: &Ident, a: &Attack, s: &Step) -> Option<(i64, bool)> {
        matches!(id.kind, Kind::CiRole | Kind::AwsHuman).then(|| {
            let opens = matches!(
                AWS[s.act as usize].1,
                "AssumeRoleWithWebIdentity" | "ConsoleLogin"
            );
            (a.sess_start, opens)
        })
    }

    /// Renders one event; returns the source index and, for labelled attack records, the
    /// record id and source IP.
    fn render(
        &self,
        ev: &Ev,
        day: u32,
        rng: &mut ChaCha8Rng,
        b: &mut String,
    ) -> (usize, Option<(String, Option<String>)>) {
        let id = &self.ids[ev.id as usize];
        let ctx = if ev.atk == BENIGN {
            self.home_ctx(id, ev.t, day, None, rng)
        } else if ev.atk & SESS != 0 {
            let off = (ev.atk & OFFSET) as i64;
            let start = (ev.t.div_euclid(1000) - off) * 1000;
            self.home_ctx(id, ev.t, day, Some((start, ev.atk & SESS_FIRST != 0)), rng)
        } else {
            let a = &self.attacks[(ev.atk >> 16) as usize];
            let s = &a.steps[(ev.atk & 0xffff) as usize];
            if a.home || s.by.is_some() {
                let sess = World::script_session(id, a, s);
                let mut c = self.home_ctx(id, ev.t, day, sess, rng);
                c.act = s.act;
                c.attack = Some((a, s));
                c
            } else {
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
                    sess: None,
                    region: None,
                }
            }
        };
        let src = id.kind.src();
        let (eid, ip) = match src {
            Src::CloudTrail => self.cloudtrail(id, &ctx, rng, b),
            Src::Azure => (self.azure(id, &ctx, rng, b), Some(ip_str(ctx.ip))),
            Src::Okta => (self.okta(id, &ctx, rng, b), Some(ip_str(ctx.ip))),
            Src::GitHub => (self.github(id, &ctx, rng, b), Some(ip_str(ctx.ip))),
        };
        let labelled = ctx.attack.is_some_and(|(a, s)| a.label && s.label);
        (src.idx(), labelled.then_some((eid, ip)))
    }

    /// An IAM user of the account (for an admin's routine user management).
    fn some_iam_user(&self, acct: usize, rng: &mut ChaCha8Rng) -> String {
        let users: Vec<&Ident> = self
            .ids
            .iter()
            .filter(|x| x.kind == Kind::IamUser && x.acct == acct && x.role != Role::Unseen)
            .collect();
        if users.is_empty() {
            format!("svc-{}-{}", APPS[rng.random_range(0..APPS.len())], "prod")
        } else {
            users[rng.random_range(0..users.len())].name.clone()
        }
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
        if let Some((a, _)) = ctx.foreign() {
            if name == "AssumeRoleWithWebIdentity" {
                if let Some(f) = &a.fed {
                    return f.ua.clone();
                }
            }
            if a.ua.contains("md/prompt#off") {
                return format!("{} md/command#{}.{}", a.ua, svc, kebab(name));
            }
            if a.ua.starts_with("aws-cli/2") {
                return format!("{} command/{}.{}", a.ua, svc, kebab(name));
            }
            return a.ua.clone();
        }
        if name == "AssumeRoleWithWebIdentity" {
            // aws-actions/configure-aws-credentials on the runner.
            let v = self.ua_version(id, Client::NodeJs, ctx.day);
            let kern = match id.net {
                N_AZ_US | N_AZ_IE => "6.5.0-1017-azure",
                _ => "5.10.213-201.855.amzn2.x86_64",
            };
            return format!("aws-sdk-js/{v} ua/2.0 os/linux#{kern} lang/js md/nodejs#20.12.1 api/sts#{v} configure-aws-credentials-for-github-actions");
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

    /// The role session of an event (IAM users: the console session of human admins).
    fn role_session(&self, id: &Ident, ctx: &Ctx) -> RoleSess {
        let atk = ctx.foreign();
        let name = match id.kind {
            Kind::Ec2Role | Kind::LambdaRole => ctx.session.clone(),
            Kind::CiRole => atk
                .and_then(|(a, _)| a.fed.as_ref().map(|f| f.session.clone()))
                .unwrap_or_else(|| "GitHubActions".to_string()),
            Kind::AwsHuman => id.oid.clone(),
            _ => String::new(),
        };
        let fresh = |start: i64| {
            let mut s = Sm::new(mix3(id.h, start as u64, 0x5E55));
            format!("ASIA{}", s.chars(BASE32, 16))
        };
        if let Some((start, _)) = ctx.sess {
            return RoleSess {
                start,
                key: fresh(start),
                name,
            };
        }
        if let Some((a, _)) = atk {
            if matches!(id.kind, Kind::CiRole | Kind::AwsHuman) {
                return RoleSess {
                    start: a.sess_start,
                    key: fresh(a.sess_start),
                    name,
                };
            }
        }
        // Instance role credentials rotate about every 6 h, Lambda containers every few hours,
        // other sessions last a working day.
        let period: i64 = match id.kind {
            Kind::Ec2Role => 6 * 3_600_000,
            Kind::LambdaRole => 3 * 3_600_000,
            Kind::CiRole => 3_600_000,
            _ => 10 * 3_600_000,
        };
        let key_t = match atk {
            Some((a, _)) => a.start,
            None => ctx.t,
        };
        let phase = (mix(id.h, 7 + ctx.env) % period as u64) as i64;
        let bucket = (key_t - phase).div_euclid(period);
        let mut key_seed = Sm::new(mix3(
            id.h,
            bucket as u64,
            splitmix(ctx.env ^ hash_str(&name)),
        ));
        RoleSess {
            start: bucket * period + phase,
            key: format!("ASIA{}", key_seed.chars(BASE32, 16)),
            name,
        }
    }

    /// The OIDC federation of a CI role's session: the attacker's, or the role's usual one.
    fn fed_of<'a>(&'a self, id: &Ident, ctx: &'a Ctx) -> (String, String, String) {
        if let Some(f) = ctx.foreign().and_then(|(a, _)| a.fed.as_ref()) {
            return (f.issuer.clone(), f.subject.clone(), f.aud.clone());
        }
        let repo = &self.repos[id.repos.first().copied().unwrap_or(0)];
        (
            GH_ISSUER.to_string(),
            format!("repo:{GH_ORG}/{repo}:ref:refs/heads/main"),
            "sts.amazonaws.com".to_string(),
        )
    }

    fn cloudtrail(
        &self,
        id: &Ident,
        ctx: &Ctx,
        rng: &mut ChaCha8Rng,
        b: &mut String,
    ) -> (String, Option<String>) {
        let (svc, name, ro, data, _) = AWS[ctx.act as usize];
        let acct = &self.accounts[id.acct];
        let global = matches!(svc, "iam" | "route53" | "organizations" | "signin");
        let atk = ctx.foreign();
        let region: &str = match atk {
            Some((_, s)) if !global && !s.region.is_empty() => s.region,
            _ if global => "us-east-1",
            _ => match (ctx.region, id.region2) {
                (Some(r), _) => r,
                (None, Some((d, r))) if ctx.day >= d && rng.random_bool(0.35) => r,
                _ => id.region,
            },
        };
        let ua = self.aws_ua(id, ctx, svc, name, rng);
        let console = id.kind == Kind::AwsHuman;
        let eid = uuid(rng);
        let sess = self.role_session(id, ctx);
        let login = name == "ConsoleLogin";
        let webid = name == "AssumeRoleWithWebIdentity";

        let ip =
            if svc == "kms" && ctx.attack.is_none() && name == "Decrypt" && rng.random_bool(0.4) {
                None // called by Secrets Manager on the identity's behalf
            } else {
                Some(ip_str(ctx.ip))
            };
        let caller = if id.iam_user() {
            format!("arn:aws:iam::{acct}:user/{}", id.name)
        } else {
            format!("arn:aws:sts::{acct}:assumed-role/{}/{}", id.name, sess.name)
        };
        let err: Option<(&str, String)> = if let Some((_, s)) = ctx.attack {
            s.denied
                .then(|| denied_error(svc, name, &caller, region, acct))
        } else if !login && !webid && rng.random_bool(0.006) {
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
        let mut d = self.ct_detail(id, ctx, svc, name, region, acct, err.is_some(), rng);
        let (issuer, subject, aud) = if id.kind == Kind::CiRole {
            self.fed_of(id, ctx)
        } else {
            Default::default()
        };
        let provider = format!("arn:aws:iam::{acct}:oidc-provider/{issuer}");
        let role_arn = format!("arn:aws:iam::{acct}:role/{}", id.name);
        if webid {
            let tok = format!("IQoJb3JpZ2luX2Vj{}", rstr(rng, B64, 420));
            d.req = obj(|o| {
                o.s("roleArn", &role_arn)
                    .s("roleSessionName", &sess.name)
                    .n("durationSeconds", 3600);
            });
            d.resp = obj(|o| {
                o.o("credentials", |c| {
                    c.s("accessKeyId", &sess.key)
                        .s("sessionToken", &tok)
                        .s("expiration", &ts_ct_resp(ctx.t + 3_600_000));
                })
                .s("subjectFromWebIdentityToken", &subject)
                .o("assumedRoleUser", |u| {
                    u.s("assumedRoleId", &format!("{}:{}", id.pid, sess.name))
                        .s(
                            "arn",
                            &format!("arn:aws:sts::{acct}:assumed-role/{}/{}", id.name, sess.name),
                        );
                })
                .s("provider", &provider)
                .s("audience", &aud);
            });
            d.add = Some(obj(|o| {
                o.s(
                    "identityProviderConnectionVerificationMethod",
                    "IAMTrustStore",
                );
            }));
            d.res = Some({
                let mut s = String::new();
                {
                    let mut a = A::new(&mut s);
                    a.o(|r| {
                        r.s("accountId", acct)
                            .s("type", "AWS::IAM::Role")
                            .s("ARN", &role_arn);
                    });
                }
                s
            });
        }
        if login {
            d.req = "null".into();
            d.resp = obj(|o| {
                o.s("ConsoleLogin", "Success");
            });
            d.add = Some(obj(|o| {
                if id.role == Role::Admin {
                    o.s(
                        "LoginTo",
                        &format!(
                            "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_{}_{}",
                            id.region,
                            Sm::new(mix(id.h, sess.start as u64)).chars(HEX, 16)
                        ),
                    )
                    .s("MobileVersion", "No")
                    .s("MFAIdentifier", &format!("arn:aws:iam::{acct}:mfa/{}", id.name))
                    .s("MFAUsed", "Yes");
                } else {
                    o.s("MobileVersion", "No").s("MFAUsed", "No");
                }
            }));
        }
        let host = match svc {
            "signin" => "signin.aws.amazon.com".to_string(),
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
        o.o("userIdentity", |u| {
            if webid {
                u.s("type", "WebIdentityUser")
                    .s("principalId", &format!("{provider}:{aud}:{subject}"))
                    .s("userName", &subject)
                    .s("identityProvider", &provider);
                return;
            }
            if id.iam_user() {
                u.s("type", "IAMUser")
                    .s("principalId", &id.pid)
                    .s("arn", &format!("arn:aws:iam::{acct}:user/{}", id.name))
                    .s("accountId", acct);
                if login {
                    u.s("userName", &id.name);
                } else if id.kind == Kind::IamUser {
                    let rot = id.rotate.is_some_and(|(d, ms)| {
                        ctx.t >= (self.start_day + d as i64) * 86_400_000 + ms
                    });
                    let key = match atk.and_then(|(a, _)| a.new_key.as_ref()) {
                        Some((from, k)) if ctx.t >= *from => k.clone(),
                        _ => id.access_key(rot),
                    };
                    u.s("accessKeyId", &key).s("userName", &id.name);
                } else {
                    u.s("accessKeyId", &sess.key).s("userName", &id.name).o(
                        "sessionContext",
                        |sc| {
                            sc.o("sessionIssuer", |_| {})
                                .o("webIdFederationData", |_| {})
                                .o("attributes", |at| {
                                    at.s("creationDate", &ts(sess.start, 0, 0))
                                        .s("mfaAuthenticated", "true");
                                });
                        },
                    );
                }
                return;
            }
            u.s("type", "AssumedRole")
                .s("principalId", &format!("{}:{}", id.pid, sess.name))
                .s(
                    "arn",
                    &format!("arn:aws:sts::{acct}:assumed-role/{}/{}", id.name, sess.name),
                )
                .s("accountId", acct);
            if !login {
                u.s("accessKeyId", &sess.key);
            }
            u.o("sessionContext", |sc| {
                sc.o("sessionIssuer", |si| {
                    si.s("type", "Role").s("principalId", &id.pid);
                    if id.kind == Kind::AwsHuman {
                        si.s(
                            "arn",
                            &format!(
                                "arn:aws:iam::{acct}:role/aws-reserved/sso.amazonaws.com/{}",
                                id.name
                            ),
                        );
                    } else {
                        si.s("arn", &role_arn);
                    }
                    si.s("accountId", acct).s("userName", &id.name);
                });
                sc.o("webIdFederationData", |wf| {
                    if id.kind == Kind::CiRole {
                        wf.s("federatedProvider", &provider).o("attributes", |_| {});
                    }
                });
                sc.o("attributes", |at| {
                    at.s("creationDate", &ts(sess.start, 0, 0))
                        .s("mfaAuthenticated", "false");
                });
                if id.kind == Kind::Ec2Role {
                    sc.s("ec2RoleDelivery", "2.0");
                }
            });
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
        if !login {
            let rid = if svc == "s3" {
                rstr(rng, UPPER_ALNUM, 16)
            } else {
                uuid(rng)
            };
            o.s("requestID", &rid);
        }
        o.s("eventID", &eid).n("readOnly", ro);
        if let Some(res) = &d.res {
            o.raw("resources", res);
        }
        o.s(
            "eventType",
            if login {
                "AwsConsoleSignIn"
            } else {
                "AwsApiCall"
            },
        )
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
        if console && !login {
            o.s("sessionCredentialFromConsole", "true");
        }
        drop(o);
        (eid, ip)
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
        // Attacks from elsewhere pick their resources; attacks from the victim's own place (and
        // scripted sequences) look like its usual calls except for the names they carry.
        let atk = ctx.foreign();
        let named: &[String] = match ctx.attack {
            Some((a, s)) if s.cnt > 0 => {
                &a.names[s.arg.min(a.names.len())..(s.arg + s.cnt).min(a.names.len())]
            }
            _ => &[],
        };
        let arg = atk
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
            let k = if atk.is_some() {
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
            let k = if atk.is_some() {
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
            (
                "s3",
                "GetBucketLocation"
                | "GetBucketPolicy"
                | "GetBucketAcl"
                | "GetBucketLogging"
                | "GetBucketPublicAccessBlock",
            ) => {
                let host = format!("{bucket}.s3.{region}.amazonaws.com");
                det.req = obj(|o| {
                    o.s("bucketName", &bucket).s("Host", &host).s(
                        match name {
                            "GetBucketPolicy" => "policy",
                            "GetBucketAcl" => "acl",
                            "GetBucketLogging" => "logging",
                            "GetBucketPublicAccessBlock" => "publicAccessBlock",
                            _ => "location",
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
                let (secret, secret_arn) = match named.first() {
                    Some(n) => (
                        n.clone(),
                        format!(
                            "arn:aws:secretsmanager:{region}:{acct}:secret:{n}-{}",
                            Sm::new(hash_str(n)).chars(ALNUM, 6)
                        ),
                    ),
                    None => (secret.clone(), secret_arn.clone()),
                };
                det.req = obj(|o| {
                    if rng.random_bool(0.5) {
                        o.s("secretId", &secret_arn);
                    } else {
                        o.s("secretId", &secret);
                    }
                });
            }
            ("secretsmanager", "BatchGetSecretValue") => {
                det.req = obj(|o| {
                    o.a("secretIdList", |a| {
                        if named.is_empty() {
                            a.s(&secret);
                        }
                        for n in named {
                            a.s(n);
                        }
                    });
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
                let p = named.first().unwrap_or(&param);
                det.req = obj(|o| {
                    o.s("name", p).n("withDecryption", true);
                });
            }
            ("ssm", "GetParameters") => {
                det.req = obj(|o| {
                    o.a("names", |a| {
                        if named.is_empty() {
                            a.s(&param)
                                .s(&format!("/{env}/{app}/db_password"))
                                .s(&format!("/{env}/shared/datadog_api_key"));
                        }
                        for n in named {
                            a.s(n);
                        }
                    })
                    .n("withDecryption", true);
                });
            }
            ("ssm", "DescribeParameters") => {
                det.req = obj(|o| {
                    o.n("maxResults", 50);
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
                    if atk.is_some() || rng.random_bool(0.5) {
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
                let n0 = named.first().map(String::as_str);
                let deployer = id.role == Role::Deployer;
                let admin = id.role == Role::Admin;
                // Roles a deployer or admin manages; users an admin manages.
                let mut managed_role = || {
                    format!(
                        "{}-{}-{}",
                        APPS[rng.random_range(0..APPS.len())],
                        env,
                        [
                            "ecs-task-role",
                            "lambda-exec-role",
                            "ec2-instance-role",
                            "glue-job-role",
                            "eks-node-role",
                            "batch-job-role",
                            "sfn-role",
                        ][rng.random_range(0..7)]
                    )
                };
                let role_name = match n0 {
                    Some(r) => r.to_string(),
                    None if deployer || admin => managed_role(),
                    None => format!(
                        "{app}-{env}-{}",
                        ["ec2-role", "lambda-role", "deployer"][arg % 3]
                    ),
                };
                let user_name = match n0 {
                    Some(u) => u.to_string(),
                    None if id.kind == Kind::IamUser => id.name.clone(),
                    None => self.some_iam_user(id.acct, rng),
                };
                let new_user = if admin {
                    format!(
                        "{}.{}",
                        FIRST[rng.random_range(0..FIRST.len())],
                        LAST[rng.random_range(0..LAST.len())]
                    )
                } else {
                    format!("{}-support", ["aws", "backup", "sys"][arg % 3])
                };
                let cust_policy = format!(
                    "arn:aws:iam::{acct}:policy/{}-{env}-{}",
                    if deployer || admin {
                        APPS[rng.random_range(0..APPS.len())]
                    } else {
                        app
                    },
                    [
                        "access",
                        "s3-access",
                        "sqs-consumer",
                        "kms-decrypt",
                        "logs-writer"
                    ][if deployer || admin {
                        rng.random_range(0..5)
                    } else {
                        0
                    }]
                );
                let policy_arn = if atk.is_some() && name == "AttachUserPolicy" {
                    "arn:aws:iam::aws:policy/AdministratorAccess".to_string()
                } else if rng.random_bool(0.5) {
                    cust_policy.clone()
                } else {
                    SAFE_POLICIES[rng.random_range(0..SAFE_POLICIES.len())].to_string()
                };
                let trust = match (atk, named.get(1)) {
                    (Some(_), Some(ext)) => format!(
                        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ext}:root"}},"Action":"sts:AssumeRole"}}]}}"#
                    ),
                    _ => trust_policy(acct, &self.repos, rng),
                };
                let perms = permission_policy(rng, region, acct);
                let mut key_of = |k: usize| match named.get(k) {
                    Some(x) => x.clone(),
                    None => format!("AKIA{}", rstr(rng, BASE32, 16)),
                };
                let (old_key, new_key) = (key_of(1), key_of(2));
                det.req = obj(|o| match name {
                    "GetRole" | "ListAttachedRolePolicies" | "DeleteRole" => {
                        o.s("roleName", &role_name);
                    }
                    "TagRole" => {
                        o.s("roleName", &role_name).a("tags", |a| {
                            a.o(|t| {
                                t.s("key", "ManagedBy").s("value", "terraform");
                            })
                            .o(|t| {
                                t.s("key", "Environment").s("value", env);
                            });
                        });
                    }
                    "CreateRole" => {
                        o.s("roleName", &role_name)
                            .s("assumeRolePolicyDocument", &trust)
                            .s("description", "Managed by Terraform")
                            .n("maxSessionDuration", 3600)
                            .s("path", "/");
                    }
                    "UpdateAssumeRolePolicy" => {
                        o.s("roleName", &role_name).s("policyDocument", &trust);
                    }
                    "PutRolePolicy" => {
                        o.s("roleName", &role_name)
                            .s("policyName", &format!("{role_name}-inline"))
                            .s("policyDocument", &perms);
                    }
                    "AttachRolePolicy" | "DetachRolePolicy" => {
                        o.s("roleName", &role_name).s("policyArn", &policy_arn);
                    }
                    "CreatePolicy" => {
                        let pn = cust_policy.rsplit('/').next().unwrap_or("policy");
                        o.s("policyName", pn)
                            .s("policyDocument", &perms)
                            .s("description", "Managed by Terraform");
                    }
                    "CreatePolicyVersion" => {
                        o.s("policyArn", &cust_policy)
                            .s("policyDocument", &perms)
                            .n("setAsDefault", true);
                    }
                    "DeletePolicy" => {
                        o.s("policyArn", &cust_policy);
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
                    "GetUser" | "ListAccessKeys" if id.kind == Kind::IamUser || n0.is_some() => {
                        o.s("userName", &user_name);
                    }
                    // (An intruder with role credentials lists the caller's own: no userName.)
                    "ListAttachedUserPolicies"
                    | "ListUserPolicies"
                    | "ListGroupsForUser"
                    | "ListMFADevices"
                    | "GetUser"
                    | "ListAccessKeys"
                        if atk.is_none() || n0.is_some() || id.kind == Kind::IamUser =>
                    {
                        o.s("userName", &user_name);
                    }
                    "AttachUserPolicy" | "DetachUserPolicy" => {
                        o.s("userName", &user_name).s("policyArn", &policy_arn);
                    }
                    // Inline policy: `names` holds the user, its keys, the policy name and the
                    // document as the caller sent it (URL-encoded or plain JSON).
                    "PutUserPolicy" | "GetUserPolicy" => {
                        let pn = named
                            .get(3)
                            .cloned()
                            .unwrap_or_else(|| format!("{user_name}-policy"));
                        o.s("userName", &user_name).s("policyName", &pn);
                        if let Some(doc) = named.get(4).filter(|_| name == "PutUserPolicy") {
                            o.s("policyDocument", doc);
                        }
                    }
                    "GetLoginProfile" | "ListSSHPublicKeys" | "ListSigningCertificates" => {
                        o.s("userName", &user_name);
                    }
                    "ListRolePolicies" => {
                        o.s("roleName", &role_name);
                    }
                    "GetRolePolicy" => {
                        o.s("roleName", &role_name)
                            .s("policyName", &format!("{role_name}-inline"));
                    }
                    "ListEntitiesForPolicy" | "ListPolicyVersions" => {
                        o.s(
                            "policyArn",
                            &format!("arn:aws:iam::{acct}:policy/{app}-{env}-access"),
                        );
                    }
                    "CreateLoginProfile" => {
                        let u = if n0.is_some() { &user_name } else { &new_user };
                        o.s("userName", u).n("passwordResetRequired", atk.is_none());
                    }
                    "CreateUser" => {
                        o.s("userName", &new_user);
                        if admin {
                            o.a("tags", |a| {
                                a.o(|t| {
                                    t.s("key", "team").s("value", app);
                                });
                            });
                        }
                    }
                    "CreateAccessKey" => {
                        if atk.is_some() || named.is_empty() && !admin {
                            o.s(
                                "userName",
                                &n0.map(str::to_string)
                                    .unwrap_or_else(|| format!("svc-{app}-{env}")),
                            );
                        } else {
                            o.s("userName", &user_name);
                        }
                    }
                    "UpdateAccessKey" => {
                        o.s("userName", &user_name)
                            .s("accessKeyId", &old_key)
                            .s("status", "Inactive");
                    }
                    "DeleteAccessKey" => {
                        o.s("userName", &user_name).s("accessKeyId", &old_key);
                    }
                    "ListUsers" | "ListRoles" | "ListGroups" | "ListInstanceProfiles" => {
                        o.n("maxItems", 1000);
                    }
                    "ListPolicies" => {
                        o.s("scope", "Local")
                            .n("onlyAttached", false)
                            .n("maxItems", 1000);
                    }
                    "GetAccountAuthorizationDetails" => {
                        o.a("filter", |a| {
                            a.s("User").s("Role").s("Group").s("LocalManagedPolicy");
                        });
                    }
                    _ => {}
                });
                if det.req == "{}" {
                    det.req = "null".into();
                }
                if !failed {
                    let created = ts_ct_resp(ctx.t);
                    match name {
                        "CreateAccessKey" => {
                            let u = if named.is_empty() && !admin && atk.is_some() {
                                format!("svc-{app}-{env}")
                            } else {
                                user_name.clone()
                            };
                            det.resp = obj(|o| {
                                o.o("accessKey", |k| {
                                    k.s("userName", &u)
                                        .s("accessKeyId", &new_key)
                                        .s("status", "Active")
                                        .s("createDate", &created);
                                });
                            });
                        }
                        "CreateLoginProfile" => {
                            let u = if n0.is_some() { &user_name } else { &new_user };
                            det.resp = obj(|o| {
                                o.o("loginProfile", |l| {
                                    l.s("userName", u)
                                        .s("createDate", &created)
                                        .n("passwordResetRequired", atk.is_none());
                                });
                            });
                        }
                        "CreateUser" => {
                            det.resp = obj(|o| {
                                o.o("user", |u| {
                                    u.s("path", "/")
                                        .s("userName", &new_user)
                                        .s("userId", &format!("AIDA{}", rstr(rng, UPPER_ALNUM, 17)))
                                        .s("arn", &format!("arn:aws:iam::{acct}:user/{new_user}"))
                                        .s("createDate", &created);
                                });
                            });
                        }
                        "CreateRole" => {
                            det.resp = obj(|o| {
                                o.o("role", |r| {
                                    r.s("path", "/")
                                        .s("roleName", &role_name)
                                        .s("roleId", &format!("AROA{}", rstr(rng, UPPER_ALNUM, 17)))
                                        .s("arn", &format!("arn:aws:iam::{acct}:role/{role_name}"))
                                        .s("createDate", &created)
                                        .s("assumeRolePolicyDocument", &pct(&trust));
                                });
                            });
                        }
                        "CreatePolicy" => {
                            let pn = cust_policy
                                .rsplit('/')
                                .next()
                                .unwrap_or("policy")
                                .to_string();
                            det.resp = obj(|o| {
                                o.o("policy", |p| {
                                    p.s("policyName", &pn)
                                        .s(
                                            "policyId",
                                            &format!("ANPA{}", rstr(rng, UPPER_ALNUM, 17)),
                                        )
                                        .s("arn", &cust_policy)
                                        .s("path", "/")
                                        .s("defaultVersionId", "v1")
                                        .n("attachmentCount", 0)
                                        .n("permissionsBoundaryUsageCount", 0)
                                        .n("isAttachable", true)
                                        .s("createDate", &created)
                                        .s("updateDate", &created);
                                });
                            });
                        }
                        "CreatePolicyVersion" => {
                            let v = rng.random_range(2..30);
                            det.resp = obj(|o| {
                                o.o("policyVersion", |p| {
                                    p.s("versionId", &format!("v{v}"))
                                        .n("isDefaultVersion", true)
                                        .s("createDate", &created);
                                });
                            });
                        }
                        _ => {}
                    }
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
            ("cloudtrail", _) => {
                let main = main_trail(acct, id.acct);
                let own = format!(
                    "{app}-{env}-{}",
                    ["data-events", "audit-trail", "s3-access-trail"][rng.random_range(0..3)]
                );
                let trail = match named.first() {
                    Some(t) => t.clone(),
                    None if id.role == Role::Admin => {
                        if name == "CreateTrail" {
                            format!(
                                "{COMPANY}-{}-trail",
                                ["security", "compliance", "data-events"][rng.random_range(0..3)]
                            )
                        } else {
                            main.clone()
                        }
                    }
                    None if id.role == Role::Deployer => {
                        // A pipeline reads the account's main trail (drift checks) but only
                        // changes or tears down the trails of its own stack: deleting the
                        // organisation's trail is an incident, not a benign twin.
                        let read = ["Describe", "Get", "List", "Lookup"]
                            .iter()
                            .any(|p| name.starts_with(p));
                        if name == "DescribeTrails" || rng.random_bool(0.8) || !read {
                            own
                        } else {
                            main.clone()
                        }
                    }
                    None => main.clone(),
                };
                let home = if trail == main { "us-east-1" } else { region };
                let trail_arn = format!("arn:aws:cloudtrail:{home}:{acct}:trail/{trail}");
                let logs_bucket = format!("{COMPANY}-cloudtrail-logs-{acct}");
                let by_arn = rng.random_bool(0.4);
                let tname = if by_arn { &trail_arn } else { &trail };
                // Data events on a bucket of the identity; an attacker turns management events off.
                let cripple = atk.is_some() && name == "PutEventSelectors";
                let selectors = |o: &mut O| {
                    o.a("eventSelectors", |a| {
                        a.o(|e| {
                            e.s("readWriteType", "All")
                                .n("includeManagementEvents", !cripple)
                                .a("dataResources", |d| {
                                    if !cripple {
                                        d.o(|r| {
                                            r.s("type", "AWS::S3::Object").a("values", |v| {
                                                v.s(&format!("arn:aws:s3:::{bucket}/"));
                                            });
                                        });
                                    }
                                })
                                .a("excludeManagementEventSources", |_| {});
                        });
                    });
                };
                det.req = obj(|o| match name {
                    "DescribeTrails" => {
                        o.a("trailNameList", |_| {}).n("includeShadowTrails", true);
                    }
                    "GetEventSelectors" => {
                        o.s("trailName", tname);
                    }
                    "PutEventSelectors" => {
                        o.s("trailName", tname);
                        selectors(o);
                    }
                    "CreateTrail" | "UpdateTrail" => {
                        o.s("name", &trail)
                            .s("s3BucketName", &logs_bucket)
                            .n("includeGlobalServiceEvents", true)
                            .n("isMultiRegionTrail", true)
                            .n("enableLogFileValidation", true)
                            .s("kmsKeyId", &format!("alias/{COMPANY}-cloudtrail"));
                    }
                    _ => {
                        o.s("name", tname);
                    }
                });
                if !failed {
                    match name {
                        "PutEventSelectors" => {
                            det.resp = obj(|o| {
                                o.s("trailARN", &trail_arn);
                                selectors(o);
                            });
                        }
                        "CreateTrail" | "UpdateTrail" => {
                            det.resp = obj(|o| {
                                o.s("name", &trail)
                                    .s("s3BucketName", &logs_bucket)
                                    .n("includeGlobalServiceEvents", true)
                                    .n("isMultiRegionTrail", true)
                                    .s("trailARN", &trail_arn)
                                    .n("logFileValidationEnabled", true)
                                    .s(
                                        "kmsKeyId",
                                        &format!(
                                            "arn:aws:kms:us-east-1:{acct}:key/{}",
                                            uuid_from(mix(hash_str(acct), 5))
                                        ),
                                    )
                                    .n("isOrganizationTrail", false);
                            });
                        }
                        _ => {}
                    }
                }
                if name != "DescribeTrails" {
                    det.res = Some(res1("AWS::CloudTrail::Trail", &trail_arn));
                }
            }
            ("ec2", "DescribeFlowLogs") => {
                det.req = obj(|o| {
                    o.o("DescribeFlowLogsRequest", |r| {
                        r.n("MaxResults", 1000);
                    });
                });
            }
            ("ec2", "DeleteFlowLogs") => {
                let ids: Vec<String> = if named.is_empty() {
                    vec![format!("fl-{}", rstr(rng, HEX, 17))]
                } else {
                    named.to_vec()
                };
                det.req = obj(|o| {
                    o.o("DeleteFlowLogsRequest", |r| {
                        if ids.len() == 1 {
                            r.o("FlowLogId", |f| {
                                f.s("content", &ids[0]).n("tag", 1);
                            });
                        } else {
                            r.a("FlowLogId", |a| {
                                for (k, x) in ids.iter().enumerate() {
                                    a.o(|f| {
                                        f.s("content", x).n("tag", k + 1);
                                    });
                                }
                            });
                        }
                    });
                });
                if !failed {
                    let rq = uuid(rng);
                    det.resp = obj(|o| {
                        o.o("DeleteFlowLogsResponse", |r| {
                            r.s("xmlns", "http://ec2.amazonaws.com/doc/2016-11-15/")
                                .s("requestId", &rq)
                                .s("unsuccessful", "");
                        });
                    });
                }
            }
            ("ec2", "DescribeImages") => {
                det.req = obj(|o| {
                    o.o("executableBySet", |_| {})
                        .o("imagesSet", |_| {})
                        .o("ownersSet", |s| {
                            s.a("items", |a| {
                                a.o(|i| {
                                    i.s("owner", "self");
                                });
                            });
                        })
                        .o("filterSet", |_| {});
                });
            }
            ("ec2", "DescribeKeyPairs") => {
                det.req = obj(|o| {
                    o.o("keySet", |_| {});
                });
            }
            ("ec2", "GetEbsEncryptionByDefault") => {
                det.req = obj(|o| {
                    o.s("GetEbsEncryptionByDefaultRequest", "");
                });
            }
            ("athena", _) => {
                let qid = uuid(rng);
                let db = format!("{}_{}", app, env);
                det.req = obj(|o| {
                    if name == "StartQueryExecution" {
                        o.s(
                            "queryString",
                            &format!(
                                "SELECT date_trunc('day', created_at) AS day, count(*) AS n FROM {db}.{} WHERE created_at > current_date - interval '7' day GROUP BY 1 ORDER BY 1",
                                ["orders", "events", "sessions", "invoices"][(id.h as usize >> 3) % 4]
                            ),
                        )
                        .s("clientRequestToken", &uuid(rng))
                        .o("queryExecutionContext", |c| {
                            c.s("database", &db);
                        })
                        .o("resultConfiguration", |r| {
                            r.s("outputLocation", &format!("s3://{bucket}/athena-results/"));
                        })
                        .s("workGroup", "primary");
                    } else {
                        o.s("queryExecutionId", &qid);
                        if name == "GetQueryResults" {
                            o.n("maxResults", 1000);
                        }
                    }
                });
                if name == "StartQueryExecution" && !failed {
                    det.resp = obj(|o| {
                        o.s("queryExecutionId", &qid);
                    });
                }
            }
            ("glue", _) => {
                let db = format!("{}_{}", app, env);
                let table = ["orders", "events", "sessions", "invoices"][(id.h as usize >> 3) % 4];
                det.req = obj(|o| {
                    o.s("databaseName", &db);
                    if name == "GetTable" {
                        o.s("name", table);
                    } else {
                        o.s("tableName", table).s(
                            "expression",
                            &format!("dt >= '{}'", &ts(ctx.t - 7 * 86_400_000, 0, 0)[..10]),
                        );
                    }
                });
            }
            _ => {}
        }
        // Enumeration lists everything, without the filters the workload would use.
        if atk.is_some()
            && matches!(
                name,
                "DescribeDBInstances" | "ListQueues" | "DescribeLogGroups" | "ListStacks"
            )
        {
            det.req = "null".into();
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
        if op == "microsoft.insights/diagnosticSettings/delete" {
            // A diagnostic setting lives under the resource it exports (or the subscription).
            let setting = [
                "activitylog-to-sentinel",
                "send-to-log-analytics",
                "diag-to-eventhub",
                "audit-to-storage",
            ][variant % 4];
            let parent = match variant % 4 {
                0 => format!("/subscriptions/{sub}"),
                1 => format!(
                    "{rid}/providers/Microsoft.KeyVault/vaults/{}",
                    self.az_name(id, "vaults", variant)
                ),
                2 => format!(
                    "{rid}/providers/Microsoft.Storage/storageAccounts/{}",
                    self.az_name(id, "storageAccounts", variant)
                ),
                _ => format!(
                    "{rid}/providers/Microsoft.Network/networkSecurityGroups/nsg-{}-{}",
                    id.app, id.env
                ),
            };
            rid = format!("{parent}/providers/microsoft.insights/diagnosticSettings/{setting}");
        } else if provider == "Microsoft.Resources" && types.first() == Some(&"subscriptions") {
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
                if op == "Microsoft.Authorization/roleAssignments/write" {
                    let (principal, role_def) = match ctx.attack {
                        Some((a, _)) if a.names.len() >= 2 => (a.names[0].clone(), a.names[1].clone()),
                        _ => (uuid(rng), "acdd72a7-3385-48ef-bd42-f606fba81ae7".to_string()),
                    };
                    let body = format!(
                        r#"{{"Id":"{}","Properties":{{"PrincipalId":"{}","PrincipalType":"ServicePrincipal","RoleDefinitionId":"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}","Scope":"/subscriptions/{sub}","Condition":null,"ConditionVersion":null}}}}"#,
                        rid.rsplit('/').next().unwrap_or_default().to_lowercase(),
                        principal.replace('-', ""),
                        role_def
                    );
                    p.s("requestbody", &body);
                }
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

/// AWS-managed policies a deployer or admin attaches routinely (none grants administrator).
static SAFE_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
];

/// A trust policy a deployer writes: a service, or the organisation's GitHub workflows.
fn trust_policy(acct: &str, repos: &[String], rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..4) {
        0 => {
            let repo = &repos[rng.random_range(0..repos.len())];
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{acct}:oidc-provider/{GH_ISSUER}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{GH_ISSUER}:aud":"sts.amazonaws.com"}},"StringLike":{{"{GH_ISSUER}:sub":"repo:{GH_ORG}/{repo}:ref:refs/heads/main"}}}}}}]}}"#
            )
        }
        k => {
            let svc = [
                "ec2.amazonaws.com",
                "lambda.amazonaws.com",
                "ecs-tasks.amazonaws.com",
            ][k - 1];
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{svc}"}},"Action":"sts:AssumeRole"}}]}}"#
            )
        }
    }
}

/// A least-privilege permission policy document.
fn permission_policy(rng: &mut ChaCha8Rng, region: &str, acct: &str) -> String {
    let app = APPS[rng.random_range(0..APPS.len())];
    match rng.random_range(0..3) {
        0 => format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{COMPANY}-{app}-*/*"}}]}}"#
        ),
        1 => format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"arn:aws:sqs:{region}:{acct}:{app}-*"}}]}}"#
        ),
        _ => format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["secretsmanager:GetSecretValue"],"Resource":"arn:aws:secretsmanager:{region}:{acct}:secret:*/{app}/*"}}]}}"#
        ),
    }
}

/// Percent-encoding, as IAM returns policy documents.
fn pct(s: &str) -> String {
    let mut o = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// The IAM permission of an API call (`ListFunctions20150331` -> `ListFunctions`).
fn perm_name(name: &str) -> &str {
    if name.bytes().any(|b| b.is_ascii_digit()) {
        name.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v')
    } else {
        name
    }
}

/// The error of a call denied by IAM, as CloudTrail records it.
fn denied_error(
    svc: &str,
    name: &str,
    caller: &str,
    region: &str,
    acct: &str,
) -> (&'static str, String) {
    let prefix = match svc {
        "monitoring" => "cloudwatch",
        s => s,
    };
    let action = format!("{prefix}:{}", perm_name(name));
    let plain = format!(
        "User: {caller} is not authorized to perform: {action} because no identity-based policy allows the {action} action"
    );
    match svc {
        "ec2" => (
            "Client.UnauthorizedOperation",
            format!("You are not authorized to perform this operation. {plain}"),
        ),
        "s3" => ("AccessDenied", "Access Denied".to_string()),
        "sns" => (
            "AuthorizationError",
            format!(
                "User: {caller} is not authorized to perform: SNS:{name} on resource: arn:aws:sns:{region}:{acct}:* because no identity-based policy allows the SNS:{name} action"
            ),
        ),
        "iam" => {
            let res = if name.contains("User")
                || name.contains("AccessKey")
                || name.contains("LoginProfile")
                || name.contains("MFA")
            {
                "user/"
            } else if name.contains("Role") || name.contains("InstanceProfile") {
                "role/"
            } else if name.contains("Polic") {
                "policy/"
            } else {
                ""
            };
            (
                "AccessDenied",
                format!(
                    "User: {caller} is not authorized to perform: {action} on resource: arn:aws:iam::{acct}:{res}* because no identity-based policy allows the {action} action"
                ),
            )
        }
        "sts" | "rds" | "sqs" | "cloudformation" | "monitoring" | "elasticloadbalancing"
        | "autoscaling" | "route53" => ("AccessDenied", plain),
        _ => ("AccessDeniedException", plain),
    }
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

/// Groups the day's events of CI roles into jobs (each opened by an OIDC web-identity
/// federation, all calls within minutes) and those of AWS console users into a session opened
/// by a sign-in. Event counts are unchanged: the opening event is one of the sampled ones.
fn sessionize(
    w: &World,
    evs: &mut [Ev],
    groups: &mut [Vec<u32>],
    day: u32,
    abs_day: i64,
    rng: &mut ChaCha8Rng,
) {
    let day_start = abs_day * 86_400_000;
    for (i, g) in groups.iter_mut().enumerate() {
        if g.is_empty() {
            continue;
        }
        let id = &w.ids[i];
        if id.kind == Kind::CiRole {
            let per_job = rng.random_range(4..=14usize);
            let jobs = g.len().div_ceil(per_job);
            let starts: Vec<(i64, i64)> = (0..jobs)
                .map(|_| {
                    let dur = rng.random_range(60..900i64);
                    let sod = sample_sod(id, day, abs_day, rng).min(86_400 - dur - 1);
                    (day_start + sod * 1000, dur)
                })
                .collect();
            for (k, &e) in g.iter().enumerate() {
                let (start, dur) = starts[k % jobs];
                let ev = &mut evs[e as usize];
                if k < jobs {
                    ev.t = start + rng.random_range(0..1000);
                    ev.atk = SESS | SESS_FIRST;
                } else {
                    let off = rng.random_range(1..dur);
                    ev.t = start + off * 1000 + rng.random_range(0..1000);
                    ev.atk = SESS | off as u32;
                }
            }
        } else {
            let first = *g
                .iter()
                .min_by_key(|&&e| (evs[e as usize].t, e))
                .expect("non-empty");
            let start = evs[first as usize].t.div_euclid(1000) * 1000;
            for &e in g.iter() {
                let ev = &mut evs[e as usize];
                ev.atk = if e == first {
                    SESS | SESS_FIRST
                } else {
                    SESS | (((ev.t - start) / 1000) as u32 & OFFSET)
                };
            }
        }
        g.clear();
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
    let mut factor = vec![0.0f64; n_ids];
    // Events of identities whose activity comes in sessions (CI jobs, console sessions).
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); n_ids];
    for day in 0..world.days {
        let abs_day = start_day + day as i64;
        let day_start = abs_day * 86_400_000;
        let mut rng = ChaCha8Rng::seed_from_u64(mix3(cli.seed, 0xDA7, day as u64));
        let n = base + u64::from((day as u64) < rem);
        // Identity weights for the day: per source, normalised to the source's share.
        let mut src_sum = [0.0f64; 4];
        for (i, id) in world.ids.iter().enumerate() {
            factor[i] = id.day_factor(day, abs_day);
            src_sum[id.kind.src().idx()] += id.weight * factor[i];
        }
        let share_total: f64 = (0..4).filter(|&s| src_sum[s] > 0.0).map(|s| SHARE[s]).sum();
        let mut acc = 0.0;
        for (i, id) in world.ids.iter().enumerate() {
            let s = id.kind.src().idx();
            if factor[i] > 0.0 && src_sum[s] > 0.0 {
                acc += SHARE[s] / share_total * id.weight * factor[i] / src_sum[s];
            }
            cum[i] = acc;
        }
        let mut evs: Vec<Ev> = Vec::with_capacity(n as usize + 256);
        if acc > 0.0 {
            for j in 0..n {
                let i = sample_cum(&cum, rng.random());
                let id = &world.ids[i];
                let mut sod = sample_sod(id, day, abs_day, &mut rng);
                let mut t = day_start + sod * 1000 + rng.random_range(0..1000);
                // A victim's idle time before an attack stays idle.
                if id.mute.iter().any(|m| t >= m.0 && t < m.1) {
                    for _ in 0..16 {
                        sod = sample_sod(id, day, abs_day, &mut rng);
                        t = day_start + sod * 1000 + rng.random_range(0..1000);
                        if !id.mute.iter().any(|m| t >= m.0 && t < m.1) {
                            break;
                        }
                    }
                    if let Some(m) = id.mute.iter().find(|m| t >= m.0 && t < m.1) {
                        t = if m.1 + 3_600_000 < day_start + 86_400_000 {
                            m.1 + rng.random_range(0..3_600_000)
                        } else {
                            (m.0 - rng.random_range(60_000..3_600_000)).max(day_start)
                        };
                    }
                }
                if matches!(id.kind, Kind::CiRole | Kind::AwsHuman) {
                    groups[i].push(evs.len() as u32);
                }
                evs.push(Ev {
                    t,
                    id: i as u32,
                    seq: j as u32,
                    atk: BENIGN,
                });
            }
        }
        sessionize(&world, &mut evs, &mut groups, day, abs_day, &mut rng);
        let mut seq = n as u32;
        for (ai, a) in world.attacks.iter().enumerate() {
            for (si, s) in a.steps.iter().enumerate() {
                if s.at.div_euclid(86_400_000) != abs_day {
                    continue;
                }
                evs.push(Ev {
                    t: s.at,
                    id: s.by.unwrap_or(a.victim as u32),
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
            let (src, label) = world.render(ev, day, &mut rrng, &mut buf);
            hist.add(src, buf.len());
            buf.push('\n');
            out.write_all(buf.as_bytes())?;
            if let (Some((eid, ip)), Some(l)) = (label, labels.as_mut()) {
                let a = &world.attacks[(ev.atk >> 16) as usize];
                let s = &a.steps[(ev.atk & 0xffff) as usize];
                let id = &world.ids[a.victim];
                let action = match id.kind.src() {
                    Src::CloudTrail => AWS[s.act as usize].1,
                    Src::Azure => AZURE[s.act as usize].0,
                    Src::Okta => OKTA[s.act as usize].0,
                    Src::GitHub => GITHUB[s.act as usize].0,
                };
                let line = obj(|o| {
                    o.s("eventId", &eid)
                        .s("attack", a.kind.name())
                        .s("identity", &id.label_id(&world))
                        .s("source", Src::name(src))
                        .s("time", &ts(ev.t, 3, 0))
                        .s("action", action);
                    match &ip {
                        Some(ip) => o.s("sourceIp", ip),
                        None => o.null("sourceIp"),
                    };
                    if let Some(why) = a.kind.low_by_design() {
                        o.s("expect", "low_by_design").s("why", why);
                    }
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
        for a in world.attacks.iter().filter(|a| a.label) {
            eprintln!(
                "  attack {:<30} day {:>3} victim {} from {}{} ({} records)",
                a.kind.name(),
                a.day,
                world.ids[a.victim].label_id(&world),
                ip_str(a.ip),
                if a.home { " (its usual place)" } else { "" },
                a.steps.len()
            );
        }
        eprintln!("  labels: {}", labels_path.display());
    }
    print_twins(&world);
    Ok(())
}

/// Lists the benign twins of the attacks on stderr (they are never labelled).
fn print_twins(w: &World) {
    for x in w.ids.iter() {
        if let Some(aw) = &x.away {
            eprintln!(
                "  benign {:<30} day {:>3} identity {} from {} to {} {} ({}, AS{})",
                if x.kind == Kind::CiRole {
                    "ci_runner_country_move"
                } else {
                    "region_expansion"
                },
                aw.day,
                x.label_id(w),
                NETS[x.net].cc,
                NETS[aw.net].cc,
                NETS[aw.net].aws_region,
                ip_str([NETS[aw.net].a, NETS[aw.net].b.0, 0, 0]),
                NETS[aw.net].asn
            );
        }
    }
    for a in w.attacks.iter().filter(|a| !a.label) {
        if a.kind == AtkKind::KeyRotation
            && w.attacks.iter().any(|b| b.label && b.victim == a.victim)
        {
            continue;
        }
        eprintln!(
            "  benign {:<30} day {:>3} identity {} ({} records)",
            a.kind.name(),
            a.day,
            w.ids[a.victim].label_id(w),
            a.steps.len()
        );
    }
}
