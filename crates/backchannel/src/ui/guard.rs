//! Who may use the UI, and from where; decided here for every request.
//!
//! - **Where from.** The `Host` header must name the address the UI listens on (or
//!   `localhost` with its port), so a page on another site that rebinds its DNS name to
//!   127.0.0.1 is refused; an `Origin`, where the browser sends one, must be the UI's own, and
//!   a request the browser marks cross-site is refused. Both `403`.
//! - **Who.** The command prints a link with a one-time token; `/login` exchanges it for a
//!   session cookie (`HttpOnly`, `SameSite=Strict`, named for the port). Every other request
//!   without that cookie is `401`.
//! - **Forms.** Every state-changing request carries the session's CSRF token in its form
//!   (`csrf`), checked before any handler runs: without it, `403`.
//! - **What the page may do.** Every answer carries a Content-Security-Policy that allows
//!   only this process's own stylesheet and script (no inline script, no frames, no other
//!   host), and asks not to be cached, framed or sniffed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

use super::Ui;

/// The policy every answer carries.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";
/// The most a form may hold.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The UI's secrets, made fresh by each process.
pub(crate) struct Secrets {
    /// The hosts a request may name: the address listened on, and `localhost` with its port.
    hosts: [String; 2],
    token: String,
    token_spent: AtomicBool,
    session: String,
    csrf: String,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl Secrets {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            hosts: [addr.to_string(), format!("localhost:{}", addr.port())],
            token: random_hex(),
            token_spent: AtomicBool::new(false),
            session: random_hex(),
            csrf: random_hex(),
        }
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// The token every form carries.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    fn cookie_name(&self) -> String {
        let port = self.hosts[1].rsplit(':').next().unwrap_or_default();
        format!("backchannel_session_{port}")
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .is_some_and(|host| self.host_allowed(host))
    }

    fn has_session(&self, headers: &HeaderMap) -> bool {
        let name = self.cookie_name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(k, v)| k == name && same(v, &self.session))
    }
}

/// A refusal, answered as a short page with its status, stable code and one sentence.
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) sentence: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.status, &self.code, &self.sentence)
    }
}

/// A refusal as a short page: its status, stable code and one sentence.
pub(crate) fn refuse(status: StatusCode, code: &str, sentence: &str) -> Response {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "backchannel — " (code) } link rel="stylesheet" href="/assets/ui.css"; }
            body { main { h1 { "Refused" } p.error { code { (code) } ": " (sentence) } } }
        }
    };
    (status, page).into_response()
}

/// The middleware every request passes.
pub(crate) async fn check(State(ui): State<Ui>, request: Request, next: Next) -> Response {
    let secrets = &ui.guard;
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !secrets.host_allowed(host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "bad_host",
            "this UI answers only requests addressed to its own loopback address",
        );
    }
    let foreign_origin = headers
        .get(header::ORIGIN)
        .is_some_and(|o| !o.to_str().is_ok_and(|o| secrets.origin_allowed(o)));
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    if foreign_origin || cross_site {
        return refuse(
            StatusCode::FORBIDDEN,
            "bad_origin",
            "this UI answers only its own pages, not another site's",
        );
    }
    let mut response = if request.uri().path() == "/login" {
        next.run(request).await
    } else if !secrets.has_session(headers) {
        refuse(
            StatusCode::UNAUTHORIZED,
            "no_session",
            "open the link that `backchannel ui` printed to start a session",
        )
    } else if request.method() == Method::POST {
        match with_csrf(&ui, request).await {
            Ok(request) => next.run(request).await,
            Err(refused) => refused,
        }
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Reads a form (within [`MAX_FORM_BYTES`]) and lets it on only with the session's CSRF
/// token; the handler then reads the same bytes.
async fn with_csrf(ui: &Ui, request: Request) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "form_too_large",
                "a form may hold at most 64 KiB",
            )
        })?;
    let carried = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !same(&carried, ui.guard.csrf()) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "csrf",
            "this form did not come from a page of this UI session",
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Exchanges the one-time token for the session cookie.
pub(crate) async fn login(
    State(ui): State<Ui>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let secrets = &ui.guard;
    if secrets.has_session(&headers) {
        return Redirect::to("/").into_response();
    }
    let token = query.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    let valid = token.is_some_and(|token| same(&token, secrets.token()));
    if !valid || secrets.token_spent.swap(true, Ordering::SeqCst) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "this link is not this UI's, or it was used already: run `backchannel ui` again",
        );
    }
    let cookie = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/",
        secrets.cookie_name(),
        secrets.session
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub(crate) async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../assets/ui.css"),
    )
        .into_response()
}

pub(crate) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../assets/ui.js"),
    )
        .into_response()
}
