//! `type = "file"`: appends alerts as JSON lines and flushes each batch to the OS. With
//! `max_bytes`, the file is rotated by size after a batch takes it past the limit:
//! `alerts.jsonl` → `alerts.jsonl.1` → ... → `alerts.jsonl.KEEP` (the oldest is deleted), and a
//! new `alerts.jsonl` is started. A batch is never split across files.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{AlertOut, Sink, SinkError};

/// JSONL file sink.
pub struct FileSink {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes in the current file.
    size: u64,
    /// Rotate past this size (0 = never).
    max_bytes: u64,
    /// Rotated files kept.
    keep: u32,
}

fn open_append(path: &Path) -> std::io::Result<(BufWriter<File>, u64)> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((BufWriter::with_capacity(256 << 10, f), size))
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl FileSink {
    /// Opens (creates) the file for appending, without rotation.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Self::with_rotation(path, 0, 0)
    }

    /// Opens (creates) the file for appending, rotating past `max_bytes` (0 = never) and
    /// keeping `keep` rotated files.
    pub fn with_rotation(path: &Path, max_bytes: u64, keep: u32) -> std::io::Result<Self> {
        let (out, size) = open_append(path)?;
        Ok(FileSink {
            path: path.to_path_buf(),
            out,
            size,
            max_bytes,
            keep,
        })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        if !self.path.exists() {
            // Rotated away by an earlier attempt whose reopen failed: just reopen.
        } else if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            let _ = std::fs::remove_file(numbered(&self.path, self.keep));
            for n in (1..self.keep).rev() {
                let from = numbered(&self.path, n);
                if from.exists() {
                    std::fs::rename(&from, numbered(&self.path, n + 1))?;
                }
            }
            std::fs::rename(&self.path, numbered(&self.path, 1))?;
        }
        let (out, size) = open_append(&self.path)?;
        self.out = out;
        self.size = size;
        Ok(())
    }
}

impl Sink for FileSink {
    fn send(&mut self, batch: &[&AlertOut]) -> Result<(), SinkError> {
        let path = self.path.display().to_string();
        let err = |e: std::io::Error| SinkError::Retryable(format!("{path}: {e}"));
        for a in batch {
            self.out.write_all(&a.json).map_err(err)?;
            self.out.write_all(b"\n").map_err(err)?;
            self.size += a.json.len() as u64 + 1;
        }
        self.out.flush().map_err(err)?;
        if self.max_bytes > 0 && self.size >= self.max_bytes {
            // The batch is written: a failed rotation must not make the daemon write it again.
            // The old handle keeps receiving alerts and rotation is tried after the next batch.
            if let Err(e) = self.rotate() {
                tracing::warn!(file = %path, error = %e, "rotation failed; will retry");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(n: usize) -> AlertOut {
        let line = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/alert-sample.json"
        ))
        .expect("sample alert");
        let mut a = AlertOut::from_json(line.trim().as_bytes()).expect("alert");
        // Distinct, same-size lines: the test counts lines per file.
        a.json = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(80)).into_bytes();
        a.uid = n.to_string();
        a
    }

    #[test]
    fn rotates_by_size_keeps_n_files_and_loses_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("alerts.jsonl");
        let mut s = FileSink::with_rotation(&p, 1000, 2).unwrap();
        let all: Vec<AlertOut> = (0..60).map(alert).collect();
        for chunk in all.chunks(3) {
            let b: Vec<&AlertOut> = chunk.iter().collect();
            s.send(&b).unwrap();
        }
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let cur = read(&p);
        let one = read(&numbered(&p, 1));
        let two = read(&numbered(&p, 2));
        assert!(!numbered(&p, 3).exists(), "only 2 rotated files kept");
        for f in [&one, &two] {
            assert!(f.len() >= 1000 && f.len() < 1000 + 3 * 100, "{}", f.len());
        }
        // The newest lines are in the current file, then .1, then .2, in order, no gaps.
        let lines: Vec<usize> = [two, one, cur]
            .iter()
            .flat_map(|t| {
                t.lines()
                    .map(|l| {
                        serde_json::from_str::<serde_json::Value>(l).unwrap()["n"]
                            .as_u64()
                            .unwrap() as usize
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let first = lines[0];
        assert_eq!(lines, (first..60).collect::<Vec<_>>());
    }
}
