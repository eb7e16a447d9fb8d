//! A notification as its notifier receives it, and how it is written into the outbox
//! (R51).

use bgtasks_abstractions::JobAction;
use bgtasks_core::store::{NotificationKind, NotificationRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::summary::RunSummary;

/// A notification being delivered: which notifier carries out which action of a job,
/// about which run. Its [`id`](Self::id) is the same for every attempt to deliver it,
/// on any node, so a repeat is recognisable (the failure mail's Message-ID is made
/// from it).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Its stable identity: `{job id}/{run token}/{action index}/{notifier}/{kind}`.
    pub id: String,
    /// Which hook it calls.
    pub kind: NotificationKind,
    /// Which delivery attempt this is (1 on the first).
    pub attempt: u32,
    /// When it was decided (the run's time).
    pub created_at: DateTime<Utc>,
    /// The job's action, with its parameters as they were when the run ended.
    pub action: JobAction,
    /// The name of the notifier that carries it out.
    pub notifier: String,
    /// The run it is about.
    pub run: RunSummary,
}

/// The part of a notification the outbox keeps as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Payload {
    pub(crate) notifier: String,
    pub(crate) action: JobAction,
    pub(crate) run: RunSummary,
}

impl Notification {
    /// The notification a stored record holds; an error names what does not decode.
    pub fn from_record(record: &NotificationRecord) -> Result<Self, serde_json::Error> {
        let payload: Payload = serde_json::from_value(record.payload.clone())?;
        Ok(Self {
            id: record.id.clone(),
            kind: record.kind,
            attempt: u32::try_from(record.attempts).unwrap_or(0),
            created_at: record.created_at,
            action: payload.action,
            notifier: payload.notifier,
            run: payload.run,
        })
    }

    /// The identity of the notification of a run (its lease `token`), for the
    /// `index`-th action of the job, carried out by `notifier`.
    pub fn identity(
        job_id: &str,
        token: i64,
        index: usize,
        notifier: &str,
        kind: NotificationKind,
    ) -> String {
        let kind = match kind {
            NotificationKind::Failure => "failure",
            NotificationKind::Success => "success",
            NotificationKind::Completion => "completion",
        };
        format!("{job_id}/{token}/{index}/{notifier}/{kind}")
    }

    /// The identity as an RFC 5322 message id, `<…@domain>`: letters, digits, `-` and
    /// `_` are kept, every other byte is written `=XX` (so the left part is one atom),
    /// so that ids that differ stay different and the same id always gives the same
    /// message id.
    pub fn message_id(&self, domain: &str) -> String {
        let mut local = String::with_capacity(self.id.len() + 8);
        for byte in self.id.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') {
                local.push(char::from(byte));
            } else {
                local.push_str(&format!("={byte:02X}"));
            }
        }
        format!("<{local}@{domain}>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(id: &str) -> Notification {
        Notification {
            id: id.to_owned(),
            kind: NotificationKind::Failure,
            attempt: 1,
            created_at: Utc::now(),
            action: JobAction::new("a"),
            notifier: "n".into(),
            run: serde_json::from_value(serde_json::json!({
                "jobId": "j", "group": "g", "name": "n", "jobType": "t",
                "runTime": "2026-01-01T00:00:00Z", "node": "x", "status": 10,
                "tryCount": 0, "maxTryCount": 3
            }))
            .unwrap(),
        }
    }

    #[test]
    fn the_message_id_is_stable_and_tells_ids_apart() {
        // spec: R51
        let id = Notification::identity("nightly report", 42, 0, "Mail", NotificationKind::Failure);
        assert_eq!(id, "nightly report/42/0/Mail/failure");
        let a = notification(&id).message_id("bgtasks.local");
        assert_eq!(
            a,
            "<nightly=20report=2F42=2F0=2FMail=2Ffailure@bgtasks.local>"
        );
        assert_eq!(a, notification(&id).message_id("bgtasks.local"));
        assert_ne!(
            a,
            notification("nightly.report/42/0/Mail/failure").message_id("bgtasks.local")
        );
        assert_ne!(
            notification("a/b").message_id("d"),
            notification("a.b").message_id("d")
        );
    }
}
