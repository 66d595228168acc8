//! `GET /v1/cases/{case}/stream`: a WebSocket that pushes a [`Notice`] (a JSON text frame)
//! for each entry accepted in a channel the caller is a member of once that entry is applied.
//! Notices are hints to fetch: a client that falls too far behind is disconnected and
//! re-syncs by reading entries.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use backchannel_core::api::Notice;
use backchannel_core::{CaseId, PublicKey};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::extract::{Caller, PathParams};
use crate::state::{AppState, Published, StreamSlot};

/// Opens a stream for a member of the case, if the hub has room for one more.
pub async fn open(
    State(state): State<AppState>,
    Caller(caller): Caller,
    PathParams(case): PathParams<CaseId>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    state
        .db(move |store| store.require_member(&case, &caller))
        .await?;
    let upgrade =
        upgrade.map_err(|_| ApiError::BadRequest("this route takes a WebSocket upgrade".into()))?;
    let permit = state.claim_stream(caller, case)?;
    let idle = state.stream_idle();
    // Subscribe before answering, so no notice falls between the answer and the loop.
    let notices = state.subscribe();
    Ok(upgrade.on_upgrade(move |socket| forward(socket, notices, case, caller, idle, permit)))
}

/// Forwards notices until the client leaves, falls behind, or the hub stops (the sender is
/// dropped). Holds `_permit` for the stream's lifetime.
async fn forward(
    mut socket: WebSocket,
    mut notices: broadcast::Receiver<Published>,
    case: CaseId,
    caller: PublicKey,
    (ping, idle): (Duration, Duration),
    _permit: StreamSlot,
) {
    let mut pings = tokio::time::interval_at(Instant::now() + ping, ping);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            _ = pings.tick() => {
                if heard.elapsed() > idle {
                    let frame = CloseFrame { code: close_code::AWAY, reason: "silent too long".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
            published = notices.recv() => match published {
                Ok(published) => {
                    if published.case != case || !published.members.contains(&caller) {
                        continue;
                    }
                    if send(&mut socket, &published.notice).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let frame = CloseFrame { code: close_code::AGAIN, reason: "fell behind; re-sync".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
                Err(RecvError::Closed) => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                // Pings are answered by the WebSocket layer; anything the client sends (a
                // pong above all) shows it is there, and is otherwise ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => heard = Instant::now(),
            },
        }
    }
}

async fn send(socket: &mut WebSocket, notice: &Notice) -> Result<(), axum::Error> {
    let text = serde_json::to_string(notice).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}
