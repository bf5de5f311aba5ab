//! Snapshots of the detection state (baselines, learning state, dedup windows, composite and
//! storm windows) and the source offsets they reflect, so a restarted daemon neither relearns
//! nor floods.
//!
//! File format (`STATE_DIR/nhid.snapshot`, little-endian):
//!
//! ```text
//! "NHIDSNAP"  u32 format version  postcard(SnapshotMeta, EngineState)  u64 xxh3-64 of all before  "NHIDEND\0"
//! ```
//!
//! Writes are atomic: the snapshot is written to a temporary file in the same directory, fsynced,
//! the current snapshot is hard-linked (or copied) and renamed over `nhid.snapshot.prev`, and the
//! new one renamed over the current one (then the directory is fsynced), so a crash at any step
//! leaves a whole current snapshot; with no current file, the previous one is read. A reader verifies magic, version, trailer and checksum before
//! decoding; a damaged current snapshot falls back to the previous one.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::detect::engine::EngineState;
use crate::detect::Engine;

/// File name of the current snapshot in the state directory.
pub const FILE_NAME: &str = "nhid.snapshot";
/// File name of the previous snapshot.
pub const PREV_FILE_NAME: &str = "nhid.snapshot.prev";
/// Leading magic bytes.
pub const MAGIC: &[u8; 8] = b"NHIDSNAP";
/// Trailing magic bytes.
const END: &[u8; 8] = b"NHIDEND\0";
/// Format version written (and the only one read).
pub const VERSION: u32 = 5;

/// Errors reading or writing snapshots.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// Not a snapshot file.
    #[error("{0}: not an nhid snapshot (bad magic)")]
    NotASnapshot(PathBuf),
    /// Written by an incompatible version.
    #[error("{path}: snapshot format version {found}, this nhid reads version {VERSION}")]
    Version {
        /// File.
        path: PathBuf,
        /// Version found.
        found: u32,
    },
    /// Cut short (a crash while writing it, or a copy that did not finish).
    #[error("{0}: snapshot is truncated")]
    Truncated(PathBuf),
    /// Contents changed after writing.
    #[error("{0}: snapshot checksum mismatch (the file is damaged)")]
    Checksum(PathBuf),
    /// The payload did not decode.
    #[error("{path}: snapshot does not decode: {source}")]
    Decode {
        /// File.
        path: PathBuf,
        /// Cause.
        source: postcard::Error,
    },
    /// The state did not encode.
    #[error("{path}: cannot encode snapshot: {source}")]
    Encode {
        /// File.
        path: PathBuf,
        /// Cause.
        source: postcard::Error,
    },
}

/// The next offset to read of one partition, as of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionOffset {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Next offset to consume (every record before it is reflected in the state).
    pub next_offset: i64,
}

/// What a snapshot says about itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// Wall-clock time written (ms since the epoch).
    pub written_at_ms: i64,
    /// nhid version that wrote it.
    pub nhid_version: String,
    /// Source offsets the state reflects.
    pub offsets: Vec<PartitionOffset>,
    /// Records processed in total by the writer, over its lifetime.
    pub records: u64,
}

#[derive(Serialize)]
struct SnapshotRef<'a, E: Serialize> {
    meta: &'a SnapshotMeta,
    engine: E,
}

/// A snapshot read back.
#[derive(Deserialize)]
pub struct Snapshot {
    /// About the snapshot.
    pub meta: SnapshotMeta,
    /// The detection state.
    pub engine: EngineState,
}

/// What a write did.
#[derive(Debug, Clone)]
pub struct WriteReport {
    /// Final path.
    pub path: PathBuf,
    /// Bytes written.
    pub bytes: u64,
}

/// A writer that hashes what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: xxhash_rust::xxh3::Xxh3,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the engine's state and `meta` as the current snapshot in `dir`, atomically.
pub fn write(dir: &Path, meta: &SnapshotMeta, engine: &Engine) -> Result<WriteReport, StateError> {
    write_any(dir, meta, engine.state_ref())
}

/// Writes a state read from a snapshot (after `nhid state forget`), atomically.
pub fn write_owned(
    dir: &Path,
    meta: &SnapshotMeta,
    engine: &EngineState,
) -> Result<WriteReport, StateError> {
    write_any(dir, meta, engine)
}

// `EngineStateRef` and `EngineState` serialize to the same bytes (same fields, same order).
fn write_any<E: Serialize>(
    dir: &Path,
    meta: &SnapshotMeta,
    engine: E,
) -> Result<WriteReport, StateError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(FILE_NAME);
    let tmp = dir.join(format!(".{FILE_NAME}.tmp-{}", std::process::id()));
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut w = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        hasher: xxhash_rust::xxh3::Xxh3::new(),
        bytes: 0,
    };
    let result = (|| {
        w.write_all(MAGIC).map_err(io_err(&tmp))?;
        w.write_all(&VERSION.to_le_bytes()).map_err(io_err(&tmp))?;
        let snap = SnapshotRef { meta, engine };
        w = postcard::to_io(&snap, w).map_err(|source| StateError::Encode {
            path: tmp.clone(),
            source,
        })?;
        let digest = w.hasher.digest();
        let mut inner = w.inner;
        inner
            .write_all(&digest.to_le_bytes())
            .map_err(io_err(&tmp))?;
        inner.write_all(END).map_err(io_err(&tmp))?;
        let file = inner
            .into_inner()
            .map_err(|e| io_err(&tmp)(e.into_error()))?;
        file.sync_all().map_err(io_err(&tmp))?;
        Ok::<u64, StateError>(w.bytes + 16)
    })();
    let bytes = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    install(dir, &tmp, &path, &mut |_| true)?;
    Ok(WriteReport { path, bytes })
}

/// The steps that put a written snapshot in place (a crash may stop after any of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The current snapshot is linked (or copied) as `.prev.tmp`.
    PrevStaged,
    /// `.prev.tmp` replaced `.prev`.
    PrevInstalled,
    /// The new snapshot replaced the current one.
    CurrentInstalled,
}

/// Puts `tmp` in place as the current snapshot, keeping the current one as `.prev`. Each step
/// is one atomic rename over an existing name, so at every point the directory holds a whole
/// current snapshot (the old one, then the new one) and never none: the previous design
/// renamed current → `.prev` first, and a crash before the second rename left no current file.
/// `go` is asked before each step (a test stops there to simulate a crash).
fn install(
    dir: &Path,
    tmp: &Path,
    path: &Path,
    go: &mut dyn FnMut(Step) -> bool,
) -> Result<(), StateError> {
    if path.exists() {
        let prev = dir.join(PREV_FILE_NAME);
        let staged = dir.join(format!(".{PREV_FILE_NAME}.tmp-{}", std::process::id()));
        let _ = fs::remove_file(&staged);
        if fs::hard_link(path, &staged).is_err() {
            // File systems without hard links: a copy.
            fs::copy(path, &staged).map_err(io_err(&staged))?;
        }
        if !go(Step::PrevStaged) {
            return Ok(());
        }
        fs::rename(&staged, &prev).map_err(io_err(&prev))?;
        if !go(Step::PrevInstalled) {
            return Ok(());
        }
    }
    fs::rename(tmp, path).map_err(io_err(path))?;
    if !go(Step::CurrentInstalled) {
        return Ok(());
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads and verifies one snapshot file, streaming: a first pass checks magic, version,
/// trailer and checksum in 1 MiB reads; a second decodes from a buffered reader, so the peak
/// is the decoded state plus a buffer, not the file and the state together (a 400 MB snapshot
/// read whole peaked at 1.34 GB).
pub fn read(path: &Path) -> Result<Snapshot, StateError> {
    read_with_scratch(path, SCRATCH_BYTES)
}

fn read_with_scratch(path: &Path, scratch_bytes: usize) -> Result<Snapshot, StateError> {
    let p = || path.to_path_buf();
    let len = verify(path)?;
    let file = File::open(path).map_err(io_err(path))?;
    let mut r = io::BufReader::with_capacity(1 << 20, file);
    io::copy(&mut (&mut r).take(12), &mut io::sink()).map_err(io_err(path))?;
    let body = r.take(len - 28);
    // Scratch for one string or byte field at a time (labels are cut at 512 bytes; the
    // longest field is an incident's evidence, bounded by the record size).
    let mut scratch = vec![0u8; scratch_bytes];
    let (snap, (mut rest, _)) = postcard::from_io((body, &mut scratch[..]))
        .map_err(|source| StateError::Decode { path: p(), source })?;
    // The body must have been decoded to its last byte.
    let mut one = [0u8; 1];
    if rest.read(&mut one).map_err(io_err(path))? != 0 {
        return Err(StateError::Decode {
            path: p(),
            source: postcard::Error::DeserializeBadEncoding,
        });
    }
    Ok(snap)
}

/// Largest single string or byte field a snapshot can hold.
const SCRATCH_BYTES: usize = 64 << 20;

/// Checks magic, version, trailer and checksum without holding the file; returns its length.
fn verify(path: &Path) -> Result<u64, StateError> {
    let p = || path.to_path_buf();
    let mut f = File::open(path).map_err(io_err(path))?;
    let len = f.metadata().map_err(io_err(path))?.len();
    let mut head = [0u8; 12];
    if len < 12 || f.read_exact(&mut head).is_err() || &head[..8] != MAGIC {
        return Err(StateError::NotASnapshot(p()));
    }
    let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    if version != VERSION {
        return Err(StateError::Version {
            path: p(),
            found: version,
        });
    }
    if len < 28 {
        return Err(StateError::Truncated(p()));
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&head);
    let mut left = len - 12 - 16;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = (left as usize).min(buf.len());
        f.read_exact(&mut buf[..n]).map_err(io_err(path))?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    let mut tail = [0u8; 16];
    f.read_exact(&mut tail).map_err(io_err(path))?;
    if &tail[8..] != END {
        return Err(StateError::Truncated(p()));
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&tail[..8]);
    if hasher.digest() != u64::from_le_bytes(sum) {
        return Err(StateError::Checksum(p()));
    }
    Ok(len)
}

/// What loading a state directory found.
pub enum Loaded {
    /// No snapshot yet (first start).
    Empty,
    /// The current snapshot.
    Current(Box<Snapshot>),
    /// The current snapshot was damaged; the previous one was read instead.
    Previous(Box<Snapshot>, StateError),
}

/// Loads the newest readable snapshot of `dir`. A damaged current snapshot falls back to the
/// previous one; if neither reads, the current one's error is returned.
pub fn load(dir: &Path) -> Result<Loaded, StateError> {
    let cur = dir.join(FILE_NAME);
    let prev = dir.join(PREV_FILE_NAME);
    if !cur.exists() {
        // No current file but a previous one: a crash of an older nhid between its two
        // renames. Restore the previous state rather than relearn from nothing.
        return match prev.exists().then(|| read(&prev)) {
            Some(Ok(s)) => Ok(Loaded::Previous(
                Box::new(s),
                StateError::Io {
                    path: cur,
                    source: io::Error::new(io::ErrorKind::NotFound, "no current snapshot"),
                },
            )),
            Some(Err(e)) => Err(e),
            None => Ok(Loaded::Empty),
        };
    }
    match read(&cur) {
        Ok(s) => Ok(Loaded::Current(Box::new(s))),
        Err(e) => match prev.exists().then(|| read(&prev)) {
            Some(Ok(s)) => Ok(Loaded::Previous(Box::new(s), e)),
            _ => Err(e),
        },
    }
}

/// The snapshot file of a `--state` argument: a directory (its current snapshot) or a file.
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_path_buf()
    }
}

/// One identity's baseline as `nhid state inspect` shows it (JSON).
pub fn profile_json(
    key: &str,
    p: &crate::baseline::Profile,
    labels: &crate::baseline::Labels,
    cfg: &crate::baseline::BaselineConfig,
) -> serde_json::Value {
    use crate::baseline::Feature;
    let now = p.last_seen;
    let mut features = serde_json::Map::new();
    for f in Feature::ALL {
        let mut entries = p.values(f).live_entries(now, cfg.forget_after_ms, labels);
        entries.sort_by_key(|e| std::cmp::Reverse(e.count));
        features.insert(
            f.as_str().to_string(),
            serde_json::to_value(entries).unwrap_or_default(),
        );
    }
    let busy_hours: Vec<serde_json::Value> = p
        .hours()
        .to_array()
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(h, c)| serde_json::json!({"hour_of_week": h, "weight": c}))
        .collect();
    let sessions: Vec<serde_json::Value> = p
        .sessions()
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": labels.get(s.key),
                "first_seen": crate::time::format_rfc3339_ms(s.first_seen),
                "last_seen": crate::time::format_rfc3339_ms(s.last_seen),
                "events": s.count,
                "networks": s.networks.len(),
                "clients": s.clients.len(),
            })
        })
        .collect();
    serde_json::json!({
        "identity": key,
        "class": p.class(),
        "first_seen": crate::time::format_rfc3339_ms(p.first_seen),
        "last_seen": crate::time::format_rfc3339_ms(p.last_seen),
        "observations": p.observations,
        "learning_state": p.learning_state(cfg.learning_period_ms, cfg.learning_min_observations),
        "longest_silence": crate::time::format_duration_ms(p.max_gap_ms),
        "last_location": p.last_location().map(|l| serde_json::json!({
            "lat": l.lat, "long": l.lon, "asn": l.asn,
            "country": String::from_utf8_lossy(&l.country).trim_matches('\0'),
            "time": crate::time::format_rfc3339_ms(l.time_ms),
        })),
        "features": features,
        "hours_of_week": busy_hours,
        "sessions": sessions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn meta(records: u64) -> SnapshotMeta {
        SnapshotMeta {
            records,
            ..Default::default()
        }
    }

    fn engine() -> Engine {
        Engine::new(Arc::new(Vec::new()), Default::default())
    }

    #[test]
    fn streamed_read_needs_scratch_for_one_field_only() {
        let parsers = crate::parsers::Parsers::default();
        let mut e = engine();
        for i in 0..3000 {
            let r = format!(
                r#"{{"eventTime":"2024-01-01T00:00:00Z","eventName":"GetSecretValue","eventSource":"secretsmanager.amazonaws.com","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u{i}","accountId":"111122223333","userName":"u{i}"}},"sourceIPAddress":"3.5.1.10","userAgent":"aws-cli/2.15.30","requestParameters":{{"secretId":"secret-{i}"}}}}"#
            );
            let ev = parsers
                .parse(r.as_bytes(), crate::parsers::Format::Auto)
                .unwrap();
            e.store_mut().observe(&ev);
        }
        let dir = tempfile::tempdir().unwrap();
        let w = write(dir.path(), &meta(7), &e).unwrap();
        // 3000 profiles hold 500 KB of hour histograms and labels: a decoder that kept every
        // field in its scratch buffer would need far more than 4 KiB.
        assert!(w.bytes > 500_000, "{}", w.bytes);
        let snap = read_with_scratch(&w.path, 4096).unwrap();
        assert_eq!(snap.engine.identities(), 3000);
        // One byte short of a whole file is refused before decoding.
        let bytes = fs::read(&w.path).unwrap();
        fs::write(&w.path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(read(&w.path), Err(StateError::Truncated(_))));
    }

    fn records_of(dir: &Path) -> (u64, bool) {
        match load(dir).expect("a snapshot loads") {
            Loaded::Empty => panic!("no snapshot after a crash"),
            Loaded::Current(s) => (s.meta.records, true),
            Loaded::Previous(s, _) => (s.meta.records, false),
        }
    }

    /// Writes snapshot `records` but "crashes" right after `stop` (the temporary file is
    /// written and synced before any step).
    fn write_crashing(dir: &Path, records: u64, stop: Option<Step>) {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join("crash.tmp");
        write(dir, &meta(records), &engine()).unwrap();
        fs::rename(&path, &tmp).unwrap();
        // Put the state from before this write back as current.
        if dir.join("before").exists() {
            fs::copy(dir.join("before"), &path).unwrap();
        }
        install(dir, &tmp, &path, &mut |s| Some(s) != stop).unwrap();
    }

    #[test]
    fn a_crash_at_any_step_leaves_a_snapshot_to_restore() {
        for stop in [
            Some(Step::PrevStaged),
            Some(Step::PrevInstalled),
            Some(Step::CurrentInstalled),
            None,
        ] {
            let d = tempfile::tempdir().unwrap();
            write(d.path(), &meta(1), &engine()).unwrap();
            fs::copy(d.path().join(FILE_NAME), d.path().join("before")).unwrap();
            write_crashing(d.path(), 2, stop);
            let (records, current) = records_of(d.path());
            match stop {
                Some(Step::PrevStaged) | Some(Step::PrevInstalled) => {
                    assert_eq!((records, current), (1, true), "{stop:?}: the old one stays")
                }
                _ => assert_eq!((records, current), (2, true), "{stop:?}: the new one"),
            }
            if stop != Some(Step::PrevStaged) {
                assert_eq!(
                    read(&d.path().join(PREV_FILE_NAME)).unwrap().meta.records,
                    1
                );
            }
        }
    }

    #[test]
    fn no_current_file_falls_back_to_the_previous_one() {
        // What the old two-rename write left after a crash between its renames.
        let d = tempfile::tempdir().unwrap();
        write(d.path(), &meta(7), &engine()).unwrap();
        fs::rename(d.path().join(FILE_NAME), d.path().join(PREV_FILE_NAME)).unwrap();
        assert_eq!(records_of(d.path()), (7, false));
        // Nothing at all: a first start.
        let e = tempfile::tempdir().unwrap();
        assert!(matches!(load(e.path()), Ok(Loaded::Empty)));
    }

    #[test]
    fn a_damaged_current_snapshot_falls_back_to_the_previous_one() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), &meta(1), &engine()).unwrap();
        write(d.path(), &meta(2), &engine()).unwrap();
        let cur = d.path().join(FILE_NAME);
        let mut b = fs::read(&cur).unwrap();
        let n = b.len();
        b[n / 2] ^= 0xff;
        fs::write(&cur, b).unwrap();
        assert_eq!(records_of(d.path()), (1, false));
    }
}
