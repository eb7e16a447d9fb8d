//! The due-time index of the in-memory store: a timeline of future runs, and the due
//! runs ordered by priority.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use bgtasks_abstractions::JobPriority;
use chrono::{DateTime, Utc};

/// One scheduled run of a job. It is current only while its `generation` equals the
/// job's; any change to the job makes older entries stale, and they are skipped. It
/// names its job by the job's place in the store's slot table (32 bytes, no reference
/// count to touch); a place that was freed and reused holds a job of a newer generation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) generation: u64,
    pub(super) due: DateTime<Utc>,
    pub(super) try_count: i32,
    pub(super) slot: u32,
    pub(super) priority: JobPriority,
}

impl Entry {
    /// Timeline order: earliest due first, then the oldest entry.
    fn time_key(&self) -> (DateTime<Utc>, u64) {
        (self.due, self.generation)
    }

    /// The class of a due run: highest priority first, then fewest tries.
    fn class(&self) -> Class {
        (Reverse(self.priority), self.try_count)
    }
}

/// Ready runs of one class run in timeline order.
type Class = (Reverse<JobPriority>, i32);

/// Ready order (R27): highest priority, then fewest tries, then earliest due.
fn ready_order(a: &Entry, b: &Entry) -> Ordering {
    a.class()
        .cmp(&b.class())
        .reverse()
        .then_with(|| a.time_key().cmp(&b.time_key()).reverse())
}

/// An entry in a min-heap by timeline order.
#[derive(Debug)]
struct ByTime(Entry);

impl PartialEq for ByTime {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ByTime {}
impl PartialOrd for ByTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByTime {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap's greatest is the earliest.
        other.0.time_key().cmp(&self.0.time_key())
    }
}

/// Entries in timeline order. They usually arrive in that order (jobs queued one after
/// another, each due now or an interval from now, and due runs taken from an earlier
/// timeline): those are appended to a queue, which stays sorted and gives them up in
/// constant time. One that arrives before the last one queued goes to a heap instead.
#[derive(Debug, Default)]
struct Timeline {
    in_order: VecDeque<Entry>,
    out_of_order: BinaryHeap<ByTime>,
}

impl Timeline {
    fn push(&mut self, entry: Entry) {
        if self
            .in_order
            .back()
            .is_none_or(|last| last.time_key() <= entry.time_key())
        {
            self.in_order.push_back(entry);
        } else {
            self.out_of_order.push(ByTime(entry));
        }
    }

    /// Whether the earliest entry is the queue's (else the heap's).
    fn earliest_is_queued(&self) -> bool {
        match (self.in_order.front(), self.out_of_order.peek()) {
            (Some(queued), Some(ByTime(other))) => queued.time_key() <= other.time_key(),
            (queued, _) => queued.is_some(),
        }
    }

    fn peek(&self) -> Option<&Entry> {
        if self.earliest_is_queued() {
            self.in_order.front()
        } else {
            self.out_of_order.peek().map(|e| &e.0)
        }
    }

    fn pop(&mut self) -> Option<Entry> {
        if self.earliest_is_queued() {
            self.in_order.pop_front()
        } else {
            self.out_of_order.pop().map(|e| e.0)
        }
    }

    fn len(&self) -> usize {
        self.in_order.len() + self.out_of_order.len()
    }

    fn is_empty(&self) -> bool {
        self.in_order.is_empty() && self.out_of_order.is_empty()
    }
}

/// The index of one node bucket (jobs pinned to one node, or to none): future runs on a
/// timeline, and due runs by class (priority, then tries), each class in timeline order.
/// Promotion takes due runs off the timeline in timeline order, so each class usually
/// receives them in order too, and both sides mostly work at the front of a queue
/// instead of sifting a heap.
#[derive(Debug, Default)]
pub(super) struct DueIndex {
    timeline: Timeline,
    ready: BTreeMap<Class, Timeline>,
}

impl DueIndex {
    pub(super) fn push(&mut self, entry: Entry) {
        self.timeline.push(entry);
    }

    /// Moves every run due at `now` from the timeline to the ready classes.
    pub(super) fn promote(&mut self, now: DateTime<Utc>) {
        while self.timeline.peek().is_some_and(|e| e.due <= now) {
            if let Some(entry) = self.timeline.pop() {
                self.ready.entry(entry.class()).or_default().push(entry);
            }
        }
    }

    /// The best ready run, after dropping stale ones from the top.
    pub(super) fn peek_ready(&mut self, is_current: impl Fn(&Entry) -> bool) -> Option<&Entry> {
        loop {
            let mut best = self.ready.first_entry()?;
            match best.get().peek() {
                Some(top) if is_current(top) => break,
                Some(_) => {
                    best.get_mut().pop();
                }
                None => {
                    best.remove();
                }
            }
        }
        self.ready
            .first_key_value()
            .and_then(|(_, runs)| runs.peek())
    }

    pub(super) fn pop_ready(&mut self) -> Option<Entry> {
        let mut best = self.ready.first_entry()?;
        let entry = best.get_mut().pop();
        if best.get().is_empty() {
            best.remove();
        }
        entry
    }

    /// Compares the best ready runs of two buckets: `true` if `a`'s should go first.
    pub(super) fn goes_before(a: &Entry, b: &Entry) -> bool {
        ready_order(a, b) == Ordering::Greater
    }

    /// The earliest due time of a current run in this bucket.
    pub(super) fn next_due(
        &mut self,
        is_current: impl Fn(&Entry) -> bool,
    ) -> Option<DateTime<Utc>> {
        if let Some(ready) = self.peek_ready(&is_current) {
            return Some(ready.due);
        }
        while let Some(top) = self.timeline.peek() {
            if is_current(top) {
                return Some(top.due);
            }
            self.timeline.pop();
        }
        None
    }

    /// How many entries (current or stale) the index holds.
    pub(super) fn len(&self) -> usize {
        self.timeline.len() + self.ready.values().map(Timeline::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn entry(generation: u64, due: i64, try_count: i32, priority: JobPriority) -> Entry {
        Entry {
            generation,
            due: Utc.timestamp_opt(1_800_000_000 + due, 0).single().unwrap(),
            try_count,
            slot: 0,
            priority,
        }
    }

    fn entries() -> impl Strategy<Value = Vec<(i64, i32, JobPriority)>> {
        proptest::collection::vec(
            (
                0i64..50,
                0i32..3,
                proptest::sample::select(JobPriority::ALL.to_vec()),
            ),
            0..60,
        )
    }

    proptest! {
        /// Runs pushed in any order, promoted at any times, come out as a heap of every
        /// promoted run would give them: by priority, then tries, then due time.
        #[test]
        fn ready_runs_come_out_in_ready_order(runs in entries(), claims in proptest::collection::vec((0i64..60, 0usize..5), 0..20)) {
            let mut index = DueIndex::default();
            let mut pending: Vec<Entry> = Vec::new();
            let mut ready: Vec<Entry> = Vec::new();
            let mut generation = 0;
            let mut runs = runs.into_iter();
            for (now, take) in claims {
                for (due, try_count, priority) in runs.by_ref().take(3) {
                    generation += 1;
                    let e = entry(generation, due, try_count, priority);
                    index.push(e);
                    pending.push(e);
                }
                let now = Utc.timestamp_opt(1_800_000_000 + now, 0).single().unwrap();
                index.promote(now);
                let (due, later): (Vec<Entry>, Vec<Entry>) =
                    pending.iter().partition(|e| e.due <= now);
                pending = later;
                ready.extend(due);
                ready.sort_by(|a, b| ready_order(b, a));
                for _ in 0..take {
                    let expected = (!ready.is_empty()).then(|| ready.remove(0));
                    let peeked = index.peek_ready(|_| true).map(|e| e.generation);
                    prop_assert_eq!(peeked, expected.map(|e| e.generation));
                    let popped = index.pop_ready().map(|e| e.generation);
                    prop_assert_eq!(popped, expected.map(|e| e.generation));
                }
                let earliest = ready.first().map(|e| e.due)
                    .or_else(|| pending.iter().map(|e| e.due).min());
                prop_assert_eq!(index.next_due(|_| true), earliest);
                prop_assert_eq!(index.len(), ready.len() + pending.len());
            }
        }
    }
}
