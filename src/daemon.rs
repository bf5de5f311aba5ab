//! `nhid run`: the long-running daemon. One detection thread owns the pipeline (so one
//! identity's events are handled in order without locks): it polls the sources, runs records
//! through parse → enrich → detect, batches the alerts, hands each batch to every sink, and only
//! then counts the batch's records as done. Done offsets are committed to Kafka at each
//! snapshot (when a state directory is set, so the committed offsets and the snapshot agree),
//! else after every batch.
//!
//! Shutdown (SIGTERM/SIGINT): stop polling, deliver the open batch, snapshot, commit, leave the
//! group, exit 0. SIGHUP: reload rules and allowlist; a bad rule pack is refused with its
//! problems and the old rules stay active.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{duration_ms, Config, SourceConfig};
use crate::deadletter::DeadLetterFile;
use crate::detect::loader::{load_dir, load_embedded};
use crate::detect::Rule;
use crate::geo::GeoDb;
use crate::parsers::Format;
use crate::pipeline::{Pipeline, ReplayConfig};
use crate::server::{now_ms, Control};
use crate::sinks::{AlertOut, Refused, Routed, SinkError};
use crate::sources::file::{frame_bytes, read_input, ReadLimits};
use crate::sources::kafka::{KafkaSource, Msg, Offsets};
use crate::state::{self, PartitionOffset, SnapshotMeta};

/// Errors that stop the daemon (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Startup failed.
    #[error("{0}")]
    Startup(String),
    /// State could not be read or written.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// Alerts or dead letters could not be delivered (their offsets stay uncommitted).
    #[error("{0}")]
    Delivery(String),
}

fn load_rules(cfg: &Config) -> Result<Arc<Vec<Rule>>, String> {
    let pack = match &cfg.detections.dir {
        None => load_embedded(),
        Some(d) => load_dir(d).map_err(|e| e.to_string())?,
    };
    if !pack.problems.is_empty() {
        let list: Vec<String> = pack.problems.iter().map(|p| p.to_string()).collect();
        return Err(list.join("\n"));
    }
    Ok(Arc::new(pack.rules))
}

/// One dead letter waiting for its batch's delivery.
struct Dead {
    /// The source whose dead-letter topic takes it; `None`: the dead-letter file.
    topic_of: Option<String>,
    /// Message key (the source position, or the alert's uid).
    key: Vec<u8>,
    /// The letter (one JSON line with its newline).
    line: Vec<u8>,
}

/// How long an idle daemon (file sources only, all read) waits between looks at its timers.
const IDLE_WAIT: Duration = Duration::from_millis(500);

/// Longest wait between delivery retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

enum Source {
    /// Boxed: the consumer with its pause state is large next to a file source.
    Kafka(Box<KafkaSource>),
    File {
        name: String,
        paths: Vec<String>,
        format: Format,
        done: bool,
    },
}

/// A retry's wait while a delivery is stuck: Kafka sources pause their partitions and keep
/// polling (so the member stays in its group), file sources simply wait. Ends early on
/// shutdown.
fn wait_keeping_sources_alive(sources: &mut [Source], control: &Control, wait: Duration) {
    // Retrying is the loop being alive (a stuck receiver is reported by the error metrics and
    // logs, not by a liveness probe that restarts us).
    control.heartbeat_ms.store(now_ms(), Ordering::Relaxed);
    let kafka = sources
        .iter()
        .filter(|s| matches!(s, Source::Kafka(_)))
        .count();
    if kafka == 0 {
        control.backoff(wait);
        return;
    }
    let until = Instant::now() + wait;
    while !control.shutdown.is_requested() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let slice = left.min(Duration::from_millis(200)) / kafka as u32;
        for s in sources.iter_mut() {
            if let Source::Kafka(k) = s {
                k.keep_alive(slice);
            }
        }
        control.heartbeat_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// Resumes the Kafka sources a stuck delivery paused.
fn resume_sources(sources: &mut [Source]) {
    for s in sources.iter_mut() {
        if let Source::Kafka(k) = s {
            k.resume();
        }
    }
}

/// How often `[detections] watch` looks at the rule files.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// The daemon.
struct Daemon {
    cfg: Config,
    control: Arc<Control>,
    pipe: Pipeline,
    sinks: Vec<Routed>,
    sources: Vec<Source>,
    dead_letter_file: Option<DeadLetterFile>,
    /// Dead-letter topic producers by source name, with the largest letter each takes.
    dead_letter_producers: BTreeMap<String, (crate::sinks::kafka::BatchProducer, usize)>,
    /// Alerts of the open batch.
    pending: Vec<AlertOut>,
    /// Records in the open batch, and when it opened.
    pending_records: usize,
    batch_opened: Option<Instant>,
    /// Next offsets of the open batch's records.
    pending_offsets: BTreeMap<(String, i32), i64>,
    /// Next offsets of records whose alerts were delivered (shared with the consumers, which
    /// commit a revoked partition's entry and remove it).
    delivered: Offsets,
    /// Raised by a consumer when partitions were revoked: snapshot and commit now.
    checkpoint_due: Arc<AtomicBool>,
    /// Offsets (and file positions) the state reflects.
    snapshot_offsets: BTreeMap<(String, i32), i64>,
    /// Kafka records below these offsets are already reflected in the restored state (the
    /// process stopped between writing a snapshot and committing its offsets): skipped, not
    /// processed twice. An entry is dropped once its partition has caught up.
    skip_below: HashMap<String, HashMap<i32, i64>>,
    /// Dead letters of the open batch (records that could not be used, alerts a sink refused):
    /// written before the batch's offsets count as delivered.
    pending_dead: Vec<Dead>,
    latency: hdrhistogram::Histogram<u64>,
    batch_started_at: Vec<Instant>,
    records_total: u64,
    /// `topic/partition@offset` of the message being handled (reused buffer).
    input_name: String,
}

/// Runs the daemon until a shutdown signal. Returns when everything is flushed and saved.
pub fn run(cfg: Config, control: Arc<Control>) -> Result<(), DaemonError> {
    let rules = load_rules(&cfg).map_err(|e| DaemonError::Startup(format!("rules: {e}")))?;
    metrics::gauge!("nhid_rules_loaded").set(rules.len() as f64);
    let geo = GeoDb::open(cfg.geoip.city.as_deref(), cfg.geoip.asn.as_deref())
        .map_err(|e| DaemonError::Startup(format!("geoip: {e}")))?;
    let rc = ReplayConfig {
        format: Format::Auto,
        max_record_bytes: cfg.pipeline.max_record_bytes,
        baseline: cfg.baseline_config(),
        priors: cfg.priors_config(),
        incidents: cfg.incidents_config(),
        report_limit: 0,
        future_tolerance_ms: crate::config::future_tolerance_ms(&cfg.pipeline.future_tolerance)
            .map_err(|e| DaemonError::Startup(format!("pipeline.future_tolerance: {e}")))?,
        budget: cfg.state.budget(),
    };
    let mut pipe = Pipeline::new(rules, geo, rc);
    if let Some(a) = &cfg.detections.allowlist {
        let list = crate::detect::allowlist::Allowlist::load(a).map_err(|p| {
            DaemonError::Startup(format!(
                "allowlist: {}",
                p.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        pipe.set_allowlist(list);
    }
    if let Some(p) = &cfg.inventory.path {
        let inv = crate::inventory::Inventory::load(p)
            .map_err(|e| DaemonError::Startup(format!("inventory: {e}")))?;
        metrics::gauge!("nhid_inventory_entries").set(inv.len() as f64);
        pipe.set_inventory(Some(Arc::new(inv)));
    }
    // Restore state before any source starts.
    let mut snapshot_offsets = BTreeMap::new();
    let mut records_total = 0;
    if let Some(dir) = &cfg.state.dir {
        let loaded = match state::load(dir) {
            // A snapshot of another format version (an upgrade): relearn rather than refuse to
            // start; Kafka resumes from the group's committed offsets.
            Err(e @ state::StateError::Version { .. }) => {
                tracing::warn!(error = %e, "snapshot of another nhid version ignored: baselines relearn");
                state::Loaded::Empty
            }
            other => other?,
        };
        let snap = match loaded {
            state::Loaded::Empty => None,
            state::Loaded::Current(s) => Some(s),
            state::Loaded::Previous(s, e) => {
                tracing::warn!(error = %e, "current snapshot unreadable: restored the previous one");
                Some(s)
            }
        };
        if let Some(s) = snap {
            let report = pipe.engine_mut().restore_state(s.engine);
            for o in &s.meta.offsets {
                snapshot_offsets.insert((o.topic.clone(), o.partition), o.next_offset);
            }
            records_total = s.meta.records;
            tracing::info!(
                identities = report.identities,
                dedup_windows = report.dedup_windows,
                rates_dropped = report.rates_dropped,
                offsets = s.meta.offsets.len(),
                "state restored"
            );
        }
    }
    let sinks = crate::sinks::build_with_shutdown(
        &cfg.sinks,
        cfg.dead_letter.path.as_deref(),
        &control.shutdown,
    )
    .map_err(DaemonError::Startup)?;
    let delivered: Offsets = Arc::new(Mutex::new(BTreeMap::new()));
    let checkpoint_due = Arc::new(AtomicBool::new(false));
    let mut skip_below: HashMap<String, HashMap<i32, i64>> = HashMap::new();
    for ((t, p), o) in &snapshot_offsets {
        if !t.starts_with("file:") {
            skip_below.entry(t.clone()).or_default().insert(*p, *o);
        }
    }
    let mut sources = Vec::new();
    for (i, s) in cfg.sources.iter().enumerate() {
        let name = s.name(i);
        match s {
            SourceConfig::Kafka(k) => {
                sources.push(Source::Kafka(Box::new(
                    KafkaSource::new(name, k, delivered.clone(), checkpoint_due.clone())
                        .map_err(DaemonError::Startup)?,
                )));
            }
            SourceConfig::File(f) => sources.push(Source::File {
                name,
                paths: f.paths.iter().map(|p| p.display().to_string()).collect(),
                format: Format::from_name(&f.format).unwrap_or(Format::Auto),
                done: false,
            }),
        }
    }
    let dead_letter_file = match &cfg.dead_letter.path {
        Some(p) => Some(
            DeadLetterFile::open(p)
                .map_err(|e| DaemonError::Startup(format!("dead_letter.path: {e}")))?,
        ),
        None => None,
    };
    let mut dead_letter_producers = BTreeMap::new();
    for s in &sources {
        if let Source::Kafka(k) = s {
            if let Some(t) = &k.dead_letter_topic {
                let p = crate::sinks::kafka::BatchProducer::new(&k.brokers, t, true, &k.properties)
                    .map_err(DaemonError::Startup)?;
                let limit = crate::sinks::kafka::max_message_bytes(&k.properties);
                dead_letter_producers.insert(k.name.clone(), (p, limit));
            }
        }
    }
    let mut d = Daemon {
        cfg,
        control,
        pipe,
        sinks,
        sources,
        dead_letter_file,
        dead_letter_producers,
        pending: Vec::new(),
        pending_records: 0,
        batch_opened: None,
        pending_offsets: BTreeMap::new(),
        delivered,
        checkpoint_due,
        snapshot_offsets,
        skip_below,
        pending_dead: Vec::new(),
        latency: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .map_err(|e| DaemonError::Startup(e.to_string()))?,
        batch_started_at: Vec::new(),
        records_total,
        input_name: String::new(),
    };
    d.main_loop()
}

impl Daemon {
    fn main_loop(&mut self) -> Result<(), DaemonError> {
        let linger =
            Duration::from_millis(duration_ms(&self.cfg.pipeline.batch_linger).max(1) as u64);
        let snap_every =
            Duration::from_millis(duration_ms(&self.cfg.state.snapshot_interval).max(1000) as u64);
        let mut last_snapshot = Instant::now();
        let mut last_metrics = Instant::now();
        let mut last_watch = Instant::now();
        let mut watched = self.watch_fingerprint();
        let has_kafka = self.sources.iter().any(|s| matches!(s, Source::Kafka(_)));
        loop {
            self.control.heartbeat_ms.store(now_ms(), Ordering::Relaxed);
            if self.control.shutdown.is_requested() {
                break;
            }
            if self.control.reload.swap(false, Ordering::SeqCst) {
                self.reload();
                watched = self.watch_fingerprint();
            }
            if self.cfg.detections.watch && last_watch.elapsed() >= WATCH_EVERY {
                last_watch = Instant::now();
                let now = self.watch_fingerprint();
                if now != watched {
                    tracing::info!("rule files changed: reloading");
                    watched = now;
                    self.reload();
                }
            }
            // Ready before reading (a file source is read in one turn, which may wait on a
            // stuck delivery) and again after (Kafka assignments arrive while polling).
            self.update_ready();
            let got = self.poll_sources(linger);
            if self.checkpoint_due.swap(false, Ordering::SeqCst) {
                // Partitions were revoked: make state and commits agree again at once.
                self.checkpoint()?;
                last_snapshot = Instant::now();
            }
            self.update_ready();
            let due = self.batch_opened.is_some_and(|t| t.elapsed() >= linger);
            if self.pending_records >= self.cfg.pipeline.batch_max
                || (due && self.pending_records > 0)
                || (!got && self.pending_records > 0)
            {
                self.deliver()?;
            }
            if last_snapshot.elapsed() >= snap_every {
                self.checkpoint()?;
                last_snapshot = Instant::now();
            }
            if last_metrics.elapsed() >= Duration::from_secs(1) {
                self.publish_metrics();
                last_metrics = Instant::now();
            }
            if !got && self.pending_records == 0 && !has_kafka {
                // Files read to their end and nothing to poll: wait for a signal (or the next
                // timer) instead of spinning.
                self.control.idle(IDLE_WAIT);
            }
        }
        tracing::info!("draining: delivering the open batch, snapshotting, committing");
        // HTTP sinks hold the same shutdown handle: they stop retrying and dead-letter what
        // they cannot deliver now.
        self.control.ready.store(false, Ordering::Relaxed);
        self.deliver()?;
        self.checkpoint()?;
        self.publish_metrics();
        for s in std::mem::take(&mut self.sources) {
            if let Source::Kafka(k) = s {
                (*k).close();
            }
        }
        tracing::info!(records = self.records_total, "stopped");
        Ok(())
    }

    /// Ready: state restored (done before the loop starts) and every Kafka source assigned.
    fn update_ready(&self) {
        let ready = self.sources.iter().all(|s| match s {
            Source::Kafka(k) => k.has_assignment(),
            Source::File { .. } => true,
        });
        self.control.ready.store(ready, Ordering::Relaxed);
    }

    /// Polls every source once; true if any record was read.
    fn poll_sources(&mut self, linger: Duration) -> bool {
        let mut got = false;
        let n = self.sources.len().max(1) as u32;
        let wait = (linger / n).clamp(Duration::from_millis(1), Duration::from_millis(100));
        for i in 0..self.sources.len() {
            match &mut self.sources[i] {
                Source::Kafka(k) => {
                    // Take what is buffered, up to the batch size.
                    let room = self
                        .cfg
                        .pipeline
                        .batch_max
                        .saturating_sub(self.pending_records)
                        .max(1);
                    let mut msgs = Vec::new();
                    while msgs.len() < room {
                        let Some(m) = k.poll(if msgs.is_empty() {
                            wait
                        } else {
                            Duration::ZERO
                        }) else {
                            break;
                        };
                        msgs.push(m);
                    }
                    if msgs.is_empty() {
                        continue;
                    }
                    got = true;
                    let src = k.name.clone();
                    metrics::counter!("nhid_messages_received_total", "source" => src.clone())
                        .increment(msgs.len() as u64);
                    for m in msgs {
                        self.handle_message(&src, m);
                    }
                }
                Source::File { done: true, .. } => {}
                Source::File { .. } => {
                    self.read_files(i);
                    got = true;
                }
            }
        }
        got
    }

    fn open_batch(&mut self) {
        if self.batch_opened.is_none() {
            self.batch_opened = Some(Instant::now());
        }
    }

    /// True if the record is already reflected in the restored state (see `skip_below`).
    fn already_in_state(&mut self, m: &Msg) -> bool {
        let Some(parts) = self.skip_below.get_mut(&m.topic) else {
            return false;
        };
        let Some(&below) = parts.get(&m.partition) else {
            return false;
        };
        if m.offset < below {
            return true;
        }
        parts.remove(&m.partition);
        if parts.is_empty() {
            self.skip_below.remove(&m.topic);
        }
        false
    }

    fn handle_message(&mut self, source: &str, m: Msg) {
        self.open_batch();
        if !self.skip_below.is_empty() && self.already_in_state(&m) {
            metrics::counter!("nhid_records_skipped_in_state_total").increment(1);
            self.pending_offsets
                .insert((m.topic, m.partition), m.offset + 1);
            return;
        }
        self.batch_started_at.push(Instant::now());
        self.input_name.clear();
        let _ = write!(self.input_name, "{}/{}@{}", m.topic, m.partition, m.offset);
        let input = self.input_name.as_str();
        let limits = ReadLimits::for_records(self.cfg.pipeline.max_record_bytes);
        let mut dead: Vec<u8> = Vec::new();
        let skipped_before = self.pipe.stats.skipped_total();
        {
            let pipe = &mut self.pipe;
            let pending = &mut self.pending;
            frame_bytes(input, &m.payload, limits, |item| {
                let mut dl: Option<&mut dyn Write> = Some(&mut dead);
                let _ = pipe.process_item_into(item, m.format, pending, &mut dl);
            });
        }
        if !dead.is_empty() {
            let topic_of = self
                .dead_letter_producers
                .contains_key(source)
                .then(|| source.to_string());
            let mut dead_lines = 0u64;
            for line in dead.split_inclusive(|&b| b == b'\n') {
                dead_lines += 1;
                self.pending_dead.push(Dead {
                    topic_of: topic_of.clone(),
                    key: self.input_name.as_bytes().to_vec(),
                    line: line.to_vec(),
                });
            }
            let bad = self.pipe.stats.skipped_total() - skipped_before;
            if bad > 0 {
                metrics::counter!("nhid_parse_errors_total", "source" => source.to_string())
                    .increment(bad);
            }
            tracing::debug!(source, input, dead_lines, "records dead-lettered");
        }
        self.pending_records += 1;
        self.records_total += 1;
        self.pending_offsets
            .insert((m.topic, m.partition), m.offset + 1);
    }

    /// Reads a file source to its end (records already reflected in the state are skipped),
    /// delivering every `batch_max` records. A delivery that fails (only at shutdown: until
    /// then it is retried) stops the reading; the file resumes after the last delivered record.
    fn read_files(&mut self, i: usize) {
        let Source::File {
            name,
            paths,
            format,
            done,
        } = &mut self.sources[i]
        else {
            return;
        };
        let name = name.clone();
        let format = *format;
        let paths = paths.clone();
        *done = true;
        let limits = ReadLimits::for_records(self.cfg.pipeline.max_record_bytes);
        for path in paths {
            let key = (format!("file:{path}"), 0);
            let skip = self.snapshot_offsets.get(&key).copied().unwrap_or(0);
            let mut n: i64 = 0;
            let mut count = 0u64;
            let mut stopped = false;
            let skipped_before = self.pipe.stats.skipped_total();
            let res = read_input(&path, limits, |item| {
                n += 1;
                if n <= skip || stopped {
                    return;
                }
                self.file_item(item, format);
                count += 1;
                self.pending_offsets.insert(key.clone(), n);
                if self.pending_records >= self.cfg.pipeline.batch_max && self.deliver().is_err() {
                    stopped = true;
                }
            });
            metrics::counter!("nhid_messages_received_total", "source" => name.clone())
                .increment(count);
            let bad = self.pipe.stats.skipped_total() - skipped_before;
            if bad > 0 {
                metrics::counter!("nhid_parse_errors_total", "source" => name.clone())
                    .increment(bad);
            }
            match res {
                Ok(()) if !stopped => {
                    // Empty or fully skipped inputs still count as read to their end.
                    self.open_batch();
                    self.pending_offsets.insert(key, n.max(skip));
                }
                Ok(()) => {}
                Err(e) => {
                    metrics::counter!("nhid_source_errors_total", "source" => name.clone())
                        .increment(1);
                    tracing::error!(source = %name, error = %e, "cannot read input");
                }
            }
            if stopped || self.deliver().is_err() {
                tracing::error!(source = %name, input = %path, "delivery failed: reading stops; the input resumes after its last delivered record");
                return;
            }
        }
    }

    /// One framed item of a file source into the open batch.
    fn file_item(&mut self, item: crate::sources::file::Item<'_>, format: Format) {
        self.open_batch();
        let mut dead: Vec<u8> = Vec::new();
        {
            let mut dl: Option<&mut dyn Write> = Some(&mut dead);
            // Writing to a Vec cannot fail.
            let _ = self
                .pipe
                .process_item_into(item, format, &mut self.pending, &mut dl);
        }
        for line in dead.split_inclusive(|&b| b == b'\n') {
            self.pending_dead.push(Dead {
                topic_of: None,
                key: Vec::new(),
                line: line.to_vec(),
            });
        }
        self.pending_records += 1;
        self.records_total += 1;
    }

    /// Hands the open batch to every sink, then writes its dead letters, then marks its records
    /// done. Retryable failures are retried with backoff until they succeed (back-pressure:
    /// nothing is committed past them) or shutdown, which returns the error.
    fn deliver(&mut self) -> Result<(), DaemonError> {
        if self.pending_records == 0 && self.pending.is_empty() && self.pending_dead.is_empty() {
            self.batch_opened = None;
            return Ok(());
        }
        for a in &self.pending {
            metrics::counter!("nhid_alerts_total", "rule" => a.rule.clone(), "severity" => severity_name(a.severity)).increment(1);
        }
        for i in 0..self.sinks.len() {
            self.deliver_to(i)?;
        }
        self.flush_dead()?;
        resume_sources(&mut self.sources);
        let now = Instant::now();
        for t in self.batch_started_at.drain(..) {
            let us = now.duration_since(t).as_micros() as u64;
            let _ = self.latency.record(us.max(1));
        }
        {
            // Offsets of partitions revoked meanwhile are abandoned (their new owner reads
            // them again); everything else now counts as delivered.
            let offsets = std::mem::take(&mut self.pending_offsets);
            let assigned: Vec<_> = self
                .sources
                .iter()
                .filter_map(|s| match s {
                    Source::Kafka(k) => Some(k),
                    Source::File { .. } => None,
                })
                .collect();
            let mut delivered = self.delivered.lock().unwrap_or_else(|e| e.into_inner());
            for (k, v) in offsets {
                if k.0.starts_with("file:") || assigned.iter().any(|s| s.is_assigned(&k.0, k.1)) {
                    delivered.insert(k, v);
                }
            }
        }
        self.pending.clear();
        self.pending_records = 0;
        self.batch_opened = None;
        if self.cfg.state.dir.is_none() {
            self.commit();
        }
        Ok(())
    }

    /// Delivers the open batch's alerts to sink `i`. Alerts it refuses for good become alert
    /// letters (the batch goes on without them); a retryable failure is retried.
    fn deliver_to(&mut self, i: usize) -> Result<(), DaemonError> {
        let s = &mut self.sinks[i];
        let orig: Vec<&AlertOut> = self.pending.iter().filter(|a| s.wants(a)).collect();
        if orig.is_empty() {
            return Ok(());
        }
        let prepared = s.prepare(&orig);
        let batch: Vec<&AlertOut> = match &prepared {
            Some(c) => c.iter().collect(),
            None => orig.clone(),
        };
        let mut backoff = Duration::from_millis(200);
        loop {
            match s.sink.send(&batch) {
                Ok(()) => {
                    metrics::counter!("nhid_sink_alerts_total", "sink" => s.name.clone())
                        .increment(batch.len() as u64);
                    return Ok(());
                }
                Err(SinkError::Permanent { reason, refused }) => {
                    let idx: Vec<usize> = match refused {
                        Refused::All => (0..orig.len()).collect(),
                        Refused::Some(v) => v,
                    };
                    let accepted = batch.len().saturating_sub(idx.len());
                    metrics::counter!("nhid_sink_alerts_total", "sink" => s.name.clone())
                        .increment(accepted as u64);
                    metrics::counter!("nhid_sink_refused_total", "sink" => s.name.clone())
                        .increment(idx.len() as u64);
                    tracing::error!(sink = %s.name, alerts = idx.len(), %reason, "alerts refused for good: dead-lettered, not retried");
                    for a in idx.iter().filter_map(|&j| orig.get(j)) {
                        self.pending_dead.push(Dead {
                            topic_of: None,
                            key: a.uid.as_bytes().to_vec(),
                            line: crate::deadletter::alert_line(
                                &s.name,
                                &reason,
                                &a.uid,
                                a.alert.metadata.sequence,
                                &a.json,
                            ),
                        });
                    }
                    return Ok(());
                }
                Err(SinkError::Retryable(e)) => {
                    metrics::counter!("nhid_sink_errors_total", "sink" => s.name.clone())
                        .increment(1);
                    tracing::warn!(sink = %s.name, error = %e, "sink send failed; retrying");
                    if self.control.shutdown.is_requested() {
                        // Not delivered: keep the offsets uncommitted, the records will be
                        // read again after restart (at-least-once).
                        return Err(DaemonError::Delivery(format!(
                            "sink {} could not accept alerts: {e}",
                            s.name
                        )));
                    }
                    wait_keeping_sources_alive(&mut self.sources, &self.control, backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Writes the open batch's dead letters, retrying until they are durably written or
    /// shutdown: a dead letter that cannot be written is a delivery failure.
    fn flush_dead(&mut self) -> Result<(), DaemonError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.write_dead() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    metrics::counter!("nhid_dead_letter_errors_total").increment(1);
                    tracing::error!(error = %e, letters = self.pending_dead.len(), "dead letters cannot be written: the batch is held, nothing is committed past it");
                    if self.control.shutdown.is_requested() {
                        return Err(DaemonError::Delivery(format!("dead letters: {e}")));
                    }
                    wait_keeping_sources_alive(&mut self.sources, &self.control, backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// One attempt: topic letters by source, then file letters. What was written leaves
    /// `pending_dead`, so a retry does not write it twice.
    fn write_dead(&mut self) -> Result<(), String> {
        if self.pending_dead.is_empty() {
            return Ok(());
        }
        for (src, (producer, limit)) in &self.dead_letter_producers {
            let mine: Vec<usize> = (0..self.pending_dead.len())
                .filter(|&j| self.pending_dead[j].topic_of.as_deref() == Some(src))
                .collect();
            if mine.is_empty() {
                continue;
            }
            let fitted: Vec<std::borrow::Cow<[u8]>> = mine
                .iter()
                .map(|&j| crate::deadletter::fit(&self.pending_dead[j].line, *limit))
                .collect();
            let items = mine
                .iter()
                .zip(&fitted)
                .map(|(&j, l)| (self.pending_dead[j].key.as_slice(), l.as_ref()));
            match producer.send_all(items) {
                Ok(()) => {}
                Err(SinkError::Permanent { reason, .. }) => {
                    // Even the letter without its record is refused (a topic limit below
                    // the producer's): a configuration fault, held like a full disk.
                    return Err(format!(
                        "dead-letter topic of {src} refuses letters: {reason}"
                    ));
                }
                Err(e) => return Err(format!("dead-letter topic of {src}: {e}")),
            }
            metrics::counter!("nhid_dead_letters_total", "target" => "topic")
                .increment(mine.len() as u64);
            self.pending_dead
                .retain(|d| d.topic_of.as_deref() != Some(src.as_str()));
        }
        if self.pending_dead.is_empty() {
            return Ok(());
        }
        let n = self.pending_dead.len() as u64;
        match &mut self.dead_letter_file {
            Some(f) => {
                let mut lines = Vec::new();
                for d in &self.pending_dead {
                    lines.extend_from_slice(&d.line);
                }
                f.append(&lines).map_err(|e| e.to_string())?;
                metrics::counter!("nhid_dead_letters_total", "target" => "file").increment(n);
            }
            None => {
                // No dead-letter target configured: counted and logged, not kept.
                metrics::counter!("nhid_dead_letters_discarded_total").increment(n);
                tracing::warn!(
                    letters = n,
                    "no [dead_letter] path: dead letters counted, not kept"
                );
            }
        }
        self.pending_dead.clear();
        Ok(())
    }

    fn delivered_now(&self) -> BTreeMap<(String, i32), i64> {
        self.delivered
            .lock()
            .map(|d| d.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn commit(&mut self) {
        let delivered = self.delivered_now();
        for s in &self.sources {
            if let Source::Kafka(k) = s {
                if let Err(e) = k.commit(&delivered) {
                    tracing::warn!(source = %k.name, error = %e, "offset commit failed");
                }
            }
        }
    }

    /// Snapshot (state + the offsets it reflects), then commit those offsets.
    fn checkpoint(&mut self) -> Result<(), DaemonError> {
        self.deliver()?;
        for (k, v) in self.delivered_now() {
            self.snapshot_offsets.insert(k, v);
        }
        if let Some(dir) = self.cfg.state.dir.clone() {
            let meta = SnapshotMeta {
                written_at_ms: now_ms(),
                nhid_version: env!("CARGO_PKG_VERSION").to_string(),
                offsets: self
                    .snapshot_offsets
                    .iter()
                    .map(|((t, p), o)| PartitionOffset {
                        topic: t.clone(),
                        partition: *p,
                        next_offset: *o,
                    })
                    .collect(),
                records: self.records_total,
            };
            let t = Instant::now();
            // Labels of values no profile holds any more are not worth writing (or keeping).
            self.pipe.engine_mut().compact_labels();
            match state::write(&dir, &meta, self.pipe.engine()) {
                Ok(r) => {
                    metrics::counter!("nhid_snapshots_total").increment(1);
                    metrics::gauge!("nhid_snapshot_bytes").set(r.bytes as f64);
                    tracing::info!(
                        bytes = r.bytes,
                        ms = t.elapsed().as_millis() as u64,
                        "snapshot written"
                    );
                }
                Err(e) => {
                    metrics::counter!("nhid_snapshot_errors_total").increment(1);
                    tracing::error!(error = %e, "snapshot failed; offsets not committed");
                    return Ok(());
                }
            }
        }
        self.commit();
        Ok(())
    }

    /// Fingerprint of the watched files (rule directory and allowlist), for `[detections] watch`.
    fn watch_fingerprint(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        if let Some(d) = &self.cfg.detections.dir {
            h.update(&crate::detect::loader::fingerprint(d).to_le_bytes());
        }
        for f in [&self.cfg.detections.allowlist, &self.cfg.inventory.path]
            .into_iter()
            .flatten()
        {
            crate::detect::loader::file_stamp(f, &mut h);
        }
        h.digest()
    }

    /// Reloads the inventory; a bad file keeps the previous one (its problems are logged).
    fn reload_inventory(&mut self) {
        let Some(p) = &self.cfg.inventory.path else {
            return;
        };
        match crate::inventory::Inventory::load(p) {
            Ok(inv) => {
                metrics::gauge!("nhid_inventory_entries").set(inv.len() as f64);
                metrics::counter!("nhid_inventory_reloads_total", "result" => "ok").increment(1);
                tracing::info!(entries = inv.len(), "inventory reloaded");
                self.pipe.set_inventory(Some(Arc::new(inv)));
            }
            Err(e) => {
                metrics::counter!("nhid_inventory_reloads_total", "result" => "refused")
                    .increment(1);
                tracing::error!(problems = %e, "inventory refused; the previous one stays");
            }
        }
    }

    fn reload(&mut self) {
        self.reload_inventory();
        match load_rules(&self.cfg) {
            Ok(rules) => {
                let n = rules.len();
                let report = self.pipe.replace_rules(rules);
                metrics::gauge!("nhid_rules_loaded").set(n as f64);
                if let Some(a) = &self.cfg.detections.allowlist {
                    match crate::detect::allowlist::Allowlist::load(a) {
                        Ok(list) => self.pipe.set_allowlist(list),
                        Err(p) => {
                            tracing::error!(problems = ?p.iter().map(|x| x.to_string()).collect::<Vec<_>>(), "allowlist refused; the previous one stays")
                        }
                    }
                }
                metrics::counter!("nhid_reloads_total", "result" => "ok").increment(1);
                tracing::info!(
                    rules = n,
                    dropped = report.rule_state_dropped,
                    "rules reloaded"
                );
            }
            Err(problems) => {
                metrics::counter!("nhid_reloads_total", "result" => "refused").increment(1);
                tracing::error!(%problems, "rule reload refused; the previous rules stay active");
            }
        }
    }

    fn publish_metrics(&mut self) {
        self.pipe.sync_stats();
        metrics::gauge!("nhid_identities").set(self.pipe.stats.identities as f64);
        metrics::gauge!("nhid_records_processed").set(self.records_total as f64);
        metrics::counter!("nhid_records_future_total").absolute(self.pipe.engine().stats.future);
        publish_state_metrics(self.pipe.engine().store());
        let st = &self.pipe.engine().stats;
        metrics::counter!("nhid_storms_total").absolute(st.storms);
        metrics::counter!("nhid_storm_folded_total").absolute(st.storm_folded);
        for (src, n) in &self.pipe.stats.by_source {
            metrics::gauge!("nhid_events_parsed", "source" => *src).set(*n as f64);
        }
        for s in &self.sources {
            if let Source::Kafka(k) = s {
                for (t, p, lag) in k.lag() {
                    metrics::gauge!("nhid_consumer_lag", "topic" => t, "partition" => p.to_string()).set(lag as f64);
                }
            }
        }
        let h = &self.latency;
        let mut text = String::from(
            "# HELP nhid_delivery_latency_seconds Time from a record's arrival to its alerts being accepted by every sink.\n# TYPE nhid_delivery_latency_seconds summary\n",
        );
        for q in [0.5, 0.9, 0.99, 0.999] {
            text.push_str(&format!(
                "nhid_delivery_latency_seconds{{quantile=\"{q}\"}} {}\n",
                h.value_at_quantile(q) as f64 / 1e6
            ));
        }
        let sum: f64 = h
            .iter_recorded()
            .map(|v| v.value_iterated_to() as f64 * v.count_at_value() as f64)
            .sum::<f64>()
            / 1e6;
        text.push_str(&format!(
            "nhid_delivery_latency_seconds_sum {sum}\nnhid_delivery_latency_seconds_count {}\n",
            h.len()
        ));
        if let Ok(mut e) = self.control.extra_metrics.lock() {
            *e = text;
        }
    }
}

fn severity_name(id: u8) -> &'static str {
    match id {
        1 => "informational",
        2 => "low",
        3 => "medium",
        4 => "high",
        _ => "critical",
    }
}

/// Installs the Prometheus recorder (once per process) and returns its handle.
pub fn install_metrics() -> Result<metrics_exporter_prometheus::PrometheusHandle, String> {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    Ok(handle)
}

/// The memory budget's gauges and counters (docs/operations.md "Memory budget").
fn publish_state_metrics(store: &crate::baseline::BaselineStore) {
    let e = store.evictions;
    metrics::gauge!("nhid_state_bytes").set(store.bytes() as f64);
    metrics::gauge!("nhid_state_max_bytes").set(store.budget().max_bytes as f64);
    metrics::gauge!("nhid_state_max_identities").set(store.budget().max_identities as f64);
    metrics::gauge!("nhid_state_markers").set(store.markers() as f64);
    metrics::counter!("nhid_state_evictions_total").absolute(e.identities);
    metrics::counter!("nhid_state_eviction_sweeps_total").absolute(e.sweeps);
    metrics::counter!("nhid_state_markers_dropped_total").absolute(e.markers_dropped);
    metrics::counter!("nhid_state_returned_total").absolute(e.returned);
    metrics::gauge!("nhid_labels").set(store.labels.len() as f64);
    metrics::gauge!("nhid_label_bytes").set(store.labels.approx_bytes() as f64);
    metrics::counter!("nhid_labels_dropped_total").absolute(store.labels.dropped);
    metrics::counter!("nhid_label_compactions_total").absolute(store.labels.compactions);
}
