//! Stateless checks of request bodies: names, invites, key packages and the MLS framing of
//! entries. Pure functions: what they accept is ready for the store, which then checks the
//! rules that depend on state.
//!
//! The hub reads only MLS *framing* (group id, epoch, content type) and the public parts of
//! key packages (leaf credential, signature key, signatures): it cannot and does not decrypt
//! anything.

use backchannel_core::api::{
    Blob, ChannelKind, CreateInvite, EntryKind, MAX_BLOB_BYTES, MAX_INVITE_LIFETIME_MS,
    MAX_SEALED_NAME_BYTES, MemberRole, PostEntry,
};
use backchannel_core::ids::mls_group_id;
use backchannel_core::{CaseId, HubChannel, PublicKey};
use openmls::prelude::{
    BasicCredential, ContentType, KeyPackageIn, MlsMessageIn, ProtocolMessage, ProtocolVersion,
    WireFormat,
};
use openmls_rust_crypto::RustCrypto;

/// The crypto that verifies key packages; it only verifies, so one serves every request.
static CRYPTO: std::sync::LazyLock<RustCrypto> = std::sync::LazyLock::new(RustCrypto::default);
use sha2::{Digest, Sha256};
use tls_codec::Deserialize as _;

use crate::error::ApiError;
use crate::store::{KeyPackageBody, NewEntry, NewInvite};

/// A display name sealed under the case key: the hub cannot read it, only bound its size
/// (1 to [`MAX_SEALED_NAME_BYTES`] bytes). The mediator's client opens it and checks the name.
pub fn sealed_name(sealed: &Blob) -> Result<(), ApiError> {
    if (1..=MAX_SEALED_NAME_BYTES).contains(&sealed.0.len()) {
        Ok(())
    } else {
        Err(ApiError::InvalidName)
    }
}

/// A position in a list (`after`): the store keeps positions as signed 64-bit integers.
pub fn cursor(after: u64) -> Result<i64, ApiError> {
    i64::try_from(after).map_err(|_| ApiError::InvalidCursor)
}

/// An invite's code hash: 64 lowercase hex digits.
pub fn code_hash(hash: &str) -> Result<(), ApiError> {
    let hash_ok = hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hash_ok {
        Ok(())
    } else {
        Err(ApiError::InvalidInvite(
            "the code hash must be 64 lowercase hex digits",
        ))
    }
}

/// An invite: a 64-hex-digit code hash, a non-mediator role, and an expiry (if any) after
/// `now_ms` and at most [`MAX_INVITE_LIFETIME_MS`] ahead of it.
pub fn invite(request: CreateInvite, now_ms: u64) -> Result<NewInvite, ApiError> {
    code_hash(&request.code_hash)?;
    if request.role == MemberRole::Mediator {
        return Err(ApiError::InvalidInvite("a case has one mediator"));
    }
    if let Some(expires_ms) = request.expires_ms {
        if expires_ms <= now_ms {
            return Err(ApiError::InvalidInvite(
                "`expires_ms` must be after the hub's clock",
            ));
        }
        if expires_ms - now_ms > MAX_INVITE_LIFETIME_MS {
            return Err(ApiError::InvalidInvite(
                "`expires_ms` must be at most a year after the hub's clock",
            ));
        }
    }
    Ok(NewInvite {
        code_hash: request.code_hash,
        role: request.role,
        expires_ms: request.expires_ms,
    })
}

/// The hash under which the invite with secret `code` (hex) is stored.
pub fn invite_code_hash(code: &str) -> Result<String, ApiError> {
    let secret =
        hex::decode(code).map_err(|_| ApiError::BadRequest("the invite code is not hex".into()))?;
    Ok(hex::encode(Sha256::digest(secret)))
}

/// A key package `owner` may upload: small enough, a well-formed TLS-encoded MLS
/// `KeyPackage` that verifies as one (its leaf's and its own signature, its lifetime at the
/// system clock, its extensions), whose leaf holds a basic credential naming `owner`'s key
/// and whose signature key is that same key. So only the holder of an identity key can
/// have made a key package the hub keeps for it, as clients make them
/// (`backchannel_client::mls`), and a mediator who claims it adds the key it asked for.
/// Returns it with whether it is a last-resort key package.
pub fn key_package(blob: &Blob, owner: &PublicKey) -> Result<KeyPackageBody, ApiError> {
    if blob.0.len() > MAX_BLOB_BYTES {
        return Err(ApiError::InvalidKeyPackage("it is larger than 256 KiB"));
    }
    let package = KeyPackageIn::tls_deserialize_exact(&blob.0).map_err(|_| {
        ApiError::InvalidKeyPackage("it does not parse as a TLS-encoded MLS KeyPackage")
    })?;
    let package = package
        .validate(&*CRYPTO, ProtocolVersion::Mls10)
        .map_err(|_| {
            ApiError::InvalidKeyPackage(
                "its signatures, lifetime or extensions do not verify as MLS requires",
            )
        })?;
    let leaf = package.leaf_node();
    let credential = BasicCredential::try_from(leaf.credential().clone())
        .map_err(|_| ApiError::InvalidKeyPackage("its credential is not a basic credential"))?;
    if credential.identity() != owner.0.as_slice() {
        return Err(ApiError::InvalidKeyPackage(
            "its credential names another key than the uploader's",
        ));
    }
    if leaf.signature_key().as_slice() != owner.0.as_slice() {
        return Err(ApiError::InvalidKeyPackage(
            "its signature key is not the uploader's identity key",
        ));
    }
    Ok(KeyPackageBody {
        body: blob.0.clone(),
        last_resort: package.last_resort(),
    })
}

/// Checks an entry's shape and framing against the kind of channel it is posted to.
pub fn entry(
    case: &CaseId,
    channel: &HubChannel,
    kind: ChannelKind,
    post: PostEntry,
) -> Result<NewEntry, ApiError> {
    if post.body.0.len() > MAX_BLOB_BYTES
        || post
            .welcome
            .as_ref()
            .is_some_and(|w| w.0.len() > MAX_BLOB_BYTES)
    {
        return Err(ApiError::InvalidEntry(
            "a body or welcome is larger than 256 KiB",
        ));
    }
    let changes_members = !post.add.is_empty() || !post.remove.is_empty() || post.welcome.is_some();
    if changes_members && post.kind != EntryKind::Commit {
        return Err(ApiError::InvalidEntry(
            "only a commit adds, removes or welcomes",
        ));
    }
    if post.add.is_empty() != post.welcome.is_none() {
        return Err(ApiError::InvalidEntry(
            "a commit that adds members carries their welcome, and only then",
        ));
    }
    let mut keys: Vec<_> = post.add.iter().chain(&post.remove).collect();
    keys.sort();
    keys.dedup();
    if keys.len() != post.add.len() + post.remove.len() {
        return Err(ApiError::InvalidEntry(
            "a key appears twice in add and remove",
        ));
    }

    let epoch = match kind {
        ChannelKind::Sealed => {
            if post.kind != EntryKind::Message {
                return Err(ApiError::InvalidEntry(
                    "the sealed channel takes only messages",
                ));
            }
            None
        }
        ChannelKind::Mls => {
            let message = protocol_message(&post.body.0)?;
            if message.group_id().as_slice() != mls_group_id(case, channel).as_slice() {
                return Err(ApiError::WrongGroup);
            }
            let expected = match post.kind {
                EntryKind::Commit => ContentType::Commit,
                EntryKind::Message => ContentType::Application,
            };
            if message.content_type() != expected {
                return Err(ApiError::InvalidEntry(
                    "the MLS content type does not match the entry's kind",
                ));
            }
            if message.is_external() {
                return Err(ApiError::InvalidEntry(
                    "external commits and proposals are not relayed",
                ));
            }
            if let Some(welcome) = &post.welcome {
                let parsed = MlsMessageIn::tls_deserialize_exact(&welcome.0)
                    .map_err(|_| ApiError::InvalidEntry("the welcome is not an MLS message"))?;
                if parsed.wire_format() != WireFormat::Welcome {
                    return Err(ApiError::InvalidEntry("the welcome is not an MLS Welcome"));
                }
            }
            Some(message.epoch().as_u64())
        }
    };
    cursor(post.after)?;
    Ok(NewEntry {
        kind: post.kind,
        after: post.after,
        body: post.body.0,
        epoch,
        welcome: post.welcome.map(|w| w.0),
        add: post.add,
        remove: post.remove,
        quota: u64::MAX,
    })
}

/// The public or private message framed in `body`.
fn protocol_message(body: &[u8]) -> Result<ProtocolMessage, ApiError> {
    let message = MlsMessageIn::tls_deserialize_exact(body)
        .map_err(|_| ApiError::InvalidEntry("the body is not an MLS message"))?;
    message
        .try_into_protocol_message()
        .map_err(|_| ApiError::InvalidEntry("the body is not an MLS public or private message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_names_are_bounded() {
        assert!(sealed_name(&Blob(vec![7; 40])).is_ok());
        assert!(sealed_name(&Blob(vec![7; MAX_SEALED_NAME_BYTES])).is_ok());
        assert!(sealed_name(&Blob(vec![7; MAX_SEALED_NAME_BYTES + 1])).is_err());
        assert!(sealed_name(&Blob(vec![])).is_err());
    }

    const NOW_MS: u64 = 1_750_000_000_000;

    fn request(role: MemberRole) -> CreateInvite {
        CreateInvite {
            code_hash: "ab".repeat(32),
            role,
            expires_ms: None,
        }
    }

    #[test]
    fn invites() {
        assert!(invite(request(MemberRole::Party), NOW_MS).is_ok());
        assert!(invite(request(MemberRole::Observer), NOW_MS).is_ok());
        assert!(invite(request(MemberRole::Mediator), NOW_MS).is_err());
        let mut upper = request(MemberRole::Observer);
        upper.code_hash = "AB".repeat(32);
        assert!(invite(upper, NOW_MS).is_err());
        assert!(code_hash(&"ab".repeat(32)).is_ok());
        for bad in [
            "",
            "abc",
            &"AB".repeat(32),
            &"ab".repeat(33),
            &"zz".repeat(32),
        ] {
            assert!(
                matches!(code_hash(bad), Err(ApiError::InvalidInvite(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_invite_expires_after_the_hubs_clock_and_within_a_year() {
        let expiring = |expires_ms| {
            let mut request = request(MemberRole::Observer);
            request.expires_ms = Some(expires_ms);
            invite(request, NOW_MS)
        };
        for accepted in [NOW_MS + 1, NOW_MS + 60_000, NOW_MS + MAX_INVITE_LIFETIME_MS] {
            assert_eq!(
                expiring(accepted).ok().and_then(|invite| invite.expires_ms),
                Some(accepted)
            );
        }
        for refused in [
            0,
            NOW_MS - 1,
            NOW_MS,
            NOW_MS + MAX_INVITE_LIFETIME_MS + 1,
            u64::MAX,
        ] {
            assert!(
                matches!(expiring(refused), Err(ApiError::InvalidInvite(_))),
                "{refused}"
            );
        }
        assert_eq!(
            invite(request(MemberRole::Observer), NOW_MS)
                .ok()
                .map(|invite| invite.expires_ms),
            Some(None)
        );
    }

    #[test]
    fn code_hash_is_sha256_of_the_decoded_secret() {
        // SHA-256 of the empty string.
        assert_eq!(
            invite_code_hash("").ok().as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert!(invite_code_hash("zz").is_err());
    }

    #[test]
    fn garbage_is_neither_a_key_package_nor_an_mls_entry() {
        assert!(matches!(
            key_package(&Blob(vec![0, 1, 2, 3]), &PublicKey([1; 32])),
            Err(ApiError::InvalidKeyPackage(_))
        ));
        let post = PostEntry {
            kind: EntryKind::Message,
            after: 0,
            body: Blob(vec![0, 1, 2, 3]),
            welcome: None,
            add: vec![],
            remove: vec![],
        };
        let case = CaseId([1; 16]);
        let channel = HubChannel::public();
        assert!(matches!(
            entry(&case, &channel, ChannelKind::Mls, post.clone()),
            Err(ApiError::InvalidEntry(_))
        ));
        assert!(entry(&case, &channel, ChannelKind::Sealed, post).is_ok());
    }
}
