//! Keeping every case up to date while the UI runs, and telling the open pages.
//!
//! Each case is followed over the hub's push stream: every notice is a sync, and a sync that
//! verified new acts is announced to the pages over server-sent events (`/events`, event
//! `update`, the case's id as data). A stream that cannot be opened or breaks is tried again
//! after a pause; meanwhile the pages show the local copy and say how old it is.
//!
//! Each sync's list of joiners waiting for the mediator is kept (`admission::Waiting`) for the
//! pages to show, and a change in it is announced as new acts are. A join posts no entry, so
//! the push stream says nothing of it: the mediator's cases are also synced every
//! [`JOINERS_POLL`].

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use backchannel_core::CaseId;
use futures_util::{FutureExt as _, Stream, StreamExt as _};

use super::Ui;

/// How long a broken stream waits before it is opened again.
const RETRY: Duration = Duration::from_secs(5);
/// How often the mediator's case is synced without a notice, to hear of new joiners.
const JOINERS_POLL: Duration = Duration::from_secs(30);

/// Follows every case of the home.
pub(super) async fn start(ui: &Ui) {
    let cases = ui.client.lock().await.cases();
    for case in cases {
        watch(ui, case);
    }
}

/// Follows `case` from now on: each case of the home at start, and each case convened from
/// the desk as it is made.
pub(super) fn watch(ui: &Ui, case: CaseId) {
    tokio::spawn(follow(ui.clone(), case));
}

async fn follow(ui: Ui, case: CaseId) {
    loop {
        let hub = ui.client.lock().await.hub_client(case);
        let Ok(hub) = hub else { return };
        let stream = hub.stream(case).await;
        settle(&ui, case).await;
        let mediator = {
            let client = ui.client.lock().await;
            client
                .state(case)
                .is_ok_and(|state| state.mediator == client.key())
        };
        if let Ok(mut stream) = stream {
            let mut poll = tokio::time::interval(JOINERS_POLL);
            // The first tick is at once: synced above.
            poll.tick().await;
            loop {
                tokio::select! {
                    frame = stream.next() => match frame {
                        Some(Ok(frame)) => {
                            if frame.is_text() {
                                // A burst of notices is one sync.
                                while let Some(Some(Ok(_))) = stream.next().now_or_never() {}
                                settle(&ui, case).await;
                            }
                        }
                        _ => break,
                    },
                    _ = poll.tick(), if mediator => settle(&ui, case).await,
                }
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Syncs one case; a sync the hub could not serve for now (unreachable, busy, or this key
/// over its rate) is tried again after 1, 2 and 4 seconds, so that a notice is never left
/// unread until the next one.
async fn settle(ui: &Ui, case: CaseId) {
    let mut pause = Duration::from_secs(1);
    for _ in 0..3 {
        match sync(ui, case).await {
            Err(code) if TRANSIENT.contains(&code.as_str()) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            _ => return,
        }
    }
    let _ = sync(ui, case).await;
}

/// The refusals that say "not now" rather than "no".
const TRANSIENT: [&str; 4] = [
    "hub_unreachable",
    "rate_limited",
    "too_busy",
    "database_unavailable",
];

/// Syncs one case, keeping its joiners waiting; announces it when acts arrived or the joiners
/// waiting changed. A failure is logged, and its code returned.
async fn sync(ui: &Ui, case: CaseId) -> Result<(), String> {
    let report = ui.client.lock().await.sync(case).await;
    match report {
        Ok(report) => {
            let acts = !report.new.is_empty();
            let joiners = ui.waiting.set(case, report.pending);
            if acts || joiners {
                // No page open is not an error.
                let _ = ui.updates.send(case.to_hex());
            }
            Ok(())
        }
        Err(e) => {
            tracing::info!(%case, "sync: {e}");
            Err(e.code())
        }
    }
}

/// `GET /events`: a server-sent event `update` for each case that gained acts.
pub(super) async fn events(
    State(ui): State<Ui>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = ui.updates.subscribe();
    let stream = futures_util::stream::unfold(updates, |mut updates| async move {
        loop {
            match updates.recv().await {
                Ok(case) => {
                    return Some((Ok(Event::default().event("update").data(case)), updates));
                }
                // A page that fell behind reloads on the next one.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
