//! The seed's proximity phase against a real hub on loopback with a real SQLite database,
//! real MLS and real keys — and the attacks on it: non-members, observers, the other party,
//! a hub that tampers, replays, reorders or forges.
#![allow(clippy::unwrap_used)]

use backchannel_client::{Client, InviteRole};
use backchannel_core::{CaseId, ChannelName};

mod common;

use common::{Cast, channel, new_client};

async fn convene() -> Cast {
    Cast::convene().await
}

fn texts(client: &Client, case: CaseId, ch: &str) -> Vec<String> {
    client
        .read(case, Some(&channel(ch)))
        .unwrap()
        .into_iter()
        .filter(|l| l.kind == "message")
        .map(|l| l.text)
        .collect()
}

#[tokio::test]
async fn proximity_talks_stay_confidential() {
    let mut c = convene().await;
    let case = c.case;
    c.mediator
        .send(
            case,
            &channel("united-states"),
            "what would Washington need to hear?",
        )
        .await
        .unwrap();
    c.us.sync(case).await.unwrap();
    c.us.send(case, &channel("united-states"), "no nuclear weapon, ever")
        .await
        .unwrap();
    c.mediator
        .send(case, &channel("iran"), "Washington will listen")
        .await
        .unwrap();
    c.iran.sync(case).await.unwrap();
    c.iran
        .send(case, &channel("iran"), "pressure must ease first")
        .await
        .unwrap();
    c.mediator
        .send(case, &ChannelName::public(), "contacts are under way")
        .await
        .unwrap();
    for client in [&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae] {
        client.sync(case).await.unwrap();
    }

    assert_eq!(
        texts(&c.us, case, "united-states"),
        [
            "what would Washington need to hear?",
            "no nuclear weapon, ever"
        ]
    );
    assert_eq!(
        texts(&c.mediator, case, "iran"),
        ["Washington will listen", "pressure must ease first"]
    );
    for client in [&c.mediator, &c.us, &c.iran, &c.uae] {
        assert_eq!(texts(client, case, "public"), ["contacts are under way"]);
    }
    // The other party and the observer hold nothing of a bilateral channel.
    assert!(texts(&c.iran, case, "united-states").is_empty());
    assert!(texts(&c.uae, case, "united-states").is_empty());
    assert!(texts(&c.uae, case, "iran").is_empty());
    assert!(
        !c.iran
            .readable_channels(case)
            .unwrap()
            .contains(&channel("united-states"))
    );

    // And the hub refuses to hand them the ciphertext.
    for client in [&c.iran, &c.uae] {
        let hub = client.hub_client(case).unwrap();
        let id = client.hub_channel(case, &channel("united-states")).unwrap();
        let err = hub.entries(case, &id, 0).await.unwrap_err();
        assert_eq!(err.code(), "not_member");
    }

    // The hub's database holds no message text, in any encoding.
    let db = std::fs::read(&c.db).unwrap();
    let wal = std::fs::read(c.db.with_extension("sqlite-wal")).unwrap_or_default();
    for text in [
        "what would Washington need to hear?",
        "no nuclear weapon, ever",
        "pressure must ease first",
        "contacts are under way",
    ] {
        for needle in encodings(text) {
            assert!(
                !contains(&db, &needle) && !contains(&wal, &needle),
                "{text:?} found in the hub's storage"
            );
        }
    }

    // Nor any name: participants' names, the parties' and the channels' are sealed, and the
    // hub knows the channels by ids derived under the case key. (Short names such as "Iran"
    // are left out: four bytes may turn up by chance in a file of ciphertext.)
    for name in [
        "Pakistan",
        "United States",
        "united-states",
        "United Arab Emirates",
    ] {
        assert!(
            !contains(&db, name.as_bytes()) && !contains(&wal, name.as_bytes()),
            "{name:?} found in the hub's storage"
        );
    }

    // Replaying every participant's verified log gives the state it holds.
    for client in [&c.mediator, &c.us, &c.iran, &c.uae] {
        assert_eq!(
            &client.verify_log(case).unwrap(),
            client.state(case).unwrap()
        );
    }
}

fn encodings(text: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let bytes = text.as_bytes();
    let mut needles = vec![bytes.to_vec(), hex::encode(bytes).into_bytes()];
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        // Base64 of a substring at each of the three alignments.
        for skip in 0..3 {
            let encoded = engine.encode(&bytes[skip..]);
            needles.push(encoded.as_bytes()[..encoded.len().saturating_sub(4).min(16)].to_vec());
        }
    }
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    needles.push(utf16);
    needles
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Delegates of a party join later. Seated in the party's channel, the first and the third
/// are handed the channel's earlier acts (their invites' default) and read the channel from
/// its first act; the second, invited with no history, reads from its seat on: its chain
/// starts at the mediator's `members_changed` act.
#[tokio::test]
async fn a_later_delegate_reads_the_channels_history_unless_invited_without() {
    let mut c = convene().await;
    let case = c.case;
    let us = channel("united-states");
    c.mediator
        .send(case, &us, "before the second delegate")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut envoy = new_client(dir.path(), "US envoy");
    let code = c
        .mediator
        .invite(case, InviteRole::Party("United States".into()))
        .await
        .unwrap();
    envoy.join(&code).await.unwrap();
    let report = c.mediator.sync(case).await.unwrap();
    assert_eq!(report.admitted, ["US envoy as party (United States)"]);
    c.mediator
        .send(case, &us, "after the second delegate")
        .await
        .unwrap();
    let mut counsel = new_client(dir.path(), "US counsel");
    let options = backchannel_client::InviteOptions {
        auto_admit: true,
        no_history: true,
        ..Default::default()
    };
    let role = InviteRole::Party("United States".into());
    let code = c.mediator.invite_with(case, role, options).await.unwrap();
    counsel.join(&code.code).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    c.mediator.send(case, &us, "after counsel").await.unwrap();
    counsel.sync(case).await.unwrap();
    assert_eq!(texts(&counsel, case, "united-states"), ["after counsel"]);
    // A third, seated later still, is handed the whole history too: the share reaches every
    // member of the channel, counsel included.
    let mut expert = new_client(dir.path(), "US expert");
    let role = InviteRole::Party("United States".into());
    let code = c.mediator.invite(case, role).await.unwrap();
    expert.join(&code).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    for client in [&mut envoy, &mut counsel, &mut expert, &mut c.us] {
        client.sync(case).await.unwrap();
    }

    let all = [
        "before the second delegate",
        "after the second delegate",
        "after counsel",
    ];
    assert_eq!(texts(&envoy, case, "united-states"), all);
    assert_eq!(texts(&expert, case, "united-states"), all);
    assert_eq!(texts(&c.us, case, "united-states"), all);
    let members = &c.us.state(case).unwrap().channels[&us].members;
    assert!(members.contains(&envoy.key()) && members.len() == 5);
    for client in [&envoy, &counsel, &expert] {
        assert_eq!(
            client.verify_log(case).unwrap(),
            *client.state(case).unwrap()
        );
    }
    envoy.send(case, &us, "the envoy speaks").await.unwrap();
    c.mediator.sync(case).await.unwrap();
    assert!(texts(&c.mediator, case, "united-states").contains(&"the envoy speaks".to_owned()));
}

/// A participant watching a case hears of a new entry by push and gets it verified.
#[tokio::test]
async fn watching_a_case_delivers_new_acts_by_push() {
    let mut c = convene().await;
    let case = c.case;
    let us = channel("united-states");
    let mut heard = Vec::new();
    let watch = c.us.watch(case, |report| {
        heard.extend(
            report
                .new
                .iter()
                .filter(|l| l.kind == "message")
                .map(|l| l.text.clone()),
        );
        heard.is_empty()
    });
    let speak = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        c.mediator.send(case, &us, "are you there?").await.unwrap();
    };
    let (watched, ()) = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        tokio::join!(watch, speak)
    })
    .await
    .unwrap();
    watched.unwrap();
    assert_eq!(heard, ["are you there?"]);
}

/// An observer of many cases on one hub: the key packages it leaves there do not pile up to
/// the hub's limit, and a party of a later case is still seated.
#[tokio::test]
async fn a_participant_joins_many_cases_on_one_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub = backchannel_hub::spawn_local(&dir.path().join("hub.sqlite"))
        .await
        .unwrap();
    let mut mediator = new_client(dir.path(), "Mediator");
    let mut observer = new_client(dir.path(), "Observer");
    let cases = backchannel_core::api::MAX_KEY_PACKAGES / 5 + 5;
    for n in 0..cases {
        let case = mediator
            .create_case(&hub.url, &format!("Case {n}"))
            .await
            .unwrap();
        let code = mediator.invite(case, InviteRole::Observer).await.unwrap();
        observer.join(&code).await.unwrap();
        mediator.sync(case).await.unwrap();
        assert_eq!(observer.sync(case).await.unwrap().new.len(), 1, "case {n}");
    }
    assert_eq!(observer.cases().len(), cases);
    // The observer, a party in one more case, is seated in its channel from the packages
    // it left.
    let case = mediator.create_case(&hub.url, "One more").await.unwrap();
    let code = mediator
        .invite(case, InviteRole::Party("Observer's party".into()))
        .await
        .unwrap();
    observer.join(&code).await.unwrap();
    mediator.sync(case).await.unwrap();
    observer.sync(case).await.unwrap();
    let ch = ChannelName::for_party("Observer's party").unwrap();
    observer.send(case, &ch, "seated").await.unwrap();
    mediator.sync(case).await.unwrap();
    assert!(
        mediator
            .read(case, Some(&ch))
            .unwrap()
            .iter()
            .any(|l| l.text == "seated")
    );
}
