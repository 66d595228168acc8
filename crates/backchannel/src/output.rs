//! Output for people and for scripts: every command prints either prose or, with `--json`,
//! one JSON document; errors carry a stable code either way.

use backchannel_client::ClientError;
use serde::Serialize;

/// Prints a JSON document on stdout.
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The stable code and the sentence for an error: the code of the first cause that has one;
/// the causes' sentences joined, each said once.
/// When `error` says a colleague already did what was asked for the party: says so on
/// stdout, as the success it is, and returns true.
pub fn already_done(json: bool, error: &anyhow::Error) -> bool {
    let Some(ClientError::AlreadyDone {
        party,
        what,
        by,
        at_ms,
    }) = error.chain().find_map(|c| c.downcast_ref::<ClientError>())
    else {
        return false;
    };
    if json {
        let done = serde_json::json!({
            "already_done": { "party": party, "what": what, "by": by, "at_ms": at_ms }
        });
        println!("{done}");
    } else {
        println!("already done: {by} {what} for {party} on {}", utc(*at_ms));
    }
    true
}

/// A refusal by the command line itself, with its stable code.
#[derive(Debug)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

pub fn describe(error: &anyhow::Error) -> (String, String) {
    let code = error
        .chain()
        .find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<ClientError>() {
                Some(e.code())
            } else if let Some(e) = cause.downcast_ref::<backchannel_core::Rejection>() {
                Some(e.code().to_owned())
            } else if let Some(e) = cause.downcast_ref::<backchannel_core::record::RecordError>() {
                Some(e.code().to_owned())
            } else if let Some(e) = cause.downcast_ref::<Refused>() {
                Some(e.code.to_owned())
            } else {
                cause
                    .downcast_ref::<backchannel_formula::LoadError>()
                    .map(backchannel_formula::LoadError::code)
            }
        })
        .unwrap_or_else(|| "error".to_owned());
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
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

/// A time (ms since the Unix epoch) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian), after Howard Hinnant.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_795_999_999_000), "2026-11-30 00:53:19 UTC");
    }
}
