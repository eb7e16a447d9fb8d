//! The request's headers: the action's own (`headers`) and the notification's identity.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// The idempotency header: the notification's identity, the same on every attempt.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The notification's identity again, under a name of our own.
pub const NOTIFICATION_ID_HEADER: &str = "X-Bgtasks-Notification-Id";

/// Headers an action cannot set: the HTTP client owns them.
const FORBIDDEN: [&str; 5] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
];

/// The `headers` parameter: a JSON object (or a string holding one) of header names to
/// text, numbers or booleans. An error names the header at fault but never a value:
/// header values are often credentials.
pub(crate) fn parse_headers(value: Option<&Value>) -> Result<HeaderMap, String> {
    let object = match value {
        None | Some(Value::Null) => return Ok(HeaderMap::new()),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(HeaderMap::new()),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err("expected a JSON object of header names to values".into()),
            Err(error) => {
                return Err(format!(
                    "not valid JSON (line {}, column {})",
                    error.line(),
                    error.column()
                ));
            }
        },
        Some(Value::Object(object)) => object.clone(),
        Some(_) => return Err("expected a JSON object of header names to values".into()),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in object {
        let header = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("`{name}` is not a valid header name"))?;
        if FORBIDDEN.contains(&header.as_str()) {
            return Err(format!("the header `{name}` is set by the HTTP client"));
        }
        let text = match value {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => {
                return Err(format!(
                    "the value of header `{name}` must be text, a number or a boolean"
                ));
            }
        };
        let value = HeaderValue::from_str(&text).map_err(|_| {
            format!("the value of header `{name}` holds characters a header cannot carry")
        })?;
        headers.append(header, value);
    }
    Ok(headers)
}

/// `text` as a header value: printable ASCII stays, every other byte (and `%`) is
/// written `%XX`, so distinct ids stay distinct and the same id always gives the same
/// value.
pub(crate) fn header_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x21..=0x7E).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn headers_come_from_an_object_or_its_text() {
        // spec: R51
        let headers = parse_headers(Some(&json!(
            r#"{"Authorization": "Bearer abc", "X-Team": 7}"#
        )))
        .unwrap();
        assert_eq!(headers["authorization"], "Bearer abc");
        assert_eq!(headers["x-team"], "7");
        let same = parse_headers(Some(&json!({"Authorization": "Bearer abc"}))).unwrap();
        assert_eq!(same.len(), 1);
        assert!(parse_headers(None).unwrap().is_empty());
    }

    #[test]
    fn a_bad_header_is_named_without_its_value() {
        // spec: R51
        let errors = [
            parse_headers(Some(&json!("{not json"))).unwrap_err(),
            parse_headers(Some(&json!("[1]"))).unwrap_err(),
            parse_headers(Some(&json!({"Bad Name": "x"}))).unwrap_err(),
            parse_headers(Some(&json!({"Host": "example.com"}))).unwrap_err(),
            parse_headers(Some(&json!({"Authorization": "Bearer hunter2\n"}))).unwrap_err(),
            parse_headers(Some(&json!({"X-Token": {"v": "hunter2"}}))).unwrap_err(),
        ];
        assert_eq!(errors[0], "not valid JSON (line 1, column 2)");
        assert_eq!(errors[2], "`Bad Name` is not a valid header name");
        assert_eq!(errors[3], "the header `Host` is set by the HTTP client");
        assert_eq!(
            errors[4],
            "the value of header `Authorization` holds characters a header cannot carry"
        );
        for error in errors {
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn ids_become_printable_and_stay_distinct() {
        // spec: R51
        assert_eq!(
            header_text("nightly/42/0/Hook/failure"),
            "nightly/42/0/Hook/failure"
        );
        assert_eq!(header_text("a b%"), "a%20b%25");
        assert_eq!(header_text("报表"), "%E6%8A%A5%E8%A1%A8");
        assert_ne!(header_text("a%20b"), header_text("a b"));
    }
}
