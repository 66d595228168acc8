//! Output for people and for scripts: every command prints either prose or, with `--json`,
//! one JSON document; errors carry a stable code either way.

use backchannel_client::ClientError;
use serde::Serialize;

/// Prints a JSON document on stdout.
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The stable code and the sentence for an error.
pub fn describe(error: &anyhow::Error) -> (String, String) {
    let code = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ClientError>())
        .map_or_else(|| "error".to_owned(), ClientError::code);
    let message = error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    (code, message)
}

/// Reports an error on stderr: `error[code]: sentence`, or a JSON error document.
pub fn error(json: bool, code: &str, message: &str) {
    if json {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        eprintln!("{body}");
    } else {
        eprintln!("error[{code}]: {message}");
    }
}
