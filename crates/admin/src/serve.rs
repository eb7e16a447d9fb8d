//! Serving the admin on an address of its own, refusing a non-loopback address without
//! tokens.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::Admin;

/// Why the admin could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A non-loopback address without any token: anyone on the network could operate
    /// every job.
    #[error(
        "refusing to serve the admin on {addr} without credentials: it is not a loopback \
         address, so anyone who can reach it could operate every job. Configure a token \
         (AdminConfig::operator_token, or --admin-token) or bind 127.0.0.1"
    )]
    NoCredentials {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr} for the admin: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// A running admin server. Dropping it leaves the server running; call
/// [`shutdown`](Self::shutdown) to stop it.
#[derive(Debug)]
pub struct AdminServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl AdminServer {
    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The dashboard's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// Stops taking connections, lets requests in flight finish, and waits for it.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }
}

/// Serves `admin` on `addr`. A non-loopback address needs at least one token in the
/// admin's configuration ([`ServeError::NoCredentials`] otherwise).
///
/// ```no_run
/// # async fn demo(runtime: bgtasks_core::Runtime) -> Result<(), Box<dyn std::error::Error>> {
/// use bgtasks_admin::{Admin, AdminConfig, serve};
///
/// let admin = Admin::new(runtime, AdminConfig::new());
/// let server = serve("127.0.0.1:8080".parse()?, &admin).await?;
/// println!("dashboard: {}", server.url());
/// server.shutdown().await?;
/// # Ok(())
/// # }
/// ```
pub async fn serve(addr: SocketAddr, admin: &Admin) -> Result<AdminServer, ServeError> {
    if !addr.ip().is_loopback() && !admin.config().has_credentials() {
        return Err(ServeError::NoCredentials { addr });
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let (stop, mut stopped) = watch::channel(false);
    let router = admin.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(AdminServer {
        local_addr,
        stop,
        task,
    })
}
