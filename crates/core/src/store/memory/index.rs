//! The due-time index of the in-memory store: a timeline of future runs and a ready
//! heap of due runs ordered by priority.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

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

/// Timeline order: earliest due first.
#[derive(Debug)]
struct ByDue(Entry);

impl PartialEq for ByDue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ByDue {}
impl PartialOrd for ByDue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByDue {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.due, self.0.generation).cmp(&(other.0.due, other.0.generation))
    }
}

/// Ready order (R27): highest priority, then fewest tries, then earliest due.
#[derive(Debug)]
struct ByPriority(Entry);

impl PartialEq for ByPriority {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ByPriority {}
impl PartialOrd for ByPriority {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByPriority {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = &self.0;
        let b = &other.0;
        a.priority
            .cmp(&b.priority)
            .then(b.try_count.cmp(&a.try_count))
            .then(b.due.cmp(&a.due))
            .then(b.generation.cmp(&a.generation))
    }
}

/// The index of one node bucket (jobs pinned to one node, or to none).
///
/// The timeline has two parts. Runs usually arrive in due order (jobs queued one after
/// another, each due now or an interval from now): those are appended to a queue, which
/// stays sorted and gives them up in constant time. A run due before the last one queued
/// goes to a heap instead. Promotion takes the due runs of both.
#[derive(Debug, Default)]
pub(super) struct DueIndex {
    in_order: VecDeque<Entry>,
    timeline: BinaryHeap<Reverse<ByDue>>,
    ready: BinaryHeap<ByPriority>,
}

/// Timeline order of two entries: `true` if `a` is not after `b`.
fn not_after(a: &Entry, b: &Entry) -> bool {
    (a.due, a.generation) <= (b.due, b.generation)
}

impl DueIndex {
    pub(super) fn push(&mut self, entry: Entry) {
        if self
            .in_order
            .back()
            .is_none_or(|last| not_after(last, &entry))
        {
            self.in_order.push_back(entry);
        } else {
            self.timeline.push(Reverse(ByDue(entry)));
        }
    }

    /// Moves every run due at `now` from the timeline to the ready heap.
    pub(super) fn promote(&mut self, now: DateTime<Utc>) {
        let due = self.in_order.partition_point(|e| e.due <= now);
        if due > 0 {
            self.ready
                .extend(self.in_order.drain(..due).map(ByPriority));
        }
        while self
            .timeline
            .peek()
            .is_some_and(|Reverse(ByDue(e))| e.due <= now)
        {
            if let Some(Reverse(ByDue(entry))) = self.timeline.pop() {
                self.ready.push(ByPriority(entry));
            }
        }
    }

    /// The best ready run, after dropping stale ones from the top.
    pub(super) fn peek_ready(&mut self, is_current: impl Fn(&Entry) -> bool) -> Option<&Entry> {
        while let Some(top) = self.ready.peek() {
            if is_current(&top.0) {
                break;
            }
            self.ready.pop();
        }
        self.ready.peek().map(|e| &e.0)
    }

    pub(super) fn pop_ready(&mut self) -> Option<Entry> {
        self.ready.pop().map(|e| e.0)
    }

    /// Compares the best ready runs of two buckets: `true` if `a`'s should go first.
    pub(super) fn goes_before(a: &Entry, b: &Entry) -> bool {
        ByPriority(*a) > ByPriority(*b)
    }

    /// The earliest due time of a current run in this bucket.
    pub(super) fn next_due(
        &mut self,
        is_current: impl Fn(&Entry) -> bool,
    ) -> Option<DateTime<Utc>> {
        if let Some(ready) = self.peek_ready(&is_current) {
            return Some(ready.due);
        }
        while self.in_order.front().is_some_and(|e| !is_current(e)) {
            self.in_order.pop_front();
        }
        while self
            .timeline
            .peek()
            .is_some_and(|Reverse(ByDue(e))| !is_current(e))
        {
            self.timeline.pop();
        }
        let queued = self.in_order.front().map(|e| e.due);
        let out_of_order = self.timeline.peek().map(|Reverse(ByDue(e))| e.due);
        match (queued, out_of_order) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many entries (current or stale) the index holds.
    pub(super) fn len(&self) -> usize {
        self.in_order.len() + self.timeline.len() + self.ready.len()
    }
}
