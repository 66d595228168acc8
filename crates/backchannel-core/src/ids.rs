//! Identifiers that cross the wire: public keys, case ids, channel names and the ids the hub
//! knows channels by, each validated when parsed so that a value of the type is always well
//! formed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Ed25519 public identity key (32 bytes, lowercase hex on the wire).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = hex::decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The verifying key, if these bytes are a valid Ed25519 point.
    pub fn verifying_key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).ok()
    }

    /// Checks `signature` over `message` by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Some(key) = self.verifying_key() else {
            return false;
        };
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        key.verify_strict(message, &signature).is_ok()
    }

    /// The safety number two people read to each other to verify this key out of band:
    /// twelve groups of five digits derived from SHA-256 of the key.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        digest.update(b"backchannel/fingerprint/v1\0");
        digest.update(self.0);
        let hash = digest.finalize();
        let mut groups = Vec::with_capacity(6);
        for chunk in hash.chunks(5).take(6) {
            let mut n = 0u64;
            for &b in chunk {
                n = (n << 8) | u64::from(b);
            }
            groups.push(format!("{:05}", n % 100_000));
        }
        groups.join(" ")
    }

    /// A short form for logs and narratives: the first eight hex digits.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.short())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("a public key is 64 hex digits"))
    }
}

/// A case id: 16 random bytes chosen by the mediator, 32 lowercase hex digits on the wire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseId(pub [u8; 16]);

impl CaseId {
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 32 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let bytes = hex::decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseId({})", self.to_hex())
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for CaseId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for CaseId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("a case id is 32 lowercase hex digits"))
    }
}

/// A channel's name within a case: 1 to 64 of `a-z`, `0-9` and `-`, not starting with `-`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ChannelName(String);

/// The case-wide channel every participant reads.
pub const PUBLIC_CHANNEL: &str = "public";

impl ChannelName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && !text.starts_with('-')
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(text.to_owned()))
    }

    pub fn public() -> Self {
        Self(PUBLIC_CHANNEL.to_owned())
    }

    /// The bilateral channel of a party: its name slugified (`United States` → `united-states`).
    pub fn for_party(party: &str) -> Option<Self> {
        let mut slug = String::new();
        for c in party.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        while slug.ends_with('-') {
            slug.pop();
        }
        if slug == PUBLIC_CHANNEL {
            slug.push_str("-party");
        }
        Self::parse(&slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_public(&self) -> bool {
        self.0 == PUBLIC_CHANNEL
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ChannelName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ChannelName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(
                "a channel name is 1 to 64 of a-z, 0-9 and '-', not starting with '-'",
            )
        })
    }
}

/// A channel as the hub knows it: `public` for the case's record, and for every discreet
/// channel 32 hex digits derived from its name under the case key, which the hub never holds
/// (see [`HubChannel::of`]). So the hub relays and orders a channel without learning what it
/// is called, and a name in clear (`united-states`) is not an id it accepts.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct HubChannel(String);

impl HubChannel {
    /// How many bytes of the derivation an id keeps: 128 bits, 32 hex digits.
    const ID_BYTES: usize = 16;

    /// `public`, or exactly 32 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let opaque = text.len() == 2 * Self::ID_BYTES
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (opaque || text == PUBLIC_CHANNEL).then(|| Self(text.to_owned()))
    }

    /// The hub's id of `channel` in `case`: `public` for the public record; otherwise
    /// HKDF-SHA256 of the case key, salted by this derivation's name, expanded over the case
    /// id and the channel's name. Everyone who holds the case key computes the same id;
    /// without it the id says nothing of the name.
    pub fn of(case_key: &[u8; 32], case: &CaseId, channel: &ChannelName) -> Self {
        if channel.is_public() {
            return Self::public();
        }
        let kdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"backchannel/channel-id/v1"), case_key);
        let mut id = [0u8; Self::ID_BYTES];
        // 16 bytes are far below HKDF-SHA256's limit of 8,160: expanding cannot fail.
        let expanded = kdf.expand_multi_info(&[&case.0, channel.as_str().as_bytes()], &mut id);
        debug_assert!(expanded.is_ok());
        Self(hex::encode(id))
    }

    pub fn public() -> Self {
        Self(PUBLIC_CHANNEL.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_public(&self) -> bool {
        self.0 == PUBLIC_CHANNEL
    }
}

impl fmt::Display for HubChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HubChannel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HubChannel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom("a channel id is `public` or 32 lowercase hex digits")
        })
    }
}

/// The MLS group id of a discreet channel: binds the group to its case and its id at the hub,
/// so the hub can check that an uploaded message belongs where it is posted (and reads no
/// channel name in it).
pub fn mls_group_id(case: &CaseId, channel: &HubChannel) -> Vec<u8> {
    format!("backchannel/{}/{}", case.to_hex(), channel.as_str()).into_bytes()
}

/// Whether a character may not appear in a name people read: a control character, or one of
/// the invisible or direction-changing characters that let one name pass for another (with
/// U+202E, other letters display as "Iran").
pub fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names() {
        assert_eq!(
            ChannelName::for_party("United States").map(|c| c.0),
            Some("united-states".into())
        );
        assert_eq!(
            ChannelName::for_party("Iran").map(|c| c.0),
            Some("iran".into())
        );
        assert_eq!(
            ChannelName::for_party("Public").map(|c| c.0),
            Some("public-party".into())
        );
        assert!(ChannelName::for_party("!!!").is_none());
        assert!(ChannelName::parse("-x").is_none());
        assert!(ChannelName::parse("Upper").is_none());
        assert!(ChannelName::parse(&"a".repeat(65)).is_none());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn hub_channels_are_opaque() {
        let case = CaseId([1; 16]);
        let united_states = ChannelName::parse("united-states").unwrap();
        let id = HubChannel::of(&[2; 32], &case, &united_states);
        assert_eq!(HubChannel::parse(id.as_str()), Some(id.clone()));
        assert!(!id.as_str().contains("united"));
        // The same name under another case key, or in another case, is another id.
        assert_ne!(id, HubChannel::of(&[3; 32], &case, &united_states));
        assert_ne!(
            id,
            HubChannel::of(&[2; 32], &CaseId([9; 16]), &united_states)
        );
        assert_ne!(
            id,
            HubChannel::of(&[2; 32], &case, &ChannelName::parse("iran").unwrap())
        );
        // Pinned: an id is part of the protocol, so it may not change with the code.
        assert_eq!(id.as_str(), "7dfba8c5474800450e31b995afbe11e2");
        assert!(HubChannel::of(&[2; 32], &case, &ChannelName::public()).is_public());
        for clear in [
            "united-states",
            "iran",
            "ABCDEF0123456789ABCDEF0123456789",
            "",
            "x",
        ] {
            assert!(HubChannel::parse(clear).is_none(), "{clear}");
        }
    }

    #[test]
    fn case_ids_are_canonical() {
        assert!(CaseId::parse(&"ab".repeat(16)).is_some());
        assert!(CaseId::parse(&"AB".repeat(16)).is_none());
        assert!(CaseId::parse("abcd").is_none());
    }

    #[test]
    fn fingerprint_is_stable() {
        let key = PublicKey([7; 32]);
        let fp = key.fingerprint();
        assert_eq!(fp.split(' ').count(), 6);
        assert_eq!(fp, PublicKey([7; 32]).fingerprint());
        assert_ne!(fp, PublicKey([8; 32]).fingerprint());
    }
}
