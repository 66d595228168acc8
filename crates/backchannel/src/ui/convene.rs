//! Convening a case from the desk, as `case new` does: a title, the hub to hold it, and the
//! hubs that witness its public record (one URL a line, none by default). The new case is
//! followed live at once (`live::watch`), as the cases of the home are when the UI starts.
//!
//! The fields are checked here for shape and size; the client checks the URLs again (an
//! `http://` hub beyond loopback is `insecure_http`) and the rules check the genesis. A hub
//! that refuses or cannot be reached leaves no case behind.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use backchannel_client::Client;
use backchannel_core::act::{MAX_LABEL_CHARS, MAX_WITNESSES};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{changed, failed, refusal};

/// The longest hub URL the form takes, as an invite code carries it.
const URL_MAX: usize = 512;

/// The home page's form; the hub field suggests the hub of the first case, if any.
pub(super) fn form(ui: &Ui, client: &Client) -> Markup {
    let hub = client
        .cases()
        .first()
        .and_then(|case| client.show(*case).ok())
        .map(|show| show.hub)
        .unwrap_or_default();
    html! {
        form.convene method="post" action="/cases" {
            input type="hidden" name="csrf" value=(ui.guard.csrf());
            h2 { "Convene a case" }
            p.quiet { "You will be its mediator. Invite the parties and observers from its page once it is made." }
            label { "Title " input type="text" name="title" required maxlength=(MAX_LABEL_CHARS); }
            label { "Hub " input type="url" name="hub" required maxlength=(URL_MAX) value=(hub) placeholder="https://hub.example"; }
            label {
                "Witnesses (optional: hubs that co-sign the public record's heads, one URL a line, at most " (MAX_WITNESSES) ") "
                textarea name="witnesses" rows="2" {}
            }
            button type="submit" { "Convene" }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Convene {
    title: String,
    hub: String,
    #[serde(default)]
    witnesses: String,
}

/// A URL's shape: http(s), no blanks or control characters, at most [`URL_MAX`] bytes.
fn url(what: &str, text: &str) -> Result<String, Refusal> {
    let text = text.trim();
    let fits = (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() <= URL_MAX
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if fits {
        Ok(text.to_owned())
    } else {
        Err(invalid(&format!(
            "{what} is an http(s) URL of at most {URL_MAX} characters"
        )))
    }
}

/// The case the form describes: its title, its hub and its witnesses.
fn parse(form: &Convene) -> Result<(String, String, Vec<String>), Refusal> {
    let title = form.title.trim();
    if title.is_empty()
        || title.chars().count() > MAX_LABEL_CHARS
        || title.chars().any(char::is_control)
    {
        return Err(invalid(&format!(
            "a case's title is 1 to {MAX_LABEL_CHARS} characters on one line"
        )));
    }
    let hub = url("the hub", &form.hub)?;
    let mut witnesses = Vec::new();
    for line in form
        .witnesses
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let witness = url("a witness", line)?;
        if witnesses.contains(&witness) {
            return Err(invalid(&format!("{witness} is named twice")));
        }
        if witnesses.len() == MAX_WITNESSES {
            return Err(invalid(&format!(
                "a case names at most {MAX_WITNESSES} witnesses"
            )));
        }
        witnesses.push(witness);
    }
    Ok((title.to_owned(), hub, witnesses))
}

/// `POST /cases`: convenes a case as its mediator, follows it, and shows it.
pub(super) async fn convene(
    State(ui): State<Ui>,
    Form(form): Form<Convene>,
) -> Result<Response, Refusal> {
    let (title, hub, witnesses) = parse(&form)?;
    let mut client = std::sync::Arc::clone(&ui.client).lock_owned().await;
    // Convening borrows the client across the witnesses' requests, which a handler's future,
    // sent between threads, cannot hold: it runs to its end on a blocking thread instead, the
    // client locked meanwhile as for any other act.
    let made = tokio::task::spawn_blocking(move || {
        tokio::runtime::Handle::current()
            .block_on(client.create_case_with(&hub, &title, &witnesses))
    })
    .await
    .map_err(|_| {
        refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "convening the case stopped before it ended",
        )
    })?;
    let case = made.map_err(failed)?;
    super::live::watch(&ui, case);
    Ok(changed(&ui, case, &format!("/case/{}", case.to_hex())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(title: &str, hub: &str, witnesses: &str) -> Convene {
        Convene {
            title: title.into(),
            hub: hub.into(),
            witnesses: witnesses.into(),
        }
    }

    #[test]
    fn a_form_becomes_a_case_to_convene() {
        let parsed = parse(&form(
            " Talks ",
            "http://127.0.0.1:8080 ",
            "https://w1.example\r\n\r\nhttps://w2.example\n",
        ));
        let Ok((title, hub, witnesses)) = parsed else {
            panic!("refused");
        };
        assert_eq!(title, "Talks");
        assert_eq!(hub, "http://127.0.0.1:8080");
        assert_eq!(witnesses, ["https://w1.example", "https://w2.example"]);
    }

    #[test]
    fn a_malformed_form_is_refused() {
        let long = format!("https://{}", "a".repeat(URL_MAX));
        for bad in [
            form("", "https://hub.example", ""),
            form(&"t".repeat(MAX_LABEL_CHARS + 1), "https://hub.example", ""),
            form("two\nlines", "https://hub.example", ""),
            form("Talks", "hub.example", ""),
            form("Talks", "ftp://hub.example", ""),
            form("Talks", &long, ""),
            form(
                "Talks",
                "https://hub.example",
                "https://w.example\nhttps://w.example",
            ),
            form("Talks", "https://hub.example", "https://a b"),
            form(
                "Talks",
                "https://hub.example",
                "https://1.example\nhttps://2.example\nhttps://3.example\nhttps://4.example\nhttps://5.example",
            ),
        ] {
            assert!(parse(&bad).is_err(), "{}", bad.title);
        }
    }
}
