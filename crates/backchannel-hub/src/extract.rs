//! Request plumbing: the authentication middleware and extractors whose every rejection is
//! an [`ApiError`], so that even malformed requests are answered with an `ErrorBody`.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::Method;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use backchannel_core::PublicKey;
use backchannel_core::api::MAX_BODY_BYTES;
use backchannel_core::auth::RequestAuth;
use http_body_util::LengthLimitError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// The largest body of a route that carries no entry, key packages or witness heads: every
/// route but `POST …/entries`, `POST /v1/key-packages` and `POST /v1/witness/{case}/heads`,
/// which take up to [`MAX_BODY_BYTES`].
pub const MAX_SMALL_BODY_BYTES: usize = 16 * 1024;

/// How long the hub waits for a request's whole body once its headers are in.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The most body bytes the hub reads for `method` on `path`.
pub fn body_cap(method: &Method, path: &str) -> usize {
    // `…/heads` carries up to `MAX_WITNESS_HASHES` hashes as hex: about 70 KB.
    let large = *method == Method::POST
        && (path == "/v1/key-packages"
            || (path.starts_with("/v1/cases/") && path.ends_with("/entries"))
            || (path.starts_with("/v1/witness/") && path.ends_with("/heads")));
    if large {
        MAX_BODY_BYTES
    } else {
        MAX_SMALL_BODY_BYTES
    }
}

/// The authenticated caller's identity key, put in the request by [`authenticate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller(pub PublicKey);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .copied()
            .ok_or_else(|| ApiError::internal("route reached without authentication"))
    }
}

/// Middleware: checks the signed `Authorization` header over method, path and query, and
/// body; then the clock and the nonce. On success the body is handed on, already read.
///
/// What needs no body is checked before a byte of it is read: the header's syntax, the
/// timestamp's freshness and a declared `Content-Length` above the route's cap
/// ([`body_cap`]). The body is then read within the cap and within the state's body
/// timeout ([`BODY_TIMEOUT`] by default), and only then is the signature verified.
pub async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::AuthMissing)?;
    let auth = header
        .to_str()
        .ok()
        .and_then(RequestAuth::parse)
        .ok_or(ApiError::AuthInvalid)?;
    let now_ms = state.now_ms();
    if !auth.fresh_at(now_ms) {
        return Err(ApiError::AuthExpired);
    }
    let cap = body_cap(&parts.method, parts.uri.path());
    if declared_length(&parts).is_some_and(|length| length > cap as u64) {
        return Err(ApiError::BodyTooLarge);
    }
    let bytes = tokio::time::timeout(state.body_timeout(), read_body(body, cap))
        .await
        .map_err(|_| ApiError::BodyTimeout)??;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    if !auth.verify(parts.method.as_str(), path_and_query, &bytes) {
        return Err(ApiError::AuthInvalid);
    }
    let (key, nonce, ts_ms) = (auth.key, auth.nonce, auth.ts_ms);
    state.take_rate(&key)?;
    let fresh = match state.store().replay_window() {
        Some(window) => window.record(&key, &nonce, ts_ms, now_ms)?,
        None => {
            state
                .db(move |store| store.record_nonce(&key, &nonce, ts_ms, now_ms))
                .await?
        }
    };
    if !fresh {
        return Err(ApiError::AuthReplayed);
    }
    parts.extensions.insert(Caller(key));
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

/// The request's `Content-Length`, when it declares one that parses.
fn declared_length(parts: &Parts) -> Option<u64> {
    parts
        .headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads a whole body, refusing one above `cap` bytes (chunked or not).
async fn read_body(body: Body, cap: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, cap).await.map_err(|error| {
        let too_large =
            std::error::Error::source(&error).is_some_and(|source| source.is::<LengthLimitError>());
        if too_large {
            ApiError::BodyTooLarge
        } else {
            ApiError::BadRequest("the body could not be read".into())
        }
    })
}

/// A JSON body, parsed after authentication; a parse error is `bad_request`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(request.into_body(), MAX_BODY_BYTES).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|error| ApiError::BadRequest(error.to_string()))
    }
}

/// Path parameters; a malformed one (a bad case id or channel name) is `bad_request`.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathParams(value))
            .map_err(|rejection: PathRejection| {
                ApiError::BadRequest(format!("the path is malformed ({})", rejection.body_text()))
            })
    }
}

/// Query parameters; a malformed one is `bad_request`.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| QueryParams(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::BadRequest(format!(
                    "the query is malformed ({})",
                    rejection.body_text()
                ))
            })
    }
}
