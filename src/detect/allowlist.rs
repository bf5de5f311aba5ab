//! The allowlist / overrides file: reviewed exceptions kept apart from the rule pack. Each entry
//! names what it allows (an identity, a rule, a feature value, a source network — any
//! combination; `*` globs in identity and rule), why, who approved it and until when. An entry can
//! also approve its value into the identity's baseline, so the identity's detectors treat it as
//! known (a planned move to a new region or provider) instead of only muting one rule.
//!
//! Expiry is compared with event time, so a replay of old data applies the allowlist as it was.
//!
//! ```yaml
//! entries:
//!   - identity: "arn:aws:iam::111122223333:role/etl-*"
//!     rule: standard.new_country
//!     feature: country
//!     value: DE
//!     expires: 2027-03-31
//!     reason: ETL moves to eu-central-1 (CHG-1234)
//!     approver: alice@example.com
//!     approve_into_baseline: false
//! ```

use std::path::Path;

use ipnet::IpNet;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::engine::Finding;
use super::rule::{Problem, Rule};
use crate::baseline::{feature_key_from_label, BaselineStore, Feature};
use crate::event::AuditEvent;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    #[serde(default)]
    entries: Vec<Spanned<EntryForm>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryForm {
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    feature: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    cidr: Option<String>,
    expires: Option<String>,
    reason: Option<String>,
    approver: Option<String>,
    #[serde(default)]
    approve_into_baseline: bool,
}

/// One compiled entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Identity key glob.
    pub identity: Option<String>,
    /// Rule id glob.
    pub rule: Option<String>,
    /// Feature of the value.
    pub feature: Option<Feature>,
    /// Observed value (case-insensitive).
    pub value: Option<String>,
    /// Source network.
    pub cidr: Option<IpNet>,
    /// Event time from which the entry no longer applies (`None`: never expires).
    pub expires_ms: Option<i64>,
    /// Why.
    pub reason: String,
    /// Who approved.
    pub approver: String,
    /// Also add the value to the identity's baseline.
    pub approve_into_baseline: bool,
    /// Line in the file.
    pub line: u64,
}

/// The loaded allowlist.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    /// Entries.
    pub entries: Vec<Entry>,
    /// Approvals not yet applied, by identity key: (feature, value key, entry index).
    pending: FxHashMap<String, Vec<(Feature, u64, usize)>>,
}

/// `*` matches any run of characters.
pub fn glob(pat: &str, s: &str) -> bool {
    let parts: Vec<&str> = pat.split('*').collect();
    if parts.len() == 1 {
        return pat == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

impl Allowlist {
    /// Loads and checks an allowlist file; every problem is reported with its line.
    pub fn load(path: &Path) -> Result<Allowlist, Vec<Problem>> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Problem {
                file: name.clone(),
                line: 0,
                message: format!("cannot read allowlist: {e}"),
            }]
        })?;
        Self::parse(&name, &text)
    }

    /// Parses allowlist text.
    pub fn parse(name: &str, text: &str) -> Result<Allowlist, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |line: u64, message: String| {
            problems.push(Problem {
                file: name.to_string(),
                line,
                message,
            })
        };
        let f: FileForm = match serde_saphyr::from_str(text) {
            Ok(f) => f,
            Err(e) => return Err(vec![super::rule::yaml_problem(name, "allowlist", &e)]),
        };
        let mut out = Allowlist::default();
        for e in f.entries {
            let line = e.referenced.line();
            let e = e.value;
            let reason = e.reason.clone().unwrap_or_default();
            let approver = e.approver.clone().unwrap_or_default();
            if reason.trim().is_empty() {
                problem(line, "entry needs a reason".into());
            }
            if approver.trim().is_empty() {
                problem(line, "entry needs an approver".into());
            }
            let expires_ms = match e.expires.as_deref() {
                None => {
                    problem(line, "entry needs expires (a date, or `never`)".into());
                    None
                }
                Some("never") => None,
                Some(d) => {
                    let full = if d.len() == 10 {
                        format!("{d}T00:00:00Z")
                    } else {
                        d.to_string()
                    };
                    match crate::time::parse_rfc3339_ms(&full) {
                        Some(t) => Some(t),
                        None => {
                            problem(line, format!("expires: bad date {d:?} (YYYY-MM-DD)"));
                            None
                        }
                    }
                }
            };
            let feature = match e.feature.as_deref() {
                None => None,
                Some(n) => match Feature::from_name(n) {
                    Some(f) => Some(f),
                    None => {
                        problem(line, format!("unknown feature {n:?}"));
                        None
                    }
                },
            };
            let cidr = match e.cidr.as_deref() {
                None => None,
                Some(c) => match c.parse::<IpNet>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        problem(line, format!("bad cidr {c:?}"));
                        None
                    }
                },
            };
            if e.identity.is_none() && e.rule.is_none() && e.value.is_none() && cidr.is_none() {
                problem(
                    line,
                    "entry allows everything: name an identity, rule, value or cidr".into(),
                );
            }
            if e.approve_into_baseline {
                match (&e.identity, feature, &e.value) {
                    (Some(id), Some(f), Some(v)) if !id.contains('*') => {
                        match feature_key_from_label(f, v) {
                            Some(k) => out.pending.entry(id.clone()).or_default().push((
                                f,
                                k,
                                out.entries.len(),
                            )),
                            None => {
                                problem(line, format!("value {v:?} is not a valid {}", f.as_str()))
                            }
                        }
                    }
                    _ => problem(
                        line,
                        "approve_into_baseline needs an exact identity, a feature and a value"
                            .into(),
                    ),
                }
            }
            out.entries.push(Entry {
                identity: e.identity,
                rule: e.rule,
                feature,
                value: e.value.map(|v| v.to_ascii_lowercase()),
                cidr,
                expires_ms,
                reason,
                approver,
                approve_into_baseline: e.approve_into_baseline,
                line,
            });
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// True if some approvals wait for their identity's first event.
    pub fn has_pending_approvals(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Applies the approvals of `identity` (before its event is evaluated).
    pub fn apply_approvals(&mut self, identity: &str, t: i64, store: &mut BaselineStore) {
        let Some(list) = self.pending.remove(identity) else {
            return;
        };
        for (f, k, e) in list {
            let entry = &self.entries[e];
            if entry.expires_ms.is_some_and(|x| t >= x) {
                continue;
            }
            store.approve(identity, f, k, t);
            store.labels.set(k, entry.value.as_deref().unwrap_or(""));
        }
    }

    /// True if an active entry allows this finding.
    pub fn allows(&self, rule: &Rule, ev: &AuditEvent<'_>, f: &Finding) -> bool {
        self.entries.iter().any(|e| {
            if e.expires_ms.is_some_and(|x| ev.time_ms >= x) {
                return false;
            }
            if e.identity
                .as_deref()
                .is_some_and(|g| !glob(g, &ev.identity.key))
            {
                return false;
            }
            if e.rule.as_deref().is_some_and(|g| !glob(g, &rule.id)) {
                return false;
            }
            if let Some(net) = &e.cidr {
                if !ev.src_ip.is_some_and(|ip| net.contains(&ip)) {
                    return false;
                }
            }
            if let Some(v) = &e.value {
                let hit = f.anomalies.iter().any(|a| {
                    e.feature.is_none_or(|ft| ft.as_str() == a.feature)
                        && a.observed.to_ascii_lowercase() == *v
                }) || (e.feature.is_none()
                    && ev
                        .target
                        .as_deref()
                        .is_some_and(|t| t.to_ascii_lowercase() == *v));
                if !hit {
                    return false;
                }
            }
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("arn:*:role/etl-*", "arn:aws:iam::1:role/etl-x"));
        assert!(!glob("arn:*:role/etl-*", "arn:aws:iam::1:role/web"));
        assert!(glob("*", "x"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "ac"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn problems_are_listed() {
        let text = "entries:\n  - rule: x\n    expires: soon\n  - identity: a\n    value: US\n    feature: planet\n    reason: r\n    approver: b\n    expires: never\n";
        let p = Allowlist::parse("a.yml", text).unwrap_err();
        let msgs: Vec<String> = p
            .iter()
            .map(|p| format!("{}: {}", p.line, p.message))
            .collect();
        assert!(
            msgs.iter().any(|m| m.contains("needs a reason")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("bad date")), "{msgs:?}");
        assert!(
            msgs.iter().any(|m| m.contains("unknown feature")),
            "{msgs:?}"
        );
    }
}
