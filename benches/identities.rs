//! Memory per identity: feeds N distinct non-human identities (default 1,000,000; set
//! `NHID_BENCH_IDENTITIES`) through the full pipeline (bundled rule pack, bundled test GeoIP) and
//! reports the baseline store's own accounting (`BaselineStore::approx_bytes`) and the process's
//! resident memory growth, both per identity, plus the ingest rate.
//!
//! Each identity makes `EVENTS_PER_IDENTITY` CloudTrail calls shaped like a small automated job:
//! an assumed-role session (role = identity), three actions (one a secret read naming a secret),
//! two source networks in one cloud ASN, one SDK client, one region, spread over two days, so every
//! feature set, the hour histogram, a session and a rate state are populated. Identities are
//! interleaved as live traffic is (round-robin over the population), not one after another.
//!
//! Not a criterion bench: one long pass is the measurement (criterion's repetitions would
//! multiply a minutes-long run). Run: `cargo bench --bench identities`
//! (smaller: `NHID_BENCH_IDENTITIES=100000 cargo bench --bench identities`; every identity with
//! a name pattern of its own, the worst case for peer groups: `NHID_BENCH_UNIQUE_NAMES=1`).

use std::sync::Arc;
use std::time::Instant;

use nhid::detect::loader::load_embedded;
use nhid::geo::GeoDb;
use nhid::pipeline::{Pipeline, ReplayConfig};
use nhid::sources::Origin;

const EVENTS_PER_IDENTITY: usize = 6;

/// Resident set size of this process in bytes (Linux `/proc/self/statm`), 0 elsewhere.
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// One CloudTrail record of identity `i`, call `k`, written into `buf`.
fn record(buf: &mut Vec<u8>, i: usize, k: usize, unique: bool) {
    use std::io::Write;
    let name = role_name(i, unique);
    let (source, op) = match k % 3 {
        0 => ("s3", "GetObject"),
        1 => ("sqs", "SendMessage"),
        _ => ("secretsmanager", "GetSecretValue"),
    };
    // Two days, business hours, calls a few hours apart.
    let t = 1_709_280_000 + (k as i64 / 3) * 86_400 + 9 * 3600 + (k as i64 % 3) * 3 * 3600;
    let secs = t % 86_400;
    let day = 1 + (t - 1_709_251_200) / 86_400;
    buf.clear();
    let _ = write!(
        buf,
        concat!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAB{i:015}:job","#,
            r#""arn":"arn:aws:sts::111122223333:assumed-role/{name}/job","accountId":"111122223333","#,
            r#""accessKeyId":"ASIAB{i:015}","sessionContext":{{"sessionIssuer":{{"type":"Role","#,
            r#""principalId":"AROAB{i:015}","arn":"arn:aws:iam::111122223333:role/{name}","#,
            r#""accountId":"111122223333","userName":"{name}"}},"attributes":{{"creationDate":"2024-03-01T00:00:00Z","#,
            r#""mfaAuthenticated":"false"}}}}}},"eventTime":"2024-03-{day:02}T{h:02}:{m:02}:{s:02}Z","#,
            r#""eventSource":"{source}.amazonaws.com","eventName":"{op}","awsRegion":"us-east-1","#,
            r#""sourceIPAddress":"3.5.{net}.{host}","userAgent":"Boto3/1.34.12 md/Botocore#1.34.12 ua/2.0 os/linux#5.10 lang/python#3.11.6","#,
            r#""requestParameters":{{"secretId":"prod/job-{i}/db"}},"responseElements":null,"#,
            r#""eventID":"{i:08x}-0000-4000-8000-{k:012}","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
        ),
        i = i,
        name = name,
        k = k,
        day = day,
        h = secs / 3600,
        m = (secs / 60) % 60,
        s = secs % 60,
        source = source,
        op = op,
        net = (i + k) % 2,
        host = i % 250 + 1,
    );
}

/// `job-17` (every identity shares the name pattern `job-*`: one peer group), or with
/// `NHID_BENCH_UNIQUE_NAMES=1` a name whose pattern is the identity's own (letters, no digits:
/// `bcd-job-x`), the worst case for peer groups (bounded by `max_groups`).
fn role_name(i: usize, unique: bool) -> String {
    if !unique {
        return format!("job-{i}");
    }
    let mut letters = String::new();
    let mut x = i + 1;
    while x > 0 {
        letters.push((b'a' + (x % 26) as u8) as char);
        x /= 26;
    }
    format!("{letters}-job-x")
}

fn main() {
    let unique = std::env::var("NHID_BENCH_UNIQUE_NAMES").is_ok_and(|v| v == "1");
    let n: usize = std::env::var("NHID_BENCH_IDENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rules = Arc::new(load_embedded().rules);
    let mut pipe = Pipeline::new(
        rules.clone(),
        GeoDb::bundled_test(),
        ReplayConfig {
            // What an identity costs, not what the budget keeps: no eviction here.
            budget: nhid::baseline::Budget {
                max_identities: usize::MAX,
                max_bytes: usize::MAX,
            },
            ..ReplayConfig::default()
        },
    );
    let origin = Origin {
        input: "bench",
        line: 1,
        index: None,
    };
    let mut sink = std::io::sink();
    let mut buf = Vec::with_capacity(2048);
    let rss0 = rss_bytes();
    let start = Instant::now();
    for k in 0..EVENTS_PER_IDENTITY {
        for i in 0..n {
            record(&mut buf, i, k, unique);
            pipe.process_record(&buf, &origin, &mut sink, &mut None)
                .expect("bench record");
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let rss1 = rss_bytes();
    let store = pipe.engine().store();
    assert_eq!(store.len(), n, "every identity tracked");
    assert_eq!(pipe.stats.skipped_total(), 0, "bench records must parse");
    let events = n * EVENTS_PER_IDENTITY;
    let accounted = store.approx_bytes();
    println!(
        "identities bench: {n} identities x {EVENTS_PER_IDENTITY} events, {} rule(s), {} alert(s)",
        rules.len(),
        pipe.stats.alerts_total()
    );
    println!(
        "  ingest: {events} events in {secs:.1} s = {:.0} events/s",
        events as f64 / secs
    );
    println!(
        "  baseline store (own accounting): {:.1} MB = {} bytes per identity",
        accounted as f64 / 1e6,
        accounted / n
    );
    let (accounts, groups, minted, cross) = pipe.engine().cross_state_size();
    println!(
        "  priors and lineage: {accounts} account(s), {groups} peer group(s), {minted} minted key(s), {:.2} MB ({} bytes per identity)",
        cross as f64 / 1e6,
        cross / n
    );
    println!(
        "  process RSS: {:.1} MB -> {:.1} MB, growth {} bytes per identity",
        rss0 as f64 / 1e6,
        rss1 as f64 / 1e6,
        rss1.saturating_sub(rss0) / n
    );
}
