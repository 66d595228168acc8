//! The one error type of the API: each variant owns its HTTP status, its stable code and its
//! human sentence, and decides what is logged. Database and crypto details never reach the
//! client; they are logged and the client sees `internal`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use backchannel_core::api::{Entry, ErrorBody, ErrorDetail};
use backchannel_core::witness::Cosigned;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is malformed: {0}")]
    BadRequest(String),
    #[error("the request body is larger than the hub accepts")]
    BodyTooLarge,
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    #[error("no such route")]
    NoRoute,
    #[error("this route does not accept that method")]
    MethodNotAllowed,

    #[error("the request carries no Authorization header")]
    AuthMissing,
    #[error("the Authorization header is malformed or its signature does not verify")]
    AuthInvalid,
    #[error("the request's timestamp is too far from the hub's clock")]
    AuthExpired,
    #[error("this request has been seen before")]
    AuthReplayed,

    #[error(
        "the sealed name must be 1 to {} bytes",
        backchannel_core::api::MAX_SEALED_NAME_BYTES
    )]
    InvalidName,
    #[error("`after` must be at most 9223372036854775807")]
    InvalidCursor,
    #[error("the invite is malformed: {0}")]
    InvalidInvite(&'static str),
    #[error("the key package is not acceptable: {0}")]
    InvalidKeyPackage(&'static str),
    #[error("the caller would hold more key packages than the hub keeps")]
    TooManyKeyPackages,
    #[error("the entry is not acceptable: {0}")]
    InvalidEntry(&'static str),
    #[error("the MLS message belongs to another group")]
    WrongGroup,
    #[error("the limit must be between 1 and 500")]
    InvalidLimit,
    #[error("the request to the witness is malformed: {0}")]
    InvalidWitness(&'static str),

    #[error("the caller is not a member of this case or channel")]
    NotMember,
    #[error("only the case's mediator may do this")]
    Forbidden,
    #[error("only the keys on this hub's list of mediators may convene a case")]
    NotAMediator,
    #[error("the case's mediator has not allowed this key to send this witness heads")]
    NotASubmitter,

    #[error("no such case")]
    CaseNotFound,
    #[error("no such channel")]
    ChannelNotFound,
    #[error("no unused invite matches this code")]
    InviteUnknown,
    #[error("that key is not a member of this case")]
    MemberNotFound,
    #[error("the hub holds no key package for that key")]
    NoKeyPackage,
    #[error("this hub does not witness this case")]
    NotWitnessed,

    #[error("a case with this id already exists")]
    CaseExists,
    #[error("an invite with this code already exists")]
    InviteExists,
    #[error("this invite has already been used")]
    InviteUsed,
    #[error("this invite has been revoked by the mediator")]
    InviteRevoked,
    #[error("this invite has expired")]
    InviteExpired,
    #[error("the caller is already a member of this case")]
    AlreadyMember,
    #[error("a channel with this name already exists")]
    ChannelExists,
    #[error("the entry does not follow the channel's head")]
    StaleHead {
        head: u64,
        /// The first entries the sender missed; filled in by the route, not the store.
        missed: Vec<Entry>,
    },
    #[error("a commit for this epoch has already been accepted")]
    EpochTaken,
    #[error("another key has registered this case with this witness")]
    WitnessTaken,
    #[error("a hash differs from the one this witness holds at its position")]
    WitnessFork {
        /// The witness's signed statement of the hash it holds at the first position that
        /// differs. Boxed: it would make every `Result` of the hub larger.
        witnessed: Box<Cosigned>,
    },
    #[error("the hashes start past the newest position this witness holds")]
    WitnessGap {
        /// The witness's signed newest head; `None` while it holds no position.
        witnessed: Option<Box<Cosigned>>,
    },

    #[error("the hub has too many open streams")]
    TooManyStreams,
    #[error("this key holds as many push streams as one key may; close one first")]
    StreamQuota,
    #[error("this case has as many push streams open as the hub allows one case")]
    CaseStreamQuota,
    #[error("this key has created {max} cases, as many as the hub allows one key")]
    CaseQuota { max: u64 },
    #[error("this case holds {max} invites, as many as the hub allows one case")]
    InviteQuota { max: u64 },
    #[error(
        "this key would store more than {max} bytes of entries, as many as the hub allows one key"
    )]
    ByteQuota { max: u64 },
    #[error(
        "this key has registered {max} cases with this witness, as many as the hub allows one key"
    )]
    WitnessQuota { max: u64 },
    #[error("this case allows {max} keys to send heads, as many as a witness allows one case")]
    SubmitterQuota { max: u64 },
    #[error("this key sends more requests than the hub allows one key; try again shortly")]
    RateLimited {
        /// Seconds until a request is allowed again (the `Retry-After` header).
        retry_after_s: u64,
    },
    #[error("the hub is serving as many requests as it can at once; try again shortly")]
    TooBusy,
    #[error("the hub cannot reach its database at the moment; try again shortly")]
    DatabaseUnavailable,
    /// A failure of the hub itself; the detail is logged, never sent.
    #[error("the hub failed to handle this request")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            BadRequest(_) | InvalidName | InvalidCursor | InvalidInvite(_)
            | InvalidKeyPackage(_) | TooManyKeyPackages | InvalidEntry(_) | WrongGroup
            | InvalidLimit | InvalidWitness(_) => StatusCode::BAD_REQUEST,
            BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            NoRoute | CaseNotFound | ChannelNotFound | InviteUnknown | MemberNotFound
            | NoKeyPackage | NotWitnessed => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AuthMissing | AuthInvalid | AuthExpired | AuthReplayed => StatusCode::UNAUTHORIZED,
            NotMember | Forbidden | NotAMediator | NotASubmitter => StatusCode::FORBIDDEN,
            CaseExists
            | InviteExists
            | InviteUsed
            | AlreadyMember
            | ChannelExists
            | StaleHead { .. }
            | EpochTaken
            | WitnessTaken
            | WitnessFork { .. }
            | WitnessGap { .. } => StatusCode::CONFLICT,
            InviteRevoked | InviteExpired => StatusCode::GONE,
            TooManyStreams | TooBusy | DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            StreamQuota
            | CaseStreamQuota
            | CaseQuota { .. }
            | InviteQuota { .. }
            | ByteQuota { .. }
            | WitnessQuota { .. }
            | SubmitterQuota { .. }
            | RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            BadRequest(_) => "bad_request",
            BodyTooLarge => "body_too_large",
            BodyTimeout => "body_timeout",
            NoRoute => "not_found",
            MethodNotAllowed => "method_not_allowed",
            AuthMissing => "auth_missing",
            AuthInvalid => "auth_invalid",
            AuthExpired => "auth_expired",
            AuthReplayed => "auth_replayed",
            InvalidName => "invalid_name",
            InvalidCursor => "invalid_cursor",
            InvalidInvite(_) => "invalid_invite",
            InvalidKeyPackage(_) => "invalid_key_package",
            TooManyKeyPackages => "too_many_key_packages",
            InvalidEntry(_) => "invalid_entry",
            WrongGroup => "wrong_group",
            InvalidLimit => "invalid_limit",
            InvalidWitness(_) => "invalid_witness",
            NotMember => "not_member",
            Forbidden => "forbidden",
            NotAMediator => "not_a_mediator",
            NotASubmitter => "not_a_submitter",
            CaseNotFound => "case_not_found",
            ChannelNotFound => "channel_not_found",
            InviteUnknown => "invite_unknown",
            MemberNotFound => "member_not_found",
            NoKeyPackage => "no_key_package",
            NotWitnessed => "not_witnessed",
            CaseExists => "case_exists",
            InviteExists => "invite_exists",
            InviteUsed => "invite_used",
            InviteRevoked => "invite_revoked",
            InviteExpired => "invite_expired",
            AlreadyMember => "already_member",
            ChannelExists => "channel_exists",
            StaleHead { .. } => "stale_head",
            EpochTaken => "epoch_taken",
            WitnessTaken => "witness_taken",
            WitnessFork { .. } => "witness_fork",
            WitnessGap { .. } => "witness_gap",
            TooManyStreams => "too_many_streams",
            StreamQuota
            | CaseStreamQuota
            | CaseQuota { .. }
            | InviteQuota { .. }
            | ByteQuota { .. }
            | WitnessQuota { .. }
            | SubmitterQuota { .. } => "quota_exceeded",
            RateLimited { .. } => "rate_limited",
            TooBusy => "too_busy",
            DatabaseUnavailable => "database_unavailable",
            Internal(_) => "internal",
        }
    }

    /// The JSON body sent to the client.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            // The detail of an internal error stays in the log.
            ApiError::Internal(_) => "the hub failed to handle this request".to_owned(),
            other => format!("{}.", capitalise(&other.to_string())),
        };
        let (head, missed) = match self {
            ApiError::StaleHead { head, missed } => (Some(*head), missed.clone()),
            _ => (None, vec![]),
        };
        let witnessed = match self {
            ApiError::WitnessFork { witnessed } => Some(witnessed.as_ref().clone()),
            ApiError::WitnessGap { witnessed } => witnessed.as_deref().cloned(),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                head,
                missed,
                witnessed,
            },
        }
    }

    /// Wraps a failure of the hub's own machinery (storage, a panicked task).
    pub fn internal(error: impl std::fmt::Display) -> Self {
        ApiError::Internal(error.to_string())
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        ApiError::internal(format!("storage: {error}"))
    }
}

impl From<postgres::Error> for ApiError {
    fn from(error: postgres::Error) -> Self {
        // The server's own message and SQLSTATE, for the log; `Display` alone says "db error".
        // A lost connection, or a statement cancelled by the statement timeout: the database
        // is not answering, which is no fault of the request.
        let timed_out = error
            .as_db_error()
            .is_some_and(|db| db.code().code() == "57014");
        if crate::store::postgres::connection_lost(&error) || timed_out {
            tracing::warn!(%error, "the database cannot be reached");
            return ApiError::DatabaseUnavailable;
        }
        match error.as_db_error() {
            Some(db) => ApiError::internal(format!(
                "storage: {} (SQLSTATE {})",
                db.message(),
                db.code().code()
            )),
            None => ApiError::internal(format!("storage: {error}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        let retry_after_s = match self {
            ApiError::RateLimited { retry_after_s } => Some(retry_after_s),
            ApiError::DatabaseUnavailable => Some(5),
            _ => None,
        };
        if let Some(seconds) = retry_after_s {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_is_not_sent() {
        let body = ApiError::internal("UNIQUE constraint failed: entries.seq").body();
        assert_eq!(body.error.code, "internal");
        assert!(!body.error.message.contains("UNIQUE"));
    }

    #[test]
    fn revoked_and_expired_invites_are_gone() {
        for (error, code, message) in [
            (
                ApiError::InviteRevoked,
                "invite_revoked",
                "This invite has been revoked by the mediator.",
            ),
            (
                ApiError::InviteExpired,
                "invite_expired",
                "This invite has expired.",
            ),
        ] {
            assert_eq!(error.status(), StatusCode::GONE);
            let body = error.body();
            assert_eq!(
                (body.error.code.as_str(), body.error.message.as_str()),
                (code, message)
            );
        }
    }

    #[test]
    fn who_may_use_the_hub_is_said_in_one_sentence() {
        for (error, status, code, message) in [
            (
                ApiError::NotAMediator,
                StatusCode::FORBIDDEN,
                "not_a_mediator",
                "Only the keys on this hub's list of mediators may convene a case.",
            ),
            (
                ApiError::CaseQuota { max: 3 },
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
                "This key has created 3 cases, as many as the hub allows one key.",
            ),
            (
                ApiError::InviteQuota { max: 500 },
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
                "This case holds 500 invites, as many as the hub allows one case.",
            ),
        ] {
            assert_eq!(error.status(), status);
            let body = error.body();
            assert_eq!(
                (body.error.code.as_str(), body.error.message.as_str()),
                (code, message)
            );
        }
    }

    #[test]
    fn witness_refusals_carry_the_signed_head() {
        use backchannel_core::{CaseId, Digest32};
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let held = Cosigned::sign(&key, CaseId([1; 16]), 3, Digest32([7; 32]));
        let fork = ApiError::WitnessFork {
            witnessed: Box::new(held.clone()),
        };
        assert_eq!(fork.status(), StatusCode::CONFLICT);
        let body = fork.body();
        assert_eq!(
            (body.error.code.as_str(), body.error.witnessed.as_ref()),
            ("witness_fork", Some(&held))
        );
        assert_eq!(
            body.error.message,
            "A hash differs from the one this witness holds at its position."
        );
        let gap = ApiError::WitnessGap { witnessed: None }.body();
        assert_eq!(
            (gap.error.code.as_str(), gap.error.witnessed),
            ("witness_gap", None)
        );
        let json = serde_json::to_value(ApiError::WitnessGap { witnessed: None }.body()).ok();
        assert!(json.is_some_and(|json| json["error"].get("witnessed").is_none()));
        assert_eq!(ApiError::NotWitnessed.status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::NotASubmitter.code(), "not_a_submitter");
        assert_eq!(
            ApiError::SubmitterQuota { max: 10_000 }.code(),
            "quota_exceeded"
        );
    }

    #[test]
    fn stale_head_carries_the_head() {
        let body = ApiError::StaleHead {
            head: 7,
            missed: vec![],
        }
        .body();
        assert_eq!(body.error.head, Some(7));
        assert_eq!(
            body.error.message,
            "The entry does not follow the channel's head."
        );
    }
}
