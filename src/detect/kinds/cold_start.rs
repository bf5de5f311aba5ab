//! `cold_start`: an identity with no baseline of its own yet (first seen, or still learning) is
//! judged against its account and its peers. A call of a sensitive class (IAM writes, secret
//! reads, enumeration, denied calls) from a country, network or client its account has never
//! shown, when no peer of the identity makes that call, is suspicious from the first event.
//!
//! Quiet while the account itself warms up (priors.rs): "never seen in this account" means
//! nothing about an account watched for an hour.

use super::Hit;
use crate::baseline::feature_label;
use crate::baseline::priors::{account_novelty, watched_hours};
use crate::detect::engine::{Anomaly, Cross};
use crate::detect::rule::{ColdStartParams, Scope};
use crate::event::AuditEvent;

/// Judges one event of a learning identity; `None` when it has a baseline of its own.
pub fn evaluate(
    p: &ColdStartParams,
    ev: &AuditEvent<'_>,
    still_learning: bool,
    cross: &Cross<'_>,
) -> Option<Hit> {
    if !still_learning || ev.via_cloud_service() {
        return None;
    }
    if !p.classes.is_empty() && !p.classes.iter().any(|c| ev.classes.contains(*c)) {
        return None;
    }
    let novel = account_novelty(cross.priors, ev, cross.config, &p.features)?;
    if novel.is_empty() {
        return None;
    }
    let peers = cross.priors.peers(ev, cross.config);
    if peers.others_do {
        return None;
    }
    let account = cross.priors.account(ev)?;
    let acct = ev.identity.account.as_deref().unwrap_or("?");
    let action = ev.action();
    let peer_text = if peers.groups > 0 {
        format!(
            "none of its peers (a group of {} identities named alike) calls {action}",
            peers.members
        )
    } else {
        "it has no peer group".to_string()
    };
    let anomalies = novel
        .iter()
        .map(|f| Anomaly {
            feature: f.as_str(),
            observation_type: "new_value",
            scope: Scope::Account,
            observed: feature_label(ev, *f),
            baseline: Vec::new(),
            baseline_total: account.values(*f).map_or(0, |s| s.len()),
            scope_first_seen: account.first_seen,
            scope_events: account.events,
            pattern: Some(format!(
                "no identity in account {acct} has used this {} in {} h and {} events; this identity is new (still learning) and {peer_text}",
                f.as_str(),
                watched_hours(account),
                account.events
            )),
        })
        .collect::<Vec<_>>();
    let mut components = Vec::new();
    if novel.len() > 1 {
        components.push(("new_to_account", 10 * (novel.len() as i32 - 1)));
    }
    if peers.groups > 0 {
        components.push(("no_peer_does_this", 10));
    }
    Some(Hit {
        anomalies,
        components,
    })
}
