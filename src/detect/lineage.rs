//! Credential lineage: access keys minted in the logs, remembered with who minted them, for whom,
//! from where and with what, so the first use of a new key is judged against its birth.
//!
//! A key an identity mints for itself and uses from the same place and client is how rotation
//! looks: Low. It is Medium or above when another identity minted it (T1098.001), when it is
//! first used from another network or client than the minting call, or when its creator had
//! a Medium+ finding (escalation, enumeration, denied calls) in the hour before minting.
//!
//! The key itself needs no baseline of its own: baselines are per identity (the IAM user), so a
//! rotated key inherits its user's history. Lineage is cross-identity state: kept in the
//! engine, bounded (`MAX_MINTED`, entries older than `KEEP_MS` dropped), and snapshotted.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::baseline::{feature_value, Feature};
use crate::event::{AuditEvent, Outcome, SourceKind};
use crate::time::DAY_MS;

/// Minted credentials remembered.
const MAX_MINTED: usize = 100_000;
/// How long a minted credential is remembered waiting for its first use.
const KEEP_MS: i64 = 30 * DAY_MS;

/// One minted credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Minted {
    /// Identity key of the creator.
    pub creator: Box<str>,
    /// The user the credential was minted for.
    pub owner: Box<str>,
    /// The minting call's event time.
    pub at: i64,
    /// The minting call's network (/24 or /48 feature key).
    pub network: Option<u64>,
    /// The minting call's client family (feature key).
    pub client: Option<u64>,
    /// Client family label of the minting call.
    pub client_label: Box<str>,
    /// Minted by the identity for itself.
    pub self_minted: bool,
    /// The creator had a Medium+ finding in the hour before.
    pub creator_flagged: bool,
    /// Used since.
    pub used: bool,
}

/// Credentials minted in the logs, by credential hash, and the identities that did something
/// risky lately (to judge what they mint next).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Lineage {
    minted: FxHashMap<u64, Minted>,
    /// Identity hash -> event time of its latest risky call: a Medium+ finding, a denied call,
    /// or a policy write granting admin-like rights. Kept for an hour.
    risky: FxHashMap<u64, i64>,
}

/// How long a risky call flags what its identity mints next.
const RISKY_MS: i64 = crate::time::HOUR_MS;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyResp<'a> {
    #[serde(borrow)]
    access_key: Option<AccessKey<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessKey<'a> {
    #[serde(borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_name: Option<Cow<'a, str>>,
}

/// The access key a successful `iam:CreateAccessKey` minted, and the user it is for.
pub fn minted_access_key<'a>(ev: &AuditEvent<'a>) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    if ev.source != SourceKind::Cloudtrail
        || ev.outcome != Outcome::Success
        || ev.service != "iam"
        || ev.operation != "CreateAccessKey"
    {
        return None;
    }
    let r: KeyResp<'a> = serde_json::from_str(ev.response?.get()).ok()?;
    let k = r.access_key?;
    let id = k.access_key_id.filter(|s| !s.is_empty())?;
    // Without a userName in the answer or the request, the caller minted for itself.
    let owner = k
        .user_name
        .or_else(|| ev.target.clone())
        .unwrap_or_else(|| ev.identity.name.clone());
    Some((id, owner))
}

fn cred_hash(c: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(c.as_bytes(), 0xC4ED)
}

impl Lineage {
    /// Credentials remembered.
    pub fn len(&self) -> usize {
        self.minted.len()
    }

    /// True when no credential is remembered.
    pub fn is_empty(&self) -> bool {
        self.minted.is_empty()
    }

    /// The minted credential the event uses for the first time, if any.
    pub fn first_use(&self, ev: &AuditEvent<'_>) -> Option<&Minted> {
        if self.minted.is_empty() {
            return None;
        }
        let c = ev.identity.credential.as_deref()?;
        self.minted
            .get(&cred_hash(c))
            .filter(|m| !m.used && ev.time_ms >= m.at)
    }

    /// The identity that minted the credential the event uses (any use while it is
    /// remembered), when that is another identity: its incident is this one's too.
    pub fn minter_of<'s>(&'s self, ev: &AuditEvent<'_>) -> Option<&'s str> {
        if self.minted.is_empty() {
            return None;
        }
        let c = ev.identity.credential.as_deref()?;
        self.minted
            .get(&cred_hash(c))
            .filter(|m| ev.time_ms >= m.at && *m.creator != *ev.identity.key)
            .map(|m| &*m.creator)
    }

    /// True for a call that makes what its identity mints in the next hour suspect.
    fn is_risky(ev: &AuditEvent<'_>, medium_finding: bool) -> bool {
        use crate::event::policy::{assess_cloudtrail, Grant};
        medium_finding
            || ev
                .classes
                .contains(crate::event::classify::ActionClass::Denied)
            || (ev.service == "iam"
                && assess_cloudtrail(&ev.service, &ev.operation, ev.request.map(|r| r.get()))
                    .is_some_and(|a| matches!(a.grant, Grant::Admin | Grant::ServiceWildcard)))
    }

    /// After the rules ran: note a risky call; remember a credential the event minted; mark one
    /// it used. `medium_finding`: the event raised a Medium+ finding.
    pub fn observe(&mut self, ev: &AuditEvent<'_>, medium_finding: bool) {
        // Most events neither are risky nor mint: no identity hash for them.
        let idh = || xxhash_rust::xxh3::xxh3_64(ev.identity.key.as_bytes());
        if Self::is_risky(ev, medium_finding) {
            if self.risky.len() >= MAX_MINTED {
                let now = ev.time_ms;
                self.risky.retain(|_, t| now.saturating_sub(*t) <= RISKY_MS);
            }
            if self.risky.len() < MAX_MINTED {
                let t = self.risky.entry(idh()).or_insert(ev.time_ms);
                *t = (*t).max(ev.time_ms);
            }
        }
        if let Some((id, owner)) = minted_access_key(ev) {
            let creator_flagged = self
                .risky
                .get(&idh())
                .is_some_and(|t| ev.time_ms.saturating_sub(*t) <= RISKY_MS);
            if self.minted.len() >= MAX_MINTED {
                self.prune(ev.time_ms);
            }
            if self.minted.len() < MAX_MINTED {
                let m = Minted {
                    creator: ev.identity.key.as_ref().into(),
                    self_minted: owner == ev.identity.name,
                    owner: owner.as_ref().into(),
                    at: ev.time_ms,
                    network: feature_value(ev, Feature::Network).map(|v| v.key),
                    client: feature_value(ev, Feature::Client).map(|v| v.key),
                    client_label: ev.client().into(),
                    creator_flagged,
                    used: false,
                };
                self.minted.insert(cred_hash(&id), m);
            }
        }
        if self.minted.is_empty() {
            return;
        }
        if let Some(c) = ev.identity.credential.as_deref() {
            if let Some(m) = self.minted.get_mut(&cred_hash(c)) {
                if ev.time_ms >= m.at {
                    m.used = true;
                }
            }
        }
    }

    /// Drops credentials older than the keep time, and risky marks older than an hour.
    pub fn prune(&mut self, now: i64) {
        self.minted
            .retain(|_, m| now.saturating_sub(m.at) < KEEP_MS);
        self.risky.retain(|_, t| now.saturating_sub(*t) <= RISKY_MS);
    }

    /// Approximate heap use.
    pub fn approx_bytes(&self) -> usize {
        self.minted.capacity() * (8 + std::mem::size_of::<Minted>() + 1)
            + self.risky.capacity() * 17
            + self
                .minted
                .values()
                .map(|m| m.creator.len() + m.owner.len() + m.client_label.len())
                .sum::<usize>()
    }
}
