//! The client's errors: each names what failed in one sentence and has a stable code.

use backchannel_core::api::Entry;
use backchannel_core::{ChannelName, Rejection};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no identity in {0}: create one with `backchannel id new --name NAME`")]
    NoIdentity(String),
    #[error("an identity already exists in {0}")]
    IdentityExists(String),
    #[error("wrong passphrase for the identity in {0}")]
    WrongPassphrase(String),
    #[error("the home folder {path} is unusable: {why}")]
    Home { path: String, why: String },
    #[error(
        "the home {0} is in use by another backchannel process (a running `backchannel ui`, or a \
         command not yet finished): stop it, or do this in the UI"
    )]
    HomeBusy(String),
    #[error("this participant has no case {0}")]
    UnknownCase(String),
    #[error("the invite code is malformed: {0}")]
    BadInvite(&'static str),
    #[error("the hub at {url} refused the request ({code}): {message}")]
    Hub {
        url: String,
        status: u16,
        code: String,
        message: String,
        /// For `stale_head`: the first entries the post missed, as the hub sent them.
        missed: Vec<Entry>,
        /// For a witness's `witness_fork` or `witness_gap`: its signed head.
        witnessed: Option<Box<backchannel_core::witness::Cosigned>>,
    },
    #[error("the hub at {url} could not be reached: {why}")]
    Unreachable { url: String, why: String },
    /// A hub URL this client will not use: plain HTTP beyond loopback (unless allowed), or
    /// not an HTTP URL at all.
    #[error("the hub URL {url} is refused: {why}")]
    InsecureHub { url: String, why: &'static str },
    /// Unreachable before anything was sent: no connection, or working offline.
    #[error("the hub at {url} could not be reached: {why}")]
    NotConnected { url: String, why: String },
    #[error("entry {seq} of channel {channel} does not verify and was refused: {why}")]
    Refused {
        channel: ChannelName,
        seq: u64,
        why: String,
    },
    #[error("refused by the case's rules ({code}): {0}", code = .0.code())]
    Rule(#[from] Rejection),
    #[error("this participant is not a member of channel {0}")]
    NotInChannel(String),
    #[error("{0}")]
    Invalid(String),
    /// A delegate repeats what a colleague already did for their party: nothing to do. Not a
    /// failure: the command line reports it as a success.
    #[error("already done: {by} {what} on behalf of {party}")]
    AlreadyDone {
        party: String,
        what: String,
        by: String,
        at_ms: u64,
    },
    /// A name given on the command line matches nothing or more than one thing, or is not a
    /// fit name.
    #[error("{message}")]
    Unmatched { code: &'static str, message: String },
    #[error("MLS: {0}")]
    Mls(String),
    /// The hub showed this participant another history than someone else saw.
    #[error("{}", .0.message)]
    Alarm(Box<crate::alarm::Alarm>),
}

impl ClientError {
    /// A stable machine-readable code.
    pub fn code(&self) -> String {
        match self {
            ClientError::NoIdentity(_) => "no_identity".into(),
            ClientError::IdentityExists(_) => "identity_exists".into(),
            ClientError::WrongPassphrase(_) => "wrong_passphrase".into(),
            ClientError::Home { .. } => "home_unusable".into(),
            ClientError::HomeBusy(_) => "home_busy".into(),
            ClientError::UnknownCase(_) => "unknown_case".into(),
            ClientError::BadInvite(_) => "bad_invite".into(),
            ClientError::Hub { code, .. } => code.clone(),
            ClientError::Unreachable { .. } | ClientError::NotConnected { .. } => {
                "hub_unreachable".into()
            }
            ClientError::InsecureHub { .. } => "insecure_http".into(),
            ClientError::Refused { .. } => "entry_refused".into(),
            ClientError::Rule(rejection) => rejection.code().into(),
            ClientError::NotInChannel(_) => "not_channel_member".into(),
            ClientError::Invalid(_) => "invalid".into(),
            ClientError::Unmatched { code, .. } => (*code).into(),
            ClientError::AlreadyDone { .. } => "already_done".into(),
            ClientError::Mls(_) => "mls".into(),
            ClientError::Alarm(alarm) => alarm.code.clone(),
        }
    }

    /// Whether the hub certainly does not hold what was sent: it answered with a refusal (4xx),
    /// which changes nothing on its side, or no connection was made. Any other failure of a
    /// post leaves its outcome unknown.
    pub(crate) fn hub_refused(&self) -> bool {
        match self {
            ClientError::Hub { status, code, .. } => {
                (400..500).contains(status) && code != "bad_response"
            }
            ClientError::NotConnected { .. } | ClientError::InsecureHub { .. } => true,
            _ => false,
        }
    }

    /// Whether the hub could not be reached, whether or not a request left.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ClientError::Unreachable { .. } | ClientError::NotConnected { .. }
        )
    }

    pub(crate) fn is_stale_head(&self) -> bool {
        matches!(self, ClientError::Hub { code, .. } if code == "stale_head")
    }
}
