//! Property tests of what nhid reads back from its own files (issue 15): detection-state
//! snapshots ([`nhid::state`]) and dead letters ([`nhid::deadletter`]).
//!
//! Snapshots: one written by the real code (an engine that replayed a real trail) reads back
//! exactly (re-writing it gives the same bytes, whatever its metadata); cut short anywhere or
//! with any bit flipped or bytes overwritten, it is refused with an error (never a panic, never
//! read as other contents) and `load` falls back to the previous snapshot; a body damaged
//! behind a recomputed checksum (what only a bug or a deliberate edit produces) decodes or is
//! refused, never a panic, and what decodes can be restored into an engine and run.
//!
//! Dead letters: a record letter reads back as the record's exact bytes (JSON, text or binary),
//! within its size limit it keeps the record's position and digest, `fit` shrinks it, alert
//! letters read back, arbitrary lines never panic the reader, and a file of letters replays as
//! its records.
//!
//! More cases: `PROPTEST_CASES=5000 cargo test --release --test props_state` (docs/fuzzing.md).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use nhid::baseline::BaselineConfig;
use nhid::deadletter::{self, Position, Read};
use nhid::detect::{Engine, Finding};
use nhid::geo::GeoDb;
use nhid::parsers::{Format, Parsers};
use nhid::pipeline::{Pipeline, ReplayConfig};
use nhid::sources::file::{read_input, Item, ReadLimits};
use nhid::sources::Origin;
use nhid::state::{self, Loaded, PartitionOffset, SnapshotMeta, StateError};
use proptest::prelude::*;
use proptest::sample::Index;
mod common;

use common::proptest_config as config;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn trail() -> &'static [Vec<u8>] {
    static T: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    T.get_or_init(|| {
        let text = std::fs::read(root().join("tests/fixtures/lab-escalation/trail.jsonl")).unwrap();
        text.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    })
}

fn meta(records: u64) -> SnapshotMeta {
    SnapshotMeta {
        written_at_ms: 1_700_000_000_000,
        nhid_version: "test".into(),
        offsets: vec![PartitionOffset {
            topic: "cloudtrail".into(),
            partition: 0,
            next_offset: 881,
        }],
        records,
    }
}

/// A snapshot written by the real code: the bundled pack after replaying the lab trail (which
/// fires rules, so dedup windows, incidents and lineage hold state).
fn snapshot() -> &'static [u8] {
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| {
        let pack = nhid::detect::loader::load_embedded();
        let mut p = Pipeline::new(
            Arc::new(pack.rules),
            GeoDb::bundled_test(),
            ReplayConfig::default(),
        );
        let mut alerts = Vec::new();
        for (i, r) in trail().iter().enumerate() {
            let origin = Origin {
                input: "trail.jsonl",
                line: i as u64 + 1,
                index: None,
            };
            p.process_record(r, &origin, &mut alerts, &mut None)
                .unwrap();
        }
        assert!(!alerts.is_empty(), "the trail raises alerts");
        assert!(p.engine().store().len() > 5);
        let dir = tempfile::tempdir().unwrap();
        state::write(dir.path(), &meta(881), p.engine()).unwrap();
        std::fs::read(dir.path().join(state::FILE_NAME)).unwrap()
    })
}

fn read_bytes(bytes: &[u8]) -> Result<state::Snapshot, StateError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(state::FILE_NAME);
    std::fs::write(&p, bytes).unwrap();
    state::read(&p)
}

/// What a snapshot holds, in a comparable form: its metadata, every identity's profile as
/// `nhid state inspect` shows it, and the findings an engine restored from it raises over the
/// same events. (Snapshot bytes are not canonical: the maps are written in their iteration
/// order, which changes when a state is read back and written again.)
fn contents(s: state::Snapshot) -> String {
    let cfg = BaselineConfig::default();
    let meta = format!("{:?}", s.meta);
    let mut profiles = std::collections::BTreeMap::new();
    let keys: Vec<String> = s.engine.identity_keys().map(String::from).collect();
    for k in &keys {
        let (p, labels) = s.engine.profile(k).unwrap();
        profiles.insert(k.clone(), state::profile_json(k, p, labels, &cfg));
    }
    let pack = nhid::detect::loader::load_embedded();
    let mut engine = Engine::new(Arc::new(pack.rules), cfg);
    let report = engine.restore_state(s.engine);
    let parsers = Parsers::default();
    let mut out: Vec<Finding> = Vec::new();
    for r in trail().iter().step_by(3) {
        if let Ok(ev) = parsers.parse(r, Format::Auto) {
            engine.process(&ev, &mut out);
        }
    }
    let mut findings: Vec<String> = out.iter().map(|f| format!("{f:?}")).collect();
    findings.sort();
    format!("{meta}\n{report:?}\n{profiles:?}\n{findings:?}")
}

fn original_contents() -> &'static str {
    static C: OnceLock<String> = OnceLock::new();
    C.get_or_init(|| contents(read_bytes(snapshot()).unwrap()))
}

/// Writes a snapshot read back and returns the file's bytes.
fn rewrite(s: &state::Snapshot) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    state::write_owned(dir.path(), &s.meta, &s.engine).unwrap();
    std::fs::read(dir.path().join(state::FILE_NAME)).unwrap()
}

/// The body between header and trailer, with the checksum recomputed.
fn reseal(body: &[u8]) -> Vec<u8> {
    let mut out = state::MAGIC.to_vec();
    out.extend_from_slice(&state::VERSION.to_le_bytes());
    out.extend_from_slice(body);
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(b"NHIDEND\0");
    out
}

fn body(snap: &[u8]) -> &[u8] {
    &snap[12..snap.len() - 16]
}

/// Uses a decoded state the way the daemon does: restore, inspect, run.
fn exercise(s: state::Snapshot) {
    let cfg = BaselineConfig::default();
    let _ = s.engine.identities();
    let keys: Vec<String> = s.engine.identity_keys().map(String::from).collect();
    for k in keys.iter().take(50) {
        if let Some((p, labels)) = s.engine.profile(k) {
            let _ = state::profile_json(k, p, labels, &cfg);
        }
    }
    let pack = nhid::detect::loader::load_embedded();
    let mut engine = Engine::new(Arc::new(pack.rules), cfg);
    let _ = engine.restore_state(s.engine);
    let parsers = Parsers::default();
    let mut out: Vec<Finding> = Vec::new();
    for r in trail().iter().step_by(5) {
        if let Ok(ev) = parsers.parse(r, Format::Auto) {
            engine.process(&ev, &mut out);
        }
    }
}

// ------------------------------------------------------------------------------------------
// Snapshots.

#[test]
fn a_real_snapshot_round_trips_exactly() {
    let snap = snapshot();
    let s = read_bytes(snap).unwrap();
    assert_eq!(s.meta.records, 881);
    assert!(s.engine.identities() > 5);
    let again = rewrite(&s);
    assert_eq!(again.len(), snap.len());
    exercise(s);
    assert_eq!(
        contents(read_bytes(&again).unwrap()),
        original_contents(),
        "re-writing a snapshot read back changes what it holds"
    );
}

/// Metadata of every shape.
fn any_meta() -> impl Strategy<Value = SnapshotMeta> {
    (
        any::<i64>(),
        prop_oneof![
            "[ -~]{0,12}",
            prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter)
        ],
        prop::collection::vec(
            (
                prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
                any::<i32>(),
                any::<i64>(),
            ),
            0..6,
        ),
        any::<u64>(),
    )
        .prop_map(
            |(written_at_ms, nhid_version, offsets, records)| SnapshotMeta {
                written_at_ms,
                nhid_version,
                offsets: offsets
                    .into_iter()
                    .map(|(topic, partition, next_offset)| PartitionOffset {
                        topic,
                        partition,
                        next_offset,
                    })
                    .collect(),
                records,
            },
        )
}

proptest! {
    #![proptest_config(config(64))]

    /// Any metadata: written, read back equal, re-written to the same size.
    #[test]
    fn snapshots_round_trip_with_any_metadata(m in any_meta()) {
        let base = read_bytes(snapshot()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        state::write_owned(dir.path(), &m, &base.engine).unwrap();
        let bytes = std::fs::read(dir.path().join(state::FILE_NAME)).unwrap();
        let back = read_bytes(&bytes).unwrap();
        prop_assert_eq!(back.meta.written_at_ms, m.written_at_ms);
        prop_assert_eq!(&back.meta.nhid_version, &m.nhid_version);
        prop_assert_eq!(&back.meta.offsets, &m.offsets);
        prop_assert_eq!(back.meta.records, m.records);
        prop_assert_eq!(rewrite(&back).len(), bytes.len());
    }
}

proptest! {
    #![proptest_config(config(1500))]

    /// Cut short anywhere: refused (never a panic, never an `Ok`).
    #[test]
    fn truncated_snapshots_are_refused(cut in any::<Index>()) {
        let snap = snapshot();
        let n = cut.index(snap.len());
        let r = read_bytes(&snap[..n]);
        prop_assert!(r.is_err(), "a snapshot cut at {} of {} bytes was read", n, snap.len());
        match r.err().unwrap() {
            StateError::NotASnapshot(_) | StateError::Truncated(_) | StateError::Checksum(_) => {}
            e => prop_assert!(false, "unexpected error for a cut at {}: {}", n, e),
        }
    }

    /// Any single bit flipped: refused.
    #[test]
    fn bit_flipped_snapshots_are_refused(at in any::<Index>(), bit in 0u8..8) {
        let mut snap = snapshot().to_vec();
        let i = at.index(snap.len());
        snap[i] ^= 1 << bit;
        prop_assert!(read_bytes(&snap).is_err(), "bit {} of byte {} flipped and read", bit, i);
    }

    /// Bytes overwritten, inserted or removed anywhere: refused; `load` then falls back to the
    /// previous snapshot, intact.
    #[test]
    fn damaged_snapshots_fall_back_to_the_previous_one(
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let snap = snapshot();
        let mut bad = snap.to_vec();
        for (at, b, op) in &edits {
            let i = at.index(bad.len());
            match op {
                0 => bad[i] = if bad[i] == *b { b.wrapping_add(1) } else { *b },
                1 => bad.insert(i, *b),
                _ => {
                    bad.remove(i);
                }
            }
        }
        prop_assume!(bad != snap);
        prop_assert!(read_bytes(&bad).is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(state::PREV_FILE_NAME), snap).unwrap();
        std::fs::write(dir.path().join(state::FILE_NAME), &bad).unwrap();
        match state::load(dir.path()) {
            Ok(Loaded::Previous(s, _)) => {
                // The intact previous file, read whole (its contents are checked in
                // `a_real_snapshot_round_trips_exactly`).
                prop_assert_eq!(s.meta.records, 881);
                prop_assert_eq!(rewrite(&s).len(), snap.len());
            }
            Ok(_) => prop_assert!(false, "the damaged current snapshot was used"),
            Err(e) => prop_assert!(false, "the previous snapshot was not used: {}", e),
        }
        // Without a previous one: the current one's error.
        std::fs::remove_file(dir.path().join(state::PREV_FILE_NAME)).unwrap();
        prop_assert!(state::load(dir.path()).is_err());
    }
}

proptest! {
    #![proptest_config(config(400))]

    /// A body damaged behind a valid checksum: decoded or refused, never a panic; what decodes
    /// restores into an engine that runs.
    #[test]
    fn resealed_damaged_bodies_never_panic(
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..4), 1..8),
        cut in prop::option::weighted(0.2, any::<Index>()),
    ) {
        let mut b = body(snapshot()).to_vec();
        for (at, v, op) in &edits {
            let i = at.index(b.len());
            match op {
                0 => b[i] = *v,
                1 => b[i] ^= 1 << (v % 8),
                2 => b.insert(i, *v),
                _ => {
                    b.remove(i);
                }
            }
        }
        if let Some(c) = cut {
            b.truncate(c.index(b.len() + 1));
        }
        if let Ok(s) = read_bytes(&reseal(&b)) {
            exercise(s);
        }
    }

    /// Arbitrary bytes between a valid header and trailer: refused or decoded, never a panic.
    #[test]
    fn resealed_arbitrary_bodies_never_panic(b in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(s) = read_bytes(&reseal(&b)) {
            exercise(s);
        }
    }
}

// ------------------------------------------------------------------------------------------
// Dead letters.

fn pos(input: &str, line: u64, index: Option<u64>) -> Position<'_> {
    Position { input, line, index }
}

/// Records of every kind: JSON (compact, or with whitespace inside), text, binary.
fn any_record() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => any::<Index>().prop_map(|i| trail()[i.index(trail().len())].clone()),
        1 => prop::collection::vec(any::<u8>(), 1..600),
        1 => "[ -~]{1,200}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<char>(), 1..100).prop_map(|c| String::from_iter(c).into_bytes()),
        1 => prop::collection::vec(prop::sample::select(vec![0u8, 1, 0x1f, b'"', b'\\', 0x7f, 0xff]), 1..300),
    ]
    // Framing hands records over without surrounding whitespace.
    .prop_filter("trimmed", |r| {
        let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        !r.first().is_some_and(ws) && !r.last().is_some_and(ws)
    })
}

proptest! {
    #![proptest_config(config(2000))]

    /// A record letter without a limit reads back as the record's exact bytes.
    #[test]
    fn record_letters_read_back_exactly(
        rec in any_record(),
        input in "[ -~]{0,30}",
        line in any::<u64>(),
        index in any::<Option<u64>>(),
        error in "[ -~]{0,80}",
    ) {
        let l = deadletter::record_line(pos(&input, line, index), "malformed_json", &error, &rec, rec.len(), 0);
        prop_assert!(deadletter::is_letter(&l));
        prop_assert_eq!(l.last(), Some(&b'\n'));
        match deadletter::read(l.strip_suffix(b"\n").unwrap()) {
            Some(Read::Record(r)) => prop_assert_eq!(&r[..], &rec[..]),
            _ => prop_assert!(false, "not read back as a record"),
        }
    }

    /// Within a limit: the letter fits, and when the record is left out the letter says where
    /// it was and its digest; `fit` shrinks a whole letter the same way.
    #[test]
    fn limited_letters_fit_and_keep_position_and_digest(
        rec in any_record(),
        extra in 0usize..400_000,
        limit in 16_384usize..200_000,
        input in "[ -~]{0,30}",
        line in any::<u64>(),
        error in prop::collection::vec(any::<char>(), 0..3000).prop_map(String::from_iter),
    ) {
        let mut rec = rec;
        rec.extend(std::iter::repeat_n(b'x', extra));
        let l = deadletter::record_line(pos(&input, line, None), "too_large", &error, &rec, rec.len(), limit);
        prop_assert!(l.len() <= limit, "a letter of {} bytes for a limit of {}", l.len(), limit);
        let sha = deadletter::sha256_hex(&rec);
        match deadletter::read(l.strip_suffix(b"\n").unwrap()) {
            Some(Read::Record(r)) => prop_assert_eq!(&r[..], &rec[..]),
            Some(Read::Omitted { position, sha256 }) => {
                prop_assert_eq!(sha256, sha.clone());
                prop_assert_eq!(position, format!("{input} line {line}"));
            }
            _ => prop_assert!(false, "not a record letter"),
        }
        let whole = deadletter::record_line(pos(&input, line, None), "too_large", &error, &rec, rec.len(), 0);
        let fitted = deadletter::fit(&whole, limit);
        if whole.len() >= limit {
            prop_assert!(fitted.len() < limit, "fit left {} bytes for a limit of {}", fitted.len(), limit);
            match deadletter::read(fitted.strip_suffix(b"\n").unwrap()) {
                Some(Read::Omitted { sha256, .. }) => prop_assert_eq!(sha256, sha),
                _ => prop_assert!(false, "a fitted letter is not an omitted record"),
            }
        }
    }

    /// Alert letters read back as their sink and document.
    #[test]
    fn alert_letters_read_back(
        sink in "[ -~]{0,20}",
        uid in "[ -~]{0,40}",
        seq in any::<u64>(),
        pick in any::<Index>(),
    ) {
        let doc = std::fs::read(root().join("tests/fixtures/alert-sample.json")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        let doc = serde_json::to_vec(&v).unwrap();
        let cut = pick.index(doc.len());
        let l = deadletter::alert_line(&sink, "HTTP 413", &uid, seq, &doc);
        match deadletter::read(l.strip_suffix(b"\n").unwrap()) {
            Some(Read::Alert { sink: s, json }) => {
                prop_assert_eq!(s, sink.clone());
                prop_assert_eq!(json, &doc[..]);
            }
            _ => prop_assert!(false, "not an alert letter"),
        }
        // A document that is not JSON still gives a letter that reads.
        let l = deadletter::alert_line(&sink, "HTTP 413", &uid, seq, &doc[..cut]);
        prop_assert!(deadletter::read(l.strip_suffix(b"\n").unwrap()).is_some());
    }

    /// Arbitrary lines, and letters with bytes damaged: the reader and `fit` never panic.
    #[test]
    fn damaged_letters_never_panic(
        rec in any_record(),
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 0..6),
        cut in any::<Index>(),
        limit in 0usize..4096,
        arbitrary in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut l = deadletter::record_line(pos("in", 1, Some(2)), "bad_time", "e", &rec, rec.len(), 0);
        for (at, b) in &edits {
            let i = at.index(l.len());
            l[i] = *b;
        }
        l.truncate(cut.index(l.len() + 1));
        for line in [&l[..], &arbitrary[..]] {
            let _ = deadletter::is_letter(line);
            let _ = deadletter::read(line);
            let _ = deadletter::fit(line, limit);
        }
        let mut with_prefix = deadletter::PREFIX.to_vec();
        with_prefix.extend_from_slice(&arbitrary);
        let _ = deadletter::read(&with_prefix);
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// A file of record letters (of one-line records) replays as exactly those records, in
    /// order, each at its letter's line.
    #[test]
    fn a_dead_letter_file_replays_its_records(recs in prop::collection::vec(any::<Index>(), 1..30)) {
        let recs: Vec<&[u8]> = recs.iter().map(|i| trail()[i.index(trail().len())].as_slice()).collect();
        let mut file = Vec::new();
        for (n, r) in recs.iter().enumerate() {
            file.extend(deadletter::record_line(pos("trail.jsonl", n as u64 + 1, None), "unknown_format", "e", r, r.len(), 0));
        }
        let got = replay_records(&file);
        let want: Vec<(u64, Vec<u8>)> = recs.iter().enumerate().map(|(n, r)| (n as u64 + 1, r.to_vec())).collect();
        prop_assert_eq!(got, want);
    }
}

fn replay_records(file: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dead-letters.jsonl");
    std::fs::write(&p, file).unwrap();
    let mut got = Vec::new();
    read_input(&p.to_string_lossy(), ReadLimits::default(), |it| match it {
        Item::Record(b, o) => got.push((o.line, b.to_vec())),
        Item::Unframed { origin, reason, .. } => {
            got.push((origin.line, format!("<{reason}>").into_bytes()))
        }
    })
    .unwrap();
    got
}

/// Minimal reproducer of a dead-letter bug found by `record_letters_are_one_line` below.
///
/// `nhid replay` frames a pretty-printed input file as documents, so a record it cannot use
/// (here: an unknown shape) is a multi-line slice of the file. The record letter embeds that
/// JSON verbatim (`Letter.record` is a `&RawValue`: src/deadletter.rs, `set_record`), so the
/// letter spans several lines: the dead-letter file is no longer one letter per line, as the
/// module promises, and replaying it (`nhid replay dead-letters.jsonl`, the documented way to
/// feed letters again) loses the record when the letter is not the file's first line: its
/// first line is reported as a letter that does not read and its other lines as junk records.
#[test]
fn dead_letters_of_pretty_printed_records_replay() {
    let dir = tempfile::tempdir().unwrap();
    // A one-line record first (compact letter), then a pretty-printed document: both refused.
    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        "{\n  \"hello\": 1\n}\n{\n  \"hello\": 2,\n  \"nested\": {\"a\": [1, 2]}\n}\n",
    )
    .unwrap();
    let mut p = Pipeline::new(
        Arc::new(Vec::new()),
        GeoDb::default(),
        ReplayConfig::default(),
    );
    let mut letters = Vec::new();
    p.replay_input(
        &input.to_string_lossy(),
        &mut std::io::sink(),
        Some(&mut letters as &mut dyn std::io::Write),
    )
    .unwrap()
    .unwrap();
    // Prepend a letter of a compact record (as a file of letters from several runs has).
    let mut file = deadletter::record_line(
        pos("other.jsonl", 7, None),
        "unknown_format",
        "e",
        b"{\"hello\":0}",
        11,
        0,
    );
    file.extend_from_slice(&letters);
    let text = String::from_utf8_lossy(&file).into_owned();
    assert_eq!(text.lines().count(), 3, "one line per letter, got:\n{text}");
    let got = replay_records(&file);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|(_, r)| r.first() == Some(&b'{')));
}

proptest! {
    #![proptest_config(config(500))]

    /// Every letter is exactly one line, whatever the record (the file is JSON Lines).
    #[test]
    fn record_letters_are_one_line(pick in any::<Index>(), pretty in any::<bool>(), limit in prop_oneof![Just(0usize), 16_384usize..100_000]) {
        let rec = &trail()[pick.index(trail().len())];
        let rec = if pretty {
            let v: serde_json::Value = serde_json::from_slice(rec).unwrap();
            serde_json::to_vec_pretty(&v).unwrap()
        } else {
            rec.clone()
        };
        let l = deadletter::record_line(pos("in.json", 1, None), "unknown_format", "e", &rec, rec.len(), limit);
        prop_assert_eq!(l.iter().filter(|&&b| b == b'\n').count(), 1, "{}", String::from_utf8_lossy(&l));
    }
}

/// Sanity: the state directory helper resolves files and directories.
#[test]
fn resolve_state_paths() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        state::resolve(dir.path()),
        dir.path().join(state::FILE_NAME)
    );
    let f = dir.path().join("x.snapshot");
    std::fs::File::create(&f)
        .unwrap()
        .write_all(snapshot())
        .unwrap();
    assert_eq!(state::resolve(&f), f);
    assert!(state::read(&state::resolve(Path::new(&f))).is_ok());
}
