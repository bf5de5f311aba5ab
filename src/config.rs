//! Daemon configuration (`nhid run --config FILE`): a TOML file, then environment overrides,
//! then validation that lists every problem. Every key is documented in docs/configuration.md.
//!
//! Environment overrides: `NHID_` + the key path in upper case with `__` between levels; a
//! numeric level indexes an array of tables (`NHID_SINKS__0__PATH=/x`, `NHID_SOURCES__0__BROKERS`);
//! the index one past the end appends a table. The value is read as a TOML value when it is one
//! (`true`, `42`, `["a","b"]`, `{ k = "v" }`, `"quoted"`), otherwise as a string. This overlay is
//! done by hand on the TOML tree because the `config` crate cannot address array elements from
//! the environment (rust-cli/config-rs#102) and lowercases keys.
//!
//! Relative paths resolve against the config file's directory. Secrets in Kafka `properties` may
//! be `env:VAR` (read from the environment) or given as `KEY_file = "PATH"` (the file's contents,
//! trimmed, become `KEY`); they are never logged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::detect::rule::Severity;
use crate::parsers::Format;
use crate::time::parse_duration_ms;

/// Default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where records come from.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// GeoIP databases.
    #[serde(default)]
    pub geoip: GeoipConfig,
    /// Rules and allowlist.
    #[serde(default)]
    pub detections: DetectionsConfig,
    /// NHI inventory (owner context, criticality, revocation handles).
    #[serde(default)]
    pub inventory: InventoryConfig,
    /// Baseline settings.
    #[serde(default)]
    pub baseline: BaselineSection,
    /// Account and peer priors (cold start).
    #[serde(default)]
    pub priors: PriorsSection,
    /// Incidents: findings grouped per identity episode.
    #[serde(default)]
    pub incidents: IncidentsSection,
    /// Snapshots.
    #[serde(default)]
    pub state: StateConfig,
    /// Dead letters of records that do not parse (non-Kafka sources, or no dead-letter topic).
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
    /// HTTP endpoint.
    #[serde(default)]
    pub server: ServerConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Batching.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// Where alerts go.
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
}

/// One source.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceConfig {
    /// A Kafka consumer group.
    Kafka(KafkaSourceConfig),
    /// Files, read once (replay-like runs).
    File(FileSourceConfig),
}

impl SourceConfig {
    /// The source's label in logs and metrics.
    pub fn name(&self, index: usize) -> String {
        let (n, t) = match self {
            SourceConfig::Kafka(k) => (&k.name, "kafka"),
            SourceConfig::File(f) => (&f.name, "file"),
        };
        n.clone().unwrap_or_else(|| format!("{t}{index}"))
    }
}

/// A topic, by name only (the source's `format`) or with its own format.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TopicSpec {
    /// Name only.
    Name(String),
    /// Name and format.
    Full {
        /// Topic name.
        name: String,
        /// Format of its records.
        format: String,
    },
}

impl TopicSpec {
    /// Topic name.
    pub fn name(&self) -> &str {
        match self {
            TopicSpec::Name(n) | TopicSpec::Full { name: n, .. } => n,
        }
    }
}

/// `[[sources]] type = "kafka"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// Label.
    pub name: Option<String>,
    /// bootstrap.servers.
    pub brokers: String,
    /// Consumer group.
    pub group_id: String,
    /// Topics.
    pub topics: Vec<TopicSpec>,
    /// Default format of topics named without one.
    #[serde(default = "auto")]
    pub format: String,
    /// `earliest` or `latest`.
    #[serde(default = "earliest")]
    pub start_from: String,
    /// Unparsable records go here (with the reason in headers and body) instead of the file.
    pub dead_letter_topic: Option<String>,
    /// librdkafka properties, passed through (TLS, SASL, timeouts).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// `[[sources]] type = "file"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// Label.
    pub name: Option<String>,
    /// Files to read, in order.
    pub paths: Vec<PathBuf>,
    /// Format.
    #[serde(default = "auto")]
    pub format: String,
}

/// `[geoip]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoipConfig {
    /// City (or Country) MMDB.
    pub city: Option<PathBuf>,
    /// ASN MMDB.
    pub asn: Option<PathBuf>,
}

/// `[detections]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionsConfig {
    /// Rules directory (default: the bundled pack).
    pub dir: Option<PathBuf>,
    /// Allowlist file.
    pub allowlist: Option<PathBuf>,
    /// Reload when the rule or allowlist files change (SIGHUP always reloads).
    #[serde(default)]
    pub watch: bool,
}

/// `[inventory]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryConfig {
    /// Inventory file (CSV, YAML or JSON; docs/inventory.md). Reloaded with the rules.
    pub path: Option<PathBuf>,
}

/// `[baseline]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineSection {
    /// Learning period per identity.
    #[serde(default = "seven_days")]
    pub learning_period: String,
    /// Observations before novelty counts.
    #[serde(default = "fifty")]
    pub learning_min_observations: u64,
    /// Forget values unseen this long.
    #[serde(default = "thirty_days")]
    pub forget_after: String,
}

impl Default for BaselineSection {
    fn default() -> Self {
        BaselineSection {
            learning_period: seven_days(),
            learning_min_observations: fifty(),
            forget_after: thirty_days(),
        }
    }
}

/// `[incidents]`: findings on one identity within an episode form one alert (docs/incidents.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsSection {
    /// Group findings into incidents (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// An incident closes after this much event time without findings (default `2h`).
    #[serde(default = "two_hours")]
    pub gap: String,
    /// ... or this long after it opened (default `24h`).
    #[serde(default = "one_day")]
    pub max_span: String,
}

fn two_hours() -> String {
    "2h".into()
}

impl Default for IncidentsSection {
    fn default() -> Self {
        IncidentsSection {
            enabled: yes(),
            gap: two_hours(),
            max_span: one_day(),
        }
    }
}

/// `[priors]`: how identities without a baseline are judged (docs/priors.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorsSection {
    /// Keep cross-identity state (account and peer priors, credential lineage).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Event time an account must be watched before "never seen in this account" counts.
    #[serde(default = "one_day")]
    pub warmup: String,
    /// Events an account must have before its priors count.
    #[serde(default = "thousand")]
    pub warmup_events: u64,
    /// Members a peer group needs.
    #[serde(default = "three")]
    pub peer_min_members: usize,
}

fn one_day() -> String {
    "24h".into()
}
fn thousand() -> u64 {
    1000
}
fn three() -> usize {
    3
}

impl Default for PriorsSection {
    fn default() -> Self {
        PriorsSection {
            enabled: yes(),
            warmup: one_day(),
            warmup_events: thousand(),
            peer_min_members: three(),
        }
    }
}

/// `[state]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Snapshot directory (none: no persistence).
    pub dir: Option<PathBuf>,
    /// How often to snapshot (wall clock).
    #[serde(default = "sixty_s")]
    pub snapshot_interval: String,
    /// Identities with a full profile at most (memory budget; least recently seen evicted).
    #[serde(default = "default_max_identities")]
    pub max_identities: usize,
    /// Bytes of identity state at most (profiles, markers, labels as accounted; RSS is about
    /// 1.3x this plus ~30 MB: docs/operations.md "Memory budget").
    #[serde(default = "default_max_state_bytes")]
    pub max_bytes: usize,
}

fn default_max_identities() -> usize {
    crate::baseline::Budget::default().max_identities
}

fn default_max_state_bytes() -> usize {
    crate::baseline::Budget::default().max_bytes
}

impl StateConfig {
    /// The memory budget.
    pub fn budget(&self) -> crate::baseline::Budget {
        crate::baseline::Budget {
            max_identities: self.max_identities,
            max_bytes: self.max_bytes,
        }
    }
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            dir: None,
            snapshot_interval: sixty_s(),
            max_identities: default_max_identities(),
            max_bytes: default_max_state_bytes(),
        }
    }
}

/// `[dead_letter]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// JSONL file.
    pub path: Option<PathBuf>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address (`host:port`; port 0 picks one); `""` disables the endpoint.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Bearer token /metrics (and later /api, /ui) require; /healthz and /readyz stay open.
    #[serde(default)]
    pub token: Option<String>,
    /// File holding the token (a mounted Secret); read at startup, surrounding whitespace dropped.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            token: None,
            token_file: None,
        }
    }
}

/// Shortest token accepted (a guessable token is no protection).
pub const MIN_TOKEN_CHARS: usize = 16;

impl ServerConfig {
    /// The endpoint's token, from `token` or `token_file` (`Ok(None)`: the endpoint is open).
    pub fn resolve_token(&self) -> Result<Option<String>, String> {
        // Like every other secret: `env:VAR` reads the environment, a file is trimmed.
        let t = match secret("token", &self.token, &self.token_file) {
            Ok(Some(t)) => t.trim().to_string(),
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("server.{e}")),
        };
        if t.chars().count() < MIN_TOKEN_CHARS || t.chars().any(|c| c.is_control() || c == ' ') {
            return Err(format!(
                "server: the token must be at least {MIN_TOKEN_CHARS} characters without spaces or control characters"
            ));
        }
        Ok(Some(t))
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    #[serde(default = "text")]
    pub format: String,
    /// tracing EnvFilter directive (RUST_LOG overrides).
    #[serde(default = "info")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: text(),
            level: info(),
        }
    }
}

/// `[pipeline]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Records per delivery batch.
    #[serde(default = "batch_max")]
    pub batch_max: usize,
    /// Longest a batch waits before delivery.
    #[serde(default = "batch_linger")]
    pub batch_linger: String,
    /// Largest record accepted.
    #[serde(default = "max_record_bytes")]
    pub max_record_bytes: usize,
    /// How far past the stream's confirmed watermark a record may be dated and still update
    /// state (`off`: no check). Later records are evaluated, not learned, and dead-lettered as
    /// `future_time` (docs/operations.md).
    #[serde(default = "one_hour")]
    pub future_tolerance: String,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch_max: batch_max(),
            batch_linger: batch_linger(),
            max_record_bytes: max_record_bytes(),
            future_tolerance: one_hour(),
        }
    }
}

fn one_hour() -> String {
    "1h".into()
}

/// A `future_tolerance` value in ms: `None` for `off`, `Err` if it is not a duration.
pub fn future_tolerance_ms(v: &str) -> Result<Option<i64>, String> {
    if v.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match parse_duration_ms(v) {
        Some(ms) if ms > 0 => Ok(Some(ms)),
        _ => Err(format!(
            "`{v}` is not a positive duration (e.g. 1h, 30m) or `off`"
        )),
    }
}

/// One sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SinkConfig {
    /// JSONL file (appends, flushes each batch).
    File(FileSinkConfig),
    /// Standard output.
    Stdout(StdoutSinkConfig),
    /// Kafka topic.
    Kafka(KafkaSinkConfig),
    /// Splunk HTTP Event Collector.
    SplunkHec(SplunkHecSinkConfig),
    /// Elasticsearch / OpenSearch `_bulk`.
    Elastic(ElasticSinkConfig),
    /// SOAR webhook.
    Webhook(WebhookSinkConfig),
}

impl SinkConfig {
    /// The filter part.
    pub fn filter(&self) -> &SinkFilter {
        match self {
            SinkConfig::File(s) => &s.filter,
            SinkConfig::Stdout(s) => &s.filter,
            SinkConfig::Kafka(s) => &s.filter,
            SinkConfig::SplunkHec(s) => &s.filter,
            SinkConfig::Elastic(s) => &s.filter,
            SinkConfig::Webhook(s) => &s.filter,
        }
    }

    /// The sink's type name (its metric label).
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkConfig::File(_) => "file",
            SinkConfig::Stdout(_) => "stdout",
            SinkConfig::Kafka(_) => "kafka",
            SinkConfig::SplunkHec(_) => "splunk_hec",
            SinkConfig::Elastic(_) => "elastic",
            SinkConfig::Webhook(_) => "webhook",
        }
    }

    /// Label in logs and metrics.
    pub fn name(&self, index: usize) -> String {
        let n = match self {
            SinkConfig::File(s) => &s.name,
            SinkConfig::Stdout(s) => &s.name,
            SinkConfig::Kafka(s) => &s.name,
            SinkConfig::SplunkHec(s) => &s.name,
            SinkConfig::Elastic(s) => &s.name,
            SinkConfig::Webhook(s) => &s.name,
        };
        n.clone()
            .unwrap_or_else(|| format!("{}{index}", self.type_name()))
    }
}

/// Per-sink selection of alerts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkFilter {
    /// Lowest severity sent.
    #[serde(default = "informational")]
    pub min_severity: String,
    /// Rule id globs sent.
    #[serde(default = "all_rules")]
    pub rules: Vec<String>,
    /// Output format: `ocsf` (default), `ecs`, `cim` (`elastic` defaults to `ecs`,
    /// `splunk_hec` to `cim`).
    #[serde(default)]
    pub format: Option<String>,
    /// Largest alert document sent (bytes); longer strings of a larger alert are cut with a
    /// marker (`unmapped.nhid.truncated`). Default by type: Kafka `message.max.bytes` less
    /// 4 KiB, HEC and webhook 1,000,000, Elastic 10,000,000, file and stdout no limit.
    #[serde(default)]
    pub max_alert_bytes: Option<usize>,
}

impl SinkFilter {
    /// The format name (`ocsf` when not given).
    pub fn format_name(&self) -> &str {
        self.format.as_deref().unwrap_or("ocsf")
    }
}

/// `type = "file"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// Label.
    pub name: Option<String>,
    /// Path (appended).
    pub path: PathBuf,
    /// Rotate when the file reaches this many bytes (0 = never; default 0).
    #[serde(default)]
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` ... `path.N`; default 5).
    #[serde(default = "five")]
    pub keep: u32,
    /// Filter.
    #[serde(flatten)]
    pub filter: SinkFilter,
}

/// Declares an HTTP sink's config: its own fields plus the settings every HTTP sink has.
macro_rules! http_sink_config {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Label.
            pub name: Option<String>,
            /// Endpoint URL (`https://...`).
            pub url: String,
            /// Whole-request timeout (default `10s`).
            #[serde(default = "ten_s")]
            pub timeout: String,
            /// Retries after the first attempt (default 5).
            #[serde(default = "five")]
            pub max_retries: u32,
            /// First retry backoff (default `500ms`; doubles, with jitter).
            #[serde(default = "half_s")]
            pub retry_backoff: String,
            /// Longest backoff (default `30s`; `Retry-After` is honoured up to 5 min).
            #[serde(default = "thirty_s")]
            pub retry_max_backoff: String,
            /// Extra CA certificate (PEM) to trust, for private PKI.
            pub ca_file: Option<PathBuf>,
            /// Alerts not delivered after the retries go here (default `[dead_letter] path`).
            pub dead_letter: Option<PathBuf>,
            /// Allow `http://` although the sink sends credentials (default false: refused;
            /// for a loopback proxy or tests).
            #[serde(default)]
            pub allow_insecure_http: bool,
            $($(#[$fm])* pub $f: $t,)*
            /// Filter.
            #[serde(flatten)]
            pub filter: SinkFilter,
        }

        impl $name {
            /// The HTTP settings, with durations parsed and the dead-letter file chosen.
            pub fn http_settings(
                &self,
                default_dead_letter: Option<&Path>,
            ) -> Result<crate::sinks::http::HttpSettings, String> {
                if let Some(why) = self.insecure_credentials() {
                    return Err(why);
                }
                let d = |v: &str| std::time::Duration::from_millis(duration_ms(v).max(0) as u64);
                Ok(crate::sinks::http::HttpSettings {
                    url: self.url.clone(),
                    timeout: d(&self.timeout),
                    max_retries: self.max_retries,
                    backoff: d(&self.retry_backoff),
                    max_backoff: d(&self.retry_max_backoff),
                    ca_file: self.ca_file.clone(),
                    dead_letter: self
                        .dead_letter
                        .clone()
                        .or_else(|| default_dead_letter.map(Path::to_path_buf))
                        .ok_or("no dead_letter file (set it, or [dead_letter] path)")?,
                })
            }

            /// Why the sink may not send to its URL: credentials over `http://` without
            /// `allow_insecure_http` (`None`: fine).
            pub fn insecure_credentials(&self) -> Option<String> {
                // Parsed as the client will (WHATWG: `http:host`, tabs inside, control bytes
                // before it all mean http://); a user:password in the URL is a credential too.
                let Ok(u) = reqwest::Url::parse(self.url.trim()) else {
                    return None; // reported as a bad URL
                };
                let in_url = !u.username().is_empty() || u.password().is_some();
                let plain = u.scheme() == "http";
                (plain && (in_url || self.sends_credentials()) && !self.allow_insecure_http).then(|| {
                    "url: http:// would send this sink's credentials in clear text; use https:// \
                     (or set allow_insecure_http = true for a loopback proxy)"
                        .to_string()
                })
            }

            fn http_durations(&self) -> [(&'static str, &String); 3] {
                [
                    ("timeout", &self.timeout),
                    ("retry_backoff", &self.retry_backoff),
                    ("retry_max_backoff", &self.retry_max_backoff),
                ]
            }
        }
    };
}

fn ten_s() -> String {
    "10s".into()
}
fn thirty_s() -> String {
    "30s".into()
}
fn half_s() -> String {
    "500ms".into()
}
fn five() -> u32 {
    5
}
fn hundred() -> usize {
    100
}
fn hec_sourcetype() -> String {
    "nhid:alert".into()
}
fn nhid_source() -> String {
    "nhid".into()
}
fn nhid_index() -> String {
    "nhid-alerts".into()
}

http_sink_config! {
    /// `type = "splunk_hec"`.
    SplunkHecSinkConfig {
        /// HEC token: the value, `env:VAR`, or use `token_file`.
        token: Option<String>,
        /// File holding the token.
        token_file: Option<PathBuf>,
        /// `sourcetype` (default `nhid:alert`).
        #[serde(default = "hec_sourcetype")]
        sourcetype: String,
        /// `source` (default `nhid`).
        #[serde(default = "nhid_source")]
        source: String,
        /// `index` (default: the token's default index).
        index: Option<String>,
        /// `host` (default: none, Splunk uses the sender).
        host: Option<String>,
        /// Wait for indexer acknowledgement (the token must have it enabled).
        #[serde(default)]
        ack: bool,
        /// How long to wait for an acknowledgement before resending (default `60s`).
        #[serde(default = "sixty_s")]
        ack_timeout: String,
        /// Alerts per request (default 100).
        #[serde(default = "hundred")]
        batch_max: usize,
    }
}

impl SplunkHecSinkConfig {
    /// The HEC token goes with every request.
    fn sends_credentials(&self) -> bool {
        true
    }
}

http_sink_config! {
    /// `type = "elastic"`.
    ElasticSinkConfig {
        /// Index or data stream (default `nhid-alerts`).
        #[serde(default = "nhid_index")]
        index: String,
        /// `index` is a data stream (create-only): every version of an alert is its own
        /// document, `_id` = `UID:SEQ`. Otherwise (an index) the document `_id` = uid is
        /// replaced by each newer version (external versioning). Default false.
        #[serde(default)]
        data_stream: bool,
        /// API key (`env:VAR` allowed), or `api_key_file`.
        api_key: Option<String>,
        /// File holding the API key.
        api_key_file: Option<PathBuf>,
        /// Basic auth user.
        username: Option<String>,
        /// Basic auth password (`env:VAR` allowed), or `password_file`.
        password: Option<String>,
        /// File holding the password.
        password_file: Option<PathBuf>,
        /// Alerts per request (default 100).
        #[serde(default = "hundred")]
        batch_max: usize,
    }
}

impl ElasticSinkConfig {
    /// An API key or basic auth goes with every request.
    fn sends_credentials(&self) -> bool {
        self.api_key.is_some()
            || self.api_key_file.is_some()
            || self.username.is_some()
            || self.password.is_some()
            || self.password_file.is_some()
    }
}

http_sink_config! {
    /// `type = "webhook"`.
    WebhookSinkConfig {
        /// Static headers (values may be `env:VAR`).
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// HMAC-SHA256 signing key (`env:VAR` allowed), or `hmac_key_file`.
        hmac_key: Option<String>,
        /// File holding the HMAC key.
        hmac_key_file: Option<PathBuf>,
        /// Body template: JSON with `{{path}}` placeholders (`{{alert}}` = the whole document).
        template: Option<String>,
    }
}

impl WebhookSinkConfig {
    /// Static headers may carry an API key or bearer token (the HMAC key itself is not sent).
    fn sends_credentials(&self) -> bool {
        !self.headers.is_empty()
    }
}

/// A secret from its value (`env:VAR` reads the environment) or a file (trimmed).
pub fn secret(
    key: &str,
    value: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<String>, String> {
    if let Some(p) = file {
        return std::fs::read_to_string(p)
            .map(|t| Some(t.trim().to_string()))
            .map_err(|e| format!("{key}_file {}: {e}", p.display()));
    }
    match value.as_deref() {
        None => Ok(None),
        Some(v) => match v.strip_prefix("env:") {
            Some(var) => std::env::var(var)
                .map(|s| Some(s.trim().to_string()))
                .map_err(|_| format!("{key}: environment variable {var} is not set")),
            None => Ok(Some(v.to_string())),
        },
    }
}

/// `type = "stdout"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutSinkConfig {
    /// Label.
    pub name: Option<String>,
    /// Filter.
    #[serde(flatten)]
    pub filter: SinkFilter,
}

/// `type = "kafka"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// Label.
    pub name: Option<String>,
    /// bootstrap.servers.
    pub brokers: String,
    /// Alerts topic (keyed by identity).
    pub topic: String,
    /// Idempotent producer.
    #[serde(default = "yes")]
    pub idempotent: bool,
    /// librdkafka properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Filter.
    #[serde(flatten)]
    pub filter: SinkFilter,
}

fn auto() -> String {
    "auto".into()
}
fn earliest() -> String {
    "earliest".into()
}
fn seven_days() -> String {
    "7d".into()
}
fn thirty_days() -> String {
    "30d".into()
}
fn fifty() -> u64 {
    50
}
fn sixty_s() -> String {
    "60s".into()
}
fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}
fn text() -> String {
    "text".into()
}
fn info() -> String {
    "info".into()
}
fn batch_max() -> usize {
    500
}
fn batch_linger() -> String {
    "50ms".into()
}
fn max_record_bytes() -> usize {
    crate::parsers::DEFAULT_MAX_RECORD_BYTES
}
fn informational() -> String {
    "informational".into()
}
fn all_rules() -> Vec<String> {
    vec!["*".into()]
}
fn yes() -> bool {
    true
}

/// Configuration problems; every one is listed.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

/// librdkafka properties nhid sets itself (delivery guarantees depend on them).
const MANAGED_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.offset.store",
    "enable.auto.commit",
    "auto.offset.reset",
    "enable.partition.eof",
];

/// Applies `NHID_*` overrides from `vars` to a TOML tree.
pub fn apply_env_overrides(
    root: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut vars: Vec<(String, String)> = vars
        .filter(|(k, _)| k.starts_with("NHID_") && k.contains("__"))
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> = name["NHID_".len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if path.iter().any(String::is_empty) {
            errors.push(format!("{name}: empty key level"));
            continue;
        }
        // Secrets stay text (never parsed as TOML, so never echoed in a parse error).
        let last = path.last().map(String::as_str).unwrap_or("");
        let value = if ["password", "token", "key", "secret"]
            .iter()
            .any(|s| last.contains(s))
        {
            toml::Value::String(raw)
        } else {
            parse_env_value(&raw)
        };
        if let Err(e) = set_path(root, &path, value) {
            errors.push(format!("{name}: {e}"));
        }
    }
    errors
}

fn parse_env_value(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (head, rest) = path.split_first().ok_or("empty key")?;
    if rest.is_empty() {
        table.insert(head.clone(), value);
        return Ok(());
    }
    let slot = table
        .entry(head.clone())
        .or_insert_with(|| match rest[0].parse::<usize>() {
            Ok(_) => toml::Value::Array(Vec::new()),
            Err(_) => toml::Value::Table(toml::Table::new()),
        });
    set_in_value(slot, head, rest, value)
}

fn set_in_value(
    slot: &mut toml::Value,
    at: &str,
    rest: &[String],
    value: toml::Value,
) -> Result<(), String> {
    match slot {
        toml::Value::Table(t) => set_path(t, rest, value),
        toml::Value::Array(a) => {
            let i: usize = rest[0]
                .parse()
                .map_err(|_| format!("`{at}` is a list: the next level must be an index"))?;
            if i == a.len() {
                a.push(toml::Value::Table(toml::Table::new()));
            }
            let len = a.len();
            let elem = a
                .get_mut(i)
                .ok_or_else(|| format!("`{at}` has {len} entries; index {i} is out of range"))?;
            if rest.len() == 1 {
                *elem = value;
                return Ok(());
            }
            set_in_value(elem, &rest[0], &rest[1..], value)
        }
        _ => Err(format!("`{at}` is not a table")),
    }
}

/// Reads, overlays and validates a config file: every problem is listed.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with_env(path, std::env::vars())
}

/// [`load`] with an explicit environment (tests).
pub fn load_with_env(
    path: &Path,
    env: impl Iterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![format!("{}: {e}", path.display())]))?;
    let de_err = |e: toml::de::Error| {
        ConfigErrors(vec![format!(
            "{}: {}",
            path.display(),
            e.to_string().trim()
        )])
    };
    let mut root: toml::Table = text.parse().map_err(de_err)?;
    let env_errors = apply_env_overrides(&mut root, env);
    if !env_errors.is_empty() {
        return Err(ConfigErrors(env_errors));
    }
    let mut cfg: Config = root.try_into().map_err(de_err)?;
    let base = path.parent().unwrap_or(Path::new("."));
    cfg.resolve_paths(base);
    cfg.validate().map(|()| cfg)
}

fn resolve(base: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        *p = base.join(&*p);
    }
}

/// librdkafka properties whose value is a file (TLS material, Kerberos keytab): resolved like
/// nhid's own paths and checked to exist, so a typo is a load error with its key instead of a
/// handshake that fails later with librdkafka's generic message.
const FILE_PROPERTIES: &[&str] = &[
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.crl.location",
    "ssl.keystore.location",
    "sasl.kerberos.keytab",
];

/// `ssl.ca.location` may also name librdkafka's special value rather than a file.
fn is_file_property(key: &str, value: &str) -> bool {
    FILE_PROPERTIES.contains(&key) && !value.starts_with("env:") && value != "probe"
}

fn resolve_property_paths(base: &Path, props: &mut BTreeMap<String, String>) {
    for (k, v) in props.iter_mut() {
        let file_key = k.strip_suffix("_file").filter(|b| !b.is_empty());
        if is_file_property(k, v) || file_key.is_some() {
            let mut p = PathBuf::from(&*v);
            resolve(base, &mut p);
            *v = p.display().to_string();
        }
    }
}

impl Config {
    fn resolve_paths(&mut self, base: &Path) {
        for s in &mut self.sources {
            match s {
                SourceConfig::File(f) => f.paths.iter_mut().for_each(|p| resolve(base, p)),
                SourceConfig::Kafka(k) => resolve_property_paths(base, &mut k.properties),
            }
        }
        for p in [
            &mut self.geoip.city,
            &mut self.geoip.asn,
            &mut self.detections.dir,
            &mut self.detections.allowlist,
            &mut self.inventory.path,
            &mut self.state.dir,
            &mut self.dead_letter.path,
        ]
        .into_iter()
        .flatten()
        {
            resolve(base, p);
        }
        for s in &mut self.sinks {
            let paths: Vec<&mut PathBuf> = match s {
                SinkConfig::File(f) => vec![&mut f.path],
                SinkConfig::Stdout(_) => vec![],
                SinkConfig::Kafka(k) => {
                    resolve_property_paths(base, &mut k.properties);
                    vec![]
                }
                SinkConfig::SplunkHec(h) => [&mut h.ca_file, &mut h.dead_letter, &mut h.token_file]
                    .into_iter()
                    .flatten()
                    .collect(),
                SinkConfig::Elastic(x) => [
                    &mut x.ca_file,
                    &mut x.dead_letter,
                    &mut x.api_key_file,
                    &mut x.password_file,
                ]
                .into_iter()
                .flatten()
                .collect(),
                SinkConfig::Webhook(w) => {
                    [&mut w.ca_file, &mut w.dead_letter, &mut w.hmac_key_file]
                        .into_iter()
                        .flatten()
                        .collect()
                }
            };
            for p in paths {
                resolve(base, p);
            }
        }
    }

    /// Checks everything that can be checked without connecting to a broker; lists every
    /// problem.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut e: Vec<String> = Vec::new();
        if self.sources.is_empty() {
            e.push("sources: at least one [[sources]] is required".into());
        }
        if self.sinks.is_empty() {
            e.push("sinks: at least one [[sinks]] is required (alerts would go nowhere)".into());
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let at = format!("sources[{i}]");
            if !names.insert(s.name(i)) {
                e.push(format!("{at}.name: `{}` is used twice", s.name(i)));
            }
            match s {
                SourceConfig::Kafka(k) => {
                    if k.brokers.trim().is_empty() {
                        e.push(format!("{at}.brokers: empty"));
                    }
                    if k.group_id.trim().is_empty() {
                        e.push(format!("{at}.group_id: empty"));
                    }
                    if k.topics.is_empty() {
                        e.push(format!("{at}.topics: at least one topic is required"));
                    }
                    if Format::from_name(&k.format).is_none() {
                        e.push(format!("{at}.format: unknown format `{}` (auto, cloudtrail, azure_activity, okta, github_audit)", k.format));
                    }
                    for (j, t) in k.topics.iter().enumerate() {
                        if t.name().trim().is_empty() {
                            e.push(format!("{at}.topics[{j}]: empty topic name"));
                        }
                        if let TopicSpec::Full { format, .. } = t {
                            if Format::from_name(format).is_none() {
                                e.push(format!(
                                    "{at}.topics[{j}].format: unknown format `{format}`"
                                ));
                            }
                        }
                    }
                    if !matches!(k.start_from.as_str(), "earliest" | "latest") {
                        e.push(format!(
                            "{at}.start_from: `{}` (earliest or latest)",
                            k.start_from
                        ));
                    }
                    check_properties(&format!("{at}.properties"), &k.properties, &mut e);
                }
                SourceConfig::File(f) => {
                    if f.paths.is_empty() {
                        e.push(format!("{at}.paths: at least one path is required"));
                    }
                    for p in &f.paths {
                        if !p.is_file() {
                            e.push(format!(
                                "{at}.paths: {} is not a readable file",
                                p.display()
                            ));
                        }
                    }
                    if Format::from_name(&f.format).is_none() {
                        e.push(format!("{at}.format: unknown format `{}`", f.format));
                    }
                }
            }
        }
        // Each database on its own, so both are reported when both are wrong.
        for (key, path) in [
            ("geoip.city", &self.geoip.city),
            ("geoip.asn", &self.geoip.asn),
        ] {
            if let Some(p) = path {
                if let Err(err) = crate::geo::GeoDb::open(Some(p), None) {
                    e.push(format!("{key}: {err}"));
                }
            }
        }
        if let Some(d) = &self.detections.dir {
            match crate::detect::loader::load_dir(d) {
                Ok(pack) => {
                    for p in &pack.problems {
                        e.push(format!("detections.dir: {}/{p}", d.display()));
                    }
                    if pack.problems.is_empty() && pack.rules.is_empty() {
                        e.push(format!("detections.dir: {} holds no rules", d.display()));
                    }
                }
                Err(err) => e.push(format!("detections.dir: {err}")),
            }
        }
        if let Some(a) = &self.detections.allowlist {
            if let Err(problems) = crate::detect::allowlist::Allowlist::load(a) {
                for p in problems {
                    e.push(format!("detections.allowlist: {p}"));
                }
            }
        }
        if let Some(p) = &self.inventory.path {
            if let Err(problems) = crate::inventory::Inventory::load(p) {
                for p in problems.0 {
                    e.push(format!("inventory.path: {p}"));
                }
            }
        }
        for (key, v) in [
            ("baseline.learning_period", &self.baseline.learning_period),
            ("baseline.forget_after", &self.baseline.forget_after),
            ("priors.warmup", &self.priors.warmup),
            ("incidents.gap", &self.incidents.gap),
            ("incidents.max_span", &self.incidents.max_span),
            ("state.snapshot_interval", &self.state.snapshot_interval),
            ("pipeline.batch_linger", &self.pipeline.batch_linger),
        ] {
            match parse_duration_ms(v) {
                Some(ms) if ms > 0 || key == "pipeline.batch_linger" => {}
                _ => e.push(format!(
                    "{key}: `{v}` is not a positive duration (e.g. 500ms, 60s, 7d)"
                )),
            }
        }
        if let Err(err) = future_tolerance_ms(&self.pipeline.future_tolerance) {
            e.push(format!("pipeline.future_tolerance: {err}"));
        }
        if let Some(d) = &self.state.dir {
            if let Err(err) = std::fs::create_dir_all(d) {
                e.push(format!("state.dir: cannot create {}: {err}", d.display()));
            } else if let Err(err) = tempfile_probe(d) {
                e.push(format!("state.dir: {} is not writable: {err}", d.display()));
            }
        }
        if let Some(p) = &self.dead_letter.path {
            check_parent(&mut e, "dead_letter.path", p);
        }
        if !self.server.listen.is_empty() && self.server.listen.parse::<SocketAddr>().is_err() {
            e.push(format!(
                "server.listen: `{}` is not host:port (e.g. 127.0.0.1:9464)",
                self.server.listen
            ));
        }
        if let Err(err) = self.server.resolve_token() {
            e.push(err);
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            e.push(format!("log.format: `{}` (text or json)", self.log.format));
        }
        if let Err(err) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            e.push(format!("log.level: `{}`: {err}", self.log.level));
        }
        if self.pipeline.batch_max == 0 {
            e.push("pipeline.batch_max: must be at least 1".into());
        }
        if self.state.max_identities == 0 {
            e.push("state.max_identities: must be at least 1".into());
        }
        if self.state.max_bytes < (1 << 20) {
            e.push(format!(
                "state.max_bytes: {} is below 1 MiB (1048576); size it from docs/operations.md \"Memory budget\"",
                self.state.max_bytes
            ));
        }
        if self.pipeline.max_record_bytes < 1024 {
            e.push("pipeline.max_record_bytes: must be at least 1024".into());
        }
        let mut sink_names = std::collections::HashSet::new();
        for (i, s) in self.sinks.iter().enumerate() {
            let at = format!("sinks[{i}]");
            if !sink_names.insert(s.name(i)) {
                e.push(format!("{at}.name: `{}` is used twice", s.name(i)));
            }
            let f = s.filter();
            if Severity::from_name(&f.min_severity).is_none() {
                e.push(format!(
                    "{at}.min_severity: `{}` (informational, low, medium, high, critical)",
                    f.min_severity
                ));
            }
            for g in &f.rules {
                if let Err(err) = globset::Glob::new(g) {
                    e.push(format!("{at}.rules: `{g}`: {err}"));
                }
            }
            if crate::sinks::format::Format::from_name(f.format_name()).is_none() {
                e.push(format!(
                    "{at}.format: `{}` (ocsf, ecs or cim)",
                    f.format_name()
                ));
            }
            let dl = self.dead_letter.path.as_deref();
            let http = |url: &str,
                        durations: [(&'static str, &String); 3],
                        dead: &Option<PathBuf>,
                        ca: &Option<PathBuf>,
                        e: &mut Vec<String>| {
                match reqwest::Url::parse(url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    Ok(u) => e.push(format!("{at}.url: scheme `{}` (http or https)", u.scheme())),
                    Err(err) => e.push(format!("{at}.url: `{url}`: {err}")),
                }
                for (k, v) in durations {
                    if parse_duration_ms(v).is_none() {
                        e.push(format!("{at}.{k}: bad duration `{v}`"));
                    }
                }
                match (dead, dl) {
                    (Some(p), _) => check_parent(e, &format!("{at}.dead_letter"), p),
                    (None, Some(_)) => {}
                    (None, None) => e.push(format!(
                        "{at}.dead_letter: required (or set [dead_letter] path): alerts that cannot be delivered go there"
                    )),
                }
                if let Some(c) = ca {
                    if !c.is_file() {
                        e.push(format!("{at}.ca_file: {} does not exist", c.display()));
                    }
                }
            };
            match s {
                SinkConfig::File(fs) => check_parent(&mut e, &format!("{at}.path"), &fs.path),
                SinkConfig::Stdout(_) => {}
                SinkConfig::Kafka(k) => {
                    if k.brokers.trim().is_empty() {
                        e.push(format!("{at}.brokers: empty"));
                    }
                    if k.topic.trim().is_empty() {
                        e.push(format!("{at}.topic: empty"));
                    }
                    check_properties(&format!("{at}.properties"), &k.properties, &mut e);
                    if dl.is_none() {
                        e.push(format!(
                            "{at}: needs [dead_letter] path: alerts the broker refuses for good (over message.max.bytes) go there"
                        ));
                    }
                }
                SinkConfig::SplunkHec(h) => {
                    http(
                        &h.url,
                        h.http_durations(),
                        &h.dead_letter,
                        &h.ca_file,
                        &mut e,
                    );
                    if let Some(why) = h.insecure_credentials() {
                        e.push(format!("{at}.{why}"));
                    }
                    match secret("token", &h.token, &h.token_file) {
                        Ok(Some(_)) => {}
                        Ok(None) => e.push(format!("{at}.token: required (or token_file)")),
                        Err(err) => e.push(format!("{at}.{err}")),
                    }
                    if parse_duration_ms(&h.ack_timeout).is_none() {
                        e.push(format!(
                            "{at}.ack_timeout: bad duration `{}`",
                            h.ack_timeout
                        ));
                    }
                    if h.batch_max == 0 {
                        e.push(format!("{at}.batch_max: must be at least 1"));
                    }
                }
                SinkConfig::Elastic(x) => {
                    http(
                        &x.url,
                        x.http_durations(),
                        &x.dead_letter,
                        &x.ca_file,
                        &mut e,
                    );
                    if let Some(why) = x.insecure_credentials() {
                        e.push(format!("{at}.{why}"));
                    }
                    for r in [
                        secret("api_key", &x.api_key, &x.api_key_file),
                        secret("password", &x.password, &x.password_file),
                    ] {
                        if let Err(err) = r {
                            e.push(format!("{at}.{err}"));
                        }
                    }
                    if x.batch_max == 0 {
                        e.push(format!("{at}.batch_max: must be at least 1"));
                    }
                }
                SinkConfig::Webhook(w) => {
                    http(
                        &w.url,
                        w.http_durations(),
                        &w.dead_letter,
                        &w.ca_file,
                        &mut e,
                    );
                    if let Some(why) = w.insecure_credentials() {
                        e.push(format!("{at}.{why}"));
                    }
                    if let Err(err) = secret("hmac_key", &w.hmac_key, &w.hmac_key_file) {
                        e.push(format!("{at}.{err}"));
                    }
                    for (k, v) in &w.headers {
                        if let Err(err) = secret(&format!("headers.{k}"), &Some(v.clone()), &None) {
                            e.push(format!("{at}.{err}"));
                        }
                    }
                    if let Some(t) = &w.template {
                        if let Err(err) = crate::sinks::webhook::check_template(t) {
                            e.push(format!("{at}.template: {err}"));
                        }
                    }
                    for k in w.headers.keys() {
                        if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
                            e.push(format!("{at}.headers: `{k}` is not a valid header name"));
                        }
                    }
                }
            }
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(e))
        }
    }

    /// Priors settings.
    pub fn priors_config(&self) -> crate::baseline::priors::PriorsConfig {
        let mut p = crate::baseline::priors::PriorsConfig::default();
        if let Some(ms) = parse_duration_ms(&self.priors.warmup) {
            p.warmup_ms = ms;
        }
        p.enabled = self.priors.enabled;
        p.warmup_events = self.priors.warmup_events;
        p.peer_min_members = self.priors.peer_min_members.max(2);
        p
    }

    /// Incident settings.
    pub fn incidents_config(&self) -> crate::detect::incident::IncidentConfig {
        let mut c = crate::detect::incident::IncidentConfig {
            enabled: self.incidents.enabled,
            ..Default::default()
        };
        if let Some(ms) = parse_duration_ms(&self.incidents.gap) {
            c.gap_ms = ms;
        }
        if let Some(ms) = parse_duration_ms(&self.incidents.max_span) {
            c.max_span_ms = ms;
        }
        c
    }

    /// Baseline settings.
    pub fn baseline_config(&self) -> crate::baseline::BaselineConfig {
        let mut b = crate::baseline::BaselineConfig::default();
        if let Some(ms) = parse_duration_ms(&self.baseline.learning_period) {
            b.learning_period_ms = ms;
        }
        if let Some(ms) = parse_duration_ms(&self.baseline.forget_after) {
            b.forget_after_ms = ms;
        }
        b.learning_min_observations = self.baseline.learning_min_observations;
        b
    }
}

fn tempfile_probe(dir: &Path) -> std::io::Result<()> {
    let p = dir.join(format!(".nhid-write-probe-{}", std::process::id()));
    std::fs::write(&p, b"")?;
    std::fs::remove_file(&p)
}

fn check_parent(e: &mut Vec<String>, key: &str, p: &Path) {
    let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = parent {
        if !d.is_dir() {
            e.push(format!("{key}: directory {} does not exist", d.display()));
        }
    }
}

fn check_properties(at: &str, props: &BTreeMap<String, String>, e: &mut Vec<String>) {
    for (k, v) in props {
        if MANAGED_PROPERTIES.contains(&k.as_str()) {
            e.push(format!(
                "{at}.\"{k}\": set by nhid itself (use the source's own keys)"
            ));
        }
        if let Some(var) = v.strip_prefix("env:") {
            if std::env::var_os(var).is_none() {
                e.push(format!(
                    "{at}.\"{k}\": environment variable {var} is not set"
                ));
            }
        }
        if is_file_property(k, v) {
            if let Err(err) = std::fs::metadata(v) {
                e.push(format!("{at}.\"{k}\": {v}: {err}"));
            }
        }
        if let Some(base) = k.strip_suffix("_file") {
            if base.is_empty() {
                e.push(format!("{at}.\"{k}\": no property name before _file"));
            } else if let Err(err) = std::fs::metadata(v) {
                e.push(format!("{at}.\"{k}\": {v}: {err}"));
            }
        }
    }
}

/// Resolves secrets in librdkafka properties: `env:VAR` values and `KEY_file` keys.
pub fn resolve_properties(
    props: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in props {
        let value = secret(&format!("property {k}"), &Some(v.clone()), &None)?.unwrap_or_default();
        match k.strip_suffix("_file") {
            Some(base) if !base.is_empty() => {
                let text = std::fs::read_to_string(&value)
                    .map_err(|e| format!("property {k}: {value}: {e}"))?;
                out.insert(base.to_string(), text.trim().to_string());
            }
            _ => {
                out.insert(k.clone(), value);
            }
        }
    }
    Ok(out)
}

/// Milliseconds of a duration string already validated.
pub fn duration_ms(s: &str) -> i64 {
    parse_duration_ms(s).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(v: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn env_overrides_reach_array_elements_and_parse_values() {
        let mut t: toml::Table = r#"
            [[sinks]]
            type = "file"
            path = "a.jsonl"
            [server]
            listen = "127.0.0.1:9464"
        "#
        .parse()
        .unwrap();
        let errs = apply_env_overrides(
            &mut t,
            env(&[
                ("NHID_SINKS__0__PATH", "/tmp/b.jsonl"),
                ("NHID_SINKS__1__TYPE", "stdout"),
                ("NHID_SERVER__LISTEN", "127.0.0.1:0"),
                ("NHID_PIPELINE__BATCH_MAX", "7"),
                ("NHID_DETECTIONS__WATCH", "true"),
                ("NHID_SINKS__5__PATH", "x"),
                ("OTHER__X", "1"),
            ]),
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("NHID_SINKS__5__PATH") && errs[0].contains("out of range"));
        assert_eq!(t["sinks"][0]["path"].as_str(), Some("/tmp/b.jsonl"));
        assert_eq!(t["sinks"][1]["type"].as_str(), Some("stdout"));
        assert_eq!(t["server"]["listen"].as_str(), Some("127.0.0.1:0"));
        assert_eq!(t["pipeline"]["batch_max"].as_integer(), Some(7));
        assert_eq!(t["detections"]["watch"].as_bool(), Some(true));
    }

    #[test]
    fn every_problem_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nhid.toml");
        std::fs::write(
            &p,
            r#"
            [[sources]]
            type = "kafka"
            brokers = ""
            group_id = "g"
            topics = [{ name = "t", format = "syslog" }]
            start_from = "middle"
            properties = { "group.id" = "x", "sasl.password" = "env:NHID_TEST_SURELY_UNSET" }

            [server]
            listen = "nowhere"

            [[sinks]]
            type = "file"
            path = "no/such/dir/alerts.jsonl"
            min_severity = "urgent"
        "#,
        )
        .unwrap();
        let e = load_with_env(&p, std::iter::empty()).unwrap_err().0;
        let all = e.join("\n");
        for needle in [
            "sources[0].brokers",
            "sources[0].topics[0].format",
            "sources[0].start_from",
            "\"group.id\"",
            "NHID_TEST_SURELY_UNSET",
            "server.listen",
            "sinks[0].min_severity",
            "sinks[0].path",
        ] {
            assert!(all.contains(needle), "missing {needle} in:\n{all}");
        }
        // Unknown keys are refused with their table.
        std::fs::write(&p, "[server]\nlisten = \"127.0.0.1:0\"\nlsiten = 1\n").unwrap();
        let e = load_with_env(&p, std::iter::empty()).unwrap_err().0;
        assert!(e[0].contains("lsiten") && e[0].contains("server"), "{e:?}");
        // The same with an override applied.
        let e = load_with_env(&p, env(&[("NHID_LOG__LEVEL", "debug")]))
            .unwrap_err()
            .0;
        assert!(e[0].contains("lsiten") && e[0].contains("server"), "{e:?}");
    }

    #[test]
    fn tls_files_resolve_against_the_config_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "x").unwrap();
        let p = dir.path().join("nhid.toml");
        let cfg = |ca: &str, key: &str| {
            format!(
                r#"
                [[sources]]
                type = "kafka"
                brokers = "127.0.0.1:9093"
                group_id = "g"
                topics = ["t"]
                properties = {{ "security.protocol" = "ssl", "ssl.ca.location" = "{ca}" }}
                [[sinks]]
                type = "kafka"
                brokers = "127.0.0.1:9093"
                topic = "a"
                properties = {{ "ssl.ca.location" = "{ca}", "ssl.key.location" = "{key}" }}
                [dead_letter]
                path = "dead.jsonl"
                "#
            )
        };
        std::fs::write(&p, cfg("ca.pem", "ca.pem")).unwrap();
        let c = load_with_env(&p, std::iter::empty()).unwrap();
        let want = dir.path().join("ca.pem").display().to_string();
        let SourceConfig::Kafka(k) = &c.sources[0] else {
            panic!("kafka source expected")
        };
        assert_eq!(k.properties["ssl.ca.location"], want);
        let SinkConfig::Kafka(k) = &c.sinks[0] else {
            panic!("kafka sink expected")
        };
        assert_eq!(k.properties["ssl.key.location"], want);
        // A missing file is a load error naming its key; "probe" is librdkafka's, not a file.
        std::fs::write(&p, cfg("probe", "client.key")).unwrap();
        let e = load_with_env(&p, std::iter::empty()).unwrap_err().0;
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("sinks[0].properties.\"ssl.key.location\""),
            "{e:?}"
        );
    }

    #[test]
    fn secrets_from_env_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        let mut props = BTreeMap::new();
        props.insert("sasl.password_file".to_string(), f.display().to_string());
        props.insert("sasl.username".to_string(), "env:PATH".to_string());
        let out = resolve_properties(&props).unwrap();
        assert_eq!(out["sasl.password"], "s3cret");
        assert_eq!(out["sasl.username"], std::env::var("PATH").unwrap());
    }
}
