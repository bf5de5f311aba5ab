//! Property tests of the record parsers (issue 15): [`Parsers::parse`] / [`Parsers::detect`]
//! never panic, whatever the bytes; structure-aware mutations of real records (a field dropped,
//! replaced by another JSON type, huge, deeply nested, with NUL / control bytes or invalid UTF-8,
//! numbers out of range, times far in the past or future) give an event or an error, never a
//! panic; benign rewrites of a record (key order, whitespace, an EventBridge envelope) give the
//! same event; the record size limit holds; the time helpers the parsers use never panic.
//!
//! Seeds: the real records under `tests/fixtures/` and `tests/corpus/` (see their READMEs for
//! origin and licence). Case counts are small for CI; `PROPTEST_CASES=100000 cargo test
//! --release --test props_parsers` runs longer, `PROPTEST_RNG_SEED=<n>` explores other inputs
//! (the default seed is fixed so CI is deterministic). See docs/fuzzing.md.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nhid::event::{AuditEvent, SourceKind};
use nhid::parsers::{Format, ParseError, Parsers};
use nhid::sources::file::{read_input, Item, ReadLimits};
use proptest::prelude::*;
use proptest::sample::Index;
mod common;

use common::proptest_config as config;
use serde_json::Value;

// ------------------------------------------------------------------------------------------
// Configuration shared by the properties of this file.

// ------------------------------------------------------------------------------------------
// The seed corpus: every record of the fixtures and the corpus folder.

struct Corpus {
    /// Raw records (one line or one `Records[i]` each).
    records: Vec<Vec<u8>>,
    /// Indices of the records that parse (with the default limits and `Format::Auto`).
    good: Vec<usize>,
    /// Indices of good CloudTrail records.
    good_cloudtrail: Vec<usize>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("json" | "jsonl")
        ) {
            out.push(p);
        }
    }
}

fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let mut files = Vec::new();
        for d in [
            "tests/fixtures/stratus",
            "tests/fixtures/otrf",
            "tests/fixtures/panther",
            "tests/fixtures/invictus/raw",
            "tests/corpus",
        ] {
            files_under(&root().join(d), &mut files);
        }
        files.sort();
        assert!(files.len() > 50, "seed corpus missing: {files:?}");
        let mut records = Vec::new();
        for f in &files {
            read_input(&f.to_string_lossy(), ReadLimits::default(), |it| {
                if let Item::Record(b, _) = it {
                    records.push(b.to_vec());
                }
            })
            .unwrap();
        }
        let p = Parsers::default();
        let mut good = Vec::new();
        let mut good_cloudtrail = Vec::new();
        for (i, r) in records.iter().enumerate() {
            if let Ok(ev) = p.parse(r, Format::Auto) {
                good.push(i);
                if ev.source == SourceKind::Cloudtrail {
                    good_cloudtrail.push(i);
                }
            }
        }
        assert!(good.len() > 1000, "only {} good records", good.len());
        Corpus {
            records,
            good,
            good_cloudtrail,
        }
    })
}

// ------------------------------------------------------------------------------------------
// A JSON tree that can also hold what JSON values cannot: raw bytes (invalid UTF-8, unescaped
// control bytes, numbers out of range, thousands of nesting levels), duplicate keys, key order.

#[derive(Clone, Debug)]
enum J {
    Null,
    Bool(bool),
    /// A number literal, as written.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
    /// Written verbatim.
    Raw(Vec<u8>),
}

fn from_value(v: &Value) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => J::Num(n.to_string()),
        Value::String(s) => J::Str(s.clone()),
        Value::Array(a) => J::Arr(a.iter().map(from_value).collect()),
        Value::Object(m) => J::Obj(m.iter().map(|(k, v)| (k.clone(), from_value(v))).collect()),
    }
}

/// A small deterministic generator for the layout choices of one rendering.
struct Layout(u64);

impl Layout {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0 | 1;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn ws(&mut self, out: &mut Vec<u8>) {
        const WS: &[u8] = b" \t\n\r";
        let n = self.next() % 4;
        for _ in 0..n {
            out.push(WS[(self.next() % 4) as usize]);
        }
    }
}

/// Renders `j`; with a layout, keys are shuffled and whitespace is sprinkled between tokens.
fn render(j: &J, layout: &mut Option<Layout>, out: &mut Vec<u8>) {
    let ws = |layout: &mut Option<Layout>, out: &mut Vec<u8>| {
        if let Some(l) = layout {
            l.ws(out)
        }
    };
    match j {
        J::Null => out.extend_from_slice(b"null"),
        J::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        J::Num(n) => out.extend_from_slice(n.as_bytes()),
        J::Str(s) => out.extend_from_slice(serde_json::to_string(s).unwrap().as_bytes()),
        J::Raw(b) => out.extend_from_slice(b),
        J::Arr(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                ws(layout, out);
                render(v, layout, out);
                ws(layout, out);
            }
            out.push(b']');
        }
        J::Obj(m) => {
            let mut order: Vec<usize> = (0..m.len()).collect();
            if let Some(l) = layout {
                for i in (1..order.len()).rev() {
                    let k = (l.next() % (i as u64 + 1)) as usize;
                    order.swap(i, k);
                }
            }
            out.push(b'{');
            for (n, &i) in order.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                ws(layout, out);
                out.extend_from_slice(serde_json::to_string(&m[i].0).unwrap().as_bytes());
                ws(layout, out);
                out.push(b':');
                ws(layout, out);
                render(&m[i].1, layout, out);
                ws(layout, out);
            }
            out.push(b'}');
        }
    }
}

fn to_bytes(j: &J) -> Vec<u8> {
    let mut out = Vec::new();
    render(j, &mut None, &mut out);
    out
}

/// Paths (child positions) of every node, the root first.
fn paths(j: &J) -> Vec<Vec<usize>> {
    fn walk(j: &J, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        out.push(at.clone());
        let children: Vec<&J> = match j {
            J::Arr(a) => a.iter().collect(),
            J::Obj(m) => m.iter().map(|(_, v)| v).collect(),
            _ => return,
        };
        for (i, c) in children.into_iter().enumerate() {
            at.push(i);
            walk(c, at, out);
            at.pop();
        }
    }
    let mut out = Vec::new();
    walk(j, &mut Vec::new(), &mut out);
    out
}

fn node_mut<'a>(j: &'a mut J, path: &[usize]) -> &'a mut J {
    match path.split_first() {
        None => j,
        Some((&i, rest)) => match j {
            J::Arr(a) => node_mut(&mut a[i], rest),
            J::Obj(m) => node_mut(&mut m[i].1, rest),
            _ => unreachable!("paths() only descends into containers"),
        },
    }
}

fn node<'a>(j: &'a J, path: &[usize]) -> &'a J {
    match path.split_first() {
        None => j,
        Some((&i, rest)) => match j {
            J::Arr(a) => node(&a[i], rest),
            J::Obj(m) => node(&m[i].1, rest),
            _ => unreachable!("paths() only descends into containers"),
        },
    }
}

/// Applies `f` to every value whose key is `key`, at any depth.
fn for_key(j: &mut J, key: &str, f: &mut dyn FnMut(&mut J)) {
    match j {
        J::Arr(a) => a.iter_mut().for_each(|c| for_key(c, key, f)),
        J::Obj(m) => {
            for (k, v) in m.iter_mut() {
                if k == key {
                    f(v);
                } else {
                    for_key(v, key, f);
                }
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------------------
// Mutations.

/// Field names the parsers look at (all four sources, EventBridge and batch envelopes).
const KEYS: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventName",
    "eventSource",
    "eventID",
    "eventType",
    "userIdentity",
    "type",
    "arn",
    "accountId",
    "principalId",
    "accessKeyId",
    "userName",
    "invokedBy",
    "sessionContext",
    "sessionIssuer",
    "attributes",
    "creationDate",
    "mfaAuthenticated",
    "sourceIdentity",
    "webIdFederationData",
    "onBehalfOf",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "awsRegion",
    "requestParameters",
    "responseElements",
    "readOnly",
    "recipientAccountId",
    "policyDocument",
    "assumeRolePolicyDocument",
    "credentials",
    "time",
    "eventTimestamp",
    "operationName",
    "value",
    "caller",
    "callerIpAddress",
    "identity",
    "claims",
    "appid",
    "idtyp",
    "authorization",
    "evidence",
    "principalType",
    "resourceId",
    "properties",
    "resultType",
    "category",
    "published",
    "actor",
    "alternateId",
    "displayName",
    "id",
    "client",
    "ipAddress",
    "rawUserAgent",
    "outcome",
    "result",
    "target",
    "debugContext",
    "debugData",
    "securityContext",
    "transaction",
    "action",
    "actor_ip",
    "actor_location",
    "country_code",
    "created_at",
    "@timestamp",
    "org",
    "repo",
    "user",
    "hashed_token",
    "programmatic_access_type",
    "token_id",
    "detail-type",
    "detail",
    "Records",
    "records",
];

/// Keys that hold event or session times.
const TIME_KEYS: &[&str] = &[
    "eventTime",
    "published",
    "@timestamp",
    "created_at",
    "time",
    "eventTimestamp",
    "creationDate",
    "timestamp",
    "TimeGenerated",
    "event_timestamp",
];

/// Timestamps far in the past or future, impossible, or barely valid.
const ODD_TIMES: &[&str] = &[
    "\"0000-01-01T00:00:00Z\"",
    "\"0001-01-01T00:00:00Z\"",
    "\"1969-12-31T23:59:59.999Z\"",
    "\"1970-01-01T00:00:00Z\"",
    "\"1999-12-31T23:59:59.999Z\"",
    "\"2000-01-01T00:00:00Z\"",
    "\"2099-12-31T23:59:59.999Z\"",
    "\"2100-01-01T00:00:00Z\"",
    "\"9999-12-31T23:59:59.999999999Z\"",
    "\"2024-02-30T00:00:00Z\"",
    "\"2024-13-01T00:00:00Z\"",
    "\"2024-00-00T00:00:00Z\"",
    "\"2024-01-01T24:00:00Z\"",
    "\"2024-01-01T23:59:60Z\"",
    "\"2024-01-01T00:00:00+99:99\"",
    "\"2024-01-01T00:00:00-9999\"",
    "\"2024-01-01T00:00:00.\"",
    "\"2024-01-01T00:00:00.99999999999999999999999999Z\"",
    "\"2024-01-01\"",
    "\"2024-01-01T00\"",
    "\"2024-01-01T00:00\"",
    "\"2024-01-01 00:00:00.000 +0000\"",
    "\"Mar 1, 2024 12:10:00 AM\"",
    "\"\"",
    "\"   \"",
    "\"null\"",
    "\"٢٠٢٤-٠١-٠١T00:00:00Z\"",
    "\"2024-01-01T00:00:00Z\\u0000\"",
    "\"1709251200\"",
    "\"1709251200000\"",
    "\"1709251200000000000\"",
    "\"1e400\"",
    "\"-1\"",
    "\"..\"",
    "0",
    "-1",
    "1",
    "-0",
    "1709251200",
    "1709251200.5",
    "1709251200000",
    "1709251200000000",
    "1709251200000000000",
    "99999999999999999999999999",
    "1e11",
    "1e14",
    "1e17",
    "1e300",
    "1e400",
    "-1e400",
    "1.7976931348623157e308",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "5e-324",
    "true",
    "null",
    "[]",
    "{}",
];

/// Number literals at and beyond the edges of what serde and the parsers hold.
const ODD_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "1e400",
    "-1e400",
    "1E-400",
    "123456789012345678901234567890",
    "-123456789012345678901234567890",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "4294967296",
    "2147483648",
    "65536",
    "256",
    "-1",
    "0.000000000000000000000000000001",
    "1.5",
];

/// A replacement value.
#[derive(Clone, Debug)]
enum Leaf {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    NumText(&'static str),
    Str(String),
    /// A string of `n` copies of `c`.
    Huge(char, usize),
    /// A string with raw (invalid JSON) bytes inside the quotes: control bytes, invalid UTF-8.
    RawStr(Vec<u8>),
    EmptyObj,
    EmptyArr,
    /// `depth` nested arrays or objects.
    Deep(bool, usize),
    /// A subtree of another corpus record.
    Graft(Index, Index),
    /// An object with vocabulary keys.
    Obj(Vec<(Index, Leaf)>),
}

fn odd_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        1 => prop::sample::select(vec![
            "\u{0}", "\u{1}\u{1f}\u{7f}", "\u{2028}\u{2029}", "\u{feff}", "\u{fffd}", "\u{10ffff}",
            "arn:aws:iam::", "arn:aws:sts::1:assumed-role/", "arn:aws:iam::1:user/", "::", ":",
            "/", "*", "AKIA", "ASIA", "i-0123456789abcdef0", "0.0.0.0", "::1", "[::1]:443",
            "1.2.3.4:99999", "256.256.256.256", "AWS Internal", "null", "true", "%00", "\\",
            "\"", "{\"a\":1}", "[1,2]", "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
            "%7B%22Statement%22%3A%5B%5D%7D", "é", "ǅ", "İ", "ﬃ", "🦀", "\u{301}",
        ]).prop_map(String::from),
        1 => prop::collection::vec(prop::sample::select(vec!["a", ":", "/", "*", "\u{0}", "é", "🦀", " "]), 0..30)
            .prop_map(|v| v.concat()),
    ]
}

fn leaf() -> impl Strategy<Value = Leaf> {
    sized_leaf(300_000, 5_000)
}

/// Replacement values; huge strings and deep nesting bounded by `huge` and `deep`.
fn sized_leaf(huge: usize, deep: usize) -> impl Strategy<Value = Leaf> {
    let base = prop_oneof![
        2 => Just(Leaf::Null),
        1 => any::<bool>().prop_map(Leaf::Bool),
        2 => any::<i64>().prop_map(Leaf::Int),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Leaf::Float),
        2 => prop::sample::select(ODD_NUMBERS).prop_map(Leaf::NumText),
        4 => odd_string().prop_map(Leaf::Str),
        1 => (prop::sample::select(vec!['x', '\u{0}', '"', '\\', 'é', '🦀', '\n']), 0usize..huge)
            .prop_map(|(c, n)| Leaf::Huge(c, n)),
        2 => prop::collection::vec(any::<u8>(), 0..24).prop_map(Leaf::RawStr),
        2 => Just(Leaf::EmptyObj),
        2 => Just(Leaf::EmptyArr),
        1 => (any::<bool>(), 1usize..deep).prop_map(|(o, d)| Leaf::Deep(o, d)),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Leaf::Graft(a, b)),
    ];
    base.prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec((any::<Index>(), inner), 0..4).prop_map(Leaf::Obj)
    })
}

fn build(l: &Leaf) -> J {
    match l {
        Leaf::Null => J::Null,
        Leaf::Bool(b) => J::Bool(*b),
        Leaf::Int(i) => J::Num(i.to_string()),
        Leaf::Float(f) => J::Num(serde_json::Number::from_f64(*f).unwrap().to_string()),
        Leaf::NumText(t) => J::Num(t.to_string()),
        Leaf::Str(s) => J::Str(s.clone()),
        Leaf::Huge(c, n) => J::Str(std::iter::repeat_n(*c, *n).collect()),
        Leaf::RawStr(b) => {
            let mut v = vec![b'"'];
            v.extend(b.iter().map(|&c| if c == b'"' { b'\'' } else { c }));
            v.push(b'"');
            J::Raw(v)
        }
        Leaf::EmptyObj => J::Obj(vec![]),
        Leaf::EmptyArr => J::Arr(vec![]),
        Leaf::Deep(obj, d) => {
            let (open, close): (&[u8], &[u8]) = if *obj {
                (b"{\"a\":", b"}")
            } else {
                (b"[", b"]")
            };
            let mut v = open.repeat(*d);
            v.extend_from_slice(b"1");
            v.extend(close.repeat(*d));
            J::Raw(v)
        }
        Leaf::Graft(r, n) => {
            let c = corpus();
            let rec = &c.records[r.index(c.records.len())];
            match serde_json::from_slice::<Value>(rec) {
                Ok(v) => {
                    let j = from_value(&v);
                    let ps = paths(&j);
                    node(&j, &ps[n.index(ps.len())]).clone()
                }
                Err(_) => J::Null,
            }
        }
        Leaf::Obj(kv) => J::Obj(
            kv.iter()
                .map(|(k, v)| (KEYS[k.index(KEYS.len())].to_string(), build(v)))
                .collect(),
        ),
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Drops the node (a field or an array element).
    Remove(Index),
    /// Replaces the node.
    Replace(Index, Leaf),
    /// Replaces every value of a vocabulary key, at any depth.
    ReplaceKey(Index, Leaf),
    /// Adds a vocabulary key to the object at the node (or replaces the node).
    AddKey(Index, Index, Leaf),
    /// Repeats a field of an object (a duplicate key).
    Duplicate(Index),
    /// Sets every time field to an odd time.
    SetTimes(Index),
    /// Puts text around a string (NUL, control bytes, escapes).
    Affix(Index, String, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<Index>().prop_map(Mutation::Remove),
        4 => (any::<Index>(), leaf()).prop_map(|(i, l)| Mutation::Replace(i, l)),
        4 => (any::<Index>(), leaf()).prop_map(|(i, l)| Mutation::ReplaceKey(i, l)),
        2 => (any::<Index>(), any::<Index>(), leaf()).prop_map(|(i, k, l)| Mutation::AddKey(i, k, l)),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        3 => any::<Index>().prop_map(Mutation::SetTimes),
        2 => (any::<Index>(), odd_string(), odd_string()).prop_map(|(i, a, b)| Mutation::Affix(i, a, b)),
    ]
}

fn apply(j: &mut J, m: &Mutation) {
    let ps = paths(j);
    let pick = |i: &Index| ps[i.index(ps.len())].clone();
    match m {
        Mutation::Remove(i) => {
            let p = pick(i);
            if let Some((&last, parent)) = p.split_last() {
                match node_mut(j, parent) {
                    J::Arr(a) => {
                        a.remove(last);
                    }
                    J::Obj(o) => {
                        o.remove(last);
                    }
                    _ => {}
                }
            }
        }
        Mutation::Replace(i, l) => *node_mut(j, &pick(i)) = build(l),
        Mutation::ReplaceKey(k, l) => {
            let v = build(l);
            for_key(j, KEYS[k.index(KEYS.len())], &mut |x| *x = v.clone());
        }
        Mutation::AddKey(i, k, l) => {
            let n = node_mut(j, &pick(i));
            let key = KEYS[k.index(KEYS.len())].to_string();
            match n {
                J::Obj(o) => o.push((key, build(l))),
                other => *other = J::Obj(vec![(key, build(l))]),
            }
        }
        Mutation::Duplicate(i) => {
            if let J::Obj(o) = node_mut(j, &pick(i)) {
                if let Some(first) = o.first().cloned() {
                    o.push(first);
                }
            }
        }
        Mutation::SetTimes(t) => {
            let v = J::Raw(ODD_TIMES[t.index(ODD_TIMES.len())].as_bytes().to_vec());
            for key in TIME_KEYS {
                for_key(j, key, &mut |x| *x = v.clone());
            }
        }
        Mutation::Affix(i, a, b) => {
            if let J::Str(s) = node_mut(j, &pick(i)) {
                *s = format!("{a}{s}{b}");
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// What every parse result must satisfy.

const FORMATS: [Format; 5] = [
    Format::Auto,
    Format::Source(SourceKind::Cloudtrail),
    Format::Source(SourceKind::AzureActivity),
    Format::Source(SourceKind::Okta),
    Format::Source(SourceKind::GithubAudit),
];

/// An event from any input is usable: a plausible time, a named identity, renderable.
fn check_event(ev: &AuditEvent<'_>, raw: &[u8]) {
    assert!(
        nhid::time::plausible_event_ms(ev.time_ms),
        "event time {} outside 2000..2100 accepted",
        ev.time_ms
    );
    assert!(
        !ev.identity.key.is_empty(),
        "event without an identity key accepted"
    );
    assert!(ev.raw.len() <= raw.len());
    let _ = ev.action();
    let _ = ev.client();
    let _ = ev.network_key();
    let _ = ev.via_cloud_service();
    let j = ev.to_json();
    serde_json::to_vec(&j).expect("an event renders as JSON");
}

fn check_error(e: &ParseError) {
    assert!(!e.reason().is_empty());
    assert!(!e.to_string().is_empty());
}

/// Parses `raw` in every format (and detects its shape); checks every result.
fn parse_all_ways(p: &Parsers, raw: &[u8]) {
    let _ = p.detect(raw);
    for f in FORMATS {
        match p.parse(raw, f) {
            Ok(ev) => check_event(&ev, raw),
            Err(e) => check_error(&e),
        }
    }
}

/// The parts of an event that benign rewrites must keep.
fn summary(ev: &AuditEvent<'_>) -> (String, i64, String, Value) {
    (
        ev.identity.key.to_string(),
        ev.time_ms,
        ev.action(),
        ev.to_json(),
    )
}

/// Keys whose order the parsers may legitimately depend on: none. (A record with duplicate keys
/// is not benign; `from_value` never produces one.)
fn reordered(j: &J, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut layout = Some(Layout(seed));
    if let Some(l) = &mut layout {
        l.ws(&mut out);
    }
    render(j, &mut layout, &mut out);
    if let Some(l) = &mut layout {
        l.ws(&mut out);
    }
    out
}

// ------------------------------------------------------------------------------------------
// Arbitrary JSON-shaped records built from the parsers' vocabulary.

/// Values the parsers accept in their fields: times, identity types, ARNs, keys, addresses,
/// services, operation names, ids.
fn plausible() -> impl Strategy<Value = J> {
    let s = |re: &'static str| re.prop_map(J::Str);
    prop_oneof![
        3 => (nhid::time::MIN_EVENT_MS..nhid::time::MAX_EVENT_MS)
            .prop_map(|ms| J::Str(nhid::time::format_rfc3339_ms(ms))),
        1 => (nhid::time::MIN_EVENT_MS / 1000..nhid::time::MAX_EVENT_MS / 1000)
            .prop_map(|s| J::Num(s.to_string())),
        2 => prop::sample::select(vec![
            "IAMUser", "AssumedRole", "AWSService", "Root", "FederatedUser", "AWSAccount",
            "IdentityCenterUser", "SAMLUser", "WebIdentityUser", "Unknown", "ServicePrincipal",
            "Application", "ManagedIdentity", "User", "Bot", "SystemPrincipal", "PublicClientApp",
            "Succeeded", "Failed", "SUCCESS", "FAILURE", "Allow", "Deny",
        ]).prop_map(|t| J::Str(t.into())),
        2 => s("arn:aws:(iam|sts)::[0-9]{12}:(user|role|assumed-role|federated-user|root)(/[a-z0-9-]{1,12}){0,2}"),
        1 => s("(AKIA|ASIA)[A-Z0-9]{16}"),
        1 => s("[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(:[0-9]{1,5})?"),
        1 => s("[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}"),
        1 => s("[a-z0-9-]{2,12}\\.amazonaws\\.com"),
        1 => s("[A-Z][A-Za-z]{2,20}"),
        1 => s("Microsoft\\.[A-Za-z]{2,12}/[a-z]{2,12}/(write|delete|read|listKeys/action)"),
        1 => s("[a-z]{2,8}\\.[a-z]{2,8}(\\.[a-z]{2,8}){0,2}"),
        1 => s("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        1 => s("[0-9]{12}"),
        1 => s("(aws-cli|Boto3|terraform|python-requests|okta-sdk|Mozilla)/[0-9.]{1,8}( [A-Za-z/0-9.]{0,20})?"),
    ]
}

/// Leaves of generated trees: mostly plausible values, sometimes odd ones (kept small).
fn tree_leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        3 => plausible(),
        2 => sized_leaf(4096, 300).prop_map(|l| build(&l)),
    ]
}

fn json_tree() -> impl Strategy<Value = J> {
    tree_leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(J::Arr),
            3 => prop::collection::vec(
                (
                    prop_oneof![
                        6 => prop::sample::select(KEYS).prop_map(String::from),
                        1 => odd_string(),
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(J::Obj),
        ]
    })
}

/// Top-level objects shaped like one of the four sources (its detection keys present).
fn shaped_record() -> impl Strategy<Value = J> {
    let shapes: Vec<&'static [&'static str]> = vec![
        &["eventName", "userIdentity", "eventTime", "eventSource"],
        &["operationName", "time", "caller", "identity"],
        &["eventType", "published", "actor", "client"],
        &["action", "actor", "@timestamp", "created_at"],
        &["detail-type", "detail"],
        &["Records"],
    ];
    (
        prop::sample::select(shapes),
        prop::collection::vec(json_tree(), 8),
        prop::collection::vec((prop::sample::select(KEYS), json_tree()), 0..6),
    )
        .prop_map(|(keys, vals, extra)| {
            let mut o: Vec<(String, J)> = keys
                .iter()
                .zip(vals)
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            o.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
            J::Obj(o)
        })
}

/// Rewrites the scalars of `j` one by one: kept, replaced by a plausible value, by an odd one,
/// or dropped, as `choices` say (cycled).
fn rewrite_scalars(j: &mut J, choices: &[(u8, J)], n: &mut usize) {
    match j {
        J::Arr(a) => a.iter_mut().for_each(|c| rewrite_scalars(c, choices, n)),
        J::Obj(o) => {
            o.retain_mut(|(_, v)| {
                if matches!(v, J::Arr(_) | J::Obj(_)) {
                    rewrite_scalars(v, choices, n);
                    return true;
                }
                let (how, with) = &choices[*n % choices.len()];
                *n += 1;
                match how {
                    0..=4 => true,
                    5..=7 => {
                        *v = with.clone();
                        true
                    }
                    _ => false,
                }
            });
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------------------
// Properties.

/// Minimal reproducer of a parser bug found by `rewritten_corpus_records_never_panic`.
///
/// A CloudTrail `userIdentity` whose `arn` is `""` is accepted with the empty string as its
/// identity key (types IAMUser, Root, FederatedUser, other; and AssumedRole when
/// `sessionIssuer.arn` is `""`), instead of falling back to the key built from the account and
/// user name (as when `arn` is absent) or being refused as `missing_actor`. Every such record,
/// whoever made it, then lands in one baseline keyed `""`. In src/parsers/cloudtrail.rs,
/// `resolve_identity` takes `let arn = cow(ui.arn);` (and `cow(issuer.arn)`) without the
/// `.filter(|k| !k.is_empty())` it applies to the access key id and principal id.
#[test]
fn empty_cloudtrail_arn_is_not_an_identity_key() {
    let p = Parsers::default();
    let rec = |arn: &str| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":{arn},"accountId":"111122223333","userName":"alice"}},"eventTime":"2024-03-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers"}}"#
        )
    };
    // Without an ARN: the key is built from the account and the user name.
    let absent = rec("null");
    let ev = p.parse(absent.as_bytes(), Format::Auto).unwrap();
    assert_eq!(ev.identity.key, "arn:aws:iam::111122223333:user/alice");
    // With an empty one: the same, or a refusal; never the empty key.
    let empty = rec("\"\"");
    if let Ok(ev) = p.parse(empty.as_bytes(), Format::Auto) {
        assert!(!ev.identity.key.is_empty(), "identity key \"\" accepted");
    }
}

#[test]
fn corpus_loads_and_mostly_parses() {
    let c = corpus();
    // The fixtures are real records of the supported sources: most of them must parse.
    assert!(
        c.good.len() * 10 >= c.records.len() * 8,
        "{} of {} corpus records parse",
        c.good.len(),
        c.records.len()
    );
    assert!(c.good_cloudtrail.len() > 1000);
}

proptest! {
    #![proptest_config(config(10000))]

    /// Arbitrary bytes: an event or an error, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_all_ways(&Parsers::default(), &bytes);
    }

    /// Arbitrary bytes after a JSON-ish prefix (so the JSON paths are reached).
    #[test]
    fn json_prefixed_bytes_never_panic(
        prefix in prop::sample::select(vec![
            "{", "{\"eventName\":", "{\"eventName\":\"X\",\"userIdentity\":",
            "{\"operationName\":", "{\"eventType\":\"x\",\"published\":",
            "{\"action\":\"x\",\"actor\":", "{\"detail-type\":\"x\",\"detail\":",
        ]),
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut raw = prefix.as_bytes().to_vec();
        raw.extend_from_slice(&bytes);
        parse_all_ways(&Parsers::default(), &raw);
    }

    /// The time helpers the parsers use: never a panic; formatting and parsing round-trip over
    /// the plausible range.
    #[test]
    fn time_helpers(
        s in prop_oneof![
            3 => "[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2})?([.,][0-9]{0,12})?([Zz]|[+-][0-9]{2}:?[0-9]{0,2})?)?",
            1 => prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
            1 => prop::sample::select(ODD_TIMES).prop_map(|s| s.trim_matches('"').to_string()),
        ],
        d in prop_oneof![
            "[0-9]{0,25}(ms|s|m|min|h|d|w| h|x)?",
            prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
        ],
        ms in nhid::time::MIN_EVENT_MS..nhid::time::MAX_EVENT_MS,
        any_ms in any::<i64>(),
    ) {
        let _ = nhid::time::parse_rfc3339_ms(&s);
        let _ = nhid::time::parse_duration_ms(&d);
        let _ = nhid::time::format_duration_ms(any_ms);
        let _ = nhid::time::format_rfc3339_ms(any_ms);
        let _ = nhid::time::epoch_number_to_ms(any_ms as f64);
        let text = nhid::time::format_rfc3339_ms(ms);
        prop_assert_eq!(nhid::time::parse_rfc3339_ms(&text), Some(ms), "{}", text);
    }
}

proptest! {
    #![proptest_config(config(6000))]

    /// Arbitrary JSON trees shaped like each source's records: never a panic.
    #[test]
    fn source_shaped_json_never_panics(j in shaped_record()) {
        parse_all_ways(&Parsers::default(), &to_bytes(&j));
    }

    /// Real records with many of their values replaced by plausible ones (other times, identity
    /// types, ARNs, addresses) or odd ones, or dropped: never a panic; accepted events usable.
    #[test]
    fn rewritten_corpus_records_never_panic(
        pick in any::<Index>(),
        choices in prop::collection::vec(
            (0u8..10, prop_oneof![3 => plausible(), 1 => tree_leaf()]),
            1..24,
        ),
    ) {
        let c = corpus();
        let rec = &c.records[c.good[pick.index(c.good.len())]];
        let v: Value = serde_json::from_slice(rec).unwrap();
        let mut j = from_value(&v);
        rewrite_scalars(&mut j, &choices, &mut 0);
        parse_all_ways(&Parsers::default(), &to_bytes(&j));
    }

    /// Real records after structure-aware mutations: never a panic, and any event accepted is
    /// usable (plausible time, an identity).
    #[test]
    fn mutated_corpus_records_never_panic(
        pick in any::<Index>(),
        muts in prop::collection::vec(mutation(), 1..5),
    ) {
        let c = corpus();
        let rec = &c.records[pick.index(c.records.len())];
        let v: Value = serde_json::from_slice(rec).unwrap();
        let mut j = from_value(&v);
        for m in &muts {
            apply(&mut j, m);
        }
        let raw = to_bytes(&j);
        parse_all_ways(&Parsers::default(), &raw);
        // The same record inside an EventBridge envelope.
        let mut env = b"{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":".to_vec();
        env.extend_from_slice(&raw);
        env.push(b'}');
        parse_all_ways(&Parsers::default(), &env);
    }

    /// Real records after byte-level damage (truncation, flipped and inserted bytes, invalid
    /// UTF-8, NUL): never a panic.
    #[test]
    fn damaged_corpus_records_never_panic(
        pick in any::<Index>(),
        cut in any::<Index>(),
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..4), 0..8),
        truncate in any::<bool>(),
    ) {
        let c = corpus();
        let mut raw = c.records[pick.index(c.records.len())].clone();
        for (at, byte, op) in &edits {
            let i = at.index(raw.len() + 1);
            match op {
                0 => raw.insert(i, *byte),
                1 if i < raw.len() => raw[i] ^= byte | 1,
                2 if i < raw.len() => {
                    raw.remove(i);
                }
                _ => raw.splice(i..i, [0xff, 0xfe, 0x00, 0xc3].iter().copied()).for_each(drop),
            }
        }
        if truncate {
            raw.truncate(cut.index(raw.len() + 1));
        }
        parse_all_ways(&Parsers::default(), &raw);
    }

    /// A record that parses gives the same event (identity key, time, action, every normalised
    /// field) with its keys in another order and whitespace anywhere between tokens.
    #[test]
    fn key_order_and_whitespace_keep_the_event(pick in any::<Index>(), seed in any::<u64>()) {
        let c = corpus();
        let rec = &c.records[c.good[pick.index(c.good.len())]];
        let p = Parsers::default();
        let want = summary(&p.parse(rec, Format::Auto).unwrap());
        let v: Value = serde_json::from_slice(rec).unwrap();
        let raw = reordered(&from_value(&v), seed);
        let got = p.parse(&raw, Format::Auto);
        prop_assert!(got.is_ok(), "rewritten record refused: {:?}\n{}", got.err(), String::from_utf8_lossy(&raw));
        let got = summary(&got.unwrap());
        prop_assert_eq!(&got.0, &want.0);
        prop_assert_eq!(got.1, want.1);
        prop_assert_eq!(&got.2, &want.2);
        prop_assert_eq!(&got.3, &want.3);
        // Forcing the detected format gives the same event too.
        if let Some(kind) = p.detect(rec) {
            let forced = p.parse(&raw, Format::Source(kind));
            prop_assert!(forced.is_ok(), "{:?}", forced.err());
            prop_assert_eq!(summary(&forced.unwrap()), want);
        }
    }

    /// A CloudTrail record inside an EventBridge envelope (once or twice) gives the same event.
    #[test]
    fn eventbridge_envelope_keeps_the_event(pick in any::<Index>(), twice in any::<bool>(), seed in any::<u64>()) {
        let c = corpus();
        let rec = &c.records[c.good_cloudtrail[pick.index(c.good_cloudtrail.len())]];
        let p = Parsers::default();
        let want = summary(&p.parse(rec, Format::Auto).unwrap());
        let wrap = |inner: &[u8]| {
            let v: Value = serde_json::from_slice(inner).unwrap();
            let env = J::Obj(vec![
                ("version".into(), J::Str("0".into())),
                ("id".into(), J::Str("x".into())),
                ("detail-type".into(), J::Str("AWS API Call via CloudTrail".into())),
                ("source".into(), J::Str("aws.sts".into())),
                ("time".into(), J::Str("2024-03-01T00:00:01Z".into())),
                ("detail".into(), from_value(&v)),
            ]);
            reordered(&env, seed)
        };
        let mut raw = wrap(rec);
        if twice {
            raw = wrap(&raw);
        }
        let got = p.parse(&raw, Format::Auto);
        prop_assert!(got.is_ok(), "{:?}", got.err());
        prop_assert_eq!(summary(&got.unwrap()), want);
    }

    /// The record size limit: a record above it is refused as too large whatever it holds;
    /// one within it is judged as without a limit.
    #[test]
    fn record_size_limit_holds(pick in any::<Index>(), limit in 0usize..8192) {
        let c = corpus();
        let rec = &c.records[pick.index(c.records.len())];
        let p = Parsers::new(limit);
        let unlimited = Parsers::new(usize::MAX);
        for f in FORMATS {
            match p.parse(rec, f) {
                Err(ParseError::TooLarge { size, limit: l }) => {
                    prop_assert!(rec.len() > limit);
                    prop_assert_eq!((size, l), (rec.len(), limit));
                }
                other => {
                    prop_assert!(rec.len() <= limit, "a record of {} bytes passed a limit of {}", rec.len(), limit);
                    let free = unlimited.parse(rec, f);
                    match (other, free) {
                        (Ok(a), Ok(b)) => prop_assert_eq!(summary(&a), summary(&b)),
                        (Err(a), Err(b)) => prop_assert_eq!(a.reason(), b.reason()),
                        (a, b) => prop_assert!(false, "limit changed the outcome: {:?} vs {:?}", a.map(|e| summary(&e)), b.map(|e| summary(&e))),
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config(100))]

    /// Thousands of nesting levels in a field, or EventBridge envelopes nested deep: refused
    /// quickly, never a stack overflow.
    #[test]
    fn deep_nesting_is_refused_not_a_crash(pick in any::<Index>(), at in any::<Index>(), depth in 100usize..20_000, obj in any::<bool>()) {
        let c = corpus();
        let rec = &c.records[c.good[pick.index(c.good.len())]];
        let v: Value = serde_json::from_slice(rec).unwrap();
        let mut j = from_value(&v);
        apply(&mut j, &Mutation::Replace(at, Leaf::Deep(obj, depth)));
        parse_all_ways(&Parsers::new(64 << 20), &to_bytes(&j));
        // Envelopes nested `depth` times around the record.
        let mut env = br#"{"detail-type":"x","detail":"#.repeat(depth.min(5_000));
        env.extend_from_slice(rec);
        env.extend(b"}".repeat(depth.min(5_000)));
        let started = std::time::Instant::now();
        parse_all_ways(&Parsers::new(64 << 20), &env);
        prop_assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }
}
