//! R42, as a property: definitions drawn at random, inside and far beyond the bounds that
//! validation enforces, written straight into the store, never panic a claim, a
//! completion or a rescue, and never stop the claim of an innocent job beside them.

use bgtasks_abstractions::{JobInfo, JobKind, JobStatus};

use crate::DynStoreFactory;
use crate::support::{claim, complete, finished, queued, t};

/// A small deterministic generator (xorshift64*), so that every store sees the same
/// definitions and a failure is reproducible.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        let n = self.next() as usize % from.len();
        from[n]
    }

    /// A number from the edges and the inside of the range.
    fn number(&mut self) -> i64 {
        let edges = [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            59,
            86_400,
            i64::from(i32::MAX),
            253_402_300_799,
            i64::MAX - 1,
            i64::MAX,
        ];
        if self.next().is_multiple_of(2) {
            self.pick(&edges)
        } else {
            self.next() as i64
        }
    }

    fn small(&mut self) -> i32 {
        self.pick(&[i32::MIN, -1, 0, 1, 2, 3, 1000, i32::MAX - 1, i32::MAX])
    }

    /// A time at the edges of what the stores hold, or near the test's clock.
    fn time(&mut self) -> i64 {
        self.pick(&[
            -1_767_225_600,
            -86_400,
            0,
            5,
            3600,
            31_536_000,
            253_402_300_799 - 1_767_225_600,
        ])
    }
}

fn wild(n: usize, draw: &mut Draw) -> JobInfo {
    let kind = draw.pick(&[JobKind::Once, JobKind::Period, JobKind::Persistent]);
    let mut job = match kind {
        JobKind::Period => JobInfo::period(
            format!("wild-{n}"),
            "t",
            draw.pick(&[
                "0/1 * * * * ?",
                "not a cron",
                "",
                "0 0 0 29 2 ? 2099",
                "* * * * * ? 9999",
                "TZ=Mars/Olympus 0 * * * * ?",
            ]),
        ),
        _ => JobInfo::new(format!("wild-{n}"), "t"),
    };
    job.kind = kind;
    job.status = draw.pick(&[
        JobStatus::Queuing,
        JobStatus::Running,
        JobStatus::FailedRetry,
        JobStatus::Paused,
        JobStatus::Completed,
    ]);
    job.interval = draw.number();
    job.lock_timeout = draw.number();
    job.trigger_count = draw.small();
    job.try_count = draw.small();
    job.max_count = draw.small();
    job.max_try_count = draw.small();
    job.creation_time = t(draw.time());
    job.begin_time = t(draw.time());
    job.end_time = draw.next().is_multiple_of(2).then(|| t(draw.time()));
    job.last_run_time = draw.next().is_multiple_of(2).then(|| t(draw.time()));
    job.next_run_time = (!draw.next().is_multiple_of(4)).then(|| t(draw.time()));
    job.time_limit = draw.next().is_multiple_of(2).then(|| draw.number());
    job
}

/// R42: 60 random wild definitions beside an innocent job: claims at several times,
/// completions of whatever was claimed, and rescues never panic, and the innocent job is
/// claimed. A store may refuse to store a value it cannot hold (an error, not a panic).
pub async fn random_wild_definitions_never_panic_a_claim(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
    let mut stored = 0;
    for n in 0..60 {
        if store.insert(&[wild(n, &mut draw)]).await.is_ok() {
            stored += 1;
        }
    }
    assert!(stored > 0, "the store refused every wild definition");
    store.insert(&[queued("innocent", 10)]).await.unwrap();
    let mut innocent_claimed = false;
    for now in [10, 3600, 31_536_000, 253_402_300_799 - 1_767_225_600 - 1] {
        for _ in 0..10 {
            let runs = claim(store.as_ref(), "a", now, 25).await;
            if runs.is_empty() {
                break;
            }
            for run in runs {
                innocent_claimed |= run.job.id == "innocent";
                let status = if run.job.id.len() % 2 == 0 {
                    JobStatus::Completed
                } else {
                    JobStatus::FailedRetry
                };
                complete(store.as_ref(), finished(&run, status)).await;
            }
        }
        store.rescue(t(now)).await.unwrap();
    }
    assert!(
        innocent_claimed,
        "the wild rows stopped the innocent job's claim"
    );
}
