//! The hub's own accept loop: a request's headers must arrive in time, one address cannot
//! hold more than its share of connections, and with TLS every connection is encrypted and
//! authenticated by the hub's certificate.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use backchannel_hub::{AppState, Listening, store::Sqlite};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn hub(listening: Listening) -> backchannel_hub::LocalHub {
    let store = std::sync::Arc::new(Sqlite::open_in_memory().unwrap());
    backchannel_hub::spawn_local_listening(AppState::new(store), listening)
        .await
        .unwrap()
}

fn address(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes; how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(start.elapsed()),
            stream.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

async fn health(url: &str) -> reqwest::Result<reqwest::StatusCode> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    Ok(client
        .get(format!("{url}/v1/health"))
        .send()
        .await?
        .status())
}

#[tokio::test]
async fn headers_that_do_not_arrive_in_time_close_the_connection() {
    let hub = hub(Listening {
        header_timeout: Duration::from_secs(1),
        ..Listening::default()
    })
    .await;
    let mut idle = TcpStream::connect(address(&hub.url)).await.unwrap();
    let mut half = TcpStream::connect(address(&hub.url)).await.unwrap();
    half.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // Members are served meanwhile.
    assert_eq!(health(&hub.url).await.unwrap(), 200);
    for stream in [&mut idle, &mut half] {
        let took = closed_within(stream, Duration::from_secs(5)).await;
        assert!(took.is_some(), "a stalled connection stayed open");
    }
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections() {
    let hub = hub(Listening {
        max_per_peer: 3,
        header_timeout: Duration::from_secs(30),
        ..Listening::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(address(&hub.url)).await.unwrap());
    }
    // A fourth is closed as soon as it is accepted, before a byte is read.
    let mut fourth = TcpStream::connect(address(&hub.url)).await.unwrap();
    let took = closed_within(&mut fourth, Duration::from_secs(5)).await;
    assert!(took.is_some_and(|t| t < Duration::from_secs(2)), "{took:?}");
    assert!(health(&hub.url).await.is_err());
    // A place given back is taken again.
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match health(&hub.url).await {
            Ok(status) => {
                assert_eq!(status, 200);
                break;
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("no place given back: {error}"),
        }
    }
}

#[tokio::test]
async fn a_tls_hub_answers_only_over_tls_to_clients_that_trust_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("hub.pem"), dir.path().join("hub.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let tls = backchannel_hub::listen::tls_acceptor(&cert, &key).unwrap();
    let hub = hub(Listening {
        tls: Some(tls),
        ..Listening::default()
    })
    .await;
    assert!(hub.url.starts_with("https://localhost:"), "{}", hub.url);

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let status = trusting
        .get(format!("{}/v1/health", hub.url))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    // A client that does not trust the certificate refuses the hub; plain HTTP gets nothing.
    assert!(health(&hub.url).await.is_err());
    let plain = hub.url.replace("https://localhost", "http://127.0.0.1");
    assert!(health(&plain).await.is_err());

    // A key that is not the certificate's is refused at start.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
    assert!(backchannel_hub::listen::tls_acceptor(&cert, &key).is_err());
    std::fs::write(&cert, "not a certificate").unwrap();
    assert!(backchannel_hub::listen::tls_acceptor(&cert, &key).is_err());
}

#[tokio::test]
async fn the_hub_holds_at_most_its_connections_in_all() {
    let hub = hub(Listening {
        max_connections: 2,
        header_timeout: Duration::from_secs(30),
        ..Listening::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(address(&hub.url)).await.unwrap());
    }
    let mut third = TcpStream::connect(address(&hub.url)).await.unwrap();
    let took = closed_within(&mut third, Duration::from_secs(5)).await;
    assert!(took.is_some_and(|t| t < Duration::from_secs(2)), "{took:?}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while health(&hub.url).await.is_err() {
        assert!(Instant::now() < deadline, "no place given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
