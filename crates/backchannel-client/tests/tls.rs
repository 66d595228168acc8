//! A hub behind TLS: the client trusts a certificate authority it is given beside the public
//! ones, reaches the hub over `https://` and its push stream over `wss://`, and refuses plain
//! HTTP to anything but loopback unless told otherwise. One test in this file: the transport
//! is set once per process.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use backchannel_client::InviteRole;
use backchannel_client::hub::{Transport, check_hub_url, read_roots, set_transport};
use backchannel_core::api::Notice;
use backchannel_hub::{AppState, Listening, store::Sqlite};
use common::{channel, new_client};
use futures_util::StreamExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_runs_over_https_with_its_push_stream_over_wss() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("hub.pem"), dir.path().join("hub.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let store = Arc::new(Sqlite::open(&dir.path().join("hub.sqlite")).unwrap());
    let hub = backchannel_hub::spawn_local_listening(
        AppState::new(store),
        Listening {
            tls: Some(backchannel_hub::listen::tls_acceptor(&cert, &key).unwrap()),
            ..Listening::default()
        },
    )
    .await
    .unwrap();
    set_transport(Transport {
        extra_roots: read_roots(&cert).unwrap(),
        insecure_http: false,
    })
    .unwrap();

    let mut mediator = new_client(dir.path(), "Pakistan");
    let mut party = new_client(dir.path(), "Iran");
    let case = mediator.create_case(&hub.url, "Talks").await.unwrap();
    let code = mediator
        .invite(case, InviteRole::Party("Iran".into()))
        .await
        .unwrap();
    party.join(&code).await.unwrap();
    mediator.sync(case).await.unwrap();
    party.sync(case).await.unwrap();

    let mut stream = party.hub_client(case).unwrap().stream(case).await.unwrap();
    let iran = channel("iran");
    mediator.send(case, &iran, "Over TLS.").await.unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let notice: Notice = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert_eq!(notice.channel, party.hub_channel(case, &iran).unwrap());
    party.sync(case).await.unwrap();
    assert_eq!(
        common::messages(&party, case, &iran)
            .last()
            .map(String::as_str),
        Some("Over TLS.")
    );

    // Plain HTTP only on loopback; anything else is refused before a byte leaves.
    for url in [
        "http://127.0.0.1:7878",
        "http://localhost:7878",
        "http://[::1]:7878",
    ] {
        check_hub_url(url).unwrap();
    }
    for url in [
        "http://hub.example.org",
        "http://10.0.0.7:7878",
        "ftp://hub.example.org",
        "hub",
    ] {
        let refused = check_hub_url(url).unwrap_err();
        assert_eq!(refused.code(), "insecure_http", "{url}");
    }
    let refused = mediator
        .create_case("http://hub.example.org:7878", "Elsewhere")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "insecure_http");
    // The transport is set once.
    assert!(set_transport(Transport::default()).is_err());
}
