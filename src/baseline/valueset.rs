//! A bounded set of feature values with counts and first/last-seen event times.
//!
//! Lookups compare 64-bit hashes in a contiguous slice (sets are small; a linear scan over a
//! few dozen slots beats hashing). A slot is 20 bytes (times in whole seconds); a set of one
//! value keeps it inline and a larger one in an exactly sized heap slice, because most
//! identities show one country, one client and one region and a million of them pay for every
//! allocation and every spare slot. Value labels are not stored per identity but once per
//! distinct value in the store's [`Labels`] table (a value's label is a function of its key).
//! When full, the least recently seen value is evicted.

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

/// One remembered value, as stored: 20 bytes, aligned to 4. Times are whole seconds since the
/// epoch (a baseline's first and last sighting need no milliseconds; values before 1970 or
/// after 2106 are clamped), the key is kept in two halves so the slot needs no 8-byte
/// alignment and packs without padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    key: [u32; 2],
    first: u32,
    last: u32,
    count: u32,
}

/// Whole seconds of an epoch-ms time, clamped to what 32 bits hold (1970 to 2106).
pub(crate) fn to_secs(ms: i64) -> u32 {
    ms.div_euclid(1000).clamp(0, u32::MAX as i64) as u32
}

impl Slot {
    fn new(key: u64, t: i64) -> Slot {
        let s = to_secs(t);
        Slot {
            key: [key as u32, (key >> 32) as u32],
            first: s,
            last: s,
            count: 1,
        }
    }

    /// Value key (hash).
    pub fn key(&self) -> u64 {
        self.key[0] as u64 | (self.key[1] as u64) << 32
    }

    /// First event time seen (ms, whole seconds).
    pub fn first_seen(&self) -> i64 {
        self.first as i64 * 1000
    }

    /// Latest event time seen (ms, whole seconds).
    pub fn last_seen(&self) -> i64 {
        self.last as i64 * 1000
    }

    /// Times seen (saturating).
    pub fn count(&self) -> u32 {
        self.count
    }
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
    /// Keys refused a label while the table was full (at most [`MAX_UNLABELLED`]): their next
    /// sighting once a compaction made room gets the label ([`Labels::retry`]), so a value
    /// seen under label pressure does not show as `#hex` forever.
    #[serde(default)]
    unlabelled: HashSet<u64, RandomState>,
}

/// Refused keys remembered for a later label (8 bytes each, plus the table's slack).
pub const MAX_UNLABELLED: usize = 65_536;

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
            unlabelled: HashSet::default(),
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
        if self.bytes + label_cost(&l) > self.max_bytes - self.reserve() {
            self.dropped += 1;
            self.refused_since += 1;
            if self.unlabelled.len() < self.max_unlabelled() {
                self.unlabelled.insert(key);
            }
            return;
        }
        self.bytes += label_cost(&l);
        self.map.insert(key, l);
    }

    /// Bytes of the bound kept for the refused keys: a sixteenth of a table of 64 KiB or more
    /// (none for smaller ones), so labels and refused keys together stay within `max_bytes`.
    fn reserve(&self) -> usize {
        if self.max_bytes >= 64 << 10 {
            self.max_bytes / 16
        } else {
            0
        }
    }

    /// Refused keys remembered at most: a hash set of n keys costs at most ~21n bytes.
    fn max_unlabelled(&self) -> usize {
        (self.reserve() / 24).min(MAX_UNLABELLED)
    }

    /// True if some keys wait for a label (a cheap check before [`Labels::retry`] on the
    /// per-event path: false unless the table has been full).
    pub fn has_unlabelled(&self) -> bool {
        !self.unlabelled.is_empty()
    }

    /// Labels `key` if it was refused a label before and there is room now.
    pub fn retry(&mut self, key: u64, label: impl FnOnce() -> String) {
        if self.unlabelled.remove(&key) {
            self.intern(key, label);
        }
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
        let mut waiting: HashSet<u64, RandomState> = HashSet::default();
        {
            let (map, unlabelled) = (&self.map, &self.unlabelled);
            let mut mark = |k: u64| {
                if map.contains_key(&k) {
                    used.insert(k);
                } else if unlabelled.contains(&k) {
                    waiting.insert(k);
                }
            };
            visit(&mut mark);
        }
        self.map.retain(|k, _| used.contains(k));
        // Refused keys no profile holds any more will never be seen from a profile again.
        self.unlabelled = waiting;
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

    /// Bytes accounted for the labels (and the refused keys waiting for one).
    pub fn approx_bytes(&self) -> usize {
        self.bytes + self.unlabelled.capacity() * 9
    }
}

/// Bounded value set: none, one inline, or an exactly sized slice (24 bytes in all). The
/// bound is the caller's (a feature's capacity), not stored per set.
#[derive(Debug, Clone, Default)]
pub struct ValueSet(Slots);

#[derive(Debug, Clone, Default)]
enum Slots {
    #[default]
    Empty,
    One(Slot),
    Many(Box<[Slot]>),
}

impl Serialize for ValueSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.slots())
    }
}

impl<'de> Deserialize<'de> for ValueSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ValueSet::from_vec(Vec::<Slot>::deserialize(d)?))
    }
}

impl ValueSet {
    /// An empty set (what a profile without detail shows).
    pub const EMPTY: ValueSet = ValueSet(Slots::Empty);

    fn from_vec(v: Vec<Slot>) -> ValueSet {
        ValueSet(match v.len() {
            0 => Slots::Empty,
            1 => Slots::One(v[0]),
            _ => Slots::Many(v.into_boxed_slice()),
        })
    }

    /// All slots.
    pub fn slots(&self) -> &[Slot] {
        match &self.0 {
            Slots::Empty => &[],
            Slots::One(s) => std::slice::from_ref(s),
            Slots::Many(b) => b,
        }
    }

    fn slots_mut(&mut self) -> &mut [Slot] {
        match &mut self.0 {
            Slots::Empty => &mut [],
            Slots::One(s) => std::slice::from_mut(s),
            Slots::Many(b) => b,
        }
    }

    fn push(&mut self, slot: Slot) {
        self.0 = match std::mem::take(&mut self.0) {
            Slots::Empty => Slots::One(slot),
            Slots::One(a) => Slots::Many(Box::new([a, slot])),
            Slots::Many(b) => {
                // Exactly one more: a new value is rare next to the calls that repeat one.
                let mut v = b.into_vec();
                v.reserve_exact(1);
                v.push(slot);
                Slots::Many(v.into_boxed_slice())
            }
        };
    }

    /// The slot for `key` if it was seen within `forget_after_ms` of `now`.
    pub fn get_live(&self, key: u64, now: i64, forget_after_ms: i64) -> Option<&Slot> {
        let s = self.slots().iter().find(|s| s.key() == key)?;
        (now.saturating_sub(s.last_seen()) <= forget_after_ms).then_some(s)
    }

    /// Number of values held (live or not).
    pub fn len(&self) -> usize {
        self.slots().len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        matches!(self.0, Slots::Empty)
    }

    /// Number of values seen within `forget_after_ms` of `now` (no allocation).
    pub fn live_count(&self, now: i64, forget_after_ms: i64) -> usize {
        self.slots()
            .iter()
            .filter(|s| now.saturating_sub(s.last_seen()) <= forget_after_ms)
            .count()
    }

    /// Live values at `now` with their labels, most seen first (for explanations).
    pub fn live_entries(&self, now: i64, forget_after_ms: i64, labels: &Labels) -> Vec<ValueEntry> {
        let mut v: Vec<ValueEntry> = self
            .slots()
            .iter()
            .filter(|s| now.saturating_sub(s.last_seen()) <= forget_after_ms)
            .map(|s| ValueEntry {
                value: labels.get(s.key()),
                count: s.count as u64,
                first_seen: s.first_seen(),
                last_seen: s.last_seen(),
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        v
    }

    /// Records a sighting of `key` at event time `t` (`now` is the identity's clock) in a set
    /// of at most `cap` values. Returns true if the key was not held before (its label should
    /// be interned).
    pub fn observe(
        &mut self,
        key: u64,
        t: i64,
        now: i64,
        forget_after_ms: i64,
        cap: usize,
    ) -> bool {
        let secs = to_secs(t);
        if let Some(s) = self.slots_mut().iter_mut().find(|s| s.key() == key) {
            if now.saturating_sub(s.last_seen()) > forget_after_ms {
                // Forgotten: this sighting starts it afresh.
                s.count = 0;
                s.first = secs;
            }
            s.count = s.count.saturating_add(1);
            s.first = s.first.min(secs);
            s.last = s.last.max(secs);
            return false;
        }
        let slot = Slot::new(key, t);
        if self.len() < cap.max(1) {
            self.push(slot);
        } else if let Some(old) = self.slots_mut().iter_mut().min_by_key(|s| s.last) {
            // Full: the least recently seen value makes room.
            *old = slot;
        }
        true
    }

    /// Removes a value (allowlist revocation, tests).
    pub fn remove(&mut self, key: u64) -> bool {
        let before = self.len();
        let kept: Vec<Slot> = self
            .slots()
            .iter()
            .filter(|s| s.key() != key)
            .copied()
            .collect();
        let removed = kept.len() != before;
        if removed {
            *self = ValueSet::from_vec(kept);
        }
        removed
    }

    /// Approximate heap bytes.
    pub fn approx_heap_bytes(&self) -> usize {
        match &self.0 {
            Slots::Many(b) => std::mem::size_of_val::<[Slot]>(b),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_forgets_and_evicts() {
        // Times in whole seconds: 100 s, 50 s, ...
        let sec = |x: i64| x * 1000;
        let mut s = ValueSet::default();
        assert!(s.observe(1, sec(100) + 999, sec(100), sec(1000), 2));
        assert!(!s.observe(1, sec(50), sec(100), sec(1000), 2));
        let e = s.get_live(1, sec(100), sec(1000)).unwrap();
        assert_eq!(
            (e.count(), e.first_seen(), e.last_seen()),
            (2, sec(50), sec(100))
        );
        // Forgotten after 1000 s of silence.
        assert!(s.get_live(1, sec(1101), sec(1000)).is_none());
        s.observe(2, sec(200), sec(200), sec(1000), 2);
        assert_eq!(s.approx_heap_bytes(), 40, "two values: an exact slice");
        s.observe(3, sec(300), sec(300), sec(1000), 2);
        assert_eq!(s.len(), 2);
        assert!(
            s.get_live(1, sec(300), sec(1000)).is_none(),
            "least recent evicted"
        );
        let mut labels = Labels::new(1000);
        labels.intern(2, || "b".into());
        let live = s.live_entries(sec(300), sec(1000), &labels);
        assert!(live.iter().any(|e| &*e.value == "b"));
        assert!(
            live.iter().any(|e| e.value.starts_with('#')),
            "unlabelled keys show as hex"
        );
    }

    #[test]
    fn small_sets_stay_inline_and_snapshots_keep_every_slot() {
        assert_eq!(std::mem::size_of::<Slot>(), 20);
        assert_eq!(std::mem::size_of::<ValueSet>(), 24);
        let mut s = ValueSet::default();
        s.observe(7, 5_000, 5_000, i64::MAX, 8);
        assert_eq!(
            (s.len(), s.approx_heap_bytes()),
            (1, 0),
            "one value costs no allocation"
        );
        for k in 8..12 {
            s.observe(k, 6_000, 6_000, i64::MAX, 8);
        }
        assert_eq!(s.approx_heap_bytes(), 5 * 20);
        let bytes = postcard::to_allocvec(&s).unwrap();
        let back: ValueSet = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.slots(), s.slots());
        assert!(s.remove(7) && s.remove(8) && s.remove(9) && s.remove(10));
        assert_eq!((s.len(), s.approx_heap_bytes()), (1, 0), "back inline");
        assert!(!s.remove(99));
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
    fn a_value_refused_a_label_gets_it_when_room_is_made() {
        let mut l = Labels::new(64 << 10);
        let big = |c: char| c.to_string().repeat(MAX_LABEL_BYTES - 3);
        // Fill the table with long labels: 1 and 100.. hold it.
        l.intern(1, || big('a'));
        let mut k = 100;
        while !l.has_unlabelled() {
            l.intern(k, || big('x'));
            k += 1;
        }
        let refused = k - 1;
        l.intern(2, || big('b'));
        assert!(l.get(2).starts_with('#') && l.get(refused).starts_with('#'));
        assert!(l.approx_bytes() <= 64 << 10, "{}", l.approx_bytes());
        l.retry(2, || big('b'));
        assert!(l.get(2).starts_with('#'), "still no room");
        // 1 is no longer held by any profile; 2 and the others still are.
        l.compact(|mark| (2..=refused).for_each(mark));
        l.retry(2, || big('b'));
        assert_eq!(*l.get(2), big('b'));
        assert!(l.has_unlabelled(), "{refused} still waits");
        // A refused key no profile holds any more is forgotten at the next compaction.
        l.compact(|mark| (2..refused).for_each(mark));
        assert!(!l.has_unlabelled());
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
