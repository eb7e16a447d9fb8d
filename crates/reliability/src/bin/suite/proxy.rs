//! A TCP proxy the suite controls, on loopback between worker processes and a server (the
//! SMTP server): it forwards, or plays a server that is down, a network partition, or an
//! acknowledgement lost on its way back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::harness::{Context, Res};

/// What the proxy does with the traffic; switched at any time with [`TcpProxy::set`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyMode {
    /// Forwards both ways.
    Forward,
    /// The server is down: a new connection is closed as soon as it is accepted, before
    /// a byte is said, and the connections already open are cut.
    Reject,
    /// A partition: connections are accepted and kept open, and nothing goes through
    /// either way, nor does a new connection reach the server, until the mode changes —
    /// then what was held goes on, as after a healed network.
    Stall,
    /// Forwards, except that once a client has sent the end of a mail's data
    /// (`CRLF.CRLF`), nothing the server says reaches that client any more: the server
    /// has the message, the client never hears that it has (a lost acknowledgement).
    HoldDataReply,
}

/// What the proxy has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProxyStats {
    /// Connections accepted.
    pub(crate) accepted: usize,
    /// Connections closed at once because the mode was [`ProxyMode::Reject`].
    pub(crate) rejected: usize,
    /// Open connections cut when the mode became [`ProxyMode::Reject`].
    pub(crate) cut: usize,
    /// Connections held before they reached the server (a partition), and chunks of
    /// bytes held back on open ones (a partition, a lost acknowledgement).
    pub(crate) held: usize,
    /// Connections whose server replies were held after the end of a mail's data.
    pub(crate) held_replies: usize,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicUsize,
    rejected: AtomicUsize,
    cut: AtomicUsize,
    held: AtomicUsize,
    held_replies: AtomicUsize,
}

fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A proxy listening on `127.0.0.1:port` and forwarding to `upstream`. Stops, cutting
/// every connection, on drop.
pub(crate) struct TcpProxy {
    port: u16,
    mode: watch::Sender<ProxyMode>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl TcpProxy {
    /// Starts a proxy to `upstream` (`host:port`) on a free loopback port, in `mode`.
    pub(crate) async fn start(upstream: String, mode: ProxyMode) -> Res<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .ctx("bind the proxy")?;
        let port = listener.local_addr().ctx("the proxy's address")?.port();
        let (sender, receiver) = watch::channel(mode);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(accept(listener, upstream, receiver, counters.clone()));
        Ok(Self {
            port,
            mode: sender,
            counters,
            task,
        })
    }

    /// `127.0.0.1:port`, the address the workers connect to.
    pub(crate) fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Switches to `mode` at once, for new and open connections.
    pub(crate) fn set(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }

    /// What the proxy has done so far.
    pub(crate) fn stats(&self) -> ProxyStats {
        let read = |counter: &AtomicUsize| counter.load(Ordering::Relaxed);
        let c = &self.counters;
        ProxyStats {
            accepted: read(&c.accepted),
            rejected: read(&c.rejected),
            cut: read(&c.cut),
            held: read(&c.held),
            held_replies: read(&c.held_replies),
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections and serves each in a task of its own, kept in a set that is
/// dropped — every connection cut — with this task.
async fn accept(
    listener: TcpListener,
    upstream: String,
    mode: watch::Receiver<ProxyMode>,
    counters: Arc<Counters>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                bump(&counters.accepted);
                if *mode.borrow() == ProxyMode::Reject {
                    bump(&counters.rejected);
                    drop(client);
                    continue;
                }
                connections.spawn(connection(client, upstream.clone(), mode.clone(), counters.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One client's connection: held while the network is partitioned, then connected to the
/// server and pumped both ways until both sides are done, or cut when the server goes
/// down.
async fn connection(
    client: TcpStream,
    upstream: String,
    mut mode: watch::Receiver<ProxyMode>,
    counters: Arc<Counters>,
) {
    if *mode.borrow() == ProxyMode::Stall {
        bump(&counters.held);
    }
    let open = match mode.wait_for(|m| *m != ProxyMode::Stall).await {
        Ok(current) => *current != ProxyMode::Reject,
        Err(_) => false,
    };
    if !open {
        bump(&counters.cut);
        return;
    }
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let data_sent = Arc::new(AtomicBool::new(false));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let to_server = pump(
        client_read,
        server_write,
        mode.clone(),
        Toward::Server,
        data_sent.clone(),
        counters.clone(),
    );
    let to_client = pump(
        server_read,
        client_write,
        mode.clone(),
        Toward::Client,
        data_sent,
        counters.clone(),
    );
    tokio::select! {
        _ = async { tokio::join!(to_server, to_client) } => {}
        _ = mode.wait_for(|m| *m == ProxyMode::Reject) => bump(&counters.cut),
    }
}

/// The way a pump carries bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Toward {
    Server,
    Client,
}

/// The end of a mail's data in SMTP.
const END_OF_DATA: &[u8] = b"\r\n.\r\n";

/// Copies `from` to `to` chunk by chunk, holding each chunk while the mode says so; on
/// end of input it shuts `to` down. Toward the server it watches for the end of a mail's
/// data, and sets `data_sent` before that chunk goes on.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut mode: watch::Receiver<ProxyMode>,
    toward: Toward,
    data_sent: Arc<AtomicBool>,
    counters: Arc<Counters>,
) -> std::io::Result<()> {
    let mut buf = vec![0_u8; 16 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        let chunk = &buf[..n];
        if toward == Toward::Server {
            tail.extend_from_slice(chunk);
            if tail.windows(END_OF_DATA.len()).any(|w| w == END_OF_DATA) {
                data_sent.store(true, Ordering::SeqCst);
            }
            let keep = tail.len().saturating_sub(END_OF_DATA.len() - 1);
            tail.drain(..keep);
        }
        let mut counted = false;
        loop {
            let current = *mode.borrow_and_update();
            let passes = match current {
                ProxyMode::Forward => true,
                ProxyMode::Reject => return Ok(()),
                ProxyMode::Stall => false,
                ProxyMode::HoldDataReply => {
                    toward == Toward::Server || !data_sent.load(Ordering::SeqCst)
                }
            };
            if passes {
                break;
            }
            if !counted {
                counted = true;
                bump(&counters.held);
                if current == ProxyMode::HoldDataReply {
                    bump(&counters.held_replies);
                }
            }
            if mode.changed().await.is_err() {
                return Ok(());
            }
        }
        to.write_all(chunk).await?;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A server that greets with `220 hi`, then echoes every chunk it reads.
    async fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    socket.write_all(b"220 hi\r\n").await.unwrap();
                    let mut buf = [0_u8; 1024];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        address
    }

    async fn read_exactly(socket: &mut TcpStream, len: usize) -> Vec<u8> {
        let mut got = vec![0_u8; len];
        tokio::time::timeout(Duration::from_secs(10), socket.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        got
    }

    async fn wait_stats(proxy: &TcpProxy, done: impl Fn(ProxyStats) -> bool) -> ProxyStats {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let stats = proxy.stats();
                if done(stats) {
                    return stats;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn forwards_rejects_stalls_and_holds_the_reply_to_a_mail() {
        let proxy = TcpProxy::start(echo_server().await, ProxyMode::Forward)
            .await
            .unwrap();
        let mut client = TcpStream::connect(proxy.address()).await.unwrap();
        assert_eq!(read_exactly(&mut client, 8).await, b"220 hi\r\n");
        client.write_all(b"HELO x\r\n").await.unwrap();
        assert_eq!(read_exactly(&mut client, 8).await, b"HELO x\r\n");

        // A partition holds the bytes, and lets them go when it heals.
        proxy.set(ProxyMode::Stall);
        client.write_all(b"NOOP\r\n").await.unwrap();
        wait_stats(&proxy, |s| s.held >= 1).await;
        proxy.set(ProxyMode::Forward);
        assert_eq!(read_exactly(&mut client, 6).await, b"NOOP\r\n");

        // After the end of a mail's data, the server's replies are held.
        proxy.set(ProxyMode::HoldDataReply);
        client.write_all(b"body\r\n.\r\n").await.unwrap();
        let stats = wait_stats(&proxy, |s| s.held_replies >= 1).await;
        assert_eq!(stats.held_replies, 1);

        // A server that goes down cuts the open connection and closes new ones at once.
        proxy.set(ProxyMode::Reject);
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(read.is_err() || rest.is_empty(), "got {rest:?}");
        let mut refused = TcpStream::connect(proxy.address()).await.unwrap();
        let mut nothing = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), refused.read_to_end(&mut nothing))
            .await
            .unwrap();
        assert!(read.is_err() || nothing.is_empty(), "got {nothing:?}");
        let stats = wait_stats(&proxy, |s| s.rejected >= 1 && s.cut >= 1).await;
        assert_eq!((stats.accepted, stats.rejected, stats.cut), (2, 1, 1));
    }
}
