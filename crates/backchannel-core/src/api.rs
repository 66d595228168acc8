//! The hub's HTTP+JSON API, version 1: the request and response bodies both sides share.
//! Byte strings travel as base64; keys and ids as lowercase hex. See docs/protocol.md.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{CaseId, HubChannel, PublicKey};

/// The most bytes any request body may have.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// The most bytes one entry, key package or welcome may have.
pub const MAX_BLOB_BYTES: usize = 256 * 1024;
/// The most entries one `GET …/entries` returns.
pub const MAX_LIST: usize = 500;

/// How many missed entries a `stale_head` refusal carries.
pub const MAX_MISSED: usize = 16;
/// The most key packages one participant may keep on the hub.
pub const MAX_KEY_PACKAGES: usize = 100;
/// The most characters of a participant's display name or a party's name.
pub const MAX_NAME_CHARS: usize = 80;
/// The most bytes of a display name sealed under the case key (a nonce, the name's UTF-8 and
/// a tag fit well within it).
pub const MAX_SEALED_NAME_BYTES: usize = 512;

/// A participant's place in a case, as the hub records it from the invite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Mediator,
    Party,
    Observer,
}

/// How the hub treats a channel's entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// An MLS group: entries are MLS commits and application messages.
    Mls,
    /// The case-wide record, sealed under the case key that invite codes carry. Every member
    /// of the case is a member of it.
    Sealed,
}

/// What an entry is, as the hub checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Commit,
    Message,
}

/// The error body of every non-2xx answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: scripts match on it.
    pub code: String,
    /// One human sentence.
    pub message: String,
    /// For `stale_head`: the channel's current head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<u64>,
    /// For `stale_head`: the first entries the sender missed (at most [`MAX_MISSED`], from its
    /// `after` on), so that it can catch up and post again without another request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<Entry>,
    /// For `witness_fork`: the witness's signed head at the first position that differs; for
    /// `witness_gap`: its newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnessed: Option<crate::witness::Cosigned>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub ok: bool,
    pub version: String,
}

/// `POST /v1/cases`: the caller becomes the case's mediator; the sealed `public` channel is
/// created with it. The case's title and the mediator's name are in its sealed genesis.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    pub case_id: CaseId,
}

/// `POST /v1/cases/{case}/invites` (mediator only). The hub stores only the code's hash.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// Hex SHA-256 of the invite secret.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub code_hash: String,
    /// `party` or `observer`. Which party is the mediator's to know: the hub is not told.
    pub role: MemberRole,
    /// When the code stops being accepted (unix ms); absent: it never expires. At most
    /// [`MAX_INVITE_LIFETIME_MS`] ahead of the hub's clock, and not in its past.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
}

/// The longest an invite may stay valid: a year.
pub const MAX_INVITE_LIFETIME_MS: u64 = 366 * 24 * 60 * 60 * 1000;

/// `POST /v1/cases/{case}/invites/revoke` (mediator only): the code is refused from now on.
/// Revoking a revoked invite changes nothing and succeeds; a spent one is `invite_used`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeInvite {
    /// Hex SHA-256 of the invite secret, as given at creation.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub code_hash: String,
}

/// The answer to a revocation.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct InviteRevoked {
    pub code_hash: String,
    /// When the hub first recorded the revocation.
    pub revoked_ms: u64,
}

/// `POST /v1/join`: spends an invite.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    pub case_id: CaseId,
    /// Hex of the invite secret.
    #[schema(pattern = "^([0-9a-fA-F]{2})*$")]
    pub code: String,
    /// The joiner's display name sealed under the case key, which the hub does not hold (at
    /// most [`MAX_SEALED_NAME_BYTES`]): for the mediator to read when admitting it.
    #[schema(value_type = String, format = Byte, max_length = 684)]
    pub sealed_name: Blob,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub key: PublicKey,
    pub role: MemberRole,
    /// The display name the member sealed when it joined; absent for the mediator, whose name
    /// is in the case's genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_name: Option<Blob>,
    /// The code hash of the invite the member spent; absent for the mediator. The mediator
    /// knows from its own record which party, if any, that invite was for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    pub joined_ms: u64,
}

/// `GET /v1/cases/{case}/members`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Members {
    pub members: Vec<Member>,
}

/// `POST /v1/key-packages`: the caller's MLS key packages (TLS-encoded `KeyPackage`s).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadKeyPackages {
    pub key_packages: Vec<Blob>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyPackagesStored {
    /// How many of the caller's ordinary key packages the hub now holds (each handed out
    /// once).
    pub available: usize,
    /// Whether it holds a last-resort key package for the caller (handed out when no
    /// ordinary one is left, and kept).
    #[serde(default)]
    pub last_resort: bool,
}

/// `POST /v1/cases/{case}/key-packages/claim` (mediator only): hands out one of a case
/// member's key packages, once.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimKeyPackage {
    pub key: PublicKey,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ClaimedKeyPackage {
    pub key_package: Blob,
}

/// `POST /v1/cases/{case}/channels` (mediator only): a new MLS channel. The mediator is a
/// member; further members join through an `add` commit.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    /// The channel's id, derived from its name under the case key: never the name.
    pub channel: HubChannel,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelInfo {
    pub channel: HubChannel,
    pub kind: ChannelKind,
    pub members: Vec<PublicKey>,
    /// The seq of the channel's last entry; 0 when empty.
    pub head: u64,
}

/// `GET /v1/cases/{case}/channels`: the channels the caller is a member of.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Channels {
    pub channels: Vec<ChannelInfo>,
}

/// `POST /v1/cases/{case}/channels/{channel}/entries`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostEntry {
    pub kind: EntryKind,
    /// The seq of the last entry the sender has seen; the hub refuses the post with
    /// `stale_head` unless it is the channel's head, so every channel stays one line.
    pub after: u64,
    pub body: Blob,
    /// With an `add` commit: the Welcome for the added members, delivered once the commit
    /// is accepted.
    #[serde(default)]
    pub welcome: Option<Blob>,
    /// With a commit (mediator only): the keys this commit adds to the channel.
    #[serde(default)]
    pub add: Vec<PublicKey>,
    /// With a commit (mediator only): the keys this commit removes from the channel.
    #[serde(default)]
    pub remove: Vec<PublicKey>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Posted {
    pub seq: u64,
}

/// One stored entry, as the hub hands it out. `author` is who the hub says posted it: the
/// client trusts only the signature inside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    pub seq: u64,
    pub kind: EntryKind,
    pub author: PublicKey,
    pub body: Blob,
    pub at_ms: u64,
}

/// `GET /v1/cases/{case}/channels/{channel}/entries?after=N&limit=M`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Entries {
    pub entries: Vec<Entry>,
    pub head: u64,
}

/// One Welcome waiting for the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Welcome {
    pub id: u64,
    pub case_id: CaseId,
    pub channel: HubChannel,
    /// The seq of the commit that added the caller: its first readable entry follows it.
    pub seq: u64,
    pub body: Blob,
}

/// `GET /v1/welcomes?after=ID`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Welcomes {
    pub welcomes: Vec<Welcome>,
}

/// One push notification on `GET /v1/cases/{case}/stream` (WebSocket, text frames).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notice {
    pub channel: HubChannel,
    pub seq: u64,
}

/// Bytes carried as base64 in JSON.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Byte)]
pub struct Blob(#[serde(with = "crate::b64")] pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

/// The OpenAPI schemas of the types the API carries from elsewhere in the core (identifiers and
/// hashes, which travel as hex; the witness's bodies), written by hand as their serde is, and
/// the helpers the hub's description (`backchannel_hub::routes::openapi`) builds with.
pub mod schema {
    use std::borrow::Cow;

    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type,
    };
    use utoipa::openapi::{Ref, RefOr, Schema};
    use utoipa::{PartialSchema, ToSchema};

    use crate::act::Digest32;
    use crate::ids::{CaseId, HubChannel, PublicKey};
    use crate::witness::{
        Cosigned, MAX_WITNESS_HASHES, MAX_WITNESS_KEYS, WitnessHeads, WitnessKey, WitnessSubmitters,
    };

    /// Named schemas, gathered for the description's components.
    pub type Schemas = Vec<(String, RefOr<Schema>)>;

    /// A reference to `T`'s schema, which joins `schemas` with those it refers to.
    pub fn named<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
        Ref::from_schema_name(T::name()).into()
    }

    /// An object with exactly `properties`, each required.
    pub fn object(description: &str, properties: Vec<(&str, RefOr<Schema>)>) -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .description(Some(description))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for (name, schema) in properties {
            object = object.property(name, schema).required(name);
        }
        object.into()
    }

    /// An integer from 0 to `max`.
    pub fn integer(max: u64) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(0))
            .maximum(Some(max))
            .into()
    }

    fn text(description: &str, pattern: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .pattern(Some(pattern))
            .into()
    }

    fn list(items: RefOr<Schema>, min: usize, max: usize) -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(items)
            .min_items(Some(min))
            .max_items(Some(max))
            .into()
    }

    /// `ToSchema` for `$type`, whose schema is `$body`; `$schemas` gathers what it refers to.
    macro_rules! schema {
        ($type:ident, |$schemas:ident| $body:expr) => {
            impl PartialSchema for $type {
                fn schema() -> RefOr<Schema> {
                    let $schemas = &mut Schemas::new();
                    $body
                }
            }
            impl ToSchema for $type {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($type))
                }
                fn schemas(schemas: &mut Schemas) {
                    let $schemas = schemas;
                    let _ = $body;
                }
            }
        };
    }

    schema!(PublicKey, |_s| text(
        "An Ed25519 public key: 64 lowercase hex digits.",
        "^[0-9a-f]{64}$"
    ));
    schema!(CaseId, |_s| text(
        "A case id: 32 lowercase hex digits.",
        "^[0-9a-f]{32}$"
    ));
    schema!(HubChannel, |_s| text(
        "A channel's id at the hub: `public`, or 32 lowercase hex digits derived from its name \
         under the case key.",
        "^(public|[0-9a-f]{32})$"
    ));
    schema!(Digest32, |_s| text(
        "A SHA-256 hash: 64 lowercase hex digits.",
        "^[0-9a-f]{64}$"
    ));
    schema!(WitnessKey, |s| object(
        "The key a witness co-signs with.",
        vec![("key", named::<PublicKey>(s))]
    ));
    schema!(WitnessSubmitters, |s| object(
        "Keys the case's witness mediator allows to send heads.",
        vec![("keys", list(named::<PublicKey>(s), 1, MAX_WITNESS_KEYS))]
    ));
    schema!(WitnessHeads, |s| object(
        "The chain hashes of the public record's acts at positions from + 1, from + 2, ...",
        vec![
            ("from", integer(i64::MAX as u64)),
            ("hashes", list(named::<Digest32>(s), 0, MAX_WITNESS_HASHES)),
        ]
    ));
    schema!(Cosigned, |s| object(
        "A witness's signed statement that the case's public record holds `hash` at `index`.",
        vec![
            ("case", named::<CaseId>(s)),
            ("index", integer(u64::MAX)),
            ("hash", named::<Digest32>(s)),
            (
                "sig",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Byte)))
                    .into()
            ),
        ]
    ));
}
