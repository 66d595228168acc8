//! The backchannel hub: a relay that stores and orders opaque ciphertext per channel,
//! delivers it, and enforces membership. It is trusted for availability only: it never sees
//! plaintext, and reads of MLS messages no more than their framing.
//!
//! [`app`] builds the router over an [`AppState`]; [`serve`], [`serve_with`], [`serve_on`],
//! [`spawn_local`] and [`spawn_local_with`] run it. Who may use the hub is a [`Policy`]:
//! anyone by default, or only the keys on a list of mediators, within quotas per key and per
//! case. Storage sits behind [`store::Backend`]: SQLite, or PostgreSQL when several hub
//! processes share one database ([`Database`] names which). Every hub also serves as a
//! witness for cases hosted on it or elsewhere ([`witness`]), with a key kept in its database.

pub mod check;
pub mod database;
pub mod error;
pub mod extract;
pub mod listen;
pub mod metrics;
pub mod policy;
pub mod rate;
pub mod replay;
pub mod routes;
pub mod state;
pub mod store;
pub mod stream;
pub mod witness;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use database::{Database, Durability};
pub use error::ApiError;
pub use listen::Listening;
pub use policy::{Conveners, Policy};
pub use routes::app;
pub use state::AppState;

/// Where the hub listens and keeps its database. A `PathBuf` converts into a [`Database`]
/// (`db: path.into()`). Who may use the hub is a [`Policy`] beside it ([`serve_with`]); the
/// default lets anyone convene.
#[derive(Clone, Debug)]
pub struct HubConfig {
    pub listen: SocketAddr,
    pub db: Database,
    /// How durable an acknowledged entry is (SQLite; PostgreSQL always syncs).
    pub durability: Durability,
    /// The bounds on connections, and TLS ([`Listening::default`]: plain HTTP).
    pub listening: Listening,
    /// Where `GET /metrics` is served, if anywhere (`--metrics-listen`).
    pub metrics: Option<SocketAddr>,
}

/// The one clock of the hub: unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Opens (and migrates) the database, binds `config.listen`, calls `ready` with the bound
/// address, and serves until `shutdown` resolves; then finishes the requests in flight.
///
/// On PostgreSQL, every process's push streams announce the entries any process accepted
/// (`LISTEN`/`NOTIFY`, `store/postgres/notify.rs`), and a database still unreachable at start
/// is waited for, for up to two minutes.
pub async fn serve(
    config: HubConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    serve_with(config, Policy::default(), shutdown, ready).await
}

/// As [`serve`], letting `policy` say who may convene and how much one key or case may take.
pub async fn serve_with(
    config: HubConfig,
    policy: Policy,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    match &policy.conveners {
        Conveners::Anyone => tracing::info!("anyone may convene cases"),
        Conveners::Listed(keys) => {
            tracing::info!(
                mediators = keys.len(),
                "only listed mediators may convene cases"
            );
        }
    }
    let state = open_state(&config.db, config.durability)
        .await?
        .with_policy(policy);
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    // Both addresses stop on the one signal.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    if let Some(address) = config.metrics {
        let metrics = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address} for metrics"))?;
        tracing::info!(address = %metrics.local_addr()?, "metrics at /metrics");
        let served = listen::serve(
            metrics,
            metrics::app(state.clone()),
            Listening::default(),
            Arc::default(),
            stopped(stopping.clone()),
        );
        tokio::spawn(async move {
            if let Err(error) = served.await {
                tracing::error!(error = %format!("{error:#}"), "serving metrics failed");
            }
        });
    }
    ready(listener.local_addr().unwrap_or(config.listen));
    run(listener, state, config.listening, stopped(stopping)).await
}

/// Serves on an already-bound listener, with the SQLite database at `db` and the default
/// [`Policy`].
pub async fn serve_on(
    listener: TcpListener,
    db: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = open_state(&Database::Sqlite(db.to_path_buf()), Durability::Normal).await?;
    run(listener, state, Listening::default(), shutdown).await
}

/// A hub running in the current runtime; dropping it (or [`LocalHub::stop`]) shuts it down.
pub struct LocalHub {
    /// The base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl LocalHub {
    /// Shuts the hub down and waits until it has stopped.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.context("the hub task failed")?,
            None => Ok(()),
        }
    }
}

impl Drop for LocalHub {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Spawns a hub on `127.0.0.1` on a free port, with the SQLite database at `db` and the
/// default [`Policy`].
pub async fn spawn_local(db: &Path) -> anyhow::Result<LocalHub> {
    spawn_local_on(&Database::Sqlite(db.to_path_buf())).await
}

/// Spawns a hub on `127.0.0.1` on a free port, on `db`. Several may share one PostgreSQL
/// database, as several hub processes would.
pub async fn spawn_local_on(db: &Database) -> anyhow::Result<LocalHub> {
    spawn_local_with(open_state(db, Durability::Normal).await?).await
}

/// Spawns a hub on `127.0.0.1` on a free port, serving `state` (tests: a hub with its own
/// clock, [`AppState::with_clock`], or its own policy, [`AppState::with_policy`]).
pub async fn spawn_local_with(state: AppState) -> anyhow::Result<LocalHub> {
    spawn_local_listening(state, Listening::default()).await
}

/// As [`spawn_local_with`], listening as `listening` says (tests: lower bounds, or TLS; the
/// URL is then `https://localhost:PORT`, the name a test's certificate is made for).
pub async fn spawn_local_listening(
    state: AppState,
    listening: Listening,
) -> anyhow::Result<LocalHub> {
    load_witness(&state).await?;
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .context("binding 127.0.0.1")?;
    let port = listener.local_addr()?.port();
    let url = match listening.tls {
        Some(_) => format!("https://localhost:{port}"),
        None => format!("http://127.0.0.1:{port}"),
    };
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state, listening, async move {
        let _ = stopped.await;
    }));
    Ok(LocalHub {
        url,
        shutdown: Some(shutdown),
        task: Some(task),
    })
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: the shutdown future for a hub process.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

async fn open_state(db: &Database, durability: Durability) -> anyhow::Result<AppState> {
    let store: Arc<dyn store::Backend> = match db {
        Database::Sqlite(path) => Arc::new(
            store::Sqlite::open_with(path, durability).context("opening the hub database")?,
        ),
        Database::Postgres(url) => Arc::new(connect_postgres(url).await?),
    };
    let state = AppState::new(store);
    state.follow_other_processes();
    load_witness(&state).await?;
    Ok(state)
}

/// How long a hub starting while its PostgreSQL database is unreachable keeps trying.
const DATABASE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Connects to PostgreSQL and migrates; while the database cannot be reached, tries again
/// (after 1, 2, 4… up to 15 seconds) for up to two minutes, saying so each time.
async fn connect_postgres(url: &str) -> anyhow::Result<store::Postgres> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_secs(1);
    loop {
        // The synchronous client runs its own runtime: connect off the async workers.
        let attempt = url.to_owned();
        let connected = tokio::task::spawn_blocking(move || store::Postgres::connect(&attempt))
            .await
            .context("connecting to PostgreSQL")?;
        let error = match connected {
            Ok(store) => return Ok(store),
            Err(error) => error,
        };
        let unreachable = error
            .chain()
            .filter_map(|cause| cause.downcast_ref::<postgres::Error>())
            .any(store::postgres::connection_lost);
        if !unreachable || started.elapsed() + pause > DATABASE_WAIT {
            return Err(error.context("opening the hub database on PostgreSQL"));
        }
        tracing::warn!(error = %format!("{error:#}"), retry_in_s = pause.as_secs(), "the database cannot be reached yet");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(15));
    }
}

/// Loads (making it, the first time) the key the hub co-signs with, so that a database that
/// cannot give one stops the hub at start rather than failing its first witness request.
async fn load_witness(state: &AppState) -> anyhow::Result<()> {
    match state.witness().await {
        Ok(signer) => {
            tracing::info!(key = %signer.public_key(), "witness key loaded");
            Ok(())
        }
        // The detail of an internal error is for the operator here, not a client.
        Err(ApiError::Internal(detail)) => {
            Err(anyhow::anyhow!("loading the witness key: {detail}"))
        }
        Err(error) => Err(anyhow::anyhow!("loading the witness key: {error}")),
    }
}

async fn run(
    listener: TcpListener,
    state: AppState,
    listening: Listening,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(
        address = %listener.local_addr()?,
        scheme = listening.scheme(),
        "hub listening"
    );
    let metrics = Arc::clone(state.metrics());
    listen::serve(listener, app(state), listening, metrics, shutdown).await?;
    tracing::info!("hub stopped");
    Ok(())
}
