//! Priors: what an identity's account and its peers do, for judging identities that have no
//! baseline of their own yet (first seen, or still learning).
//!
//! - **Account priors**: per account (AWS account, Azure tenant), the countries, ASNs, client
//!   families and actions ever seen there, with the number of identities that brought each
//!   value and first/last-seen times (a value enters when an identity shows it for the first
//!   time, so the per-event cost is one account lookup).
//! - **Peer groups**: identities of one account and kind whose names share a pattern (digit,
//!   hex and UUID runs collapsed and the last name token wildcarded: `etl-worker-01` and
//!   `etl-worker-02` are `etl-worker-*`), or the same IAM path, or the same inventory team; and
//!   identities of one kind named alike in any account of the stream (an organisation names its
//!   deployer roles the same way in every account). A group
//!   counts once it has `peer_min_members` members; for each action it remembers up to two
//!   members that called it, so "a peer does this" means another member did.
//!
//! **The account has a cold start too.** A replay or a fresh deployment starts with empty
//! priors; until an account has been watched for `warmup` of event time and `warmup_events`
//! events, "never seen in this account" is not evidence ([`Priors::account_warm`]).
//!
//! Priors are updated after the rules ran on an event (like profiles), in event time, bounded
//! (`max_accounts`, `max_groups`, and capped value sets), and kept in snapshots. They are
//! cross-identity state: with several detection shards each shard keeps its own copy for the
//! identities it owns (documented in docs/priors.md).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{feature_value, Feature};
use crate::event::AuditEvent;
use crate::time::{DAY_MS, HOUR_MS};

/// Priors settings (`[priors]`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PriorsConfig {
    /// Keep cross-identity state at all (account and peer priors, credential lineage). Off, the
    /// cold-start and lineage rules stay quiet and no peer lowers a score.
    pub enabled: bool,
    /// Event time an account must be watched before its priors count.
    pub warmup_ms: i64,
    /// Events an account must have before its priors count.
    pub warmup_events: u64,
    /// Members a peer group needs.
    pub peer_min_members: usize,
    /// Accounts tracked (beyond it, new accounts get no priors).
    pub max_accounts: usize,
    /// Peer groups tracked (beyond it, new groups are not formed).
    pub max_groups: usize,
}

impl Default for PriorsConfig {
    fn default() -> Self {
        PriorsConfig {
            enabled: true,
            warmup_ms: DAY_MS,
            warmup_events: 1_000,
            peer_min_members: 3,
            max_accounts: 10_000,
            max_groups: 100_000,
        }
    }
}

/// Features kept per account.
pub const ACCOUNT_FEATURES: [Feature; 4] = [
    Feature::Country,
    Feature::Asn,
    Feature::Client,
    Feature::Action,
];

/// Values an account's priors remember, per feature (actions more).
fn capacity(f: Feature) -> usize {
    match f {
        Feature::Action => 2048,
        _ => 256,
    }
}

/// A bounded set of feature values with counts and times, hashed (an account's sets are large
/// and consulted on every event; the per-identity `ValueSet` is a small linear list).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PriorSet {
    cap: u32,
    map: FxHashMap<u64, PriorValue>,
}

/// One value of a [`PriorSet`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PriorValue {
    /// Identities that brought the value (each counted when it first showed it).
    pub count: u32,
    /// First event time.
    pub first_seen: i64,
    /// Latest event time.
    pub last_seen: i64,
}

impl PriorSet {
    fn new(cap: usize) -> Self {
        PriorSet {
            cap: cap as u32,
            map: FxHashMap::default(),
        }
    }

    /// The value, if the account has shown it.
    pub fn get(&self, key: u64) -> Option<&PriorValue> {
        self.map.get(&key)
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn observe(&mut self, key: u64, t: i64) {
        if let Some(v) = self.map.get_mut(&key) {
            v.count = v.count.saturating_add(1);
            v.first_seen = v.first_seen.min(t);
            v.last_seen = v.last_seen.max(t);
            return;
        }
        if self.map.len() >= self.cap as usize {
            // Full: the least recently seen value makes room (rare: caps are generous).
            if let Some(old) = self
                .map
                .iter()
                .min_by_key(|(_, v)| v.last_seen)
                .map(|(k, _)| *k)
            {
                self.map.remove(&old);
            }
        }
        self.map.insert(
            key,
            PriorValue {
                count: 1,
                first_seen: t,
                last_seen: t,
            },
        );
    }

    fn approx_bytes(&self) -> usize {
        self.map.capacity() * (8 + std::mem::size_of::<PriorValue>() + 1)
    }
}

/// What one account has shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountPrior {
    /// First event time.
    pub first_seen: i64,
    /// Latest event time.
    pub last_seen: i64,
    /// Events observed.
    pub events: u64,
    values: [PriorSet; 4],
}

impl AccountPrior {
    fn new(t: i64) -> Self {
        AccountPrior {
            first_seen: t,
            last_seen: t,
            events: 0,
            values: ACCOUNT_FEATURES.map(|f| PriorSet::new(capacity(f))),
        }
    }

    /// The account's values of a feature (country, asn, client, action).
    pub fn values(&self, f: Feature) -> Option<&PriorSet> {
        ACCOUNT_FEATURES
            .iter()
            .position(|x| *x == f)
            .map(|i| &self.values[i])
    }
}

/// Who in a peer group called an action: up to two members.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Doers {
    first: u64,
    second: u64,
}

/// Members of a group remembered (enough to know the group is a group).
const GROUP_MEMBERS: usize = 8;
/// Actions a group remembers.
const GROUP_ACTIONS: usize = 1024;

/// One peer group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PeerGroup {
    /// Up to [`GROUP_MEMBERS`] member identity hashes.
    members: Vec<u64>,
    /// Latest event time.
    last_seen: i64,
    actions: FxHashMap<u64, Doers>,
}

/// What the peers of an identity do with one action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerView {
    /// Groups of the identity with enough members.
    pub groups: usize,
    /// Members of the largest such group.
    pub members: u32,
    /// True if another member of such a group called the action.
    pub others_do: bool,
}

impl PeerGroup {
    /// Members counted (up to [`GROUP_MEMBERS`]: "at least 8" is enough).
    pub fn size(&self) -> u32 {
        self.members.len() as u32
    }
}

/// Account and peer priors.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Priors {
    accounts: FxHashMap<u64, AccountPrior>,
    groups: FxHashMap<u64, PeerGroup>,
}

/// A stable 64-bit hash of a string (xxh3, seeded per use so keys of different kinds differ).
fn h(s: &str, seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(s.as_bytes(), seed)
}

/// The account an event belongs to, hashed.
pub fn account_key(ev: &AuditEvent<'_>) -> Option<u64> {
    ev.identity.account.as_deref().map(|a| h(a, 0xACC0))
}

/// True for name tokens that number or identify instances (`01`, `7f3a9c2e1b`, UUID parts).
fn is_run(tok: &str) -> bool {
    !tok.is_empty()
        && (tok.bytes().all(|b| b.is_ascii_digit())
            || (tok.len() >= 6
                && tok.bytes().all(|b| b.is_ascii_hexdigit())
                && tok.bytes().any(|b| b.is_ascii_digit())))
}

/// The name pattern of an identity, hashed without allocating: tokens split on `-_.@ /`, runs
/// of digits inside tokens and instance-like tokens collapsed to `#`, the last token
/// wildcarded. `None` for one-token names without digits (no pattern to share).
pub fn name_pattern(name: &str) -> Option<u64> {
    use std::hash::Hasher;
    let seps = |c: char| matches!(c, '-' | '_' | '.' | '@' | ' ' | '/');
    let mut hasher = xxhash_rust::xxh3::Xxh3::with_seed(0x9A77);
    let mut collapsed_any = false;
    // Each token is hashed when the next one arrives: the last one is wildcarded instead.
    let mut pending: Option<&str> = None;
    let mut tokens = 0;
    for tok in name.split(seps).filter(|t| !t.is_empty()) {
        tokens += 1;
        if let Some(prev) = pending.replace(tok) {
            collapsed_any |= hash_token(&mut hasher, prev);
        }
    }
    match (tokens, pending) {
        (0, _) | (_, None) => return None,
        (1, Some(only)) => collapsed_any |= hash_token(&mut hasher, only),
        (_, Some(_)) => {
            hasher.write_u8(b'|');
            hasher.write_u8(b'*');
            collapsed_any = true;
        }
    }
    collapsed_any.then(|| hasher.finish())
}

/// Hashes one name token with instance-like runs collapsed; true if anything was collapsed.
fn hash_token(hasher: &mut xxhash_rust::xxh3::Xxh3, tok: &str) -> bool {
    use std::hash::Hasher;
    hasher.write_u8(b'|');
    if is_run(tok) {
        hasher.write_u8(b'#');
        return true;
    }
    let mut collapsed = false;
    let mut in_digits = false;
    for b in tok.bytes() {
        if b.is_ascii_digit() {
            if !in_digits {
                hasher.write_u8(b'#');
                collapsed = true;
            }
            in_digits = true;
        } else {
            hasher.write_u8(b.to_ascii_lowercase());
            in_digits = false;
        }
    }
    collapsed
}

/// The IAM path of an AWS role or user ARN (`arn:aws:iam::1:role/deploy/app-x` → `deploy`).
fn iam_path(key: &str) -> Option<&str> {
    let res = key.strip_prefix("arn:aws:iam::")?.split_once(':')?.1;
    let rest = res.split_once('/')?.1;
    let (path, _) = rest.rsplit_once('/')?;
    Some(path)
}

/// Peer group keys an identity can have.
pub const MAX_GROUPS: usize = 4;

/// The peer groups an event's identity belongs to (at most [`MAX_GROUPS`] keys): name pattern,
/// IAM path and inventory team within its account, and the name pattern across the accounts of
/// the stream (one organisation's deployer roles are named alike in every account).
pub fn group_keys(ev: &AuditEvent<'_>, out: &mut [u64; MAX_GROUPS]) -> usize {
    match account_key(ev) {
        Some(acct) => group_keys_in(ev, acct, out),
        None => 0,
    }
}

fn group_keys_in(ev: &AuditEvent<'_>, acct: u64, out: &mut [u64; MAX_GROUPS]) -> usize {
    let kind = ev.identity.kind as u64;
    let mut n = 0;
    let pattern = name_pattern(&ev.identity.name);
    if let Some(p) = pattern {
        out[n] = p ^ kind.rotate_left(23) ^ 0x0126;
        n += 1;
    }
    let mut push = |k: u64| {
        out[n] = k ^ acct.rotate_left(7) ^ kind.rotate_left(23);
        n += 1;
    };
    if let Some(p) = pattern {
        push(p);
    }
    if let Some(p) = iam_path(&ev.identity.key) {
        push(h(p, 0x9A71));
    }
    if let Some(team) = ev.inventory.entry().and_then(|e| e.team.as_deref()) {
        push(h(team, 0x7EA4));
    }
    n
}

impl Priors {
    /// Accounts tracked.
    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// Peer groups tracked.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// The priors of the event's account.
    pub fn account(&self, ev: &AuditEvent<'_>) -> Option<&AccountPrior> {
        self.accounts.get(&account_key(ev)?)
    }

    /// The account's priors when they count: watched long enough, with enough events.
    pub fn account_warm(&self, ev: &AuditEvent<'_>, cfg: &PriorsConfig) -> Option<&AccountPrior> {
        self.account(ev).filter(|a| {
            a.events >= cfg.warmup_events
                && ev.time_ms.saturating_sub(a.first_seen) >= cfg.warmup_ms
        })
    }

    /// What the identity's peers do with the event's action.
    pub fn peers(&self, ev: &AuditEvent<'_>, cfg: &PriorsConfig) -> PeerView {
        let mut keys = [0u64; MAX_GROUPS];
        let n = group_keys(ev, &mut keys);
        let me = h(&ev.identity.key, 0x1D);
        let Some(action) = feature_value(ev, Feature::Action) else {
            return PeerView::default();
        };
        let mut view = PeerView::default();
        for k in &keys[..n] {
            let Some(g) = self.groups.get(k) else {
                continue;
            };
            // The identity being judged counts as a member (it is joining the group now).
            let size = g.size() + u32::from(!g.members.contains(&me));
            if (size as usize) < cfg.peer_min_members {
                continue;
            }
            view.groups += 1;
            view.members = view.members.max(size);
            if let Some(d) = g.actions.get(&action.key) {
                if d.first != me || (d.second != 0 && d.second != me) {
                    view.others_do = true;
                }
            }
        }
        view
    }

    /// Folds an event into its account's priors and its peer groups. `new_features` are the
    /// features ([`Feature::bit`]) whose value the event's identity showed for the first time:
    /// only those can be new to the account or to a peer group, so the per-event cost is one
    /// account lookup.
    pub fn observe(&mut self, ev: &AuditEvent<'_>, new_features: u8, cfg: &PriorsConfig) {
        if ev.identity.kind.is_platform() {
            return;
        }
        let Some(acct) = account_key(ev) else { return };
        let t = ev.time_ms;
        if !self.accounts.contains_key(&acct) && self.accounts.len() >= cfg.max_accounts {
            return;
        }
        let a = self
            .accounts
            .entry(acct)
            .or_insert_with(|| AccountPrior::new(t));
        a.events += 1;
        a.first_seen = a.first_seen.min(t);
        a.last_seen = a.last_seen.max(t);
        if new_features == 0 {
            return;
        }
        for (i, f) in ACCOUNT_FEATURES.into_iter().enumerate() {
            if new_features & f.bit() == 0 {
                continue;
            }
            if let Some(v) = feature_value(ev, f) {
                a.values[i].observe(v.key, t);
            }
        }
        // A member's first call of an action is all a peer group needs to know ("another
        // member did it"); the identity's repeats of it add nothing.
        if new_features & Feature::Action.bit() != 0 {
            self.observe_groups(ev, acct, cfg);
        }
    }

    fn observe_groups(&mut self, ev: &AuditEvent<'_>, acct: u64, cfg: &PriorsConfig) {
        let mut keys = [0u64; MAX_GROUPS];
        let n = group_keys_in(ev, acct, &mut keys);
        let me = h(&ev.identity.key, 0x1D);
        let action = feature_value(ev, Feature::Action).map(|v| v.key);
        for k in &keys[..n] {
            if !self.groups.contains_key(k) && self.groups.len() >= cfg.max_groups {
                continue;
            }
            let g = self.groups.entry(*k).or_default();
            g.last_seen = g.last_seen.max(ev.time_ms);
            if g.members.len() < GROUP_MEMBERS && !g.members.contains(&me) {
                g.members.push(me);
            }
            let Some(a) = action else { continue };
            if !g.actions.contains_key(&a) && g.actions.len() >= GROUP_ACTIONS {
                continue;
            }
            let d = g.actions.entry(a).or_default();
            if d.first == 0 {
                d.first = me;
            } else if d.first != me && d.second == 0 {
                d.second = me;
            }
        }
    }

    /// Drops peer groups of one member unseen for a week and accounts unseen for 90 days, so
    /// priors stay bounded by what is active.
    pub fn prune(&mut self, now: i64) {
        self.groups
            .retain(|_, g| g.size() > 1 || now.saturating_sub(g.last_seen) < 7 * DAY_MS);
        self.accounts
            .retain(|_, a| now.saturating_sub(a.last_seen) < 90 * DAY_MS);
    }

    /// Approximate heap use (for BENCHMARKS and the memory budget).
    pub fn approx_bytes(&self) -> usize {
        let acct: usize = self
            .accounts
            .values()
            .map(|a| {
                std::mem::size_of::<AccountPrior>()
                    + a.values.iter().map(PriorSet::approx_bytes).sum::<usize>()
            })
            .sum();
        let groups: usize = self
            .groups
            .values()
            .map(|g| {
                std::mem::size_of::<PeerGroup>()
                    + g.members.capacity() * 8
                    + g.actions.capacity() * (8 + std::mem::size_of::<Doers>() + 1)
            })
            .sum();
        acct + groups + self.accounts.capacity() * 8 + self.groups.capacity() * 8
    }
}

/// Account-level novelty of the event's caller context, when the account is warm: the features
/// (`country`, `asn`, `client`) whose value the account has never shown, as (feature, label).
pub fn account_novelty(
    priors: &Priors,
    ev: &AuditEvent<'_>,
    cfg: &PriorsConfig,
    features: &[Feature],
) -> Option<Vec<Feature>> {
    let a = priors.account_warm(ev, cfg)?;
    Some(
        features
            .iter()
            .copied()
            .filter(|f| {
                let Some(v) = feature_value(ev, *f) else {
                    return false;
                };
                a.values(*f).is_some_and(|set| set.get(v.key).is_none())
            })
            .collect(),
    )
}

/// Hours an account has been watched, for explanations.
pub fn watched_hours(a: &AccountPrior) -> i64 {
    a.last_seen.saturating_sub(a.first_seen) / HOUR_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_patterns() {
        assert_eq!(name_pattern("etl-worker-01"), name_pattern("etl-worker-02"));
        assert_eq!(
            name_pattern("terraform-deploy-billing"),
            name_pattern("terraform-deploy-search")
        );
        assert_ne!(
            name_pattern("terraform-deploy-x"),
            name_pattern("etl-worker-x")
        );
        assert_eq!(name_pattern("etl01"), name_pattern("etl02"));
        assert_eq!(name_pattern("etl"), None);
        assert_eq!(
            name_pattern("job-3f9a2c71-runner"),
            name_pattern("job-9b1d0e44-runner")
        );
    }

    use crate::parsers::{Format, Parsers};

    fn record(user: &str, op: &str, t: &str) -> String {
        format!(
            r#"{{"eventTime":"{t}","eventName":"{op}","eventSource":"iam.amazonaws.com","readOnly":false,"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/{user}","accountId":"111122223333","userName":"{user}"}},"sourceIPAddress":"3.5.1.10","userAgent":"aws-cli/2.15.30"}}"#
        )
    }

    #[test]
    fn peers_and_account_warm_up() {
        let parsers = Parsers::default();
        let cfg = PriorsConfig {
            warmup_ms: HOUR_MS,
            warmup_events: 3,
            ..PriorsConfig::default()
        };
        let mut p = Priors::default();
        let a = record("etl-worker-01", "CreateRole", "2024-01-01T00:00:00Z");
        let b = record("etl-worker-02", "CreateRole", "2024-01-01T00:10:00Z");
        let c = record("etl-worker-03", "CreateRole", "2024-01-01T02:00:00Z");
        let (ea, eb, ec) = (
            parsers.parse(a.as_bytes(), Format::Auto).unwrap(),
            parsers.parse(b.as_bytes(), Format::Auto).unwrap(),
            parsers.parse(c.as_bytes(), Format::Auto).unwrap(),
        );
        let all = Feature::Action.bit() | Feature::Client.bit();
        // Before any event: no account, no peers.
        assert!(p.account_warm(&ea, &cfg).is_none());
        assert!(!p.peers(&ec, &cfg).others_do);
        p.observe(&ea, all, &cfg);
        // One member did it: the group (with the judged identity) has 2 < 3 members.
        assert!(!p.peers(&ec, &cfg).others_do);
        p.observe(&eb, all, &cfg);
        let view = p.peers(&ec, &cfg);
        assert!(view.others_do && view.members == 3, "{view:?}");
        // Two events in 10 minutes: not warm (needs 3 events and an hour).
        assert!(p.account_warm(&ec, &cfg).is_none());
        p.observe(&ec, all, &cfg);
        assert!(p.account_warm(&ec, &cfg).is_some());
        // The action is known to the account, brought by three identities.
        let acct = p.account(&ec).unwrap();
        let client = feature_value(&ec, Feature::Action).unwrap();
        assert_eq!(
            acct.values(Feature::Action)
                .unwrap()
                .get(client.key)
                .unwrap()
                .count,
            3
        );
        // Bounded: a full account set evicts its least recently seen value.
        let mut set = PriorSet::new(2);
        set.observe(1, 10);
        set.observe(2, 20);
        set.observe(3, 30);
        assert!(set.get(1).is_none() && set.get(3).is_some() && set.len() == 2);
    }

    #[test]
    fn iam_paths() {
        assert_eq!(iam_path("arn:aws:iam::1:role/deploy/app-x"), Some("deploy"));
        assert_eq!(iam_path("arn:aws:iam::1:role/app-x"), None);
        assert_eq!(iam_path("azure:t:a"), None);
    }
}
