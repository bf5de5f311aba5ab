//! File input for replay: JSON Lines, CloudTrail S3 delivery files (`{"Records":[...]}`), Azure
//! Event Hub / diagnostic batches (`{"records":[...]}`), JSON arrays, pretty-printed or
//! concatenated JSON documents, any of them gzip-compressed (detected by magic bytes), from a path
//! or `-` for stdin.
//!
//! JSON Lines are streamed line by line, so a bad line loses only itself and memory stays bounded
//! by the longest line. Array and pretty-printed documents are read whole. A line that is itself a
//! batch document is expanded into its records.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Origin;

/// Errors that stop reading one input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input could not be opened.
    #[error("cannot open {input}: {source}")]
    Open {
        /// Input name.
        input: String,
        /// Cause.
        source: io::Error,
    },
    /// Reading failed part-way (I/O error, corrupt gzip stream).
    #[error("cannot read {input}: {source}")]
    Read {
        /// Input name.
        input: String,
        /// Cause.
        source: io::Error,
    },
}

/// What the reader hands to its consumer.
pub enum Item<'a> {
    /// One raw record.
    Record(&'a [u8], Origin<'a>),
    /// Input that could not be framed into records (an unterminated document, a line over the
    /// document limit). It is reported and dead-lettered like a bad record.
    Unframed {
        /// The bytes (possibly truncated to a prefix).
        bytes: &'a [u8],
        /// Where.
        origin: Origin<'a>,
        /// Reason label.
        reason: &'static str,
        /// Human-readable error.
        error: String,
        /// Size of the whole chunk (`bytes` may be only its start).
        size: usize,
    },
}

/// Limits for framing: how much of the input is held in memory at once.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Longest line holding one record. A longer line is skipped (reported, its start
    /// dead-lettered) without being buffered: the parser would refuse it anyway.
    pub max_record_bytes: usize,
    /// Longest batch document (a JSON array, `{"Records":[..]}` on one line or pretty-printed)
    /// read into memory; longer ones are skipped and reported.
    pub max_document_bytes: usize,
}

/// Default batch document limit (a CloudTrail S3 delivery file is a few MB uncompressed).
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 256 << 20;

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_record_bytes: crate::parsers::DEFAULT_MAX_RECORD_BYTES,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

impl ReadLimits {
    /// Limits for inputs whose records may be up to `max_record_bytes` (a batch document may
    /// be larger than one record, so the default document limit is the floor).
    pub fn for_records(max_record_bytes: usize) -> Self {
        ReadLimits {
            max_record_bytes,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES.max(max_record_bytes),
        }
    }
}

#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(borrow, rename = "Records", alias = "records")]
    records: Option<Vec<&'a RawValue>>,
}

/// Reads one input and calls `f` for every record (or unframed chunk) in order.
pub fn read_input(
    input: &str,
    limits: ReadLimits,
    mut f: impl FnMut(Item<'_>),
) -> Result<(), InputError> {
    let rerr = |source| InputError::Read {
        input: input.to_string(),
        source,
    };
    let raw: Box<dyn Read> = if input == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(Path::new(input)).map_err(|source| InputError::Open {
                input: input.to_string(),
                source,
            })?,
        )
    };
    let mut br = BufReader::with_capacity(1 << 20, raw);
    let head = br.fill_buf().map_err(rerr)?;
    let mut reader: Box<dyn BufRead> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(br)))
    } else {
        Box::new(br)
    };

    // A UTF-8 byte-order mark (Windows / PowerShell exports) is not part of the data.
    {
        let buf = reader.fill_buf().map_err(rerr)?;
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            reader.consume(3);
        }
    }
    // Skip leading whitespace, counting lines, to see the first byte.
    let mut line_no: u64 = 1;
    let first = loop {
        let buf = reader.fill_buf().map_err(rerr)?;
        if buf.is_empty() {
            return Ok(()); // empty input: nothing to do
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(p) => {
                line_no += memchr::memchr_iter(b'\n', &buf[..p]).count() as u64;
                let c = buf[p];
                reader.consume(p);
                break c;
            }
            None => {
                let n = buf.len();
                line_no += memchr::memchr_iter(b'\n', buf).count() as u64;
                reader.consume(n);
            }
        }
    };

    let mut line = Vec::with_capacity(64 << 10);
    if first == b'[' {
        let mut doc = Vec::new();
        reader
            .take((limits.max_document_bytes as u64).saturating_add(1))
            .read_to_end(&mut doc)
            .map_err(rerr)?;
        document(input, line_no, &doc, limits, &mut f);
        return Ok(());
    }

    // Line mode, unless the first line is the start of a multi-line document.
    let mut first_line = true;
    loop {
        let start_line = line_no;
        let Some((over, size)) = read_line(&mut *reader, &mut line, limits).map_err(rerr)? else {
            return Ok(());
        };
        line_no += 1;
        if over {
            f(Item::Unframed {
                bytes: &line[..line.len().min(4096)],
                origin: Origin {
                    input,
                    line: start_line,
                    index: None,
                },
                reason: "too_large",
                error: format!(
                    "line of {size} bytes, longer than the record limit ({} bytes)",
                    limits.max_record_bytes
                ),
                size,
            });
            first_line = false;
            continue;
        }
        let body = trim(&line);
        if body.is_empty() {
            continue;
        }
        if first_line && body[0] == b'{' && unfinished(body) {
            // A pretty-printed document: read the rest and frame it as a whole. If that fails on
            // its very first value, fall back to lines (a JSONL file with a broken first line).
            let mut doc = line.clone();
            doc.push(b'\n');
            (&mut *reader)
                .take(limits.max_document_bytes as u64)
                .read_to_end(&mut doc)
                .map_err(rerr)?;
            let mut stream = serde_json::Deserializer::from_slice(&doc).into_iter::<&RawValue>();
            if stream.next().is_some_and(|r| r.is_ok()) {
                document(input, start_line, &doc, limits, &mut f);
                return Ok(());
            }
            // Line mode over the buffered part; a line cut at the buffer's end is completed from
            // the reader, and line mode goes on over the rest of the input.
            let complete = doc.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let mut next = start_line;
            for (ln, l) in (start_line..).zip(doc[..complete].split_inclusive(|&b| b == b'\n')) {
                let b = trim(l);
                if !b.is_empty() {
                    one_line(input, ln, b, &mut f);
                }
                next = ln + 1;
            }
            // `next` is the line the unfinished tail (if any) belongs to.
            line_no = next;
            let mut carry = doc[complete..].to_vec();
            drop(doc);
            if !carry.is_empty() {
                let (over, rest) = read_line_after(&mut *reader, &mut line, limits, &carry)
                    .map_err(rerr)?
                    .unwrap_or((false, 0));
                let size = carry.len() + rest;
                carry.extend_from_slice(&line);
                let tail_line = line_no;
                line_no += 1;
                let b = trim(&carry);
                if over || carry.len() > limits.max_document_bytes {
                    f(Item::Unframed {
                        bytes: &carry[..carry.len().min(4096)],
                        origin: Origin {
                            input,
                            line: tail_line,
                            index: None,
                        },
                        reason: "too_large",
                        error: format!("line of {size} bytes, longer than the limit"),
                        size,
                    });
                } else if !b.is_empty() {
                    one_line(input, tail_line, b, &mut f);
                }
            }
            first_line = false;
            continue;
        }
        first_line = false;
        one_line(input, start_line, body, &mut f);
    }
}

/// Frames one in-memory message (a Kafka record value): a single record, a batch document
/// (`{"Records":[..]}`, `{"records":[..]}`, a JSON array) or several JSON lines.
pub fn frame_bytes(input: &str, bytes: &[u8], limits: ReadLimits, mut f: impl FnMut(Item<'_>)) {
    let body = trim(bytes);
    if body.is_empty() {
        return;
    }
    let single = serde_json::Deserializer::from_slice(body)
        .into_iter::<serde::de::IgnoredAny>()
        .nth(1)
        .is_none();
    if single || !body.contains(&b'\n') {
        document(input, 1, body, limits, &mut f);
        return;
    }
    for (ln, l) in (1..).zip(body.split(|&b| b == b'\n')) {
        let b = trim(l);
        if !b.is_empty() {
            one_line(input, ln, b, &mut f);
        }
    }
}

/// True if `body` is the start of a JSON value cut at the end of the line (a pretty-printed
/// document's first line), not a complete value or one with junk after it (a broken line).
fn unfinished(body: &[u8]) -> bool {
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Ok(_) => false,
        Err(e) => e.classify() == serde_json::error::Category::Eof,
    }
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

/// One line: a record, or a batch document to expand.
fn one_line(input: &str, line: u64, body: &[u8], f: &mut impl FnMut(Item<'_>)) {
    if body[0] == b'[' || is_batch_candidate(body) {
        if let Some(()) = expand(input, line, body, f) {
            return;
        }
    }
    record(input, line, None, body, f);
}

/// One record; a dead letter (`nhid replay` on a dead-letter file) stands for the record it
/// carries, and an alert letter or a letter without its record is reported, not processed.
fn record(input: &str, line: u64, index: Option<u64>, body: &[u8], f: &mut impl FnMut(Item<'_>)) {
    let origin = Origin { input, line, index };
    if !crate::deadletter::is_letter(body) {
        f(Item::Record(body, origin));
        return;
    }
    let (reason, error) = match crate::deadletter::read(body) {
        Some(crate::deadletter::Read::Record(r)) => {
            f(Item::Record(&r, origin));
            return;
        }
        Some(crate::deadletter::Read::Omitted { position, sha256 }) => (
            "record_omitted",
            format!("a dead letter without its record: fetch it from {position} (sha256 {sha256})"),
        ),
        Some(crate::deadletter::Read::Alert { .. }) => (
            "not_a_record",
            "a dead-lettered alert: deliver it with `nhid dead-letter resend`".to_string(),
        ),
        None => (
            "malformed_json",
            "a dead letter that does not read".to_string(),
        ),
    };
    f(Item::Unframed {
        bytes: body,
        origin,
        reason,
        error,
        size: body.len(),
    });
}

fn is_batch_candidate(body: &[u8]) -> bool {
    memmem::find(body, b"\"Records\"").is_some() || memmem::find(body, b"\"records\"").is_some()
}

/// Expands an array or a `{"Records": [...]}` value into records; `None` if it is neither.
fn expand(input: &str, line: u64, body: &[u8], f: &mut impl FnMut(Item<'_>)) -> Option<()> {
    let list: Vec<&RawValue> = if body[0] == b'[' {
        serde_json::from_slice(body).ok()?
    } else {
        serde_json::from_slice::<Batch>(body).ok()?.records?
    };
    for (i, r) in list.into_iter().enumerate() {
        f(Item::Record(
            r.get().as_bytes(),
            Origin {
                input,
                line,
                index: Some(i as u64),
            },
        ));
    }
    Some(())
}

/// Frames a whole document (array, batch, or a sequence of JSON values).
fn document(
    input: &str,
    first_line: u64,
    doc: &[u8],
    limits: ReadLimits,
    f: &mut impl FnMut(Item<'_>),
) {
    if doc.len() > limits.max_document_bytes {
        f(Item::Unframed {
            bytes: &doc[..4096.min(doc.len())],
            origin: Origin {
                input,
                line: first_line,
                index: None,
            },
            reason: "too_large",
            error: format!("document longer than {} bytes", limits.max_document_bytes),
            size: doc.len(),
        });
        return;
    }
    // After a value that does not parse, framing resumes at the next line that starts a
    // value (`{` or `[` in the first column): one bad document loses only itself.
    let mut base = 0usize;
    while base < doc.len() {
        let part = &doc[base..];
        let mut stream = serde_json::Deserializer::from_slice(part).into_iter::<&RawValue>();
        loop {
            let end = stream.byte_offset();
            // The next value starts after the whitespace that follows the previous one.
            let offset = end
                + part[end..]
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
            let line =
                first_line + memchr::memchr_iter(b'\n', &doc[..base + offset]).count() as u64;
            match stream.next() {
                None => return,
                Some(Ok(v)) => {
                    let start = trim(v.get().as_bytes());
                    if (start.first() == Some(&b'[') || is_batch_candidate(start))
                        && expand(input, line, start, f).is_some()
                    {
                        continue;
                    }
                    record(input, line, None, start, f);
                }
                Some(Err(e)) => {
                    let rest = &part[offset..];
                    let next = resync_point(rest);
                    f(Item::Unframed {
                        bytes: &rest[..next],
                        size: next,
                        origin: Origin {
                            input,
                            line,
                            index: None,
                        },
                        reason: "malformed_json",
                        error: format!("document cannot be framed: {e}"),
                    });
                    base += offset + next;
                    break;
                }
            }
        }
    }
}

/// Where framing resumes after a bad value at the start of `rest`: the next line starting with
/// `{` or `[`, or the end.
fn resync_point(rest: &[u8]) -> usize {
    let mut from = 1;
    while let Some(i) = memchr::memchr(b'\n', rest.get(from..).unwrap_or_default()) {
        let at = from + i + 1;
        if matches!(rest.get(at), Some(b'{' | b'[')) {
            return at;
        }
        from = at;
    }
    rest.len()
}

/// Reads one line into `buf` (without the newline). Returns `None` at end of input, else whether
/// the line was longer than its limit (the rest is consumed and discarded; `buf` keeps a
/// prefix). A line's limit is the record limit, unless it starts like a batch document (`[`,
/// `{"Records"`), which may be as long as the document limit.
fn read_line(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    limits: ReadLimits,
) -> io::Result<Option<(bool, usize)>> {
    read_line_after(r, buf, limits, &[])
}

/// [`read_line`] for the rest of a line whose first `prefix` bytes were already read (the tail
/// of a pretty-document attempt): the prefix counts towards the limit and decides whether the
/// line starts like a batch (it was judged on its remainder alone, and a batch line cut there
/// was held to the record limit).
fn read_line_after(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    limits: ReadLimits,
    prefix: &[u8],
) -> io::Result<Option<(bool, usize)>> {
    buf.clear();
    let lead = prefix.len();
    let mut over = false;
    let mut any = false;
    let mut total = 0usize;
    let mut max = limits.max_record_bytes.min(limits.max_document_bytes);
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(any.then_some((over, total)));
        }
        any = true;
        let (chunk, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], Some(i + 1)),
            None => (avail, None),
        };
        total += chunk.len();
        let have = lead + buf.len();
        if !over && have + chunk.len() > max && max < limits.max_document_bytes {
            // The line's first bytes: the part read before (a prefix cut anywhere, even
            // `{"Rec`), what this call read so far, then this chunk.
            let mut head: Vec<u8> = prefix.iter().chain(buf.iter()).take(64).copied().collect();
            head.extend_from_slice(&chunk[..chunk.len().min(64 - head.len())]);
            if starts_like_batch(&head) {
                max = limits.max_document_bytes;
            }
        }
        if !over {
            if have + chunk.len() > max {
                over = true;
                let keep = 4096usize.saturating_sub(have).min(chunk.len());
                buf.extend_from_slice(&chunk[..keep]);
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let n = done.unwrap_or(avail.len());
        r.consume(n);
        if done.is_some() {
            return Ok(Some((over, total)));
        }
    }
}

/// Does a line start like a batch document (an array, or an object whose first key is
/// `Records` / `records`)?
fn starts_like_batch(head: &[u8]) -> bool {
    let b = trim(head);
    if b.first() == Some(&b'[') {
        return true;
    }
    let Some(rest) = b.strip_prefix(b"{") else {
        return false;
    };
    let rest = trim(rest);
    rest.starts_with(b"\"Records\"") || rest.starts_with(b"\"records\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(content: &[u8], gz: bool) -> Vec<(String, u64, Option<u64>, bool)> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in");
        let mut f = File::create(&p).unwrap();
        if gz {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(content).unwrap();
            f.write_all(&e.finish().unwrap()).unwrap();
        } else {
            f.write_all(content).unwrap();
        }
        drop(f);
        let mut out = vec![];
        read_input(p.to_str().unwrap(), ReadLimits::default(), |it| match it {
            Item::Record(b, o) => out.push((
                String::from_utf8_lossy(b).into_owned(),
                o.line,
                o.index,
                true,
            )),
            Item::Unframed { bytes, origin, .. } => out.push((
                String::from_utf8_lossy(bytes).into_owned(),
                origin.line,
                origin.index,
                false,
            )),
        })
        .unwrap();
        out
    }

    fn frame(msg: &[u8]) -> Vec<(String, bool)> {
        let mut out = vec![];
        frame_bytes("t/0@7", msg, ReadLimits::default(), |it| match it {
            Item::Record(b, _) => out.push((String::from_utf8_lossy(b).into_owned(), true)),
            Item::Unframed { bytes, .. } => {
                out.push((String::from_utf8_lossy(bytes).into_owned(), false))
            }
        });
        out
    }

    #[test]
    fn kafka_messages_frame_like_files() {
        // One record per message.
        assert_eq!(frame(br#" {"a":1} "#), vec![(r#"{"a":1}"#.into(), true)]);
        // An Event Hubs / S3-delivery batch.
        let b = frame(br#"{"records":[{"a":1},{"a":2}]}"#);
        assert_eq!(b.len(), 2);
        assert!(b.iter().all(|x| x.1));
        // Several JSON lines in one message; a broken line loses only itself.
        let l = frame(b"{\"a\":1}\n{broken\n{\"a\":3}\n");
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].0, r#"{"a":1}"#);
        assert_eq!(l[1].0, "{broken");
        assert_eq!(l[2].0, r#"{"a":3}"#);
        // An empty message frames nothing.
        assert!(frame(b"  \n").is_empty());
    }

    #[test]
    fn jsonl_with_bad_line_and_blank_lines() {
        let out = collect(b"{\"a\":1}\n\n{\"b\":\n{\"c\":3}\r\n", false);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], ("{\"a\":1}".into(), 1, None, true));
        assert_eq!(out[1], ("{\"b\":".into(), 3, None, true));
        assert_eq!(out[2], ("{\"c\":3}".into(), 4, None, true));
    }

    #[test]
    fn batches_arrays_and_gzip() {
        let doc = b"{\"Records\": [\n {\"x\":1},\n {\"x\":2}\n]}\n";
        for gz in [false, true] {
            let out = collect(doc, gz);
            assert_eq!(out.len(), 2, "gz={gz}");
            assert_eq!(out[1].0, "{\"x\":2}");
            assert_eq!(out[1].2, Some(1));
        }
        let out = collect(
            b"{\"records\":[{\"y\":1}]}\n{\"records\":[{\"y\":2},{\"y\":3}]}\n",
            false,
        );
        assert_eq!(out.len(), 3);
        assert_eq!(out[2].1, 2);
        let out = collect(b"[{\"z\":1}, {\"z\":2}]", true);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn pretty_printed_documents_and_truncation() {
        let out = collect(b"{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n", false);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].1, 4);
        let out = collect(b"{\n  \"Records\": [{\"a\": 1}, {\"a\": 2", false);
        // First value cannot be framed: falls back to lines, each reported as a record.
        assert!(out.iter().all(|o| o.3));
        let out = collect(b"[{\"a\": 1}, {\"a\": 2", false);
        assert_eq!(out.len(), 1);
        assert!(!out[0].3);
    }

    #[test]
    fn broken_first_line_beyond_the_document_buffer_loses_nothing() {
        // First line broken, then more lines than the (small) document buffer holds.
        let mut content = b"{\"broken\": \n".to_vec();
        for i in 0..200 {
            content.extend_from_slice(format!("{{\"n\":{i}}}\n").as_bytes());
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in");
        std::fs::write(&p, &content).unwrap();
        let mut got = Vec::new();
        read_input(
            p.to_str().unwrap(),
            ReadLimits {
                max_record_bytes: 256,
                max_document_bytes: 256,
            },
            |it| {
                if let Item::Record(b, o) = it {
                    got.push((String::from_utf8_lossy(b).into_owned(), o.line));
                }
            },
        )
        .unwrap();
        assert_eq!(got.len(), 201, "every line framed once");
        assert_eq!(got[0], ("{\"broken\":".to_string(), 1));
        for (i, (text, line)) in got[1..].iter().enumerate() {
            assert_eq!(text, &format!("{{\"n\":{i}}}"));
            assert_eq!(*line, i as u64 + 2);
        }
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let out = collect(b"\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n", false);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, "{\"a\":1}");
    }

    #[test]
    fn empty_and_whitespace_inputs() {
        assert!(collect(b"", false).is_empty());
        assert!(collect(b"\n\n   \n", false).is_empty());
        assert!(collect(b"", true).is_empty());
    }

    #[test]
    fn over_long_line_is_reported_not_fatal() {
        let mut content = Vec::new();
        content.extend_from_slice(b"{\"ok\":1}\n{\"big\":\"");
        content.extend(std::iter::repeat_n(b'x', 5000));
        content.extend_from_slice(b"\"}\n{\"ok\":2}\n");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in");
        std::fs::write(&p, &content).unwrap();
        let mut recs = 0;
        let mut unframed = 0;
        read_input(
            p.to_str().unwrap(),
            ReadLimits {
                max_record_bytes: 1000,
                max_document_bytes: 1 << 20,
            },
            |it| match it {
                Item::Record(..) => recs += 1,
                Item::Unframed { reason, .. } => {
                    assert_eq!(reason, "too_large");
                    unframed += 1
                }
            },
        )
        .unwrap();
        assert_eq!((recs, unframed), (2, 1));
    }

    #[test]
    fn junk_after_the_first_line_is_one_bad_line_not_a_document() {
        // Found by black-box tests: read as a pretty-printed document, 2 of 1,001 records.
        let mut content = b"{\"n\":0} trailing junk\n".to_vec();
        for i in 1..=1000 {
            content.extend_from_slice(format!("{{\"n\":{i}}}\n").as_bytes());
        }
        let out = collect(&content, false);
        assert_eq!(out.len(), 1001);
        assert_eq!(out[0].0, "{\"n\":0} trailing junk");
        assert_eq!(out[1000].0, "{\"n\":1000}");
        assert!(out.iter().all(|o| o.3), "every line is a record");
    }

    #[test]
    fn a_bad_pretty_document_loses_only_itself() {
        let content = b"{\n  \"a\": 1\n}\n{\n  \"b\": oops\n}\n{\n  \"c\": 3\n}\n";
        let out = collect(content, false);
        let recs: Vec<_> = out.iter().filter(|o| o.3).map(|o| o.0.clone()).collect();
        assert_eq!(recs.len(), 2, "{out:?}");
        assert!(recs[0].contains("\"a\"") && recs[1].contains("\"c\""));
        assert_eq!(out.iter().filter(|o| !o.3).count(), 1);
        assert_eq!(out[2].1, 7, "the third document starts on line 7");
    }

    #[test]
    fn record_lines_are_bounded_by_the_record_limit_batch_lines_by_the_document_limit() {
        let limits = ReadLimits {
            max_record_bytes: 1000,
            max_document_bytes: 1 << 20,
        };
        let big = format!("{{\"x\":\"{}\"}}", "y".repeat(5000));
        let batch = format!("{{\"Records\":[{big},{big}]}}");
        let content = format!("{big}\n{batch}\n{{\"ok\":1}}\n");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in");
        std::fs::write(&p, content).unwrap();
        let mut got = Vec::new();
        read_input(p.to_str().unwrap(), limits, |it| match it {
            Item::Record(b, o) => got.push((b.len(), o.line, true)),
            Item::Unframed { bytes, origin, .. } => got.push((bytes.len(), origin.line, false)),
        })
        .unwrap();
        // The long record line is skipped holding at most 4 KiB; the batch line is expanded.
        assert_eq!(got[0], (4096, 1, false));
        assert_eq!(got.len(), 4);
        assert!(got[1].2 && got[2].2 && got[1].1 == 2);
        assert_eq!(got[3], (8, 3, true));
    }

    #[test]
    fn dead_letters_replay_as_their_records() {
        let pos = crate::deadletter::Position {
            input: "x",
            line: 3,
            index: None,
        };
        let rec = br#"{"eventName":"a"}"#;
        let mut content =
            crate::deadletter::record_line(pos, "unknown_format", "e", rec, rec.len(), 0);
        content.extend(crate::deadletter::record_line(
            pos,
            "too_large",
            "e",
            rec,
            rec.len() + 1,
            0,
        ));
        content.extend(crate::deadletter::alert_line("s", "r", "u", 1, b"{}"));
        let out = collect(&content, false);
        assert_eq!(
            out[0],
            (String::from_utf8_lossy(rec).into_owned(), 1, None, true)
        );
        assert!(!out[1].3 && !out[2].3, "{out:?}");
    }

    #[test]
    fn missing_file_is_an_open_error() {
        let e = read_input(
            "/nonexistent/nhid-input.json",
            ReadLimits::default(),
            |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, InputError::Open { .. }));
    }
}
