//! The rule schema: the YAML a detection engineer writes ([`RuleFile`]) and the compiled form the
//! engine runs ([`Rule`]). Compilation checks everything it can and reports every problem with the
//! file and line, so `nhid rules check` can list them all at once.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::condition::{Condition, Field, Op};
use crate::baseline::rate::{Distinct, RateSpec};
use crate::baseline::Feature;
use crate::event::classify::ActionClass;
use crate::event::{IdentityClass, IdentityKind, SourceKind};
use crate::time::parse_duration_ms;

/// OCSF severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 1.
    Informational = 1,
    /// 2.
    Low = 2,
    /// 3.
    Medium = 3,
    /// 4.
    High = 4,
    /// 5.
    Critical = 5,
}

impl Severity {
    /// Parses `informational|info|low|medium|high|critical`.
    pub fn from_name(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "informational" | "info" => Severity::Informational,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    /// OCSF `severity_id`.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// From an OCSF `severity_id` (out of range: the nearest).
    pub fn from_id(id: u8) -> Severity {
        match id {
            0 | 1 => Severity::Informational,
            2 => Severity::Low,
            3 => Severity::Medium,
            4 => Severity::High,
            _ => Severity::Critical,
        }
    }

    /// OCSF `severity` caption.
    pub fn caption(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    /// One level up (saturating).
    pub fn raised(self) -> Severity {
        match self {
            Severity::Informational => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            _ => Severity::Critical,
        }
    }

    /// One level down (saturating).
    pub fn lowered(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            _ => Severity::Informational,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.caption())
    }
}

/// One value or a list of values.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// A list.
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A `match:` condition as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionFile {
    /// Field name (see [`super::condition::FIELDS`]).
    pub field: Spanned<String>,
    /// Equal to (one or many).
    #[serde(default)]
    pub eq: Option<OneOrMany>,
    /// Starts with.
    #[serde(default)]
    pub prefix: Option<OneOrMany>,
    /// Ends with.
    #[serde(default)]
    pub suffix: Option<OneOrMany>,
    /// Contains.
    #[serde(default)]
    pub contains: Option<OneOrMany>,
    /// Regular expression (Rust `regex` syntax).
    #[serde(default)]
    pub regex: Option<Spanned<String>>,
    /// CIDR networks.
    #[serde(default)]
    pub cidr: Option<Spanned<OneOrMany>>,
    /// Presence.
    #[serde(default)]
    pub exists: Option<bool>,
    /// `eq_field: FIELD`: equal to a value of another field (e.g. `identity.name`).
    #[serde(default)]
    pub eq_field: Option<String>,
    /// Negate.
    #[serde(default)]
    pub not: bool,
    /// Case-insensitive.
    #[serde(default)]
    pub nocase: bool,
}

/// `identity:` scope as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityScopeFile {
    /// `human`, `non_human` (default `[non_human]`).
    #[serde(default)]
    pub classes: Vec<String>,
    /// Identity kinds (default: all that are not platform principals).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Also apply to platform principals (AWS service principals, Okta system).
    #[serde(default)]
    pub include_platform: bool,
}

/// `learning:` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningFile {
    /// Whether the identity's learning period gates this rule (default true for `new_value`
    /// on the identity scope).
    #[serde(default)]
    pub gate: Option<bool>,
    /// Override of the learning period (`7d`).
    #[serde(default)]
    pub period: Option<String>,
    /// Override of the minimum observations.
    #[serde(default)]
    pub min_observations: Option<u64>,
}

/// `params:` as written (which keys apply depends on `kind`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamsFile {
    /// `new_value`: features to test.
    #[serde(default)]
    pub features: Vec<String>,
    /// `new_value`: features reported (and counted for escalation) when the rule fires, but
    /// that do not make it fire on their own.
    #[serde(default)]
    pub context_features: Vec<String>,
    /// `new_value`: `identity` (default) or `session`.
    #[serde(default)]
    pub scope: Option<String>,
    /// `new_value`: `any` (default) or `all` of the features must be new.
    #[serde(default)]
    pub require: Option<String>,
    /// `new_value`: live values the baseline must already hold for the feature (default 1).
    #[serde(default)]
    pub min_prior_values: Option<u64>,
    /// `new_value`: raise severity one level when every listed feature is new at once.
    #[serde(default)]
    pub escalate_when_all_new: Option<bool>,
    /// `burst`: the action class counted.
    #[serde(default)]
    pub class: Option<String>,
    /// `burst`: `events` (default), `actions` or `resources` (distinct per window).
    #[serde(default)]
    pub measure: Option<String>,
    /// `burst`, `composite`: the window.
    #[serde(default)]
    pub window: Option<String>,
    /// `burst`: minimum measure in the window.
    #[serde(default)]
    pub min_count: Option<u32>,
    /// `burst`: the Poisson tail probability below which the count is a burst.
    #[serde(default)]
    pub max_p: Option<f64>,
    /// `burst`: idle time before the window that makes the burst score higher.
    #[serde(default)]
    pub after_idle: Option<String>,
    /// `burst`: fire only after `after_idle`.
    #[serde(default)]
    pub require_idle: Option<bool>,
    /// `impossible_travel`: speed above which travel is impossible (km/h, default 900).
    #[serde(default)]
    pub max_speed_kmh: Option<f64>,
    /// `impossible_travel`: minimum distance (km, default 500).
    #[serde(default)]
    pub min_distance_km: Option<f64>,
    /// `impossible_travel`: ignore hops between any two cloud networks (default false: only
    /// within one provider's ASN).
    #[serde(default)]
    pub ignore_cloud: Option<bool>,
    /// `off_hours`: identities active in more than this share of the week's hours have no off
    /// hours (default 0.5).
    #[serde(default)]
    pub max_active_share: Option<f64>,
    /// `off_hours`: neighbouring hours that count as usual (default 1).
    #[serde(default)]
    pub tolerance_hours: Option<u32>,
    /// `dormant`: minimum silence (default 30d).
    #[serde(default)]
    pub min_idle: Option<String>,
    /// `dormant`: the silence must be this many times the longest one before (default 3).
    #[serde(default)]
    pub gap_factor: Option<f64>,
    /// `dormant`: history needed before the silence (default 10 events).
    #[serde(default)]
    pub min_prior_observations: Option<u64>,
    /// `composite`: rule ids whose findings add up (default: every non-composite rule).
    #[serde(default)]
    pub members: Vec<String>,
    /// `composite`: distinct member rules needed (default 2).
    #[serde(default)]
    pub min_rules: Option<usize>,
    /// `composite`: sum of member risk scores needed (default 80).
    #[serde(default)]
    pub min_score: Option<i32>,
    /// `composite`: members that must say something about the caller (see
    /// [`Rule::signals_caller`]), default 0.
    #[serde(default)]
    pub min_caller_signals: Option<usize>,
    /// `cold_start`: action classes that make a first-seen identity's call worth judging.
    #[serde(default)]
    pub classes: Vec<String>,
    /// Any kind: lower the score when the action is an established habit of the identity
    /// (default true for `match`, false otherwise).
    #[serde(default)]
    pub routine_lowers: Option<bool>,
}

impl ParamsFile {
    /// Names of the parameters that are set.
    fn set_names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |b: bool, n: &'static str| {
            if b {
                v.push(n)
            }
        };
        add(!self.features.is_empty(), "features");
        add(!self.context_features.is_empty(), "context_features");
        add(self.scope.is_some(), "scope");
        add(self.require.is_some(), "require");
        add(self.min_prior_values.is_some(), "min_prior_values");
        add(
            self.escalate_when_all_new.is_some(),
            "escalate_when_all_new",
        );
        add(self.class.is_some(), "class");
        add(self.measure.is_some(), "measure");
        add(self.window.is_some(), "window");
        add(self.min_count.is_some(), "min_count");
        add(self.max_p.is_some(), "max_p");
        add(self.after_idle.is_some(), "after_idle");
        add(self.require_idle.is_some(), "require_idle");
        add(self.max_speed_kmh.is_some(), "max_speed_kmh");
        add(self.min_distance_km.is_some(), "min_distance_km");
        add(self.ignore_cloud.is_some(), "ignore_cloud");
        add(self.max_active_share.is_some(), "max_active_share");
        add(self.tolerance_hours.is_some(), "tolerance_hours");
        add(self.min_idle.is_some(), "min_idle");
        add(self.gap_factor.is_some(), "gap_factor");
        add(
            self.min_prior_observations.is_some(),
            "min_prior_observations",
        );
        add(!self.members.is_empty(), "members");
        add(!self.classes.is_empty(), "classes");
        add(self.min_rules.is_some(), "min_rules");
        add(self.min_score.is_some(), "min_score");
        add(self.min_caller_signals.is_some(), "min_caller_signals");
        v
    }
}

/// The parameters each kind takes.
fn kind_params(kind: &str) -> &'static [&'static str] {
    match kind {
        "new_value" => &[
            "features",
            "context_features",
            "scope",
            "require",
            "min_prior_values",
            "escalate_when_all_new",
        ],
        "burst" => &[
            "class",
            "measure",
            "window",
            "min_count",
            "max_p",
            "after_idle",
            "require_idle",
        ],
        "impossible_travel" => &["max_speed_kmh", "min_distance_km", "ignore_cloud"],
        "off_hours" => &["max_active_share", "tolerance_hours"],
        "dormant" => &["min_idle", "gap_factor", "min_prior_observations"],
        "composite" => &[
            "window",
            "members",
            "min_rules",
            "min_score",
            "min_caller_signals",
        ],
        "cold_start" => &["classes", "features"],
        "minted_credential" => &[],
        _ => &[],
    }
}

/// `dedup:` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupFile {
    /// Suppression window (`1h`).
    pub window: String,
    /// Key parts: identity, session, credential, value, src.ip, action (default identity+value).
    #[serde(default)]
    pub key: Vec<String>,
    /// The window counts from the alert, not from the last repeat: an identity that stays
    /// active is reported again once per window (default false: a sliding window).
    #[serde(default)]
    pub fixed: bool,
    /// Emit Update alerts for repeats inside the window (default true).
    #[serde(default = "yes")]
    pub updates: bool,
}

fn yes() -> bool {
    true
}

/// One record in a rule test: a raw source record, optionally repeated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRecordFile {
    /// The raw record (as JSON/YAML), or
    #[serde(default)]
    pub record: Option<serde_json::Value>,
    /// the name of a record in the file's `templates:`, with
    #[serde(default)]
    pub template: Option<String>,
    /// fields to set on it (dotted paths into the record, e.g. `userIdentity.arn`; `null`
    /// removes the field).
    #[serde(default)]
    pub set: std::collections::BTreeMap<String, serde_json::Value>,
    /// Shift the record's time by this duration (e.g. `9d`).
    #[serde(default)]
    pub after: Option<String>,
    /// Replay the record this many times.
    #[serde(default)]
    pub repeat: Option<u64>,
    /// Time step between repeats.
    #[serde(default)]
    pub every: Option<String>,
}

/// What a rule test expects from its probe events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFile {
    /// Number of alerts of this rule raised by the `events` (not the history).
    pub alerts: u64,
    /// Every alert has at least this severity.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Every alert has at most this severity.
    #[serde(default)]
    pub max_severity: Option<String>,
}

/// An inline rule test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// Name.
    pub name: Spanned<String>,
    /// Records replayed first to build baselines.
    #[serde(default)]
    pub history: Vec<TestRecordFile>,
    /// Probe records.
    pub events: Vec<TestRecordFile>,
    /// An NHI inventory for this test (entries as in an inventory file); without it, no
    /// inventory is loaded (`inventory.*` fields are absent).
    #[serde(default)]
    pub inventory: Option<Vec<serde_json::Value>>,
    /// Expectation.
    pub expect: ExpectFile,
}

/// A rule file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Dotted id = path.
    pub id: Spanned<String>,
    /// Alert title.
    pub title: String,
    /// What the rule detects and why it matters.
    pub description: String,
    /// Base severity.
    pub severity: Spanned<String>,
    /// stable | test | experimental.
    #[serde(default)]
    pub status: Option<Spanned<String>>,
    /// Sources the rule applies to (default all).
    #[serde(default)]
    pub sources: Vec<Spanned<String>>,
    /// Identity scope.
    #[serde(default)]
    pub identity: IdentityScopeFile,
    /// Detector kind.
    pub kind: Spanned<String>,
    /// Preconditions (all must hold).
    #[serde(default, rename = "match")]
    pub conditions: Vec<ConditionFile>,
    /// Detector parameters.
    #[serde(default)]
    pub params: ParamsFile,
    /// Learning gate.
    #[serde(default)]
    pub learning: Option<LearningFile>,
    /// Suppression.
    #[serde(default)]
    pub dedup: Option<DedupFile>,
    /// Whether this rule's findings count towards composite rules (default true). Posture
    /// findings such as "no owner of record" are not anomalies and set it to false.
    #[serde(default = "yes")]
    pub correlate: bool,
    /// Whether this rule's findings join the identity's incident (default true). Posture
    /// findings (no owner of record) stay standalone alerts.
    #[serde(default = "yes")]
    pub incident: bool,
    /// Whether the storm breaker may fold this rule's findings (default true). A rule that by
    /// design fires on many identities at once (an inventory gap) sets it to false.
    #[serde(default = "yes")]
    pub storm_breaker: bool,
    /// MITRE ATT&CK technique ids (`T1552.005`).
    #[serde(default)]
    pub mitre: Vec<Spanned<String>>,
    /// References.
    #[serde(default)]
    pub references: Vec<String>,
    /// Known false positives.
    #[serde(default)]
    pub falsepositives: Vec<String>,
    /// What the responder should do.
    #[serde(default)]
    pub runbook: Option<String>,
    /// Inline tests.
    #[serde(default)]
    pub tests: Vec<TestFile>,
    /// Named records tests can start from (`template:` + `set:`).
    #[serde(default)]
    pub templates: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A problem found in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File (relative to the rules directory).
    pub file: String,
    /// 1-based line (0 if unknown).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Rule maturity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Production.
    Stable,
    /// Being evaluated.
    Test,
    /// Early.
    Experimental,
}

/// Scope of a `new_value` detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The identity's whole baseline.
    Identity,
    /// One role session's credentials.
    Session,
    /// The identity's account and peers (priors for identities without a baseline).
    Account,
}

impl Scope {
    /// Name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Identity => "identity",
            Scope::Session => "session",
            Scope::Account => "account",
        }
    }
}

/// `new_value` parameters.
#[derive(Debug, Clone)]
pub struct NewValueParams {
    /// Features tested.
    pub features: Vec<Feature>,
    /// Features reported alongside, never firing alone.
    pub context: Vec<Feature>,
    /// Scope.
    pub scope: Scope,
    /// All features must be new (else any).
    pub require_all: bool,
    /// Live values the baseline must hold already.
    pub min_prior_values: u64,
    /// Raise severity when every feature is new.
    pub escalate_when_all_new: bool,
}

/// `burst` parameters.
#[derive(Debug, Clone)]
pub struct BurstParams {
    /// Class, measure and window.
    pub rate: RateSpec,
    /// Index of the rate in the engine's rate list (set when the engine is built).
    pub spec: usize,
    /// Minimum measure.
    pub min_count: u32,
    /// Poisson tail threshold.
    pub max_p: f64,
    /// Idle time that raises the score.
    pub after_idle_ms: Option<i64>,
    /// Fire only after idle.
    pub require_idle: bool,
}

/// `impossible_travel` parameters.
#[derive(Debug, Clone)]
pub struct TravelParams {
    /// Speed limit (km/h).
    pub max_speed_kmh: f64,
    /// Minimum distance (km).
    pub min_distance_km: f64,
    /// Ignore hops between any two cloud networks.
    pub ignore_cloud: bool,
}

/// `off_hours` parameters.
#[derive(Debug, Clone)]
pub struct OffHoursParams {
    /// Identities active in more than this share of the week have no off hours.
    pub max_active_share: f64,
    /// Neighbouring hours counted as usual.
    pub tolerance_hours: u32,
}

/// `dormant` parameters.
#[derive(Debug, Clone)]
pub struct DormantParams {
    /// Minimum silence (ms).
    pub min_idle_ms: i64,
    /// Silence / longest previous silence.
    pub gap_factor: f64,
    /// History needed.
    pub min_prior_observations: u64,
}

/// `composite` parameters.
#[derive(Debug, Clone)]
pub struct CompositeParams {
    /// Window (ms).
    pub window_ms: i64,
    /// Member rule ids (empty: all non-composite rules).
    pub members: Vec<String>,
    /// Distinct member rules needed.
    pub min_rules: usize,
    /// Sum of member scores needed.
    pub min_score: i32,
    /// Members needed that say something about the caller ([`Rule::signals_caller`]): two
    /// changes a deployer makes in one hour are a deployment, not correlated anomalies.
    pub min_caller_signals: usize,
}

/// The detector a rule runs.
#[derive(Debug, Clone)]
pub enum Detector {
    /// Stateless: the `match` conditions alone.
    Match,
    /// First-seen value of a feature.
    NewValue(NewValueParams),
    /// Rate of an action class against the identity's own history.
    Burst(BurstParams),
    /// Travel speed between consecutive locations.
    ImpossibleTravel(TravelParams),
    /// Activity at an hour of the week the identity never works.
    OffHours(OffHoursParams),
    /// First activity after a long silence.
    Dormant(DormantParams),
    /// Several findings on one identity within a window.
    Composite(CompositeParams),
    /// A first-seen or learning identity judged by its account's and peers' priors.
    ColdStart(ColdStartParams),
    /// The first use of a credential minted in the logs, judged against its minting.
    MintedCredential,
}

/// `cold_start` parameters.
#[derive(Debug, Clone)]
pub struct ColdStartParams {
    /// Calls of these classes are judged (empty: every call).
    pub classes: Vec<ActionClass>,
    /// Caller context compared with the account's priors (country, asn, client).
    pub features: Vec<Feature>,
}

impl Detector {
    /// The kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Detector::Match => "match",
            Detector::NewValue(_) => "new_value",
            Detector::Burst(_) => "burst",
            Detector::ImpossibleTravel(_) => "impossible_travel",
            Detector::OffHours(_) => "off_hours",
            Detector::Dormant(_) => "dormant",
            Detector::Composite(_) => "composite",
            Detector::ColdStart(_) => "cold_start",
            Detector::MintedCredential => "minted_credential",
        }
    }
}

/// A part of a dedup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupPart {
    /// Identity key.
    Identity,
    /// Session name.
    Session,
    /// Credential handle.
    Credential,
    /// The anomalous value(s).
    Value,
    /// Source IP.
    SrcIp,
    /// Action.
    Action,
}

/// Compiled learning gate.
#[derive(Debug, Clone, Copy)]
pub struct LearningGate {
    /// Gate enabled.
    pub gate: bool,
    /// Period override (ms).
    pub period_ms: Option<i64>,
    /// Observations override.
    pub min_observations: Option<u64>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Id.
    pub id: String,
    /// Path the rule came from (relative).
    pub path: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Base severity.
    pub severity: Severity,
    /// Maturity.
    pub status: Status,
    /// Sources (empty = all).
    pub sources: Vec<SourceKind>,
    /// Classes the rule applies to.
    pub classes: Vec<IdentityClass>,
    /// Kinds (empty = all non-platform, unless `include_platform`).
    pub kinds: Vec<IdentityKind>,
    /// Include platform principals.
    pub include_platform: bool,
    /// Preconditions.
    pub conditions: Vec<Condition>,
    /// Detector.
    pub detector: Detector,
    /// Lower the score when the action is routine for the identity.
    pub routine_lowers: bool,
    /// Learning gate.
    pub learning: LearningGate,
    /// Dedup window (ms).
    pub dedup_window_ms: i64,
    /// Dedup key parts.
    pub dedup_key: Vec<DedupPart>,
    /// Dedup window anchored at the alert (`dedup.fixed`) rather than the last repeat.
    pub dedup_fixed: bool,
    /// Update alerts for repeats (`dedup.updates`).
    pub dedup_updates: bool,
    /// Findings count towards composite rules (`correlate`).
    pub correlate: bool,
    /// Findings join the identity's incident (`incident`).
    pub incident: bool,
    /// The storm breaker applies (`storm_breaker`).
    pub storm_breaker: bool,
    /// MITRE techniques.
    pub mitre: Vec<String>,
    /// References.
    pub references: Vec<String>,
    /// False positives.
    pub falsepositives: Vec<String>,
    /// Runbook.
    pub runbook: Option<String>,
    /// Inline tests (kept in file form; run by [`super::ruletest`]).
    pub tests: Vec<TestFile>,
    /// Test record templates.
    pub templates: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Rule {
    /// True if a finding of this rule says something about the caller: a deviation from a
    /// baseline (every kind but `match`), or a match on where the call came from or with what
    /// (user agent, client, source address, network, declared countries or regions). Match
    /// rules on what was done (a policy, a trail, a role assignment) are not: a deployer does
    /// those every day. Composites can require such members (`min_caller_signals`).
    pub fn signals_caller(&self) -> bool {
        use super::condition::Field as F;
        !matches!(self.detector, Detector::Match)
            || self.conditions.iter().any(|c| {
                matches!(
                    c.field,
                    F::UserAgent
                        | F::Client
                        | F::SrcIp
                        | F::SrcHost
                        | F::SrcCountry
                        | F::SrcAsn
                        | F::SrcAsOrg
                        | F::SrcNetClass
                        | F::InventoryCountryExpected
                        | F::InventoryRegionExpected
                )
            })
    }
}

const ALL_KINDS: [IdentityKind; 14] = [
    IdentityKind::AwsRole,
    IdentityKind::AwsIamUser,
    IdentityKind::AwsRoot,
    IdentityKind::AwsFederatedUser,
    IdentityKind::AwsService,
    IdentityKind::AwsAccount,
    IdentityKind::AzureServicePrincipal,
    IdentityKind::AzureManagedIdentity,
    IdentityKind::AzureUser,
    IdentityKind::OktaClientApp,
    IdentityKind::OktaUser,
    IdentityKind::OktaSystem,
    IdentityKind::GithubUser,
    IdentityKind::GithubApp,
];

fn line_of<T>(s: &Spanned<T>) -> u64 {
    s.referenced.line()
}

/// The rule id a relative path implies: `aws/x.yml` -> `aws.x`.
pub fn id_for_path(path: &str) -> String {
    let p = path.trim_start_matches("./");
    let p = p
        .strip_suffix(".yml")
        .or_else(|| p.strip_suffix(".yaml"))
        .unwrap_or(p);
    p.replace(['/', '\\'], ".")
}

/// Parses and compiles one rule file. Returns the rule (if it could be built at all) and every
/// problem found.
pub fn compile(path: &str, text: &str) -> (Option<Rule>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut problem = |line: u64, message: String| {
        problems.push(Problem {
            file: path.to_string(),
            line,
            message,
        })
    };
    let rf: RuleFile = match serde_saphyr::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            problems.push(yaml_problem(path, "rule file", &e));
            return (None, problems);
        }
    };

    let want_id = id_for_path(path);
    if rf.id.value != want_id {
        problem(
            line_of(&rf.id),
            format!(
                "id {:?} does not match its path (expected {:?})",
                rf.id.value, want_id
            ),
        );
    }
    let severity = Severity::from_name(&rf.severity.value).unwrap_or_else(|| {
        problem(
            line_of(&rf.severity),
            format!(
                "unknown severity {:?} (informational, low, medium, high, critical)",
                rf.severity.value
            ),
        );
        Severity::Medium
    });
    let status = match rf.status.as_ref().map(|s| s.value.as_str()) {
        None | Some("stable") => Status::Stable,
        Some("test") => Status::Test,
        Some("experimental") => Status::Experimental,
        Some(other) => {
            problem(
                rf.status.as_ref().map(line_of).unwrap_or(0),
                format!("unknown status {other:?} (stable, test, experimental)"),
            );
            Status::Stable
        }
    };
    let mut sources = Vec::new();
    for s in &rf.sources {
        match SourceKind::from_name(&s.value) {
            Some(k) => sources.push(k),
            None => problem(
                line_of(s),
                format!(
                    "unknown source {:?} (cloudtrail, azure_activity, okta, github_audit)",
                    s.value
                ),
            ),
        }
    }
    let id_line = line_of(&rf.id);
    let mut classes = Vec::new();
    for c in &rf.identity.classes {
        match c.as_str() {
            "human" => classes.push(IdentityClass::Human),
            "non_human" => classes.push(IdentityClass::NonHuman),
            other => problem(
                id_line,
                format!("identity.classes: unknown class {other:?}"),
            ),
        }
    }
    if classes.is_empty() {
        classes.push(IdentityClass::NonHuman);
    }
    let mut kinds = Vec::new();
    for k in &rf.identity.kinds {
        match ALL_KINDS.iter().find(|x| x.as_str() == k) {
            Some(x) => kinds.push(*x),
            None => problem(id_line, format!("identity.kinds: unknown kind {k:?}")),
        }
    }

    let mut conditions = Vec::new();
    for c in &rf.conditions {
        if let Some(cond) = compile_condition(c, &mut problem) {
            conditions.push(cond);
        }
    }

    let kind_line = line_of(&rf.kind);
    let detector = match rf.kind.value.as_str() {
        "match" => {
            if conditions.is_empty() && rf.conditions.is_empty() {
                problem(
                    kind_line,
                    "kind match needs at least one `match` condition".into(),
                );
            }
            Detector::Match
        }
        "new_value" => {
            let p = &rf.params;
            let mut features = Vec::new();
            for f in &p.features {
                match Feature::from_name(f) {
                    Some(x) => features.push(x),
                    None => problem(
                        kind_line,
                        format!(
                            "params.features: unknown feature {f:?} (country, asn, network, client, action, region, resource, issuer)"
                        ),
                    ),
                }
            }
            if p.features.is_empty() {
                problem(kind_line, "kind new_value needs params.features".into());
            }
            let mut context = Vec::new();
            for f in &p.context_features {
                match Feature::from_name(f) {
                    Some(x) if features.contains(&x) => problem(
                        kind_line,
                        format!("params.context_features: {f:?} is already in features"),
                    ),
                    Some(x) => context.push(x),
                    None => problem(
                        kind_line,
                        format!("params.context_features: unknown feature {f:?}"),
                    ),
                }
            }
            let scope = match p.scope.as_deref() {
                None | Some("identity") => Scope::Identity,
                Some("session") => Scope::Session,
                Some(o) => {
                    problem(
                        kind_line,
                        format!("params.scope: unknown scope {o:?} (identity, session)"),
                    );
                    Scope::Identity
                }
            };
            if scope == Scope::Session
                && features
                    .iter()
                    .chain(&context)
                    .any(|f| !matches!(f, Feature::Network | Feature::Client))
            {
                problem(
                    kind_line,
                    "params.scope session tracks only network and client".into(),
                );
            }
            let require_all = match p.require.as_deref() {
                None | Some("any") => false,
                Some("all") => true,
                Some(o) => {
                    problem(
                        kind_line,
                        format!("params.require: {o:?} is not any or all"),
                    );
                    false
                }
            };
            Detector::NewValue(NewValueParams {
                features,
                context,
                scope,
                require_all,
                min_prior_values: p.min_prior_values.unwrap_or(1),
                escalate_when_all_new: p.escalate_when_all_new.unwrap_or(false),
            })
        }
        "burst" => {
            let p = &rf.params;
            let class = match p.class.as_deref().map(|c| (c, ActionClass::from_name(c))) {
                Some((_, Some(c))) => c,
                Some((c, None)) => {
                    problem(
                        kind_line,
                        format!(
                            "params.class: unknown class {c:?} (secret_read, enumeration, iam_write, denied, repo_download, token_grant)"
                        ),
                    );
                    ActionClass::SecretRead
                }
                None => {
                    problem(kind_line, "kind burst needs params.class".into());
                    ActionClass::SecretRead
                }
            };
            let distinct = match p.measure.as_deref() {
                None => Distinct::Events,
                Some(m) => Distinct::from_name(m).unwrap_or_else(|| {
                    problem(
                        kind_line,
                        format!("params.measure: {m:?} is not events, actions, resources, novel_actions or novel_resources"),
                    );
                    Distinct::Events
                }),
            };
            let mut dur = |name: &str, v: &Option<String>, default: Option<i64>| -> Option<i64> {
                match v {
                    None => default,
                    Some(x) => match parse_duration_ms(x) {
                        Some(d) if d > 0 => Some(d),
                        _ => {
                            problem(kind_line, format!("params.{name}: bad duration {x:?}"));
                            default
                        }
                    },
                }
            };
            let window_ms = dur("window", &p.window, Some(10 * crate::time::MINUTE_MS))
                .unwrap_or(10 * crate::time::MINUTE_MS);
            let after_idle_ms = dur("after_idle", &p.after_idle, None);
            let max_p = p.max_p.unwrap_or(1e-4);
            if !(0.0..=1.0).contains(&max_p) {
                problem(
                    kind_line,
                    format!("params.max_p: {max_p} is not a probability"),
                );
            }
            let require_idle = p.require_idle.unwrap_or(false);
            if require_idle && after_idle_ms.is_none() {
                problem(
                    kind_line,
                    "params.require_idle needs params.after_idle".into(),
                );
            }
            Detector::Burst(BurstParams {
                rate: RateSpec {
                    class,
                    distinct,
                    window_ms,
                },
                spec: 0,
                min_count: p.min_count.unwrap_or(10).max(1),
                max_p,
                after_idle_ms,
                require_idle,
            })
        }
        "impossible_travel" => {
            let p = &rf.params;
            Detector::ImpossibleTravel(TravelParams {
                max_speed_kmh: p.max_speed_kmh.unwrap_or(900.0),
                min_distance_km: p.min_distance_km.unwrap_or(500.0),
                ignore_cloud: p.ignore_cloud.unwrap_or(false),
            })
        }
        "off_hours" => {
            let p = &rf.params;
            let share = p.max_active_share.unwrap_or(0.5);
            if !(0.0..=1.0).contains(&share) {
                problem(
                    kind_line,
                    format!("params.max_active_share: {share} is not in 0..1"),
                );
            }
            Detector::OffHours(OffHoursParams {
                max_active_share: share,
                tolerance_hours: p.tolerance_hours.unwrap_or(1).min(12),
            })
        }
        "dormant" => {
            let p = &rf.params;
            let min_idle_ms = match &p.min_idle {
                None => 30 * crate::time::DAY_MS,
                Some(x) => parse_duration_ms(x).unwrap_or_else(|| {
                    problem(kind_line, format!("params.min_idle: bad duration {x:?}"));
                    30 * crate::time::DAY_MS
                }),
            };
            Detector::Dormant(DormantParams {
                min_idle_ms,
                gap_factor: p.gap_factor.unwrap_or(3.0),
                min_prior_observations: p.min_prior_observations.unwrap_or(10),
            })
        }
        "composite" => {
            let p = &rf.params;
            let window_ms = match &p.window {
                None => crate::time::HOUR_MS,
                Some(x) => parse_duration_ms(x).unwrap_or_else(|| {
                    problem(kind_line, format!("params.window: bad duration {x:?}"));
                    crate::time::HOUR_MS
                }),
            };
            Detector::Composite(CompositeParams {
                window_ms,
                members: p.members.clone(),
                min_rules: p.min_rules.unwrap_or(2).max(2),
                min_score: p.min_score.unwrap_or(80),
                min_caller_signals: p.min_caller_signals.unwrap_or(0),
            })
        }
        "cold_start" => {
            let p = &rf.params;
            let mut classes = Vec::new();
            for c in &p.classes {
                match ActionClass::from_name(c) {
                    Some(x) => classes.push(x),
                    None => problem(
                        kind_line,
                        format!("params.classes: unknown class {c:?} (secret_read, enumeration, iam_write, denied, repo_download, token_grant)"),
                    ),
                }
            }
            let mut features = Vec::new();
            for f in &p.features {
                match Feature::from_name(f) {
                    Some(x @ (Feature::Country | Feature::Asn | Feature::Client)) => {
                        features.push(x)
                    }
                    _ => problem(
                        kind_line,
                        format!("params.features: {f:?} is not a caller feature the account priors keep (country, asn, client)"),
                    ),
                }
            }
            if features.is_empty() {
                features = vec![Feature::Country, Feature::Asn, Feature::Client];
            }
            Detector::ColdStart(ColdStartParams { classes, features })
        }
        "minted_credential" => Detector::MintedCredential,
        other => {
            problem(
                kind_line,
                format!(
                    "unknown kind {other:?} (match, new_value, burst, impossible_travel, off_hours, dormant, composite, cold_start, minted_credential)"
                ),
            );
            Detector::Match
        }
    };
    let allowed = kind_params(detector.kind());
    for name in rf.params.set_names() {
        if !allowed.contains(&name) {
            problem(
                kind_line,
                format!(
                    "params.{name} is not a parameter of kind {}",
                    detector.kind()
                ),
            );
        }
    }
    let routine_lowers = rf
        .params
        .routine_lowers
        .unwrap_or(matches!(detector, Detector::Match));
    // request.* conditions read the raw request: test them last.
    conditions.sort_by_key(|c: &Condition| c.field.reads_request());

    let default_gate = matches!(&detector, Detector::NewValue(p) if p.scope == Scope::Identity)
        || matches!(
            detector,
            Detector::Burst(_) | Detector::ImpossibleTravel(_) | Detector::OffHours(_)
        );
    let learning = match &rf.learning {
        None => LearningGate {
            gate: default_gate,
            period_ms: None,
            min_observations: None,
        },
        Some(l) => LearningGate {
            gate: l.gate.unwrap_or(default_gate),
            period_ms: l.period.as_deref().and_then(|p| {
                let d = parse_duration_ms(p);
                if d.is_none() {
                    problem(
                        id_line,
                        format!("learning.period: bad duration {p:?} (e.g. 7d, 12h)"),
                    );
                }
                d
            }),
            min_observations: l.min_observations,
        },
    };

    let dedup_fixed = rf.dedup.as_ref().is_some_and(|d| d.fixed);
    let dedup_updates = rf.dedup.as_ref().is_none_or(|d| d.updates);
    let (dedup_window_ms, dedup_key) = match &rf.dedup {
        None => (
            crate::time::HOUR_MS,
            vec![DedupPart::Identity, DedupPart::Value],
        ),
        Some(d) => {
            let w = parse_duration_ms(&d.window).unwrap_or_else(|| {
                problem(
                    id_line,
                    format!("dedup.window: bad duration {:?}", d.window),
                );
                crate::time::HOUR_MS
            });
            let mut parts = Vec::new();
            for k in &d.key {
                match k.as_str() {
                    "identity" => parts.push(DedupPart::Identity),
                    "session" => parts.push(DedupPart::Session),
                    "credential" => parts.push(DedupPart::Credential),
                    "value" => parts.push(DedupPart::Value),
                    "src.ip" => parts.push(DedupPart::SrcIp),
                    "action" => parts.push(DedupPart::Action),
                    o => problem(id_line, format!("dedup.key: unknown part {o:?}")),
                }
            }
            if parts.is_empty() {
                parts = vec![DedupPart::Identity, DedupPart::Value];
            }
            (w, parts)
        }
    };

    let mut mitre = Vec::new();
    for m in &rf.mitre {
        if is_technique_id(&m.value) {
            mitre.push(m.value.clone());
        } else {
            problem(
                line_of(m),
                format!(
                    "mitre: {:?} is not a technique id like T1078 or T1552.005",
                    m.value
                ),
            );
        }
    }
    if rf.mitre.is_empty() {
        problem(
            id_line,
            "mitre: map the rule to at least one ATT&CK technique".into(),
        );
    }
    if rf.title.trim().is_empty() || rf.description.trim().is_empty() {
        problem(id_line, "title and description must not be empty".into());
    }

    // Tests: at least one that fires and one that stays quiet; records must parse.
    let firing = rf.tests.iter().any(|t| t.expect.alerts > 0);
    let quiet = rf.tests.iter().any(|t| t.expect.alerts == 0);
    if !firing {
        problem(
            id_line,
            "tests: needs at least one firing test (expect.alerts > 0)".into(),
        );
    }
    if !quiet {
        problem(
            id_line,
            "tests: needs at least one quiet test (expect.alerts: 0)".into(),
        );
    }
    let mut names = std::collections::HashSet::new();
    for t in &rf.tests {
        let line = line_of(&t.name);
        if !names.insert(t.name.value.clone()) {
            problem(
                line,
                format!("tests: duplicate test name {:?}", t.name.value),
            );
        }
        if t.events.is_empty() {
            problem(line, format!("test {:?}: no events", t.name.value));
        }
        for s in [&t.expect.min_severity, &t.expect.max_severity]
            .into_iter()
            .flatten()
        {
            if Severity::from_name(s).is_none() {
                problem(
                    line,
                    format!("test {:?}: unknown severity {s:?}", t.name.value),
                );
            }
        }
        for r in t.history.iter().chain(&t.events) {
            match (&r.record, &r.template) {
                (Some(_), None) => {}
                (None, Some(name)) if rf.templates.contains_key(name) => {}
                (None, Some(name)) => problem(
                    line,
                    format!("test {:?}: unknown template {name:?}", t.name.value),
                ),
                _ => problem(
                    line,
                    format!(
                        "test {:?}: each record needs exactly one of record or template",
                        t.name.value
                    ),
                ),
            }
            if let Some(e) = &r.after {
                if parse_duration_ms(e).is_none() {
                    problem(
                        line,
                        format!("test {:?}: bad duration {e:?} in after", t.name.value),
                    );
                }
            }
            if let Some(e) = &r.every {
                if parse_duration_ms(e).is_none() {
                    problem(
                        line,
                        format!("test {:?}: bad duration {e:?} in every", t.name.value),
                    );
                }
            }
            if r.repeat.unwrap_or(1) > 100_000 {
                problem(
                    line,
                    format!("test {:?}: repeat above 100000", t.name.value),
                );
            }
        }
    }

    let rule = Rule {
        id: rf.id.value.clone(),
        path: path.to_string(),
        title: rf.title,
        description: rf.description,
        severity,
        status,
        sources,
        classes,
        kinds,
        include_platform: rf.identity.include_platform,
        conditions,
        detector,
        routine_lowers,
        learning,
        dedup_window_ms,
        dedup_fixed,
        dedup_updates,
        correlate: rf.correlate,
        incident: rf.incident,
        storm_breaker: rf.storm_breaker,
        dedup_key,
        mitre,
        references: rf.references,
        falsepositives: rf.falsepositives,
        runbook: rf.runbook,
        tests: rf.tests,
        templates: rf.templates,
    };
    (Some(rule), problems)
}

/// A YAML syntax or schema error as a problem at its line (`what`: "rule file", "allowlist").
pub fn yaml_problem(file: &str, what: &str, e: &serde_saphyr::Error) -> Problem {
    let msg = e.to_string();
    Problem {
        file: file.to_string(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        message: format!(
            "invalid {what}: {}",
            msg.lines().next().unwrap_or("invalid YAML")
        ),
    }
}

fn is_technique_id(s: &str) -> bool {
    let b = s.as_bytes();
    let base = b.len() >= 5 && b[0] == b'T' && b[1..5].iter().all(u8::is_ascii_digit);
    base && (b.len() == 5
        || (b.len() == 9 && b[5] == b'.' && b[6..].iter().all(u8::is_ascii_digit)))
}

fn compile_condition(
    c: &ConditionFile,
    problem: &mut impl FnMut(u64, String),
) -> Option<Condition> {
    let line = line_of(&c.field);
    let field = match Field::from_name(&c.field.value) {
        Some(f) => f,
        None => {
            let names: Vec<&str> = super::condition::FIELDS.iter().map(|(n, _)| *n).collect();
            problem(
                line,
                format!(
                    "unknown field {:?} (one of: {})",
                    c.field.value,
                    names.join(", ")
                ),
            );
            return None;
        }
    };
    let lower = |v: Vec<String>| -> Vec<String> {
        if c.nocase {
            v.into_iter().map(|s| s.to_ascii_lowercase()).collect()
        } else {
            v
        }
    };
    let mut ops = Vec::new();
    if let Some(v) = &c.eq {
        ops.push(Op::In(lower(v.clone().into_vec())));
    }
    if let Some(v) = &c.prefix {
        ops.push(Op::Prefix(lower(v.clone().into_vec())));
    }
    if let Some(v) = &c.suffix {
        ops.push(Op::Suffix(lower(v.clone().into_vec())));
    }
    if let Some(v) = &c.contains {
        ops.push(Op::Contains(lower(v.clone().into_vec())));
    }
    if let Some(r) = &c.regex {
        let pat = if c.nocase {
            format!("(?i){}", r.value)
        } else {
            r.value.clone()
        };
        match regex::Regex::new(&pat) {
            Ok(re) => ops.push(Op::Regex(re)),
            Err(e) => {
                let first = e.to_string().lines().last().unwrap_or("").to_string();
                problem(line_of(r), format!("bad regex {:?}: {first}", r.value));
                return None;
            }
        }
    }
    if let Some(cidrs) = &c.cidr {
        if field != Field::SrcIp {
            problem(line, "cidr applies only to field src.ip".into());
            return None;
        }
        let mut nets = Vec::new();
        for s in cidrs.value.clone().into_vec() {
            match s
                .parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            {
                Ok(n) => nets.push(n),
                Err(_) => {
                    problem(line_of(cidrs), format!("bad CIDR {s:?}"));
                    return None;
                }
            }
        }
        ops.push(Op::Cidr(nets));
    }
    if let Some(e) = c.exists {
        ops.push(Op::Exists(e));
    }
    if let Some(o) = &c.eq_field {
        match Field::from_name(o) {
            Some(Field::Request) | None => {
                problem(
                    line,
                    format!("eq_field: unknown or unsupported field {o:?}"),
                );
                return None;
            }
            Some(f) => ops.push(Op::EqField(f)),
        }
    }
    let path: Vec<String> = match c.field.value.strip_prefix("request.") {
        Some(p) if field == Field::Request => {
            let parts: Vec<String> = p.split('.').map(str::to_string).collect();
            if parts.iter().any(|x| x.is_empty()) {
                problem(line, format!("bad request path {:?}", c.field.value));
                return None;
            }
            parts
        }
        _ => Vec::new(),
    };
    match ops.len() {
        1 => Some(Condition {
            field,
            op: ops.pop()?,
            not: c.not,
            nocase: c.nocase,
            path,
        }),
        0 => {
            problem(
                line,
                "condition has no test (eq, prefix, suffix, contains, regex, cidr, exists, eq_field)"
                    .into(),
            );
            None
        }
        _ => {
            problem(
                line,
                "condition has more than one test; write one condition per test".into(),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_techniques() {
        assert_eq!(id_for_path("aws/session_x.yml"), "aws.session_x");
        assert_eq!(
            id_for_path("standard/new_country.yaml"),
            "standard.new_country"
        );
        assert!(is_technique_id("T1078"));
        assert!(is_technique_id("T1552.005"));
        assert!(!is_technique_id("T15"));
        assert!(!is_technique_id("TA0001"));
    }
}
