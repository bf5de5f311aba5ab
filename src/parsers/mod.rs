//! Parsers: raw record bytes to [`AuditEvent`]. One module per source; [`Parsers`] detects the
//! source of each record by its shape (the keys it carries) unless a format is forced.
//!
//! Parsers are pure and synchronous. They deserialize into typed structs that borrow from the
//! record (no `serde_json::Value` trees), skipping fields nhid does not use.

pub mod azure_activity;
pub mod cloudtrail;
mod flex;
pub mod github_audit;
pub mod okta;

use memchr::memmem::Finder;

use crate::event::{AuditEvent, SourceKind};

/// Why a record could not be turned into an event.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not valid JSON (syntax error, truncated, binary data).
    #[error("malformed JSON: {0}")]
    Malformed(serde_json::Error),
    /// Valid JSON whose fields have the wrong types for its source.
    #[error("wrong field type for {src}: {err}")]
    WrongType {
        /// Source the record was parsed as.
        src: SourceKind,
        /// Underlying error.
        err: serde_json::Error,
    },
    /// JSON that is not an object.
    #[error("record is not a JSON object")]
    NotObject,
    /// No known source has this shape.
    #[error(
        "unknown record shape: not CloudTrail, Azure Activity, Okta System Log or GitHub audit"
    )]
    UnknownFormat,
    /// The record has no usable event time.
    #[error("{0}: no event time")]
    MissingTime(SourceKind),
    /// The event time could not be parsed.
    #[error("{src}: unparsable event time {value:?}")]
    BadTime {
        /// Source.
        src: SourceKind,
        /// The value found.
        value: String,
    },
    /// The record names no principal.
    #[error("{0}: no actor / identity")]
    MissingActor(SourceKind),
    /// The record names no action.
    #[error("{0}: no action / operation")]
    MissingAction(SourceKind),
    /// The record is larger than the configured limit.
    #[error("record of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size in bytes.
        size: usize,
        /// Limit in bytes.
        limit: usize,
    },
}

impl ParseError {
    /// A short stable reason, used as a counter label and in dead letters.
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::Malformed(_) => "malformed_json",
            ParseError::WrongType { .. } => "wrong_type",
            ParseError::NotObject => "not_an_object",
            ParseError::UnknownFormat => "unknown_format",
            ParseError::MissingTime(_) => "missing_time",
            ParseError::BadTime { .. } => "bad_time",
            ParseError::MissingActor(_) => "missing_actor",
            ParseError::MissingAction(_) => "missing_action",
            ParseError::TooLarge { .. } => "too_large",
        }
    }

    pub(crate) fn from_json(source: SourceKind, err: serde_json::Error) -> Self {
        use serde_json::error::Category;
        match err.classify() {
            Category::Syntax | Category::Eof | Category::Io => ParseError::Malformed(err),
            Category::Data => ParseError::WrongType { src: source, err },
        }
    }
}

/// A source format as configured: one source, or detection per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Detect each record's source by its shape.
    #[default]
    Auto,
    /// Parse every record as this source.
    Source(SourceKind),
}

impl Format {
    /// Parses `auto` or a source name.
    pub fn from_name(s: &str) -> Option<Format> {
        if s == "auto" {
            Some(Format::Auto)
        } else {
            SourceKind::from_name(s).map(Format::Source)
        }
    }
}

/// The parser set with its shape detector.
pub struct Parsers {
    ct_name: Finder<'static>,
    ct_identity: Finder<'static>,
    ct_source: Finder<'static>,
    ct_time: Finder<'static>,
    az_operation: Finder<'static>,
    okta_type: Finder<'static>,
    okta_type_lc: Finder<'static>,
    okta_published: Finder<'static>,
    gh_action: Finder<'static>,
    gh_actor: Finder<'static>,
    eb_detail_type: Finder<'static>,
    max_record_bytes: usize,
}

/// An EventBridge event (`{"detail-type": "AWS API Call via CloudTrail", "detail": {...}}`):
/// the record is its `detail`.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    detail: Option<&'a serde_json::value::RawValue>,
}

/// EventBridge envelopes unwrapped at most (a record inside an envelope inside an envelope is
/// already more than any AWS delivery produces).
const MAX_ENVELOPE_DEPTH: u8 = 2;

/// Default record size limit (1 MiB; a CloudTrail event is at most 256 KB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

impl Default for Parsers {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RECORD_BYTES)
    }
}

impl Parsers {
    /// Parsers with a record size limit.
    pub fn new(max_record_bytes: usize) -> Self {
        Parsers {
            ct_name: Finder::new(b"\"eventName\""),
            ct_identity: Finder::new(b"\"userIdentity\""),
            ct_source: Finder::new(b"\"eventSource\""),
            ct_time: Finder::new(b"\"eventTime\""),
            az_operation: Finder::new(b"\"operationName\""),
            okta_type: Finder::new(b"\"eventType\""),
            okta_type_lc: Finder::new(b"\"eventtype\""),
            okta_published: Finder::new(b"\"published\""),
            gh_action: Finder::new(b"\"action\""),
            gh_actor: Finder::new(b"\"actor\""),
            eb_detail_type: Finder::new(b"\"detail-type\""),
            max_record_bytes,
        }
    }

    /// The source a record's shape points to, if any.
    pub fn detect(&self, raw: &[u8]) -> Option<SourceKind> {
        let has = |f: &Finder| f.find(raw).is_some();
        if has(&self.ct_name)
            && (has(&self.ct_identity) || has(&self.ct_source) || has(&self.ct_time))
        {
            Some(SourceKind::Cloudtrail)
        } else if has(&self.az_operation) {
            Some(SourceKind::AzureActivity)
        } else if (has(&self.okta_type) || has(&self.okta_type_lc))
            && (has(&self.okta_published) || has(&self.gh_actor))
        {
            Some(SourceKind::Okta)
        } else if has(&self.gh_action) && has(&self.gh_actor) {
            Some(SourceKind::GithubAudit)
        } else {
            None
        }
    }

    /// Parses one record.
    pub fn parse<'a>(&self, raw: &'a [u8], format: Format) -> Result<AuditEvent<'a>, ParseError> {
        self.parse_nested(raw, format, 0)
    }

    /// Parses one record found `depth` EventBridge envelopes deep. Real envelopes nest once;
    /// the bound keeps a hostile record nested thousands of levels deep from costing quadratic
    /// time (every level is re-scanned).
    fn parse_nested<'a>(
        &self,
        raw: &'a [u8],
        format: Format,
        depth: u8,
    ) -> Result<AuditEvent<'a>, ParseError> {
        if raw.len() > self.max_record_bytes {
            return Err(ParseError::TooLarge {
                size: raw.len(),
                limit: self.max_record_bytes,
            });
        }
        let first = raw.iter().find(|b| !b.is_ascii_whitespace());
        match first {
            Some(b'{') => {}
            Some(b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => {
                // Valid JSON that is not an object, or garbage: tell them apart.
                return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
                    Ok(_) => ParseError::NotObject,
                    Err(e) => ParseError::Malformed(e),
                });
            }
            _ => {
                return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
                    Ok(_) => ParseError::NotObject,
                    Err(e) => ParseError::Malformed(e),
                })
            }
        }
        match self.parse_object(raw, format) {
            Ok(ev) => Ok(ev),
            // An EventBridge envelope does not parse as its source (its keys are nested in
            // `detail`): only then look for one, so ordinary records never pay for the check.
            Err(e) if depth >= MAX_ENVELOPE_DEPTH => Err(e),
            Err(e) => match self.envelope_detail(raw) {
                Some(inner) => self.parse_nested(inner, format, depth + 1),
                None => Err(e),
            },
        }
    }

    /// The `detail` object of an EventBridge envelope, if `raw` is one.
    fn envelope_detail<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        self.eb_detail_type.find(raw)?;
        let Envelope { detail } = serde_json::from_slice::<Envelope>(raw).ok()?;
        let inner = detail?.get().as_bytes();
        (inner.first() == Some(&b'{')).then_some(inner)
    }

    /// Parses a record already known to be a JSON object (or garbage starting with `{`).
    fn parse_object<'a>(
        &self,
        raw: &'a [u8],
        format: Format,
    ) -> Result<AuditEvent<'a>, ParseError> {
        let source = match format {
            Format::Source(s) => s,
            Format::Auto => match self.detect(raw) {
                Some(s) => s,
                None => {
                    // Distinguish garbage from a well-formed record of an unknown shape.
                    return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
                        Ok(_) => ParseError::UnknownFormat,
                        Err(e) => ParseError::Malformed(e),
                    });
                }
            },
        };
        match source {
            SourceKind::Cloudtrail => cloudtrail::parse(raw),
            SourceKind::AzureActivity => azure_activity::parse(raw),
            SourceKind::Okta => okta::parse(raw),
            SourceKind::GithubAudit => github_audit::parse(raw),
        }
    }
}

/// Splits a caller field into an IP address or, when it is not one, a host name (such as
/// `kms.amazonaws.com`). Empty, `null` and unspecified addresses give neither.
pub(crate) fn split_source(
    s: Option<std::borrow::Cow<'_, str>>,
) -> (Option<std::net::IpAddr>, Option<std::borrow::Cow<'_, str>>) {
    match s {
        Some(s) => match parse_ip_any(&s) {
            Some(ip) if ip.is_unspecified() => (None, None),
            Some(ip) => (Some(ip), None),
            None if s.trim().is_empty() || s == "null" => (None, None),
            None => (None, Some(s)),
        },
        None => (None, None),
    }
}

/// Parses a textual IP, tolerating an IPv4 `:port` suffix and IPv6 brackets.
fn parse_ip_any(s: &str) -> Option<std::net::IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    let s = s.trim_start_matches('[');
    if let Some((host, _)) = s.rsplit_once([']', ':']) {
        let host = host.trim_end_matches(']');
        return host.parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_forms() {
        use std::borrow::Cow;
        let ip = |s: &str| {
            split_source(Some(Cow::Borrowed(s)))
                .0
                .map(|i| i.to_string())
        };
        let host = |s: &str| {
            split_source(Some(Cow::Borrowed(s)))
                .1
                .map(|h| h.into_owned())
        };
        assert_eq!(ip("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip("1.2.3.4:443").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(
            host("kms.amazonaws.com").as_deref(),
            Some("kms.amazonaws.com")
        );
        assert_eq!(host("AWS Internal").as_deref(), Some("AWS Internal"));
        assert_eq!(split_source(Some(Cow::Borrowed("0.0.0.0"))), (None, None));
        assert_eq!(split_source(Some(Cow::Borrowed(""))), (None, None));
    }

    #[test]
    fn eventbridge_envelope() {
        let p = Parsers::default();
        let raw = br#"{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.sts","time":"2024-03-01T00:00:01Z","detail":{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u","accountId":"1"},"eventTime":"2024-03-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","eventID":"e1"}}"#;
        let ev = p.parse(raw, Format::Auto).unwrap();
        assert_eq!(ev.source, SourceKind::Cloudtrail);
        assert_eq!(ev.action(), "sts:GetCallerIdentity");
        assert_eq!(ev.record_id.as_deref(), Some("e1"));
        assert_eq!(ev.time_ms, 1_709_251_200_000);
    }

    #[test]
    fn deeply_nested_envelopes_are_refused_after_two_levels() {
        let p = Parsers::default();
        let inner = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u","accountId":"1"},"eventTime":"2024-03-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","eventID":"e1"}"#;
        let wrap =
            |s: String| format!(r#"{{"detail-type":"AWS API Call via CloudTrail","detail":{s}}}"#);
        // Two envelopes: still a record.
        let two = wrap(wrap(inner.to_string()));
        assert!(p.parse(two.as_bytes(), Format::Auto).is_ok());
        // Three: refused, whatever lies inside.
        let three = wrap(two.clone());
        assert!(p.parse(three.as_bytes(), Format::Auto).is_err());
        // The hostile shape: 30,000 levels in about 1 MB. Refused after three scans instead of
        // thirty thousand (it took 24 s before the bound).
        let deep = format!(
            "{}{{}}{}",
            r#"{"detail-type":"x","detail":"#.repeat(30_000),
            "}".repeat(30_000)
        );
        let p = Parsers::new(4 << 20);
        assert!(p.parse(deep.as_bytes(), Format::Auto).is_err());
    }

    #[test]
    fn errors_by_reason() {
        let p = Parsers::new(1000);
        let r = |b: &[u8]| p.parse(b, Format::Auto).unwrap_err().reason();
        assert_eq!(
            r(b"{\"eventName\": \"X\", \"eventTime\": "),
            "malformed_json"
        );
        assert_eq!(r(b"[1,2]"), "not_an_object");
        assert_eq!(r(b"\x00\x01\xfe\xff"), "malformed_json");
        assert_eq!(r(b"{\"hello\": 1}"), "unknown_format");
        assert_eq!(r(&[b' '; 2000]), "too_large");
        assert_eq!(r(b""), "malformed_json");
    }
}
