//! `nhid dead-letter resend`: delivers dead-lettered alerts again, once the cause (a receiver
//! down past the retries, a size limit, a bad token) is fixed. Each alert goes to the sink
//! named in its letter (or to `--sink`), through the same size limits and formats as the
//! daemon. Receivers deduplicate on (`finding_info.uid`, `metadata.sequence`), so resending a
//! file twice, or a letter that did arrive, does no harm; repeats inside the file are sent once.
//! Record letters are not alerts: they are counted, and `nhid replay` / `nhid produce` read
//! them as their records.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use crate::deadletter::{self, Read};
use crate::sinks::{AlertOut, Refused, Routed, SinkError};

/// What a resend did.
#[derive(Debug, Default)]
pub struct Report {
    /// Alerts accepted by their sink.
    pub delivered: u64,
    /// Repeats of a (uid, sequence) already sent from this file.
    pub duplicates: u64,
    /// Alerts a sink refused for good again (they stay in the file).
    pub refused: u64,
    /// Alerts not delivered after the retries (the sink is still down).
    pub failed: u64,
    /// Letters naming a sink the configuration does not have.
    pub unknown_sink: u64,
    /// Record letters (feed them with `nhid replay` or `nhid produce`).
    pub records: u64,
    /// Lines that are not dead letters, or whose alert does not read.
    pub unreadable: u64,
}

/// Alerts sent per request.
const CHUNK: usize = 500;
/// Attempts per chunk on retryable errors.
const ATTEMPTS: u32 = 4;

/// Resends the alert letters of `file` to the configured sinks (only `only` if given).
pub fn resend(cfg: &Config, only: Option<&str>, file: &Path) -> Result<Report, String> {
    let mut sinks = crate::sinks::build(&cfg.sinks, cfg.dead_letter.path.as_deref())?;
    if let Some(n) = only {
        if !sinks.iter().any(|s| s.name == n) {
            let names: Vec<&str> = sinks.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "--sink {n}: no such sink (configured: {})",
                names.join(", ")
            ));
        }
    }
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut report = Report::default();
    let mut seen: HashSet<(String, u64)> = HashSet::new();
    // Alerts queued per sink index.
    let mut queued: Vec<Vec<AlertOut>> = sinks.iter().map(|_| Vec::new()).collect();
    for line in std::io::BufReader::new(f).split(b'\n') {
        let line = line.map_err(|e| format!("{}: {e}", file.display()))?;
        let body = line.trim_ascii();
        if body.is_empty() {
            continue;
        }
        let (sink, json) = match deadletter::read(body) {
            Some(Read::Alert { sink, json }) => (sink, json),
            Some(Read::Record(_)) | Some(Read::Omitted { .. }) => {
                report.records += 1;
                continue;
            }
            None => {
                report.unreadable += 1;
                continue;
            }
        };
        let Ok(alert) = AlertOut::from_json(json) else {
            report.unreadable += 1;
            continue;
        };
        let target = only.unwrap_or(&sink);
        let Some(i) = sinks.iter().position(|s| s.name == target) else {
            report.unknown_sink += 1;
            continue;
        };
        if !seen.insert((alert.uid.clone(), alert.alert.metadata.sequence)) {
            report.duplicates += 1;
            continue;
        }
        queued[i].push(alert);
        if queued[i].len() >= CHUNK {
            let batch = std::mem::take(&mut queued[i]);
            send(&mut sinks[i], &batch, &mut report);
        }
    }
    for (i, batch) in queued.into_iter().enumerate() {
        if !batch.is_empty() {
            send(&mut sinks[i], &batch, &mut report);
        }
    }
    Ok(report)
}

fn send(s: &mut Routed, alerts: &[AlertOut], report: &mut Report) {
    let refs: Vec<&AlertOut> = alerts.iter().collect();
    let prepared = s.prepare(&refs);
    let batch: Vec<&AlertOut> = match &prepared {
        Some(c) => c.iter().collect(),
        None => refs,
    };
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=ATTEMPTS {
        match s.sink.send(&batch) {
            Ok(()) => {
                report.delivered += batch.len() as u64;
                return;
            }
            Err(SinkError::Permanent { reason, refused }) => {
                let n = match refused {
                    Refused::All => batch.len(),
                    Refused::Some(v) => v.len(),
                };
                eprintln!(
                    "nhid: sink {}: {n} alert(s) refused again: {reason}",
                    s.name
                );
                report.refused += n as u64;
                report.delivered += (batch.len() - n) as u64;
                return;
            }
            Err(SinkError::Retryable(e)) => {
                eprintln!("nhid: sink {}: attempt {attempt}: {e}", s.name);
                if attempt < ATTEMPTS {
                    std::thread::sleep(wait);
                    wait *= 2;
                }
            }
        }
    }
    report.failed += batch.len() as u64;
}
