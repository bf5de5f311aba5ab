//! Dead letters: what nhid could not use or could not deliver, kept so nothing is lost
//! silently and everything can be fed again once the cause is fixed (docs/operations.md).
//!
//! One JSON line per letter, the marker field first so readers tell letters from records by
//! their first bytes:
//!
//! - a **record** letter (a record that did not parse, could not be framed, or was dated too
//!   far ahead of the stream): its reason and error, its source position (`input`: a file, or
//!   `topic/partition@offset`; `line`, `index`), its size and SHA-256, and the record itself —
//!   embedded as JSON when it is JSON (no second escaping), else as text, else base64 when
//!   escaping would blow it up (control bytes cost six bytes each as JSON text). When the
//!   target cannot take the whole letter, the record is left out (`record_omitted`) and the
//!   position and digest say where to fetch it again.
//! - an **alert** letter (an alert a sink refused for good, or could not take before the
//!   retries ran out): the sink, the reason, `finding_uid`, `sequence` and the alert document.
//!   `nhid dead-letter resend` delivers them again; receivers deduplicate on (uid, sequence).
//!
//! `nhid replay` and `nhid produce` read record letters as the records they carry.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Digest;

/// The first bytes of every letter.
pub const PREFIX: &[u8] = b"{\"nhid_dead_letter\":";

/// Letters smaller than this always fit (the record left out).
const HEAD_BYTES: usize = 256;

/// Where a record came from.
#[derive(Debug, Clone, Copy)]
pub struct Position<'a> {
    /// A file path, or `topic/partition@offset`.
    pub input: &'a str,
    /// Line in the input (1-based).
    pub line: u64,
    /// Index inside a batch document on that line.
    pub index: Option<u64>,
}

#[derive(Serialize, Deserialize, Default)]
struct Letter<'a> {
    #[serde(default)]
    nhid_dead_letter: u8,
    #[serde(default, borrow)]
    kind: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(default, borrow)]
    reason: Cow<'a, str>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    error: Option<Cow<'a, str>>,
    // Record letters.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    input: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record_bytes: Option<u64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    sha256: Option<Cow<'a, str>>,
    /// Owned when line breaks had to go (a pretty-printed record: one letter is one line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record: Option<Cow<'a, RawValue>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    record_text: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    record_base64: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    record_omitted: bool,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    record_head: Option<Cow<'a, str>>,
    // Alert letters.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    sink: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    finding_uid: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sequence: Option<u64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    alert: Option<&'a RawValue>,
}

fn now() -> Option<String> {
    Some(crate::time::format_rfc3339_ms(crate::server::now_ms()))
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = sha2::Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A record letter of at most `limit` bytes (with its newline): the whole record when it fits,
/// else its position and digest only. `limit` 0 = no limit. `size` is the record's whole size:
/// when only its start is at hand (`bytes` shorter: a line too long to buffer), the letter
/// keeps the position, the size and the start.
pub fn record_line(
    pos: Position<'_>,
    reason: &str,
    error: &str,
    bytes: &[u8],
    size: usize,
    limit: usize,
) -> Vec<u8> {
    let partial = size > bytes.len();
    let sha = if partial {
        String::new()
    } else {
        sha256_hex(bytes)
    };
    let mut l = Letter {
        nhid_dead_letter: 1,
        kind: "record".into(),
        time: now(),
        reason: reason.into(),
        error: Some(error.into()),
        input: Some(pos.input.into()),
        line: Some(pos.line),
        index: pos.index,
        record_bytes: Some(size.max(bytes.len()) as u64),
        sha256: (!partial).then(|| sha.as_str().into()),
        ..Default::default()
    };
    let fits = |n: usize| limit == 0 || n < limit;
    if !partial && fits(bytes.len() + 512 + error.len()) {
        set_record(&mut l, bytes);
        let out = encode(&l);
        if fits(out.len()) {
            return out;
        }
    }
    omit_record(&mut l, bytes);
    encode(&l)
}

/// Leaves the record out of a letter: its first [`HEAD_BYTES`] stay, and the error text (also
/// input-derived) is bounded.
fn omit_record(l: &mut Letter<'_>, record: &[u8]) {
    l.record = None;
    l.record_text = None;
    l.record_base64 = None;
    l.record_omitted = true;
    let head = &record[..record.len().min(HEAD_BYTES)];
    l.record_head = Some(String::from_utf8_lossy(head).into_owned().into());
    if let Some(e) = &l.error {
        if e.len() > 1024 {
            let cut = floor_char_boundary(e, 1024);
            l.error = Some(format!("{}…", &e[..cut]).into());
        }
    }
}

/// The record as JSON when it is, as text when escaping keeps it small, else as base64.
fn set_record<'a>(l: &mut Letter<'a>, bytes: &'a [u8]) {
    if let Ok(raw) = serde_json::from_slice::<&RawValue>(bytes) {
        let text = raw.get();
        if !text.contains(['\n', '\r']) {
            l.record = Some(Cow::Borrowed(raw));
            return;
        }
        // Line breaks in JSON are only ever whitespace between tokens (a string cannot hold
        // one raw): as spaces, the record is the same JSON on one line.
        if let Ok(one) = RawValue::from_string(text.replace(['\n', '\r'], " ")) {
            l.record = Some(Cow::Owned(one));
            return;
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        let escaped = s
            .bytes()
            .filter(|&b| b < 0x20 || b == b'"' || b == b'\\')
            .count();
        if escaped * 8 <= s.len() {
            l.record_text = Some(s.into());
            return;
        }
    }
    l.record_base64 = Some(
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into(),
    );
}

fn encode(l: &Letter<'_>) -> Vec<u8> {
    // A struct of strings, numbers and raw JSON always serializes.
    let mut v = serde_json::to_vec(l).unwrap_or_default();
    v.push(b'\n');
    v
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The same letter without its record, if it is longer than `limit` (a target smaller than
/// the file's: the dead-letter topic). Lines that are not record letters come back unchanged.
pub fn fit(line: &[u8], limit: usize) -> Cow<'_, [u8]> {
    if limit == 0 || line.len() < limit {
        return Cow::Borrowed(line);
    }
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let Ok(mut l) = serde_json::from_slice::<Letter>(body) else {
        return Cow::Borrowed(line);
    };
    let raw = record_of(&l).map(Cow::into_owned).unwrap_or_default();
    omit_record(&mut l, &raw);
    Cow::Owned(encode(&l))
}

fn record_of<'a>(l: &Letter<'a>) -> Option<Cow<'a, [u8]>> {
    if let Some(r) = &l.record {
        return Some(match r {
            Cow::Borrowed(r) => Cow::Borrowed(r.get().as_bytes()),
            Cow::Owned(r) => Cow::Owned(r.get().as_bytes().to_vec()),
        });
    }
    if let Some(t) = &l.record_text {
        return Some(match t {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.clone().into_bytes()),
        });
    }
    let b = l.record_base64.as_ref()?;
    base64::engine::general_purpose::STANDARD
        .decode(b.as_bytes())
        .ok()
        .map(Cow::Owned)
}

/// An alert letter.
pub fn alert_line(
    sink: &str,
    reason: &str,
    uid: &str,
    sequence: u64,
    alert_json: &[u8],
) -> Vec<u8> {
    let alert = serde_json::from_slice::<&RawValue>(alert_json).ok();
    let l = Letter {
        nhid_dead_letter: 1,
        kind: "alert".into(),
        time: now(),
        reason: reason.into(),
        sink: Some(sink.into()),
        finding_uid: Some(uid.into()),
        sequence: Some(sequence),
        alert,
        ..Default::default()
    };
    encode(&l)
}

/// What a dead-letter line holds.
pub enum Read<'a> {
    /// A record, to be processed again.
    Record(Cow<'a, [u8]>),
    /// A record that was not kept: where it came from.
    Omitted {
        /// `input line N[#index]`.
        position: String,
        /// Its SHA-256.
        sha256: String,
    },
    /// An alert, with the sink that did not take it.
    Alert {
        /// The sink's name.
        sink: String,
        /// The OCSF document.
        json: &'a [u8],
    },
}

/// True if the line is a dead letter (by its first bytes).
pub fn is_letter(line: &[u8]) -> bool {
    line.starts_with(PREFIX)
}

/// Reads one dead-letter line (also the alert lines of nhid 0.1's HTTP sinks, which had no
/// marker). `None`: not a letter.
pub fn read(line: &[u8]) -> Option<Read<'_>> {
    let l: Letter = serde_json::from_slice(line).ok()?;
    if let Some(a) = l.alert {
        return Some(Read::Alert {
            sink: l.sink.map(Cow::into_owned).unwrap_or_default(),
            json: a.get().as_bytes(),
        });
    }
    if l.nhid_dead_letter == 0 {
        return None;
    }
    match record_of(&l) {
        Some(r) => Some(Read::Record(r)),
        None => Some(Read::Omitted {
            position: format!(
                "{} line {}{}",
                l.input.as_deref().unwrap_or("?"),
                l.line.unwrap_or(0),
                l.index.map(|i| format!("#{i}")).unwrap_or_default()
            ),
            sha256: l.sha256.map(Cow::into_owned).unwrap_or_default(),
        }),
    }
}

/// Errors writing the dead-letter file: the letters are not delivered.
#[derive(Debug, thiserror::Error)]
#[error("dead-letter file {path}: {source}")]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// Cause (a full disk, permissions).
    pub source: io::Error,
}

/// An append-only dead-letter file. A batch of letters counts as written only once it is
/// flushed and synced to disk ([`DeadLetterFile::append`] returns).
pub struct DeadLetterFile {
    path: PathBuf,
    file: Option<File>,
}

impl DeadLetterFile {
    /// Opens (creates) the file for appending.
    pub fn open(path: &Path) -> Result<Self, WriteError> {
        let mut d = DeadLetterFile {
            path: path.to_path_buf(),
            file: None,
        };
        d.reopen()?;
        Ok(d)
    }

    fn reopen(&mut self) -> Result<(), WriteError> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|source| WriteError {
                path: self.path.clone(),
                source,
            })?;
        self.file = Some(f);
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends whole lines and syncs. On error the file is reopened at the next call (a line
    /// cut short by a full disk is followed by a newline, so readers skip only it).
    pub fn append(&mut self, lines: &[u8]) -> Result<(), WriteError> {
        if lines.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            self.reopen()?;
        }
        let err = |source| WriteError {
            path: self.path.clone(),
            source,
        };
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        let res = f.write_all(lines).and_then(|()| f.sync_data());
        if let Err(e) = res {
            // Terminate a partial line so the next append starts a fresh one.
            let _ = f.write_all(b"\n");
            self.file = None;
            return Err(err(e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos() -> Position<'static> {
        Position {
            input: "t/0@7",
            line: 1,
            index: None,
        }
    }

    #[test]
    fn json_records_are_embedded_and_read_back() {
        let rec = br#"{"eventName":"x","n":[1,2]}"#;
        let line = record_line(pos(), "unknown_format", "no source", rec, rec.len(), 0);
        assert!(is_letter(&line));
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["record"]["n"][1], 2);
        assert_eq!(v["input"], "t/0@7");
        assert_eq!(v["sha256"].as_str().unwrap(), sha256_hex(rec));
        match read(line.strip_suffix(b"\n").unwrap()) {
            Some(Read::Record(r)) => assert_eq!(&r[..], rec),
            _ => panic!("not a record letter"),
        }
    }

    #[test]
    fn control_bytes_go_base64_not_six_times_larger() {
        let rec = vec![1u8; 200_000];
        let line = record_line(pos(), "malformed_json", "x", &rec, rec.len(), 0);
        assert!(line.len() < 280_000, "{} bytes", line.len());
        match read(line.strip_suffix(b"\n").unwrap()) {
            Some(Read::Record(r)) => assert_eq!(&r[..], &rec[..]),
            _ => panic!("not a record letter"),
        }
        // Text with a few quotes stays text.
        let t = br#"not json "quoted" text"#;
        let line = record_line(pos(), "malformed_json", "x", t, t.len(), 0);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["record_text"], "not json \"quoted\" text");
    }

    #[test]
    fn over_the_limit_keeps_position_and_digest() {
        let rec = vec![b'x'; 5000];
        let line = record_line(pos(), "too_large", "x", &rec, rec.len(), 1000);
        assert!(line.len() < 1000, "{}", line.len());
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["record_omitted"], true);
        assert_eq!(v["record_bytes"], 5000);
        assert!(matches!(
            read(line.strip_suffix(b"\n").unwrap()),
            Some(Read::Omitted { .. })
        ));
        // A whole letter refitted for a smaller target.
        let whole = record_line(pos(), "too_large", "x", &rec, rec.len(), 0);
        let fitted = fit(&whole, 1000);
        assert!(fitted.len() < 1000);
        let v: serde_json::Value = serde_json::from_slice(&fitted).unwrap();
        assert_eq!(v["sha256"].as_str().unwrap(), sha256_hex(&rec));
        assert_eq!(v["record_head"].as_str().unwrap().len(), HEAD_BYTES);
    }

    #[test]
    fn alert_letters_and_old_http_lines_read_back() {
        let line = alert_line("hec", "HTTP 413", "u1", 3, br#"{"a":1}"#);
        match read(line.strip_suffix(b"\n").unwrap()) {
            Some(Read::Alert { sink, json }) => {
                assert_eq!(sink, "hec");
                assert_eq!(json, br#"{"a":1}"#);
            }
            _ => panic!("not an alert letter"),
        }
        let old = br#"{"time":"t","sink":"wh","reason":"r","finding_uid":"u","sequence":1,"alert":{"b":2}}"#;
        assert!(matches!(read(old), Some(Read::Alert { .. })));
        assert!(read(br#"{"eventName":"x"}"#).is_none());
    }

    #[test]
    fn a_full_disk_is_an_error_not_a_success() {
        let p = Path::new("/dev/full");
        if !p.exists() {
            return;
        }
        let mut d = DeadLetterFile::open(p).unwrap();
        assert!(d.append(b"{\"x\":1}\n").is_err());
    }
}
