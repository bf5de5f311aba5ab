//! Sources of raw records. `file` reads replay inputs; the Kafka consumer joins here.

pub mod file;
pub mod kafka;

/// Where a raw record came from, for error reports and dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin<'a> {
    /// Input name (path or `-`).
    pub input: &'a str,
    /// 1-based line where the record (or its enclosing document) starts.
    pub line: u64,
    /// 0-based position of the record inside a batch document (`Records[i]`), if any.
    pub index: Option<u64>,
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.input, self.line)?;
        if let Some(i) = self.index {
            write!(f, " [record {i}]")?;
        }
        Ok(())
    }
}
