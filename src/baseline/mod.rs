//! Per-identity behavioural baselines, kept in memory and driven by event time.
//!
//! A [`Profile`] holds, per feature (country, ASN, network, client family, action, region,
//! resource, federation issuer), a bounded set of values with counts and first/last-seen times;
//! per-session sub-state (the networks and clients one role session used) so that a session's
//! credentials turning up somewhere else is visible without a long baseline; an hour-of-week
//! activity histogram; the last location; the longest silence; and decayed rate statistics per
//! action class ([`rate`]) for the classes the loaded rules ask for.
//!
//! Time: an identity's clock is the latest event time it has seen and never moves backwards; a
//! late record is still counted, but does not rewind `last_seen`. Values unseen for
//! `forget_after` are treated as absent (and evicted first when a set is full).

pub mod budget;
mod hours;
pub mod priors;
pub mod rate;
mod valueset;

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use budget::{Budget, Evictions, Markers};
use budget::{ENTRY_BYTES, LOW_WATER};
pub use hours::Hours;

use valueset::to_secs;
pub use valueset::{Labels, Slot, ValueEntry, ValueSet};

use rate::{RateSpec, RateState};

use crate::event::{
    network_key, network_to_string, AuditEvent, ClassReason, IdentityClass, InventoryMatch, Outcome,
};
use crate::time::DAY_MS;

/// A behavioural feature a baseline tracks and a rule may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Country of the source address.
    Country,
    /// Autonomous system of the source address.
    Asn,
    /// Source network (/24 or /48).
    Network,
    /// User-agent family.
    Client,
    /// `service:Operation`.
    Action,
    /// Region / location of the call.
    Region,
    /// The resource a sensitive call names (secret, parameter, repository, user).
    Resource,
    /// The issuer and subject a role was assumed from by federation.
    Issuer,
}

impl Feature {
    /// All features, in profile order.
    pub const ALL: [Feature; 8] = [
        Feature::Country,
        Feature::Asn,
        Feature::Network,
        Feature::Client,
        Feature::Action,
        Feature::Region,
        Feature::Resource,
        Feature::Issuer,
    ];

    /// Name used in rules and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Country => "country",
            Feature::Asn => "asn",
            Feature::Network => "network",
            Feature::Client => "client",
            Feature::Action => "action",
            Feature::Region => "region",
            Feature::Resource => "resource",
            Feature::Issuer => "issuer",
        }
    }

    /// Parses a feature name.
    pub fn from_name(s: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.as_str() == s)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The feature's bit in a mask of features.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// True for features that describe where/how the caller connects; calls an AWS service made
    /// on the identity's behalf do not carry them.
    pub fn is_caller_context(self) -> bool {
        matches!(
            self,
            Feature::Country | Feature::Asn | Feature::Network | Feature::Client
        )
    }

    /// Default capacity of the value set for this feature.
    fn capacity(self) -> usize {
        match self {
            Feature::Action => 512,
            Feature::Network => 64,
            Feature::Resource => 256,
            Feature::Issuer => 16,
            _ => 32,
        }
    }
}

/// The value an event has for a feature: a hash key for lookup, and a way to render a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureValue {
    /// Lookup key.
    pub key: u64,
}

/// Computes an event's value for a feature, or `None` if the event has none (no IP, no geo,
/// or a call made by a cloud service on the identity's behalf for caller-context features).
pub fn feature_value(ev: &AuditEvent<'_>, f: Feature) -> Option<FeatureValue> {
    if f.is_caller_context() && ev.via_cloud_service() {
        return None;
    }
    let key = match f {
        Feature::Country => {
            let c = ev.geo.as_ref()?.country.as_deref()?;
            xxhash_rust::xxh3::xxh3_64(c.as_bytes())
        }
        Feature::Asn => ev.geo.as_ref()?.asn? as u64 | (1 << 40),
        Feature::Network => {
            let k = ev.network_key()?;
            xxhash_rust::xxh3::xxh3_64(&k.to_le_bytes())
        }
        Feature::Client => {
            let c = ev.client();
            if c.is_empty() {
                return None;
            }
            xxhash_rust::xxh3::xxh3_64(c.as_bytes())
        }
        Feature::Action => action_key(&ev.service, &ev.operation),
        Feature::Region => xxhash_rust::xxh3::xxh3_64(ev.region.as_deref()?.as_bytes()),
        Feature::Resource => xxhash_rust::xxh3::xxh3_64(ev.target.as_deref()?.as_bytes()) ^ 0x5e,
        Feature::Issuer => xxhash_rust::xxh3::xxh3_64(ev.federation.as_deref()?.as_bytes()) ^ 0x15,
    };
    Some(FeatureValue { key })
}

fn action_key(service: &str, operation: &str) -> u64 {
    let h = xxhash_rust::xxh3::xxh3_64(service.as_bytes());
    h ^ xxhash_rust::xxh3::xxh3_64(operation.as_bytes()).rotate_left(17)
}

/// The key of a feature value written as text (as alerts show it): `US`, `AS16509`,
/// `3.5.1.0/24` (or an address in it), `boto3`, `s3:GetObject`, `us-east-1`, a resource, an
/// issuer. Used by allowlist approvals and inventory priors.
pub fn feature_key_from_label(f: Feature, label: &str) -> Option<u64> {
    let l = label.trim();
    if l.is_empty() {
        return None;
    }
    Some(match f {
        Feature::Country => xxhash_rust::xxh3::xxh3_64(l.to_ascii_uppercase().as_bytes()),
        Feature::Asn => {
            let n: u32 = l
                .trim_start_matches("AS")
                .trim_start_matches("as")
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            n as u64 | (1 << 40)
        }
        Feature::Network => {
            let ip: IpAddr = match l.split_once('/') {
                Some((a, _)) => a.parse().ok()?,
                None => l.parse().ok()?,
            };
            xxhash_rust::xxh3::xxh3_64(&network_key(ip).to_le_bytes())
        }
        Feature::Client | Feature::Region => xxhash_rust::xxh3::xxh3_64(l.as_bytes()),
        Feature::Action => {
            let (s, o) = l.split_once(':')?;
            action_key(s, o)
        }
        Feature::Resource => xxhash_rust::xxh3::xxh3_64(l.as_bytes()) ^ 0x5e,
        Feature::Issuer => xxhash_rust::xxh3::xxh3_64(l.as_bytes()) ^ 0x15,
    })
}

/// The human-readable label of an event's feature value (allocates: only for new values and alerts).
pub fn feature_label(ev: &AuditEvent<'_>, f: Feature) -> String {
    match f {
        Feature::Country => ev
            .geo
            .as_ref()
            .and_then(|g| g.country.as_deref())
            .unwrap_or("")
            .to_string(),
        Feature::Asn => match ev.geo.as_ref() {
            Some(g) => match (&g.asn, &g.as_org) {
                (Some(a), Some(o)) => format!("AS{a} {o}"),
                (Some(a), None) => format!("AS{a}"),
                _ => String::new(),
            },
            None => String::new(),
        },
        Feature::Network => ev
            .src_ip
            .map(|ip: IpAddr| network_to_string(network_key(ip)))
            .unwrap_or_default(),
        Feature::Client => ev.client().to_string(),
        Feature::Action => ev.action(),
        Feature::Region => ev.region.as_deref().unwrap_or("").to_string(),
        Feature::Resource => ev.target.as_deref().unwrap_or("").to_string(),
        Feature::Issuer => ev.federation.as_deref().unwrap_or("").to_string(),
    }
}

/// Baseline settings (config `[baseline]`; rules may override the learning gate).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BaselineConfig {
    /// Event-time span an identity must have been observed for before novelty counts (ms).
    pub learning_period_ms: i64,
    /// Observations an identity needs before novelty counts.
    pub learning_min_observations: u64,
    /// Values unseen for this long are forgotten (ms).
    pub forget_after_ms: i64,
    /// A session idle for this long is closed; its credentials are presumed expired (ms).
    pub session_idle_ms: i64,
    /// Sessions remembered per identity.
    pub max_sessions: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            learning_period_ms: 7 * DAY_MS,
            learning_min_observations: 50,
            forget_after_ms: 30 * DAY_MS,
            session_idle_ms: 12 * crate::time::HOUR_MS,
            max_sessions: 64,
        }
    }
}

/// Where an identity is in its learning period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LearningState {
    /// True while the identity is still learning.
    pub learning: bool,
    /// Observations so far.
    pub observations: u64,
    /// Event-time span observed so far (ms).
    pub observed_span_ms: i64,
}

/// The key of the session an event belongs to. An EC2 instance-profile session is the instance
/// (every credential it is issued comes from that one machine); any other role session is its
/// name *and* its credential, since one session name is reused by concurrent workloads (Lambda
/// execution environments, CI jobs) holding different keys.
pub fn session_key(ev: &AuditEvent<'_>) -> Option<u64> {
    let name = ev.identity.session.as_deref()?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(name.as_bytes());
    if !ev.identity.is_instance_session() {
        if let Some(c) = ev.identity.credential.as_deref() {
            h.update(b"\0");
            h.update(c.as_bytes());
        }
    }
    Some(h.digest())
}

/// Per-session state: the networks and clients one set of session credentials was used from.
/// The session's name is a label in the store's table under [`SessionState::key`] (names are
/// chosen by callers and repeat across identities; a copy per session would cost most of it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionState {
    /// [`session_key`] of the session; its name is `labels.get(key)`.
    pub key: u64,
    /// First event time.
    pub first_seen: i64,
    /// Latest event time.
    pub last_seen: i64,
    /// Events in the session (saturating).
    pub count: u32,
    /// Networks seen.
    pub networks: ValueSet,
    /// Client families seen.
    pub clients: ValueSet,
    /// Network operators (ASNs) seen.
    pub asns: ValueSet,
}

/// The last place an identity called from (for travel speed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LastLocation {
    /// Latitude.
    pub lat: f32,
    /// Longitude.
    pub lon: f32,
    /// Event time (ms).
    pub time_ms: i64,
    /// Autonomous system, if known.
    pub asn: u32,
    /// Country code (two ASCII letters, or zeros).
    pub country: [u8; 2],
    /// The network was a major cloud provider's.
    pub cloud: bool,
}

/// Hour of the week (0 = Monday 00:00 UTC) of an epoch-ms time.
pub fn hour_of_week(t: i64) -> usize {
    // 1970-01-01 was a Thursday: shift so that Monday is 0.
    let hours = t.div_euclid(crate::time::HOUR_MS);
    (hours + 3 * 24).rem_euclid(168) as usize
}

/// One identity's profile.
///
/// The part every identity pays for is small; where and how it calls from ([`Detail`]: value
/// sets, sessions, hours, last location) is allocated on its first successful call, so an
/// outside principal whose calls are only ever refused (attacker-chosen names in denied calls)
/// costs a counter and its rate windows, not a full profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// First event time seen.
    pub first_seen: i64,
    /// Latest event time seen (the identity's clock).
    pub last_seen: i64,
    /// Events observed.
    pub observations: u64,
    /// Longest silence between consecutive events so far (ms).
    pub max_gap_ms: i64,
    /// Strong evidence of a person, if any event carried it (sticky; see
    /// [`ClassReason::is_strong_human_evidence`]).
    pub human_evidence: Option<ClassReason>,
    /// Some event found the identity in the NHI inventory (kept longest under memory pressure).
    pub inventoried: bool,
    /// What the identity was before it was evicted under memory pressure, if it was: its
    /// return is not a first sighting.
    pub history: Option<Box<Marker>>,
    detail: Option<Box<Detail>>,
    /// Exactly sized (a new rate is rare): the profile fits a smaller allocation than with a
    /// `Vec`.
    rates: Box<[RateState]>,
    /// [`Profile::approx_bytes`] as last accounted in the store's budget.
    #[serde(skip)]
    accounted: u32,
}

/// The part of a profile that describes where and how an identity calls from.
#[derive(Debug, Clone, Serialize, Deserialize)]
///
/// 264 bytes: the largest size that fits the allocator's 272-byte chunk (a million identities
/// pay for each spare byte), hence whole seconds, a 32-bit count and exactly sized sessions.
struct Detail {
    /// Event time of the first call folded in here (whole seconds).
    since_s: u32,
    /// Calls folded in here (saturating).
    observations: u32,
    last_location: Option<LastLocation>,
    hours: Hours,
    features: [ValueSet; 8],
    /// Exactly sized: a new session is rare next to the calls within one.
    sessions: Box<[SessionState]>,
}

impl Detail {
    fn new(t: i64) -> Self {
        Detail {
            since_s: to_secs(t),
            observations: 0,
            last_location: None,
            hours: Hours::EMPTY,
            features: Default::default(),
            sessions: Box::default(),
        }
    }

    fn since_ms(&self) -> i64 {
        self.since_s as i64 * 1000
    }
}

/// What is kept of an identity evicted under memory pressure (32 bytes), so that its return is
/// not a first sighting and a long silence before it is still seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// First event time seen.
    pub first_seen: i64,
    /// Latest event time seen before eviction.
    pub last_seen: i64,
    /// Longest silence between consecutive events (ms).
    pub max_gap_ms: i64,
    /// Events observed (saturating).
    pub observations: u32,
    /// The identity was in the inventory.
    pub inventoried: bool,
}

impl Profile {
    fn new(t: i64) -> Self {
        Profile {
            first_seen: t,
            last_seen: t,
            observations: 0,
            max_gap_ms: 0,
            human_evidence: None,
            inventoried: false,
            history: None,
            detail: None,
            rates: Box::default(),
            accounted: 0,
        }
    }

    /// A fresh profile for an identity evicted before: it learns anew, remembering `m`.
    fn returning(t: i64, m: Marker) -> Self {
        let mut p = Profile::new(t);
        p.inventoried = m.inventoried;
        p.history = Some(Box::new(m));
        p
    }

    /// The marker kept when this profile is evicted.
    pub fn marker(&self) -> Marker {
        let (first, obs, gap) = match &self.history {
            Some(h) => (
                h.first_seen.min(self.first_seen),
                (h.observations as u64).saturating_add(self.observations),
                h.max_gap_ms
                    .max(self.max_gap_ms)
                    .max(self.first_seen.saturating_sub(h.last_seen)),
            ),
            None => (self.first_seen, self.observations, self.max_gap_ms),
        };
        Marker {
            first_seen: first,
            last_seen: self.last_seen,
            max_gap_ms: gap,
            observations: obs.min(u32::MAX as u64) as u32,
            inventoried: self.inventoried,
        }
    }

    /// The identity's latest call, calls and longest silence, counting what it was before an
    /// eviction when it has not called since its return (the dormant detector's view).
    pub fn activity(&self) -> (i64, u64, i64) {
        match &self.history {
            Some(h) if self.observations == 0 => (h.last_seen, h.observations as u64, h.max_gap_ms),
            _ => (self.last_seen, self.observations, self.max_gap_ms),
        }
    }

    /// Activity per hour of the week (UTC), halved when a bucket saturates.
    pub fn hours(&self) -> &Hours {
        self.detail.as_ref().map_or(&Hours::EMPTY, |d| &d.hours)
    }

    /// Last located call.
    pub fn last_location(&self) -> Option<LastLocation> {
        self.detail.as_ref().and_then(|d| d.last_location)
    }

    fn detail_mut(&mut self) -> &mut Detail {
        let t = self.first_seen;
        self.detail.get_or_insert_with(|| Box::new(Detail::new(t)))
    }

    /// The value set of a feature.
    pub fn values(&self, f: Feature) -> &ValueSet {
        static EMPTY: ValueSet = ValueSet::EMPTY;
        match &self.detail {
            Some(d) => &d.features[f.index()],
            None => &EMPTY,
        }
    }

    /// Learning state at event time `now`, against the given thresholds.
    ///
    /// Learning counts from the first call that taught the identity where it calls from: an
    /// identity refused for a week and then let in has learned nothing of its places yet.
    pub fn learning_state(&self, period_ms: i64, min_obs: u64) -> LearningState {
        let span = self.last_seen.saturating_sub(self.first_seen);
        let learned = self.detail.as_ref().is_some_and(|d| {
            self.last_seen.saturating_sub(d.since_ms()) >= period_ms
                && d.observations as u64 >= min_obs
        });
        LearningState {
            learning: !learned,
            observations: self.observations,
            observed_span_ms: span,
        }
    }

    /// The live session with this key ([`session_key`]) at time `now`, if any.
    pub fn session(&self, key: u64, now: i64, idle_ms: i64) -> Option<&SessionState> {
        self.sessions()
            .iter()
            .find(|s| s.key == key && now.saturating_sub(s.last_seen) <= idle_ms)
    }

    /// Sessions currently remembered.
    pub fn sessions(&self) -> &[SessionState] {
        self.detail.as_ref().map_or(&[], |d| &d.sessions)
    }

    /// The rate state of spec `spec`, if the identity ever did that class.
    pub fn rate(&self, spec: usize) -> Option<&RateState> {
        self.rates.iter().find(|r| r.spec as usize == spec)
    }

    /// The identity's class: human once any event has shown a person.
    pub fn class(&self) -> IdentityClass {
        if self.human_evidence.is_some() {
            IdentityClass::Human
        } else {
            IdentityClass::NonHuman
        }
    }

    /// True if the action of `ev` is an established habit of this identity: seen at least
    /// `min_count` times, first at least `min_age_ms` before `now`.
    pub fn is_routine(
        &self,
        key: u64,
        now: i64,
        min_count: u32,
        min_age_ms: i64,
        forget: i64,
    ) -> bool {
        self.values(Feature::Action)
            .get_live(key, now, forget)
            .is_some_and(|s| {
                s.count() >= min_count && now.saturating_sub(s.first_seen()) >= min_age_ms
            })
    }

    /// Re-points rate statistics at the loaded rate specs (`map[old] = new`), dropping those no
    /// rule counts any more; returns how many were dropped.
    fn remap_rates(&mut self, map: &[Option<u8>]) -> usize {
        let before = self.rates.len();
        let mut rates = std::mem::take(&mut self.rates).into_vec();
        rates.retain_mut(|r| match map.get(r.spec as usize).copied().flatten() {
            Some(n) => {
                r.spec = n;
                true
            }
            None => false,
        });
        self.rates = rates.into_boxed_slice();
        before - self.rates.len()
    }

    /// Approximate heap + inline bytes used by this profile (what the memory budget counts).
    pub fn approx_bytes(&self) -> usize {
        let detail = self.detail.as_ref().map_or(0, |d| {
            std::mem::size_of::<Detail>()
                + d.hours.heap_bytes()
                + d.features
                    .iter()
                    .map(ValueSet::approx_heap_bytes)
                    .sum::<usize>()
                + std::mem::size_of_val::<[SessionState]>(&d.sessions)
                + d.sessions
                    .iter()
                    .map(|s| {
                        s.networks.approx_heap_bytes()
                            + s.clients.approx_heap_bytes()
                            + s.asns.approx_heap_bytes()
                    })
                    .sum::<usize>()
        });
        std::mem::size_of::<Profile>()
            + detail
            + self
                .history
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<Marker>())
            + std::mem::size_of_val::<[RateState]>(&self.rates)
            + self
                .rates
                .iter()
                .map(RateState::approx_heap_bytes)
                .sum::<usize>()
    }

    /// Calls `mark` with every value key this profile holds (label compaction).
    pub fn visit_keys(&self, mark: &mut dyn FnMut(u64)) {
        let Some(d) = &self.detail else { return };
        for f in &d.features {
            f.slots().iter().for_each(|s| mark(s.key()));
        }
        for s in &d.sessions {
            mark(s.key);
            s.networks.slots().iter().for_each(|v| mark(v.key()));
            s.clients.slots().iter().for_each(|v| mark(v.key()));
        }
    }

    /// Adds a value to the identity's baseline as if seen at `t` (allowlist approvals,
    /// inventory priors).
    pub fn approve(&mut self, f: Feature, key: u64, t: i64, forget: i64) {
        let now = self.last_seen.max(t);
        self.detail_mut().features[f.index()].observe(key, t, now, forget, f.capacity());
    }

    /// Folds an event in; returns the features ([`Feature::bit`]) whose value the identity
    /// showed for the first time.
    fn observe(
        &mut self,
        ev: &AuditEvent<'_>,
        cfg: &BaselineConfig,
        labels: &mut Labels,
        specs: &[RateSpec],
    ) -> u8 {
        let t = ev.time_ms;
        if self.observations > 0 && t > self.last_seen {
            self.max_gap_ms = self.max_gap_ms.max(t - self.last_seen);
        }
        self.observations += 1;
        self.first_seen = self.first_seen.min(t);
        self.last_seen = self.last_seen.max(t);
        if self.human_evidence.is_none() && ev.identity.reason.is_strong_human_evidence() {
            self.human_evidence = Some(ev.identity.reason);
        }
        // Before the action and resource join the baseline: were they new, past learning?
        // (`novel_actions`, `novel_resources`). Only for events of a class such a rate counts.
        let novel = |f: Feature| {
            specs
                .iter()
                .any(|s| s.distinct.novel_of() == Some(f) && ev.classes.contains(s.class))
                && self.is_novel(ev, f, cfg)
        };
        let (novel_action, novel_resource) = (novel(Feature::Action), novel(Feature::Resource));
        // Refused calls of an identity that never made one succeed teach it no places or
        // habits (see the type's doc); they still count, and feed its rates.
        let new_features = if self.detail.is_some() || ev.outcome != Outcome::Failure {
            self.observe_detail(ev, cfg, labels)
        } else {
            0
        };
        if ev.classes.0 != 0 {
            for (i, spec) in specs.iter().enumerate() {
                let novel_ok = match spec.distinct.novel_of() {
                    Some(Feature::Action) => novel_action,
                    Some(_) => novel_resource,
                    None => true,
                };
                if !ev.classes.contains(spec.class) || !novel_ok {
                    continue;
                }
                let key = rate_key(ev, spec);
                let pos = match self.rates.iter().position(|r| r.spec as usize == i) {
                    Some(p) => p,
                    None => {
                        let mut rates = std::mem::take(&mut self.rates).into_vec();
                        rates.reserve_exact(1);
                        rates.push(RateState::new(i as u8));
                        self.rates = rates.into_boxed_slice();
                        self.rates.len() - 1
                    }
                };
                self.rates[pos].observe(spec, t, key);
            }
        }
        new_features
    }

    /// Folds an event into the detail part (allocated by the first such event); returns the
    /// features whose value is new to the identity.
    fn observe_detail(
        &mut self,
        ev: &AuditEvent<'_>,
        cfg: &BaselineConfig,
        labels: &mut Labels,
    ) -> u8 {
        let t = ev.time_ms;
        let now = self.last_seen;
        let fresh = self.detail.is_none();
        let d = self.detail_mut();
        if fresh {
            d.since_s = to_secs(t);
        }
        d.since_s = d.since_s.min(to_secs(t));
        d.observations = d.observations.saturating_add(1);
        let how = hour_of_week(t);
        d.hours.add(how);
        let mut new_features = 0u8;
        for f in Feature::ALL {
            if let Some(v) = feature_value(ev, f) {
                if d.features[f.index()].observe(v.key, t, now, cfg.forget_after_ms, f.capacity()) {
                    labels.intern(v.key, || feature_label(ev, f));
                    new_features |= f.bit();
                } else if labels.has_unlabelled() {
                    labels.retry(v.key, || feature_label(ev, f));
                }
            }
        }
        if let Some(loc) = location_of(ev) {
            if d.last_location.is_none_or(|l| t >= l.time_ms) {
                d.last_location = Some(loc);
            }
        }
        if let (Some(name), Some(k)) = (ev.identity.session.as_deref(), session_key(ev)) {
            observe_session(&mut d.sessions, ev, name, k, cfg, labels);
        }
        new_features
    }

    /// True if the event's value of `f` (its action, or the resource it names) is absent from
    /// this baseline and the identity is past its learning period (the `novel_actions` and
    /// `novel_resources` rate measures).
    pub fn is_novel(&self, ev: &AuditEvent<'_>, f: Feature, cfg: &BaselineConfig) -> bool {
        if self
            .learning_state(cfg.learning_period_ms, cfg.learning_min_observations)
            .learning
        {
            return false;
        }
        let now = self.last_seen.max(ev.time_ms);
        feature_value(ev, f).is_some_and(|v| {
            self.values(f)
                .get_live(v.key, now, cfg.forget_after_ms)
                .is_none()
        })
    }
}

/// Values one session remembers per feature.
const SESSION_NETWORKS: usize = 8;
const SESSION_CLIENTS: usize = 8;
const SESSION_ASNS: usize = 4;

/// Folds an event into its session's state (a new or expired session starts afresh; past
/// `max_sessions` the least recently used one is replaced).
fn observe_session(
    sessions: &mut Box<[SessionState]>,
    ev: &AuditEvent<'_>,
    name: &str,
    k: u64,
    cfg: &BaselineConfig,
    labels: &mut Labels,
) {
    let t = ev.time_ms;
    let idle = cfg.session_idle_ms;
    let pos = sessions.iter().position(|s| s.key == k);
    let s = match pos {
        Some(i) if t.saturating_sub(sessions[i].last_seen) <= idle => &mut sessions[i],
        found => {
            // New session, or the old one went idle past its credentials' lifetime: restart.
            labels.intern(k, || name.to_string());
            let fresh = SessionState {
                key: k,
                first_seen: t,
                last_seen: t,
                count: 0,
                networks: ValueSet::default(),
                clients: ValueSet::default(),
                asns: ValueSet::default(),
            };
            let i = match found {
                Some(i) => {
                    sessions[i] = fresh;
                    i
                }
                None if sessions.len() < cfg.max_sessions => {
                    let mut v = std::mem::take(sessions).into_vec();
                    v.reserve_exact(1);
                    v.push(fresh);
                    *sessions = v.into_boxed_slice();
                    sessions.len() - 1
                }
                None => {
                    let (i, _) = sessions
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, s)| s.last_seen)
                        .expect("max_sessions > 0");
                    sessions[i] = fresh;
                    i
                }
            };
            &mut sessions[i]
        }
    };
    s.count = s.count.saturating_add(1);
    s.first_seen = s.first_seen.min(t);
    s.last_seen = s.last_seen.max(t);
    let now = s.last_seen;
    if let Some(v) = feature_value(ev, Feature::Network) {
        if s.networks
            .observe(v.key, t, now, i64::MAX, SESSION_NETWORKS)
        {
            labels.intern(v.key, || feature_label(ev, Feature::Network));
        } else if labels.has_unlabelled() {
            labels.retry(v.key, || feature_label(ev, Feature::Network));
        }
    }
    if let Some(v) = feature_value(ev, Feature::Client) {
        if s.clients.observe(v.key, t, now, i64::MAX, SESSION_CLIENTS) {
            labels.intern(v.key, || feature_label(ev, Feature::Client));
        } else if labels.has_unlabelled() {
            labels.retry(v.key, || feature_label(ev, Feature::Client));
        }
    }
    if let Some(v) = feature_value(ev, Feature::Asn) {
        s.asns.observe(v.key, t, now, i64::MAX, SESSION_ASNS);
    }
}

/// The distinct key an event contributes to a rate.
pub fn rate_key(ev: &AuditEvent<'_>, spec: &RateSpec) -> u64 {
    match spec.distinct {
        rate::Distinct::Events => 0,
        rate::Distinct::Actions | rate::Distinct::NovelActions => {
            feature_value(ev, Feature::Action).map_or(0, |v| v.key)
        }
        rate::Distinct::NovelResources => feature_value(ev, Feature::Resource).map_or(0, |v| v.key),
        rate::Distinct::Resources => feature_value(ev, Feature::Resource)
            .or_else(|| feature_value(ev, Feature::Action))
            .map_or(0, |v| v.key),
    }
}

/// Where an event was made from, if GeoIP placed it (calls by a cloud service on the identity's
/// behalf are not the identity's location).
pub fn location_of(ev: &AuditEvent<'_>) -> Option<LastLocation> {
    if ev.via_cloud_service() {
        return None;
    }
    let g = ev.geo.as_deref()?;
    let (lat, lon) = (g.lat?, g.lon?);
    let mut country = [0u8; 2];
    if let Some(c) = g.country.as_deref().filter(|c| c.len() == 2) {
        country.copy_from_slice(c.as_bytes());
    }
    Some(LastLocation {
        lat: lat as f32,
        lon: lon as f32,
        time_ms: ev.time_ms,
        asn: g.asn.unwrap_or(0),
        country,
        cloud: g.net_class == Some(crate::netclass::NetClass::Cloud),
    })
}

/// Identity profiles by identity key. The keys are attacker-chosen (session names, user names
/// in denied calls), so the table hashes them with std's keyed SipHash, not FxHash.
type IdentityMap = HashMap<Box<str>, Box<Profile>, RandomState>;

/// The store's state as a snapshot keeps it, borrowed.
#[derive(Serialize)]
pub struct StoreStateRef<'a> {
    rate_specs: &'a [RateSpec],
    labels: &'a Labels,
    profiles: &'a IdentityMap,
    markers: &'a Markers,
}

/// The store's state read back from a snapshot.
#[derive(Serialize, Deserialize)]
pub struct StoreState {
    rate_specs: Vec<RateSpec>,
    labels: Labels,
    profiles: IdentityMap,
    markers: Markers,
}

impl StoreState {
    /// Identities in the state.
    pub fn identities(&self) -> usize {
        self.profiles.len()
    }

    /// One identity's profile and the labels of its values.
    pub fn profile(&self, key: &str) -> Option<(&Profile, &Labels)> {
        self.profiles.get(key).map(|p| (&**p, &self.labels))
    }

    /// Identity keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(|k| &**k)
    }

    /// Forgets one identity (and its marker); true if it was known.
    pub fn forget(&mut self, key: &str) -> bool {
        let marked = self.markers.take(key).is_some();
        self.profiles.remove(key).is_some() || marked
    }
}

/// All profiles, keyed by identity key, within a memory budget ([`budget`]).
pub struct BaselineStore {
    /// Boxed: the table keeps ~2x its length in slots, and an empty slot should cost a pointer,
    /// not a whole profile.
    profiles: IdentityMap,
    /// Features ([`Feature::bit`]) whose value the last observed event showed for the first
    /// time for its identity (account priors learn from these).
    pub new_features: u8,
    /// Labels of all values, shared.
    pub labels: Labels,
    /// Rates tracked (from the loaded rules).
    pub rate_specs: Vec<RateSpec>,
    /// Settings.
    pub config: BaselineConfig,
    /// Memory budget.
    budget: Budget,
    /// Markers of evicted identities.
    markers: Markers,
    /// Bytes of profiles, keys and table entries, as accounted ([`Profile::approx_bytes`]).
    bytes: usize,
    /// Eviction counters.
    pub evictions: Evictions,
}

impl Default for BaselineStore {
    fn default() -> Self {
        BaselineStore::new(BaselineConfig::default())
    }
}

/// Eviction order: identities never let in (no detail: a flood of refused calls) go first, then
/// ordinary ones; those `keep_longer` names last.
fn evict_tier(k: &str, p: &Profile, keep_longer: &dyn Fn(&str, &Profile) -> bool) -> u8 {
    if keep_longer(k, p) {
        2
    } else {
        p.detail.is_some() as u8
    }
}

/// Re-accounts a profile's bytes in the store's total.
fn reaccount(total: &mut usize, p: &mut Profile) {
    let now = p.approx_bytes();
    *total = total.saturating_sub(p.accounted as usize) + now;
    p.accounted = now.min(u32::MAX as usize) as u32;
}

impl BaselineStore {
    /// An empty store with the default budget.
    pub fn new(config: BaselineConfig) -> Self {
        BaselineStore::with_budget(config, Budget::default())
    }

    /// An empty store within `budget`.
    pub fn with_budget(config: BaselineConfig, budget: Budget) -> Self {
        BaselineStore {
            profiles: IdentityMap::default(),
            new_features: 0,
            labels: Labels::new(budget.label_bytes()),
            rate_specs: Vec::new(),
            config,
            budget,
            markers: Markers::default(),
            bytes: 0,
            evictions: Evictions::default(),
        }
    }

    /// The budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// The profile of an identity, as it is now.
    pub fn get(&self, key: &str) -> Option<&Profile> {
        self.profiles.get(key).map(|p| &**p)
    }

    fn insert(&mut self, key: &str, mut p: Box<Profile>) {
        p.accounted = 0;
        reaccount(&mut self.bytes, &mut p);
        self.bytes += ENTRY_BYTES + key.len();
        if let Some(old) = self.profiles.insert(key.into(), p) {
            self.bytes = self
                .bytes
                .saturating_sub(old.accounted as usize + ENTRY_BYTES + key.len());
        }
    }

    fn remove(&mut self, key: &str) -> Option<Box<Profile>> {
        let p = self.profiles.remove(key)?;
        self.bytes = self
            .bytes
            .saturating_sub(p.accounted as usize + ENTRY_BYTES + key.len());
        Some(p)
    }

    /// A new profile for `key` at `t`: a returning one if it left a marker.
    fn fresh(&mut self, key: &str, t: i64) -> Profile {
        match self.markers.take(key) {
            Some(m) => {
                self.evictions.returned += 1;
                Profile::returning(t, m)
            }
            None => Profile::new(t),
        }
    }

    /// The profile of an identity, created empty at time `t` if it has none.
    pub fn get_or_create(&mut self, key: &str, t: i64) -> &mut Profile {
        if !self.profiles.contains_key(key) {
            let p = self.fresh(key, t);
            self.insert(key, Box::new(p));
        }
        let p = self.profiles.get_mut(key).expect("inserted above");
        // Approvals may add values: account them again.
        reaccount(&mut self.bytes, p);
        p
    }

    /// Adds an approved value to `key`'s baseline (created if new) as if seen at `t`, and
    /// accounts the profile's new size at once.
    pub fn approve(&mut self, key: &str, f: Feature, value: u64, t: i64) {
        let forget = self.config.forget_after_ms;
        self.get_or_create(key, t).approve(f, value, t, forget);
        if let Some(p) = self.profiles.get_mut(key) {
            reaccount(&mut self.bytes, p);
        }
    }

    /// Folds an event into its identity's profile (after detectors have seen the profile).
    pub fn observe(&mut self, ev: &AuditEvent<'_>) {
        self.inspect_then_observe(ev, |_, _, _| ());
    }

    /// Calls `f` with the identity's profile as it is *before* the event (with the label table
    /// and the tracked rates), then folds the event in: one lookup for both (the detection
    /// engine's per-event path). A returning evicted identity is shown to `f` as its fresh
    /// profile with its history; a new one as `None`.
    pub fn inspect_then_observe<R>(
        &mut self,
        ev: &AuditEvent<'_>,
        f: impl FnOnce(Option<&Profile>, &Labels, &[RateSpec]) -> R,
    ) -> R {
        let cfg = self.config;
        let labels = &mut self.labels;
        let specs = &self.rate_specs;
        let owned = matches!(ev.inventory, InventoryMatch::Owned(_));
        let r = match self.profiles.get_mut(&*ev.identity.key) {
            Some(p) => {
                let r = f(Some(p), labels, specs);
                self.new_features = p.observe(ev, &cfg, labels, specs);
                p.inventoried |= owned;
                // Growth comes with new values; other growth (rate windows, session values) is
                // small and caught every 16th call.
                if self.new_features != 0 || p.observations % 16 == 1 {
                    reaccount(&mut self.bytes, p);
                }
                r
            }
            None => {
                let mut p = self.fresh(&ev.identity.key, ev.time_ms);
                let (labels, specs) = (&mut self.labels, &self.rate_specs);
                let r = f(p.history.is_some().then_some(&p), labels, specs);
                self.new_features = p.observe(ev, &cfg, labels, specs);
                p.inventoried |= owned;
                self.insert(&ev.identity.key, Box::new(p));
                r
            }
        };
        if self.labels.wants_compaction() {
            self.compact_labels();
        }
        r
    }

    /// True if identity state is past its budget (a sweep is due).
    pub fn over_budget(&self) -> bool {
        self.profiles.len() > self.budget.max_identities
            || self.bytes() > self.budget.max_bytes
            || self.markers.len() > self.budget.max_markers()
    }

    /// Evicts identities down to [`budget::LOW_WATER`] of the budget, least recently seen first;
    /// those `keep_longer` names (inventoried, open incident) go only when nothing else is left.
    /// Returns how many were evicted.
    pub fn evict(&mut self, keep_longer: &dyn Fn(&str, &Profile) -> bool) -> usize {
        self.evictions.sweeps += 1;
        let b = self.budget;
        let n = self.profiles.len();
        let keep_markers = (b.max_markers() as f64 * LOW_WATER) as usize;
        if self.markers.len() + n.saturating_sub(b.max_identities) > b.max_markers() {
            self.evictions.markers_dropped += self.markers.trim(keep_markers) as u64;
        }
        let by_count = n.saturating_sub((b.max_identities as f64 * LOW_WATER) as usize);
        let target_bytes = (b.max_bytes as f64 * LOW_WATER) as usize;
        let excess = self.bytes().saturating_sub(target_bytes);
        let by_bytes = if excess == 0 || n == 0 {
            0
        } else {
            let per = (self.bytes() / n).max(1);
            excess.div_ceil(per)
        };
        let count = by_count.max(by_bytes).min(n);
        let list = budget::victims(
            self.profiles
                .iter()
                .map(|(k, p)| (evict_tier(k, p, keep_longer), p.last_seen, &**k)),
            count,
        );
        for k in &list {
            if let Some(p) = self.remove(k) {
                self.markers.put(k, p.marker());
            }
        }
        self.evictions.identities += list.len() as u64;
        if self.markers.len() > b.max_markers() {
            self.evictions.markers_dropped += self.markers.trim(keep_markers) as u64;
        }
        if self.labels.approx_bytes() > self.labels.max_bytes() / 2 {
            self.compact_labels();
        }
        list.len()
    }

    /// Drops labels no profile refers to any more ([`Labels::compact`]).
    pub fn compact_labels(&mut self) {
        let profiles = &self.profiles;
        self.labels.compact(|mark| {
            for p in profiles.values() {
                p.visit_keys(&mut *mark);
            }
        });
    }

    /// Puts an identity's profile back as it was (`None`: it did not exist), undoing what a
    /// refuted future-dated record and anything after it taught ([`crate::detect::clock`]).
    pub fn put_back(&mut self, key: &str, before: Option<Box<Profile>>) {
        match before {
            Some(p) => self.insert(key, p),
            None => {
                self.remove(key);
            }
        }
    }

    /// Forgets an identity entirely (it relearns from scratch).
    pub fn forget(&mut self, key: &str) -> bool {
        let marked = self.markers.take(key).is_some();
        self.remove(key).is_some() || marked
    }

    /// Number of identities tracked.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Markers of evicted identities held.
    pub fn markers(&self) -> usize {
        self.markers.len()
    }

    /// True if no identity is tracked.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Iterates over (identity key, profile).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Profile)> {
        self.profiles.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Borrows the store's state for a snapshot.
    pub fn state_ref(&self) -> StoreStateRef<'_> {
        StoreStateRef {
            rate_specs: &self.rate_specs,
            labels: &self.labels,
            profiles: &self.profiles,
            markers: &self.markers,
        }
    }

    /// Takes the profiles and labels out (for a rule reload), leaving the store empty.
    pub fn take_state(&mut self) -> StoreState {
        self.bytes = 0;
        StoreState {
            rate_specs: self.rate_specs.clone(),
            labels: std::mem::take(&mut self.labels),
            profiles: std::mem::take(&mut self.profiles),
            markers: std::mem::take(&mut self.markers),
        }
    }

    /// Replaces the profiles and labels with `state`, mapping its rate statistics onto this
    /// store's rate specs; returns how many rate states were dropped (no loaded rule counts them).
    pub fn restore_state(&mut self, state: StoreState) -> usize {
        let map: Vec<Option<u8>> = state
            .rate_specs
            .iter()
            .map(|s| self.rate_specs.iter().position(|n| n == s).map(|i| i as u8))
            .collect();
        let mut dropped = 0;
        let mut profiles = state.profiles;
        let mut bytes = 0;
        for (k, p) in profiles.iter_mut() {
            dropped += p.remap_rates(&map);
            p.accounted = 0;
            reaccount(&mut bytes, p);
            bytes += ENTRY_BYTES + k.len();
        }
        self.profiles = profiles;
        self.bytes = bytes;
        self.labels = state.labels;
        self.labels.set_max_bytes(self.budget.label_bytes());
        self.markers = state.markers;
        dropped
    }

    /// Bytes of identity state as the budget counts them (profiles, keys, markers, labels).
    pub fn bytes(&self) -> usize {
        self.bytes + self.markers.bytes() + self.labels.approx_bytes()
    }

    /// Approximate memory used by all profiles, their keys and the label table (recounted).
    pub fn approx_bytes(&self) -> usize {
        self.profiles.capacity() * (std::mem::size_of::<(Box<str>, Box<Profile>)>() + 1)
            + self
                .profiles
                .iter()
                .map(|(k, p)| k.len() + p.approx_bytes())
                .sum::<usize>()
            + self.labels.approx_bytes()
            + self.markers.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsers::{Format, Parsers};

    fn record(user: &str, t: &str, error: bool) -> String {
        let err = if error {
            r#","errorCode":"AccessDenied""#
        } else {
            ""
        };
        format!(
            r#"{{"eventTime":"{t}","eventName":"GetSecretValue","eventSource":"secretsmanager.amazonaws.com","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/{user}","accountId":"111122223333","userName":"{user}"}},"sourceIPAddress":"3.5.1.10","userAgent":"aws-cli/2.15.30","requestParameters":{{"secretId":"s-{user}"}}{err}}}"#
        )
    }

    fn observe(store: &mut BaselineStore, parsers: &Parsers, user: &str, t: &str, error: bool) {
        let r = record(user, t, error);
        let ev = parsers.parse(r.as_bytes(), Format::Auto).unwrap();
        store.observe(&ev);
        if store.over_budget() {
            store.evict(&|k, _| k.ends_with("/keep"));
        }
    }

    #[test]
    fn budget_evicts_least_recent_keeps_markers_and_favoured() {
        let parsers = Parsers::default();
        let budget = Budget {
            max_identities: 10,
            max_bytes: 64 << 20,
        };
        let mut store = BaselineStore::with_budget(BaselineConfig::default(), budget);
        observe(&mut store, &parsers, "keep", "2024-01-01T00:00:00Z", false);
        observe(&mut store, &parsers, "old", "2024-01-01T00:00:01Z", false);
        for i in 0..30 {
            let t = format!("2024-01-02T00:{:02}:{:02}Z", i / 60, i % 60);
            observe(&mut store, &parsers, &format!("u{i}"), &t, false);
            assert!(store.len() <= 10, "{} identities", store.len());
        }
        assert!(
            store.get("arn:aws:iam::111122223333:user/keep").is_some(),
            "favoured identity kept"
        );
        assert!(store.get("arn:aws:iam::111122223333:user/old").is_none());
        assert!(
            store.get("arn:aws:iam::111122223333:user/u29").is_some(),
            "newest kept"
        );
        assert!(store.evictions.identities >= 20, "{:?}", store.evictions);
        assert_eq!(store.markers(), store.evictions.identities as usize);
        // The evicted identity comes back: not a first sighting, and its history is there.
        observe(&mut store, &parsers, "old", "2024-03-01T00:00:00Z", false);
        let back = store.get("arn:aws:iam::111122223333:user/old").unwrap();
        let h = back.history.as_deref().unwrap();
        assert_eq!((h.observations, back.observations), (1, 1));
        assert_eq!(store.evictions.returned, 1);
        // Accounting matches a recount within the per-entry estimate.
        let recount = store.approx_bytes();
        let own = store.bytes();
        assert!(
            own.abs_diff(recount) < recount / 4 + 4096,
            "{own} vs {recount}"
        );
    }

    #[test]
    fn refused_calls_cost_no_detail_until_one_succeeds() {
        let parsers = Parsers::default();
        let mut store = BaselineStore::new(BaselineConfig::default());
        observe(
            &mut store,
            &parsers,
            "outsider",
            "2024-01-01T00:00:00Z",
            true,
        );
        observe(
            &mut store,
            &parsers,
            "outsider",
            "2024-01-01T00:00:05Z",
            true,
        );
        let p = store
            .get("arn:aws:iam::111122223333:user/outsider")
            .unwrap();
        assert_eq!(p.observations, 2);
        assert!(p.values(Feature::Action).is_empty() && p.sessions().is_empty());
        assert!(p.approx_bytes() < 200, "{} bytes", p.approx_bytes());
        observe(
            &mut store,
            &parsers,
            "outsider",
            "2024-01-09T00:00:00Z",
            false,
        );
        let p = store
            .get("arn:aws:iam::111122223333:user/outsider")
            .unwrap();
        assert_eq!(p.values(Feature::Action).len(), 1);
        // Learning counts from the first call let in, not from the first refusal.
        assert!(p.learning_state(DAY_MS, 1).learning);
    }

    #[test]
    fn byte_budget_bounds_identities_and_labels() {
        let parsers = Parsers::default();
        let budget = Budget {
            max_identities: 1_000_000,
            max_bytes: 1 << 20,
        };
        let mut store = BaselineStore::with_budget(BaselineConfig::default(), budget);
        for i in 0..20_000 {
            let t = format!(
                "2024-01-02T{:02}:{:02}:{:02}Z",
                i / 3600,
                i / 60 % 60,
                i % 60
            );
            observe(&mut store, &parsers, &format!("user-{i}"), &t, false);
        }
        assert!(store.bytes() <= 1 << 20, "{} bytes", store.bytes());
        assert!(store.approx_bytes() <= (1 << 20) + (1 << 18));
        assert!(
            store.len() > 100 && store.len() < 20_000,
            "{} identities {:?}",
            store.len(),
            store.evictions
        );
        assert!(store.labels.approx_bytes() <= (1 << 20) / 8);
    }

    #[test]
    fn hours_of_week() {
        // 2024-03-04 was a Monday.
        let mon = crate::time::parse_rfc3339_ms("2024-03-04T00:30:00Z").unwrap();
        assert_eq!(hour_of_week(mon), 0);
        let sun = crate::time::parse_rfc3339_ms("2024-03-10T23:59:00Z").unwrap();
        assert_eq!(hour_of_week(sun), 167);
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// The sizes the per-identity budget in BENCHMARKS.md rests on; a field added to one of
    /// these moves a million identities' memory, so it should be a decision.
    #[test]
    fn profile_parts_keep_their_sizes() {
        assert_eq!(std::mem::size_of::<Profile>(), 72);
        assert_eq!(std::mem::size_of::<Detail>(), 264);
        assert_eq!(std::mem::size_of::<SessionState>(), 104);
        assert_eq!(std::mem::size_of::<RateState>(), 72);
    }
}
