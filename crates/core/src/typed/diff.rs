//! What differs between a stored job's definition and a new one: the update that makes
//! the stored one like the new one, leaving its run state and counters alone (R50).

use bgtasks_abstractions::JobInfo;

use crate::store::DefinitionUpdate;

/// The update that gives `stored` the definition of `new`: its schedule (cron, interval,
/// count, end), arguments and options. The begin time is taken only when `with_begin`
/// (a unique job replaced: its new due time), never for a recurring schedule, whose
/// first fire time stays.
pub(crate) fn definition_update(
    stored: &JobInfo,
    new: &JobInfo,
    with_begin: bool,
) -> DefinitionUpdate {
    fn changed<T: PartialEq + Clone>(stored: &T, new: &T) -> Option<T> {
        (stored != new).then(|| new.clone())
    }
    DefinitionUpdate {
        name: changed(&stored.name, &new.name),
        group: changed(&stored.group, &new.group),
        description: changed(&stored.description, &new.description),
        args: changed(&stored.args, &new.args),
        begin_time: if with_begin {
            changed(&stored.begin_time, &new.begin_time)
        } else {
            None
        },
        end_time: changed(&stored.end_time, &new.end_time),
        cron: match (&stored.cron, &new.cron) {
            (stored, Some(new)) if stored.as_ref() != Some(new) => Some(new.clone()),
            _ => None,
        },
        interval: if stored.base_interval.unwrap_or(stored.interval) != new.interval {
            Some(new.interval)
        } else {
            None
        },
        max_try_count: changed(&stored.max_try_count, &new.max_try_count),
        max_count: changed(&stored.max_count, &new.max_count),
        priority: changed(&stored.priority, &new.priority),
        lock_timeout: changed(&stored.lock_timeout, &new.lock_timeout),
        node_name: changed(&stored.node_name, &new.node_name),
        time_limit: changed(&stored.time_limit, &new.time_limit),
        actions: changed(&stored.actions, &new.actions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_changed_is_updated() {
        // spec: R50
        let stored = JobInfo::period("k", "t", "0 0 * * * ?").with_arg("a", 1);
        let same = stored.clone();
        assert!(definition_update(&stored, &same, false).is_empty());
        let new = JobInfo::period("k", "t", "0 30 * * * ?").with_arg("a", 2);
        let update = definition_update(&stored, &new, false);
        assert_eq!(update.cron.as_deref(), Some("0 30 * * * ?"));
        assert_eq!(update.args, Some(new.args.clone()));
        assert_eq!(update.priority, None);
        assert_eq!(update.begin_time, None);
    }
}
