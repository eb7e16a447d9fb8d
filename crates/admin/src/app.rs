//! The admin router: the API under `/api` (behind the token check), the dashboard at `/`,
//! the OpenAPI document at `/openapi.json`.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bgtasks_core::Runtime;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::config::AdminConfig;
use crate::error::ApiError;
use crate::openapi::ApiFrame;
use crate::state::AdminState;
use crate::{api, auth, dashboard};

/// The admin API and dashboard of a [`Runtime`], as an [`axum::Router`] to serve on its
/// own ([`serve`](crate::serve)) or to mount in a host's app under any prefix
/// ([`mount`](Self::mount), or `Router::nest("/admin", admin.router())`).
///
/// ```no_run
/// # async fn demo(runtime: bgtasks_core::Runtime) {
/// use bgtasks_admin::{Admin, AdminConfig};
///
/// let admin = Admin::new(runtime, AdminConfig::new().operator_token("s3cret"));
/// let app = admin.mount(axum::Router::new(), "/admin");
/// # let _ = app;
/// # }
/// ```
#[derive(Clone)]
pub struct Admin {
    state: AdminState,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("node", &self.state.runtime.node_name())
            .field("config", &self.state.config)
            .finish()
    }
}

impl Admin {
    /// The admin of `runtime` (whose store it reads and through which it changes jobs).
    pub fn new(runtime: Runtime, config: AdminConfig) -> Self {
        Self {
            state: AdminState {
                runtime,
                config: Arc::new(config),
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AdminConfig {
        &self.state.config
    }

    /// The OpenAPI document of the API (also served at `/openapi.json`).
    pub fn openapi() -> utoipa::openapi::OpenApi {
        OpenApiRouter::<AdminState>::with_openapi(ApiFrame::openapi())
            .merge(api::routes())
            .into_openapi()
    }

    /// Mounts the admin in `app` under `prefix` (such as `/admin`): the router nested
    /// there, and `prefix/` redirected to `prefix` (a nested router answers at the prefix
    /// itself, not with a trailing slash).
    pub fn mount(&self, app: Router, prefix: &str) -> Router {
        let prefix = format!("/{}", prefix.trim_matches('/'));
        if prefix == "/" {
            return app.merge(self.router());
        }
        let target = prefix.clone();
        app.nest(&prefix, self.router()).route(
            &format!("{prefix}/"),
            get(move || async move { axum::response::Redirect::permanent(&target) }),
        )
    }

    /// The router: `/api/...`, `/openapi.json`, the dashboard at `/`, the probes at
    /// `/health/live` and `/health/ready`, and `/metrics` when configured.
    pub fn router(&self) -> Router {
        let state = self.state.clone();
        let (api, document) = OpenApiRouter::with_openapi(ApiFrame::openapi())
            .merge(api::routes())
            .split_for_parts();
        let document: Arc<str> = Arc::from(document.to_pretty_json().unwrap_or_default());
        let api = api.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ));
        Router::new()
            .merge(api)
            .route(
                "/openapi.json",
                get(move || {
                    let document = Arc::clone(&document);
                    async move {
                        (
                            [(header::CONTENT_TYPE, "application/json")],
                            document.to_string(),
                        )
                    }
                }),
            )
            .merge(dashboard::routes())
            .merge(crate::probes::routes(&state))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
            .layer(axum::middleware::map_response(common_headers))
            .with_state(state)
    }
}

/// 404: JSON under `/api`, text elsewhere.
async fn not_found(uri: Uri) -> Response {
    if is_api(uri.path()) {
        ApiError::route_not_found(uri.path()).into_response()
    } else {
        (axum::http::StatusCode::NOT_FOUND, "not found").into_response()
    }
}

/// 405, as JSON.
async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::method_not_allowed(method.as_str(), uri.path()).into_response()
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Headers every answer carries: no sniffing, no framing, no referrer; API answers are
/// never cached.
async fn common_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
