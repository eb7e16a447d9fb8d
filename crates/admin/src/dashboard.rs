//! The dashboard's files, embedded in the binary: hand-written HTML, CSS and ES modules,
//! so nothing is built at run time and no JavaScript toolchain is needed to build it.

use axum::Router;
use axum::extract::{OriginalUri, Path};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AdminState;

/// The content security policy of the page: its own scripts, styles and API only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'self'; \
    form-action 'none'; frame-ancestors 'none'";

const INDEX: &str = include_str!("../assets/index.html");

/// Every asset under `assets/`: its path and content.
const ASSETS: &[(&str, &str)] = &[
    ("app.css", include_str!("../assets/app.css")),
    ("favicon.svg", include_str!("../assets/favicon.svg")),
    ("js/app.js", include_str!("../assets/js/app.js")),
    ("js/api.js", include_str!("../assets/js/api.js")),
    ("js/dom.js", include_str!("../assets/js/dom.js")),
    ("js/i18n.js", include_str!("../assets/js/i18n.js")),
    ("js/format.js", include_str!("../assets/js/format.js")),
    ("js/charts.js", include_str!("../assets/js/charts.js")),
    ("js/dialog.js", include_str!("../assets/js/dialog.js")),
    (
        "js/pages/jobs.js",
        include_str!("../assets/js/pages/jobs.js"),
    ),
    ("js/pages/job.js", include_str!("../assets/js/pages/job.js")),
    (
        "js/pages/job_forms.js",
        include_str!("../assets/js/pages/job_forms.js"),
    ),
    (
        "js/pages/stats.js",
        include_str!("../assets/js/pages/stats.js"),
    ),
    (
        "js/pages/nodes.js",
        include_str!("../assets/js/pages/nodes.js"),
    ),
    (
        "js/pages/alerts.js",
        include_str!("../assets/js/pages/alerts.js"),
    ),
    (
        "js/pages/operations.js",
        include_str!("../assets/js/pages/operations.js"),
    ),
    (
        "js/locales/en.js",
        include_str!("../assets/js/locales/en.js"),
    ),
    (
        "js/locales/zh-Hans.js",
        include_str!("../assets/js/locales/zh-Hans.js"),
    ),
];

/// The dashboard's routes: the page at `/`, its files under `/assets/`.
pub(crate) fn routes() -> Router<AdminState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

/// The page, with a `<base>` so that it works under any prefix the router is nested at.
async fn index(OriginalUri(original): OriginalUri, uri: Uri) -> Response {
    let base = base_of(original.path(), uri.path());
    let page = INDEX.replace(
        "<!--BASE-->",
        &format!("<base href=\"{}\">", escape_attribute(&base)),
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The path relative URLs of the page resolve against: the router's root as the browser
/// sees it, with a trailing slash.
fn base_of(original: &str, inner: &str) -> String {
    let prefix = if inner == "/" {
        original
    } else {
        original.strip_suffix(inner).unwrap_or("")
    };
    let prefix = prefix.trim_end_matches('/');
    format!("{prefix}/")
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One embedded file.
async fn asset(Path(path): Path<String>) -> Response {
    let Some((_, content)) = ASSETS.iter().find(|(name, _)| *name == path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mime = match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        *content,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path an import of `from` names, relative to `assets/`.
    fn resolve(from: &str, import: &str) -> String {
        let mut parts: Vec<&str> = from.split('/').collect();
        parts.pop();
        for piece in import.split('/') {
            match piece {
                "." => {}
                ".." => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        parts.join("/")
    }

    #[test]
    fn every_module_import_is_embedded() {
        for (name, content) in ASSETS.iter().filter(|(n, _)| n.ends_with(".js")) {
            for line in content.lines().filter(|l| l.starts_with("import ")) {
                let Some(target) = line.split('\'').nth(1) else {
                    continue;
                };
                let path = resolve(name, target);
                assert!(
                    ASSETS.iter().any(|(n, _)| *n == path),
                    "{name} imports {target} ({path}), which is not embedded"
                );
            }
        }
    }

    #[test]
    fn the_base_is_the_routers_root() {
        assert_eq!(base_of("/", "/"), "/");
        assert_eq!(base_of("/admin", "/"), "/admin/");
        assert_eq!(base_of("/admin/", "/"), "/admin/");
        assert_eq!(base_of("/ops/jobs/", "/"), "/ops/jobs/");
    }

    #[test]
    fn the_page_links_only_embedded_files() {
        assert!(INDEX.contains("<!--BASE-->"));
        for reference in INDEX.split("assets/").skip(1) {
            let name: String = reference
                .chars()
                .take_while(|c| *c != '"' && *c != '?')
                .collect();
            assert!(
                ASSETS.iter().any(|(n, _)| *n == name),
                "index.html links assets/{name}, which is not embedded"
            );
        }
    }
}
