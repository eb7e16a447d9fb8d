//! Reading the `to` and `from` parameters.

use lettre::message::Mailbox;
use serde_json::Value;

use crate::error::NotifyError;

/// The mailboxes of a `to` value: a string of addresses separated by commas, or an array
/// of such strings. Blank entries are skipped; any invalid address is an error naming it.
pub(crate) fn parse_recipients(job_id: &str, value: &Value) -> Result<Vec<Mailbox>, NotifyError> {
    let texts: Vec<&str> = match value {
        Value::String(s) => s.split(',').collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(|s| s.split(','))
            .collect(),
        _ => Vec::new(),
    };
    let mailboxes = texts
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|text| parse_mailbox(job_id, "to", text))
        .collect::<Result<Vec<_>, _>>()?;
    if mailboxes.is_empty() {
        return Err(NotifyError::NoRecipients {
            job_id: job_id.to_owned(),
        });
    }
    Ok(mailboxes)
}

/// One mailbox, `a@example.com` or `Name <a@example.com>`.
pub(crate) fn parse_mailbox(
    job_id: &str,
    parameter: &'static str,
    text: &str,
) -> Result<Mailbox, NotifyError> {
    text.trim()
        .parse::<Mailbox>()
        .map_err(|source| NotifyError::InvalidAddress {
            job_id: job_id.to_owned(),
            parameter,
            address: text.trim().to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn splits_on_commas_and_names_a_bad_address() {
        // spec: R33
        let to = parse_recipients(
            "job-7",
            &json!("ops@example.com, Dev Team <dev@example.com>,,"),
        )
        .unwrap();
        let emails: Vec<String> = to.iter().map(|m| m.email.to_string()).collect();
        assert_eq!(emails, vec!["ops@example.com", "dev@example.com"]);
        assert_eq!(to[1].name.as_deref(), Some("Dev Team"));

        let from_array =
            parse_recipients("job-7", &json!(["a@example.com", "b@example.com"])).unwrap();
        assert_eq!(from_array.len(), 2);

        let err = parse_recipients("job-7", &json!("ops@example.com, not-an-address")).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "job `job-7`: invalid e-mail address `not-an-address` in parameter `to`"
            ),
            "{err}"
        );
        let none = parse_recipients("job-7", &json!(" , ")).unwrap_err();
        assert_eq!(
            none.to_string(),
            "job `job-7`: the `to` parameter holds no e-mail address"
        );
    }
}
