//! `nhid` command line. See README.md and CONTRACTS for the interface:
//! stdout carries only alert lines; logs and summaries go to stderr; exit 0 = input consumed,
//! 1 = an input could not be read, 2 = usage or configuration error.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use nhid::baseline::BaselineConfig;
use nhid::detect::loader::{load_dir, load_embedded, RulePack};
use nhid::detect::ruletest;
use nhid::geo::GeoDb;
use nhid::parsers::Format;
use nhid::pipeline::{Pipeline, ReplayConfig};
use nhid::time::parse_duration_ms;

#[derive(Parser)]
#[command(
    name = "nhid",
    version,
    about = "Catches misuse of non-human identities in cloud and SaaS audit logs"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replay audit records from files (or `-` for stdin) through the detectors; alerts go to
    /// stdout (or --output) as OCSF JSON lines, the summary to stderr.
    Replay(ReplayArgs),
    /// Print the normalised event of every record (JSON lines): what rules see.
    Parse(InspectArgs),
    /// List the distinct identities in the inputs with their human / non-human class and why (TSV).
    Identities(InspectArgs),
    /// Work with rule packs.
    Rules {
        #[command(subcommand)]
        cmd: RulesCmd,
    },
    /// Run the daemon: consume sources, detect, deliver alerts to sinks (see docs/configuration.md).
    Run {
        /// Config file (TOML; NHID_* environment variables override keys).
        #[arg(long)]
        config: PathBuf,
        /// Validate the configuration, list every problem, and exit (0 = valid, 2 = not).
        #[arg(long)]
        check_config: bool,
    },
    /// Write audit records from files into a Kafka topic, one record per message, keyed by
    /// identity (for tests, benchmarks and backfills). Prints a summary to stderr.
    Produce {
        /// Bootstrap servers, `host:port[,host:port]`.
        #[arg(long)]
        brokers: String,
        /// Topic to write to.
        #[arg(long)]
        topic: String,
        /// Record format used to find each record's identity key (`auto`, `cloudtrail`, ...).
        #[arg(long, default_value = "auto")]
        format: String,
        /// Extra librdkafka producer property, `KEY=VALUE` (repeatable; TLS/SASL settings).
        #[arg(long = "property", value_name = "KEY=VALUE")]
        properties: Vec<String>,
        /// Create the topic with this many partitions first, unless it exists.
        #[arg(long)]
        partitions: Option<i32>,
        /// Input files (JSON lines, JSON arrays, CloudTrail `{"Records":[...]}`, .gz; `-` = stdin).
        #[arg(required = true)]
        inputs: Vec<String>,
    },
    /// Work with an NHI inventory file.
    Inventory {
        #[command(subcommand)]
        cmd: InventoryCmd,
    },
    /// Look into (or edit) saved detection state.
    State {
        #[command(subcommand)]
        cmd: StateCmd,
    },
    /// Work with dead letters (docs/operations.md).
    DeadLetter {
        #[command(subcommand)]
        cmd: DeadLetterCmd,
    },
}

#[derive(Subcommand)]
enum DeadLetterCmd {
    /// Deliver the dead-lettered alerts of FILE again, each to the sink named in its letter (or
    /// to --sink). Idempotent: receivers deduplicate on (uid, sequence). Record letters are
    /// counted; feed them with `nhid replay` or `nhid produce`. Exit 0 when every alert letter
    /// was delivered, 1 when some were not, 2 on a usage or configuration error.
    Resend {
        /// The daemon's config file (its sinks).
        #[arg(long)]
        config: PathBuf,
        /// Send every alert to this sink instead.
        #[arg(long)]
        sink: Option<String>,
        /// The dead-letter file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum StateCmd {
    /// Print an identity's baseline from a snapshot (JSON); without IDENTITY, list identities.
    Inspect {
        /// State directory (or snapshot file).
        #[arg(long)]
        state: PathBuf,
        /// Identity key (e.g. arn:aws:iam::123456789012:role/deployer).
        identity: Option<String>,
    },
    /// Forget an identity so it relearns from scratch (run while the daemon is stopped).
    Forget {
        /// State directory.
        #[arg(long)]
        state: PathBuf,
        /// Identity key.
        identity: String,
    },
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// Allowlist / overrides file (YAML; see docs/allowlist.md).
    #[arg(long)]
    allowlist: Option<PathBuf>,
    /// NHI inventory (CSV, YAML or JSON; see docs/inventory.md): owner context on alerts,
    /// severity by criticality, the orphan-NHI rule.
    #[arg(long)]
    inventory: Option<PathBuf>,
    /// Rules directory replacing the bundled pack.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// MaxMind City or Country database (GeoLite2/GeoIP2/DB-IP MMDB).
    #[arg(long)]
    geoip_city: Option<PathBuf>,
    /// MaxMind ASN database.
    #[arg(long)]
    geoip_asn: Option<PathBuf>,
    /// Write alerts here instead of stdout (appends).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Write skipped records, with the reason, here as JSON lines (appends).
    #[arg(long)]
    dead_letter: Option<PathBuf>,
    /// Source format: auto (detect per record), cloudtrail, azure_activity, okta, github_audit.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Largest record accepted, in bytes.
    #[arg(long, default_value_t = nhid::parsers::DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: usize,
    /// Learning period per identity, in its own event time (e.g. 7d).
    #[arg(long, default_value = "7d")]
    learning_period: String,
    /// Observations an identity needs before novelty counts.
    #[arg(long, default_value_t = 50)]
    learning_min_observations: u64,
    /// Forget baseline values unseen for this long (e.g. 30d).
    #[arg(long, default_value = "30d")]
    forget_after: String,
    /// No cross-identity state (account and peer priors, credential lineage): what a daemon
    /// with `[priors] enabled = false` detects (docs/priors.md, "Order and determinism").
    #[arg(long)]
    no_priors: bool,
    /// One alert per finding instead of one per incident: what a daemon with
    /// `[incidents] enabled = false` writes (docs/incidents.md).
    #[arg(long)]
    no_incidents: bool,
    /// Event-time sanity: a record dated more than this past the stream's confirmed watermark
    /// (the time several identities reached) is evaluated but not learned, and dead-lettered
    /// as `future_time` (`off`: no check). `[pipeline] future_tolerance` of the daemon.
    #[arg(long, default_value = "1h")]
    future_tolerance: String,
    /// Identities with a full profile at most (`[state] max_identities` of the daemon).
    #[arg(long, default_value_t = nhid::baseline::Budget::default().max_identities)]
    max_identities: usize,
    /// Bytes of identity state at most (`[state] max_bytes` of the daemon).
    #[arg(long, default_value_t = nhid::baseline::Budget::default().max_bytes)]
    max_state_bytes: usize,
    /// Input files (JSONL, JSON array, {"Records":[..]}, {"records":[..]}, optionally .gz), or `-`.
    #[arg(required = true)]
    inputs: Vec<String>,
}

#[derive(clap::Args)]
struct InspectArgs {
    /// MaxMind City or Country database.
    #[arg(long)]
    geoip_city: Option<PathBuf>,
    /// MaxMind ASN database.
    #[arg(long)]
    geoip_asn: Option<PathBuf>,
    /// Source format: auto, cloudtrail, azure_activity, okta, github_audit.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Input files, or `-`.
    #[arg(required = true)]
    inputs: Vec<String>,
}

#[derive(Subcommand)]
enum InventoryCmd {
    /// Validate an inventory (CSV, YAML or JSON): lists every problem with its line or entry
    /// (exit 1), else prints the entry count (exit 0).
    Check {
        /// The inventory file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum RulesCmd {
    /// Lint a rule pack (default: the bundled one); lists every problem with file and line.
    Check {
        /// Rules directory.
        dir: Option<PathBuf>,
    },
    /// Run every inline rule test (default: the bundled pack).
    Test {
        /// Rules directory.
        dir: Option<PathBuf>,
    },
}

/// A usage or configuration error: exit 2.
struct UsageError(String);

fn load_rules(dir: Option<&Path>) -> Result<RulePack, UsageError> {
    match dir {
        None => Ok(load_embedded()),
        Some(d) => load_dir(d).map_err(|e| UsageError(e.to_string())),
    }
}

fn replay(a: ReplayArgs) -> Result<ExitCode, anyhow::Error> {
    let mut errors = Vec::new();
    let format = Format::from_name(&a.format).unwrap_or_else(|| {
        errors.push(format!(
            "--format {:?}: expected auto, cloudtrail, azure_activity, okta or github_audit",
            a.format
        ));
        Format::Auto
    });
    let mut baseline = BaselineConfig {
        learning_min_observations: a.learning_min_observations,
        ..BaselineConfig::default()
    };
    match parse_duration_ms(&a.learning_period) {
        Some(d) => baseline.learning_period_ms = d,
        None => errors.push(format!(
            "--learning-period {:?}: expected a duration like 7d",
            a.learning_period
        )),
    }
    match parse_duration_ms(&a.forget_after) {
        Some(d) => baseline.forget_after_ms = d,
        None => errors.push(format!(
            "--forget-after {:?}: expected a duration like 30d",
            a.forget_after
        )),
    }
    let pack = match load_rules(a.rules.as_deref()) {
        Ok(p) => Some(p),
        Err(UsageError(e)) => {
            errors.push(e);
            None
        }
    };
    if let Some(p) = &pack {
        errors.extend(p.problems.iter().map(|p| format!("rule problem: {p}")));
    }
    let ft = nhid::config::future_tolerance_ms(&a.future_tolerance).unwrap_or_else(|e| {
        errors.push(format!("--future-tolerance: {e}"));
        None
    });
    if !(1024..=1 << 30).contains(&a.max_record_bytes) {
        errors.push(format!(
            "--max-record-bytes {}: expected 1024 to 1073741824",
            a.max_record_bytes
        ));
    }
    let allowlist = match a
        .allowlist
        .as_deref()
        .map(nhid::detect::allowlist::Allowlist::load)
    {
        None => None,
        Some(Ok(l)) => Some(l),
        Some(Err(problems)) => {
            errors.extend(problems.iter().map(|p| format!("allowlist problem: {p}")));
            None
        }
    };
    let inventory = match a.inventory.as_deref().map(nhid::inventory::Inventory::load) {
        None => None,
        Some(Ok(i)) => Some(Arc::new(i)),
        Some(Err(problems)) => {
            errors.extend(problems.0.iter().map(|p| format!("inventory problem: {p}")));
            None
        }
    };
    let geo = match GeoDb::open(a.geoip_city.as_deref(), a.geoip_asn.as_deref()) {
        Ok(g) => g,
        Err(e) => {
            errors.push(e.to_string());
            GeoDb::default()
        }
    };
    let open_append = |flag: &str, p: &Path, errors: &mut Vec<String>| match File::options()
        .create(true)
        .append(true)
        .open(p)
    {
        Ok(f) => Some(BufWriter::new(f)),
        Err(e) => {
            errors.push(format!("{flag} {}: {e}", p.display()));
            None
        }
    };
    let out_file = a
        .output
        .as_deref()
        .and_then(|p| open_append("--output", p, &mut errors));
    let mut dl = a
        .dead_letter
        .as_deref()
        .and_then(|p| open_append("--dead-letter", p, &mut errors));
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("nhid: error: {e}");
        }
        return Ok(ExitCode::from(2));
    }
    let rules = Arc::new(pack.map(|p| p.rules).unwrap_or_default());
    let mut out: Box<dyn Write> = match out_file {
        Some(f) => Box::new(f),
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
    };
    let mut config = ReplayConfig {
        format,
        max_record_bytes: a.max_record_bytes,
        baseline,
        ..ReplayConfig::default()
    };
    config.priors.enabled = !a.no_priors;
    config.incidents.enabled = !a.no_incidents;
    config.future_tolerance_ms = ft;
    config.budget = nhid::baseline::Budget {
        max_identities: a.max_identities.max(1),
        max_bytes: a.max_state_bytes,
    };
    let mut pipe = Pipeline::new(rules, geo, config);
    if let Some(l) = allowlist {
        pipe.set_allowlist(l);
    }
    pipe.set_inventory(inventory);
    let mut failed = false;
    for input in &a.inputs {
        let dlw = dl.as_mut().map(|w| w as &mut dyn Write);
        match pipe.replay_input(input, &mut out, dlw) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("nhid: error: {e}");
                failed = true;
            }
            Err(e) => return Err(e).context("cannot write alerts"),
        }
    }
    out.flush().context("cannot write alerts")?;
    if let Some(w) = dl.as_mut() {
        w.flush().context("cannot write dead letters")?;
    }
    eprint!("{}", pipe.stats.summary());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn rules_check(dir: Option<PathBuf>) -> ExitCode {
    let pack = match load_rules(dir.as_deref()) {
        Ok(p) => p,
        Err(UsageError(e)) => {
            eprintln!("nhid: error: {e}");
            return ExitCode::from(2);
        }
    };
    for p in &pack.problems {
        println!("{p}");
    }
    eprintln!(
        "{} rule(s), {} problem(s)",
        pack.rules.len(),
        pack.problems.len()
    );
    if pack.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn rules_test(dir: Option<PathBuf>) -> ExitCode {
    let pack = match load_rules(dir.as_deref()) {
        Ok(p) => p,
        Err(UsageError(e)) => {
            eprintln!("nhid: error: {e}");
            return ExitCode::from(2);
        }
    };
    for p in &pack.problems {
        println!("{p}");
    }
    let results = ruletest::run_all(&pack.rules);
    let failed = results.iter().filter(|r| !r.passed).count();
    for r in &results {
        println!(
            "{} {} :: {} ({})",
            if r.passed { "ok  " } else { "FAIL" },
            r.rule,
            r.test,
            r.detail
        );
    }
    println!("{} passed, {} failed", results.len() - failed, failed);
    if failed == 0 && pack.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn inspect(a: InspectArgs, identities: bool) -> ExitCode {
    let Some(format) = Format::from_name(&a.format) else {
        eprintln!("nhid: error: --format {:?}: expected auto, cloudtrail, azure_activity, okta or github_audit", a.format);
        return ExitCode::from(2);
    };
    let geo = match GeoDb::open(a.geoip_city.as_deref(), a.geoip_asn.as_deref()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("nhid: error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut enricher = nhid::enrich::Enricher::new(geo);
    let mut out = BufWriter::new(io::stdout().lock());
    let res = if identities {
        nhid::inspect::identities(&a.inputs, format, &mut enricher).map(|m| {
            let _ = nhid::inspect::write_identity_table(&m, &mut out);
        })
    } else {
        nhid::inspect::for_each_event(&a.inputs, format, &mut enricher, |ev| {
            let _ = serde_json::to_writer(&mut out, &ev.to_json());
            let _ = out.write_all(b"\n");
        })
        .map(|_| ())
    };
    let _ = out.flush();
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nhid: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(format: &str, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only on a terminal, never in files or journald; NO_COLOR is honoured.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .with_writer(io::stderr);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

fn resend_cmd(config: &Path, sink: Option<&str>, file: &Path) -> ExitCode {
    let cfg = match nhid::config::load(config) {
        Ok(c) => c,
        Err(e) => {
            for p in &e.0 {
                eprintln!("nhid: {}: {p}", config.display());
            }
            return ExitCode::from(2);
        }
    };
    match nhid::resend::resend(&cfg, sink, file) {
        Ok(r) => {
            eprintln!(
                "nhid dead-letter resend: {} delivered, {} duplicate(s) skipped, {} refused again, {} failed, {} for unknown sinks, {} record letter(s) (use nhid replay), {} unreadable",
                r.delivered, r.duplicates, r.refused, r.failed, r.unknown_sink, r.records, r.unreadable
            );
            if r.refused + r.failed + r.unknown_sink + r.unreadable > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("nhid: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_daemon(config: PathBuf, check: bool) -> ExitCode {
    let cfg = match nhid::config::load(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "nhid: {}: {} configuration problem(s):",
                config.display(),
                e.0.len()
            );
            for p in &e.0 {
                eprintln!("  {p}");
            }
            return ExitCode::from(2);
        }
    };
    if check {
        eprintln!("nhid: {}: configuration is valid", config.display());
        return ExitCode::SUCCESS;
    }
    init_logging(&cfg.log.format, &cfg.log.level);
    let control = Arc::new(nhid::server::Control::default());
    control
        .heartbeat_ms
        .store(nhid::server::now_ms(), std::sync::atomic::Ordering::Relaxed);
    let prom = match nhid::daemon::install_metrics() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("nhid: error: metrics: {e}");
            return ExitCode::from(1);
        }
    };
    let listen = if cfg.server.listen.is_empty() {
        None
    } else {
        cfg.server.listen.parse().ok()
    };
    let token = match cfg.server.resolve_token() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("nhid: error: {e}");
            return ExitCode::from(1);
        }
    };
    match nhid::server::spawn(listen, control.clone(), prom, token) {
        Ok(Some(addr)) => {
            tracing::info!(%addr, "http endpoint listening (/metrics, /healthz, /readyz)")
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!("nhid: error: {e}");
            return ExitCode::from(1);
        }
    }
    match nhid::daemon::run(cfg, control) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "daemon failed");
            eprintln!("nhid: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn state_cmd(cmd: StateCmd) -> ExitCode {
    match cmd {
        StateCmd::Inspect { state, identity } => {
            let path = nhid::state::resolve(&state);
            let snap = match nhid::state::read(&path) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("nhid: error: {e}");
                    return ExitCode::from(1);
                }
            };
            let cfg = BaselineConfig::default();
            match identity {
                None => {
                    let mut keys: Vec<&str> = snap.engine.identity_keys().collect();
                    keys.sort_unstable();
                    for k in keys {
                        println!("{k}");
                    }
                    eprintln!(
                        "nhid: {}: {} identities; written {} by nhid {}; {} source offsets",
                        path.display(),
                        snap.engine.identities(),
                        nhid::time::format_rfc3339_ms(snap.meta.written_at_ms),
                        snap.meta.nhid_version,
                        snap.meta.offsets.len()
                    );
                    ExitCode::SUCCESS
                }
                Some(id) => match snap.engine.profile(&id) {
                    Some((p, labels)) => {
                        let v = nhid::state::profile_json(&id, p, labels, &cfg);
                        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                        ExitCode::SUCCESS
                    }
                    None => {
                        eprintln!("nhid: {id}: not in {}", path.display());
                        ExitCode::from(1)
                    }
                },
            }
        }
        StateCmd::Forget { state, identity } => {
            let snap = match nhid::state::read(&nhid::state::resolve(&state)) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("nhid: error: {e}");
                    return ExitCode::from(1);
                }
            };
            let mut st = snap.engine;
            if !st.forget(&identity) {
                eprintln!("nhid: {identity}: not in the snapshot");
                return ExitCode::from(1);
            }
            match nhid::state::write_owned(&state, &snap.meta, &st) {
                Ok(r) => {
                    eprintln!("nhid: forgot {identity}; {} rewritten", r.path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("nhid: error: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn produce_cmd(
    brokers: &str,
    topic: &str,
    format: &str,
    properties: &[String],
    partitions: Option<i32>,
    inputs: &[String],
) -> ExitCode {
    let Some(format) = Format::from_name(format) else {
        eprintln!("nhid: error: unknown format `{format}`");
        return ExitCode::from(2);
    };
    let mut props = std::collections::BTreeMap::new();
    for p in properties {
        let Some((k, v)) = p.split_once('=') else {
            eprintln!("nhid: error: --property `{p}` is not KEY=VALUE");
            return ExitCode::from(2);
        };
        props.insert(k.trim().to_string(), v.trim().to_string());
    }
    if let Some(n) = partitions {
        if let Err(e) = nhid::produce::ensure_topic(brokers, topic, n, &props) {
            eprintln!("nhid: error: {e}");
            return ExitCode::from(1);
        }
    }
    match nhid::produce::produce(brokers, topic, inputs, format, &props) {
        Ok(r) => {
            let secs = r.elapsed.as_secs_f64().max(1e-9);
            eprintln!(
                "nhid: produced {} messages ({} without identity key), {:.1} MB to {topic} in {:.2} s ({:.0} msg/s)",
                r.messages,
                r.unkeyed,
                r.bytes as f64 / 1e6,
                secs,
                r.messages as f64 / secs
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nhid: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run {
            config,
            check_config,
        } => run_daemon(config, check_config),
        Cmd::State { cmd } => state_cmd(cmd),
        Cmd::DeadLetter {
            cmd: DeadLetterCmd::Resend { config, sink, file },
        } => resend_cmd(&config, sink.as_deref(), &file),
        Cmd::Inventory {
            cmd: InventoryCmd::Check { file },
        } => match nhid::inventory::Inventory::load(&file) {
            Ok(inv) => {
                eprintln!("{}: {} entries, 0 problems", file.display(), inv.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                for p in &e.0 {
                    println!("{p}");
                }
                eprintln!("{}: {} problem(s)", file.display(), e.0.len());
                ExitCode::from(1)
            }
        },
        Cmd::Produce {
            brokers,
            topic,
            format,
            properties,
            partitions,
            inputs,
        } => produce_cmd(&brokers, &topic, &format, &properties, partitions, &inputs),
        Cmd::Replay(a) => match replay(a) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("nhid: error: {e:#}");
                ExitCode::from(1)
            }
        },
        Cmd::Parse(a) => inspect(a, false),
        Cmd::Identities(a) => inspect(a, true),
        Cmd::Rules {
            cmd: RulesCmd::Check { dir },
        } => rules_check(dir),
        Cmd::Rules {
            cmd: RulesCmd::Test { dir },
        } => rules_test(dir),
    }
}
