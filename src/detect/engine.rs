//! The detection engine: for each event, run every applicable rule against the identity's profile
//! as it was before the event, then fold the event into the profile, then suppress duplicates.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::kinds::new_value;
use super::rule::{DedupPart, Detector, Rule, Scope, Severity};
use crate::baseline::{BaselineConfig, BaselineStore, Feature, LearningState, Profile, ValueEntry};
use crate::event::{AuditEvent, IdentityClass};

/// A new value and the baseline it was compared with.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    /// Feature.
    pub feature: Feature,
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
}

/// Counters the engine keeps.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineStats {
    /// Events processed.
    pub events: u64,
    /// Findings suppressed by dedup windows.
    pub suppressed: u64,
}

/// The engine.
pub struct Engine {
    rules: Arc<Vec<Rule>>,
    store: BaselineStore,
    dedup: FxHashMap<u64, i64>,
    next_prune: u64,
    /// Counters.
    pub stats: EngineStats,
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

impl Engine {
    /// An engine over a rule set.
    pub fn new(rules: Arc<Vec<Rule>>, config: BaselineConfig) -> Self {
        Engine {
            rules,
            store: BaselineStore::new(config),
            dedup: FxHashMap::default(),
            next_prune: 0,
            stats: EngineStats::default(),
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The baseline store.
    pub fn store(&self) -> &BaselineStore {
        &self.store
    }

    /// Runs the rules on one event, appends findings to `out`, then updates the baseline.
    pub fn process(&mut self, ev: &AuditEvent<'_>, out: &mut Vec<Finding>) {
        self.stats.events += 1;
        let first = out.len();
        let cfg = self.store.config;
        let rules = &self.rules;
        self.store.inspect_then_observe(ev, |profile| {
            let class = match profile {
                Some(p) if p.class() == IdentityClass::Human => IdentityClass::Human,
                _ => ev.identity.class(),
            };
            for (i, rule) in rules.iter().enumerate() {
                if !applies(rule, ev, class) {
                    continue;
                }
                if let Some(f) = evaluate(i, rule, ev, profile, &cfg, class) {
                    out.push(f);
                }
            }
        });
        // Suppression: drop findings whose dedup key fired within the rule's window.
        let mut k = first;
        while k < out.len() {
            let rule = &self.rules[out[k].rule];
            let key = dedup_key(rule, ev, &out[k]);
            let t = ev.time_ms;
            let dup = match self.dedup.get(&key) {
                Some(&last) => t.abs_diff(last) < rule.dedup_window_ms.unsigned_abs(),
                None => false,
            };
            if dup {
                out.remove(k);
                self.stats.suppressed += 1;
            } else {
                self.dedup.insert(key, t);
                k += 1;
            }
        }
        // Bounded suppression state: past a million keys, drop those older than the longest
        // window, at most once per 100k events.
        if self.dedup.len() > 1_000_000 && self.stats.events >= self.next_prune {
            let longest = self
                .rules
                .iter()
                .map(|r| r.dedup_window_ms)
                .max()
                .unwrap_or(0);
            let horizon = ev.time_ms.saturating_sub(longest);
            self.dedup.retain(|_, t| *t >= horizon);
            self.next_prune = self.stats.events + 100_000;
        }
    }
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

fn evaluate(
    idx: usize,
    rule: &Rule,
    ev: &AuditEvent<'_>,
    profile: Option<&Profile>,
    cfg: &BaselineConfig,
    class: IdentityClass,
) -> Option<Finding> {
    let learning = profile.map(|p| {
        p.learning_state(
            rule.learning.period_ms.unwrap_or(cfg.learning_period_ms),
            rule.learning
                .min_observations
                .unwrap_or(cfg.learning_min_observations),
        )
    });
    // Detect first; build the explanation only for events that fire.
    let (anomalies, compared) = match &rule.detector {
        Detector::Match => (Vec::new(), 0),
        Detector::NewValue(p) => {
            if rule.learning.gate && learning.is_none_or(|l| l.learning) {
                return None;
            }
            let hit = new_value::evaluate(p, ev, profile, cfg)?;
            (hit.anomalies, hit.compared)
        }
    };
    let mut severity = rule.severity;
    let mut components = vec![("rule_severity", base_score(rule.severity))];
    if let Detector::NewValue(p) = &rule.detector {
        let n = anomalies.len() as i32;
        if n > 1 {
            components.push(("additional_new_features", 10 * (n - 1)));
        }
        if p.escalate_when_all_new && compared > 1 && anomalies.len() == compared {
            severity = severity.raised();
            components.push(("all_features_new", 10));
        }
    }
    let score: i32 = components.iter().map(|c| c.1).sum();
    Some(Finding {
        rule: idx,
        severity,
        risk_score: score.clamp(0, 100) as u8,
        anomalies,
        learning,
        class,
        score_components: components,
    })
}

fn dedup_key(rule: &Rule, ev: &AuditEvent<'_>, f: &Finding) -> u64 {
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
                for a in &f.anomalies {
                    h.write(a.feature.as_str().as_bytes());
                    h.write(a.observed.as_bytes());
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
