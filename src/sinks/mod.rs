//! Where alerts go. A sink accepts a batch and returns only when every alert in it is durably
//! handed over (written and flushed, or acknowledged by the broker); the daemon stores source
//! offsets only after every sink accepted the batch, which is what makes delivery at-least-once.
//! Alerts carry a stable id (`finding_info.uid`) and a version (`metadata.sequence`): receivers
//! drop a repeated (uid, sequence) and keep the highest sequence of a uid.
//!
//! One module per sink `type`: [`file`], [`stdout`], [`kafka`], [`splunk_hec`], [`elastic`],
//! [`webhook`] (the HTTP ones share [`http`]: retries, backoff, dead letters). Each sink has a
//! filter (minimum severity, rule id globs) and a [`format`] (OCSF, ECS, Splunk CIM).

pub mod elastic;
pub mod file;
pub mod format;
pub mod http;
pub mod kafka;
pub mod splunk_hec;
pub mod stdout;
pub mod webhook;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::alert::Alert;
use crate::config::{SinkConfig, SinkFilter};
use crate::detect::rule::Severity;

/// One alert, typed and rendered as OCSF, and what sinks route on. Other formats are rendered
/// from the typed alert at most once each ([`AlertOut::render`]), whatever the number of sinks.
#[derive(Debug, Clone)]
pub struct AlertOut {
    /// The typed alert.
    pub alert: Arc<Alert>,
    /// The OCSF JSON document (one line, no newline).
    pub json: Vec<u8>,
    /// ECS and CIM renderings, made on first use.
    derived: [OnceLock<Vec<u8>>; 2],
    /// Rule id.
    pub rule: String,
    /// OCSF severity id (1–5).
    pub severity: u8,
    /// Identity key (the Kafka message key).
    pub identity: String,
    /// `finding_info.uid` (idempotency key).
    pub uid: String,
}

impl AlertOut {
    /// Renders the alert's OCSF document and keeps what sinks route on.
    pub fn new(alert: Alert, rule: &str, severity: u8, identity: &str) -> std::io::Result<Self> {
        let json = serde_json::to_vec(&alert).map_err(std::io::Error::other)?;
        Ok(AlertOut {
            uid: alert.finding_info.uid.clone(),
            alert: Arc::new(alert),
            json,
            derived: Default::default(),
            rule: rule.to_string(),
            severity,
            identity: identity.to_string(),
        })
    }

    /// An alert read back from its OCSF JSON (dead letters, tests).
    pub fn from_json(json: &[u8]) -> serde_json::Result<Self> {
        let alert: Alert = serde_json::from_slice(json)?;
        let rule = alert.finding_info.analytic.uid.clone();
        let identity = alert.actor.user.uid.clone();
        let severity = alert.severity_id;
        Ok(AlertOut {
            uid: alert.finding_info.uid.clone(),
            alert: Arc::new(alert),
            json: json.to_vec(),
            derived: Default::default(),
            rule,
            severity,
            identity,
        })
    }

    /// The document in `format`, rendered once per alert and format.
    pub fn render(&self, format: format::Format) -> &[u8] {
        let slot = match format {
            format::Format::Ocsf => return &self.json,
            format::Format::Ecs => &self.derived[0],
            format::Format::Cim => &self.derived[1],
        };
        // Serializing plain structs to a Vec cannot fail (no maps with non-string keys).
        slot.get_or_init(|| format::render(format, &self.alert).unwrap_or_default())
    }
}

/// Errors delivering a batch, typed by what the daemon does next.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Worth retrying (I/O error, a full disk, broker or receiver unavailable, timeout):
    /// nothing of the batch counts as delivered; the daemon retries with backoff and commits
    /// nothing past it (back-pressure).
    #[error("{0}")]
    Retryable(String),
    /// Retrying will not help these alerts (too large, invalid): the others of the batch were
    /// accepted; the daemon dead-letters the refused ones and goes on.
    #[error("{reason}")]
    Permanent {
        /// Why (the receiver's answer).
        reason: String,
        /// Which alerts.
        refused: Refused,
    },
}

/// The alerts of a batch a sink refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// All of them.
    All,
    /// These (indices into the batch, ascending).
    Some(Vec<usize>),
}

impl SinkError {
    /// Every alert of the batch refused for good (an alert the sink cannot even encode).
    pub fn all(reason: impl Into<String>) -> Self {
        SinkError::Permanent {
            reason: reason.into(),
            refused: Refused::All,
        }
    }
}

/// A destination for alerts.
pub trait Sink: Send {
    /// Delivers a batch; returns when every alert is durably accepted.
    fn send(&mut self, batch: &[&AlertOut]) -> Result<(), SinkError>;

    /// Hands the sink the process's shutdown handle (sinks that retry on their own stop
    /// retrying once it is requested). Most sinks need nothing.
    fn set_shutdown(&mut self, _stop: crate::shutdown::Shutdown) {}
}

/// A sink with its name and filter.
pub struct Routed {
    /// Label in logs and metrics.
    pub name: String,
    /// Type (metric label).
    pub kind: &'static str,
    min_severity: u8,
    rules: GlobSet,
    /// Format the router converts to before `send` (file, stdout and Kafka sinks; the HTTP
    /// sinks convert themselves, they need the OCSF fields for their envelopes).
    convert_to: Option<format::Format>,
    /// The format the sink writes (what its size limit is measured on).
    format: format::Format,
    /// Largest alert document the sink takes (0 = no limit); larger ones are cut.
    pub max_alert_bytes: usize,
    /// The sink.
    pub sink: Box<dyn Sink>,
}

impl Routed {
    /// True if the alert passes this sink's filter.
    pub fn wants(&self, a: &AlertOut) -> bool {
        a.severity >= self.min_severity && self.rules.is_match(&a.rule)
    }

    /// The alerts as this sink takes them: converted to its format and cut to its size limit
    /// (`max_alert_bytes`). `None` when the batch goes as it is (the common case: no copy).
    /// An alert that cannot be cut small enough goes as it is; the sink refuses it and the
    /// daemon dead-letters it.
    pub fn prepare(&self, batch: &[&AlertOut]) -> Option<Vec<AlertOut>> {
        let limit = self.max_alert_bytes;
        let over = |a: &AlertOut| limit > 0 && a.render(self.format).len() > limit;
        if self.convert_to.is_none() && !batch.iter().any(|a| over(a)) {
            return None;
        }
        Some(
            batch
                .iter()
                .map(|a| {
                    let mut c = match over(a) {
                        true => match crate::alert::shrink::shrink(a, self.format, limit) {
                            Some(cut) => {
                                metrics::counter!("nhid_alerts_truncated_total", "sink" => self.name.clone())
                                    .increment(1);
                                cut
                            }
                            None => (*a).clone(),
                        },
                        false => (*a).clone(),
                    };
                    if let Some(f) = self.convert_to {
                        c.json = c.render(f).to_vec();
                    }
                    c
                })
                .collect(),
        )
    }
}

/// The largest alert a sink of this type takes by default (0 = no limit): what the receivers
/// accept out of the box (Kafka `message.max.bytes`, HEC and typical webhook receivers 1 MB,
/// Elasticsearch a document well under `http.max_content_length`).
fn default_max_alert_bytes(c: &SinkConfig) -> usize {
    match c {
        SinkConfig::File(_) | SinkConfig::Stdout(_) => 0,
        SinkConfig::Kafka(k) => kafka::max_message_bytes(&k.properties),
        SinkConfig::SplunkHec(_) | SinkConfig::Webhook(_) => 1_000_000,
        SinkConfig::Elastic(_) => 10_000_000,
    }
}

fn compile_filter(f: &SinkFilter) -> Result<(u8, GlobSet), String> {
    let sev = Severity::from_name(&f.min_severity)
        .ok_or_else(|| format!("unknown min_severity {}", f.min_severity))?;
    let mut b = GlobSetBuilder::new();
    for g in &f.rules {
        b.add(Glob::new(g).map_err(|e| format!("rules glob {g}: {e}"))?);
    }
    let set = b.build().map_err(|e| e.to_string())?;
    Ok((sev.id(), set))
}

/// Builds every configured sink (`dead_letter`: the default dead-letter file of HTTP sinks).
pub fn build(configs: &[SinkConfig], dead_letter: Option<&Path>) -> Result<Vec<Routed>, String> {
    build_with_shutdown(configs, dead_letter, &crate::shutdown::Shutdown::new())
}

/// [`build`], with the shutdown handle the sinks obey.
pub fn build_with_shutdown(
    configs: &[SinkConfig],
    dead_letter: Option<&Path>,
    stop: &crate::shutdown::Shutdown,
) -> Result<Vec<Routed>, String> {
    let mut out = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let name = c.name(i);
        let (min_severity, rules) =
            compile_filter(c.filter()).map_err(|e| format!("sink {name}: {e}"))?;
        let fname = c.filter().format_name();
        let fmt = format::Format::from_name(fname)
            .ok_or_else(|| format!("sink {name}: unknown format {fname}"))?;
        // `elastic` and `splunk_hec` default to their native schemas unless set.
        let native = |default: format::Format| {
            if c.filter().format.is_none() {
                default
            } else {
                fmt
            }
        };
        let e = |x: String| format!("sink {name}: {x}");
        let mut convert_to = None;
        let written = match c {
            SinkConfig::SplunkHec(_) => native(format::Format::Cim),
            SinkConfig::Elastic(_) => native(format::Format::Ecs),
            _ => fmt,
        };
        let max_alert_bytes = c
            .filter()
            .max_alert_bytes
            .unwrap_or_else(|| default_max_alert_bytes(c));
        let sink: Box<dyn Sink> = match c {
            SinkConfig::File(f) => Box::new(
                file::FileSink::with_rotation(&f.path, f.max_bytes, f.keep)
                    .map_err(|e| format!("sink {name}: {e}"))?,
            ),
            SinkConfig::Stdout(_) => Box::new(stdout::StdoutSink),
            SinkConfig::Kafka(k) => {
                Box::new(kafka::KafkaSink::new(k).map_err(|e| format!("sink {name}: {e}"))?)
            }
            SinkConfig::SplunkHec(h) => {
                let token = crate::config::secret("token", &h.token, &h.token_file)
                    .map_err(e)?
                    .ok_or_else(|| e("no token".into()))?;
                Box::new(
                    splunk_hec::SplunkHecSink::new(
                        &name,
                        splunk_hec::HecSettings {
                            http: h.http_settings(dead_letter).map_err(e)?,
                            token,
                            sourcetype: h.sourcetype.clone(),
                            source: h.source.clone(),
                            index: h.index.clone(),
                            host: h.host.clone(),
                            ack: h.ack,
                            ack_timeout: std::time::Duration::from_millis(
                                crate::config::duration_ms(&h.ack_timeout).max(0) as u64,
                            ),
                            batch_max: h.batch_max,
                            format: native(format::Format::Cim),
                        },
                    )
                    .map_err(e)?,
                )
            }
            SinkConfig::Elastic(x) => Box::new(
                elastic::ElasticSink::new(
                    &name,
                    elastic::ElasticSettings {
                        http: x.http_settings(dead_letter).map_err(e)?,
                        index: x.index.clone(),
                        data_stream: x.data_stream,
                        api_key: crate::config::secret("api_key", &x.api_key, &x.api_key_file)
                            .map_err(e)?,
                        username: x.username.clone(),
                        password: crate::config::secret("password", &x.password, &x.password_file)
                            .map_err(e)?,
                        batch_max: x.batch_max,
                        format: native(format::Format::Ecs),
                    },
                )
                .map_err(e)?,
            ),
            SinkConfig::Webhook(w) => {
                let mut headers = Vec::new();
                for (k, v) in &w.headers {
                    let v = crate::config::secret(&format!("headers.{k}"), &Some(v.clone()), &None)
                        .map_err(e)?
                        .unwrap_or_default();
                    headers.push((k.clone(), v));
                }
                Box::new(
                    webhook::WebhookSink::new(
                        &name,
                        webhook::WebhookSettings {
                            http: w.http_settings(dead_letter).map_err(e)?,
                            headers,
                            hmac_key: crate::config::secret(
                                "hmac_key",
                                &w.hmac_key,
                                &w.hmac_key_file,
                            )
                            .map_err(e)?,
                            template: w.template.clone(),
                            format: fmt,
                        },
                    )
                    .map_err(e)?,
                )
            }
        };
        let mut sink = sink;
        sink.set_shutdown(stop.clone());
        if matches!(
            c,
            SinkConfig::File(_) | SinkConfig::Stdout(_) | SinkConfig::Kafka(_)
        ) && fmt != format::Format::Ocsf
        {
            convert_to = Some(fmt);
        }
        out.push(Routed {
            name,
            kind: c.type_name(),
            min_severity,
            rules,
            convert_to,
            format: written,
            max_alert_bytes,
            sink,
        });
    }
    Ok(out)
}
