//! Kafka over TLS, end to end: `nhid run` consumes, dead-letters and delivers alerts through a
//! TLS listener that checks client certificates (mutual TLS, as Amazon MSK and Confluent
//! deployments configure it), and refuses a broker whose certificate its CA did not sign.
//!
//! The test broker (Tansu) has no TLS listener of its own, so this test starts a second Tansu
//! (the binary `scripts/kafka-broker.sh` exports as `NHID_TANSU_BIN`) on a plain loopback port
//! that advertises the TLS port, and Debian's `socat` terminating TLS (OpenSSL) in front of it:
//! every client, nhid included, reaches the broker only through TLS. Certificates are made here
//! (rcgen): a test CA, a server certificate for 127.0.0.1, a client certificate, and a second,
//! untrusted CA.
//!
//! Skipped with a message when the broker binary or socat is missing, unless `CI` or
//! `NHID_REQUIRE_KAFKA` is set (then it fails): `scripts/deps.sh` installs socat.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use common::{alert_keys_of, metric_sum, uids, Daemon, ROOT};

fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var_os("NHID_REQUIRE_KAFKA").is_some()
}

/// The broker binary and socat, or None (skip) when either is missing outside CI.
fn tools() -> Option<PathBuf> {
    let tansu = std::env::var_os("NHID_TANSU_BIN").map(PathBuf::from);
    let socat = Command::new("socat").arg("-V").output().is_ok();
    match tansu {
        Some(t) if t.is_file() && socat => Some(t),
        _ => {
            assert!(
                !required(),
                "the Kafka TLS test needs NHID_TANSU_BIN (set by `eval \"$(scripts/kafka-broker.sh start)\"`) \
                 and socat (scripts/deps.sh installs it)"
            );
            eprintln!("SKIPPED: NHID_TANSU_BIN or socat missing; scripts/test.sh provides both");
            None
        }
    }
}

/// A CA and what it signed, as PEM files in a directory.
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    /// A CA that signed nothing the broker presents.
    other_ca: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    (p.self_signed(&key).unwrap(), key)
}

fn leaf(
    cn: &str,
    sans: Vec<SanType>,
    by: &rcgen::Certificate,
    by_key: &KeyPair,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.subject_alt_names = sans;
    let cert = p.signed_by(&key, by, by_key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn pki(dir: &Path) -> Pki {
    let (ca_cert, ca_key) = ca("nhid test CA");
    let (other, _) = ca("someone else's CA");
    let (server_cert, server_key) = leaf(
        "127.0.0.1",
        vec![
            SanType::IpAddress("127.0.0.1".parse().unwrap()),
            SanType::DnsName("localhost".try_into().unwrap()),
        ],
        &ca_cert,
        &ca_key,
    );
    let (client_cert, client_key) = leaf("nhid", vec![], &ca_cert, &ca_key);
    let w = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    Pki {
        ca: w("ca.pem", &ca_cert.pem()),
        server_cert: w("server.pem", &server_cert),
        server_key: w("server.key", &server_key),
        client_cert: w("client.pem", &client_cert),
        client_key: w("client.key", &client_key),
        other_ca: w("other-ca.pem", &other.pem()),
    }
}

/// Tansu on a plain port behind socat's TLS listener; both killed when dropped.
struct TlsBroker {
    tls_port: u16,
    children: Vec<Child>,
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl TlsBroker {
    fn start(tansu: &Path, pki: &Pki, dir: &Path) -> TlsBroker {
        let plain = common::free_port();
        let tls_port = common::free_port();
        // Metadata names the TLS port: clients never learn the plain one.
        let broker = common::spawn_tansu(tansu, plain, tls_port, &dir.join("tansu.log"));
        let mut b = TlsBroker {
            tls_port,
            children: vec![broker],
        };
        // verify=1 with cafile: a client must present a certificate signed by the test CA.
        let listen = format!(
            "OPENSSL-LISTEN:{tls_port},bind=127.0.0.1,reuseaddr,fork,cert={},key={},cafile={},verify=1",
            pki.server_cert.display(),
            pki.server_key.display(),
            pki.ca.display()
        );
        let socat = Command::new("socat")
            .args([&listen, &format!("TCP:127.0.0.1:{plain}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("socat.log")).unwrap())
            .spawn()
            .unwrap();
        b.children.push(socat);
        common::wait_listening(tls_port, "socat", &dir.join("socat.log"));
        b
    }

    fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.tls_port)
    }
}

/// librdkafka properties for this PKI: TLS with the given CA, with or without a client
/// certificate.
fn tls_props(ca: &Path, client: Option<&Pki>) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert("security.protocol".into(), "ssl".into());
    p.insert("ssl.ca.location".into(), ca.display().to_string());
    if let Some(k) = client {
        p.insert(
            "ssl.certificate.location".into(),
            k.client_cert.display().to_string(),
        );
        p.insert(
            "ssl.key.location".into(),
            k.client_key.display().to_string(),
        );
    }
    p
}

fn toml_table(p: &BTreeMap<String, String>) -> String {
    let kv: Vec<String> = p.iter().map(|(k, v)| format!("{k:?} = {v:?}")).collect();
    format!("{{ {} }}", kv.join(", "))
}

/// Every message of `topic` (one partition), read over TLS until `expect` arrived.
fn read_topic(
    brokers: &str,
    props: &BTreeMap<String, String>,
    topic: &str,
    expect: usize,
) -> usize {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", brokers)
        .set("group.id", "nhid-tls-reader")
        .set("enable.auto.commit", "false");
    for (k, v) in props {
        cc.set(k, v);
    }
    let c: BaseConsumer = cc.create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
    let (mut n, t) = (0, Instant::now());
    while n < expect && t.elapsed() < Duration::from_secs(60) {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            assert!(m.key().is_some_and(|k| !k.is_empty()), "alerts are keyed");
            n += 1;
        }
    }
    n
}

/// A daemon config: the TLS source (with a dead-letter topic), a file sink and a TLS Kafka sink.
fn config(dir: &Path, brokers: &str, props: &BTreeMap<String, String>, port: u16) -> PathBuf {
    let d = dir.display();
    let cfg = dir.join(format!("nhid-{port}.toml"));
    std::fs::write(
        &cfg,
        format!(
            r#"
[[sources]]
type = "kafka"
brokers = "{brokers}"
group_id = "nhid-tls"
topics = ["audit"]
dead_letter_topic = "audit-dead"
properties = {props_src}

[geoip]
city = "{ROOT}/examples/geoip/test-city.mmdb"
asn = "{ROOT}/examples/geoip/test-asn.mmdb"

[dead_letter]
path = "{d}/dead-{port}.jsonl"

[server]
listen = "127.0.0.1:{port}"

[[sinks]]
type = "file"
path = "{d}/alerts-{port}.jsonl"

[[sinks]]
type = "kafka"
brokers = "{brokers}"
topic = "alerts"
properties = {props_sink}
"#,
            props_src = toml_table(&{
                let mut p = props.clone();
                p.insert("session.timeout.ms".into(), "6000".into());
                p.insert("heartbeat.interval.ms".into(), "500".into());
                p
            }),
            props_sink = toml_table(props),
        ),
    )
    .unwrap();
    cfg
}

/// Runs a daemon that trusts another CA for up to 20 s, until its log says why it cannot
/// connect; returns the log.
fn untrusted_daemon_log(brokers: &str, pki: &Pki, dir: &Path) -> String {
    let port = common::free_port();
    let cfg = config(dir, brokers, &tls_props(&pki.other_ca, Some(pki)), port);
    let log = dir.join("untrusted.log");
    let mut child = Command::new(common::BIN)
        .args(["run", "--config"])
        .arg(&cfg)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut text = String::new();
    while t.elapsed() < Duration::from_secs(20) && !text.contains("certificate verify failed") {
        std::thread::sleep(Duration::from_millis(200));
        text = std::fs::read_to_string(&log).unwrap_or_default();
    }
    assert_ne!(
        common::http_get(port, "/readyz").map(|r| r.0),
        Some(200),
        "ready without a trusted broker"
    );
    let _ = child.kill();
    let _ = child.wait();
    text
}

#[test]
fn daemon_consumes_and_delivers_over_mutual_tls_and_refuses_an_untrusted_broker() {
    let Some(tansu) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let broker = TlsBroker::start(&tansu, &pki, dir.path());
    let brokers = broker.brokers();
    let good = tls_props(&pki.ca, Some(&pki));

    // Trust is checked both ways. A daemon given another CA never connects and says why in its
    // log; a client without a certificate is refused by the broker side. Both run at once.
    std::thread::scope(|s| {
        s.spawn(|| {
            let r = nhid::produce::ensure_topic(&brokers, "refused", 1, &tls_props(&pki.ca, None));
            assert!(r.is_err(), "connected without a client certificate");
        });
        let log = untrusted_daemon_log(&brokers, &pki, dir.path());
        assert!(
            log.contains("certificate verify failed"),
            "the daemon's log names the cause:\n{log}"
        );
    });

    // Records in over TLS: a synthetic scenario plus one record that is not an audit event.
    let input = common::generate(dir.path(), 3, 30, 5, 4_000);
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("{not json\n");
    let with_bad = dir.path().join("in.jsonl");
    std::fs::write(&with_bad, &text).unwrap();
    nhid::produce::ensure_topic(&brokers, "audit", 1, &good).unwrap();
    let produced = nhid::produce::produce(
        &brokers,
        "audit",
        &[with_bad.display().to_string()],
        nhid::parsers::Format::Auto,
        &good,
    )
    .unwrap()
    .messages;
    assert_eq!(produced as usize, text.lines().count());

    // One partition keeps file order, so replay is the exact reference.
    let expected = alert_keys_of(&common::replay(&input));
    assert!(
        expected.len() >= 5,
        "too few replay alerts: {}",
        expected.len()
    );

    let port = common::free_port();
    let cfg = config(dir.path(), &brokers, &good, port);
    nhid::produce::ensure_topic(&brokers, "alerts", 1, &good).unwrap();
    nhid::produce::ensure_topic(&brokers, "audit-dead", 1, &good).unwrap();
    let mut daemon = Daemon::start(&cfg, port, Duration::from_secs(60));
    let m = daemon.wait_metrics_until(Duration::from_secs(60), |m| {
        metric_sum(m, "nhid_messages_received_total") as u64 == produced
            && metric_sum(m, "nhid_sink_alerts_total") as usize >= 2 * expected.len()
    });
    assert_eq!(metric_sum(&m, "nhid_parse_errors_total"), 1.0, "{m}");
    assert_eq!(metric_sum(&m, "nhid_sink_errors_total"), 0.0, "{m}");
    let got = uids(&dir.path().join(format!("alerts-{port}.jsonl")));
    assert_eq!(got, expected, "the daemon over TLS raises replay's alerts");
    assert_eq!(
        read_topic(&brokers, &good, "alerts", expected.len()),
        expected.len(),
        "every alert on the sink topic, read back over TLS"
    );
    assert_eq!(
        read_topic(&brokers, &good, "audit-dead", 1),
        1,
        "dead letter over TLS"
    );
    assert_eq!(daemon.sigterm_exit_code(), Some(0));
}
