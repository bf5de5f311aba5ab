//! Parser benchmarks, per audit source, over generated records (`benches/data/samples.jsonl`,
//! written by `nhid-gen`; see `benches/data/README.md`).
//!
//! Groups:
//! - `parse_bytes/<source>`: every sample record of the source parsed once per iteration, with
//!   `Throughput::Bytes` (MiB/s of raw records).
//! - `parse_records/<source>`: the same work with `Throughput::Elements` (records/s; the time per
//!   record is the iteration time divided by the record count printed at start).
//! - `cloudtrail_format`: CloudTrail with `Format::Auto` (shape detection + parse) against the
//!   source forced, and the shape detection alone.
//!
//! Run: `cargo bench --bench parse` (quick: `-- --warm-up-time 1 --measurement-time 3`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nhid::event::SourceKind;
use nhid::parsers::{Format, Parsers};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/samples.jsonl");

/// The sample records, grouped by source (by the keys each source's records carry).
struct Samples {
    by_source: Vec<(SourceKind, Vec<Vec<u8>>)>,
}

fn source_of(line: &str) -> SourceKind {
    let v: serde_json::Value = serde_json::from_str(line).expect("sample records are JSON");
    let has = |k: &str| v.get(k).is_some();
    if has("eventVersion") {
        SourceKind::Cloudtrail
    } else if has("operationName") {
        SourceKind::AzureActivity
    } else if has("eventType") && has("published") {
        SourceKind::Okta
    } else {
        SourceKind::GithubAudit
    }
}

fn load() -> Samples {
    let text = std::fs::read_to_string(SAMPLES).unwrap_or_else(|e| {
        panic!("cannot read {SAMPLES}: {e} (regenerate it, see benches/data/README.md)")
    });
    let mut by_source: Vec<(SourceKind, Vec<Vec<u8>>)> =
        SourceKind::ALL.iter().map(|&s| (s, Vec::new())).collect();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let s = source_of(line);
        by_source
            .iter_mut()
            .find(|(k, _)| *k == s)
            .expect("known source")
            .1
            .push(line.as_bytes().to_vec());
    }
    by_source.retain(|(_, v)| !v.is_empty());
    // Every sample must parse, as its own source and by detection: a bench over errors is useless.
    let p = Parsers::default();
    for (s, recs) in &by_source {
        for r in recs {
            let ev = p.parse(r, Format::Auto).unwrap_or_else(|e| {
                panic!(
                    "sample {} record does not parse: {e}: {}",
                    s.as_str(),
                    String::from_utf8_lossy(r)
                )
            });
            assert_eq!(ev.source, *s, "detected source of a {} sample", s.as_str());
        }
        let bytes: usize = recs.iter().map(Vec::len).sum();
        let mut sizes: Vec<usize> = recs.iter().map(Vec::len).collect();
        sizes.sort_unstable();
        eprintln!(
            "samples: {:<15} {:>4} records, {:>7} bytes, median {:>5} B",
            s.as_str(),
            recs.len(),
            bytes,
            sizes[sizes.len() / 2]
        );
    }
    Samples { by_source }
}

fn parse_all(p: &Parsers, recs: &[Vec<u8>], format: Format) -> usize {
    let mut ok = 0;
    for r in recs {
        if let Ok(ev) = p.parse(black_box(r), format) {
            black_box(&ev);
            ok += 1;
        }
    }
    ok
}

fn bench_parse(c: &mut Criterion) {
    let samples = load();
    let p = Parsers::default();

    let mut g = c.benchmark_group("parse_bytes");
    for (s, recs) in &samples.by_source {
        let bytes: usize = recs.iter().map(Vec::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_with_input(BenchmarkId::from_parameter(s.as_str()), recs, |b, recs| {
            b.iter(|| parse_all(&p, recs, Format::Source(*s)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("parse_records");
    for (s, recs) in &samples.by_source {
        g.throughput(Throughput::Elements(recs.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(s.as_str()), recs, |b, recs| {
            b.iter(|| parse_all(&p, recs, Format::Source(*s)))
        });
    }
    g.finish();

    if let Some((_, ct)) = samples
        .by_source
        .iter()
        .find(|(s, _)| *s == SourceKind::Cloudtrail)
    {
        let mut g = c.benchmark_group("cloudtrail_format");
        g.throughput(Throughput::Elements(ct.len() as u64));
        g.bench_function("auto", |b| b.iter(|| parse_all(&p, ct, Format::Auto)));
        g.bench_function("forced", |b| {
            b.iter(|| parse_all(&p, ct, Format::Source(SourceKind::Cloudtrail)))
        });
        g.bench_function("detect_only", |b| {
            b.iter(|| {
                let mut n = 0;
                for r in ct {
                    n += usize::from(p.detect(black_box(r)).is_some());
                }
                n
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
