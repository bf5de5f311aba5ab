//! The replay pipeline: inputs -> framing -> parse -> enrich -> detect -> OCSF alert lines, with
//! bad records counted, reported on stderr (rate-limited) and dead-lettered, never fatal.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::sync::Arc;

use crate::alert;
use crate::baseline::BaselineConfig;
use crate::detect::{Engine, Finding, Rule};
use crate::enrich::Enricher;
use crate::event::{AuditEvent, InventoryMatch};
use crate::geo::GeoDb;
use crate::inventory::Inventory;

/// The event-time lane of an input: a file, or a Kafka partition (`topic/partition@offset`
/// without the offset).
fn lane_name(input: &str) -> &str {
    match input.rfind('@') {
        Some(i) if input[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &input[..i],
        _ => input,
    }
}

/// A future-dated record whose identity is a suspect ([`crate::detect::clock`]).
struct SuspectRecord {
    id: u64,
    bytes: Vec<u8>,
    input: String,
    line: u64,
    index: Option<u64>,
    time: i64,
    watermark: i64,
}

/// Room a dead letter needs besides its record (reason, error, position, digest).
const DEAD_LETTER_OVERHEAD: usize = 64 << 10;
use crate::parsers::{Format, Parsers};
use crate::sinks::AlertOut;
use crate::sources::file::{read_input, InputError, Item, ReadLimits};
use crate::sources::Origin;

/// Settings of a replay run.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// Forced format, or auto-detection per record.
    pub format: Format,
    /// Largest record accepted.
    pub max_record_bytes: usize,
    /// Baseline settings.
    pub baseline: BaselineConfig,
    /// Account and peer priors.
    pub priors: crate::baseline::priors::PriorsConfig,
    /// Incidents.
    pub incidents: crate::detect::incident::IncidentConfig,
    /// Bad records reported individually on stderr before only counting.
    pub report_limit: u64,
    /// Event-time sanity: how far past the confirmed watermark a record is learned (ms).
    pub future_tolerance_ms: Option<i64>,
    /// Memory budget of identity state.
    pub budget: crate::baseline::Budget,
}

impl ReplayConfig {
    /// The engine's settings.
    pub fn engine_config(&self) -> crate::detect::engine::EngineConfig {
        crate::detect::engine::EngineConfig {
            baseline: self.baseline,
            priors: self.priors,
            incidents: self.incidents,
            future_tolerance_ms: self.future_tolerance_ms,
            budget: self.budget,
            ..Default::default()
        }
    }
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            format: Format::Auto,
            max_record_bytes: crate::parsers::DEFAULT_MAX_RECORD_BYTES,
            baseline: BaselineConfig::default(),
            priors: Default::default(),
            incidents: Default::default(),
            report_limit: 20,
            future_tolerance_ms: Some(crate::time::HOUR_MS),
            budget: Default::default(),
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct RunStats {
    /// Records framed from the inputs (including bad ones).
    pub records_read: u64,
    /// Records parsed into events.
    pub parsed: u64,
    /// Bytes of records framed.
    pub bytes: u64,
    /// Records skipped, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Records dated past the stream's confirmed watermark (evaluated, not learned,
    /// dead-lettered as `future_time`).
    pub future_time: u64,
    /// Parsed events by source.
    pub by_source: BTreeMap<&'static str, u64>,
    /// Alerts by rule id.
    pub alerts_by_rule: BTreeMap<String, u64>,
    /// Alerts by severity.
    pub alerts_by_severity: BTreeMap<u8, u64>,
    /// Repeated findings folded into earlier alerts (dedup).
    pub suppressed: u64,
    /// Update alerts emitted for repeated findings.
    pub updates: u64,
    /// Findings suppressed by the allowlist.
    pub allowlisted: u64,
    /// Storms started.
    pub storms: u64,
    /// Findings folded into storm alerts.
    pub storm_folded: u64,
    /// Identities with a baseline at the end.
    pub identities: usize,
    /// Approximate bytes held by all baselines at the end.
    pub baseline_bytes: usize,
    /// Memory budget counters at the end.
    pub evictions: crate::baseline::Evictions,
    /// Markers of evicted identities held at the end.
    pub markers: usize,
    /// Value labels held at the end, their bytes, and labels refused for lack of room.
    pub labels: (usize, usize, u64),
    /// Inputs that could not be opened or read.
    pub failed_inputs: Vec<String>,
}

impl RunStats {
    /// Total skipped records.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Total alerts.
    pub fn alerts_total(&self) -> u64 {
        self.alerts_by_rule.values().sum()
    }

    /// The end-of-run summary printed on stderr.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "nhid replay: {} record(s) read, {} parsed, {} skipped, {} alert(s) ({} update(s)), {} repeat(s) folded, {} allowlisted, {} storm(s) folding {} finding(s), {} identities (~{} KiB of baselines)\n",
            self.records_read,
            self.parsed,
            self.skipped_total(),
            self.alerts_total(),
            self.updates,
            self.suppressed,
            self.allowlisted,
            self.storms,
            self.storm_folded,
            self.identities,
            self.baseline_bytes / 1024
        );
        for (k, v) in &self.by_source {
            s.push_str(&format!("  parsed {k}: {v}\n"));
        }
        for (k, v) in &self.skipped {
            s.push_str(&format!("  skipped {k}: {v}\n"));
        }
        if self.future_time > 0 {
            s.push_str(&format!(
                "  future_time (refuted by the stream, unlearned, dead-lettered): {}\n",
                self.future_time
            ));
        }
        if self.evictions.identities > 0 || self.labels.2 > 0 {
            let e = &self.evictions;
            s.push_str(&format!(
                "  memory budget: {} identities evicted in {} sweep(s), {} came back, {} marker(s) held, {} dropped; {} label(s) (~{} KiB), {} refused\n",
                e.identities, e.sweeps, e.returned, self.markers, e.markers_dropped,
                self.labels.0, self.labels.1 / 1024, self.labels.2
            ));
        }
        for (k, v) in &self.alerts_by_rule {
            s.push_str(&format!("  alerts {k}: {v}\n"));
        }
        for f in &self.failed_inputs {
            s.push_str(&format!("  failed input: {f}\n"));
        }
        s
    }
}

/// Identities whose inventory lookup is cached (then the cache starts over).
const OWNER_CACHE_MAX: usize = 1 << 20;

/// A cached inventory lookup: the credential it was made with, and the entry found.
type CachedOwner = (Option<Box<str>>, InventoryMatch);

/// The replay pipeline.
pub struct Pipeline {
    parsers: Parsers,
    enricher: Enricher,
    engine: Engine,
    findings: Vec<Finding>,
    config: ReplayConfig,
    inventory: Option<Arc<Inventory>>,
    /// Inventory lookups per identity key: (credential it was looked up with, the entry).
    owners: HashMap<Box<str>, CachedOwner>,
    /// The input of the last record and its event-time lane.
    lane: (String, u64),
    /// Future-dated records of suspect identities, until the stream decides.
    suspects: std::collections::VecDeque<SuspectRecord>,
    /// Counters.
    pub stats: RunStats,
}

impl Pipeline {
    /// Builds the pipeline.
    pub fn new(rules: Arc<Vec<Rule>>, geo: GeoDb, config: ReplayConfig) -> Self {
        Pipeline {
            parsers: Parsers::new(config.max_record_bytes),
            enricher: Enricher::new(geo),
            engine: Engine::with_config(rules, config.engine_config()),
            findings: Vec::new(),
            config,
            inventory: None,
            owners: HashMap::new(),
            lane: Default::default(),
            suspects: Default::default(),
            stats: RunStats::default(),
        }
    }

    /// Installs (or removes) the NHI inventory: alerts carry owner context from it, severity
    /// follows criticality, and rules see `inventory.*`.
    pub fn set_inventory(&mut self, inventory: Option<Arc<Inventory>>) {
        self.inventory = inventory;
        self.owners.clear();
    }

    /// The identity's inventory entry (cached per identity key and credential).
    fn owner_of(&mut self, ev: &AuditEvent<'_>) -> InventoryMatch {
        let Some(inv) = &self.inventory else {
            return InventoryMatch::NotLoaded;
        };
        let cred = ev.identity.credential.as_deref();
        if let Some((c, m)) = self.owners.get(ev.identity.key.as_ref()) {
            if c.as_deref() == cred {
                return m.clone();
            }
        }
        let m = inv.matching(&ev.identity);
        if self.owners.len() >= OWNER_CACHE_MAX {
            self.owners.clear();
        }
        self.owners.insert(
            ev.identity.key.as_ref().into(),
            (cred.map(Into::into), m.clone()),
        );
        m
    }

    /// Installs an allowlist.
    pub fn set_allowlist(&mut self, a: crate::detect::allowlist::Allowlist) {
        self.engine.set_allowlist(a);
    }

    /// The engine (baselines, rules).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Input that could not be framed into records: counted as read, reported, dead-lettered.
    fn unframed(
        &mut self,
        origin: &Origin<'_>,
        reason: &'static str,
        error: &str,
        bytes: &[u8],
        size: usize,
        dead_letter: &mut Option<&mut dyn Write>,
    ) -> io::Result<()> {
        self.stats.records_read += 1;
        self.bad(origin, reason, error, bytes, size, dead_letter)
    }

    fn bad(
        &mut self,
        origin: &Origin<'_>,
        reason: &'static str,
        error: &str,
        bytes: &[u8],
        size: usize,
        dead_letter: &mut Option<&mut dyn Write>,
    ) -> io::Result<()> {
        *self.stats.skipped.entry(reason).or_default() += 1;
        let n = self.stats.skipped_total();
        if n <= self.config.report_limit {
            eprintln!("nhid: skipped {origin}: {reason}: {error}");
        } else if n == self.config.report_limit + 1 {
            eprintln!("nhid: further skipped records are counted, not listed (see summary)");
        }
        if let Some(w) = dead_letter.as_deref_mut() {
            let pos = crate::deadletter::Position {
                input: origin.input,
                line: origin.line,
                index: origin.index,
            };
            self.write_letter(w, pos, reason, error, bytes, size)?;
        }
        Ok(())
    }

    /// Processes one raw record, writing any alerts to `out`.
    pub fn process_record(
        &mut self,
        raw: &[u8],
        origin: &Origin<'_>,
        out: &mut dyn Write,
        dead_letter: &mut Option<&mut dyn Write>,
    ) -> io::Result<()> {
        let format = self.config.format;
        self.process_inner(raw, origin, format, dead_letter, &mut |v, _, _, _| {
            serde_json::to_writer(&mut *out, &v)?;
            out.write_all(b"\n")
        })
    }

    /// Processes one raw record of a known (or `Auto`) format, appending any alerts to `alerts`
    /// (the daemon's path: alerts go to sinks in batches).
    pub fn process_into(
        &mut self,
        raw: &[u8],
        origin: &Origin<'_>,
        format: Format,
        alerts: &mut Vec<AlertOut>,
        dead_letter: &mut Option<&mut dyn Write>,
    ) -> io::Result<()> {
        self.process_inner(
            raw,
            origin,
            format,
            dead_letter,
            &mut |a, rule, sev, identity| {
                alerts.push(AlertOut::new(a, rule, sev, identity)?);
                Ok(())
            },
        )
    }

    /// Processes one framed item (a record, or input that could not be framed, which is
    /// counted and dead-lettered with its reason) into `alerts`.
    pub fn process_item_into(
        &mut self,
        item: Item<'_>,
        format: Format,
        alerts: &mut Vec<AlertOut>,
        dead_letter: &mut Option<&mut dyn Write>,
    ) -> io::Result<()> {
        match item {
            Item::Record(bytes, origin) => {
                self.process_into(bytes, &origin, format, alerts, dead_letter)
            }
            Item::Unframed {
                bytes,
                origin,
                reason,
                error,
                size,
            } => self.unframed(&origin, reason, &error, bytes, size, dead_letter),
        }
    }

    fn process_inner(
        &mut self,
        raw: &[u8],
        origin: &Origin<'_>,
        format: Format,
        dead_letter: &mut Option<&mut dyn Write>,
        emit: &mut dyn FnMut(alert::Alert, &str, u8, &str) -> io::Result<()>,
    ) -> io::Result<()> {
        self.stats.records_read += 1;
        self.stats.bytes += raw.len() as u64;
        let mut ev = match self.parsers.parse(raw, format) {
            Ok(ev) => ev,
            Err(e) => {
                return self.bad(
                    origin,
                    e.reason(),
                    &e.to_string(),
                    raw,
                    raw.len(),
                    dead_letter,
                )
            }
        };
        self.stats.parsed += 1;
        *self.stats.by_source.entry(ev.source.as_str()).or_default() += 1;
        self.enricher.enrich(&mut ev);
        if self.inventory.is_some() {
            ev.inventory = self.owner_of(&ev);
        }
        self.findings.clear();
        // Kafka inputs change with every offset: compare the lane's name, allocate on a change.
        let lane = lane_name(origin.input);
        if self.lane.0 != lane {
            self.lane = (
                lane.to_string(),
                xxhash_rust::xxh3::xxh3_64(lane.as_bytes()),
            );
        }
        self.engine.set_lane(self.lane.1);
        let future = self.engine.process(&ev, &mut self.findings);
        for f in &self.findings {
            let rule = &self.engine.rules()[f.rule];
            let a = alert::build(self.engine.rules(), f, &ev);
            let sev = a.severity_id;
            emit(a, &rule.id, sev, &ev.identity.key)?;
            *self
                .stats
                .alerts_by_rule
                .entry(rule.id.clone())
                .or_default() += 1;
            *self.stats.alerts_by_severity.entry(sev).or_default() += 1;
        }
        if let Some(w) = future {
            self.keep_suspect(&ev, raw, origin, w);
        }
        let refuted = self.engine.take_refuted();
        for (id, _) in refuted {
            self.refuted_record(id, dead_letter)?;
        }
        Ok(())
    }

    /// Keeps a future-dated record whose identity is a suspect, until the stream confirms or
    /// refutes it (bounded: the clock holds at most `MAX_SUSPECTS`, older entries are resolved).
    fn keep_suspect(&mut self, ev: &AuditEvent<'_>, raw: &[u8], origin: &Origin<'_>, w: i64) {
        let id = xxhash_rust::xxh3::xxh3_64(ev.identity.key.as_bytes());
        self.suspects.push_back(SuspectRecord {
            id,
            bytes: raw.to_vec(),
            input: origin.input.to_string(),
            line: origin.line,
            index: origin.index,
            time: ev.time_ms,
            watermark: w,
        });
        if self.suspects.len() > 2 * crate::detect::clock::MAX_SUSPECTS {
            self.suspects.pop_front();
        }
    }

    /// Writes a record letter: the whole record when it is within the record limit, else its
    /// position and digest (input too large to frame: its position, size and start).
    fn write_letter(
        &self,
        w: &mut dyn Write,
        pos: crate::deadletter::Position<'_>,
        reason: &str,
        error: &str,
        bytes: &[u8],
        size: usize,
    ) -> io::Result<()> {
        let limit = self.config.max_record_bytes + DEAD_LETTER_OVERHEAD;
        w.write_all(&crate::deadletter::record_line(
            pos, reason, error, bytes, size, limit,
        ))
    }

    /// A suspect the stream refuted: counted and dead-lettered as `future_time`.
    fn refuted_record(
        &mut self,
        id: u64,
        dead_letter: &mut Option<&mut dyn Write>,
    ) -> io::Result<()> {
        self.stats.future_time += 1;
        let Some(i) = self.suspects.iter().rposition(|s| s.id == id) else {
            return Ok(());
        };
        let Some(s) = self.suspects.remove(i) else {
            return Ok(());
        };
        if let Some(wr) = dead_letter.as_deref_mut() {
            let error = format!(
                "dated {}, more than future_tolerance past the stream's confirmed watermark {}, and the stream did not follow: its identity's baseline was put back as before it",
                crate::time::format_rfc3339_ms(s.time),
                crate::time::format_rfc3339_ms(s.watermark)
            );
            let pos = crate::deadletter::Position {
                input: &s.input,
                line: s.line,
                index: s.index,
            };
            self.write_letter(wr, pos, "future_time", &error, &s.bytes, s.bytes.len())?;
        }
        Ok(())
    }

    /// The engine, mutable (state restore, rule reload).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Replaces the rule set, keeping baselines, learning state and suppression windows
    /// (state of rules no longer loaded is dropped).
    pub fn replace_rules(&mut self, rules: Arc<Vec<Rule>>) -> crate::detect::engine::RestoreReport {
        let state = self.engine.take_state();
        let allowlist = self.engine.take_allowlist();
        let stats = self.engine.stats;
        let mut engine = Engine::with_config(rules, self.config.engine_config());
        if let Some(a) = allowlist {
            engine.set_allowlist(a);
        }
        engine.stats = stats;
        let report = engine.restore_state(state);
        self.engine = engine;
        report
    }

    /// Copies the engine's counters into [`RunStats`].
    pub fn sync_stats(&mut self) {
        self.stats.suppressed = self.engine.stats.suppressed;
        self.stats.updates = self.engine.stats.updates;
        self.stats.allowlisted = self.engine.stats.allowlisted;
        self.stats.storms = self.engine.stats.storms;
        self.stats.storm_folded = self.engine.stats.storm_folded;
        let store = self.engine.store();
        self.stats.identities = store.len();
        self.stats.evictions = store.evictions;
        self.stats.markers = store.markers();
        self.stats.labels = (
            store.labels.len(),
            store.labels.approx_bytes(),
            store.labels.dropped,
        );
    }

    /// Replays one input. I/O errors writing alerts are returned; unreadable inputs are
    /// returned as [`InputError`] inside `Ok(Err(..))` so the caller can go on with the next.
    pub fn replay_input(
        &mut self,
        input: &str,
        out: &mut dyn Write,
        mut dead_letter: Option<&mut dyn Write>,
    ) -> io::Result<Result<(), InputError>> {
        let limits = ReadLimits::for_records(self.config.max_record_bytes);
        let mut write_err: Option<io::Error> = None;
        let res = read_input(input, limits, |item| {
            if write_err.is_some() {
                return;
            }
            let r = match item {
                Item::Record(bytes, origin) => {
                    self.process_record(bytes, &origin, out, &mut dead_letter)
                }
                Item::Unframed {
                    bytes,
                    origin,
                    reason,
                    error,
                    size,
                } => self.unframed(&origin, reason, &error, bytes, size, &mut dead_letter),
            };
            if let Err(e) = r {
                write_err = Some(e);
            }
        });
        if let Some(e) = write_err {
            return Err(e);
        }
        self.sync_stats();
        self.stats.baseline_bytes = self.engine.store().approx_bytes();
        if let Err(e) = &res {
            self.stats.failed_inputs.push(e.to_string());
        }
        Ok(res)
    }
}
