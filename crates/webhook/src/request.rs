//! Reading a webhook action's parameters and composing the request it posts.

use std::fmt;

use bgtasks_abstractions::JobAction;
use bgtasks_actions::JobActionExecuteContext;
use bgtasks_exception_handling::JOB_ID_HEADER;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tracing::warn;

use crate::error::WebhookError;
use crate::headers::{header_text, parse_headers};
use crate::options::WebhookOptions;
use crate::parameters::names;
use crate::payload::WebhookPayload;
use crate::preset::WebhookPreset;
use crate::signing::{body_signature, dingtalk_signature};
use crate::target::WebhookUrl;
use crate::text::WebhookText;

/// What a webhook action's parameters say, checked.
pub(crate) struct WebhookSettings {
    pub(crate) url: WebhookUrl,
    pub(crate) preset: WebhookPreset,
    pub(crate) headers: HeaderMap,
    pub(crate) secret: Option<String>,
}

impl WebhookSettings {
    /// Reads and checks `url`, `preset` and `headers` of the action of job `job_id`.
    pub(crate) fn read(
        job_id: &str,
        action: &JobAction,
        options: &WebhookOptions,
    ) -> Result<Self, WebhookError> {
        let job = || job_id.to_owned();
        let text = action
            .parameter_text(names::URL)
            .ok_or_else(|| WebhookError::MissingUrl { job_id: job() })?;
        let url = WebhookUrl::parse(&text).map_err(|problem| WebhookError::InvalidUrl {
            job_id: job(),
            problem,
        })?;
        let preset = match action.parameter_text(names::PRESET) {
            Some(text) => text
                .parse()
                .map_err(|problem| WebhookError::UnknownPreset {
                    job_id: job(),
                    problem,
                })?,
            None => options.default_preset,
        };
        let headers = parse_headers(action.parameter(names::HEADERS)).map_err(|reason| {
            WebhookError::InvalidHeaders {
                job_id: job(),
                reason,
            }
        })?;
        Ok(Self {
            url,
            preset,
            headers,
            secret: action.parameter_text(names::SECRET),
        })
    }
}

/// A webhook request ready to post. Its `Debug` shows the address as scheme and host
/// and the headers by name only.
pub struct WebhookRequest {
    /// Where it goes (signed, for DingTalk with a secret).
    pub url: WebhookUrl,
    /// The preset it was composed for.
    pub preset: WebhookPreset,
    /// Its headers: the action's, then `Content-Type`, `Idempotency-Key`,
    /// `X-Bgtasks-Notification-Id`, `X-Bgtasks-Job-Id` and, when signed, the signature.
    pub headers: HeaderMap,
    /// The JSON body.
    pub body: Vec<u8>,
    /// What the body says (the whole of it for `json`).
    pub payload: WebhookPayload,
    /// Every secret piece of the request, scrubbed from what is quoted back.
    pub(crate) secrets: Vec<String>,
}

impl fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(HeaderName::as_str).collect();
        f.debug_struct("WebhookRequest")
            .field("url", &self.url)
            .field("preset", &self.preset)
            .field("headers", &names)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Composes the request for `context`, signing it at `timestamp_ms` (Unix milliseconds).
pub(crate) fn compose(
    context: &JobActionExecuteContext<'_>,
    options: &WebhookOptions,
    text: &WebhookText,
    timestamp_ms: i64,
) -> Result<WebhookRequest, WebhookError> {
    let job_id = context.job_id();
    let WebhookSettings {
        mut url,
        preset,
        headers: own_headers,
        secret,
    } = WebhookSettings::read(job_id, context.action(), options)?;
    let requested = context
        .parameter_text(names::CULTURE)
        .unwrap_or_else(|| options.default_culture.clone());
    let rendered = text.render(context, preset, &requested)?;
    let payload = WebhookPayload::of(context, rendered.culture, rendered.title, rendered.text);
    let body = serde_json::to_vec(&preset.body(&payload)).unwrap_or_default();

    let mut secrets = url.secrets();
    secrets.extend(
        own_headers
            .values()
            .filter_map(|v| v.to_str().ok())
            .filter(|v| v.len() >= 4)
            .map(str::to_owned),
    );
    let mut headers = own_headers;
    let signing_failed = |reason: String| WebhookError::Signing {
        job_id: job_id.to_owned(),
        reason,
    };
    match (preset, secret) {
        (_, None) => {}
        (WebhookPreset::DingTalk, Some(secret)) => {
            let sign = dingtalk_signature(&secret, timestamp_ms).map_err(signing_failed)?;
            url.append_query(&[("timestamp", &timestamp_ms.to_string()), ("sign", &sign)]);
            secrets.extend([secret, sign]);
        }
        (WebhookPreset::Json, Some(secret)) => {
            let signature = body_signature(&secret, timestamp_ms, &body).map_err(signing_failed)?;
            insert(
                &mut headers,
                "x-bgtasks-timestamp",
                &timestamp_ms.to_string(),
            );
            insert(&mut headers, "x-bgtasks-signature", &signature);
            secrets.push(secret);
        }
        (WebhookPreset::Slack | WebhookPreset::WeCom, Some(secret)) => {
            secrets.push(secret);
            warn!(
                job_id,
                preset = %preset,
                "job `{job_id}`: the {preset} preset does not sign requests; its `secret` parameter is ignored"
            );
        }
    }
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let id = header_text(context.notification_id());
    insert(&mut headers, "idempotency-key", &id);
    insert(&mut headers, "x-bgtasks-notification-id", &id);
    insert(
        &mut headers,
        &JOB_ID_HEADER.to_ascii_lowercase(),
        &header_text(job_id),
    );
    Ok(WebhookRequest {
        url,
        preset,
        headers,
        body,
        payload,
        secrets,
    })
}

/// Sets a header whose name and value are printable ASCII by construction.
fn insert(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        headers.insert(name, value);
    }
}
