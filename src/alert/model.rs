//! The alert as a typed value: the OCSF 1.5 Detection Finding nhid writes. Built once per
//! alert from the rule, the finding and the event, serialized once per output format; the ECS
//! and CIM documents are derived from it as typed values too ([`crate::sinks::format`]).
//! Empty values are left out (absent optional fields, empty strings and lists), so documents
//! stay compact and the published schema's optional fields are truly optional.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A string the alert mostly takes from static tables, owned when read back from JSON.
pub type Str = std::borrow::Cow<'static, str>;

use crate::detect::engine::{Related, Storm};
use crate::inventory::Entry;

/// True for an empty string (left out of the document).
pub(crate) fn blank(s: &str) -> bool {
    s.is_empty()
}

/// True for an absent or empty string.
pub(crate) fn none_or_blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

/// An OCSF Detection Finding (class 2004).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    /// 2004.
    pub class_uid: u32,
    /// `Detection Finding`.
    pub class_name: Str,
    /// 2.
    pub category_uid: u32,
    /// `Findings`.
    pub category_name: Str,
    /// 1 create, 2 update.
    pub activity_id: u8,
    /// `Create` / `Update`.
    pub activity_name: Str,
    /// 200400 + activity.
    pub type_uid: u32,
    /// `Detection Finding: Create`.
    pub type_name: String,
    /// Occurrences so far.
    pub count: u64,
    /// Event time (ms).
    pub time: i64,
    /// OCSF severity id (1-5).
    pub severity_id: u8,
    /// Severity caption.
    pub severity: Str,
    /// 1 (New).
    pub status_id: u8,
    /// `New`.
    pub status: Str,
    /// One-line explanation.
    pub message: String,
    /// Product and schema.
    pub metadata: Metadata,
    /// What was found.
    pub finding_info: FindingInfo,
    /// The identity.
    pub actor: Actor,
    /// Where the call came from.
    #[serde(default, skip_serializing_if = "SrcEndpoint::is_empty")]
    pub src_endpoint: SrcEndpoint,
    /// The call.
    pub api: Api,
    /// Cloud account and region.
    pub cloud: Cloud,
    /// Resources the record names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<UidRef>,
    /// The triggering record, summarised.
    pub evidences: Vec<Evidence>,
    /// Owner of record (inventory).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enrichments: Vec<Enrichment>,
    /// What to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// Observed vs baseline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anomaly_analyses: Vec<AnomalyAnalysis>,
    /// 0-100.
    pub risk_score: u8,
    /// nhid's own details.
    pub unmapped: Unmapped,
}

/// `metadata`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    /// OCSF version.
    pub version: Str,
    /// The product.
    pub product: Product,
    /// Source of the triggering record.
    pub log_name: Str,
    /// Version of the alert with this `finding_info.uid`: 1 for the create, 2, 3, ... for
    /// updates. (uid, sequence) is the idempotency key (CONTRACTS, "Wave 2 decisions").
    #[serde(default = "first_version")]
    pub sequence: u64,
}

fn first_version() -> u64 {
    1
}

/// `metadata.product`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Product {
    /// `nhid`.
    pub name: Str,
    /// `nhid`.
    pub vendor_name: Str,
    /// nhid's version.
    pub version: Str,
}

/// `finding_info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingInfo {
    /// Stable uid (idempotency key).
    pub uid: String,
    /// Rule title.
    pub title: String,
    /// Rule description.
    pub desc: String,
    /// The rule (of an incident: its highest-severity rule).
    pub analytic: Analytic,
    /// An incident's other rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_analytics: Vec<Analytic>,
    /// MITRE ATT&CK techniques.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attacks: Vec<Attack>,
    /// First occurrence (ms).
    pub first_seen_time: i64,
    /// Latest occurrence (ms).
    pub last_seen_time: i64,
    /// Detector kind.
    pub types: Vec<Str>,
}

/// `finding_info.analytic`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analytic {
    /// Rule id.
    pub uid: String,
    /// Rule title.
    pub name: String,
    /// 1 (Rule).
    pub type_id: u8,
    /// `Rule`.
    #[serde(rename = "type")]
    pub kind: Str,
}

/// One ATT&CK technique.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attack {
    /// The technique.
    pub technique: UidRef,
    /// ATT&CK version.
    pub version: Str,
}

/// `{"uid": ...}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UidRef {
    /// The uid.
    pub uid: String,
}

/// `actor`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Actor {
    /// The identity.
    pub user: User,
    /// Its session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// AWS service that called on its behalf.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub invoked_by: Option<String>,
}

/// `actor.user`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Identity key.
    #[serde(default, skip_serializing_if = "blank")]
    pub uid: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "blank")]
    pub name: String,
    /// Identity kind.
    #[serde(rename = "type")]
    pub kind: Str,
    /// Access key / client id.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub credential_uid: Option<String>,
    /// Principal id.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub uid_alt: Option<String>,
    /// Account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<UidRef>,
}

/// `actor.session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Session name.
    pub uid: String,
    /// When the session was issued (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
}

/// `src_endpoint`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SrcEndpoint {
    /// Source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Source host name.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub hostname: Option<String>,
    /// GeoIP location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Network operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonomous_system: Option<AutonomousSystem>,
}

impl SrcEndpoint {
    /// True when nothing is known of the source.
    pub fn is_empty(&self) -> bool {
        self.ip.is_none()
            && none_or_blank(&self.hostname)
            && self.location.is_none()
            && self.autonomous_system.is_none()
    }
}

/// `src_endpoint.location`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Location {
    /// Country code.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub country: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub city: Option<String>,
    /// Latitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long: Option<f64>,
    /// `geoip` or `event`.
    #[serde(default, skip_serializing_if = "blank")]
    pub provider: Str,
}

/// `src_endpoint.autonomous_system`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AutonomousSystem {
    /// ASN.
    pub number: u32,
    /// Operator.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub name: Option<String>,
}

/// `api`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Api {
    /// Operation.
    #[serde(default, skip_serializing_if = "blank")]
    pub operation: String,
    /// Service.
    pub service: Named,
    /// Error, if the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ApiResponse>,
}

/// `{"name": ...}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Named {
    /// The name.
    #[serde(default, skip_serializing_if = "blank")]
    pub name: String,
}

/// `api.response`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiResponse {
    /// Error code.
    pub error: String,
}

/// `cloud`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cloud {
    /// `aws`, `azure`, `okta`, `github`.
    pub provider: Str,
    /// Account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<UidRef>,
    /// Region.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub region: Option<String>,
}

/// `evidences[]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    /// The record, summarised.
    pub data: EvidenceData,
}

/// `evidences[].data`: the triggering record as nhid normalised it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceData {
    /// Source kind.
    pub source: Str,
    /// The record's own id.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub record_id: Option<String>,
    /// Record time (RFC 3339).
    pub event_time: String,
    /// `service:Operation`.
    pub action: String,
    /// Source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<String>,
    /// Source host.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub src_host: Option<String>,
    /// User agent.
    #[serde(default, skip_serializing_if = "blank")]
    pub user_agent: String,
    /// User-agent family.
    #[serde(default, skip_serializing_if = "blank")]
    pub client: String,
    /// `success` / `failure` / `unknown`.
    pub outcome: Str,
    /// Error code.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub error_code: Option<String>,
    /// Credential.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub credential: Option<String>,
    /// Session.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub session: Option<String>,
    /// Invoking service.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub invoked_by: Option<String>,
    /// Target of a sensitive call.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub target: Option<String>,
    /// Federation issuer and subject.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub federation: Option<String>,
    /// Network class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_class: Option<Str>,
    /// Action classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<Str>,
}

/// `enrichments[]`: the owner of record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrichment {
    /// `nhi_inventory`.
    pub name: Str,
    /// `owner`.
    #[serde(rename = "type")]
    pub kind: Str,
    /// Owner, team, or the inventory status.
    pub value: String,
    /// The entry.
    pub data: EnrichmentData,
}

/// `enrichments[].data`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrichmentData {
    /// The inventory entry, when the identity has one.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    /// `owned` / `unowned`.
    pub status: String,
    /// What SOAR revokes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_handle: Option<String>,
}

/// `remediation`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Remediation {
    /// Revoke handle, playbook, owner and runbook in words.
    pub desc: String,
    /// Playbook links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// `anomaly_analyses[]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnomalyAnalysis {
    /// What was compared.
    pub analysis_targets: Vec<AnalysisTarget>,
    /// What was observed.
    pub anomalies: Vec<Observed>,
    /// Against what.
    pub baselines: Vec<Baseline>,
}

/// `analysis_targets[]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalysisTarget {
    /// Feature.
    pub name: Str,
    /// `identity` / `session`.
    #[serde(rename = "type")]
    pub kind: Str,
}

/// `anomalies[]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observed {
    /// Feature.
    pub observation_parameter: Str,
    /// How it was compared.
    pub observation_type: Str,
    /// The value.
    pub observations: Vec<Observation>,
}

/// One observed value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observation {
    /// Value.
    #[serde(default, skip_serializing_if = "blank")]
    pub value: String,
    /// 1.
    pub count: u64,
}

/// `baselines[]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// Feature.
    pub observation_parameter: Str,
    /// `known_values` or the comparison.
    pub observation_type: Str,
    /// Known values with counts and times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<BaselineObservation>,
    /// The baseline in words.
    pub observed_pattern: String,
}

/// One baseline value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineObservation {
    /// Value.
    #[serde(default, skip_serializing_if = "blank")]
    pub value: String,
    /// Times seen.
    pub count: u64,
    /// First and last seen.
    pub timespan: Timespan,
}

/// `timespan`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timespan {
    /// First (ms).
    pub start_time: i64,
    /// Last (ms).
    pub end_time: i64,
}

/// `unmapped`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unmapped {
    /// nhid's details.
    pub nhid: NhidDetails,
}

/// `unmapped.nhid`: how nhid judged it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NhidDetails {
    /// Effective identity class.
    pub identity_class: Str,
    /// Why that class.
    pub class_reason: Str,
    /// Learning state before the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_state: Option<Learning>,
    /// Score components by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub score_components: BTreeMap<Str, i32>,
    /// `stable` / `test` / `experimental`.
    pub rule_status: String,
    /// Runbook.
    #[serde(default, skip_serializing_if = "none_or_blank")]
    pub runbook: Option<String>,
    /// Severity moved by the owner's criticality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_adjustment: Option<SeverityAdjustment>,
    /// Composite: findings that added up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// Storm: the aggregated wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storm: Option<Storm>,
    /// Incident: its steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentDetails>,
    /// Set when the alert was cut to fit a sink (long strings shortened with a marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncated>,
}

/// `unmapped.nhid.truncated`: what was cut to fit a sink's size limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truncated {
    /// Size of the whole OCSF document before cutting.
    pub original_bytes: u64,
    /// SHA-256 (hex) of the whole OCSF document.
    pub original_sha256: String,
    /// The sink's limit (`max_alert_bytes`).
    pub limit_bytes: u64,
    /// Strings longer than this many bytes were cut.
    pub max_string_bytes: u64,
}

/// `unmapped.nhid.incident`: the incident's story.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncidentDetails {
    /// When it opened (ms).
    pub opened_time: i64,
    /// Findings folded in.
    pub findings: u64,
    /// The story: each finding, in order (the middle of a long one is left out).
    pub timeline: Vec<crate::detect::incident::Step>,
    /// Steps left out of the middle of the timeline.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub steps_omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `unmapped.nhid.learning_state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Learning {
    /// Still learning.
    pub learning: bool,
    /// Observations so far.
    pub observations: u64,
    /// Event-time span observed (hours).
    pub observed_span_hours: f64,
}

/// `unmapped.nhid.severity_adjustment`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeverityAdjustment {
    /// Owner's criticality.
    pub criticality: Str,
    /// Severity before.
    pub from: Str,
    /// Severity after.
    pub to: Str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An alert read back from its JSON serializes to the same document (dead letters and the
    /// incident store read alerts back).
    #[test]
    fn round_trip() {
        let text = include_str!("../../tests/fixtures/alert-sample.json");
        let a: Alert = serde_json::from_str(text).expect("alert");
        let back: serde_json::Value = serde_json::to_value(&a).expect("json");
        let orig: serde_json::Value = serde_json::from_str(text).expect("json");
        assert_eq!(back, orig);
        assert_eq!(a.class_uid, 2004);
    }
}
