//! A shared history through a real hub with real MLS: a share a dishonest mediator altered is
//! refused by name, by the delegate seated late as by the delegate who holds the true acts,
//! and changes nothing.
#![allow(clippy::unwrap_used)]

use backchannel_client::{ClientError, InviteOptions, InviteRole};
use backchannel_core::act::SignedAct;

mod common;

use common::{channel, mediator_and_party, new_client};

#[tokio::test]
async fn a_tampered_history_is_refused_by_name_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hub = backchannel_hub::spawn_local(&dir.path().join("hub.sqlite"))
        .await
        .unwrap();
    let (case, mut mediator, mut us, _) = mediator_and_party(dir.path(), &hub.url).await;
    let us_channel = channel("united-states");
    us.send(case, &us_channel, "our red lines").await.unwrap();
    mediator.send(case, &us_channel, "noted").await.unwrap();

    let mut late = new_client(dir.path(), "US counsel");
    let options = InviteOptions {
        auto_admit: true,
        no_history: true,
        ..Default::default()
    };
    let role = InviteRole::Party("United States".into());
    let code = mediator.invite_with(case, role, options).await.unwrap();
    late.join(&code.code).await.unwrap();
    mediator.sync(case).await.unwrap();
    late.sync(case).await.unwrap();
    us.sync(case).await.unwrap();
    let before = late.state(case).unwrap().clone();
    let seated = before.channels[&us_channel].joined_at.unwrap().0;

    let mut tampered: Vec<SignedAct> = mediator
        .verified_log(case)
        .unwrap()
        .into_iter()
        .filter(|a| a.act.channel == us_channel && a.act.index < seated)
        .map(|a| a.signed)
        .collect();
    let last = tampered.len() - 1;
    let text = String::from_utf8(tampered[last].payload.clone()).unwrap();
    tampered[last].payload = text.replace("noted", "agreed").into_bytes();
    mediator
        .post_shared_history(case, &us_channel, tampered)
        .await
        .unwrap();
    let refused = late.sync(case).await.unwrap_err();
    let ClientError::Refused { channel, why, .. } = &refused else {
        panic!("{refused}")
    };
    assert_eq!(channel, &us_channel);
    assert!(why.contains("bad_embedded_act"), "{why}");
    assert_eq!(
        late.state(case).unwrap(),
        &before,
        "the refusal changed nothing"
    );

    let held = us.state(case).unwrap().clone();
    let refused = us.sync(case).await.unwrap_err();
    assert!(
        refused.to_string().contains("bad_embedded_act"),
        "{refused}"
    );
    assert_eq!(us.state(case).unwrap(), &held);
}
