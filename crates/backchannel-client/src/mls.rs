//! MLS (RFC 9420, openmls) for discreet channels: the provider whose storage the vault seals,
//! the identity key as the MLS signer, group configuration, and the checks that bind MLS
//! members to the case's participants.
//!
//! A member's MLS credential is a basic credential whose identity is its Ed25519 identity
//! key, and its MLS signature key is that same key: a leaf is accepted only when the two
//! agree, so an MLS sender is always a participant the case log knows.

use std::collections::{BTreeMap, BTreeSet};

use backchannel_core::{CaseId, ChannelName, HubChannel, PublicKey};
use ed25519_dalek::Signer as _;
use openmls::prelude::*;
use openmls_rust_crypto::{MemoryStorage, RustCrypto};
use openmls_traits::OpenMlsProvider;
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;
use tls_codec::{Deserialize as _, Serialize as _};

use crate::error::ClientError;
use crate::vault::Identity;

pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;
/// How many past epochs' keys are kept so messages in flight across a commit still decrypt.
const MAX_PAST_EPOCHS: usize = 5;

pub fn mls_error(e: impl std::fmt::Display) -> ClientError {
    ClientError::Mls(e.to_string())
}

/// The openmls provider: RustCrypto primitives and an in-memory store the vault seals.
#[derive(Default)]
pub struct Provider {
    crypto: RustCrypto,
    storage: MemoryStorage,
}

impl OpenMlsProvider for Provider {
    type CryptoProvider = RustCrypto;
    type RandProvider = RustCrypto;
    type StorageProvider = MemoryStorage;

    fn storage(&self) -> &MemoryStorage {
        &self.storage
    }

    fn crypto(&self) -> &RustCrypto {
        &self.crypto
    }

    fn rand(&self) -> &RustCrypto {
        &self.crypto
    }
}

impl Provider {
    /// What the storage holds that differs from `committed` (the state last written to the
    /// store): each changed or new entry with its value, each removed one with none. Only
    /// the changes are copied, so a write costs what the operation changed, not the size of
    /// every group this participant is in.
    pub fn changes_since(
        &self,
        committed: &BTreeMap<Vec<u8>, Vec<u8>>,
    ) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let values = match self.storage.values.read() {
            Ok(values) => values,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = values
            .iter()
            .filter(|(k, v)| committed.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        changes.extend(
            committed
                .keys()
                .filter(|k| !values.contains_key(*k))
                .map(|k| (k.clone(), None)),
        );
        changes.sort();
        changes
    }

    /// Puts the storage back to a snapshot: an entry that fails verification leaves no
    /// trace in the MLS state (no ratchet advanced, no key consumed).
    pub fn rollback(&self, snapshot: Vec<(Vec<u8>, Vec<u8>)>) {
        let mut values = match self.storage.values.write() {
            Ok(values) => values,
            Err(poisoned) => poisoned.into_inner(),
        };
        values.clear();
        values.extend(snapshot);
    }

    pub fn restore(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        let provider = Self::default();
        match provider.storage.values.write() {
            Ok(mut values) => values.extend(pairs),
            Err(poisoned) => poisoned.into_inner().extend(pairs),
        }
        provider
    }
}

impl Signer for Identity {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.key.sign(payload).to_bytes().to_vec())
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

fn credential(identity: &Identity) -> CredentialWithKey {
    let key = identity.public_key().0.to_vec();
    CredentialWithKey {
        credential: BasicCredential::new(key.clone()).into(),
        signature_key: key.into(),
    }
}

/// The participant a leaf belongs to, if its credential and signature key agree.
pub fn leaf_key(credential: &Credential, signature_key: &[u8]) -> Option<PublicKey> {
    let basic = BasicCredential::try_from(credential.clone()).ok()?;
    let key: [u8; 32] = basic.identity().try_into().ok()?;
    (key.as_slice() == signature_key).then_some(PublicKey(key))
}

/// The keys of a group's members; an error if any leaf is not bound to an identity key.
pub fn member_keys(group: &MlsGroup) -> Result<BTreeSet<PublicKey>, ClientError> {
    group
        .members()
        .map(|m| {
            leaf_key(&m.credential, &m.signature_key).ok_or_else(|| {
                ClientError::Mls(
                    "a group member's credential is not bound to its signature key".into(),
                )
            })
        })
        .collect()
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(true)
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .max_past_epochs(MAX_PAST_EPOCHS)
        .build()
}

/// A channel's group id: from its id at the hub, never its name, since the hub reads it.
pub fn group_id(case: &CaseId, channel: &HubChannel) -> GroupId {
    GroupId::from_slice(&backchannel_core::ids::mls_group_id(case, channel))
}

pub fn create_group(
    provider: &Provider,
    identity: &Identity,
    case: &CaseId,
    channel: &HubChannel,
) -> Result<MlsGroup, ClientError> {
    MlsGroup::builder()
        .with_group_id(group_id(case, channel))
        .ciphersuite(CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .with_wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .max_past_epochs(MAX_PAST_EPOCHS)
        .build(provider, identity, credential(identity))
        .map_err(mls_error)
}

/// This participant's copy of a channel's group, if it holds one.
pub fn load_group(
    provider: &Provider,
    case: &CaseId,
    channel: &HubChannel,
) -> Result<Option<MlsGroup>, ClientError> {
    MlsGroup::load(provider.storage(), &group_id(case, channel)).map_err(mls_error)
}

/// Deletes this participant's copy of a channel's group, if it holds one (it was removed):
/// a later welcome to the same channel starts a new copy.
pub fn forget_group(
    provider: &Provider,
    case: &CaseId,
    channel: &HubChannel,
) -> Result<(), ClientError> {
    match load_group(provider, case, channel)? {
        Some(mut group) => group.delete(provider.storage()).map_err(mls_error),
        None => Ok(()),
    }
}

/// A fresh key package, serialised for upload; its private half stays in `provider`. A
/// last-resort one (MLS's last_resort extension) may be used for many adds: the hub hands
/// it out when no ordinary one is left, and joining from it keeps its private half.
pub fn key_package(
    provider: &Provider,
    identity: &Identity,
    last_resort: bool,
) -> Result<Vec<u8>, ClientError> {
    let mut builder = KeyPackage::builder().leaf_node_capabilities(
        Capabilities::builder()
            .extensions(vec![ExtensionType::LastResort])
            .build(),
    );
    if last_resort {
        builder = builder.mark_as_last_resort();
    }
    let bundle = builder
        .build(CIPHERSUITE, provider, identity, credential(identity))
        .map_err(mls_error)?;
    bundle
        .key_package()
        .tls_serialize_detached()
        .map_err(mls_error)
}

/// Validates a claimed key package and checks that it belongs to `expected`.
pub fn validate_key_package(
    provider: &Provider,
    bytes: &[u8],
    expected: PublicKey,
) -> Result<KeyPackage, ClientError> {
    let key_package = KeyPackageIn::tls_deserialize_exact(bytes)
        .map_err(mls_error)?
        .validate(provider.crypto(), ProtocolVersion::Mls10)
        .map_err(mls_error)?;
    let leaf = key_package.leaf_node();
    match leaf_key(leaf.credential(), leaf.signature_key().as_slice()) {
        Some(key) if key == expected => Ok(key_package),
        _ => Err(ClientError::Mls(format!(
            "the key package the hub handed out is not {}'s",
            expected.short()
        ))),
    }
}

/// Joins a group from a Welcome (TLS-encoded `MlsMessageOut` carrying it).
pub fn join_from_welcome(provider: &Provider, bytes: &[u8]) -> Result<MlsGroup, ClientError> {
    let message = MlsMessageIn::tls_deserialize_exact(bytes).map_err(mls_error)?;
    let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
        return Err(ClientError::Mls("the welcome is not an MLS Welcome".into()));
    };
    StagedWelcome::new_from_welcome(provider, &join_config(), welcome, None)
        .map_err(mls_error)?
        .into_group(provider)
        .map_err(mls_error)
}

/// What an incoming MLS entry turned out to be.
pub enum Incoming {
    /// An application message: the sender's identity key and the plaintext.
    Application { sender: PublicKey, bytes: Vec<u8> },
    /// A commit, already merged; the group's members after it.
    Commit { members: BTreeSet<PublicKey> },
    /// A commit that removed this participant: its copy of the group is now inactive.
    Removed,
}

/// Decrypts and verifies one entry; merges commits.
pub fn process(
    provider: &Provider,
    group: &mut MlsGroup,
    bytes: &[u8],
) -> Result<Incoming, ClientError> {
    let message = MlsMessageIn::tls_deserialize_exact(bytes).map_err(mls_error)?;
    let protocol = message.try_into_protocol_message().map_err(mls_error)?;
    let processed = group
        .process_message(provider, protocol)
        .map_err(mls_error)?;
    let sender = processed.credential().clone();
    match processed.into_content() {
        ProcessedMessageContent::ApplicationMessage(app) => {
            let basic = BasicCredential::try_from(sender).map_err(mls_error)?;
            let key: [u8; 32] = basic.identity().try_into().map_err(|_| {
                ClientError::Mls("the sender's credential is not an identity key".into())
            })?;
            Ok(Incoming::Application {
                sender: PublicKey(key),
                bytes: app.into_bytes(),
            })
        }
        ProcessedMessageContent::StagedCommitMessage(staged) => {
            group
                .merge_staged_commit(provider, *staged)
                .map_err(mls_error)?;
            if !group.is_active() {
                return Ok(Incoming::Removed);
            }
            Ok(Incoming::Commit {
                members: member_keys(group)?,
            })
        }
        _ => Err(ClientError::Mls(
            "proposals outside commits are not used in backchannel".into(),
        )),
    }
}

/// Encrypts an application message.
pub fn encrypt(
    provider: &Provider,
    identity: &Identity,
    group: &mut MlsGroup,
    plaintext: &[u8],
) -> Result<Vec<u8>, ClientError> {
    group
        .create_message(provider, identity, plaintext)
        .map_err(mls_error)?
        .to_bytes()
        .map_err(mls_error)
}

/// A commit adding `key_packages`: (commit bytes, welcome bytes). The commit is pending until
/// the hub accepts it.
pub fn add(
    provider: &Provider,
    identity: &Identity,
    group: &mut MlsGroup,
    key_packages: &[KeyPackage],
) -> Result<(Vec<u8>, Vec<u8>), ClientError> {
    let (commit, welcome, _) = group
        .add_members(provider, identity, key_packages)
        .map_err(mls_error)?;
    Ok((
        commit.to_bytes().map_err(mls_error)?,
        welcome.to_bytes().map_err(mls_error)?,
    ))
}

/// A commit removing the members with these keys; the removal rotates the group's keys.
pub fn remove(
    provider: &Provider,
    identity: &Identity,
    group: &mut MlsGroup,
    keys: &[PublicKey],
) -> Result<Vec<u8>, ClientError> {
    let leaves: Vec<LeafNodeIndex> = group
        .members()
        .filter(|m| leaf_key(&m.credential, &m.signature_key).is_some_and(|k| keys.contains(&k)))
        .map(|m| m.index)
        .collect();
    if leaves.len() != keys.len() {
        return Err(ClientError::Invalid(
            "some of those keys are not members of the channel".into(),
        ));
    }
    let (commit, _, _) = group
        .remove_members(provider, identity, &leaves)
        .map_err(mls_error)?;
    commit.to_bytes().map_err(mls_error)
}

/// Makes a pending commit effective once the hub accepted it, or drops it when it did not.
pub fn settle(
    provider: &Provider,
    group: &mut MlsGroup,
    accepted: bool,
) -> Result<(), ClientError> {
    if accepted {
        group.merge_pending_commit(provider).map_err(mls_error)
    } else {
        group
            .clear_pending_commit(provider.storage())
            .map_err(mls_error)
    }
}

impl crate::client::Client {
    /// This participant's copy of a discreet channel's group (`not_in_channel` if it holds
    /// none).
    pub(crate) fn group(
        &self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<MlsGroup, ClientError> {
        load_group(&self.provider, &case, &self.hub_channel(case, channel)?)?
            .ok_or_else(|| ClientError::NotInChannel(channel.to_string()))
    }
}
