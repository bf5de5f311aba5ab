//! A bounded set of feature values with counts and first/last-seen event times.
//!
//! Lookups compare 64-bit hashes in a contiguous vector (sets are small; a linear scan over a
//! few dozen slots beats hashing). A slot is 32 bytes; value labels are not stored per identity
//! but once per distinct value in the store's [`Labels`] table (a value's label is a function of
//! its key), which is what keeps a million identities in memory. When full, the least recently
//! seen value is evicted.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};

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

/// Labels of value keys, shared by all identities, bounded by bytes: past `max_bytes`, new values
/// are shown by key (`#hex`) and the table asks for [`Labels::compact`], which drops labels no
/// profile refers to any more (values evicted from full sets, identities evicted from the
/// store). The table is also compacted when the store evicts identities and before a snapshot.
/// Keys are hashes of attacker-chosen text, so the table hashes them with a keyed hasher.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Labels {
    map: HashMap<u64, Box<str>, RandomState>,
    max_bytes: usize,
    /// Bytes accounted for the labels held.
    bytes: usize,
    /// Labels not stored because the table was full.
    pub dropped: u64,
    /// Compactions run.
    #[serde(default)]
    pub compactions: u64,
    /// Labels refused since the last compaction (one is due when the table is full and
    /// enough have been refused to be worth a pass over every profile).
    #[serde(skip)]
    refused_since: u64,
}

/// A label longer than this is cut (it is for display; the value's key is its full hash).
pub const MAX_LABEL_BYTES: usize = 512;

/// Bytes a label costs besides its text: the table slot and the allocator's header.
const LABEL_ENTRY_BYTES: usize = 48;

fn label_cost(l: &str) -> usize {
    l.len() + LABEL_ENTRY_BYTES
}

/// Cuts a label to [`MAX_LABEL_BYTES`] at a character boundary, marking the cut.
fn bounded_label(mut l: String) -> Box<str> {
    if l.len() > MAX_LABEL_BYTES {
        let mut end = MAX_LABEL_BYTES - 3;
        while !l.is_char_boundary(end) {
            end -= 1;
        }
        l.truncate(end);
        l.push('…');
    }
    l.into_boxed_str()
}

impl Labels {
    /// An empty table holding at most `max_bytes` of labels.
    pub fn new(max_bytes: usize) -> Self {
        Labels {
            map: HashMap::default(),
            max_bytes,
            bytes: 0,
            dropped: 0,
            compactions: 0,
            refused_since: 0,
        }
    }

    /// Changes the bound.
    pub fn set_max_bytes(&mut self, max_bytes: usize) {
        self.max_bytes = max_bytes;
    }

    /// The bound.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Stores the label of `key` if it is new (calls `label` only then).
    pub fn intern(&mut self, key: u64, label: impl FnOnce() -> String) {
        if self.map.contains_key(&key) {
            return;
        }
        let l = bounded_label(label());
        if self.bytes + label_cost(&l) > self.max_bytes {
            self.dropped += 1;
            self.refused_since += 1;
            return;
        }
        self.bytes += label_cost(&l);
        self.map.insert(key, l);
    }

    /// Sets (or replaces) a label (allowlist approvals: always kept).
    pub fn set(&mut self, key: u64, label: &str) {
        let l = bounded_label(label.to_string());
        self.bytes += label_cost(&l);
        if let Some(old) = self.map.insert(key, l) {
            self.bytes = self.bytes.saturating_sub(label_cost(&old));
        }
    }

    /// The label of `key`, or the key in hex.
    pub fn get(&self, key: u64) -> Box<str> {
        match self.map.get(&key) {
            Some(l) => l.clone(),
            None => format!("#{key:016x}").into_boxed_str(),
        }
    }

    /// True when the table is full and has refused enough labels since its last compaction
    /// (a tenth of what it holds, at least 1,000) that a compaction is worth its pass.
    pub fn wants_compaction(&self) -> bool {
        self.refused_since > 0 && self.refused_since >= (self.map.len() as u64 / 10).max(1000)
    }

    /// Keeps only the labels still referenced: `visit` is called with a marking function and
    /// must call it with every key in use.
    pub fn compact(&mut self, visit: impl FnOnce(&mut dyn FnMut(u64))) {
        let mut used: HashSet<u64, RandomState> = HashSet::default();
        {
            let map = &self.map;
            let mut mark = |k: u64| {
                if map.contains_key(&k) {
                    used.insert(k);
                }
            };
            visit(&mut mark);
        }
        self.map.retain(|k, _| used.contains(k));
        self.map.shrink_to_fit();
        self.bytes = self.map.values().map(|l| label_cost(l)).sum();
        self.compactions += 1;
        self.refused_since = 0;
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes accounted for the labels.
    pub fn approx_bytes(&self) -> usize {
        self.bytes
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
    /// An empty set that holds nothing (what a profile without detail shows).
    pub const EMPTY: ValueSet = ValueSet {
        slots: Vec::new(),
        cap: 1,
        evictions: 0,
    };

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
        let mut labels = Labels::new(1000);
        labels.intern(2, || "b".into());
        let live = s.live_entries(300, 1000, &labels);
        assert!(live.iter().any(|e| &*e.value == "b"));
        assert!(
            live.iter().any(|e| e.value.starts_with('#')),
            "unlabelled keys show as hex"
        );
    }

    #[test]
    fn labels_are_bounded_by_bytes_and_compacted() {
        let mut l = Labels::new(2 * (LABEL_ENTRY_BYTES + 1));
        l.intern(1, || "a".into());
        l.intern(2, || "b".into());
        l.intern(3, || "c".into());
        assert_eq!(l.len(), 2);
        assert_eq!(l.dropped, 1);
        assert_eq!(&*l.get(3), "#0000000000000003");
        // Only 2 is still referenced: 1 goes, and there is room for 3 again.
        l.compact(|mark| {
            mark(2);
            mark(99);
        });
        assert_eq!(l.len(), 1);
        assert_eq!(l.approx_bytes(), LABEL_ENTRY_BYTES + 1);
        l.intern(3, || "c".into());
        assert_eq!(&*l.get(3), "c");
    }

    #[test]
    fn long_labels_are_cut_at_a_char_boundary() {
        let mut l = Labels::new(1 << 20);
        l.intern(1, || "é".repeat(2000));
        let got = l.get(1);
        assert!(got.len() <= MAX_LABEL_BYTES && got.ends_with('…'));
        assert!(l.approx_bytes() < 600);
    }
}
