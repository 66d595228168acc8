//! Hubs on PostgreSQL in operation: push notices reach streams on every hub sharing the
//! database; a database restart costs no request; a database that cannot be reached is a
//! `503 database_unavailable`, and a hub started while it is down waits for it. The database
//! is reached through a proxy the test cuts and restores, as a restart or an outage would.
//! Skipped, with a note, without `BACKCHANNEL_TEST_POSTGRES`.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use backchannel_hub::Database;
use common::{Hub, Identity, PgSchema, code};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

async fn schema(test: &'static str) -> Option<PgSchema> {
    tokio::task::spawn_blocking(move || PgSchema::new(test))
        .await
        .unwrap()
}

/// A TCP proxy in front of the database: while up it relays; `cut` ends every relayed
/// connection (the server restarted); while down it closes what it accepts.
struct Proxy {
    url: String,
    up: Arc<Mutex<bool>>,
    relays: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accepting: JoinHandle<()>,
}

impl Proxy {
    async fn start(schema: &PgSchema) -> Self {
        let url = schema.url();
        let config: postgres::Config = url.parse().unwrap();
        let upstream = match (&config.get_hosts()[0], config.get_ports().first()) {
            (postgres::config::Host::Tcp(host), Some(port)) => format!("{host}:{port}"),
            _ => panic!("the test database is reached over TCP"),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let up = Arc::new(Mutex::new(true));
        let relays: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accepting = {
            let (up, relays) = (Arc::clone(&up), Arc::clone(&relays));
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !*up.lock().unwrap() {
                        continue;
                    }
                    let upstream = upstream.clone();
                    relays.lock().unwrap().push(tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }));
                }
            })
        };
        let at = url.find('@').unwrap() + 1;
        let end = at + url[at..].find('/').unwrap();
        let url = format!("{}{address}{}", &url[..at], &url[end..]);
        Self {
            url,
            up,
            relays,
            _accepting: accepting,
        }
    }

    fn database(&self) -> Database {
        Database::Postgres(self.url.clone())
    }

    fn cut(&self) {
        for relay in self.relays.lock().unwrap().drain(..) {
            relay.abort();
        }
    }

    fn set_up(&self, up: bool) {
        *self.up.lock().unwrap() = up;
        if !up {
            self.cut();
        }
    }
}

fn members(case: &impl std::fmt::Display) -> String {
    format!("/v1/cases/{case}/members")
}

#[tokio::test]
async fn a_database_restart_costs_no_request_and_an_outage_is_a_503() {
    let Some(schema) = schema("a_database_restart_costs_no_request").await else {
        return;
    };
    let proxy = Proxy::start(&schema).await;
    let hub = Hub::start_on(&proxy.database()).await;
    let (mediator, party) = (Identity::random(), Arc::new(Identity::random()));
    let case = hub.create_case(&mediator).await;
    hub.invite_and_join(&case, &mediator, &party, "party").await;
    // Fill the pool: several requests at once, each on a connection of its own.
    let hub = Arc::new(hub);
    let mut all = Vec::new();
    for _ in 0..8 {
        let (hub, party) = (Arc::clone(&hub), Arc::clone(&party));
        all.push(tokio::spawn(async move {
            hub.get(&party, &members(&case)).await.0
        }));
    }
    for request in all {
        assert_eq!(request.await.unwrap(), 200);
    }

    // The database restarts: every pooled connection is gone, and no request sees it.
    proxy.cut();
    for _ in 0..12 {
        let (status, body) = hub.get(&party, &members(&case)).await;
        assert_eq!(status, 200, "{body}");
    }
    let public = format!("/v1/cases/{case}/channels/public/entries");
    let post = json!({"kind": "message", "after": 0, "body": "AQI="});
    assert_eq!(hub.post(&mediator, &public, post).await.0, 201);

    // Down: a 503 with its code, then served again once it is back.
    proxy.set_up(false);
    let (status, body) = hub.get(&party, &members(&case)).await;
    assert_eq!(
        (status, code(&body)),
        (503, "database_unavailable"),
        "{body}"
    );
    proxy.set_up(true);
    let (status, body) = hub.get(&party, &members(&case)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_hub_started_while_its_database_is_down_waits_for_it() {
    let Some(schema) = schema("a_hub_started_while_its_database_is_down").await else {
        return;
    };
    let proxy = Proxy::start(&schema).await;
    proxy.set_up(false);
    let database = proxy.database();
    let starting = tokio::spawn(async move { Hub::start_on(&database).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !starting.is_finished(),
        "the hub gave up, or started without its database"
    );
    proxy.set_up(true);
    let hub = tokio::time::timeout(Duration::from_secs(20), starting)
        .await
        .unwrap()
        .unwrap();
    let mediator = Identity::random();
    hub.create_case(&mediator).await;
}

#[tokio::test]
async fn push_notices_reach_streams_on_every_hub_sharing_the_database() {
    let Some(schema) = schema("push_notices_reach_streams_on_every_hub").await else {
        return;
    };
    let db = Database::Postgres(schema.url());
    let (one, two) = (Hub::start_on(&db).await, Hub::start_on(&db).await);
    let (mediator, party, outsider) = (Identity::random(), Identity::random(), Identity::random());
    let case = one.create_case(&mediator).await;
    one.invite_and_join(&case, &mediator, &party, "party").await;
    let other_case = one.create_case(&outsider).await;

    // The party streams from the second hub; the mediator posts through the first.
    let mut stream = common::open_stream(two.url(), &party, &case).await.unwrap();
    // The listener of the second hub may still be starting: post until a notice comes.
    let public = format!("/v1/cases/{case}/channels/public/entries");
    let elsewhere = format!("/v1/cases/{other_case}/channels/public/entries");
    // The other case runs five entries ahead, so a notice of it would show a later position.
    for after in 0..5u64 {
        let other = json!({"kind": "message", "after": after, "body": "AQI="});
        assert_eq!(one.post(&outsider, &elsewhere, other).await.0, 201);
    }
    let mut heard = None;
    for after in 0..20u64 {
        let other = json!({"kind": "message", "after": after + 5, "body": "AQI="});
        assert_eq!(one.post(&outsider, &elsewhere, other).await.0, 201);
        let post = json!({"kind": "message", "after": after, "body": "AQI="});
        assert_eq!(one.post(&mediator, &public, post).await.0, 201);
        if let Ok(frame) = tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
            heard = Some((after + 1, frame.unwrap().unwrap()));
            break;
        }
    }
    let (posted, frame) = heard.expect("no notice reached the other hub's stream");
    let notice: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert_eq!(notice["channel"], "public");
    // Its own case's entry, never the other case's.
    let seq = notice["seq"].as_u64().unwrap();
    assert!(
        (1..=posted).contains(&seq),
        "{notice} after posting {posted}"
    );
}
