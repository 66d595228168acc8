//! The `/v1` routes: each handler checks what needs no state, then makes one store call.

use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use backchannel_core::api::{
    ChannelInfo, Channels, ClaimKeyPackage, ClaimedKeyPackage, CreateCase, CreateChannel,
    CreateInvite, Entries, Health, InviteRevoked, Join, KeyPackagesStored, MAX_KEY_PACKAGES,
    MAX_LIST, MAX_MISSED, Member, Members, Notice, PostEntry, Posted, RevokeInvite,
    UploadKeyPackages, Welcomes,
};
use backchannel_core::{CaseId, HubChannel};
use serde::Deserialize;

use crate::check;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, PathParams, QueryParams, authenticate};
use crate::metrics;
use crate::state::{AppState, Published};
use crate::store::NewEntry;
use crate::stream;
use crate::witness;

pub mod openapi;

/// How many entries `GET …/entries` returns when the query names no limit.
pub const DEFAULT_LIMIT: usize = 100;

type ApiResult<T> = Result<T, ApiError>;

/// The hub's router, over `state`.
pub fn app(state: AppState) -> Router {
    let signed = Router::new()
        .route("/v1/cases", post(create_case))
        .route("/v1/cases/{case}/invites", post(create_invite))
        .route("/v1/cases/{case}/invites/revoke", post(revoke_invite))
        .route("/v1/join", post(join))
        .route("/v1/cases/{case}/members", get(members))
        .route("/v1/key-packages", post(upload_key_packages))
        .route(
            "/v1/cases/{case}/key-packages/claim",
            post(claim_key_package),
        )
        .route(
            "/v1/cases/{case}/channels",
            post(create_channel).get(channels),
        )
        .route(
            "/v1/cases/{case}/channels/{channel}/entries",
            post(post_entry).get(entries),
        )
        .route("/v1/welcomes", get(welcomes))
        .route("/v1/cases/{case}/stream", get(stream::open))
        .route("/v1/witness/{case}", post(witness::register))
        .route("/v1/witness/{case}/submitters", post(witness::allow))
        .route("/v1/witness/{case}/heads", post(witness::heads))
        .route_layer(from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/witness", get(witness::key))
        .route("/v1/openapi.json", get(openapi::serve))
        .merge(signed)
        .route_layer(from_fn(name_route))
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn_with_state(state.clone(), limit_requests))
        .layer(from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Bounds the requests served at once: one more than the state allows is `503 too_busy`,
/// answered without reading its body. A WebSocket stream holds its place only until it is
/// upgraded; open streams have their own bound.
async fn limit_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match state.claim_request() {
        Ok(_permit) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// The template of the route that answered (`/v1/cases/{case}/…`), put in the response for
/// [`observe`]: what the log and the metrics name instead of the path, which holds case ids
/// and channel names.
async fn name_route(request: Request, next: Next) -> Response {
    let route = metrics::template(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let mut response = next.run(request).await;
    response.extensions_mut().insert(RouteName(route));
    response
}

#[derive(Clone, Copy)]
struct RouteName(&'static str);

/// One log line and one count per request: method, route template, status and duration.
/// Never a path, a query or a body.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let took = started.elapsed();
    let route = response
        .extensions()
        .get::<RouteName>()
        .map_or("unmatched", |name| name.0);
    let status = response.status().as_u16();
    state
        .metrics()
        .request(method.as_str(), route, status, took);
    let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    tracing::info!(%method, route, status, ms, "request");
    response
}

async fn health() -> Json<Health> {
    Json(Health {
        ok: true,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

#[derive(serde::Serialize)]
struct CaseCreated {
    case_id: CaseId,
}

async fn create_case(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<CreateCase>,
) -> ApiResult<(StatusCode, Json<CaseCreated>)> {
    if !state.policy().conveners.admit(&caller) {
        return Err(ApiError::NotAMediator);
    }
    let (case, now_ms) = (request.case_id, state.now_ms());
    let max_cases = state.policy().max_cases_per_key;
    state
        .db(move |store| store.create_case(&case, &caller, now_ms, max_cases))
        .await?;
    Ok((StatusCode::CREATED, Json(CaseCreated { case_id: case })))
}

async fn create_invite(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
    JsonBody(request): JsonBody<CreateInvite>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let now_ms = state.now_ms();
    let invite = check::invite(request, now_ms)?;
    let max_invites = state.policy().max_invites_per_case;
    state
        .db(move |store| store.create_invite(&case, &caller, &invite, now_ms, max_invites))
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({}))))
}

async fn revoke_invite(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
    JsonBody(request): JsonBody<RevokeInvite>,
) -> ApiResult<Json<InviteRevoked>> {
    check::code_hash(&request.code_hash)?;
    let (code_hash, now_ms) = (request.code_hash, state.now_ms());
    let revoked_ms = {
        let code_hash = code_hash.clone();
        state
            .db(move |store| store.revoke_invite(&case, &caller, &code_hash, now_ms))
            .await?
    };
    Ok(Json(InviteRevoked {
        code_hash,
        revoked_ms,
    }))
}

async fn join(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<Join>,
) -> ApiResult<Json<Member>> {
    check::sealed_name(&request.sealed_name)?;
    let code_hash = check::invite_code_hash(&request.code)?;
    let now_ms = state.now_ms();
    let member = state
        .db(move |store| {
            store.join(
                &request.case_id,
                &caller,
                &code_hash,
                &request.sealed_name.0,
                now_ms,
            )
        })
        .await?;
    Ok(Json(member))
}

async fn members(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
) -> ApiResult<Json<Members>> {
    let members = state.db(move |store| store.members(&case, &caller)).await?;
    Ok(Json(Members { members }))
}

async fn upload_key_packages(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<UploadKeyPackages>,
) -> ApiResult<Json<KeyPackagesStored>> {
    // More than a key may hold is refused before any is verified.
    if request.key_packages.len() > MAX_KEY_PACKAGES {
        return Err(ApiError::TooManyKeyPackages);
    }
    let stock = state
        .db(move |store| {
            // Verifying signatures is CPU work: here, on the blocking pool, not on a worker.
            let packages = request
                .key_packages
                .iter()
                .map(|package| check::key_package(package, &caller))
                .collect::<Result<Vec<_>, _>>()?;
            store.store_key_packages(&caller, packages)
        })
        .await?;
    Ok(Json(KeyPackagesStored {
        available: stock.available,
        last_resort: stock.last_resort,
    }))
}

async fn claim_key_package(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
    JsonBody(request): JsonBody<ClaimKeyPackage>,
) -> ApiResult<Json<ClaimedKeyPackage>> {
    let body = state
        .db(move |store| store.claim_key_package(&case, &caller, &request.key))
        .await?;
    Ok(Json(ClaimedKeyPackage {
        key_package: backchannel_core::api::Blob(body),
    }))
}

async fn create_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
    JsonBody(request): JsonBody<CreateChannel>,
) -> ApiResult<(StatusCode, Json<ChannelInfo>)> {
    let info = state
        .db(move |store| store.create_channel(&case, &caller, &request.channel))
        .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn channels(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
) -> ApiResult<Json<Channels>> {
    let channels = state
        .db(move |store| store.channels(&case, &caller))
        .await?;
    Ok(Json(Channels { channels }))
}

async fn post_entry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams((case, channel)): PathParams<(CaseId, HubChannel)>,
    JsonBody(request): JsonBody<PostEntry>,
) -> ApiResult<(StatusCode, Json<Posted>)> {
    let now_ms = state.now_ms();
    // The kind of a channel never changes, so checking the entry's framing outside the write
    // transaction is safe.
    let kind = state.channel_kind(case, &channel, caller).await?;
    let entry = match check::entry(&case, &channel, kind, request) {
        Ok(entry) => NewEntry {
            quota: state.policy().max_bytes_per_key,
            ..entry
        },
        Err(e) => {
            // One removed since its kind was remembered hears that first, as it would have.
            state.forget_kind(case, &channel, caller);
            state.channel_kind(case, &channel, caller).await?;
            return Err(e);
        }
    };
    let accepted = {
        let channel = channel.clone();
        state
            .db(move |store| {
                let after = entry.after;
                match store.post_entry(&case, &channel, &caller, entry, now_ms) {
                    // Hand the sender what it missed, so that it can post again at once.
                    Err(ApiError::StaleHead { head, .. }) if after < head => {
                        let missed = store
                            .entries(&case, &channel, &caller, after, MAX_MISSED)?
                            .entries;
                        Err(ApiError::StaleHead { head, missed })
                    }
                    outcome => outcome,
                }
            })
            .await?
    };
    let seq = accepted.seq;
    state.publish(Published {
        case,
        notice: Notice { channel, seq },
        members: accepted.members.into(),
    });
    Ok((StatusCode::CREATED, Json(Posted { seq })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

async fn entries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams((case, channel)): PathParams<(CaseId, HubChannel)>,
    QueryParams(query): QueryParams<EntriesQuery>,
) -> ApiResult<Json<Entries>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(ApiError::InvalidLimit);
    }
    check::cursor(query.after)?;
    let entries = state
        .db(move |store| store.entries(&case, &channel, &caller, query.after, limit))
        .await?;
    Ok(Json(entries))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WelcomesQuery {
    #[serde(default)]
    after: u64,
}

async fn welcomes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(query): QueryParams<WelcomesQuery>,
) -> ApiResult<Json<Welcomes>> {
    check::cursor(query.after)?;
    let welcomes = state
        .db(move |store| store.welcomes(&caller, query.after, MAX_LIST))
        .await?;
    Ok(Json(Welcomes { welcomes }))
}
