//! What an operator watches, in Prometheus's text format (`hub --metrics-listen ADDR`, its own
//! address, so that it can stay off the public one): requests by route template, method and
//! status; the time a post takes; open streams and connections; the database's size. Labels
//! name route templates (`/v1/cases/{case}/…`), never a case, a channel or a key, and nothing
//! here holds a body.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

/// Upper bounds of the post-latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

/// The counters one hub process keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests answered, by (method, route template, status).
    requests: Mutex<BTreeMap<(String, &'static str, u16), u64>>,
    /// Accepted posts by latency bucket (the last counts all), and their total in
    /// microseconds.
    posts: [AtomicU64; BUCKETS.len() + 1],
    post_micros: AtomicU64,
    /// Connections open now (kept by the accept loop).
    pub(crate) connections: AtomicU64,
}

impl Metrics {
    /// Counts one answered request; `route` is its template, or `"unmatched"`.
    pub fn request(&self, method: &str, route: &'static str, status: u16, took: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *requests
            .entry((method.to_owned(), route, status))
            .or_insert(0) += 1;
        drop(requests);
        if method == "POST" && route == ENTRIES && status == 201 {
            let seconds = took.as_secs_f64();
            for (bucket, bound) in self.posts.iter().zip(BUCKETS) {
                if seconds <= bound {
                    bucket.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.posts[BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
            let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
            self.post_micros.fetch_add(micros, Ordering::Relaxed);
        }
    }

    /// The text exposition, with the gauges read now.
    fn render(&self, streams_open: usize, database_bytes: Option<u64>) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP backchannel_requests_total Requests answered, by route template and status.\n",
        );
        out.push_str("# TYPE backchannel_requests_total counter\n");
        let requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        for ((method, route, status), count) in requests.iter() {
            let _ = writeln!(
                out,
                "backchannel_requests_total{{method=\"{method}\",route=\"{route}\",code=\"{status}\"}} {count}"
            );
        }
        drop(requests);
        out.push_str(
            "# HELP backchannel_post_seconds Time from request to answer of accepted posts.\n",
        );
        out.push_str("# TYPE backchannel_post_seconds histogram\n");
        for (bucket, bound) in self.posts.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "backchannel_post_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.posts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "backchannel_post_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.post_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "backchannel_post_seconds_sum {sum}");
        let _ = writeln!(out, "backchannel_post_seconds_count {count}");
        out.push_str("# HELP backchannel_streams_open Push streams open now.\n");
        out.push_str("# TYPE backchannel_streams_open gauge\n");
        let _ = writeln!(out, "backchannel_streams_open {streams_open}");
        out.push_str("# HELP backchannel_connections_open Connections open now.\n");
        out.push_str("# TYPE backchannel_connections_open gauge\n");
        let _ = writeln!(
            out,
            "backchannel_connections_open {}",
            self.connections.load(Ordering::Relaxed)
        );
        if let Some(bytes) = database_bytes {
            out.push_str("# HELP backchannel_database_bytes The database's size on disk.\n");
            out.push_str("# TYPE backchannel_database_bytes gauge\n");
            let _ = writeln!(out, "backchannel_database_bytes {bytes}");
        }
        out
    }
}

/// The route template of posts.
const ENTRIES: &str = "/v1/cases/{case}/channels/{channel}/entries";

/// The router of the metrics address: `GET /metrics` and nothing else.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(serve))
        .with_state(state)
}

async fn serve(State(state): State<AppState>) -> impl IntoResponse {
    let database_bytes = state
        .db(|store| store.size_bytes())
        .await
        .map_err(|error| tracing::warn!(%error, "the database's size could not be read"))
        .ok();
    let text = state.metrics().render(state.streams_open(), database_bytes);
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The template of a route the router matched, kept for the lifetime of the process (there
/// are a score of them): `None` for a path no route matched.
pub fn template(matched: Option<&str>) -> &'static str {
    static TEMPLATES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let Some(matched) = matched else {
        return "unmatched";
    };
    let mut templates = TEMPLATES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = templates.iter().find(|t| **t == matched) {
        return known;
    }
    if templates.len() >= 64 {
        return "other";
    }
    let leaked: &'static str = Box::leak(matched.to_owned().into_boxed_str());
    templates.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_posts_are_counted_by_template() {
        let metrics = Metrics::default();
        metrics.request("POST", ENTRIES, 201, Duration::from_micros(700));
        metrics.request("POST", ENTRIES, 201, Duration::from_millis(3));
        metrics.request("POST", ENTRIES, 409, Duration::from_millis(1));
        metrics.request("GET", "unmatched", 404, Duration::from_millis(1));
        let text = metrics.render(2, Some(4096));
        for line in [
            "backchannel_requests_total{method=\"POST\",route=\"/v1/cases/{case}/channels/{channel}/entries\",code=\"201\"} 2",
            "backchannel_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} 1",
            "backchannel_post_seconds_bucket{le=\"0.001\"} 1",
            "backchannel_post_seconds_bucket{le=\"0.005\"} 2",
            "backchannel_post_seconds_bucket{le=\"+Inf\"} 2",
            "backchannel_post_seconds_count 2",
            "backchannel_streams_open 2",
            "backchannel_database_bytes 4096",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert_eq!(template(Some(ENTRIES)), template(Some(ENTRIES)));
        assert_eq!(template(None), "unmatched");
    }
}
