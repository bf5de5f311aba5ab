//! Replay-path benchmarks: parse only, parse + enrich + detect with the bundled rules, and
//! parse + enrich with an empty rule set, over the generated samples (`benches/data/samples.jsonl`)
//! repeated to about 20,000 records, timestamps as they are.
//!
//! All groups use `Throughput::Elements` (records/s) so they compare directly:
//! - `replay/parse_only`: `Parsers::parse` of every record.
//! - `replay/full_pipeline`: `Pipeline::process_record` with the bundled rules and the bundled
//!   test GeoIP databases; a fresh pipeline (empty baselines) per iteration, built outside the
//!   timing (`iter_batched`).
//! - `replay/no_rules`: the same pipeline with no rules: parse + enrich (GeoIP, client family) +
//!   engine bookkeeping, so `full_pipeline - no_rules` is the cost of detection.
//!
//! Run: `cargo bench --bench pipeline` (quick: `-- --warm-up-time 1 --measurement-time 5`).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use nhid::detect::loader::load_embedded;
use nhid::geo::GeoDb;
use nhid::parsers::{Format, Parsers};
use nhid::pipeline::{Pipeline, ReplayConfig};
use nhid::sources::Origin;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/samples.jsonl");
const TARGET_RECORDS: usize = 20_000;

fn load() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(SAMPLES).unwrap_or_else(|e| {
        panic!("cannot read {SAMPLES}: {e} (regenerate it, see benches/data/README.md)")
    });
    let base: Vec<Vec<u8>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    assert!(!base.is_empty(), "{SAMPLES} has no records");
    let recs: Vec<Vec<u8>> = base
        .iter()
        .cycle()
        .take(TARGET_RECORDS.max(base.len()))
        .cloned()
        .collect();
    let bytes: usize = recs.iter().map(Vec::len).sum();
    eprintln!(
        "pipeline bench: {} sample records repeated to {} records ({} bytes)",
        base.len(),
        recs.len(),
        bytes
    );
    recs
}

fn run(pipe: &mut Pipeline, recs: &[Vec<u8>]) {
    let origin = Origin {
        input: "bench",
        line: 1,
        index: None,
    };
    let mut sink = std::io::sink();
    for r in recs {
        pipe.process_record(black_box(r), &origin, &mut sink, &mut None)
            .unwrap();
    }
}

fn bench_pipeline(c: &mut Criterion) {
    let recs = load();
    let rules = Arc::new(load_embedded().rules);
    let no_rules = Arc::new(Vec::new());

    // One untimed pass, to report what the run does (and fail loudly on bad samples).
    let mut probe = Pipeline::new(
        rules.clone(),
        GeoDb::bundled_test(),
        ReplayConfig::default(),
    );
    run(&mut probe, &recs);
    eprintln!(
        "pipeline bench: {} rule(s); one pass: {} parsed, {} skipped, {} alert(s)",
        rules.len(),
        probe.stats.parsed,
        probe.stats.skipped_total(),
        probe.stats.alerts_total()
    );
    assert_eq!(
        probe.stats.skipped_total(),
        0,
        "sample records failed to parse"
    );
    drop(probe);

    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.sample_size(10);

    let p = Parsers::default();
    g.bench_function("parse_only", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for r in &recs {
                if let Ok(ev) = p.parse(black_box(r), Format::Auto) {
                    black_box(&ev);
                    ok += 1;
                }
            }
            ok
        })
    });

    for (name, set) in [("full_pipeline", &rules), ("no_rules", &no_rules)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || Pipeline::new(set.clone(), GeoDb::bundled_test(), ReplayConfig::default()),
                |mut pipe| {
                    run(&mut pipe, &recs);
                    pipe
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
