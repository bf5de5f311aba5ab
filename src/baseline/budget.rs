//! The memory budget of identity state (`[state] max_identities`, `max_bytes`).
//!
//! Identities beyond the budget are evicted least recently seen first (by event time; ties by
//! identity key, so the same input evicts the same identities). Inventoried identities and those
//! with an open incident go last. An evicted identity leaves a 32-byte [`Marker`] keyed by a
//! keyed hash of its key, so its return is not a first sighting and its silence is still seen;
//! markers are bounded too (oldest dropped first).
//!
//! A sweep evicts down to [`LOW_WATER`] of the budget at once, so that a flood of new identities
//! pays one O(n) sweep per tenth of the budget, not one per identity.

use std::hash::Hasher;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::Marker;

/// Budget settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Identities with a full profile at most.
    pub max_identities: usize,
    /// Bytes of identity state at most (profiles, keys, markers and value labels, as the store
    /// accounts them; the process's RSS is about 1.3x this plus ~30 MB, see docs/operations.md).
    pub max_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_identities: 1_000_000,
            max_bytes: 512 << 20,
        }
    }
}

impl Budget {
    /// Bytes the value-label table may use (an eighth of the budget).
    pub fn label_bytes(&self) -> usize {
        self.max_bytes / 8
    }

    /// Markers kept at most: four per identity the budget holds, in at most an eighth of the
    /// bytes (profiles get the other three quarters).
    pub fn max_markers(&self) -> usize {
        self.max_identities
            .saturating_mul(4)
            .min(self.max_bytes / 8 / MARKER_BYTES)
            .max(1)
    }
}

/// A sweep evicts down to this fraction of the budget.
pub const LOW_WATER: f64 = 0.9;

/// Bytes the identity table spends per entry besides the key and the profile: the slot (two
/// boxes), its control byte and spare capacity, and the allocator's headers of both boxes.
pub const ENTRY_BYTES: usize = 64;

/// Bytes one marker costs in its table (key, marker, control byte, spare capacity).
pub const MARKER_BYTES: usize = 48;

/// Eviction counters (exported as metrics).
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Evictions {
    /// Identities evicted to stay within the budget.
    pub identities: u64,
    /// Markers of evicted identities dropped (their return will look like a first sighting).
    pub markers_dropped: u64,
    /// Evicted identities that came back (found by their marker).
    pub returned: u64,
    /// Sweeps run.
    pub sweeps: u64,
}

/// Markers of evicted identities, keyed by a keyed hash of the identity key (SipHash-1-3 with
/// a random key kept with the state: identity keys are attacker-chosen, and an unkeyed hash
/// would let a flood of crafted keys collide).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Markers {
    map: FxHashMap<u64, Marker>,
    k0: u64,
    k1: u64,
}

impl Default for Markers {
    fn default() -> Self {
        Markers {
            map: FxHashMap::default(),
            k0: rand::random(),
            k1: rand::random(),
        }
    }
}

impl Markers {
    /// The keyed hash of an identity key.
    pub fn key_of(&self, identity: &str) -> u64 {
        let mut h = siphasher::sip::SipHasher13::new_with_keys(self.k0, self.k1);
        h.write(identity.as_bytes());
        h.finish()
    }

    /// Takes the marker of an identity, if it was evicted.
    pub fn take(&mut self, identity: &str) -> Option<Marker> {
        if self.map.is_empty() {
            return None;
        }
        let k = self.key_of(identity);
        self.map.remove(&k)
    }

    /// Leaves a marker for an evicted identity.
    pub fn put(&mut self, identity: &str, m: Marker) {
        let k = self.key_of(identity);
        self.map.insert(k, m);
    }

    /// True if the identity left a marker.
    pub fn contains(&self, identity: &str) -> bool {
        !self.map.is_empty() && self.map.contains_key(&self.key_of(identity))
    }

    /// Markers held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes the markers are accounted for.
    pub fn bytes(&self) -> usize {
        self.map.len() * MARKER_BYTES
    }

    /// Drops the least recently seen markers down to `keep`; returns how many were dropped.
    pub fn trim(&mut self, keep: usize) -> usize {
        let n = self.map.len();
        if n <= keep {
            return 0;
        }
        let mut times: Vec<i64> = self.map.values().map(|m| m.last_seen).collect();
        let drop = n - keep;
        times.select_nth_unstable(drop - 1);
        let cut = times[drop - 1];
        // The whole group seen at the cut goes (not a part chosen by the random hash key), so
        // the same input keeps the same markers.
        self.map.retain(|_, m| m.last_seen > cut);
        n - self.map.len()
    }
}

/// Chooses which identities to evict: `count` of them, lowest `(tier, last_seen, key)` first.
/// `entries` yields (tier, last seen, key) of every identity.
pub fn victims<'a>(
    entries: impl Iterator<Item = (u8, i64, &'a str)>,
    count: usize,
) -> Vec<Box<str>> {
    if count == 0 {
        return Vec::new();
    }
    let all: Vec<(u8, i64, &str)> = entries.collect();
    if count >= all.len() {
        return all.into_iter().map(|(_, _, k)| k.into()).collect();
    }
    let mut order: Vec<(u8, i64)> = all.iter().map(|&(t, s, _)| (t, s)).collect();
    order.select_nth_unstable(count - 1);
    let cut = order[count - 1];
    drop(order);
    let mut out: Vec<Box<str>> = Vec::with_capacity(count);
    let mut tied: Vec<&str> = Vec::new();
    for &(t, s, k) in &all {
        match (t, s).cmp(&cut) {
            std::cmp::Ordering::Less => out.push(k.into()),
            std::cmp::Ordering::Equal => tied.push(k),
            std::cmp::Ordering::Greater => {}
        }
    }
    // Ties at the cut are broken by key: the same state evicts the same identities whatever
    // order the table iterates in.
    tied.sort_unstable();
    let rest = count - out.len();
    out.extend(tied.into_iter().take(rest).map(Box::from));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn victims_are_oldest_lowest_tier_ties_by_key() {
        let e = [
            (0u8, 5i64, "e"),
            (1, 1, "inventoried"),
            (0, 3, "c2"),
            (0, 3, "c1"),
            (0, 9, "z"),
        ];
        let v = victims(e.iter().copied(), 2);
        assert_eq!(v, vec![Box::from("c1"), Box::from("c2")]);
        let v = victims(e.iter().copied(), 4);
        assert!(!v.iter().any(|k| &**k == "inventoried"));
        assert_eq!(victims(e.iter().copied(), 9).len(), 5);
        assert!(victims(e.iter().copied(), 0).is_empty());
    }

    #[test]
    fn markers_trim_oldest_and_are_keyed() {
        let mut m = Markers::default();
        for i in 0..10i64 {
            m.put(
                &format!("id{i}"),
                Marker {
                    first_seen: 0,
                    last_seen: i,
                    max_gap_ms: 0,
                    observations: 1,
                    inventoried: false,
                },
            );
        }
        assert_eq!(m.trim(4), 6);
        assert!(m.contains("id9") && m.contains("id6") && !m.contains("id5"));
        assert_eq!(m.take("id9").map(|x| x.last_seen), Some(9));
        assert!(!m.contains("id9"));
        let other = Markers::default();
        assert_ne!(
            m.key_of("id1"),
            other.key_of("id1"),
            "random keys per state"
        );
    }
}
