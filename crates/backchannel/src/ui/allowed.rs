//! What the table of act kinds (`backchannel_core::kinds`) lets the viewer post, by its role:
//! the pages show a form only to whom the table allows its act. The kind's own rule may
//! narrow it further, and the rules check every act again when it is posted.

use backchannel_core::kinds::{Author, Kind};
use backchannel_core::{CaseState, PublicKey, Role};

/// The viewer's role, as the table of act kinds names it.
pub(super) fn author(state: &CaseState, me: &PublicKey) -> Option<Author> {
    if state.mediator == *me {
        return Some(Author::Mediator);
    }
    match state.participants.get(me)?.role {
        Role::Mediator => Some(Author::Mediator),
        Role::Party { .. } => Some(Author::Party),
        Role::Observer => Some(Author::Observer),
    }
}

/// Whether the table lets `author` post acts of `kind` at all (the kind's rule may narrow it).
pub(super) fn may(author: Option<Author>, kind: &str) -> bool {
    author.is_some_and(|a| Kind::named(kind).is_some_and(|k| k.allows(a)))
}

/// Whether the table lets the viewer `me` post acts of `kind` in `state`.
pub(super) fn viewer_may(state: &CaseState, me: &PublicKey, kind: &str) -> bool {
    may(author(state, me), kind)
}
