//! The hub as a witness (`backchannel_core::witness`): for cases registered with it, hosted
//! here or elsewhere, it keeps one chain hash per position of the case's public record, and
//! co-signs its newest head for the mediator and the keys the mediator allows, only if every
//! hash they send agrees with those it holds. A hub that shows two participants different
//! histories is caught by the witness's signed statement of the hash it holds; the witness
//! sees hashes and positions, never content.
//!
//! The routes: `GET /v1/witness` (the key, no signature), and, signed, `POST
//! /v1/witness/{case}` (register), `…/submitters` and `…/heads`. The storage is
//! [`crate::store::WitnessStore`]; the signing key is made once, kept in the database and
//! loaded when the hub starts ([`AppState::witness`]).

use axum::Json;
use axum::extract::State;
use backchannel_core::witness::{
    Cosigned, MAX_WITNESS_KEYS, WitnessHeads, WitnessKey, WitnessSubmitters,
};
use backchannel_core::{CaseId, PublicKey};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, PathParams};
use crate::state::AppState;
use crate::store::witness::check_heads;
use crate::store::{Heads, Held};

/// The key a hub co-signs with. `Debug` shows the public key only.
pub struct WitnessSigner {
    key: SigningKey,
}

impl WitnessSigner {
    /// The signer whose Ed25519 secret is `secret`.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(secret),
        }
    }

    /// The public key, as `GET /v1/witness` gives it.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }

    /// The signed statement that the public record of `case` holds `held`.
    pub fn cosign(&self, case: CaseId, held: Held) -> Cosigned {
        Cosigned::sign(&self.key, case, held.index, held.hash)
    }
}

impl std::fmt::Debug for WitnessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessSigner")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// The body of `POST /v1/witness/{case}`: `{}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Register {}

/// The answer to `POST /v1/witness/{case}/submitters`.
#[derive(Serialize)]
pub(crate) struct Submitters {
    /// How many keys the case now allows to send heads.
    submitters: u64,
}

type ApiResult<T> = Result<T, ApiError>;

/// `GET /v1/witness`.
pub(crate) async fn key(State(state): State<AppState>) -> ApiResult<Json<WitnessKey>> {
    Ok(Json(WitnessKey {
        key: state.witness().await?.public_key(),
    }))
}

/// `POST /v1/witness/{case}`: the caller registers the case as its mediator.
pub(crate) async fn register(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
    JsonBody(Register {}): JsonBody<Register>,
) -> ApiResult<Json<WitnessKey>> {
    let key = state.witness().await?.public_key();
    let (now_ms, max_cases) = (state.now_ms(), state.policy().max_cases_per_key);
    state
        .db(move |store| store.witness_register(&case, &caller, now_ms, max_cases))
        .await?;
    Ok(Json(WitnessKey { key }))
}

/// `POST /v1/witness/{case}/submitters` (the case's mediator).
pub(crate) async fn allow(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
    JsonBody(request): JsonBody<WitnessSubmitters>,
) -> ApiResult<Json<Submitters>> {
    if request.keys.is_empty() || request.keys.len() > MAX_WITNESS_KEYS {
        return Err(ApiError::InvalidWitness("a request names 1 to 100 keys"));
    }
    let submitters = state
        .db(move |store| store.witness_allow(&case, &caller, &request.keys))
        .await?;
    Ok(Json(Submitters { submitters }))
}

/// `POST /v1/witness/{case}/heads` (the case's mediator and the keys it allowed).
pub(crate) async fn heads(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
    JsonBody(request): JsonBody<WitnessHeads>,
) -> ApiResult<Json<Cosigned>> {
    check_heads(request.from, &request.hashes)?;
    let signer = state.witness().await?;
    let WitnessHeads { from, hashes } = request;
    let outcome = state
        .db(move |store| store.witness_heads(&case, &caller, from, &hashes))
        .await?;
    match outcome {
        Heads::Agreed(newest) => Ok(Json(signer.cosign(case, newest))),
        Heads::Fork(held) => Err(ApiError::WitnessFork {
            witnessed: Box::new(signer.cosign(case, held)),
        }),
        Heads::Gap(newest) => Err(ApiError::WitnessGap {
            witnessed: newest.map(|newest| Box::new(signer.cosign(case, newest))),
        }),
    }
}

/// A fresh secret for a hub that has no witness key yet.
pub(crate) fn fresh_secret() -> [u8; 32] {
    rand::random()
}
