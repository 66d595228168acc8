//! The hub's API as the client calls it: every request signed with the identity key, every
//! answer decoded into the shared types of `backchannel_core::api`, every refusal turned into
//! a [`ClientError::Hub`] carrying the hub's stable code.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backchannel_core::api::{
    ChannelInfo, Channels, ClaimKeyPackage, ClaimedKeyPackage, CreateCase, CreateChannel,
    CreateInvite, Entries, ErrorBody, InviteRevoked, Join, KeyPackagesStored, Member, Members,
    PostEntry, Posted, RevokeInvite, UploadKeyPackages, Welcomes,
};
use backchannel_core::auth::sign_request;
use backchannel_core::witness::{Cosigned, WitnessHeads, WitnessKey, WitnessSubmitters};
use backchannel_core::{CaseId, HubChannel, PublicKey};
use ed25519_dalek::SigningKey;
use rand::RngCore;
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ClientError;

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How this process reaches hubs: the certificate authorities it trusts beside the public
/// ones (`--ca-file`), and whether plain HTTP may reach a hub beyond loopback
/// (`--insecure-http`). Set once, before the first hub is called ([`set_transport`]).
#[derive(Clone, Debug, Default)]
pub struct Transport {
    pub extra_roots: Vec<CertificateDer<'static>>,
    pub insecure_http: bool,
}

static TRANSPORT: OnceLock<Transport> = OnceLock::new();

/// Sets how this process reaches hubs; refused once any hub was called or it was set.
pub fn set_transport(transport: Transport) -> Result<(), ClientError> {
    TRANSPORT.set(transport).map_err(|_| {
        ClientError::Invalid("the transport is set once, before any hub is called".into())
    })
}

fn transport() -> &'static Transport {
    TRANSPORT.get_or_init(Transport::default)
}

/// Reads the PEM certificates in `path`, to trust as certificate authorities for hubs.
pub fn read_roots(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    use rustls_pki_types::pem::PemObject as _;
    let invalid = |why: String| {
        ClientError::Invalid(format!("the certificate file {} {why}", path.display()))
    };
    let roots = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(format!("cannot be read as PEM certificates: {e}")))?;
    if roots.is_empty() {
        return Err(invalid("holds no certificate".into()));
    }
    Ok(roots)
}

/// Whether this client may call a hub at `url`: HTTPS anywhere; plain HTTP on loopback
/// (`127.0.0.0/8`, `::1`, `localhost`) or where `--insecure-http` allows it.
pub fn check_hub_url(url: &str) -> Result<(), ClientError> {
    let refused = |why| ClientError::InsecureHub {
        url: url.to_owned(),
        why,
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| refused("it is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback || transport().insecure_http {
                Ok(())
            } else {
                Err(refused(
                    "plain HTTP beyond loopback would show who talks to whom to the network:                      use https://, or pass --insecure-http",
                ))
            }
        }
        _ => Err(refused(
            "a hub URL starts with https:// (or http:// on loopback)",
        )),
    }
}

/// The HTTP client every hub call goes through: built once per participant, since building
/// one (TLS roots included) costs far more than a request on loopback.
pub fn http_client() -> Result<reqwest::Client, String> {
    // Idle connections are let go before a hub's 10-second header timeout closes them, so a
    // request never starts on a connection the hub is closing.
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(5));
    for root in &transport().extra_roots {
        let root = reqwest::Certificate::from_der(root).map_err(|e| e.to_string())?;
        builder = builder.add_root_certificate(root);
    }
    builder.build().map_err(|e| e.to_string())
}

/// The TLS set-up of push streams to `wss://` hubs: the public roots and the extra ones.
fn stream_tls() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for root in &transport().extra_roots {
        roots.add(root.clone()).map_err(|e| e.to_string())?;
    }
    Ok(Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

pub struct HubClient {
    base: String,
    http: reqwest::Client,
    key: SigningKey,
    /// Counts the requests sent and the time awaiting answers, where the owner asked to.
    tally: Option<Arc<HubTally>>,
}

/// Requests sent, and nanoseconds spent awaiting their answers.
#[derive(Debug, Default)]
pub struct HubTally {
    pub requests: AtomicU64,
    pub waited_ns: AtomicU64,
}

impl HubClient {
    pub fn new(base: &str, key: SigningKey) -> Result<Self, ClientError> {
        check_hub_url(base)?;
        let http = http_client().map_err(|why| ClientError::Unreachable {
            url: base.into(),
            why,
        })?;
        Ok(Self::with_http(base, key, http))
    }

    /// A hub client sharing an HTTP client (its connection pool and TLS set-up).
    pub fn with_http(base: &str, key: SigningKey, http: reqwest::Client) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            key,
            tally: None,
        }
    }

    /// Counts every request this hub client sends, and the time awaiting answers, in `tally`.
    pub fn counting(mut self, tally: Arc<HubTally>) -> Self {
        self.tally = Some(tally);
        self
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let bytes = match body {
            Some(body) => {
                serde_json::to_vec(body).map_err(|e| ClientError::Invalid(e.to_string()))?
            }
            None => Vec::new(),
        };
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        if let Some(tally) = &self.tally {
            tally.requests.fetch_add(1, Ordering::Relaxed);
        }
        let auth = sign_request(&self.key, method.as_str(), path, now_ms(), nonce, &bytes);
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", auth.header_value());
        if body.is_some() {
            request = request
                .header("content-type", "application/json")
                .body(bytes);
        }
        let unreachable = |e: reqwest::Error| {
            let (url, why) = (self.base.clone(), e.to_string());
            if e.is_connect() {
                ClientError::NotConnected { url, why }
            } else {
                ClientError::Unreachable { url, why }
            }
        };
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                response.bytes().await.map(|text| (status, text))
            }
            Err(e) => Err(e),
        };
        if let Some(tally) = &self.tally {
            let waited = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            tally.waited_ns.fetch_add(waited, Ordering::Relaxed);
        }
        let (status, text) = answer.map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&text).map_err(|e| ClientError::Hub {
                url: self.base.clone(),
                status: status.as_u16(),
                code: "bad_response".into(),
                message: format!("the hub's answer is malformed: {e}"),
                missed: vec![],
                witnessed: None,
            });
        }
        let (code, message, missed, witnessed) = match serde_json::from_slice::<ErrorBody>(&text) {
            Ok(body) => (
                body.error.code,
                body.error.message,
                body.error.missed,
                body.error.witnessed.map(Box::new),
            ),
            Err(_) => ("http_error".into(), format!("HTTP {status}"), vec![], None),
        };
        Err(ClientError::Hub {
            url: self.base.clone(),
            status: status.as_u16(),
            code,
            message,
            missed,
            witnessed,
        })
    }

    pub async fn create_case(&self, case: CaseId) -> Result<serde_json::Value, ClientError> {
        let body = CreateCase { case_id: case };
        self.call(reqwest::Method::POST, "/v1/cases", Some(&body))
            .await
    }

    pub async fn create_invite(
        &self,
        case: CaseId,
        invite: &CreateInvite,
    ) -> Result<serde_json::Value, ClientError> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/cases/{case}/invites"),
            Some(invite),
        )
        .await
    }

    pub async fn revoke_invite(
        &self,
        case: CaseId,
        revoke: &RevokeInvite,
    ) -> Result<InviteRevoked, ClientError> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/cases/{case}/invites/revoke"),
            Some(revoke),
        )
        .await
    }

    // --- a hub serving as a witness (`backchannel_core::witness`) ---------------------------

    /// The key this hub co-signs heads with.
    pub async fn witness_key(&self) -> Result<PublicKey, ClientError> {
        let key: WitnessKey = self
            .call(reqwest::Method::GET, "/v1/witness", None::<&()>)
            .await?;
        Ok(key.key)
    }

    /// Registers a case with this witness, the caller as its mediator; returns the key.
    pub async fn witness_register(&self, case: CaseId) -> Result<PublicKey, ClientError> {
        let key: WitnessKey = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/witness/{case}"),
                Some(&serde_json::json!({})),
            )
            .await?;
        Ok(key.key)
    }

    /// Allows these participants to send the witness heads of the case.
    pub async fn witness_submitters(
        &self,
        case: CaseId,
        keys: Vec<PublicKey>,
    ) -> Result<(), ClientError> {
        self.call::<serde_json::Value>(
            reqwest::Method::POST,
            &format!("/v1/witness/{case}/submitters"),
            Some(&WitnessSubmitters { keys }),
        )
        .await
        .map(drop)
    }

    /// Sends the chain hashes of the public record from `from + 1` on; the witness's newest
    /// co-signed head.
    pub async fn witness_heads(
        &self,
        case: CaseId,
        heads: &WitnessHeads,
    ) -> Result<Cosigned, ClientError> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/witness/{case}/heads"),
            Some(heads),
        )
        .await
    }

    pub async fn join(&self, join: &Join) -> Result<Member, ClientError> {
        self.call(reqwest::Method::POST, "/v1/join", Some(join))
            .await
    }

    pub async fn members(&self, case: CaseId) -> Result<Vec<Member>, ClientError> {
        let members: Members = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/cases/{case}/members"),
                None::<&()>,
            )
            .await?;
        Ok(members.members)
    }

    pub async fn upload_key_packages(
        &self,
        key_packages: UploadKeyPackages,
    ) -> Result<KeyPackagesStored, ClientError> {
        self.call(
            reqwest::Method::POST,
            "/v1/key-packages",
            Some(&key_packages),
        )
        .await
    }

    pub async fn claim_key_package(
        &self,
        case: CaseId,
        key: PublicKey,
    ) -> Result<Vec<u8>, ClientError> {
        let claimed: ClaimedKeyPackage = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/cases/{case}/key-packages/claim"),
                Some(&ClaimKeyPackage { key }),
            )
            .await?;
        Ok(claimed.key_package.0)
    }

    pub async fn create_channel(
        &self,
        case: CaseId,
        channel: &HubChannel,
    ) -> Result<ChannelInfo, ClientError> {
        let body = CreateChannel {
            channel: channel.clone(),
        };
        self.call(
            reqwest::Method::POST,
            &format!("/v1/cases/{case}/channels"),
            Some(&body),
        )
        .await
    }

    pub async fn channels(&self, case: CaseId) -> Result<Vec<ChannelInfo>, ClientError> {
        let channels: Channels = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/cases/{case}/channels"),
                None::<&()>,
            )
            .await?;
        Ok(channels.channels)
    }

    pub async fn post_entry(
        &self,
        case: CaseId,
        channel: &HubChannel,
        entry: &PostEntry,
    ) -> Result<u64, ClientError> {
        let posted: Posted = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/cases/{case}/channels/{channel}/entries"),
                Some(entry),
            )
            .await?;
        Ok(posted.seq)
    }

    pub async fn entries(
        &self,
        case: CaseId,
        channel: &HubChannel,
        after: u64,
    ) -> Result<Entries, ClientError> {
        let path = format!(
            "/v1/cases/{case}/channels/{channel}/entries?after={after}&limit={}",
            backchannel_core::api::MAX_LIST
        );
        self.call(reqwest::Method::GET, &path, None::<&()>).await
    }

    /// Opens the push stream of a case: a WebSocket of [`backchannel_core::api::Notice`]s.
    pub async fn stream(
        &self,
        case: CaseId,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        ClientError,
    > {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let path = format!("/v1/cases/{case}/stream");
        let ws_base = match self.base.strip_prefix("http") {
            Some(rest) => format!("ws{rest}"),
            None => self.base.clone(),
        };
        let unreachable = |why: String| ClientError::Unreachable {
            url: self.base.clone(),
            why,
        };
        let mut request = format!("{ws_base}{path}")
            .into_client_request()
            .map_err(|e| unreachable(e.to_string()))?;
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        let auth = sign_request(&self.key, "GET", &path, now_ms(), nonce, b"");
        let value = auth
            .header_value()
            .parse()
            .map_err(|_| unreachable("bad header".into()))?;
        request.headers_mut().insert("authorization", value);
        let connector = if ws_base.starts_with("wss:") {
            tokio_tungstenite::Connector::Rustls(stream_tls().map_err(unreachable)?)
        } else {
            tokio_tungstenite::Connector::Plain
        };
        let (stream, _) =
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
        Ok(stream)
    }

    pub async fn welcomes(&self, after: u64) -> Result<Welcomes, ClientError> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/welcomes?after={after}"),
            None::<&()>,
        )
        .await
    }
}
