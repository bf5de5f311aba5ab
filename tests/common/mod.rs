//! Helpers shared by the daemon integration tests: start `nhid run`, wait on its HTTP
//! endpoint, stop it, read alert files.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_nhid");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` on the daemon's endpoint: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let code = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|x| x.1.to_string())?;
    Some((code, body))
}

/// The last lines of a daemon's log, for failure messages.
pub fn log_tail(log: &Path) -> String {
    let s = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A running daemon: killed (SIGKILL) when dropped, so a failing test leaves no orphan holding
/// the test's pipes.
pub struct Daemon {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts `nhid run --config cfg` (its log goes to `nhid-PORT.log` next to the config) and
    /// waits until /readyz answers 200 (`ready_within` at most).
    pub fn start(cfg: &Path, port: u16, ready_within: Duration) -> Daemon {
        let log = cfg
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("nhid-{port}.log"));
        Daemon::start_with(cfg, port, &[], log, ready_within)
    }

    /// [`Daemon::start`] with `NHID_*` overrides in the environment and an explicit log file.
    pub fn start_with(
        cfg: &Path,
        port: u16,
        env: &[(String, String)],
        log: PathBuf,
        ready_within: Duration,
    ) -> Daemon {
        let child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(cfg)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1")
            .stderr(std::fs::File::create(&log).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut d = Daemon { child, port, log };
        d.wait_ready(ready_within);
        d
    }

    fn wait_ready(&mut self, within: Duration) {
        let t = Instant::now();
        while t.elapsed() < within {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("daemon exited early: {st}\n{}", log_tail(&self.log));
            }
            if http_get(self.port, "/readyz").is_some_and(|(c, _)| c == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("daemon not ready in {within:?}\n{}", log_tail(&self.log));
    }

    /// Scrapes /metrics until `pred` holds (`within` at most) and returns that scrape.
    pub fn wait_metrics_until(&self, within: Duration, pred: impl Fn(&str) -> bool) -> String {
        let t = Instant::now();
        loop {
            let m = http_get(self.port, "/metrics")
                .map(|x| x.1)
                .unwrap_or_default();
            if pred(&m) {
                return m;
            }
            assert!(
                t.elapsed() < within,
                "condition not met on /metrics within {within:?}:\n{m}\nlog:\n{}",
                log_tail(&self.log)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Scrapes /metrics until it contains `needle` (30 s at most) and returns that scrape.
    pub fn wait_metrics(&self, needle: &str) -> String {
        self.wait_metrics_until(Duration::from_secs(30), |m| m.contains(needle))
    }

    /// SIGTERM, then waits for exit 0 (10 s at most); returns how long it took.
    pub fn sigterm_and_wait(&mut self) -> Duration {
        let t = Instant::now();
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(
                    st.success(),
                    "daemon exit status {st}\n{}",
                    log_tail(&self.log)
                );
                return t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no exit within 10 s of SIGTERM\n{}",
                log_tail(&self.log)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits for the exit (10 s at most); returns the exit code.
    pub fn sigterm_exit_code(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no exit within 10 s of SIGTERM\n{}",
                log_tail(&self.log)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, no clean-up of any kind.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sum of every sample of a metric family (`name{...} value` lines) in a scrape.
pub fn metric_sum(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// One alert's identity for comparisons: (rule, identity, event time, finding uid).
pub type AlertKey = (String, String, i64, String);

/// Alert keys of OCSF JSON lines.
pub fn alert_keys_of(text: &str) -> Vec<AlertKey> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["finding_info"]["analytic"]["uid"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                v["actor"]["user"]["uid"].as_str().unwrap_or("").to_string(),
                v["time"].as_i64().unwrap(),
                v["finding_info"]["uid"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Alert keys of an OCSF JSON-lines file (empty if it does not exist).
pub fn uids(path: &Path) -> Vec<AlertKey> {
    alert_keys_of(&std::fs::read_to_string(path).unwrap_or_default())
}

/// `nhid replay` (from the repository root) with the test GeoIP databases and `args`; its
/// whole output (alerts on stdout, the summary on stderr). Fails the test if replay fails.
pub fn replay_output<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    let out = Command::new(BIN)
        .current_dir(ROOT)
        .args([
            "replay",
            "--geoip-city",
            "examples/geoip/test-city.mmdb",
            "--geoip-asn",
            "examples/geoip/test-asn.mmdb",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`replay_output`]'s alert lines.
pub fn replay_args<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    String::from_utf8(replay_output(args).stdout).unwrap()
}

/// `nhid replay` over `input`; its alert lines.
pub fn replay(input: &Path) -> String {
    replay_args(&[input])
}

/// A synthetic scenario from `nhid-gen` (all four sources, attacks injected) in `dir/gen-SEED.jsonl`.
pub fn generate(dir: &Path, seed: u64, identities: u32, days: u32, events: u32) -> PathBuf {
    let out = dir.join(format!("gen-{seed}.jsonl"));
    let st = Command::new(env!("CARGO_BIN_EXE_nhid-gen"))
        .args(["--seed", &seed.to_string()])
        .args(["--identities", &identities.to_string()])
        .args(["--days", &days.to_string()])
        .args(["--events", &events.to_string(), "--attacks", "--output"])
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    out
}

/// The property tests' settings: `cases` unless `PROPTEST_CASES` says otherwise; a fixed seed
/// unless `PROPTEST_RNG_SEED` says otherwise; no failure-persistence files (a failure prints its
/// minimal input).
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    let mut c = proptest::test_runner::Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = proptest::test_runner::RngSeed::Fixed(0x6e68_6964);
    }
    if std::env::var_os("PROPTEST_MAX_SHRINK_TIME").is_none() {
        c.max_shrink_time = 60_000;
    }
    c.failure_persistence = None;
    c
}

/// Waits until something listens on loopback `port` (20 s at most; the failure shows `log`).
pub fn wait_listening(port: u16, what: &str, log: &Path) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{what} did not listen on {port}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A second test broker (the Tansu binary `scripts/kafka-broker.sh` exports as
/// `NHID_TANSU_BIN`), in memory, listening on loopback `port` and naming `advertised` in its
/// metadata (another port when a TLS terminator stands in front of it); its log in `log`.
/// Returns once it listens.
pub fn spawn_tansu(bin: &Path, port: u16, advertised: u16, log: &Path) -> Child {
    let child = Command::new(bin)
        .arg("broker")
        .args(["--listener-url", &format!("tcp://127.0.0.1:{port}")])
        .args([
            "--advertised-listener-url",
            &format!("tcp://127.0.0.1:{advertised}"),
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    wait_listening(port, "tansu", log);
    child
}
