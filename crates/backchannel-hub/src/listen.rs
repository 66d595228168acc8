//! How the hub takes connections: its own accept loop, so that what a connection may hold is
//! bounded before a byte of a request is read. At most [`Listening::max_connections`] are open
//! at once, and at most [`Listening::max_per_peer`] from one address; one over either bound is
//! closed as it is accepted. A request's headers must arrive within
//! [`Listening::header_timeout`] of its first byte (and a TLS handshake within the same time),
//! else the connection is closed. With TLS (`hub --tls-cert/--tls-key`), every connection is
//! rustls-terminated here. Bodies are bounded per route in [`crate::extract`].

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::metrics::Metrics;

/// Connections open at once, unless configured otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 8192;
/// Connections open at once from one address, unless configured otherwise.
pub const DEFAULT_MAX_PER_PEER: usize = 512;
/// How long a request's headers (or a TLS handshake) may take to arrive.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stopping hub waits for the requests in flight.
const GRACE: Duration = Duration::from_secs(30);

/// How the hub listens: the bounds on connections, and TLS if it terminates it.
#[derive(Clone)]
pub struct Listening {
    pub max_connections: usize,
    pub max_per_peer: usize,
    pub header_timeout: Duration,
    pub tls: Option<TlsAcceptor>,
}

impl Default for Listening {
    /// Plain HTTP within the default bounds.
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_per_peer: DEFAULT_MAX_PER_PEER,
            header_timeout: HEADER_TIMEOUT,
            tls: None,
        }
    }
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("max_connections", &self.max_connections)
            .field("max_per_peer", &self.max_per_peer)
            .field("header_timeout", &self.header_timeout)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Listening {
    /// The URL scheme clients reach this hub with.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// A TLS acceptor from a PEM certificate chain and its PEM private key (PKCS #8, PKCS #1 or
/// SEC1), read once at start.
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the certificate chain {}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "the certificate file {} holds no certificate",
        cert.display()
    );
    let private = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .context("the certificate and the private key do not make a TLS identity")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Open connections, in all and per address.
#[derive(Default)]
struct Open {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
}

/// A place taken by one connection; given back when dropped.
struct Slot {
    open: Arc<Mutex<Open>>,
    peer: IpAddr,
    metrics: Arc<Metrics>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.connections.fetch_sub(1, Ordering::Relaxed);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_peer.get_mut(&self.peer) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.by_peer.remove(&self.peer);
            }
        }
    }
}

/// Takes a place for a connection from `peer`, if both bounds allow.
fn take(
    open: &Arc<Mutex<Open>>,
    peer: IpAddr,
    limits: &Listening,
    metrics: &Arc<Metrics>,
) -> Option<Slot> {
    let mut guard = open.lock().unwrap_or_else(PoisonError::into_inner);
    let from_peer = guard.by_peer.get(&peer).copied().unwrap_or(0);
    if guard.total >= limits.max_connections || from_peer >= limits.max_per_peer {
        return None;
    }
    guard.total += 1;
    *guard.by_peer.entry(peer).or_insert(0) += 1;
    metrics.connections.fetch_add(1, Ordering::Relaxed);
    Some(Slot {
        open: Arc::clone(open),
        peer,
        metrics: Arc::clone(metrics),
    })
}

/// Serves `app` on `listener` until `shutdown` resolves, then gives the requests in flight
/// up to 30 seconds to finish; counts the connections open in `metrics`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Listening,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let open = Arc::new(Mutex::new(Open::default()));
    // Every connection holds a receiver: told to stop, each finishes its request in flight;
    // once all have ended, the sender sees it closed.
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // wait a little rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = take(&open, peer.ip(), &limits, &metrics) else {
            tracing::debug!(peer = %peer.ip(), "connection refused: too many open");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = connection(stream, app.clone(), limits.clone(), stopping.clone());
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    drop(listener);
    drop(stopping);
    let _ = stop.send(true);
    tokio::select! {
        () = stop.closed() => {}
        () = tokio::time::sleep(GRACE) => {
            tracing::warn!("stopped with requests still in flight after {GRACE:?}");
        }
    }
    Ok(())
}

/// Serves one connection, TLS-terminated first if the hub has TLS.
async fn connection(
    stream: TcpStream,
    app: Router,
    limits: Listening,
    stopping: watch::Receiver<bool>,
) {
    match limits.tls {
        None => http(stream, app, limits.header_timeout, stopping).await,
        Some(acceptor) => {
            match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => http(stream, app, limits.header_timeout, stopping).await,
                Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

/// Serves HTTP/1.1 (with upgrades, for push streams) on one connection until it ends, or
/// until the hub stops and its request in flight is answered.
async fn http<I>(io: I, app: Router, header_timeout: Duration, mut stopping: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app))
        .with_upgrades();
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = served {
        tracing::debug!(%error, "connection ended with an error");
    }
}
