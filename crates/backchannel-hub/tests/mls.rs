//! Real MLS groups (openmls) through a real hub: welcomes follow their commits, a channel's
//! epochs never fork, messages of another group are refused, and a removed member can no
//! longer read.
#![allow(clippy::unwrap_used)]

mod common;

use backchannel_core::api::{Blob, ClaimedKeyPackage, Entries, Welcomes};
use backchannel_core::ids::mls_group_id;
use backchannel_core::{CaseId, HubChannel};
use common::{CIPHERSUITE, Hub, IRAN, Identity, OTHER, code};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use reqwest::Method;
use serde_json::{Value, json};
use tls_codec::{Deserialize as _, Serialize as _};

/// One participant's MLS side: provider (key store), signer and credential.
struct Client {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

impl Client {
    /// As clients make it: the leaf's credential names the identity key, which is also its
    /// signature key, so that the hub takes its key packages.
    fn new(identity: &Identity) -> Self {
        let provider = OpenMlsRustCrypto::default();
        let signer = identity.mls_signer();
        signer.store(provider.storage()).unwrap();
        let credential = identity.mls_credential();
        Self {
            provider,
            signer,
            credential,
        }
    }

    /// A fresh key package, TLS-encoded as the hub stores it.
    fn key_package(&self) -> Vec<u8> {
        let bundle = KeyPackage::builder()
            .build(
                CIPHERSUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .unwrap();
        bundle.key_package().tls_serialize_detached().unwrap()
    }

    fn create_group(&self, group_id: Vec<u8>) -> MlsGroup {
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(CIPHERSUITE)
            .use_ratchet_tree_extension(true)
            .build();
        MlsGroup::new_with_group_id(
            &self.provider,
            &self.signer,
            &config,
            GroupId::from_slice(&group_id),
            self.credential.clone(),
        )
        .unwrap()
    }

    fn join(&self, welcome: &[u8]) -> MlsGroup {
        let MlsMessageBodyIn::Welcome(welcome) = MlsMessageIn::tls_deserialize_exact(welcome)
            .unwrap()
            .extract()
        else {
            panic!("not a welcome");
        };
        let config = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .build();
        StagedWelcome::new_from_welcome(&self.provider, &config, welcome, None)
            .unwrap()
            .into_group(&self.provider)
            .unwrap()
    }

    /// Processes an entry from the hub: merges a commit, returns an application message.
    fn process(&self, group: &mut MlsGroup, body: &[u8]) -> Option<Vec<u8>> {
        let message = MlsMessageIn::tls_deserialize_exact(body)
            .unwrap()
            .try_into_protocol_message()
            .unwrap();
        match group
            .process_message(&self.provider, message)
            .unwrap()
            .into_content()
        {
            ProcessedMessageContent::ApplicationMessage(message) => Some(message.into_bytes()),
            ProcessedMessageContent::StagedCommitMessage(commit) => {
                group.merge_staged_commit(&self.provider, *commit).unwrap();
                None
            }
            _ => panic!("unexpected content"),
        }
    }
}

fn tls(message: &MlsMessageOut) -> Vec<u8> {
    message.tls_serialize_detached().unwrap()
}

fn commit(after: u64, body: Vec<u8>) -> Value {
    json!({"kind": "commit", "after": after, "body": Blob(body)})
}

fn application(after: u64, body: Vec<u8>) -> Value {
    json!({"kind": "message", "after": after, "body": Blob(body)})
}

/// A case with a mediator, a party (with key packages on the hub) and an observer, and the
/// mediator's MLS channel `iran`, so far with the mediator alone.
struct Scene {
    hub: Hub,
    case: CaseId,
    mediator: Identity,
    mediator_mls: Client,
    party: Identity,
    party_mls: Client,
    observer: Identity,
    group: MlsGroup,
}

impl Scene {
    async fn new() -> Self {
        let hub = Hub::start().await;
        let (mediator, party, observer) =
            (Identity::random(), Identity::random(), Identity::random());
        let case = hub.create_case(&mediator).await;
        hub.invite_and_join(&case, &mediator, &party, "party").await;
        hub.invite_and_join(&case, &mediator, &observer, "observer")
            .await;
        let (mediator_mls, party_mls) = (Client::new(&mediator), Client::new(&party));

        let packages =
            json!({"key_packages": [Blob(party_mls.key_package()), Blob(party_mls.key_package())]});
        let stored = hub
            .ok(&party, Method::POST, "/v1/key-packages", Some(packages))
            .await;
        assert_eq!(stored["available"], 2);

        hub.ok(
            &mediator,
            Method::POST,
            &format!("/v1/cases/{case}/channels"),
            Some(json!({"channel": IRAN})),
        )
        .await;
        let group = mediator_mls.create_group(mls_group_id(&case, &channel()));
        Self {
            hub,
            case,
            mediator,
            mediator_mls,
            party,
            party_mls,
            observer,
            group,
        }
    }

    fn entries_path(&self) -> String {
        format!("/v1/cases/{}/channels/{IRAN}/entries", self.case)
    }

    async fn post(&self, who: &Identity, body: Value) -> (u16, Value) {
        self.hub.post(who, &self.entries_path(), body).await
    }

    async fn entries(&self, who: &Identity, after: u64) -> Entries {
        let path = format!("{}?after={after}", self.entries_path());
        serde_json::from_value(self.hub.ok(who, Method::GET, &path, None).await).unwrap()
    }

    async fn welcomes(&self, who: &Identity) -> Welcomes {
        serde_json::from_value(
            self.hub
                .ok(who, Method::GET, "/v1/welcomes?after=0", None)
                .await,
        )
        .unwrap()
    }

    /// The mediator claims one of the party's key packages from the hub.
    async fn claim_party_key_package(&self) -> KeyPackage {
        let path = format!("/v1/cases/{}/key-packages/claim", self.case);
        let claimed = self
            .hub
            .ok(
                &self.mediator,
                Method::POST,
                &path,
                Some(json!({"key": self.party.key()})),
            )
            .await;
        let claimed: ClaimedKeyPackage = serde_json::from_value(claimed).unwrap();
        KeyPackageIn::tls_deserialize_exact(&claimed.key_package.0)
            .unwrap()
            .validate(self.mediator_mls.provider.crypto(), ProtocolVersion::Mls10)
            .unwrap()
    }

    /// Adds the party to `iran` (commit seq 1) and has it join from its welcome.
    async fn add_party(&mut self) -> MlsGroup {
        let key_package = self.claim_party_key_package().await;
        let (add, welcome, _) = self
            .group
            .add_members(
                &self.mediator_mls.provider,
                &self.mediator_mls.signer,
                &[key_package],
            )
            .unwrap();
        let mut body = commit(0, tls(&add));
        body["add"] = json!([self.party.key()]);
        body["welcome"] = json!(Blob(tls(&welcome)));
        let (status, posted) = self.post(&self.mediator, body).await;
        assert_eq!((status, posted["seq"].as_u64()), (201, Some(1)), "{posted}");
        self.group
            .merge_pending_commit(&self.mediator_mls.provider)
            .unwrap();

        let welcomes = self.welcomes(&self.party).await;
        assert_eq!(welcomes.welcomes.len(), 1);
        self.party_mls.join(&welcomes.welcomes[0].body.0)
    }
}

fn channel() -> HubChannel {
    HubChannel::parse(IRAN).unwrap()
}

#[tokio::test]
async fn a_welcome_is_delivered_only_after_its_commit_is_accepted() {
    let mut scene = Scene::new().await;
    let key_package = scene.claim_party_key_package().await;
    let (add, welcome, _) = scene
        .group
        .add_members(
            &scene.mediator_mls.provider,
            &scene.mediator_mls.signer,
            &[key_package],
        )
        .unwrap();
    let mut body = commit(0, tls(&add));
    body["add"] = json!([scene.party.key()]);
    body["welcome"] = json!(Blob(tls(&welcome)));

    // Refused commits leave no welcome behind: a stale head, a commit from a non-mediator, a
    // welcome without its add.
    let mut stale = body.clone();
    stale["after"] = json!(3);
    let (status, answer) = scene.post(&scene.mediator, stale).await;
    assert_eq!((status, code(&answer)), (409, "stale_head"));
    let mut no_add = body.clone();
    no_add["add"] = json!([]);
    let (status, answer) = scene.post(&scene.mediator, no_add).await;
    assert_eq!((status, code(&answer)), (400, "invalid_entry"));
    let mut not_a_member = body.clone();
    not_a_member["add"] = json!([Identity::random().key()]);
    let (status, answer) = scene.post(&scene.mediator, not_a_member).await;
    assert_eq!((status, code(&answer)), (400, "invalid_entry"));
    assert!(scene.welcomes(&scene.party).await.welcomes.is_empty());
    assert_eq!(scene.entries(&scene.mediator, 0).await.head, 0);

    let (status, posted) = scene.post(&scene.mediator, body).await;
    assert_eq!((status, posted["seq"].as_u64()), (201, Some(1)), "{posted}");
    scene
        .group
        .merge_pending_commit(&scene.mediator_mls.provider)
        .unwrap();

    let welcomes = scene.welcomes(&scene.party).await.welcomes;
    assert_eq!(welcomes.len(), 1);
    assert_eq!(
        (
            welcomes[0].case_id,
            welcomes[0].channel.as_str(),
            welcomes[0].seq
        ),
        (scene.case, IRAN, 1)
    );
    assert!(scene.welcomes(&scene.observer).await.welcomes.is_empty());
    let after: Welcomes = serde_json::from_value(
        scene
            .hub
            .ok(
                &scene.party,
                Method::GET,
                &format!("/v1/welcomes?after={}", welcomes[0].id),
                None,
            )
            .await,
    )
    .unwrap();
    assert!(after.welcomes.is_empty());

    // The party joins from the welcome, reads the channel, and a message goes both ways.
    let mut party_group = scene.party_mls.join(&welcomes[0].body.0);
    let message = scene
        .group
        .create_message(
            &scene.mediator_mls.provider,
            &scene.mediator_mls.signer,
            b"hello",
        )
        .unwrap();
    let ciphertext = tls(&message);
    assert!(!ciphertext.windows(5).any(|w| w == b"hello"));
    let (status, _) = scene
        .post(&scene.mediator, application(1, ciphertext))
        .await;
    assert_eq!(status, 201);
    let entries = scene.entries(&scene.party, 1).await;
    assert_eq!(entries.entries.len(), 1);
    let plain = scene
        .party_mls
        .process(&mut party_group, &entries.entries[0].body.0);
    assert_eq!(plain.as_deref(), Some(&b"hello"[..]));

    let members = scene
        .hub
        .ok(
            &scene.party,
            Method::GET,
            &format!("/v1/cases/{}/channels", scene.case),
            None,
        )
        .await;
    let iran = &members["channels"][1];
    assert_eq!(iran["channel"], IRAN);
    assert_eq!(
        iran["members"],
        json!([scene.mediator.key(), scene.party.key()])
    );
}

#[tokio::test]
async fn two_commits_for_one_epoch_cannot_both_be_accepted() {
    let mut scene = Scene::new().await;
    let mut party_group = scene.add_party().await;
    assert_eq!(scene.group.epoch(), party_group.epoch());

    // Mediator and party each commit an update in the same epoch: two forks of the group.
    let mediator_update = scene
        .group
        .self_update(
            &scene.mediator_mls.provider,
            &scene.mediator_mls.signer,
            LeafNodeParameters::default(),
        )
        .unwrap()
        .into_contents()
        .0;
    let party_update = party_group
        .self_update(
            &scene.party_mls.provider,
            &scene.party_mls.signer,
            LeafNodeParameters::default(),
        )
        .unwrap()
        .into_contents()
        .0;

    let (status, posted) = scene
        .post(&scene.mediator, commit(1, tls(&mediator_update)))
        .await;
    assert_eq!((status, posted["seq"].as_u64()), (201, Some(2)));
    // The party is up to date with the head, but the epoch already has its commit.
    let (status, answer) = scene
        .post(&scene.party, commit(2, tls(&party_update)))
        .await;
    assert_eq!((status, code(&answer)), (409, "epoch_taken"), "{answer}");
    assert_eq!(scene.entries(&scene.mediator, 0).await.head, 2);
    assert_eq!(scene.entries(&scene.party, 0).await.entries.len(), 2);

    // The party drops its fork, follows the accepted commit, and both can talk again.
    scene
        .group
        .merge_pending_commit(&scene.mediator_mls.provider)
        .unwrap();
    party_group
        .clear_pending_commit(scene.party_mls.provider.storage())
        .unwrap();
    let accepted = scene.entries(&scene.party, 1).await;
    assert_eq!(
        scene
            .party_mls
            .process(&mut party_group, &accepted.entries[0].body.0),
        None
    );
    assert_eq!(scene.group.epoch(), party_group.epoch());
    let message = party_group
        .create_message(
            &scene.party_mls.provider,
            &scene.party_mls.signer,
            b"agreed",
        )
        .unwrap();
    assert_eq!(
        scene
            .post(&scene.party, application(2, tls(&message)))
            .await
            .0,
        201
    );
    let last = scene.entries(&scene.mediator, 2).await;
    let plain = scene
        .mediator_mls
        .process(&mut scene.group, &last.entries[0].body.0);
    assert_eq!(plain.as_deref(), Some(&b"agreed"[..]));
}

#[tokio::test]
async fn messages_of_another_group_or_of_the_wrong_kind_are_refused() {
    let mut scene = Scene::new().await;
    scene.add_party().await;

    // A group bound to another channel of the same case.
    let other_channel = HubChannel::parse(OTHER).unwrap();
    let mut other = scene
        .mediator_mls
        .create_group(mls_group_id(&scene.case, &other_channel));
    let message = other
        .create_message(
            &scene.mediator_mls.provider,
            &scene.mediator_mls.signer,
            b"x",
        )
        .unwrap();
    let (status, answer) = scene
        .post(&scene.mediator, application(1, tls(&message)))
        .await;
    assert_eq!((status, code(&answer)), (400, "wrong_group"));
    let update = other
        .self_update(
            &scene.mediator_mls.provider,
            &scene.mediator_mls.signer,
            LeafNodeParameters::default(),
        )
        .unwrap()
        .into_contents()
        .0;
    let (status, answer) = scene.post(&scene.mediator, commit(1, tls(&update))).await;
    assert_eq!((status, code(&answer)), (400, "wrong_group"));

    // Right group, wrong kind; and things that are not MLS messages at all.
    let message = scene
        .group
        .create_message(
            &scene.mediator_mls.provider,
            &scene.mediator_mls.signer,
            b"x",
        )
        .unwrap();
    let (status, answer) = scene.post(&scene.mediator, commit(1, tls(&message))).await;
    assert_eq!((status, code(&answer)), (400, "invalid_entry"));
    let (status, answer) = scene
        .post(&scene.mediator, application(1, b"plain text".to_vec()))
        .await;
    assert_eq!((status, code(&answer)), (400, "invalid_entry"));
    let key_package = MlsMessageOut::from(
        KeyPackage::builder()
            .build(
                CIPHERSUITE,
                &scene.party_mls.provider,
                &scene.party_mls.signer,
                scene.party_mls.credential.clone(),
            )
            .unwrap()
            .key_package()
            .clone(),
    );
    let (status, answer) = scene
        .post(&scene.mediator, application(1, tls(&key_package)))
        .await;
    assert_eq!((status, code(&answer)), (400, "invalid_entry"));

    assert_eq!(scene.entries(&scene.mediator, 0).await.head, 1);
}

#[tokio::test]
async fn a_removed_member_can_no_longer_read() {
    let mut scene = Scene::new().await;
    let party_group = scene.add_party().await;

    // Only the mediator changes membership, and only members of the channel can be removed.
    let update = scene
        .group
        .self_update(
            &scene.mediator_mls.provider,
            &scene.mediator_mls.signer,
            LeafNodeParameters::default(),
        )
        .unwrap()
        .into_contents()
        .0;
    let mut removing_observer = commit(1, tls(&update));
    removing_observer["remove"] = json!([scene.observer.key()]);
    let (status, answer) = scene.post(&scene.mediator, removing_observer).await;
    assert_eq!((status, code(&answer)), (400, "invalid_entry"));
    scene
        .group
        .clear_pending_commit(scene.mediator_mls.provider.storage())
        .unwrap();

    let (remove, _, _) = scene
        .group
        .remove_members(
            &scene.mediator_mls.provider,
            &scene.mediator_mls.signer,
            &[party_group.own_leaf_index()],
        )
        .unwrap();
    let mut body = commit(1, tls(&remove));
    body["remove"] = json!([scene.party.key()]);
    let (status, answer) = scene.post(&scene.party, body.clone()).await;
    assert_eq!((status, code(&answer)), (403, "forbidden"));
    let (status, posted) = scene.post(&scene.mediator, body).await;
    assert_eq!((status, posted["seq"].as_u64()), (201, Some(2)), "{posted}");

    let (status, answer) = scene.hub.get(&scene.party, &scene.entries_path()).await;
    assert_eq!((status, code(&answer)), (403, "not_member"));
    let (status, answer) = scene
        .post(&scene.party, application(2, b"still here?".to_vec()))
        .await;
    assert_eq!((status, code(&answer)), (403, "not_member"));
    let channels = scene
        .hub
        .ok(
            &scene.party,
            Method::GET,
            &format!("/v1/cases/{}/channels", scene.case),
            None,
        )
        .await;
    assert_eq!(channels["channels"].as_array().unwrap().len(), 1);
    assert_eq!(scene.entries(&scene.mediator, 0).await.head, 2);
}

#[tokio::test]
async fn key_packages_are_handed_out_once_and_only_to_the_mediator() {
    let scene = Scene::new().await;
    let path = format!("/v1/cases/{}/key-packages/claim", scene.case);
    let claim = json!({"key": scene.party.key()});

    let (status, answer) = scene.hub.post(&scene.observer, &path, claim.clone()).await;
    assert_eq!((status, code(&answer)), (403, "forbidden"));
    let first = scene
        .hub
        .ok(&scene.mediator, Method::POST, &path, Some(claim.clone()))
        .await;
    let second = scene
        .hub
        .ok(&scene.mediator, Method::POST, &path, Some(claim.clone()))
        .await;
    assert_ne!(first, second);
    let (status, answer) = scene.hub.post(&scene.mediator, &path, claim).await;
    assert_eq!((status, code(&answer)), (404, "no_key_package"));
    let (status, answer) = scene
        .hub
        .post(
            &scene.mediator,
            &path,
            json!({"key": Identity::random().key()}),
        )
        .await;
    assert_eq!((status, code(&answer)), (404, "member_not_found"));

    // At most MAX_KEY_PACKAGES per key; an upload over the bound stores nothing.
    let many: Vec<_> = (0..backchannel_core::api::MAX_KEY_PACKAGES + 1)
        .map(|_| Blob(scene.party_mls.key_package()))
        .collect();
    let (status, answer) = scene
        .hub
        .post(
            &scene.party,
            "/v1/key-packages",
            json!({"key_packages": many}),
        )
        .await;
    assert_eq!((status, code(&answer)), (400, "too_many_key_packages"));
    let stored = scene
        .hub
        .ok(
            &scene.party,
            Method::POST,
            "/v1/key-packages",
            Some(json!({"key_packages": []})),
        )
        .await;
    assert_eq!(stored["available"], 0);
}
