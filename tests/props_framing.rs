//! Property tests of the framing layer (issue 15): [`read_input`] (files: JSON Lines, batch
//! lines, pretty-printed and concatenated documents, gzip, BOM, CRLF) and [`frame_bytes`]
//! (Kafka messages).
//!
//! - JSON Lines with junk lines anywhere after the first record: the output is exactly the
//!   expected one, line by line: every good record once, in order, with its line number; every
//!   junk line one error (unframed, or a record the parser refuses); a line above
//!   `max_record_bytes` is reported `too_large` holding at most 4 KiB of it, and a batch line is
//!   bounded by `max_document_bytes` instead. A broken first line (which makes the reader try a
//!   pretty-printed document first) gives the same outcome.
//! - Pretty-printed documents and batches with broken documents and junk between: every good
//!   record once, each bad run one `malformed_json` error at its first line.
//! - A Kafka message frames as the same file would.
//! - Arbitrary bytes and chaotic fragments: no panic.
//!
//! Seeds: compact records of `tests/fixtures/` and `tests/corpus/`. More cases:
//! `PROPTEST_CASES=20000 cargo test --release --test props_framing` (docs/fuzzing.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nhid::parsers::{Format, Parsers};
use nhid::sources::file::{frame_bytes, read_input, Item, ReadLimits};
use proptest::prelude::*;
use proptest::sample::Index;
mod common;

use common::proptest_config as config;
use serde_json::value::RawValue;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compact one-line records that parse, at most 32 KiB each.
fn good() -> &'static [Vec<u8>] {
    static G: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    G.get_or_init(|| {
        let p = Parsers::default();
        let mut out = Vec::new();
        for f in [
            "tests/fixtures/stratus/aws.persistence.iam-backdoor-user.jsonl",
            "tests/fixtures/stratus/aws.credential-access.ec2-steal-instance-credentials.jsonl",
            "tests/fixtures/otrf/ec2_proxy_s3_exfiltration_2020-09-14.normalized.jsonl",
            "tests/fixtures/panther/azure_monitoractivity.jsonl",
            "tests/fixtures/panther/okta_systemlog.jsonl",
            "tests/fixtures/panther/github_audit.jsonl",
            "tests/corpus/traildiscover/cloudtrail_examples.jsonl",
            "tests/corpus/panther-scenarios/okta.jsonl",
        ] {
            let text = std::fs::read(root().join(f)).unwrap();
            for l in text.split(|&b| b == b'\n') {
                let l = trim(l);
                if !l.is_empty()
                    && l.len() <= 32 << 10
                    && l[0] == b'{'
                    && !l.starts_with(nhid::deadletter::PREFIX)
                    && p.parse(l, Format::Auto).is_ok()
                {
                    out.push(l.to_vec());
                }
            }
        }
        assert!(out.len() > 500, "{} good records", out.len());
        out
    })
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

/// One framed item, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Rec {
        line: u64,
        index: Option<u64>,
        bytes: Vec<u8>,
    },
    Bad {
        line: u64,
        reason: String,
        size: usize,
        bytes: Vec<u8>,
    },
}

fn own(it: Item<'_>) -> Out {
    match it {
        Item::Record(b, o) => Out::Rec {
            line: o.line,
            index: o.index,
            bytes: b.to_vec(),
        },
        Item::Unframed {
            bytes,
            origin,
            reason,
            error,
            size,
        } => {
            assert!(origin.index.is_none());
            assert!(!error.is_empty());
            Out::Bad {
                line: origin.line,
                reason: reason.to_string(),
                size,
                bytes: bytes.to_vec(),
            }
        }
    }
}

/// Reads `content` as a file (gzip-compressed if asked).
fn read_file(content: &[u8], gzip: bool, limits: ReadLimits) -> Vec<Out> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(if gzip { "in.json.gz" } else { "in.json" });
    let mut f = std::fs::File::create(&p).unwrap();
    if gzip {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(content).unwrap();
        f.write_all(&e.finish().unwrap()).unwrap();
    } else {
        f.write_all(content).unwrap();
    }
    drop(f);
    let mut out = Vec::new();
    read_input(&p.to_string_lossy(), limits, |it| out.push(own(it))).unwrap();
    out
}

fn frame_message(content: &[u8], limits: ReadLimits) -> Vec<Out> {
    let mut out = Vec::new();
    frame_bytes("topic/0@1", content, limits, |it| out.push(own(it)));
    out
}

/// What a consumer makes of the items: per item, its line, index and the record if it parses.
fn outcome(items: &[Out], limits: ReadLimits) -> Vec<(u64, Option<u64>, Option<Vec<u8>>)> {
    let p = Parsers::new(limits.max_record_bytes);
    items
        .iter()
        .map(|o| match o {
            Out::Rec { line, index, bytes } => (
                *line,
                *index,
                p.parse(bytes, Format::Auto).ok().map(|_| bytes.clone()),
            ),
            Out::Bad { line, .. } => (*line, None, None),
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// JSON Lines with junk.

/// A line of a JSON Lines file.
#[derive(Debug, Clone)]
enum Line {
    /// A good record.
    Good(Index),
    /// A batch document on one line (`{"Records":[..]}`, `{"records":[..]}` or `[..]`).
    Batch(u8, Vec<Index>),
    /// A line that is not a record: its bytes never parse, never expand to records.
    Junk(Vec<u8>),
    /// Whitespace only.
    Blank(Vec<u8>),
}

/// Would the reader expand this (trimmed) line into records? (Junk must not.)
fn expands(t: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Batch<'a> {
        #[serde(borrow, rename = "Records", alias = "records")]
        #[allow(dead_code)]
        records: Option<Vec<&'a RawValue>>,
    }
    if t.first() == Some(&b'[') {
        return serde_json::from_slice::<Vec<&RawValue>>(t).is_ok();
    }
    matches!(
        serde_json::from_slice::<Batch>(t),
        Ok(Batch { records: Some(_) })
    )
}

fn junk() -> impl Strategy<Value = Vec<u8>> {
    let no_nl = |v: Vec<u8>| v.into_iter().filter(|&b| b != b'\n').collect::<Vec<u8>>();
    prop_oneof![
        // Arbitrary bytes (NUL, control bytes, invalid UTF-8).
        3 => prop::collection::vec(any::<u8>(), 1..200).prop_map(no_nl),
        // A good record cut short.
        3 => (any::<Index>(), any::<Index>()).prop_map(|(r, cut)| {
            let g = good();
            let rec = &g[r.index(g.len())];
            rec[..1 + cut.index(rec.len() - 1)].to_vec()
        }),
        // A good record with junk after it.
        2 => (any::<Index>(), "[ a-z#,\\]}]{1,20}").prop_map(|(r, tail)| {
            let g = good();
            let mut v = g[r.index(g.len())].clone();
            v.extend_from_slice(tail.as_bytes());
            v
        }),
        // Valid JSON that is no record.
        2 => prop::sample::select(vec![
            "{}", "{\"hello\":1}", "123", "\"text\"", "true", "null", "[1,2", "[{\"a\":1},",
            "{\"Records\":[{\"a\":1}", "{\"Records\":5}", "{\"records\":null}", "{broken",
            "{\"eventName\":\"X\",\"eventTime\":", "\u{feff}{\"a\":1}", "{\"nhid_dead_letter\"",
            "\r", "\u{c}x\u{c}", "\u{0}", "}", "]", ",",
        ]).prop_map(|s| s.as_bytes().to_vec()),
        // Text.
        2 => "[^\n]{1,80}".prop_map(String::into_bytes),
    ]
    .prop_filter("junk must be one line that never parses nor expands", |j| {
        let t = trim(j);
        !j.contains(&b'\n')
            && !t.starts_with(nhid::deadletter::PREFIX)
            && !expands(t)
            && Parsers::new(usize::MAX).parse(t, Format::Auto).is_err()
    })
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        6 => any::<Index>().prop_map(Line::Good),
        1 => (0u8..3, prop::collection::vec(any::<Index>(), 0..5)).prop_map(|(k, v)| Line::Batch(k, v)),
        4 => junk().prop_map(Line::Junk),
        1 => prop::collection::vec(prop::sample::select(vec![b' ', b'\t', b'\r', 0x0c]), 0..6)
            .prop_map(Line::Blank),
    ]
}

/// The bytes of a line, and the records a batch line holds.
fn render_line(l: &Line) -> (Vec<u8>, Vec<Vec<u8>>) {
    let g = good();
    match l {
        Line::Good(i) => (g[i.index(g.len())].clone(), vec![]),
        Line::Batch(kind, idx) => {
            let recs: Vec<Vec<u8>> = idx.iter().map(|i| g[i.index(g.len())].clone()).collect();
            let (open, close): (&[u8], &[u8]) = match kind {
                0 => (b"{\"Records\":[", b"]}"),
                1 => (b"{\"records\":[", b"]}"),
                _ => (b"[", b"]"),
            };
            let mut v = open.to_vec();
            v.extend(recs.join(&b","[..]));
            v.extend_from_slice(close);
            (v, recs)
        }
        Line::Junk(b) | Line::Blank(b) => (b.clone(), vec![]),
    }
}

/// Does the reader give this line the document limit instead of the record limit?
fn starts_like_batch(l: &[u8]) -> bool {
    let b = trim(&l[..l.len().min(64)]);
    if b.first() == Some(&b'[') {
        return true;
    }
    match b.strip_prefix(b"{") {
        Some(rest) => {
            let rest = trim(rest);
            rest.starts_with(b"\"Records\"") || rest.starts_with(b"\"records\"")
        }
        None => false,
    }
}

/// A line, its bytes, and the records a batch line holds.
type Rendered = (Line, Vec<u8>, Vec<Vec<u8>>);

/// What the reader must give for these lines in line mode.
fn expected_lines(lines: &[Rendered], limits: ReadLimits) -> Vec<Out> {
    let mut out = Vec::new();
    for (n, (kind, raw, recs)) in lines.iter().enumerate() {
        let line = n as u64 + 1;
        let max = if starts_like_batch(raw) {
            limits.max_document_bytes
        } else {
            limits.max_record_bytes.min(limits.max_document_bytes)
        };
        if raw.len() > max {
            out.push(Out::Bad {
                line,
                reason: "too_large".into(),
                size: raw.len(),
                bytes: raw[..raw.len().min(4096)].to_vec(),
            });
            continue;
        }
        let t = trim(raw);
        if t.is_empty() {
            continue;
        }
        match kind {
            Line::Batch(..) => {
                for (i, r) in recs.iter().enumerate() {
                    out.push(Out::Rec {
                        line,
                        index: Some(i as u64),
                        bytes: r.clone(),
                    });
                }
            }
            _ => out.push(Out::Rec {
                line,
                index: None,
                bytes: t.to_vec(),
            }),
        }
    }
    out
}

fn limits_strategy() -> impl Strategy<Value = ReadLimits> {
    prop_oneof![
        1 => Just(ReadLimits::default()),
        2 => (64usize..40_000, 0usize..200_000).prop_map(|(r, extra)| ReadLimits {
            max_record_bytes: r,
            max_document_bytes: r + extra,
        }),
    ]
}

// ------------------------------------------------------------------------------------------
// Pretty-printed documents.

#[derive(Debug, Clone)]
enum Doc {
    /// A good record, pretty-printed.
    Good(Index),
    /// A pretty-printed `{"Records": [..]}` batch.
    Batch(Vec<Index>),
    /// A good record made unreadable: a bad token inserted, the closing brace dropped, or a
    /// string left open.
    Bad(Index, u8, Index),
    /// Lines of text starting with `#` (never a value, never a resync point).
    Junk(Vec<String>),
}

fn doc() -> impl Strategy<Value = Doc> {
    prop_oneof![
        5 => any::<Index>().prop_map(Doc::Good),
        1 => prop::collection::vec(any::<Index>(), 0..4).prop_map(Doc::Batch),
        3 => (any::<Index>(), 0u8..3, any::<Index>()).prop_map(|(r, k, at)| Doc::Bad(r, k, at)),
        2 => prop::collection::vec("#[^\n]{0,30}", 1..4).prop_map(Doc::Junk),
    ]
}

fn pretty(rec: &[u8]) -> String {
    let v: Value = serde_json::from_slice(rec).unwrap();
    serde_json::to_string_pretty(&v).unwrap()
}

/// The document's text and the records (as values) it holds.
fn render_doc(d: &Doc) -> (String, Vec<Value>) {
    let g = good();
    let val = |i: &Index| serde_json::from_slice::<Value>(&g[i.index(g.len())]).unwrap();
    match d {
        Doc::Good(i) => (pretty(&g[i.index(g.len())]), vec![val(i)]),
        Doc::Batch(idx) => {
            let recs: Vec<Value> = idx.iter().map(val).collect();
            let text =
                serde_json::to_string_pretty(&serde_json::json!({ "Records": recs })).unwrap();
            (text, recs)
        }
        Doc::Bad(i, kind, at) => {
            let text = pretty(&g[i.index(g.len())]);
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            let n = lines.len();
            match kind {
                0 => {
                    // A bad token on a line of its own inside the object.
                    let k = 1 + at.index(n - 1);
                    lines.insert(k, "  @@".into());
                }
                1 => {
                    lines.pop();
                }
                _ => {
                    // Leave the first string value with a closing quote open.
                    let k = (1..n - 1)
                        .find(|&k| lines[k].trim_end().ends_with("\","))
                        .or_else(|| (1..n - 1).find(|&k| lines[k].trim_end().ends_with('"')));
                    match k {
                        Some(k) => {
                            let t = lines[k].trim_end().trim_end_matches(',').to_string();
                            lines[k] = t[..t.len() - 1].to_string();
                        }
                        None => lines.insert(1, "  @@".into()),
                    }
                }
            }
            (lines.join("\n"), vec![])
        }
        Doc::Junk(l) => (l.join("\n"), vec![]),
    }
}

// ------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(config(1000))]

    /// JSON Lines with junk, blank and batch lines after a first good record: exactly the
    /// expected items (every good record once, with its line; every junk line one error; lines
    /// over the limit reported, holding at most 4 KiB), the same compressed or not, with a BOM
    /// or CRLF line ends; the same as one Kafka message; and the same outcome when a broken
    /// first line sends the reader through its pretty-document attempt first.
    #[test]
    fn json_lines_with_junk_frame_exactly(
        first in any::<Index>(),
        rest in prop::collection::vec(line(), 0..40),
        limits in limits_strategy(),
        crlf in any::<bool>(),
        bom in any::<bool>(),
        gzip in any::<bool>(),
        broken_first in any::<bool>(),
    ) {
        let mut lines: Vec<Rendered> = Vec::new();
        if broken_first {
            // Unfinished on its own (so the reader tries a document), never completed by the
            // lines after it (a raw newline cannot be inside a string).
            let b = b"{\"broken\": \"abc".to_vec();
            lines.push((Line::Junk(b.clone()), b, vec![]));
        }
        for l in std::iter::once(Line::Good(first)).chain(rest) {
            let (mut raw, recs) = render_line(&l);
            if crlf {
                raw.push(b'\r');
            }
            lines.push((l, raw, recs));
        }
        let mut content = Vec::new();
        if bom {
            content.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
        }
        for (_, raw, _) in &lines {
            content.extend_from_slice(raw);
            content.push(b'\n');
        }
        let want = expected_lines(&lines, limits);
        let got = read_file(&content, gzip, limits);
        for o in &got {
            if let Out::Bad { bytes, .. } = o {
                prop_assert!(bytes.len() <= 4096, "an unframed line kept {} bytes", bytes.len());
            }
        }
        if broken_first {
            prop_assert_eq!(outcome(&got, limits), outcome(&want, limits));
        } else {
            prop_assert_eq!(&got, &want);
            // Every good record once; every junk line one error.
            let outcomes = outcome(&got, limits);
            let ok = outcomes.iter().filter(|o| o.2.is_some()).count();
            let expected_ok = lines.iter().map(|(l, raw, recs)| match l {
                Line::Good(_) if raw.len() <= limits.max_record_bytes => 1,
                Line::Batch(..) if raw.len() <= limits.max_document_bytes =>
                    recs.iter().filter(|r| r.len() <= limits.max_record_bytes).count(),
                _ => 0,
            }).sum::<usize>();
            prop_assert_eq!(ok, expected_ok);
            let errors = outcomes.iter().filter(|o| o.2.is_none()).count();
            let expected_errors = lines.iter().map(|(l, raw, recs)| {
                let blank = trim(raw).is_empty();
                match l {
                    Line::Junk(_) | Line::Blank(_) if blank => usize::from(raw.len() > limits.max_record_bytes),
                    Line::Junk(_) | Line::Blank(_) => 1,
                    Line::Good(_) => usize::from(raw.len() > limits.max_record_bytes),
                    Line::Batch(..) if raw.len() > limits.max_document_bytes => 1,
                    Line::Batch(..) => recs.iter().filter(|r| r.len() > limits.max_record_bytes).count(),
                }
            }).sum::<usize>();
            prop_assert_eq!(errors, expected_errors);
            // A Kafka message with the same lines frames the same (no size limits there: the
            // parser applies the record limit).
            if !bom {
                let unlimited = ReadLimits { max_record_bytes: usize::MAX, max_document_bytes: usize::MAX };
                let msg = frame_message(&content, unlimited);
                prop_assert_eq!(msg, expected_lines(&lines, unlimited));
            }
        }
    }

    /// Pretty-printed records and batches, with broken documents and junk lines between: every
    /// good record once (at its document's first line, with its batch index), every bad run
    /// one `malformed_json` error at its first line.
    #[test]
    fn pretty_documents_with_bad_ones_frame_exactly(
        first in prop_oneof![any::<Index>().prop_map(Doc::Good), prop::collection::vec(any::<Index>(), 1..4).prop_map(Doc::Batch)],
        rest in prop::collection::vec(doc(), 0..12),
        gzip in any::<bool>(),
    ) {
        let docs: Vec<Doc> = std::iter::once(first).chain(rest).collect();
        let mut content = String::new();
        let mut line = 1u64;
        // (line, index, record) for good ones; (line) for the start of each bad run.
        let mut want_recs: Vec<(u64, Option<u64>, Value)> = Vec::new();
        let mut want_bad: Vec<u64> = Vec::new();
        let mut prev_good = true;
        for d in &docs {
            let (text, recs) = render_doc(d);
            match d {
                Doc::Good(_) => want_recs.push((line, None, recs[0].clone())),
                Doc::Batch(_) => want_recs.extend(
                    recs.into_iter().enumerate().map(|(i, v)| (line, Some(i as u64), v)),
                ),
                Doc::Bad(..) => want_bad.push(line),
                Doc::Junk(_) if prev_good => want_bad.push(line),
                Doc::Junk(_) => {}
            }
            prev_good = matches!(d, Doc::Good(_) | Doc::Batch(_));
            content.push_str(&text);
            content.push('\n');
            line += text.matches('\n').count() as u64 + 1;
        }
        let got = read_file(content.as_bytes(), gzip, ReadLimits::default());
        let mut got_recs = Vec::new();
        let mut got_bad = Vec::new();
        for o in got {
            match o {
                Out::Rec { line, index, bytes } => {
                    let v: Value = serde_json::from_slice(&bytes).unwrap();
                    got_recs.push((line, index, v));
                }
                Out::Bad { line, reason, .. } => {
                    prop_assert_eq!(reason, "malformed_json");
                    got_bad.push(line);
                }
            }
        }
        prop_assert_eq!(got_recs, want_recs);
        prop_assert_eq!(got_bad, want_bad);
    }

    /// A document over `max_document_bytes` (a JSON array, or pretty-printed documents) is
    /// reported `too_large` holding at most 4 KiB of it, and no record of it is framed.
    #[test]
    fn oversized_documents_are_one_error(
        recs in prop::collection::vec(any::<Index>(), 2..20),
        array in any::<bool>(),
        cut in 0.05f64..0.95,
    ) {
        let g = good();
        let vals: Vec<Value> = recs.iter().map(|i| serde_json::from_slice(&g[i.index(g.len())]).unwrap()).collect();
        let content = if array {
            serde_json::to_string_pretty(&vals).unwrap()
        } else {
            vals.iter().map(|v| serde_json::to_string_pretty(v).unwrap()).collect::<Vec<_>>().join("\n")
        };
        let max_document_bytes = ((content.len() as f64 * cut) as usize).max(64);
        let limits = ReadLimits { max_record_bytes: 64, max_document_bytes };
        let got = read_file(content.as_bytes(), false, limits);
        prop_assert!(!got.is_empty());
        for o in &got {
            match o {
                Out::Bad { bytes, .. } => prop_assert!(bytes.len() <= 4096),
                Out::Rec { bytes, .. } => prop_assert!(
                    Parsers::new(64).parse(bytes, Format::Auto).is_err(),
                    "a record of an oversized document was framed"
                ),
            }
        }
    }
}

proptest! {
    #![proptest_config(config(5000))]

    /// Arbitrary bytes, as a file (with any limits) or as a Kafka message: no panic, and the
    /// reader never fails on readable input.
    #[test]
    fn arbitrary_input_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        limits in limits_strategy(),
    ) {
        let _ = read_file(&bytes, false, limits);
        let _ = frame_message(&bytes, limits);
    }

    /// Chaotic fragments of JSON documents, batches, records, dead letters, BOMs and gzip magic:
    /// no panic; only a corrupt gzip stream may stop a file.
    #[test]
    fn chaotic_fragments_never_panic(
        parts in prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(vec![
                    "{", "}", "[", "]", ",", ":", "\n", "\r\n", " ", "\"", "\"Records\"", "\"records\"",
                    "{\"Records\":[", "{\n  \"Records\": [\n", "]}", "\u{feff}", "\\", "\"\\u0000\"",
                    "{\"nhid_dead_letter\":1,\"kind\":\"record\",\"record\":", "\"record_base64\":\"AAEC\"",
                    "\"record_text\":\"x\"", "\"record_omitted\":true", "\"alert\":{}", "null", "1e400",
                ]).prop_map(|s| s.as_bytes().to_vec()),
                2 => any::<Index>().prop_map(|i| { let g = good(); g[i.index(g.len())].clone() }),
                1 => any::<Index>().prop_map(|i| { let g = good(); pretty(&g[i.index(g.len())]).into_bytes() }),
                1 => prop::collection::vec(any::<u8>(), 0..16),
            ],
            0..40,
        ),
        gzip_magic in any::<bool>(),
        limits in limits_strategy(),
    ) {
        let mut content: Vec<u8> = if gzip_magic { vec![0x1f, 0x8b] } else { vec![] };
        for p in &parts {
            content.extend_from_slice(p);
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in");
        std::fs::write(&p, &content).unwrap();
        let r = read_input(&p.to_string_lossy(), limits, |it| { let _ = own(it); });
        if !gzip_magic {
            prop_assert!(r.is_ok(), "{:?}", r.err());
        }
        frame_bytes("t/0@1", &content, limits, |it| { let _ = own(it); });
    }
}

/// Minimal reproducer of a framing bug found by `json_lines_with_junk_frame_exactly`.
///
/// When the first line of a file is an unfinished JSON value, the reader first tries the file
/// as a pretty-printed document (buffering up to `max_document_bytes`), then falls back to
/// lines. The line cut by the end of that buffer is completed with `read_line`, which sees only
/// the line's remainder: it does not start like a batch, so the remainder is held to the record
/// limit. A `{"Records":[..]}` line within the document limit is then dropped as `too_large`
/// (one error) instead of being expanded into its records (src/sources/file.rs, the tail of
/// the fallback in `read_input`: `let (over, rest) = read_line(..)` then
/// `if over || carry.len() > limits.max_document_bytes`).
#[test]
fn batch_line_cut_by_the_document_attempt_keeps_the_document_limit() {
    let limits = ReadLimits {
        max_record_bytes: 2000,
        max_document_bytes: 4000,
    };
    let recs: Vec<String> = (0..390).map(|i| format!("{{\"n\":{i}}}")).collect();
    let batch = format!("{{\"Records\":[{}]}}", recs.join(","));
    assert!(batch.len() > limits.max_record_bytes && batch.len() <= limits.max_document_bytes);
    let body = format!("{{\"pad\":\"{}\"}}\n{batch}\n", "x".repeat(3000));
    // Without the broken first line: the batch line gives its 390 records.
    let plain = read_file(body.as_bytes(), false, limits);
    assert_eq!(
        plain
            .iter()
            .filter(|o| matches!(o, Out::Rec { .. }))
            .count(),
        390
    );
    // With it, the batch line (line 3) straddles the 4,016-byte document buffer.
    let content = format!("{{\"broken\": \"abc\n{body}");
    let got = read_file(content.as_bytes(), false, limits);
    let batch_records = got
        .iter()
        .filter(|o| matches!(o, Out::Rec { line: 3, .. }))
        .count();
    assert_eq!(
        batch_records,
        390,
        "{:?}",
        got.iter()
            .filter(|o| matches!(o, Out::Bad { .. }))
            .collect::<Vec<_>>()
    );
}

/// Sanity: the good records really are single records that parse.
#[test]
fn seed_records_load() {
    let g = good();
    let p = Parsers::default();
    assert!(g.iter().all(|r| p.parse(r, Format::Auto).is_ok()));
    assert!(Path::new(&root().join("tests/corpus/README.md")).is_file());
}
