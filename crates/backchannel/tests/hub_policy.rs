//! Who may use a hub, through the binary: `backchannel hub --mediators FILE` refuses to start
//! on a malformed list, naming the line, and otherwise lets only the listed keys convene.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{bin, identities, ok_json, run};
use serde_json::Value;

/// A hub process with `args` on a free loopback port; killed on drop.
struct Hub {
    child: Child,
    url: String,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_hub(dir: &Path, args: &[&str]) -> Hub {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = bin()
        .args(["hub", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.join("hub.sqlite"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the hub exited at start"
        );
        assert!(Instant::now() < deadline, "the hub did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Hub {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

fn key_of(home: &Path) -> String {
    ok_json(home, &["id", "show"])["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_malformed_list_of_mediators_stops_the_hub_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("mediators");
    std::fs::write(
        &list,
        // A real key (RFC 8032's first test vector), a blank line, then a bad one.
        "# who may convene\n\
         d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n\
         \n\
         not-a-key\n",
    )
    .unwrap();
    let out = bin()
        .args(["hub", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("hub.sqlite"))
        .arg("--mediators")
        .arg(&list)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");
    assert!(stderr.contains("mediators"), "{stderr}");
    // Nothing was opened: the list is read before the database.
    assert!(!dir.path().join("hub.sqlite").exists());

    // --mediators and --open contradict each other.
    let out = bin()
        .args(["hub", "--open", "--mediators"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn only_a_listed_identity_convenes_on_a_hub_with_a_list_of_mediators() {
    let dir = tempfile::tempdir().unwrap();
    let [listed, unlisted] = ["pakistan", "stranger"].map(|n| dir.path().join(n));
    identities(&[(&listed, "Pakistan"), (&unlisted, "Stranger")]);
    let list = dir.path().join("mediators");
    std::fs::write(&list, format!("{}  # Pakistan\n", key_of(&listed))).unwrap();
    let hub = start_hub(dir.path(), &["--mediators", list.to_str().unwrap()]);

    let case = ok_json(
        &listed,
        &["case", "new", "--hub", &hub.url, "--title", "Talks"],
    );
    assert!(case["case"].as_str().is_some(), "{case}");

    let out = run(
        &unlisted,
        &[
            "--json", "case", "new", "--hub", &hub.url, "--title", "Mine",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], "not_a_mediator", "{stderr}");
}

/// `--durability full` serves like `normal` (every commit synced before its answer), and a
/// value that names neither is refused before the hub starts.
#[test]
fn a_hub_with_full_durability_serves_and_a_bad_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = bin()
        .args(["hub", "--durability", "sometimes", "--db"])
        .arg(dir.path().join("bad.sqlite"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "clap refuses the value");
    assert!(!dir.path().join("bad.sqlite").exists());
    let hub = start_hub(dir.path(), &["--durability", "full", "--open"]);
    let (mediator, us) = (dir.path().join("pakistan"), dir.path().join("us"));
    identities(&[(&mediator, "Pakistan"), (&us, "United States")]);
    let case = common::new_case(&mediator, &hub.url, "Durable");
    common::seat_parties(&mediator, &case, &[(&us, "United States")]);
    ok_json(
        &us,
        &[
            "send",
            &case,
            "--channel",
            "united-states",
            "--text",
            "on disk",
        ],
    );
    let read = ok_json(&mediator, &["read", &case, "--channel", "united-states"]);
    assert_eq!(common::texts(&read), ["on disk"]);
}

/// `hub --tls-cert/--tls-key` serves HTTPS; a participant given the certificate's authority
/// with `--ca-file` convenes there and follows the case with `watch` over `wss://`; one not
/// given it cannot reach the hub, and plain HTTP beyond loopback is refused before a byte
/// leaves unless `--insecure-http` allows it.
#[test]
fn a_tls_hub_serves_https_and_watch_follows_it_over_wss() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("hub.pem"), dir.path().join("hub.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let hub = start_hub(dir.path(), &["--tls-cert", cert, "--tls-key", key]);
    let url = hub.url.replace("http://127.0.0.1", "https://localhost");
    let (mediator, iran) = (dir.path().join("pakistan"), dir.path().join("iran"));
    identities(&[(&mediator, "Pakistan"), (&iran, "Iran")]);

    let out = run(
        &mediator,
        &["--json", "case", "new", "--hub", &url, "--title", "Talks"],
    );
    assert_eq!(out.status.code(), Some(1), "an untrusted certificate");
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["error"]["code"], "hub_unreachable");

    let case = ok_json(
        &mediator,
        &[
            "--ca-file",
            cert,
            "case",
            "new",
            "--hub",
            &url,
            "--title",
            "Talks",
        ],
    )["case"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = ok_json(
        &mediator,
        &[
            "--ca-file",
            cert,
            "case",
            "invite",
            &case,
            "--role",
            "party",
            "--party",
            "Iran",
            "--auto-admit",
        ],
    )["code"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_json(&iran, &["--ca-file", cert, "case", "join", &code]);
    ok_json(&mediator, &["--ca-file", cert, "sync", &case]);
    ok_json(&iran, &["--ca-file", cert, "sync", &case]);
    let watch = bin()
        .arg("--home")
        .arg(&iran)
        .args(["--ca-file", cert, "watch", &case, "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The stream is open once `watch` has synced; a statement posted after it is announced.
    std::thread::sleep(Duration::from_millis(1500));
    ok_json(
        &mediator,
        &[
            "--ca-file",
            cert,
            "send",
            &case,
            "--channel",
            "iran",
            "--text",
            "Over TLS.",
        ],
    );
    let out = watch.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Over TLS."), "{stdout}");

    for (args, code) in [
        (
            vec!["case", "new", "--hub", "http://hub.example.org:7878"],
            Some("insecure_http"),
        ),
        (
            vec![
                "--insecure-http",
                "case",
                "new",
                "--hub",
                "http://0.0.0.0:1",
            ],
            None,
        ),
    ] {
        let mut full = vec!["--json"];
        full.extend(args);
        full.extend(["--title", "Elsewhere"]);
        let out = run(&mediator, &full);
        assert_eq!(out.status.code(), Some(1));
        let error: Value = serde_json::from_slice(&out.stderr).unwrap();
        match code {
            Some(code) => assert_eq!(error["error"]["code"], code),
            // Allowed: it tries, and nobody answers at that address.
            None => assert_eq!(error["error"]["code"], "hub_unreachable"),
        }
    }
}

/// `hub --metrics-listen ADDR` serves Prometheus text on its own address: requests by route
/// template and status, accepted posts' latency, open streams and connections, the
/// database's size; never a case id, a channel name or a key. The API's address has no
/// `/metrics`.
#[test]
fn a_hub_serves_metrics_on_its_own_address_naming_no_case() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = format!("127.0.0.1:{port}");
    let hub = start_hub(dir.path(), &["--open", "--metrics-listen", &metrics]);
    let (mediator, us) = (dir.path().join("pakistan"), dir.path().join("us"));
    identities(&[(&mediator, "Pakistan"), (&us, "United States")]);
    let case = common::new_case(&mediator, &hub.url, "Counted");
    common::seat_parties(&mediator, &case, &[(&us, "United States")]);
    ok_json(
        &us,
        &["send", &case, "--channel", "united-states", "--text", "one"],
    );
    let get = |url: String| {
        let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        std::io::Write::write_all(
            &mut stream,
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
        answer
    };
    let text = get(format!("http://{metrics}"));
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let count = |prefix: &str| -> u64 {
        text.lines()
            .filter(|line| line.starts_with(prefix))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    let posted = "backchannel_requests_total{method=\"POST\",route=\"/v1/cases/{case}/channels/{channel}/entries\",code=\"201\"}";
    assert!(count(posted) >= 2, "{text}");
    assert!(count("backchannel_post_seconds_count") >= 2, "{text}");
    assert!(count("backchannel_database_bytes") > 0, "{text}");
    assert!(text.contains("backchannel_streams_open 0"), "{text}");
    assert!(text.contains("backchannel_connections_open"), "{text}");
    for secret in [case.as_str(), "united-states", "Pakistan"] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
    let api = get(hub.url.clone());
    assert!(api.starts_with("HTTP/1.1 404"), "{api}");
}
