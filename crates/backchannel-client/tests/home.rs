//! A client's home, against a real hub on loopback with real MLS and real keys. What must
//! hold: with the hub stopped (or working offline by choice) a home reads, shows, exports
//! and audits its copy, and a send fails as `hub_unreachable` and changes nothing, not even
//! what waits to be sent; a send in steady state costs at most two requests; a home of an
//! earlier version (a sealed whole-state document, no store) is migrated, even when a
//! migration was killed before the old file's removal, and a tampered, garbled or forged one
//! is refused and left in place; and nothing of a case (its title, its messages, in plain
//! text, hex, base64 or UTF-16) is readable in a home's files, which only their owner reads.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backchannel_client::vault::Vault;
use backchannel_client::{Client, InviteRole};
use backchannel_core::{CaseId, ChannelName, PublicKey};

mod common;

use common::{Cast, PASS, channel, consistent, messages, new_client, once, reopen};

// --- 1. offline reads ------------------------------------------------------------------------

fn snapshot(client: &Client, case: CaseId) -> Vec<(ChannelName, u64, u64, String)> {
    client
        .read(case, None)
        .unwrap()
        .into_iter()
        .map(|l| (l.channel, l.index, l.seq, l.text))
        .collect()
}

/// With the hub stopped, every participant reads, shows, exports and audits its copy; a send
/// fails as `hub_unreachable` and changes nothing. Working offline by choice does the same
/// while the hub runs. Once the hub is back (on the same address and database) everything
/// goes on.
#[tokio::test]
async fn a_home_reads_offline_and_a_send_without_the_hub_changes_nothing() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let us_ch = channel("united-states");
    let public = ChannelName::public();
    c.mediator
        .send(case, &public, "contacts are under way")
        .await
        .unwrap();
    c.mediator
        .send(case, &us_ch, "what would Washington need to hear?")
        .await
        .unwrap();
    c.us.sync(case).await.unwrap();
    c.us.send(case, &us_ch, "no nuclear weapon, ever")
        .await
        .unwrap();
    for client in [&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae] {
        client.sync(case).await.unwrap();
    }

    let addr: SocketAddr = c.hub.url.strip_prefix("http://").unwrap().parse().unwrap();
    c.hub.stop().await.unwrap();

    for (client, channel) in [
        (&mut c.mediator, &public),
        (&mut c.us, &us_ch),
        (&mut c.iran, &public),
        (&mut c.uae, &public),
    ] {
        let who = client.name().to_owned();
        assert!(!client.refresh(case).await.unwrap(), "{who}: not fresh");
        let before = snapshot(client, case);
        let state = client.state(case).unwrap().clone();
        assert!(!before.is_empty());
        assert_eq!(client.show(case).unwrap().title, "Talks");
        let exported = serde_json::to_vec(&client.export(case, false).unwrap()).unwrap();
        let (_, public_state) = backchannel_core::record::Record::verify(&exported).unwrap();
        assert_eq!(public_state.title, "Talks");
        assert_eq!(
            client.verified_log(case).unwrap().len(),
            before.len(),
            "{who}"
        );
        assert_eq!(client.verify_log(case).unwrap(), state, "{who}");
        assert!(client.synced_ms(case).unwrap().is_some(), "{who}");

        let err = client
            .send(case, channel, "said while the hub is down")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "hub_unreachable", "{who}: {err}");
        assert_eq!(snapshot(client, case), before, "{who}: nothing changed");
        assert_eq!(client.state(case).unwrap(), &state, "{who}");
    }
    // Nothing waits to be sent either: opened again, the home holds the same.
    c.us = reopen(c.us, c.dir.path());
    assert!(
        !snapshot(&c.us, case)
            .iter()
            .any(|(_, _, _, t)| t.contains("while the hub is down"))
    );

    // The hub comes back on the same address and database.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = backchannel_hub::HubConfig {
        listen: addr,
        db: c.db.clone().into(),
        durability: backchannel_hub::Durability::Normal,
        listening: backchannel_hub::Listening::default(),
        metrics: None,
    };
    let hub = tokio::spawn(backchannel_hub::serve(
        config,
        async move {
            let _ = stopped.await;
        },
        |_| {},
    ));
    let mut fresh = false;
    for _ in 0..250 {
        if c.mediator.refresh(case).await.unwrap() {
            fresh = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fresh, "the hub came back");

    // Working offline by choice: the same, with the hub up.
    c.us.set_offline(true);
    assert!(c.us.is_offline());
    assert!(!c.us.refresh(case).await.unwrap());
    let before = snapshot(&c.us, case);
    let err = c.us.send(case, &us_ch, "said offline").await.unwrap_err();
    assert_eq!(err.code(), "hub_unreachable");
    assert_eq!(snapshot(&c.us, case), before);
    assert_eq!(c.us.verify_log(case).unwrap(), *c.us.state(case).unwrap());
    c.us.set_offline(false);

    assert!(c.us.refresh(case).await.unwrap());
    c.us.send(case, &us_ch, "back on the line").await.unwrap();
    c.mediator
        .send(case, &public, "the hub is back")
        .await
        .unwrap();
    consistent(
        case,
        vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae],
    )
    .await;
    for client in [&c.mediator, &c.us] {
        once(client, case, &us_ch, "back on the line");
        assert!(
            !messages(client, case, &us_ch)
                .iter()
                .any(|t| t.starts_with("said"))
        );
    }
    for client in [&c.mediator, &c.us, &c.iran, &c.uae] {
        once(client, case, &public, "the hub is back");
    }
    stop.send(()).unwrap();
    hub.await.unwrap().unwrap();
}

// --- 2. round trips --------------------------------------------------------------------------

#[tokio::test]
async fn a_send_costs_one_request_at_the_head_and_two_behind_it() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let us_ch = channel("united-states");
    let public = ChannelName::public();
    c.us.sync(case).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    // (who sends, where, what it costs): the mediator's first send on each channel follows
    // what the party posted there, unseen until the hub's refusal hands it over.
    for (mediator_sends, channel, expected) in [
        (false, &us_ch, 1),
        (false, &us_ch, 1),
        (true, &public, 1),
        (true, &us_ch, 2),
        (true, &us_ch, 1),
        (false, &public, 2),
        (false, &us_ch, 2),
    ] {
        let client = if mediator_sends {
            &mut c.mediator
        } else {
            &mut c.us
        };
        let before = client.requests_sent();
        let line = client
            .send(case, channel, "one more, in one or two requests")
            .await
            .unwrap();
        let cost = client.requests_sent() - before;
        assert_eq!(cost, expected, "{} on {channel}", client.name());
        assert_eq!(line.text, "one more, in one or two requests");
    }
    // What each learned from refusals was verified and folded like any pull.
    common::consistent(case, vec![&mut c.mediator, &mut c.us]).await;
    assert_eq!(
        c.us.read(case, Some(&us_ch)).unwrap(),
        c.mediator.read(case, Some(&us_ch)).unwrap()
    );
}

// --- 3. migration of a home of an earlier version --------------------------------------------

/// The whole-state document an earlier version sealed in `state.sealed`, for an observer
/// (it holds no MLS group the public record needs).
fn legacy_document(
    client: &Client,
    case: CaseId,
    hub: &str,
    case_key: [u8; 32],
    mediator: PublicKey,
) -> serde_json::Value {
    let lines = client.read(case, None).unwrap();
    let log: Vec<serde_json::Value> = lines
        .iter()
        .zip(client.verified_log(case).unwrap())
        .map(|(line, act)| serde_json::json!({"seq": line.seq, "act": act.signed}))
        .collect();
    let public_seq = lines
        .iter()
        .filter(|l| l.channel.is_public())
        .map(|l| l.seq)
        .max()
        .unwrap();
    serde_json::json!({
        "mls": [],
        "cases": {
            case.to_hex(): {
                "hub": hub,
                "case_key": case_key,
                "mediator": mediator,
                "cursors": {"public": public_seq},
                "log": log,
                "welcome_cursor": 0,
                "invites": [],
            }
        }
    })
}

fn remove_store(home: &Path) {
    for name in ["store.sqlite", "store.sqlite-wal", "store.sqlite-shm"] {
        let path = home.join(name);
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }
}

#[tokio::test]
async fn a_home_of_an_earlier_version_is_migrated_and_a_bad_one_is_refused() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let public = ChannelName::public();
    let mut observer = new_client(c.dir.path(), "Qatar");
    let code = c.mediator.invite(case, InviteRole::Observer).await.unwrap();
    observer.join(&code).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    c.mediator
        .send(case, &public, "before the upgrade")
        .await
        .unwrap();
    observer.sync(case).await.unwrap();
    let state = observer.state(case).unwrap().clone();
    let log = observer.verified_log(case).unwrap();
    let lines = snapshot(&observer, case);
    let document = legacy_document(&observer, case, &c.hub.url, code.case_key, c.mediator.key());
    let home = c.dir.path().join("Qatar");
    let legacy = home.join("state.sealed");

    // The old home: the identity and state.sealed, no store.
    drop(observer);
    remove_store(&home);
    let vault = Vault::open(&home, PASS).unwrap();
    vault
        .write_legacy_state(&serde_json::to_vec(&document).unwrap())
        .unwrap();
    drop(vault);

    let mut observer = Client::open(&home, PASS).unwrap();
    assert!(!legacy.exists(), "state.sealed is retired");
    assert_eq!(observer.cases(), [case]);
    assert_eq!(observer.state(case).unwrap(), &state);
    assert_eq!(observer.verified_log(case).unwrap(), log);
    assert_eq!(snapshot(&observer, case), lines);
    assert_eq!(observer.verify_log(case).unwrap(), state);
    c.mediator
        .send(case, &public, "after the upgrade")
        .await
        .unwrap();
    observer.sync(case).await.unwrap();
    once(&observer, case, &public, "before the upgrade");
    once(&observer, case, &public, "after the upgrade");
    assert_eq!(
        observer.verify_log(case).unwrap(),
        *observer.state(case).unwrap()
    );
    let migrated = snapshot(&observer, case);
    // Its hub knew its discreet channels by name: this version reaches its public record only,
    // and says why of any other channel.
    let iran = ChannelName::parse("iran").unwrap();
    let refused = observer.hub_channel(case, &iran).unwrap_err();
    assert!(refused.to_string().contains("earlier version"), "{refused}");

    // A migration killed after its commit and before the file's removal: the next open
    // removes the file and keeps the store.
    drop(observer);
    let vault = Vault::open(&home, PASS).unwrap();
    vault
        .write_legacy_state(&serde_json::to_vec(&document).unwrap())
        .unwrap();
    drop(vault);
    let observer = Client::open(&home, PASS).unwrap();
    assert!(!legacy.exists());
    assert_eq!(snapshot(&observer, case), migrated);
    drop(observer);

    // A tampered state.sealed stops the open and stays where it is.
    let vault = Vault::open(&home, PASS).unwrap();
    vault
        .write_legacy_state(&serde_json::to_vec(&document).unwrap())
        .unwrap();
    drop(vault);
    let mut bytes = std::fs::read(&legacy).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&legacy, &bytes).unwrap();
    let err = Client::open(&home, PASS).err().unwrap();
    assert_eq!(err.code(), "home_unusable", "{err}");
    assert_eq!(std::fs::read(&legacy).unwrap(), bytes, "left in place");
    // Garbage, too.
    std::fs::write(&legacy, b"this is not a sealed state at all").unwrap();
    let err = Client::open(&home, PASS).err().unwrap();
    assert_eq!(err.code(), "home_unusable", "{err}");
    assert!(legacy.exists());

    // In a home without a store: a sealed document that is not one, or whose log does not
    // verify, is refused and left in place too.
    let fresh = c.dir.path().join("Bahrain");
    Client::create_identity(&fresh, "Bahrain", PASS).unwrap();
    let mut forged = document.clone();
    let act = &mut forged["cases"][case.to_hex()]["log"][1]["act"]["sig"];
    let sig = act.as_str().unwrap().to_owned();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    *act = serde_json::Value::String(format!("{flipped}{}", &sig[1..]));
    for plain in [
        b"{\"cases\": 12}".to_vec(),
        serde_json::to_vec(&forged).unwrap(),
    ] {
        remove_store(&fresh);
        let vault = Vault::open(&fresh, PASS).unwrap();
        vault.write_legacy_state(&plain).unwrap();
        drop(vault);
        let before = std::fs::read(fresh.join("state.sealed")).unwrap();
        let err = Client::open(&fresh, PASS).err().unwrap();
        assert_eq!(err.code(), "home_unusable", "{err}");
        assert_eq!(std::fs::read(fresh.join("state.sealed")).unwrap(), before);
    }
    std::fs::remove_file(fresh.join("state.sealed")).unwrap();
    assert!(Client::open(&fresh, PASS).unwrap().cases().is_empty());
}

// --- 4. files at rest ------------------------------------------------------------------------

fn encodings(text: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let bytes = text.as_bytes();
    let mut needles = vec![
        bytes.to_vec(),
        hex::encode(bytes).into_bytes(),
        hex::encode_upper(bytes).into_bytes(),
    ];
    let engine = base64::engine::general_purpose::STANDARD;
    // Base64 of the text at each of the three alignments, without the padded tail.
    for skip in 0..3 {
        let encoded = engine.encode(&bytes[skip..]);
        needles.push(encoded.as_bytes()[..encoded.len() - 4].to_vec());
    }
    needles.push(text.encode_utf16().flat_map(u16::to_le_bytes).collect());
    needles
}

/// Where any of `needles` (each at least 8 bytes) occurs in `haystack`: one pass, each
/// position looked up by its first 8 bytes.
fn find_any<'a>(
    haystack: &[u8],
    needles: &'a [(&'a str, Vec<u8>)],
) -> Option<&'a (&'a str, Vec<u8>)> {
    let prefix = |bytes: &[u8]| u64::from_le_bytes(bytes[..8].try_into().unwrap());
    let mut index: Vec<(u64, usize)> = needles
        .iter()
        .enumerate()
        .map(|(i, (_, needle))| (prefix(needle), i))
        .collect();
    index.sort_unstable();
    for start in 0..haystack.len().saturating_sub(7) {
        let key = prefix(&haystack[start..]);
        let from = index.partition_point(|(k, _)| *k < key);
        for (_, i) in index[from..].iter().take_while(|(k, _)| *k == key) {
            if haystack[start..].starts_with(&needles[*i].1) {
                return Some(&needles[*i]);
            }
        }
    }
    None
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_in(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Scans every file of `homes` for each secret in every encoding; returns how many files.
fn scan(homes: &[PathBuf], secrets: &[&str]) -> usize {
    let needles: Vec<(&str, Vec<u8>)> = secrets
        .iter()
        .flat_map(|secret| encodings(secret).into_iter().map(move |n| (*secret, n)))
        .collect();
    let mut scanned = 0;
    for home in homes {
        for file in files_in(home) {
            let bytes = std::fs::read(&file).unwrap();
            scanned += 1;
            if let Some((secret, needle)) = find_any(&bytes, &needles) {
                panic!(
                    "{secret:?} found in {} as {:?}",
                    file.display(),
                    String::from_utf8_lossy(needle)
                );
            }
        }
    }
    scanned
}

#[tokio::test]
async fn a_homes_files_hold_nothing_readable_and_only_their_owner_reads_them() {
    use std::os::unix::fs::PermissionsExt as _;
    const TITLE: &str = "Quiet Harbour Accord of the Zebra Lighthouse";
    const SECRETS: [&str; 5] = [
        TITLE,
        "Washington would lift the oil embargo by March",
        "Tehran can accept inspections at Fordow quietly",
        "the envoy lands in Muscat on Tuesday night",
        "the mediator announces a quiet pause in hostilities",
    ];
    let mut c = Cast::convene_titled(TITLE).await;
    let case = c.case;
    let (us_ch, iran_ch, public) = (
        channel("united-states"),
        channel("iran"),
        ChannelName::public(),
    );
    c.us.send(case, &us_ch, SECRETS[1]).await.unwrap();
    c.iran.send(case, &iran_ch, SECRETS[2]).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    c.mediator.send(case, &us_ch, SECRETS[3]).await.unwrap();
    c.mediator.send(case, &public, SECRETS[4]).await.unwrap();
    c.sync_all().await;
    once(&c.us, case, &us_ch, SECRETS[3]);
    once(&c.uae, case, &public, SECRETS[4]);
    assert_eq!(c.uae.show(case).unwrap().title, TITLE);

    let homes: Vec<PathBuf> = [&c.mediator, &c.us, &c.iran, &c.uae]
        .iter()
        .map(|client| c.dir.path().join(client.name()))
        .collect();
    for home in &homes {
        let mode = std::fs::metadata(home).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", home.display());
        let files = files_in(home);
        assert!(
            files.iter().any(|f| f.ends_with("store.sqlite-wal")),
            "{files:?}"
        );
        for file in files {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }
    // The scan finds what is there: each identity's name is in its identity.json.
    let named = std::fs::read(homes[0].join("identity.json")).unwrap();
    let control = [("Pakistan", b"Pakistan".to_vec())];
    assert!(find_any(&named, &control).is_some());
    // While every client is open (the WAL holds the latest writes) and once all are closed.
    assert!(scan(&homes, &SECRETS) >= 4 * 4);
    let Cast {
        mediator,
        us,
        iran,
        uae,
        ..
    } = c;
    drop((mediator, us, iran, uae));
    assert!(scan(&homes, &SECRETS) >= 4 * 2);
}
