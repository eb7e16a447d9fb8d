//! Bearer tokens and roles: who is calling, and whether they may change anything.
//!
//! Tokens travel only in the `Authorization` header — never in a cookie — so a page of
//! another site cannot make a browser send them: there is no ambient credential to
//! forge a request with, hence no CSRF exposure. A token is never logged nor echoed.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Role;
use crate::error::ApiError;
use crate::state::AdminState;

/// Checks the caller's token and role, then passes the request on with its [`Role`] in
/// the request's extensions. A change (any method but GET, HEAD, OPTIONS) needs the
/// operator role.
pub(crate) async fn authorize(
    State(state): State<AdminState>,
    mut request: Request,
    next: Next,
) -> Response {
    let role = match authenticate(&state, request.headers()) {
        Ok(role) => role,
        Err(error) => return error.into_response(),
    };
    if changes_state(request.method()) && role != Role::Operator {
        return ApiError::forbidden(format!(
            "this token's role is `{role}`: {} {} changes jobs and needs the `operator` role",
            request.method(),
            request.uri().path()
        ))
        .into_response();
    }
    request.extensions_mut().insert(role);
    next.run(request).await
}

/// Whether a request of this method may change state.
pub(crate) fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The role the request's bearer token grants; without configured tokens, everyone is an
/// operator.
fn authenticate(state: &AdminState, headers: &HeaderMap) -> Result<Role, ApiError> {
    let credentials = &state.config.credentials;
    if credentials.is_empty() {
        return Ok(Role::Operator);
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "this API needs a token: send the header `Authorization: Bearer <token>`",
        ));
    };
    let Some(token) = value.to_str().ok().and_then(bearer_token) else {
        return Err(ApiError::unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ));
    };
    // Compare with every credential, whatever matched first, so that timing says nothing
    // about which token was close.
    let mut granted = None;
    for credential in credentials {
        if same_bytes(credential.token.as_bytes(), token.as_bytes()) {
            granted = granted.max(Some(credential.role));
        }
    }
    granted.ok_or_else(|| ApiError::unauthorized("the bearer token is not valid"))
}

/// The token of a `Bearer <token>` header value (the scheme in any case).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares two byte strings in time that depends on their lengths only.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        difference |= usize::from(x ^ y);
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_tokens_only() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }

    #[test]
    fn compares_whole_tokens() {
        assert!(same_bytes(b"secret", b"secret"));
        assert!(!same_bytes(b"secret", b"secreT"));
        assert!(!same_bytes(b"secret", b"secret2"));
        assert!(!same_bytes(b"", b"x"));
    }

    #[test]
    fn only_reads_are_safe() {
        assert!(!changes_state(&Method::GET));
        assert!(!changes_state(&Method::HEAD));
        assert!(changes_state(&Method::PUT));
        assert!(changes_state(&Method::POST));
        assert!(changes_state(&Method::DELETE));
    }
}
