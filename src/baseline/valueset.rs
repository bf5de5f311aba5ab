//! A bounded set of feature values with counts and first/last-seen event times.
//!
//! Lookups compare 64-bit hashes in a contiguous vector (sets are small; a linear scan over a
//! few dozen slots beats hashing). A slot is 32 bytes; value labels are not stored per identity
//! but once per distinct value in the store's [`Labels`] table (a value's label is a function of
//! its key), which is what keeps a million identities in memory. When full, the least recently
//! seen value is evicted.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// One remembered value, as explanations show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValueEntry {
    /// Human-readable value.
    pub value: Box<str>,
    /// Times seen.
    pub count: u64,
    /// First event time seen (ms).
    pub first_seen: i64,
    /// Latest event time seen (ms).
    pub last_seen: i64,
}

/// One remembered value, as stored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Slot {
    /// Value key (hash).
    pub key: u64,
    /// First event time seen (ms).
    pub first_seen: i64,
    /// Latest event time seen (ms).
    pub last_seen: i64,
    /// Times seen (saturating).
    pub count: u32,
}

/// Labels of value keys, shared by all identities. Bounded: past `cap` labels, new values are
/// shown by key until [`Labels::compact`] drops labels no profile references.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Labels {
    map: FxHashMap<u64, Box<str>>,
    cap: usize,
    /// Labels not stored because the table was full.
    pub dropped: u64,
}

impl Labels {
    /// An empty table holding at most `cap` labels.
    pub fn new(cap: usize) -> Self {
        Labels {
            map: FxHashMap::default(),
            cap,
            dropped: 0,
        }
    }

    /// Stores the label of `key` if it is new (calls `label` only then).
    pub fn intern(&mut self, key: u64, label: impl FnOnce() -> String) {
        if self.map.contains_key(&key) {
            return;
        }
        if self.map.len() >= self.cap {
            self.dropped += 1;
            return;
        }
        self.map.insert(key, label().into_boxed_str());
    }

    /// Sets (or replaces) a label.
    pub fn set(&mut self, key: u64, label: &str) {
        self.map.insert(key, label.into());
    }

    /// The label of `key`, or the key in hex.
    pub fn get(&self, key: u64) -> Box<str> {
        match self.map.get(&key) {
            Some(l) => l.clone(),
            None => format!("#{key:016x}").into_boxed_str(),
        }
    }

    /// Keeps only the labels `keep` says are still referenced.
    pub fn compact(&mut self, keep: impl Fn(u64) -> bool) {
        self.map.retain(|k, _| keep(*k));
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Approximate heap bytes.
    pub fn approx_bytes(&self) -> usize {
        self.map.capacity() * (8 + 16 + 1) + self.map.values().map(|l| l.len()).sum::<usize>()
    }
}

/// Bounded value set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValueSet {
    slots: Vec<Slot>,
    cap: u16,
    evictions: u32,
}

impl ValueSet {
    /// An empty set holding at most `cap` values.
    pub fn new(cap: usize) -> Self {
        ValueSet {
            slots: Vec::new(),
            cap: cap.clamp(1, u16::MAX as usize) as u16,
            evictions: 0,
        }
    }

    /// The slot for `key` if it was seen within `forget_after_ms` of `now`.
    pub fn get_live(&self, key: u64, now: i64, forget_after_ms: i64) -> Option<&Slot> {
        let s = self.slots.iter().find(|s| s.key == key)?;
        (now.saturating_sub(s.last_seen) <= forget_after_ms).then_some(s)
    }

    /// Number of values held (live or not).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Values evicted for lack of room so far.
    pub fn evictions(&self) -> u64 {
        self.evictions as u64
    }

    /// All slots.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Number of values seen within `forget_after_ms` of `now` (no allocation).
    pub fn live_count(&self, now: i64, forget_after_ms: i64) -> usize {
        self.slots
            .iter()
            .filter(|s| now.saturating_sub(s.last_seen) <= forget_after_ms)
            .count()
    }

    /// Live values at `now` with their labels, most seen first (for explanations).
    pub fn live_entries(&self, now: i64, forget_after_ms: i64, labels: &Labels) -> Vec<ValueEntry> {
        let mut v: Vec<ValueEntry> = self
            .slots
            .iter()
            .filter(|s| now.saturating_sub(s.last_seen) <= forget_after_ms)
            .map(|s| ValueEntry {
                value: labels.get(s.key),
                count: s.count as u64,
                first_seen: s.first_seen,
                last_seen: s.last_seen,
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        v
    }

    /// Records a sighting of `key` at event time `t` (`now` is the identity's clock). Returns
    /// true if the key was not held before (its label should be interned).
    pub fn observe(&mut self, key: u64, t: i64, now: i64, forget_after_ms: i64) -> bool {
        if let Some(s) = self.slots.iter_mut().find(|s| s.key == key) {
            if now.saturating_sub(s.last_seen) > forget_after_ms {
                // Forgotten: this sighting starts it afresh.
                s.count = 0;
                s.first_seen = t;
            }
            s.count = s.count.saturating_add(1);
            s.first_seen = s.first_seen.min(t);
            s.last_seen = s.last_seen.max(t);
            return false;
        }
        let slot = Slot {
            key,
            first_seen: t,
            last_seen: t,
            count: 1,
        };
        if self.slots.len() < self.cap as usize {
            // Grow 1, 2, 4, ... up to the cap: most identities hold a value or two per feature.
            if self.slots.len() == self.slots.capacity() {
                let want = self
                    .slots
                    .len()
                    .max(1)
                    .min(self.cap as usize - self.slots.len());
                self.slots.reserve_exact(want);
            }
            self.slots.push(slot);
            return true;
        }
        // Full: evict the least recently seen value.
        if let Some(old) = self.slots.iter_mut().min_by_key(|s| s.last_seen) {
            *old = slot;
        }
        self.evictions = self.evictions.saturating_add(1);
        true
    }

    /// Removes a value (allowlist revocation, tests).
    pub fn remove(&mut self, key: u64) -> bool {
        let before = self.slots.len();
        self.slots.retain(|s| s.key != key);
        self.slots.len() != before
    }

    /// Approximate heap bytes.
    pub fn approx_heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_forgets_and_evicts() {
        let mut s = ValueSet::new(2);
        assert!(s.observe(1, 100, 100, 1000));
        assert!(!s.observe(1, 50, 100, 1000));
        let e = s.get_live(1, 100, 1000).unwrap();
        assert_eq!((e.count, e.first_seen, e.last_seen), (2, 50, 100));
        // Forgotten after 1000 ms of silence.
        assert!(s.get_live(1, 1101, 1000).is_none());
        s.observe(2, 200, 200, 1000);
        s.observe(3, 300, 300, 1000);
        assert_eq!(s.len(), 2);
        assert_eq!(s.evictions(), 1);
        assert!(s.get_live(1, 300, 1000).is_none(), "least recent evicted");
        let mut labels = Labels::new(10);
        labels.intern(2, || "b".into());
        let live = s.live_entries(300, 1000, &labels);
        assert!(live.iter().any(|e| &*e.value == "b"));
        assert!(
            live.iter().any(|e| e.value.starts_with('#')),
            "unlabelled keys show as hex"
        );
    }

    #[test]
    fn labels_are_bounded() {
        let mut l = Labels::new(1);
        l.intern(1, || "a".into());
        l.intern(2, || "b".into());
        assert_eq!(l.len(), 1);
        assert_eq!(l.dropped, 1);
        l.compact(|k| k != 1);
        assert!(l.is_empty());
    }
}
