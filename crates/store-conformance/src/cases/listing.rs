//! Listing jobs: every filter, the sort fields, paging and the total.

use bgtasks_abstractions::{JobInfo, JobKind, JobPriority, JobSource, JobStatus};
use bgtasks_store::{JobQuery, JobSort, JobSortField, JobStore, TimeRange};

use crate::DynStoreFactory;
use crate::support::{claim_one, queued, seed, t};

async fn listed(store: &dyn JobStore, query: JobQuery) -> (Vec<String>, u64) {
    let page = store.list(&query).await.expect("list");
    (
        page.items.into_iter().map(|r| r.job.id).collect(),
        page.total,
    )
}

fn query() -> JobQuery {
    JobQuery {
        limit: 100,
        sort: JobSort {
            field: JobSortField::Id,
            descending: false,
        },
        ..JobQuery::default()
    }
}

fn jobs() -> Vec<JobInfo> {
    let mut a = queued("a-report", 10);
    a.name = "Nightly report".into();
    a.group = "reports".into();
    a.job_type = "report".into();
    a.priority = JobPriority::High;
    a.creation_time = t(1);
    a.description = "Sends the SALES figures".into();
    let mut b = queued("b-mail", 5);
    b.name = "mail".into();
    b.group = "mail".into();
    b.job_type = "mail".into();
    b.status = JobStatus::Stopped;
    b.is_abandoned = true;
    b.next_run_time = None;
    b.last_run_time = Some(t(50));
    b.creation_time = t(2);
    b.source = JobSource::User;
    let mut c = JobInfo::period("c-cron", "tick", "0 * * * * ?");
    c.status = JobStatus::Running;
    c.group = "reports".into();
    c.next_run_time = Some(t(60));
    c.last_run_time = Some(t(0));
    c.creation_time = t(3);
    c.begin_time = t(-10);
    c.end_time = Some(t(1000));
    c.node_name = Some("node-b".into());
    c.source = JobSource::System;
    let mut d = JobInfo::persistent("d-poll", "poll", 30, 0);
    d.status = JobStatus::Paused;
    d.next_run_time = Some(t(20));
    d.creation_time = t(4);
    d.begin_time = t(-10);
    d.priority = JobPriority::Low;
    vec![a, b, c, d, queued("e-busy", 0)]
}

/// Every filter of the query, sorting by each direction, paging and the total.
pub async fn listing_filters_sorts_and_pages(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut all = jobs();
    all[4].creation_time = t(5);
    seed(store.as_ref(), &all).await;
    claim_one(store.as_ref(), "a", 0).await;
    let store = store.as_ref();
    let every = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    assert_eq!(
        listed(store, query()).await,
        (
            every(&["a-report", "b-mail", "c-cron", "d-poll", "e-busy"]),
            5
        )
    );
    let text = JobQuery {
        text: Some("sales".into()),
        ..query()
    };
    assert_eq!(
        listed(store, text).await.0,
        every(&["a-report"]),
        "in the description"
    );
    let text = JobQuery {
        text: Some("MAIL".into()),
        ..query()
    };
    assert_eq!(
        listed(store, text).await.0,
        every(&["b-mail"]),
        "case-insensitive"
    );
    let by_name = JobQuery {
        name: Some("Nightly report".into()),
        ..query()
    };
    assert_eq!(listed(store, by_name).await.0, every(&["a-report"]));
    let by_group = JobQuery {
        group: Some("reports".into()),
        ..query()
    };
    assert_eq!(
        listed(store, by_group).await.0,
        every(&["a-report", "c-cron"])
    );
    let by_type = JobQuery {
        job_type: Some("poll".into()),
        ..query()
    };
    assert_eq!(listed(store, by_type).await.0, every(&["d-poll"]));
    let by_status = JobQuery {
        statuses: vec![JobStatus::Paused, JobStatus::Stopped],
        ..query()
    };
    assert_eq!(
        listed(store, by_status).await.0,
        every(&["b-mail", "d-poll"])
    );
    let begins = JobQuery {
        begin_time: TimeRange {
            from: Some(t(-20)),
            to: Some(t(0)),
        },
        ..query()
    };
    assert_eq!(listed(store, begins).await.0, every(&["c-cron", "d-poll"]));
    let ends = JobQuery {
        end_time: TimeRange {
            from: Some(t(500)),
            to: None,
        },
        ..query()
    };
    assert_eq!(
        listed(store, ends).await.0,
        every(&["c-cron"]),
        "no end time: out"
    );
    let ran = JobQuery {
        last_run_time: TimeRange {
            from: Some(t(10)),
            to: Some(t(60)),
        },
        ..query()
    };
    assert_eq!(listed(store, ran).await.0, every(&["b-mail"]));
    let created = JobQuery {
        creation_time: TimeRange {
            from: Some(t(2)),
            to: Some(t(3)),
        },
        ..query()
    };
    assert_eq!(listed(store, created).await.0, every(&["b-mail", "c-cron"]));
    let abandoned = JobQuery {
        abandoned: Some(true),
        ..query()
    };
    assert_eq!(listed(store, abandoned).await.0, every(&["b-mail"]));
    let period = JobQuery {
        kind: Some(JobKind::Period),
        ..query()
    };
    assert_eq!(listed(store, period).await.0, every(&["c-cron"]));
    let low = JobQuery {
        priority: Some(JobPriority::Low),
        ..query()
    };
    assert_eq!(listed(store, low).await.0, every(&["d-poll"]));
    let system = JobQuery {
        source: Some(JobSource::System),
        ..query()
    };
    assert_eq!(listed(store, system).await.0, every(&["c-cron"]));
    let pinned = JobQuery {
        node_name: Some("node-b".into()),
        ..query()
    };
    assert_eq!(listed(store, pinned).await.0, every(&["c-cron"]));
    let running = JobQuery {
        running: Some(true),
        ..query()
    };
    assert_eq!(listed(store, running).await.0, every(&["e-busy"]));
    let combined = JobQuery {
        group: Some("reports".into()),
        statuses: vec![JobStatus::Running],
        ..query()
    };
    assert_eq!(listed(store, combined).await.0, every(&["c-cron"]));

    let newest_first = JobQuery {
        sort: JobSort {
            field: JobSortField::CreationTime,
            descending: true,
        },
        ..query()
    };
    assert_eq!(
        listed(store, newest_first).await.0,
        every(&["e-busy", "d-poll", "c-cron", "b-mail", "a-report"])
    );
    let by_next = JobQuery {
        sort: JobSort {
            field: JobSortField::NextRunTime,
            descending: false,
        },
        ..query()
    };
    assert_eq!(
        listed(store, by_next).await.0,
        every(&["a-report", "d-poll", "c-cron", "b-mail", "e-busy"]),
        "earliest first, none last (ties by id)"
    );
    let by_next_desc = JobQuery {
        sort: JobSort {
            field: JobSortField::NextRunTime,
            descending: true,
        },
        ..query()
    };
    assert_eq!(
        listed(store, by_next_desc).await.0,
        every(&["c-cron", "d-poll", "a-report", "b-mail", "e-busy"]),
        "latest first, none still last"
    );
    let by_priority = JobQuery {
        sort: JobSort {
            field: JobSortField::Priority,
            descending: true,
        },
        ..query()
    };
    assert_eq!(
        listed(store, by_priority).await.0,
        every(&["a-report", "b-mail", "c-cron", "e-busy", "d-poll"])
    );

    let page = JobQuery {
        offset: 1,
        limit: 2,
        ..query()
    };
    assert_eq!(listed(store, page).await, (every(&["b-mail", "c-cron"]), 5));
    let past_the_end = JobQuery {
        offset: 10,
        ..query()
    };
    assert_eq!(listed(store, past_the_end).await, (Vec::new(), 5));
    let count_only = JobQuery {
        limit: 0,
        statuses: vec![JobStatus::Queuing],
        ..query()
    };
    assert_eq!(listed(store, count_only).await, (Vec::new(), 2));
}
