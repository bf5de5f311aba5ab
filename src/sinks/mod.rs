//! Where alerts go. A sink accepts a batch and returns only when every alert in it is durably
//! handed over (written and flushed, or acknowledged by the broker); the daemon stores source
//! offsets only after every sink accepted the batch, which is what makes delivery at-least-once.
//! Alerts carry a stable id (`finding_info.uid`) so receivers can drop repeats.
//!
//! One module per sink `type`: [`file`], [`stdout`], [`kafka`]. Each sink has a filter (minimum
//! severity, rule id globs).

pub mod file;
pub mod kafka;
pub mod stdout;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::config::{SinkConfig, SinkFilter};
use crate::detect::rule::Severity;

/// One rendered alert and what sinks route on.
#[derive(Debug, Clone)]
pub struct AlertOut {
    /// The OCSF JSON document (one line, no newline).
    pub json: Vec<u8>,
    /// Rule id.
    pub rule: String,
    /// OCSF severity id (1–5).
    pub severity: u8,
    /// Identity key (the Kafka message key).
    pub identity: String,
    /// `finding_info.uid` (idempotency key).
    pub uid: String,
}

/// Errors delivering a batch.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Worth retrying (I/O error, broker unavailable, timeout).
    #[error("{0}")]
    Retryable(String),
    /// Retrying will not help (the sink cannot be built, a message is refused for good).
    #[error("{0}")]
    Fatal(String),
}

/// A destination for alerts.
pub trait Sink: Send {
    /// Delivers a batch; returns when every alert is durably accepted.
    fn send(&mut self, batch: &[&AlertOut]) -> Result<(), SinkError>;
}

/// A sink with its name and filter.
pub struct Routed {
    /// Label in logs and metrics.
    pub name: String,
    /// Type (metric label).
    pub kind: &'static str,
    min_severity: u8,
    rules: GlobSet,
    /// The sink.
    pub sink: Box<dyn Sink>,
}

impl Routed {
    /// True if the alert passes this sink's filter.
    pub fn wants(&self, a: &AlertOut) -> bool {
        a.severity >= self.min_severity && self.rules.is_match(&a.rule)
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

/// Builds every configured sink.
pub fn build(configs: &[SinkConfig]) -> Result<Vec<Routed>, String> {
    let mut out = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let name = c.name(i);
        let (min_severity, rules) =
            compile_filter(c.filter()).map_err(|e| format!("sink {name}: {e}"))?;
        let sink: Box<dyn Sink> = match c {
            SinkConfig::File(f) => {
                Box::new(file::FileSink::open(&f.path).map_err(|e| format!("sink {name}: {e}"))?)
            }
            SinkConfig::Stdout(_) => Box::new(stdout::StdoutSink),
            SinkConfig::Kafka(k) => {
                Box::new(kafka::KafkaSink::new(k).map_err(|e| format!("sink {name}: {e}"))?)
            }
        };
        out.push(Routed {
            name,
            kind: c.type_name(),
            min_severity,
            rules,
            sink,
        });
    }
    Ok(out)
}
