//! Signing requests with the action's `secret`: DingTalk's robot signature, and an
//! HMAC of the body for generic JSON receivers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the body signature of a generic JSON webhook.
pub const SIGNATURE_HEADER: &str = "X-Bgtasks-Signature";
/// The header carrying the time (Unix milliseconds) the body signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Bgtasks-Timestamp";

/// HMAC-SHA256 of the concatenated `parts`, keyed with `key`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|error| error.to_string())?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

/// DingTalk's robot signature (its "加签" security setting): the Base64 of the
/// HMAC-SHA256 of `"{timestamp}\n{secret}"` keyed with the secret, where `timestamp` is
/// the current time in Unix milliseconds. It is sent, URL-encoded, as the `sign` query
/// parameter beside `timestamp`; DingTalk refuses a timestamp more than an hour off.
pub fn dingtalk_signature(secret: &str, timestamp_ms: i64) -> Result<String, String> {
    let text = format!("{timestamp_ms}\n{secret}");
    let mac = hmac_sha256(secret.as_bytes(), &[text.as_bytes()])?;
    Ok(STANDARD.encode(mac))
}

/// The signature of a generic JSON webhook's body: `sha256=` and the lowercase hex of the
/// HMAC-SHA256 of `"{timestamp}."` followed by the body, keyed with the secret. A
/// receiver recomputes it from the [`TIMESTAMP_HEADER`] and the raw body, compares it
/// with the [`SIGNATURE_HEADER`] in constant time, and refuses old timestamps.
pub fn body_signature(secret: &str, timestamp_ms: i64, body: &[u8]) -> Result<String, String> {
    let prefix = format!("{timestamp_ms}.");
    let mac = hmac_sha256(secret.as_bytes(), &[prefix.as_bytes(), body])?;
    let hex: String = mac.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("sha256={hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_signature_matches_a_known_answer() {
        // spec: R51
        // Computed independently with Python:
        // base64(hmac.new(b"SEC0123456789abcdef", b"1700000000000\nSEC0123456789abcdef",
        //                 hashlib.sha256).digest())
        assert_eq!(
            dingtalk_signature("SEC0123456789abcdef", 1_700_000_000_000).unwrap(),
            "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="
        );
    }

    #[test]
    fn body_signature_matches_a_known_answer() {
        // spec: R51
        // hmac.new(b"s3cret", b"1700000000000." + b'{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            body_signature("s3cret", 1_700_000_000_000, br#"{"a":1}"#).unwrap(),
            "sha256=8a6f992378d0d47b6fcdf1cc8d72e46ba5c789b2c9d3a538be31fe07d598ba6d"
        );
    }
}
