//! The host's dashboard: the admin API and web UI of `bgtasks-admin`, when asked for with
//! `--admin-addr`.

use std::sync::Arc;

use bgtasks::actions::JobActionDefinitionManager;
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
    let mut config = AdminConfig::new()
        .title("bgtasks example host")
        .action_definitions(definitions);
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
    Ok(Some(server))
}
