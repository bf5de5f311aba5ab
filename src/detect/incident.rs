//! Incidents: one alert per attack, not a queue of fragments (CONTRACTS, "Wave 2 decisions").
//! Findings on one identity inside an episode form one incident: it opens with the first
//! finding and closes after `gap` of event time without findings, or `max_span` after it
//! opened. The incident's uid is a hash of the identity key and the first triggering record, so
//! re-delivery gives the same uid. Every version is a full alert: sequence 1 for the create,
//! 2, 3, ... for updates; a version is sent when the incident changes (a rule it had not, a
//! higher severity) or, while findings keep coming, at most once per `update_interval`. The
//! highest-severity rule is the alert's analytic, the others are related analytics; techniques,
//! steps, evidence and anomaly analyses accumulate, bounded.
//!
//! Several findings of one event are folded together and make at most one version. Rules with
//! `incident: false` (posture findings) and storm alerts stay standalone.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::alert::model::{AnomalyAnalysis, Evidence};
use crate::detect::rule::{Rule, Severity};
use crate::event::AuditEvent;
use crate::time::HOUR_MS;

use super::engine::Finding;

/// Steps kept per incident (the first half and the latest half when longer).
const MAX_STEPS: usize = 24;
/// Anomaly analyses kept per incident.
const MAX_ANOMALIES: usize = 24;
/// Evidences (triggering records) kept per incident.
const MAX_EVIDENCES: usize = 12;

/// `[incidents]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentConfig {
    /// Group findings into incidents (default true).
    pub enabled: bool,
    /// An incident closes after this long without findings (event time, ms; default 2h).
    pub gap_ms: i64,
    /// ... or this long after it opened (default 24h).
    pub max_span_ms: i64,
    /// Open incidents kept at most; beyond, the least recently active closes (default 100,000).
    pub max_open: usize,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            enabled: true,
            gap_ms: 2 * HOUR_MS,
            max_span_ms: 24 * HOUR_MS,
            max_open: 100_000,
        }
    }
}

/// One step of an incident: a finding, summarised.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    /// Event time (ms).
    pub time: i64,
    /// Rule id.
    pub rule: String,
    /// Severity id of the finding.
    pub severity: u8,
    /// `service:Operation` of the record.
    pub action: String,
    /// What the rule observed, in a few words.
    pub observed: String,
}

/// An open incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incident {
    /// Stable uid.
    pub uid: String,
    /// First finding (ms).
    pub opened: i64,
    /// Latest finding (ms).
    pub last: i64,
    /// Latest version sent.
    pub seq: u64,
    /// When the latest version was sent (ms).
    pub last_emit: i64,
    /// Findings folded in.
    pub count: u64,
    /// Highest severity id so far.
    pub severity: u8,
    /// Highest risk score so far.
    pub risk: u8,
    /// Rule ids, highest severity first is `top`; all in order of first appearance.
    pub rules: Vec<String>,
    /// The highest-severity rule (the alert's analytic).
    pub top: String,
    /// Steps (bounded).
    pub steps: Vec<Step>,
    /// Steps dropped from the middle of a long incident.
    pub steps_dropped: u64,
    /// Accumulated anomaly analyses (bounded, latest kept), as JSON text: the alert model
    /// leaves empty fields out, which the snapshot's non-self-describing encoding cannot read
    /// back, so they are kept in the form the alert carries them.
    pub anomalies: Vec<String>,
    /// Accumulated evidences (bounded, latest kept), as JSON text.
    pub evidences: Vec<String>,
}

/// Incident uid: identity key and the first triggering record (its id, or its bytes).
pub fn incident_uid(ev: &AuditEvent<'_>) -> String {
    crate::alert::record_uid(&[b"incident\0"], ev)
}

/// Open incidents by identity key.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Incidents {
    /// Keyed by identity key (attacker-chosen: a keyed hasher, not FxHash).
    open: HashMap<String, Incident, RandomState>,
    /// Findings folded without a new version (counter).
    #[serde(skip)]
    pub folded: u64,
}

impl Incidents {
    /// Open incidents.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// True when none is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Folds the incident-eligible findings of one event (`out[first..]`) into the identity's
    /// incident; leaves at most one of them, carrying the incident's new version, or none.
    ///
    /// `minter`: the identity that minted the credential the event uses, if another one; when
    /// it has an open incident the findings join it (a key minted for a backdoor user is part
    /// of its minter's attack).
    #[allow(clippy::too_many_arguments)]
    pub fn fold(
        &mut self,
        ev: &AuditEvent<'_>,
        minter: Option<&str>,
        rules: &[Rule],
        cfg: &IncidentConfig,
        update_interval_ms: i64,
        out: &mut Vec<Finding>,
        first: usize,
    ) {
        let eligible = |f: &Finding| rules[f.rule].incident && f.storm.is_none();
        let idx: Vec<usize> = (first..out.len()).filter(|&k| eligible(&out[k])).collect();
        if idx.is_empty() {
            return;
        }
        let t = ev.time_ms;
        // Live: within the gap after its last finding and the span after its opening, and not
        // long before it opened (a record far behind an incident does not join it).
        let is_live = |i: &Incident| {
            t.saturating_sub(i.last) <= cfg.gap_ms
                && t - i.opened <= cfg.max_span_ms
                && t >= i.opened.saturating_sub(cfg.gap_ms)
        };
        let key = match minter {
            Some(m) if self.open.get(m).is_some_and(is_live) => m,
            _ => ev.identity.key.as_ref(),
        };
        let live = self.open.get(key).is_some_and(is_live);
        if !live {
            self.open.remove(key);
            if self.open.len() >= cfg.max_open {
                self.close_least_recent();
            }
        }
        let new = !live;
        let inc = self
            .open
            .entry(key.to_string())
            .or_insert_with(|| Incident {
                uid: incident_uid(ev),
                opened: t,
                last: t,
                seq: 0,
                last_emit: t,
                count: 0,
                severity: 0,
                risk: 0,
                rules: Vec::new(),
                top: String::new(),
                steps: Vec::new(),
                steps_dropped: 0,
                anomalies: Vec::new(),
                evidences: Vec::new(),
            });
        let mut changed = new;
        let action = ev.action();
        for &k in &idx {
            changed |= absorb(inc, &out[k], &rules[out[k].rule], t, &action);
        }
        let evidence = Evidence {
            data: crate::alert::evidence_of(ev),
        };
        if let Ok(text) = serde_json::to_string(&evidence) {
            push_bounded(&mut inc.evidences, text, MAX_EVIDENCES);
        }
        let periodic = t.saturating_sub(inc.last_emit) >= update_interval_ms;
        // The carrier: the most severe finding of the event (first on ties).
        let carrier = idx
            .iter()
            .copied()
            .max_by(|&a, &b| out[a].severity.cmp(&out[b].severity).then(b.cmp(&a)))
            .unwrap_or(idx[0]);
        let emit = changed || periodic;
        if emit {
            inc.seq += 1;
            inc.last_emit = t;
            let view = view_of(inc, rules);
            out[carrier].incident = Some(Box::new(view));
        }
        // Drop the event's other eligible findings (and the carrier when nothing is sent).
        let mut k = out.len();
        while k > first {
            k -= 1;
            if idx.contains(&k) && (!emit || k != carrier) {
                out.remove(k);
                self.folded += 1;
            }
        }
    }

    /// True if the identity (key) has an incident open (live or not yet pruned).
    pub fn is_open(&self, key: &str) -> bool {
        self.open.contains_key(key)
    }

    /// Closes the identity's open incident (its future-dated record was refuted).
    pub fn forget(&mut self, key: &str) {
        self.open.remove(key);
    }

    /// Forgets incidents that closed long before `now` (memory only: a later finding of the
    /// identity opens a new incident either way). The margin of `max_span` keeps an identity
    /// whose records lag the stream's from seeing its incident closed early.
    pub fn prune(&mut self, now: i64, cfg: &IncidentConfig) {
        let horizon = cfg.gap_ms.saturating_add(cfg.max_span_ms);
        self.open
            .retain(|_, i| now.saturating_sub(i.last) <= horizon);
    }

    fn close_least_recent(&mut self) {
        if let Some(k) = self
            .open
            .iter()
            .min_by(|a, b| a.1.last.cmp(&b.1.last).then(a.0.cmp(b.0)))
            .map(|(k, _)| k.clone())
        {
            self.open.remove(&k);
        }
    }

    /// Drops rules no longer loaded from open incidents (after a reload); returns how many
    /// incidents lost their top rule and were closed.
    pub fn retain_rules(&mut self, rules: &[Rule]) -> usize {
        let known = |id: &str| rules.iter().any(|r| r.id == id);
        let before = self.open.len();
        self.open.retain(|_, i| known(&i.top));
        for i in self.open.values_mut() {
            i.rules.retain(|r| known(r));
        }
        before - self.open.len()
    }
}

/// Folds one finding into the incident; true if it changed what the incident says (a new
/// rule or a higher severity).
fn absorb(inc: &mut Incident, f: &Finding, rule: &Rule, t: i64, action: &str) -> bool {
    inc.count += 1;
    inc.last = inc.last.max(t);
    inc.risk = inc.risk.max(f.risk_score);
    let sev = f.severity.id();
    let mut changed = false;
    if !inc.rules.contains(&rule.id) {
        inc.rules.push(rule.id.clone());
        changed = true;
    }
    if sev > inc.severity || inc.top.is_empty() {
        inc.severity = sev;
        inc.top = rule.id.clone();
        changed = true;
    }
    let observed = f
        .anomalies
        .first()
        .map(|a| format!("{} {}", a.feature, a.observed))
        .unwrap_or_default();
    let step = Step {
        time: t,
        rule: rule.id.clone(),
        severity: sev,
        action: action.to_string(),
        observed,
    };
    if inc.steps.len() >= MAX_STEPS {
        // Keep the start of the story and its latest part.
        inc.steps.remove(MAX_STEPS / 2);
        inc.steps_dropped += 1;
    }
    inc.steps.push(step);
    for a in crate::alert::anomaly_analyses_of(f) {
        if let Ok(text) = serde_json::to_string(&a) {
            push_bounded(&mut inc.anomalies, text, MAX_ANOMALIES);
        }
    }
    changed
}

fn push_bounded<T>(v: &mut Vec<T>, x: T, max: usize) {
    if v.len() >= max {
        v.remove(0);
    }
    v.push(x);
}

/// What an incident version's alert shows.
#[derive(Debug, Clone)]
pub struct IncidentView {
    /// The incident's uid.
    pub uid: String,
    /// This version.
    pub seq: u64,
    /// When it opened (ms).
    pub opened: i64,
    /// Findings folded in.
    pub count: u64,
    /// Highest severity so far.
    pub severity: Severity,
    /// Highest risk score so far.
    pub risk: u8,
    /// Index of the highest-severity rule.
    pub top: usize,
    /// Indices of the other rules, in order of first appearance.
    pub related: Vec<usize>,
    /// Steps.
    pub steps: Vec<Step>,
    /// Steps left out of the middle.
    pub steps_dropped: u64,
    /// Anomaly analyses.
    pub anomalies: Vec<AnomalyAnalysis>,
    /// Evidences.
    pub evidences: Vec<Evidence>,
}

fn view_of(inc: &Incident, rules: &[Rule]) -> IncidentView {
    let index = |id: &str| rules.iter().position(|r| r.id == id);
    let top = index(&inc.top).unwrap_or(0);
    IncidentView {
        uid: inc.uid.clone(),
        seq: inc.seq,
        opened: inc.opened,
        count: inc.count,
        severity: Severity::from_id(inc.severity),
        risk: inc.risk,
        top,
        related: inc
            .rules
            .iter()
            .filter_map(|r| index(r))
            .filter(|&i| i != top)
            .collect(),
        steps: inc.steps.clone(),
        steps_dropped: inc.steps_dropped,
        anomalies: parse_all(&inc.anomalies),
        evidences: parse_all(&inc.evidences),
    }
}

fn parse_all<T: serde::de::DeserializeOwned>(texts: &[String]) -> Vec<T> {
    texts
        .iter()
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::pipeline::{Pipeline, ReplayConfig};
    use crate::sinks::AlertOut;
    use crate::sources::Origin;
    use std::sync::Arc;

    /// A record of `svc-deploy` at `time` calling `op` on CloudTrail with an offensive client.
    fn record(id: &str, time: &str, op: &str) -> Vec<u8> {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/svc-deploy","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"svc-deploy"}},"eventTime":"{time}","eventSource":"cloudtrail.amazonaws.com","eventName":"{op}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0 kali","requestParameters":{{"name":"org-trail"}},"responseElements":null,"eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
        )
        .into_bytes()
    }

    fn run(records: &[Vec<u8>], incidents: bool) -> Vec<AlertOut> {
        let rules = Arc::new(crate::detect::loader::load_embedded().rules);
        let mut config = ReplayConfig::default();
        config.incidents.enabled = incidents;
        let mut p = Pipeline::new(rules, crate::geo::GeoDb::bundled_test(), config);
        let mut out = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let origin = Origin {
                input: "t",
                line: i as u64 + 1,
                index: None,
            };
            p.process_into(
                r,
                &origin,
                crate::parsers::Format::Auto,
                &mut out,
                &mut None,
            )
            .expect("processed");
        }
        out
    }

    #[test]
    fn findings_of_one_episode_are_one_incident_and_a_gap_opens_another() {
        let recs = [
            record("e1", "2024-03-09T10:00:00Z", "StopLogging"),
            record("e2", "2024-03-09T10:10:00Z", "DeleteTrail"),
            record("e3", "2024-03-09T14:00:00Z", "StopLogging"),
        ];
        let findings = run(&recs, false);
        let alerts = run(&recs, true);
        // Two rules fire on each record (tampering, offensive client): six findings.
        assert!(findings.len() >= 4, "{}", findings.len());
        let uids: Vec<&str> = alerts.iter().map(|a| a.uid.as_str()).collect();
        // e1 opens an incident; e2 adds nothing new (same rules, same severity) and is folded;
        // e3 comes 3h50m later, past the 2h gap: a new incident.
        assert_eq!(alerts.len(), 2, "{uids:?}");
        assert_ne!(alerts[0].uid, alerts[1].uid);
        for a in &alerts {
            assert_eq!(a.alert.metadata.sequence, 1);
            assert_eq!(a.alert.activity_id, 1);
            let mut rules: Vec<&str> = vec![a.alert.finding_info.analytic.uid.as_str()];
            rules.extend(
                a.alert
                    .finding_info
                    .related_analytics
                    .iter()
                    .map(|r| r.uid.as_str()),
            );
            assert!(rules.contains(&"aws.cloudtrail_tampering"), "{rules:?}");
            assert!(rules.contains(&"standard.pentest_client"), "{rules:?}");
            let inc = a
                .alert
                .unmapped
                .nhid
                .incident
                .as_ref()
                .expect("incident details");
            assert!(!inc.timeline.is_empty());
            assert!(a.alert.message.contains("svc-deploy"));
        }
        // Re-delivery gives the same uids.
        let again = run(&recs, true);
        assert_eq!(
            again.iter().map(|a| &a.uid).collect::<Vec<_>>(),
            alerts.iter().map(|a| &a.uid).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_new_rule_in_the_episode_sends_the_next_version() {
        // Then the same key grants itself admin rights: a rule the incident has not seen.
        let grant = String::from_utf8(record("e2", "2024-03-09T10:05:00Z", "PutUserPolicy"))
            .unwrap()
            .replace("cloudtrail.amazonaws.com", "iam.amazonaws.com")
            .replace(
                r#"{"name":"org-trail"}"#,
                r#"{"userName":"svc-deploy","policyName":"p","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}"#,
            );
        let recs = [
            record("e1", "2024-03-09T10:00:00Z", "StopLogging"),
            grant.into_bytes(),
        ];
        let alerts = run(&recs, true);
        assert_eq!(alerts.len(), 2, "a create and one update");
        assert_eq!(alerts[0].alert.metadata.sequence, 1);
        let related = &alerts[1].alert.finding_info;
        let mut rules: Vec<&str> = vec![related.analytic.uid.as_str()];
        rules.extend(related.related_analytics.iter().map(|r| r.uid.as_str()));
        assert!(rules.contains(&"aws.admin_policy_attached"), "{rules:?}");
        for (k, a) in alerts.iter().enumerate() {
            assert_eq!(a.uid, alerts[0].uid);
            assert_eq!(a.alert.metadata.sequence, k as u64 + 1);
            assert_eq!(a.alert.activity_id, if k == 0 { 1 } else { 2 });
        }
        // The severity never falls across versions.
        for w in alerts.windows(2) {
            assert!(w[1].alert.severity_id >= w[0].alert.severity_id);
        }
    }

    #[test]
    fn a_key_minted_for_another_user_joins_its_minters_incident() {
        // svc-deploy (offensive client: an incident) mints a key for `backdoor`, whose first
        // use from elsewhere is part of the same story.
        let mint = String::from_utf8(record("e2", "2024-03-09T10:02:00Z", "CreateAccessKey"))
            .unwrap()
            .replace("cloudtrail.amazonaws.com", "iam.amazonaws.com")
            .replace(r#"{"name":"org-trail"}"#, r#"{"userName":"backdoor"}"#)
            .replace(
                r#""responseElements":null"#,
                r#""responseElements":{"accessKey":{"accessKeyId":"AKIANEWKEY0000000001","status":"Active","userName":"backdoor"}}"#,
            );
        let used = String::from_utf8(record("e3", "2024-03-09T10:20:00Z", "StopLogging"))
            .unwrap()
            .replace("user/svc-deploy", "user/backdoor")
            .replace(r#""userName":"svc-deploy""#, r#""userName":"backdoor""#)
            .replace("AKIAEXAMPLE", "AKIANEWKEY0000000001")
            .replace("203.0.113.9", "198.51.100.7");
        let recs = [
            record("e1", "2024-03-09T10:00:00Z", "StopLogging"),
            mint.into_bytes(),
            used.into_bytes(),
        ];
        let alerts = run(&recs, true);
        let uids: std::collections::BTreeSet<&str> =
            alerts.iter().map(|a| a.uid.as_str()).collect();
        assert_eq!(uids.len(), 1, "{uids:?}");
        let by_backdoor = alerts
            .iter()
            .any(|a| a.alert.actor.user.uid.ends_with("user/backdoor"));
        assert!(by_backdoor, "the minted key's findings are in the incident");
    }
}
