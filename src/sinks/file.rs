//! `type = "file"`: appends alerts as JSON lines and flushes each batch to the OS.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{AlertOut, Sink, SinkError};

/// JSONL file sink.
pub struct FileSink {
    path: PathBuf,
    out: BufWriter<File>,
}

impl FileSink {
    /// Opens (creates) the file for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(FileSink {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 << 10, f),
        })
    }
}

impl Sink for FileSink {
    fn send(&mut self, batch: &[&AlertOut]) -> Result<(), SinkError> {
        let err = |e: std::io::Error| SinkError::Retryable(format!("{}: {e}", self.path.display()));
        for a in batch {
            self.out.write_all(&a.json).map_err(err)?;
            self.out.write_all(b"\n").map_err(err)?;
        }
        self.out.flush().map_err(err)
    }
}
