//! The OpenAPI document's frame: title, tags and the bearer scheme. The paths come from
//! the handlers' `#[utoipa::path]` descriptions, registered with the routes themselves.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "bgtasks admin API",
        description = "Operate bgtasks jobs: list, read, create, change, pause, resume, trigger, \
            stop, start, retry and remove them, one by one or in bulk; read their run logs, \
            actions and alerts; see statistics and nodes. Every change needs a token of the \
            `operator` role; reads accept `readOnly` tokens too. JSON is camelCase; status, \
            priority, kind (`jobType`) and source are the reference's numeric codes."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "jobs", description = "Jobs: list, read, create, change, remove; job types"),
        (name = "control", description = "One job's transitions"),
        (name = "bulk", description = "One transition on many jobs (ids or a filter), bounded"),
        (name = "logs", description = "Run logs"),
        (name = "actions", description = "A job's actions (notifiers), by job id and position"),
        (name = "insight", description = "Statistics, nodes, orphaned jobs, alerts, session"),
    )
)]
pub(crate) struct ApiFrame;

/// Declares the `bearer` security scheme the operations name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token configured on the server (operator or read-only role)",
                    ))
                    .build(),
            ),
        );
    }
}
