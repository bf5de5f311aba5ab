//! `minted_credential`: the first use of an access key minted in the logs, judged against its
//! minting (lineage.rs). A key the identity minted for itself and uses from the same network and
//! client is rotation (the rule's own severity, Low in the bundled pack); another identity
//! minting it, a network or client that neither the minting call nor the key's user ever used,
//! or a creator with a Medium+ finding in the hour before raise it.

use super::Hit;
use crate::baseline::{feature_value, BaselineConfig, Feature, Profile};
use crate::detect::engine::Anomaly;
use crate::detect::lineage::Lineage;
use crate::detect::rule::Scope;
use crate::event::AuditEvent;
use crate::time::format_duration_ms;

/// Judges the event if it is the first use of a minted credential.
pub fn evaluate(
    ev: &AuditEvent<'_>,
    lineage: &Lineage,
    profile: Option<&Profile>,
    cfg: &BaselineConfig,
) -> Option<Hit> {
    let m = lineage.first_use(ev)?;
    // A place or client the key's user already works from is not "elsewhere".
    let known = |f: Feature, key: Option<u64>| {
        key.zip(profile).is_some_and(|(k, p)| {
            let now = p.last_seen.max(ev.time_ms);
            p.values(f).get_live(k, now, cfg.forget_after_ms).is_some()
        })
    };
    let mut components = Vec::new();
    let mut why = Vec::new();
    if !m.self_minted {
        components.push(("minted_by_another_identity", 30));
        why.push(format!("minted by {} for {}", m.creator, m.owner));
    }
    let net = feature_value(ev, Feature::Network).map(|v| v.key);
    if net.is_some() && m.network.is_some() && net != m.network && !known(Feature::Network, net) {
        components.push(("network_differs_from_minting", 20));
        why.push("used from another network than the minting call".into());
    }
    let client = feature_value(ev, Feature::Client).map(|v| v.key);
    if client.is_some()
        && m.client.is_some()
        && client != m.client
        && !known(Feature::Client, client)
    {
        components.push(("client_differs_from_minting", 15));
        why.push(format!(
            "used with client {} (minted with {})",
            ev.client(),
            m.client_label
        ));
    }
    if m.creator_flagged {
        components.push(("minted_after_risky_activity", 30));
        why.push("its creator had a Medium+ finding within the hour before minting it".into());
    }
    let cred = ev.identity.credential.as_deref().unwrap_or("");
    let age = format_duration_ms(ev.time_ms.saturating_sub(m.at));
    let anomaly = Anomaly {
        feature: "credential",
        observation_type: "lineage",
        scope: Scope::Identity,
        observed: format!("{cred} first used {age} after it was minted"),
        baseline: Vec::new(),
        baseline_total: 0,
        scope_first_seen: m.at,
        scope_events: 0,
        pattern: Some({
            let mut p = if why.is_empty() {
                format!(
                    "minted by {} for itself and used from the same network and client (how rotation looks)",
                    m.creator
                )
            } else {
                why.join("; ")
            };
            if !why.is_empty() {
                if let Some(c) = crate::event::abused::citation("iam:CreateAccessKey") {
                    p.push_str("; ");
                    p.push_str(&c);
                }
            }
            p
        }),
    };
    Some(Hit {
        anomalies: vec![anomaly],
        components,
    })
}
