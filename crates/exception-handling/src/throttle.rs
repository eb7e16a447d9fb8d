//! The least time between two mails of one job, measured in run times.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// When each job last mailed, by the run time of the run that mailed (so it follows the
/// scheduler's clock, not the wall clock). Kept in memory on this node.
#[derive(Debug, Default)]
pub(crate) struct MailThrottle {
    last_sent: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl MailThrottle {
    /// Whether a mail of `job_id` for the run at `run_time` comes less than `min_interval`
    /// after the job's last mail.
    pub(crate) fn too_soon(
        &self,
        job_id: &str,
        run_time: DateTime<Utc>,
        min_interval: Duration,
    ) -> bool {
        if min_interval.is_zero() {
            return false;
        }
        let last_sent = self
            .last_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(last) = last_sent.get(job_id) else {
            return false;
        };
        match (run_time - *last).to_std() {
            Ok(elapsed) => elapsed < min_interval,
            // A run time before the last mail: clocks disagree, do not hold the mail back.
            Err(_) => false,
        }
    }

    /// Records a mail of `job_id` for the run at `run_time`; after the final failure the
    /// job's entry is dropped, so a resumed job starts afresh.
    pub(crate) fn record(&self, job_id: &str, run_time: DateTime<Utc>, last: bool) {
        let mut last_sent = self
            .last_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last {
            last_sent.remove(job_id);
        } else {
            last_sent.insert(job_id.to_owned(), run_time);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn holds_back_mails_closer_than_the_interval() {
        // spec: R33
        let throttle = MailThrottle::default();
        let t0 = Utc::now();
        let ten_min = Duration::from_secs(600);
        assert!(!throttle.too_soon("a", t0, ten_min));
        throttle.record("a", t0, false);
        assert!(throttle.too_soon("a", t0 + TimeDelta::seconds(599), ten_min));
        assert!(!throttle.too_soon("a", t0 + TimeDelta::seconds(600), ten_min));
        assert!(!throttle.too_soon("b", t0, ten_min));
        assert!(!throttle.too_soon("a", t0 + TimeDelta::seconds(1), Duration::ZERO));
        throttle.record("a", t0 + TimeDelta::seconds(1), true);
        assert!(!throttle.too_soon("a", t0 + TimeDelta::seconds(2), ten_min));
    }
}
