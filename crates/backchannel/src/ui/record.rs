//! The case's record, on the case page: the fingerprint of the public record's head in this
//! copy (`case fingerprint`), to read out to another participant and compare, and the record
//! to download (`GET /case/{case}/export`, the file `backchannel export` writes): the public
//! record, or with `?all=1` every channel this participant reads, for anyone to check
//! offline with `backchannel verify`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use backchannel_client::Client;
use backchannel_core::CaseId;
use maud::{Markup, html};

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{case_id, failed, refusal};

/// The case page's section on its record.
pub(super) fn section(client: &Client, case: CaseId) -> Markup {
    let hex = case.to_hex();
    let fingerprint = client.fingerprint(case).ok();
    html! {
        h2 { "The record" }
        @if let Some(f) = fingerprint {
            p.fingerprint data-index=(f.index) {
                "The public record's head, index " (f.index) ": " code { (f.code) }
                " — read it out to another participant: the same index gives the same code on every honest copy."
            }
        }
        p.export {
            "Download it, to verify offline with " code { "backchannel verify" } ": "
            a href={"/case/" (hex) "/export"} download { "the public record" } " or "
            a href={"/case/" (hex) "/export?all=1"} download { "every channel you read" } " (JSON)."
        }
    }
}

/// Whether a query asks for every channel read (`all=1`) or the public record only (none,
/// or `all=0`); anything else is refused.
fn wants_all(query: Option<&str>) -> Result<bool, &'static str> {
    let mut all = false;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        all = match (key.as_ref(), value.as_ref()) {
            ("all", "1") => true,
            ("all", "0") => false,
            _ => return Err("an export takes all=1 (every channel you read) or nothing"),
        };
    }
    Ok(all)
}

/// `GET /case/{case}/export`: the record as a JSON attachment.
pub(super) async fn export(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let all = wants_all(query.as_deref()).map_err(invalid)?;
    let record = ui.client.lock().await.export(case, all).map_err(failed)?;
    let bytes = serde_json::to_vec_pretty(&record).map_err(|_| {
        refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "export",
            "the record could not be written",
        )
    })?;
    let name = format!(
        "backchannel-{}-{}.json",
        case.to_hex(),
        if all { "all" } else { "public" }
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::wants_all;

    #[test]
    fn an_export_is_the_public_record_unless_all_is_asked_for() {
        assert_eq!(wants_all(None), Ok(false));
        assert_eq!(wants_all(Some("")), Ok(false));
        assert_eq!(wants_all(Some("all=0")), Ok(false));
        assert_eq!(wants_all(Some("all=1")), Ok(true));
        for bad in ["all=yes", "channel=iran", "all=1&x=2"] {
            assert!(wants_all(Some(bad)).is_err(), "{bad}");
        }
    }
}
