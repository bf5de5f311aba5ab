//! The detection engine: for each event, run every applicable rule against the identity's profile
//! as it was before the event, then fold the event into the profile; score each finding (rule
//! severity adjusted by risk factors and the identity's habits), correlate weak findings on one
//! identity (`composite` rules), then suppress: allowlist, dedup windows (a repeat updates the
//! first alert instead of raising a new one) and the storm breaker (a wave of one finding across
//! many identities folds into one aggregated alert).

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use super::action_index::ActionIndex;
use super::allowlist::Allowlist;
use super::kinds::{self, new_value, Hit};
use super::lineage::Lineage;
use super::rule::{DedupPart, Detector, Rule, Scope, Severity};
use crate::baseline::priors::{Priors, PriorsConfig};
use crate::baseline::rate::RateSpec;
use crate::baseline::{
    feature_value, BaselineConfig, BaselineStore, Feature, Labels, LearningState, Profile,
    ValueEntry,
};
use crate::event::{AuditEvent, IdentityClass};
use crate::time::{DAY_MS, MINUTE_MS};

/// Observed vs baseline, for one aspect of the event.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    /// What was compared: a feature (`country`, `asn`, ...), an action class (`secret_read`),
    /// `location`, `hour_of_week`, `silence`.
    pub feature: &'static str,
    /// How: `new_value`, `rate`, `travel_speed`, `off_hours`, `dormant`.
    pub observation_type: &'static str,
    /// Identity or session baseline.
    pub scope: Scope,
    /// The value observed on the event.
    pub observed: String,
    /// Baseline values (top 10 by count) with counts and times.
    pub baseline: Vec<ValueEntry>,
    /// Number of live baseline values.
    pub baseline_total: usize,
    /// When the baseline (identity or session) began.
    pub scope_first_seen: i64,
    /// Events in the baseline.
    pub scope_events: u64,
    /// The baseline pattern in words, where a list of values does not say it.
    pub pattern: Option<String>,
}

/// Create a new alert or update an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// A new finding.
    Create,
    /// A repeat of an earlier finding (same uid, higher count).
    Update,
}

/// A finding that contributed to a composite one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Related {
    /// Rule id.
    pub rule: String,
    /// Event time.
    pub time: i64,
    /// Risk score.
    pub risk_score: u8,
    /// What it observed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed: String,
}

/// A storm of one finding across many identities.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Storm {
    /// Distinct identities in the storm so far.
    pub identities: usize,
    /// Findings folded into the aggregated alert so far.
    pub findings: u64,
    /// Up to 20 identity keys, for triage.
    pub sample: Vec<String>,
    /// When the storm began.
    pub started: i64,
    /// What the folded findings share: the one new value (`asn AS64500 Example`) or the client
    /// of identities with no baseline of their own (`client sqlmap`).
    #[serde(default)]
    pub shared: String,
}

/// What a rule found on one event.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index of the rule in the engine's rule list.
    pub rule: usize,
    /// Final severity.
    pub severity: Severity,
    /// 0–100.
    pub risk_score: u8,
    /// Observed vs baseline.
    pub anomalies: Vec<Anomaly>,
    /// The identity's learning state before the event (if it had a profile).
    pub learning: Option<LearningState>,
    /// Effective identity class.
    pub class: IdentityClass,
    /// Score components, for the explanation.
    pub score_components: Vec<(&'static str, i32)>,
    /// Create or Update.
    pub activity: Activity,
    /// For updates and storms: the uid of the alert being updated.
    pub uid: Option<String>,
    /// Version of the alert with this uid: 1 for the create, 2, 3, ... for updates (with the
    /// uid, the idempotency key sinks deliver by).
    pub sequence: u64,
    /// Occurrences so far (1 for a new finding).
    pub count: u64,
    /// Event time of the first occurrence.
    pub first_seen: i64,
    /// Composite: the findings that added up.
    pub related: Vec<Related>,
    /// Storm breaker: the aggregated wave.
    pub storm: Option<Storm>,
    /// The incident version this finding carries (incidents enabled and the rule joins them).
    pub incident: Option<Box<super::incident::IncidentView>>,
}

impl Finding {
    /// A new finding of rule `rule` on an event at `time`, scored from `components`.
    fn new(
        rule: usize,
        components: Vec<(&'static str, i32)>,
        anomalies: Vec<Anomaly>,
        learning: Option<LearningState>,
        class: IdentityClass,
        time: i64,
    ) -> Self {
        let score: i32 = components.iter().map(|c| c.1).sum();
        Finding {
            rule,
            severity: severity_of(score),
            risk_score: score.clamp(0, 100) as u8,
            anomalies,
            learning,
            class,
            score_components: components,
            activity: Activity::Create,
            uid: None,
            sequence: 1,
            count: 1,
            first_seen: time,
            related: Vec::new(),
            storm: None,
            incident: None,
        }
    }

    /// Turns this finding into an update of the earlier alert `uid`.
    fn make_update(&mut self, uid: &str, sequence: u64, count: u64, first_seen: i64) {
        self.activity = Activity::Update;
        self.uid = Some(uid.to_string());
        self.sequence = sequence;
        self.count = count;
        self.first_seen = first_seen;
    }
}

/// A repeat is reported at counts 2, 4, 8, ... and otherwise at most once per `interval`.
fn update_due(count: u64, last_report: &mut i64, t: i64, interval: i64) -> bool {
    let due = count.is_power_of_two() || t.saturating_sub(*last_report) >= interval;
    if due {
        *last_report = t;
    }
    due
}

/// Counters the engine keeps.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineStats {
    /// Events processed.
    pub events: u64,
    /// Findings suppressed by dedup windows (each counted in an update's count).
    pub suppressed: u64,
    /// Update alerts emitted for repeated findings.
    pub updates: u64,
    /// Findings suppressed by the allowlist.
    pub allowlisted: u64,
    /// Findings folded into storm alerts.
    pub storm_folded: u64,
    /// Storms started.
    pub storms: u64,
    /// Findings folded into an incident without a version of their own.
    pub incident_folded: u64,
    /// Future-dated records the stream refuted (their identity's profile put back).
    pub future: u64,
}

/// Engine settings beyond the baseline.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Baselines.
    pub baseline: BaselineConfig,
    /// Distinct identities raising one rule within `storm_window_ms` that start a storm.
    pub storm_threshold: usize,
    /// Storm window (ms).
    pub storm_window_ms: i64,
    /// A repeated finding emits an update at most this often (ms of event time), besides at
    /// counts 2, 4, 8, ...
    pub update_interval_ms: i64,
    /// Account and peer priors.
    pub priors: PriorsConfig,
    /// Incidents.
    pub incidents: super::incident::IncidentConfig,
    /// How far past the stream's confirmed watermark a record may be and still be learned
    /// (ms; `None`: no check). See [`super::clock`].
    pub future_tolerance_ms: Option<i64>,
    /// Memory budget of identity state.
    pub budget: crate::baseline::Budget,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            baseline: BaselineConfig::default(),
            storm_threshold: 25,
            storm_window_ms: 10 * MINUTE_MS,
            update_interval_ms: crate::time::HOUR_MS,
            priors: PriorsConfig::default(),
            incidents: Default::default(),
            future_tolerance_ms: Some(crate::time::HOUR_MS),
            budget: Default::default(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct DedupState {
    uid: String,
    first: i64,
    last: i64,
    last_report: i64,
    count: u64,
    /// Versions of the alert sent so far (1 after the create).
    seq: u64,
}

/// One rule's storms, by what their findings share ([`storm_key`]).
#[derive(Default, Serialize, Deserialize)]
struct StormState {
    /// Keyed by a hash of attacker-influenced text: a keyed hasher.
    waves: std::collections::HashMap<u64, Wave, std::collections::hash_map::RandomState>,
}

/// Findings of one rule sharing one value: recent ones, and the storm once they are many.
#[derive(Default, Serialize, Deserialize)]
struct Wave {
    recent: VecDeque<(i64, u64)>,
    active: Option<ActiveStorm>,
}

/// How long a dominated correlation entry is kept for late records (ms).
const LATE_SLACK_MS: i64 = 10 * MINUTE_MS;

/// Correlation entries kept per identity at most.
const MAX_RECENT: usize = 1024;

/// Waves kept per rule before idle ones are dropped (attacker-chosen values make waves).
const MAX_WAVES: usize = 4096;

/// Identities a storm remembers (to count them); past it, only findings are counted.
const MAX_STORM_IDENTITIES: usize = 65_536;

/// Score components that say the identity's own baseline or its peers make the finding
/// anomalous: such a finding is never folded into a storm.
const OWN_EVIDENCE: [&str; 7] = [
    "additional_new_features",
    "all_features_new",
    "new_network_for_identity",
    "no_peer_does_this",
    "after_idle",
    "minted_by_another_identity",
    "minted_after_risky_activity",
];

/// What a finding may storm on, or `None` when it must stand alone: High and Critical findings,
/// identities with an open incident, findings their own baseline or peers make anomalous.
/// A genuine storm shares one new value across many identities (a GeoIP update, a provider
/// re-IP: one ASN new to everyone), so a finding whose single anomaly is a new value storms on
/// that value; any other finding storms only on an identity with no baseline of its own, on its
/// client. Decoys (many fresh principals with a pentest client) then never hide the victim's
/// own finding.
fn storm_key(f: &Finding, ev: &AuditEvent<'_>, open_incident: bool) -> Option<(u64, String)> {
    if f.severity >= Severity::High || open_incident {
        return None;
    }
    if f.score_components
        .iter()
        .any(|(c, _)| OWN_EVIDENCE.contains(c))
    {
        return None;
    }
    let shared = match f.anomalies.as_slice() {
        [a] if a.observation_type == "new_value" => format!("{} {}", a.feature, a.observed),
        _ if f.learning.is_some_and(|l| !l.learning) => return None,
        _ => format!("client {}", ev.client()),
    };
    Some((xxhash_rust::xxh3::xxh3_64(shared.as_bytes()), shared))
}

#[derive(Serialize, Deserialize)]
struct ActiveStorm {
    uid: String,
    started: i64,
    last: i64,
    folded: u64,
    identities: FxHashSet<u64>,
    sample: Vec<String>,
    last_report: i64,
    /// Versions of the aggregated alert sent so far.
    seq: u64,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
struct Recent {
    time: i64,
    rule: u16,
    score: u8,
}

/// The engine.
pub struct Engine {
    rules: Arc<Vec<Rule>>,
    store: BaselineStore,
    config: EngineConfig,
    dedup: FxHashMap<u64, DedupState>,
    storms: Vec<StormState>,
    recent: FxHashMap<u64, Vec<Recent>>,
    composite_rules: Vec<usize>,
    /// Rules gated by their action, indexed by action.
    action_index: ActionIndex,
    allowlist: Option<Allowlist>,
    priors: Priors,
    lineage: Lineage,
    incidents: super::incident::Incidents,
    /// Some loaded rule reads priors (cold_start, peer lowering): only then are they kept.
    needs_priors: bool,
    /// Some loaded rule judges minted credentials: only then is lineage kept.
    needs_lineage: bool,
    longest_window: i64,
    next_prune: u64,
    /// The stream's confirmed watermark (event-time sanity).
    clock: super::clock::Clocks,
    /// Refuted suspects not yet taken by the caller.
    refuted: Vec<(u64, i64)>,
    /// Counters.
    pub stats: EngineStats,
}

/// What one event's rule pass needs besides the identity's profile.
struct RuleRun<'a> {
    rules: &'a [Rule],
    index: &'a ActionIndex,
    opened: Option<&'a [u64]>,
    cfg: &'a BaselineConfig,
    cross: &'a Cross<'a>,
}

impl RuleRun<'_> {
    /// Runs every applicable single-event rule (composites run after), appending findings.
    /// `dedup`: the suppression windows and their counter, to skip building a finding that
    /// would only be counted (`None`: evaluate everything, nothing is counted).
    fn run(
        &self,
        ev: &AuditEvent<'_>,
        profile: Option<&Profile>,
        labels: &Labels,
        specs: &[RateSpec],
        mut dedup: Option<(&mut FxHashMap<u64, DedupState>, &mut u64)>,
        out: &mut Vec<Finding>,
    ) {
        let class = match profile {
            Some(p) if p.class() == IdentityClass::Human => IdentityClass::Human,
            _ => ev.identity.class(),
        };
        for (i, rule) in self.rules.iter().enumerate() {
            if self.index.skips(i, self.opened)
                || matches!(rule.detector, Detector::Composite(_))
                || !applies(rule, ev, class)
            {
                continue;
            }
            // A rule without Update alerts whose dedup key does not depend on the finding: a
            // repeat inside its window would only be counted, so the finding is not even built
            // (an orphan identity's every call).
            if let Some((windows, suppressed)) = dedup.as_mut() {
                if matches!(rule.detector, Detector::Match)
                    && !rule.learning.gate
                    && !rule.dedup_updates
                    && !rule.dedup_key.contains(&DedupPart::Value)
                {
                    let key = dedup_key(rule, ev, None);
                    if let Some(st) = windows.get_mut(&key) {
                        let t = ev.time_ms;
                        let anchor = if rule.dedup_fixed { st.first } else { st.last };
                        if t.abs_diff(anchor) < rule.dedup_window_ms.unsigned_abs() {
                            st.count += 1;
                            st.last = st.last.max(t);
                            **suppressed += 1;
                            continue;
                        }
                    }
                }
            }
            let ctx = Ctx {
                profile,
                labels,
                cfg: self.cfg,
                specs,
                class,
                cross: self.cross,
            };
            if let Some(f) = evaluate(i, rule, ev, &ctx) {
                out.push(f);
            }
        }
    }
}

/// Composite windows of one identity: (rule id, event time, risk score).
type RecentByRule<R> = Vec<(u64, Vec<(R, i64, u8)>)>;

/// The engine's state as a snapshot keeps it, borrowed (written without copying the baselines).
/// Rule-indexed parts are keyed by rule id so a snapshot survives a changed rule set.
#[derive(Serialize)]
pub struct EngineStateRef<'a> {
    store: crate::baseline::StoreStateRef<'a>,
    dedup: &'a FxHashMap<u64, DedupState>,
    recent: RecentByRule<&'a str>,
    storms: Vec<(&'a str, &'a StormState)>,
    priors: &'a Priors,
    lineage: &'a Lineage,
    incidents: &'a super::incident::Incidents,
}

/// The engine's state read back from a snapshot (the owned twin of [`EngineStateRef`], serializing to the same bytes).
#[derive(Serialize, Deserialize)]
pub struct EngineState {
    store: crate::baseline::StoreState,
    dedup: FxHashMap<u64, DedupState>,
    recent: RecentByRule<String>,
    storms: Vec<(String, StormState)>,
    priors: Priors,
    lineage: Lineage,
    incidents: super::incident::Incidents,
}

impl EngineState {
    /// Identities in the state.
    pub fn identities(&self) -> usize {
        self.store.identities()
    }

    /// The profile of one identity, with the label table to show its values.
    pub fn profile(&self, key: &str) -> Option<(&Profile, &crate::baseline::Labels)> {
        self.store.profile(key)
    }

    /// Identity keys in the state.
    pub fn identity_keys(&self) -> impl Iterator<Item = &str> {
        self.store.keys()
    }

    /// Forgets one identity (it relearns from scratch); true if it was known.
    pub fn forget(&mut self, key: &str) -> bool {
        self.store.forget(key)
    }
}

/// What restoring a state kept and dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RestoreReport {
    /// Identities restored.
    pub identities: usize,
    /// Open dedup windows restored.
    pub dedup_windows: usize,
    /// Rate statistics dropped because no loaded rule counts them any more.
    pub rates_dropped: usize,
    /// Composite / storm entries dropped because their rule is no longer loaded.
    pub rule_state_dropped: usize,
}

fn base_score(s: Severity) -> i32 {
    match s {
        Severity::Informational => 10,
        Severity::Low => 30,
        Severity::Medium => 50,
        Severity::High => 70,
        Severity::Critical => 90,
    }
}

/// Severity of a risk score: the rule's severity is its base score, risk factors move it.
pub fn severity_of(score: i32) -> Severity {
    match score {
        i32::MIN..=24 => Severity::Informational,
        25..=44 => Severity::Low,
        45..=64 => Severity::Medium,
        65..=84 => Severity::High,
        _ => Severity::Critical,
    }
}

impl Engine {
    /// An engine over a rule set with default engine settings.
    pub fn new(rules: Arc<Vec<Rule>>, config: BaselineConfig) -> Self {
        Self::with_config(
            rules,
            EngineConfig {
                baseline: config,
                ..EngineConfig::default()
            },
        )
    }

    /// An engine over a rule set.
    pub fn with_config(rules: Arc<Vec<Rule>>, config: EngineConfig) -> Self {
        // Rates the burst rules need, shared between rules asking for the same one.
        let mut specs: Vec<RateSpec> = Vec::new();
        let mut rules_v: Vec<Rule> = (*rules).clone();
        for r in &mut rules_v {
            if let Detector::Burst(p) = &mut r.detector {
                p.spec = match specs.iter().position(|s| *s == p.rate) {
                    Some(i) => i,
                    None => {
                        specs.push(p.rate);
                        specs.len() - 1
                    }
                };
            }
        }
        let mut store = BaselineStore::with_budget(config.baseline, config.budget);
        store.rate_specs = specs;
        let composite_rules = rules_v
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.detector, Detector::Composite(_)))
            .map(|(i, _)| i)
            .collect();
        let longest_window = rules_v
            .iter()
            .map(|r| match &r.detector {
                Detector::Composite(c) => c.window_ms.max(r.dedup_window_ms),
                _ => r.dedup_window_ms,
            })
            .max()
            .unwrap_or(0)
            .max(config.update_interval_ms);
        let n = rules_v.len();
        let cross = config.priors.enabled;
        let needs_priors = cross
            && rules_v
                .iter()
                .any(|r| r.routine_lowers || matches!(r.detector, Detector::ColdStart(_)));
        let needs_lineage = cross
            && rules_v
                .iter()
                .any(|r| matches!(r.detector, Detector::MintedCredential));
        Engine {
            action_index: ActionIndex::new(&rules_v),
            rules: Arc::new(rules_v),
            store,
            config,
            dedup: FxHashMap::default(),
            storms: (0..n).map(|_| StormState::default()).collect(),
            recent: FxHashMap::default(),
            composite_rules,
            allowlist: None,
            priors: Priors::default(),
            lineage: Lineage::default(),
            incidents: Default::default(),
            needs_priors,
            needs_lineage,
            longest_window,
            next_prune: 0,
            clock: super::clock::Clocks::new(config.future_tolerance_ms),
            refuted: Vec::new(),
            stats: EngineStats::default(),
        }
    }

    /// Borrows the engine's state for a snapshot.
    pub fn state_ref(&self) -> EngineStateRef<'_> {
        let id = |i: usize| self.rules[i].id.as_str();
        EngineStateRef {
            store: self.store.state_ref(),
            dedup: &self.dedup,
            recent: self
                .recent
                .iter()
                .map(|(k, v)| {
                    (
                        *k,
                        v.iter()
                            .map(|r| (id(r.rule as usize), r.time, r.score))
                            .collect(),
                    )
                })
                .collect(),
            storms: self
                .storms
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.waves.is_empty())
                .map(|(i, s)| (id(i), s))
                .collect(),
            priors: &self.priors,
            lineage: &self.lineage,
            incidents: &self.incidents,
        }
    }

    /// Takes the engine's state out (for a rule reload), leaving it empty.
    pub fn take_state(&mut self) -> EngineState {
        let id = |i: usize| self.rules[i].id.clone();
        let recent = std::mem::take(&mut self.recent)
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.into_iter()
                        .map(|r| (id(r.rule as usize), r.time, r.score))
                        .collect(),
                )
            })
            .collect();
        let storms = std::mem::take(&mut self.storms)
            .into_iter()
            .enumerate()
            .map(|(i, s)| (id(i), s))
            .collect();
        self.storms = (0..self.rules.len())
            .map(|_| StormState::default())
            .collect();
        EngineState {
            store: self.store.take_state(),
            dedup: std::mem::take(&mut self.dedup),
            recent,
            storms,
            priors: std::mem::take(&mut self.priors),
            lineage: std::mem::take(&mut self.lineage),
            incidents: std::mem::take(&mut self.incidents),
        }
    }

    /// Replaces the engine's state with `state` (from a snapshot or a reload), mapping rule ids
    /// and rate statistics onto the loaded rules; state of rules no longer loaded is dropped.
    pub fn restore_state(&mut self, state: EngineState) -> RestoreReport {
        let index: FxHashMap<&str, usize> = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let mut report = RestoreReport {
            dedup_windows: state.dedup.len(),
            ..RestoreReport::default()
        };
        report.rates_dropped = self.store.restore_state(state.store);
        report.identities = self.store.len();
        // Event-time lanes start afresh (they are not snapshotted).
        self.dedup = state.dedup;
        self.priors = state.priors;
        self.lineage = state.lineage;
        self.incidents = state.incidents;
        report.rule_state_dropped += self.incidents.retain_rules(&self.rules);
        self.recent = FxHashMap::default();
        for (k, v) in state.recent {
            let list: Vec<Recent> = v
                .into_iter()
                .filter_map(|(rule, time, score)| match index.get(rule.as_str()) {
                    Some(&i) => Some(Recent {
                        time,
                        rule: i as u16,
                        score,
                    }),
                    None => {
                        report.rule_state_dropped += 1;
                        None
                    }
                })
                .collect();
            if !list.is_empty() {
                self.recent.insert(k, list);
            }
        }
        for (rule, s) in state.storms {
            match index.get(rule.as_str()) {
                Some(&i) => self.storms[i] = s,
                None => report.rule_state_dropped += 1,
            }
        }
        report
    }

    /// Removes and returns the allowlist.
    pub fn take_allowlist(&mut self) -> Option<Allowlist> {
        self.allowlist.take()
    }

    /// Installs an allowlist.
    pub fn set_allowlist(&mut self, a: Allowlist) {
        self.allowlist = Some(a);
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Cross-identity state: (accounts, peer groups, minted credentials, approximate bytes of
    /// priors and lineage together).
    pub fn cross_state_size(&self) -> (usize, usize, usize, usize) {
        (
            self.priors.accounts(),
            self.priors.groups(),
            self.lineage.len(),
            self.priors.approx_bytes() + self.lineage.approx_bytes(),
        )
    }

    /// Drops value labels no profile refers to (before a snapshot).
    pub fn compact_labels(&mut self) {
        self.store.compact_labels();
    }

    /// The baseline store.
    pub fn store(&self) -> &BaselineStore {
        &self.store
    }

    /// The baseline store, mutable (forgetting identities, approvals).
    pub fn store_mut(&mut self) -> &mut BaselineStore {
        &mut self.store
    }

    /// Runs the rules on one event, appends findings to `out`, then updates the baseline.
    /// Returns `Some(watermark)` when the record is dated past the stream's confirmed
    /// watermark and made its identity a suspect (event-time sanity, [`super::clock`]): the
    /// caller keeps the record until [`Engine::take_refuted`] says the stream refuted it.
    pub fn process(&mut self, ev: &AuditEvent<'_>, out: &mut Vec<Finding>) -> Option<i64> {
        self.stats.events += 1;
        let idh = xxhash_rust::xxh3::xxh3_64(ev.identity.key.as_bytes());
        let suspect = self.clock.judge(idh, ev.time_ms);
        self.put_back_refuted();
        if suspect.is_some() {
            let before = self.store.get(&ev.identity.key).cloned().map(Box::new);
            self.clock.keep_before(idh, &ev.identity.key, before);
        }
        if let Some(a) = &mut self.allowlist {
            if a.has_pending_approvals() {
                a.apply_approvals(&ev.identity.key, ev.time_ms, &mut self.store);
            }
        }
        let first = out.len();
        let cfg = self.store.config;
        let cross = Cross {
            priors: &self.priors,
            lineage: &self.lineage,
            config: &self.config.priors,
        };
        let run = RuleRun {
            rules: &self.rules,
            index: &self.action_index,
            opened: self.action_index.opened(ev),
            cfg: &cfg,
            cross: &cross,
        };
        let dedup = &mut self.dedup;
        let suppressed = &mut self.stats.suppressed;
        self.store
            .inspect_then_observe(ev, |profile, labels, specs| {
                run.run(ev, profile, labels, specs, Some((dedup, suppressed)), out)
            });
        if out.len() > first && !self.composite_rules.is_empty() {
            self.correlate(ev, first, out);
        }
        if out.len() > first {
            self.suppress(ev, first, out);
        }
        if out.len() > first && self.config.incidents.enabled {
            let minter = self.lineage.minter_of(ev);
            self.incidents.fold(
                ev,
                minter,
                &self.rules,
                &self.config.incidents,
                self.config.update_interval_ms,
                out,
                first,
            );
            self.stats.incident_folded = self.incidents.folded;
        }
        self.observe_cross(ev, &out[first..]);
        if self.store.over_budget() {
            let incidents = &self.incidents;
            self.store
                .evict(&|k, p| p.inventoried || incidents.is_open(k));
        }
        if self.stats.events >= self.next_prune {
            self.prune(ev.time_ms);
            self.next_prune = self.stats.events + 100_000;
        }
        suspect
    }

    /// The input lane of the next records (event-time sanity is judged per lane: a Kafka
    /// partition, a file; see [`super::clock::Clocks`]).
    pub fn set_lane(&mut self, lane: u64) {
        self.clock.set_lane(lane);
    }

    /// Puts back the profiles of identities whose future-dated record the stream refuted, and
    /// keeps them for [`Engine::take_refuted`].
    fn put_back_refuted(&mut self) {
        for r in self.clock.take_refuted() {
            self.store.put_back(&r.key, r.before);
            self.incidents.forget(&r.key);
            self.stats.future += 1;
            self.refuted.push((r.id, r.watermark));
        }
    }

    /// Identities (key hashes) whose future-dated record the stream refuted since the last
    /// call, with the watermark when it came: their profiles are back as before it; the caller
    /// dead-letters the record as `future_time`.
    pub fn take_refuted(&mut self) -> Vec<(u64, i64)> {
        std::mem::take(&mut self.refuted)
    }

    /// Cross-identity state, after the rules ran on the event: account and peer priors, and
    /// the credentials the event minted or used.
    fn observe_cross(&mut self, ev: &AuditEvent<'_>, findings: &[Finding]) {
        if self.needs_priors {
            let new_features = self.store.new_features;
            self.priors.observe(ev, new_features, &self.config.priors);
        }
        if !self.needs_lineage {
            return;
        }
        let medium = findings.iter().any(|f| f.severity >= Severity::Medium);
        self.lineage.observe(ev, medium);
    }

    /// Composite rules: remember this event's findings on the identity, and fire when enough
    /// distinct rules add up within the window.
    fn correlate(&mut self, ev: &AuditEvent<'_>, first: usize, out: &mut Vec<Finding>) {
        let idh = xxhash_rust::xxh3::xxh3_64(ev.identity.key.as_bytes());
        let list = self.recent.entry(idh).or_default();
        let horizon = self.longest_window;
        for f in &out[first..] {
            if !self.rules[f.rule].correlate {
                continue;
            }
            // Only the best score per rule in a window counts: an earlier entry of the same rule
            // scoring no more is dominated, and entries past every window are dead. Without
            // this, an identity with a finding on every call (an attacker's flood of refused
            // calls) grew its list by a day of calls and made each call scan it.
            let (t, rule, score) = (ev.time_ms, f.rule as u16, f.risk_score);
            // A dominated entry stays while a late record may still need it (records arrive
            // minutes out of order), and the list is capped whatever the rate.
            list.retain(|r| {
                !(r.rule == rule && r.score <= score && r.time <= t - LATE_SLACK_MS)
                    && t.saturating_sub(r.time) <= horizon
            });
            if list.len() >= MAX_RECENT {
                let oldest = (0..list.len()).min_by_key(|&i| list[i].time).unwrap_or(0);
                list.swap_remove(oldest);
            }
            list.push(Recent {
                time: ev.time_ms,
                rule: f.rule as u16,
                score: f.risk_score,
            });
        }
        let class = out[first].class;
        for &ci in &self.composite_rules {
            let rule = &self.rules[ci];
            let Detector::Composite(p) = &rule.detector else {
                continue;
            };
            if !applies(rule, ev, class) {
                continue;
            }
            // Best score per member rule within the window.
            let mut best: Vec<(u16, u8, i64)> = Vec::new();
            for r in list.iter() {
                if ev.time_ms.saturating_sub(r.time) > p.window_ms || r.time > ev.time_ms {
                    continue;
                }
                let member = &self.rules[r.rule as usize];
                if !p.members.is_empty() && !p.members.contains(&member.id) {
                    continue;
                }
                match best.iter_mut().find(|b| b.0 == r.rule) {
                    Some(b) => {
                        if r.score > b.1 {
                            *b = (r.rule, r.score, r.time);
                        }
                    }
                    None => best.push((r.rule, r.score, r.time)),
                }
            }
            let total: i32 = best.iter().map(|b| b.1 as i32).sum();
            let signals = best
                .iter()
                .filter(|b| self.rules[b.0 as usize].signals_caller())
                .count();
            if best.len() < p.min_rules || total < p.min_score || signals < p.min_caller_signals {
                continue;
            }
            best.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let related: Vec<Related> = best
                .iter()
                .map(|b| {
                    let observed = out[first..]
                        .iter()
                        .find(|f| f.rule == b.0 as usize)
                        .and_then(|f| f.anomalies.first())
                        .map(|a| format!("{} {}", a.feature, a.observed))
                        .unwrap_or_default();
                    Related {
                        rule: self.rules[b.0 as usize].id.clone(),
                        time: b.2,
                        risk_score: b.1,
                        observed,
                    }
                })
                .collect();
            let mut components = vec![("rule_severity", base_score(rule.severity))];
            components.push((
                "correlated_rules",
                5 * (best.len() as i32 - p.min_rules as i32),
            ));
            let anomalies: Vec<Anomaly> = out[first..]
                .iter()
                .flat_map(|f| f.anomalies.iter().cloned())
                .collect();
            let mut f = Finding::new(
                ci,
                components,
                anomalies,
                out[first].learning,
                class,
                ev.time_ms,
            );
            f.related = related;
            out.push(f);
        }
    }

    /// Allowlist, dedup (updates), storm breaker.
    fn suppress(&mut self, ev: &AuditEvent<'_>, first: usize, out: &mut Vec<Finding>) {
        let mut k = first;
        while k < out.len() {
            let rule = &self.rules[out[k].rule];
            if let Some(a) = &self.allowlist {
                if a.allows(rule, ev, &out[k]) {
                    out.remove(k);
                    self.stats.allowlisted += 1;
                    continue;
                }
            }
            let key = dedup_key(rule, ev, Some(&out[k]));
            let t = ev.time_ms;
            let window = rule.dedup_window_ms;
            let fixed = rule.dedup_fixed;
            let updates = rule.dedup_updates;
            match self.dedup.get_mut(&key) {
                Some(st)
                    if t.abs_diff(if fixed { st.first } else { st.last })
                        < window.unsigned_abs() =>
                {
                    st.count += 1;
                    st.last = st.last.max(t);
                    self.stats.suppressed += 1;
                    if updates
                        && update_due(
                            st.count,
                            &mut st.last_report,
                            t,
                            self.config.update_interval_ms,
                        )
                    {
                        st.seq += 1;
                        out[k].make_update(&st.uid, st.seq, st.count, st.first);
                        self.stats.updates += 1;
                        k += 1;
                    } else {
                        out.remove(k);
                    }
                    continue;
                }
                _ => {}
            }
            let uid = crate::alert::finding_uid(&rule.id, ev);
            // Storm breaker: a wave of one rule and one shared value across many identities.
            let open = self.incidents.is_open(&ev.identity.key);
            let storm_on = (self.config.storm_threshold > 0 && rule.storm_breaker)
                .then(|| storm_key(&out[k], ev, open))
                .flatten();
            if let Some((sk, shared)) = storm_on {
                let cfg = (self.config.storm_threshold, self.config.storm_window_ms);
                let st = &mut self.storms[out[k].rule];
                match fold_into_storm(
                    st,
                    sk,
                    shared,
                    &rule.id,
                    ev,
                    &mut out[k],
                    cfg,
                    self.config.update_interval_ms,
                ) {
                    StormFold::Folded => {
                        self.stats.storm_folded += 1;
                        out.remove(k);
                        continue;
                    }
                    StormFold::Update => {
                        self.stats.storm_folded += 1;
                        k += 1;
                        continue;
                    }
                    StormFold::Started => self.stats.storms += 1,
                    StormFold::Alone => {}
                }
            }
            self.dedup.insert(
                key,
                DedupState {
                    uid,
                    first: t,
                    last: t,
                    last_report: t,
                    count: 1,
                    seq: 1,
                },
            );
            k += 1;
        }
    }

    /// Bounded suppression state: drop dedup keys and correlation memory older than the
    /// longest window.
    fn prune(&mut self, now: i64) {
        let horizon = now.saturating_sub(self.longest_window.max(DAY_MS));
        if self.dedup.len() > 100_000 {
            self.dedup.retain(|_, s| s.last >= horizon);
        }
        self.recent.retain(|_, v| {
            v.retain(|r| r.time >= horizon);
            !v.is_empty()
        });
        self.priors.prune(now);
        self.lineage.prune(now);
        self.incidents.prune(now, &self.config.incidents);
    }
}

/// What the storm breaker did with a finding.
enum StormFold {
    /// Folded into a running storm, nothing to send.
    Folded,
    /// Folded, and the finding is now the storm's update.
    Update,
    /// It started a storm: the finding is the aggregated alert.
    Started,
    /// Not part of a storm.
    Alone,
}

/// Runs the storm breaker of one rule for a finding sharing `shared` (keyed `sk`).
#[allow(clippy::too_many_arguments)]
fn fold_into_storm(
    st: &mut StormState,
    sk: u64,
    shared: String,
    rule_id: &str,
    ev: &AuditEvent<'_>,
    f: &mut Finding,
    (threshold, window): (usize, i64),
    update_interval_ms: i64,
) -> StormFold {
    let t = ev.time_ms;
    let idh = xxhash_rust::xxh3::xxh3_64(ev.identity.key.as_bytes());
    if st.waves.len() >= MAX_WAVES && !st.waves.contains_key(&sk) {
        st.waves.retain(|_, w| {
            let last = w.active.as_ref().map_or(i64::MIN, |a| a.last);
            let recent = w.recent.back().map_or(i64::MIN, |r| r.0);
            t.saturating_sub(last.max(recent)) <= window
        });
        if st.waves.len() >= MAX_WAVES {
            return StormFold::Alone;
        }
    }
    let w = st.waves.entry(sk).or_default();
    if w.active
        .as_ref()
        .is_some_and(|a| t.saturating_sub(a.last) > window)
    {
        w.active = None;
    }
    if let Some(a) = &mut w.active {
        a.folded += 1;
        a.last = a.last.max(t);
        if a.identities.len() < MAX_STORM_IDENTITIES
            && a.identities.insert(idh)
            && a.sample.len() < 20
        {
            a.sample.push(ev.identity.key.to_string());
        }
        if !update_due(a.folded, &mut a.last_report, t, update_interval_ms) {
            return StormFold::Folded;
        }
        a.seq += 1;
        f.make_update(&a.uid, a.seq, a.folded, a.started);
        f.storm = Some(Storm {
            identities: a.identities.len(),
            findings: a.folded,
            sample: a.sample.clone(),
            started: a.started,
            shared,
        });
        return StormFold::Update;
    }
    w.recent.push_back((t, idh));
    while w
        .recent
        .front()
        .is_some_and(|(x, _)| t.saturating_sub(*x) > window)
    {
        w.recent.pop_front();
    }
    let distinct: FxHashSet<u64> = w.recent.iter().map(|r| r.1).collect();
    if distinct.len() < threshold {
        return StormFold::Alone;
    }
    // Start a storm: this finding becomes the aggregated alert.
    let storm_uid = crate::alert::storm_uid(rule_id, &shared, t);
    let sample = vec![ev.identity.key.to_string()];
    w.active = Some(ActiveStorm {
        uid: storm_uid.clone(),
        started: t,
        last: t,
        folded: 1,
        identities: distinct.clone(),
        sample: sample.clone(),
        last_report: t,
        seq: 1,
    });
    w.recent.clear();
    f.uid = Some(storm_uid);
    f.storm = Some(Storm {
        identities: distinct.len(),
        findings: 1,
        sample,
        started: t,
        shared,
    });
    StormFold::Started
}

/// Does the rule apply to this event at all?
pub fn applies(rule: &Rule, ev: &AuditEvent<'_>, class: IdentityClass) -> bool {
    if !rule.sources.is_empty() && !rule.sources.contains(&ev.source) {
        return false;
    }
    if !rule.classes.contains(&class) {
        return false;
    }
    let kind_ok = if rule.kinds.is_empty() {
        !ev.identity.kind.is_platform() || rule.include_platform
    } else {
        rule.kinds.contains(&ev.identity.kind)
    };
    kind_ok && rule.conditions.iter().all(|c| c.matches(ev))
}

/// An action is routine for an identity when seen at least this often...
const ROUTINE_MIN_COUNT: u32 = 5;
/// ...over at least this long.
const ROUTINE_MIN_AGE_MS: i64 = 3 * DAY_MS;
/// An action done before (the profile is the one before this call) counts as a repeated
/// chore when seen this often...
const REPEAT_MIN_COUNT: u32 = 1;
/// ...its first time at least this long ago.
const REPEAT_MIN_AGE_MS: i64 = 20 * crate::time::HOUR_MS;

/// Cross-identity state the detectors read (never write) while judging one event.
pub struct Cross<'a> {
    /// Account and peer priors.
    pub priors: &'a Priors,
    /// Minted credentials.
    pub lineage: &'a Lineage,
    /// Priors settings.
    pub config: &'a PriorsConfig,
}

/// What one rule evaluation sees besides the rule and the event.
struct Ctx<'a, 'b> {
    profile: Option<&'a Profile>,
    labels: &'a crate::baseline::Labels,
    cfg: &'a BaselineConfig,
    specs: &'a [RateSpec],
    class: IdentityClass,
    cross: &'a Cross<'b>,
}

fn evaluate(idx: usize, rule: &Rule, ev: &AuditEvent<'_>, ctx: &Ctx<'_, '_>) -> Option<Finding> {
    let (profile, cfg) = (ctx.profile, ctx.cfg);
    let learning = profile.map(|p| {
        p.learning_state(
            rule.learning.period_ms.unwrap_or(cfg.learning_period_ms),
            rule.learning
                .min_observations
                .unwrap_or(cfg.learning_min_observations),
        )
    });
    let still_learning = learning.is_none_or(|l| l.learning);
    if rule.learning.gate && still_learning {
        return None;
    }
    // Detect first; build the explanation only for events that fire.
    let mut components = vec![("rule_severity", base_score(rule.severity))];
    let anomalies = match &rule.detector {
        Detector::Match | Detector::Composite(_) => Vec::new(),
        Detector::NewValue(p) => {
            let hit = new_value::evaluate(p, ev, profile, ctx.labels, cfg)?;
            let n = hit.anomalies.len() as i32;
            if n > 1 {
                components.push(("additional_new_features", 10 * (n - 1)));
            }
            if p.escalate_when_all_new && hit.compared > 1 && hit.anomalies.len() == hit.compared {
                components.push(("all_features_new", 20));
            }
            let mut anomalies = hit.anomalies;
            cite_abused_actions(ev, &mut anomalies, &mut components);
            anomalies
        }
        Detector::Burst(p) => take(
            kinds::burst::evaluate(p, &ctx.specs[p.spec], ev, profile, cfg)?,
            &mut components,
        ),
        Detector::ImpossibleTravel(p) => take(
            kinds::travel::evaluate(p, ev, profile, cfg)?,
            &mut components,
        ),
        Detector::OffHours(p) => take(kinds::off_hours::evaluate(p, ev, profile)?, &mut components),
        Detector::Dormant(p) => take(kinds::dormant::evaluate(p, ev, profile)?, &mut components),
        Detector::ColdStart(p) => take(
            // An identity evicted under memory pressure and back is learning anew, but it is
            // not new: the cold-start judgement is for first sightings.
            kinds::cold_start::evaluate(
                p,
                ev,
                still_learning && profile.is_none_or(|p| p.history.is_none()),
                ctx.cross,
            )?,
            &mut components,
        ),
        Detector::MintedCredential => take(
            kinds::minted::evaluate(ev, ctx.cross.lineage, profile, cfg)?,
            &mut components,
        ),
    };
    risk_factors(rule, ev, ctx, still_learning, &mut components);
    let mut anomalies = anomalies;
    if let Some(a) = policy_anomaly(ev, ctx) {
        anomalies.push(a);
    }
    if let Some(a) = logging_anomaly(ev, ctx) {
        anomalies.push(a);
    }
    Some(Finding::new(
        idx, components, anomalies, learning, ctx.class, ev.time_ms,
    ))
}

fn take(hit: Hit, components: &mut Vec<(&'static str, i32)>) -> Vec<Anomaly> {
    components.extend(hit.components.into_iter().filter(|c| c.1 != 0));
    hit.anomalies
}

/// Risk factors common to all kinds: where the call came from, with what, and whether it is a
/// habit of the identity.
fn risk_factors(
    rule: &Rule,
    ev: &AuditEvent<'_>,
    ctx: &Ctx<'_, '_>,
    still_learning: bool,
    components: &mut Vec<(&'static str, i32)>,
) {
    let (profile, cfg) = (ctx.profile, ctx.cfg);
    let now = profile.map_or(ev.time_ms, |p| p.last_seen.max(ev.time_ms));
    let known = |f: Feature| -> Option<bool> {
        let v = feature_value(ev, f)?;
        Some(profile.is_some_and(|p| {
            p.values(f)
                .get_live(v.key, now, cfg.forget_after_ms)
                .is_some()
        }))
    };
    let new_asn = known(Feature::Asn) == Some(false);
    if new_asn
        && ev
            .geo
            .as_ref()
            .and_then(|g| g.net_class)
            .is_some_and(|c| c.is_risky())
    {
        components.push(("hosting_or_anonymizer_network", 15));
    }
    if crate::event::useragent::is_offensive_family(ev.client()) {
        components.push(("offensive_client", 20));
    }
    let is_new_value_rule = matches!(rule.detector, Detector::NewValue(_));
    if !is_new_value_rule && !still_learning && new_asn {
        components.push(("new_network_for_identity", 10));
    }
    if rule.routine_lowers {
        if let (Some(p), Some(v)) = (profile, feature_value(ev, Feature::Action)) {
            if p.is_routine(
                v.key,
                now,
                ROUTINE_MIN_COUNT,
                ROUTINE_MIN_AGE_MS,
                cfg.forget_after_ms,
            ) && !new_asn
            {
                components.push(("routine_action_for_identity", -30));
            } else if !new_asn {
                // Not yet a habit, but a chore it did before, on a day before.
                if p.is_routine(
                    v.key,
                    now,
                    REPEAT_MIN_COUNT,
                    REPEAT_MIN_AGE_MS,
                    cfg.forget_after_ms,
                ) {
                    components.push(("repeated_action_for_identity", -20));
                }
                if manages_resource(ev, p, now, cfg) {
                    components.push(("resource_managed_by_identity", -15));
                }
            }
        }
        // A change made through an infrastructure-as-code tool the identity already uses, from
        // a network it already uses: a planned change going through its pipeline, not hands on
        // a keyboard. Never enough alone to take a High below Medium.
        if !new_asn && is_iac_client(ev.client()) && known(Feature::Client) == Some(true) {
            components.push(("infrastructure_as_code_client", -20));
        }
        // A call its peers already make, from a network the identity knows: a deployer's first
        // day, or an infrequent chore of its kind (peer groups, priors.rs).
        if !new_asn && ctx.cross.priors.peers(ev, ctx.cross.config).others_do {
            components.push(("peers_do_this", -30));
        }
    }
    // A new country inside the provider network the identity already uses: region expansion,
    // CI runners placed elsewhere by their cloud. Lowered, not silenced.
    if let Detector::NewValue(p) = &rule.detector {
        let cloud = ev
            .geo
            .as_ref()
            .and_then(|g| g.net_class)
            .is_some_and(|c| c == crate::netclass::NetClass::Cloud);
        if p.features.contains(&Feature::Country) && cloud && known(Feature::Asn) == Some(true) {
            components.push(("same_cloud_network", -25));
        }
    }
}

/// Client families of infrastructure-as-code tools.
fn is_iac_client(family: &str) -> bool {
    matches!(
        family,
        "terraform" | "cloudformation" | "pulumi" | "aws-cdk" | "crossplane" | "aws-sam-cli"
    )
}

/// A new action that TrailDiscover lists as used in real attacks: cited, and +10.
fn cite_abused_actions(
    ev: &AuditEvent<'_>,
    anomalies: &mut [Anomaly],
    components: &mut Vec<(&'static str, i32)>,
) {
    if ev.source != crate::event::SourceKind::Cloudtrail {
        return;
    }
    for a in anomalies.iter_mut().filter(|a| a.feature == "action") {
        if let Some(c) = crate::event::abused::citation(&a.observed) {
            components.push(("abused_in_real_incidents", 10));
            a.pattern = Some(match a.pattern.take() {
                Some(p) => format!("{p}; {c}"),
                None => c,
            });
        }
    }
}

/// The decoded policy of a policy write that grants admin-like rights, as an anomaly the alert
/// shows (what was granted, to whom).
fn policy_anomaly(ev: &AuditEvent<'_>, ctx: &Ctx<'_, '_>) -> Option<Anomaly> {
    use crate::event::policy::{assess_cloudtrail, Grant};
    let a = assess_cloudtrail(&ev.service, &ev.operation, ev.request.map(|r| r.get()))?;
    if !matches!(a.grant, Grant::Admin | Grant::ServiceWildcard) {
        return None;
    }
    let to = ev
        .target
        .as_deref()
        .unwrap_or("the principal in the request");
    let whom = if ev.target.as_deref() == Some(ev.identity.name.as_ref()) {
        format!("{to} (itself)")
    } else {
        to.to_string()
    };
    let action = ev.action();
    let age = match ctx.profile {
        Some(p) => format!(
            "this identity was first seen {} before",
            crate::time::format_duration_ms(ev.time_ms.saturating_sub(p.first_seen))
        ),
        None => "this is the identity's first call seen".to_string(),
    };
    let in_account = ctx.cross.priors.account(ev).map(|acct| {
        let seen = feature_value(ev, Feature::Action).is_some_and(|v| {
            acct.values(Feature::Action)
                .is_some_and(|set| set.get(v.key).is_some())
        });
        let name = ev.identity.account.as_deref().unwrap_or("?");
        if seen {
            format!("{action} was called in account {name} before")
        } else {
            format!(
                "no identity in account {name} called {action} in the {} events seen",
                acct.events
            )
        }
    });
    let mut pattern = format!(
        "{action} granted {} ({}) to {whom}; {age}",
        a.summary,
        a.grant.as_str()
    );
    for t in in_account
        .into_iter()
        .chain(crate::event::abused::citation(&action))
    {
        pattern.push_str("; ");
        pattern.push_str(&t);
    }
    Some(Anomaly {
        feature: "policy",
        observation_type: "grant",
        scope: Scope::Identity,
        observed: a.summary,
        baseline: Vec::new(),
        baseline_total: 0,
        scope_first_seen: ctx.profile.map_or(ev.time_ms, |p| p.first_seen),
        scope_events: ctx.profile.map_or(0, |p| p.observations),
        pattern: Some(pattern),
    })
}

/// The decoded effect of a change that stops or narrows audit logging, as an anomaly the alert
/// shows (what was turned off, on which trail).
fn logging_anomaly(ev: &AuditEvent<'_>, ctx: &Ctx<'_, '_>) -> Option<Anomaly> {
    use crate::event::logging::{assess_cloudtrail, Change};
    if ev.source != crate::event::SourceKind::Cloudtrail {
        return None;
    }
    let a = assess_cloudtrail(&ev.service, &ev.operation, ev.request.map(|r| r.get()))?;
    if a.change == Change::Kept {
        return None;
    }
    let on = ev
        .target
        .as_deref()
        .map_or_else(String::new, |t| format!(" on {t}"));
    Some(Anomaly {
        feature: "logging",
        observation_type: a.change.as_str(),
        scope: Scope::Identity,
        pattern: Some(format!("{}{on}: {}", ev.action(), a.summary)),
        observed: a.summary,
        baseline: Vec::new(),
        baseline_total: 0,
        scope_first_seen: ctx.profile.map_or(ev.time_ms, |p| p.first_seen),
        scope_events: ctx.profile.map_or(0, |p| p.observations),
    })
}

/// True if the resource the call names was already in the identity's baseline from an earlier
/// call (infrastructure code tearing down or reconfiguring what it created or manages).
fn manages_resource(ev: &AuditEvent<'_>, p: &Profile, now: i64, cfg: &BaselineConfig) -> bool {
    feature_value(ev, Feature::Resource).is_some_and(|v| {
        p.values(Feature::Resource)
            .get_live(v.key, now, cfg.forget_after_ms)
            .is_some_and(|s| s.first_seen() < ev.time_ms)
    })
}

fn dedup_key(rule: &Rule, ev: &AuditEvent<'_>, f: Option<&Finding>) -> u64 {
    use std::hash::Hasher;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.write(rule.id.as_bytes());
    for part in &rule.dedup_key {
        h.write_u8(0);
        match part {
            DedupPart::Identity => h.write(ev.identity.key.as_bytes()),
            DedupPart::Session => h.write(ev.identity.session.as_deref().unwrap_or("").as_bytes()),
            DedupPart::Credential => {
                h.write(ev.identity.credential.as_deref().unwrap_or("").as_bytes())
            }
            DedupPart::Value => {
                for a in f.iter().flat_map(|f| &f.anomalies) {
                    h.write(a.feature.as_bytes());
                    if a.observation_type == "new_value" {
                        h.write(a.observed.as_bytes());
                    }
                }
            }
            DedupPart::SrcIp => {
                if let Some(ip) = ev.src_ip {
                    h.write(ip.to_string().as_bytes());
                }
            }
            DedupPart::Action => {
                h.write(ev.service.as_bytes());
                h.write(ev.operation.as_bytes());
            }
        }
    }
    h.finish()
}
