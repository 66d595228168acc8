//! `backchannel ui`: the participant's desk in a browser, served by the participant's own
//! process on loopback, so that keys, positions and plaintext never leave this machine except
//! as the page the participant asked for.
//!
//! The home is unlocked once; each case is kept up to date over the hub's push stream
//! (`live.rs`) and every open page hears of new acts over server-sent events. Who may use the
//! pages, and from where, is decided in one place (`guard.rs`): a one-time token exchanged for
//! a session cookie, the `Host` and `Origin` of every request, a CSRF token on every form, and
//! a strict Content-Security-Policy. The pages are rendered on the server: `pages.rs` (cases,
//! a case, a channel, one-click tasks, and what every page shares), with `convene.rs` (a case
//! convened from the home page, then followed live), `charter.rs`, `position.rs`, `drafts.rs`
//! (with `draft_diff.rs`, two versions side by side), `formula.rs`, `offers.rs` (with
//! `offer_terms.rs`, terms typed in before the issues are defined), `issues.rs` (with
//! `requirements.rs`, the observers' requirements), `conveying.rs` (with `non_paper.rs`),
//! `declarations.rs`, `agreement.rs` (with `agreement_table.rs`, tabling it with guarantors
//! and a plan) and `implementation.rs` (with `implementation_acts.rs`, the tracker's forms,
//! and `extensions.rs`, deadline extensions); the case page's sections `direct.rs` (direct
//! talks), `invites.rs` (the mediator's invites, issued and revoked) and `record.rs` (the
//! fingerprint and the export); and, with what is waiting, `admission.rs` (the joiners the
//! mediator admits). `allowed.rs` says which forms the table of act kinds lets the viewer
//! see, and `form.rs` what every form's fields go through (an `invalid_form` refusal, ids,
//! bounded texts). The only script is `assets/ui.js`, served by this process.

mod admission;
mod agreement;
mod agreement_table;
mod allowed;
mod charter;
mod convene;
mod conveying;
mod declarations;
mod direct;
mod draft_diff;
mod drafts;
mod extensions;
mod form;
mod formula;
mod guard;
mod implementation;
mod implementation_acts;
mod invites;
mod issues;
mod live;
mod non_paper;
mod offer_terms;
mod offers;
mod pages;
mod position;
mod record;
mod requirements;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::routing::{get, post};
use backchannel_client::Client;
use tokio::sync::{Mutex, broadcast};

use crate::output::Refused;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct Ui {
    client: Arc<Mutex<Client>>,
    guard: Arc<guard::Secrets>,
    /// A case id (hex) each time its copy gained acts, for the pages' live updates.
    updates: broadcast::Sender<String>,
    /// The joiners waiting for the mediator, as the last sync of each case reported them.
    waiting: Arc<admission::Waiting>,
}

/// Serves the UI until the process is stopped.
pub async fn run(
    client: Client,
    listen: SocketAddr,
    open_browser: bool,
    json: bool,
) -> anyhow::Result<()> {
    if !listen.ip().is_loopback() {
        return Err(Refused {
            code: "not_loopback",
            message: format!(
                "the UI serves this participant's keys and plaintext: it listens on a loopback \
                 address only, not {listen}"
            ),
        }
        .into());
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr().context("the UI's address")?;
    let secrets = Arc::new(guard::Secrets::new(addr));
    let url = format!("http://{addr}/login?token={}", secrets.token());
    let (updates, _) = broadcast::channel(256);
    let ui = Ui {
        client: Arc::new(Mutex::new(client)),
        guard: secrets,
        updates,
        waiting: Arc::default(),
    };
    live::start(&ui).await;
    if json {
        // One line, as the process goes on running.
        println!("{}", serde_json::json!({ "url": url }));
    } else {
        println!("backchannel UI for this home: {url}");
        println!("(the link works once; keep this process running while you use it)");
    }
    if open_browser {
        open_in_browser(&url);
    }
    axum::serve(listener, router(ui))
        .await
        .context("serving the UI")
}

fn router(ui: Ui) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/cases", post(convene::convene))
        .route("/case/{case}", get(pages::case))
        .route("/case/{case}/act", post(pages::act))
        .route("/case/{case}/admit", post(admission::admit))
        .route("/case/{case}/invites", post(invites::issue))
        .route("/case/{case}/invites/revoke", post(invites::revoke))
        .route("/case/{case}/requirements", post(requirements::register))
        .route("/case/{case}/drafts", get(drafts::drafts))
        .route("/case/{case}/drafts/answer", post(drafts::answer))
        .route("/case/{case}/drafts/issue", post(drafts::issue))
        .route("/case/{case}/formula", get(formula::formula))
        .route("/case/{case}/agreement", get(agreement::agreement))
        .route(
            "/case/{case}/charter",
            get(charter::charter).post(charter::propose),
        )
        .route("/case/{case}/agenda", post(charter::agenda))
        .route(
            "/case/{case}/issues",
            get(issues::issues).post(issues::define),
        )
        .route("/case/{case}/conveying", get(conveying::conveying))
        .route("/case/{case}/convey", post(conveying::convey))
        .route("/case/{case}/convey/consent", post(conveying::consent))
        .route("/case/{case}/nonpaper", post(non_paper::table))
        .route(
            "/case/{case}/declarations",
            get(declarations::declarations).post(declarations::table),
        )
        .route(
            "/case/{case}/declarations/publish",
            post(declarations::publish),
        )
        .route(
            "/case/{case}/implementation",
            get(implementation::implementation),
        )
        .route(
            "/case/{case}/implementation/report",
            post(implementation_acts::report),
        )
        .route(
            "/case/{case}/implementation/attest",
            post(implementation_acts::attest),
        )
        .route(
            "/case/{case}/implementation/dispute",
            post(implementation_acts::open_dispute),
        )
        .route(
            "/case/{case}/implementation/dispute/step",
            post(implementation_acts::dispute_step),
        )
        .route(
            "/case/{case}/implementation/extend",
            post(extensions::extend),
        )
        .route("/case/{case}/agreement/table", post(agreement_table::table))
        .route(
            "/case/{case}/offers",
            get(offers::offers).post(offers::table),
        )
        .route("/case/{case}/offers/withdraw", post(offers::withdraw))
        .route("/case/{case}/offers/match", post(offers::open_matching))
        .route("/case/{case}/direct", post(direct::propose))
        .route("/case/{case}/direct/open", post(direct::open))
        .route("/case/{case}/export", get(record::export))
        .route(
            "/case/{case}/position",
            get(position::position).post(position::seal),
        )
        .route("/case/{case}/channel/{channel}", get(pages::channel))
        .route("/case/{case}/channel/{channel}/send", post(pages::send))
        .route("/events", get(live::events))
        .route("/assets/ui.css", get(guard::stylesheet))
        .route("/assets/ui.js", get(guard::script))
        .route("/login", get(guard::login))
        .layer(axum::middleware::from_fn_with_state(
            ui.clone(),
            guard::check,
        ))
        .with_state(ui)
}

/// Opens `url` in the desktop's browser, if there is one; a failure is only a note.
fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("note: no browser opened ({opener}: {e}); open the link above");
    }
}
