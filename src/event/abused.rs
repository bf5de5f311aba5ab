//! Actions used in real attacks, from TrailDiscover by Adan Alvarez (CC BY 4.0; see NOTICE and
//! `data/traildiscover-abused.tsv`, built by `scripts/build-traildiscover.py`).
//!
//! The flag may raise a first-use finding and is cited in alert text ("used in 12 public
//! incident reports"); it never lowers anything.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../data/traildiscover-abused.tsv");

/// How an action was abused in the wild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abused {
    /// Public incident reports citing it.
    pub incident_reports: u16,
    /// ATT&CK tactic ids, comma-separated (`TA0003,TA0004`).
    pub tactics: &'static str,
}

fn table() -> &'static HashMap<&'static str, Abused> {
    static T: OnceLock<HashMap<&'static str, Abused>> = OnceLock::new();
    T.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut it = l.split('\t');
                let action = it.next()?;
                let n = it.next()?.parse().ok()?;
                let tactics = it.next().unwrap_or("");
                Some((
                    action,
                    Abused {
                        incident_reports: n,
                        tactics,
                    },
                ))
            })
            .collect()
    })
}

/// The TrailDiscover entry of an AWS action (`service:Operation`), if it was abused in the wild.
pub fn lookup(action: &str) -> Option<Abused> {
    table().get(action).copied()
}

/// The citation shown in alert text, if the action was abused in the wild.
pub fn citation(action: &str) -> Option<String> {
    lookup(action).map(|a| {
        format!(
            "{action} is used in {} public incident report(s) (TrailDiscover)",
            a.incident_reports
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_actions() {
        let a = lookup("iam:CreateAccessKey").unwrap();
        assert!(a.incident_reports >= 10);
        assert!(a.tactics.contains("TA0003"));
        assert!(lookup("iam:PutUserPolicy").is_some());
        assert_eq!(lookup("glue:GetTable"), None);
        assert!(table().len() > 200);
    }
}
