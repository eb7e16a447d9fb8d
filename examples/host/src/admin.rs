//! The host's dashboard: the admin API and web UI of `bgtasks-admin`, `/metrics` and the
//! health probes, when asked for with `--admin-addr`.

use std::sync::Arc;

use bgtasks::JobActionDefinitionManager;
use bgtasks::prelude::*;
use bgtasks_admin::{Admin, AdminConfig, AdminServer, serve};

use crate::args::HostArgs;

/// Serves the dashboard of `runtime` if `--admin-addr` asked for it, and says where.
pub(crate) async fn start(
    args: &HostArgs,
    runtime: &BackgroundTasks,
    definitions: Arc<JobActionDefinitionManager>,
) -> Result<Option<AdminServer>, Box<dyn std::error::Error>> {
    let Some(addr) = args.admin_addr else {
        return Ok(None);
    };
    // The process's metrics recorder: `/metrics` serves it (docs/observability.md).
    let metrics = bgtasks_admin::install_prometheus_recorder()?;
    let mut config = AdminConfig::new()
        .title("bgtasks example host")
        .action_definitions(definitions)
        .metrics(metrics);
    if let Some(token) = &args.admin_token {
        config = config.operator_token(token.as_str());
    }
    if let Some(token) = &args.admin_read_token {
        config = config.read_only_token(token.as_str());
    }
    let signing_in = if config.has_credentials() {
        "sign in with the --admin-token you gave"
    } else {
        "no token: anyone on this machine may operate the jobs"
    };
    let server = serve(addr, &Admin::new(runtime.clone(), config)).await?;
    println!("dashboard: {} ({signing_in})", server.url());
    let url = server.url();
    println!("metrics: {url}metrics; probes: {url}health/live, {url}health/ready");
    Ok(Some(server))
}
