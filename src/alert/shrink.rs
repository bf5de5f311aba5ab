//! Cutting an alert to fit a sink. Attackers control much of what an alert quotes (user
//! agents, session and resource names): a record just under the record limit can make an alert
//! larger than a Kafka broker, HEC or a webhook receiver accepts, and a refused alert must not
//! block the pipeline. Long strings are cut with a marker, never the ids receivers deduplicate
//! on, and `unmapped.nhid.truncated` keeps the whole document's size and SHA-256.
//!
//! Cold path (only alerts over a limit): the alert goes through a JSON tree.

use serde_json::Value;

use super::model::{Alert, Truncated};
use crate::sinks::format::Format;
use crate::sinks::AlertOut;

/// Strings are never cut below this.
const MIN_STRING_BYTES: usize = 64;

/// Fields never cut: idempotency keys and identity keys.
const KEEP: &[&str] = &[
    "uid",
    "uid_alt",
    "credential_uid",
    "finding_uid",
    "revoke_handle",
];

/// A copy of `a` whose rendering in `format` is at most `limit` bytes, or `None` if even with
/// every string cut to [`MIN_STRING_BYTES`] it is larger.
pub fn shrink(a: &AlertOut, format: Format, limit: usize) -> Option<AlertOut> {
    let tree = serde_json::to_value(&*a.alert).ok()?;
    let longest = longest_string(&tree);
    let mut cap = (longest / 2).max(MIN_STRING_BYTES);
    loop {
        let mut t = tree.clone();
        cut_strings(&mut t, cap, None);
        let mut alert: Alert = serde_json::from_value(t).ok()?;
        alert.unmapped.nhid.truncated = Some(Truncated {
            original_bytes: a.json.len() as u64,
            original_sha256: crate::deadletter::sha256_hex(&a.json),
            limit_bytes: limit as u64,
            max_string_bytes: cap as u64,
        });
        let out = AlertOut::new(alert, &a.rule, a.severity, &a.identity).ok()?;
        if out.render(format).len() <= limit {
            return Some(out);
        }
        if cap <= MIN_STRING_BYTES {
            return None;
        }
        cap = (cap / 2).max(MIN_STRING_BYTES);
    }
}

fn longest_string(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(o) => o.values().map(longest_string).max().unwrap_or(0),
        _ => 0,
    }
}

fn cut_strings(v: &mut Value, cap: usize, key: Option<&str>) {
    match v {
        Value::String(s) if s.len() > cap && !key.is_some_and(|k| KEEP.contains(&k)) => {
            let mut cut = cap;
            while cut > 0 && !s.is_char_boundary(cut) {
                cut -= 1;
            }
            let dropped = s.len() - cut;
            s.truncate(cut);
            s.push_str(&format!("…[truncated {dropped} bytes]"));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| cut_strings(x, cap, key)),
        Value::Object(o) => o
            .iter_mut()
            .for_each(|(k, x)| cut_strings(x, cap, Some(k.as_str()))),
        _ => {}
    }
}
