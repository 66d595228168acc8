//! What every form's fields go through before anything is posted: a malformed field is
//! refused as `invalid_form`, with a sentence saying what the field should be, and nothing
//! changes; the rules check the act again once it is posted.

use axum::http::StatusCode;

use super::guard::Refusal;
use super::pages::refusal;

/// The longest id a form takes: of an issue, an option or a requirement.
pub(super) const ID_MAX: usize = 64;

/// A form's field refused, with `sentence` saying why.
pub(super) fn invalid(sentence: &str) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, "invalid_form", sentence)
}

/// Whether `text` is an id as the forms name issues, options and requirements: 1 to
/// [`ID_MAX`] letters, digits, `_` and `-`.
pub(super) fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= ID_MAX
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A free text from a form, trimmed: 1 to `chars_max` characters; `what` names it in the
/// refusal.
pub(super) fn text<'a>(what: &str, text: &'a str, chars_max: usize) -> Result<&'a str, Refusal> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > chars_max {
        return Err(invalid(&format!("{what} is 1 to {chars_max} characters")));
    }
    Ok(text)
}

/// A form's fields as the handlers take them (`Form<Vec<(String, String)>>`), for tests.
#[cfg(test)]
pub(super) fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
