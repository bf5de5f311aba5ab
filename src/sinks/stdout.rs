//! `type = "stdout"`: alert lines on standard output (containers, piping to a shipper).

use std::io::Write;

use super::{AlertOut, Sink, SinkError};

/// Standard-output sink.
pub struct StdoutSink;

impl Sink for StdoutSink {
    fn send(&mut self, batch: &[&AlertOut]) -> Result<(), SinkError> {
        let mut out = std::io::stdout().lock();
        let err = |e: std::io::Error| SinkError::Retryable(format!("stdout: {e}"));
        for a in batch {
            out.write_all(&a.json).map_err(err)?;
            out.write_all(b"\n").map_err(err)?;
        }
        out.flush().map_err(err)
    }
}
