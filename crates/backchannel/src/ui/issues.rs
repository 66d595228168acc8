//! The issues the case negotiates over, and their options: everyone reads them (they are on
//! the public record); the mediator defines them once from a form, as `issues define` does
//! from a scenario file. The form takes up to [`ROWS`] issues, each an id, a title and its
//! options one per line (`id: label`); the rules check the whole again (ids unique, an option
//! at least) and refuse a second definition with `conflict`. Below them, the observers'
//! requirements (`requirements.rs`).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_formula::{Issue, IssueOption};
use maud::{Markup, html};

use super::Ui;
use super::allowed::viewer_may;
use super::form::{ID_MAX, invalid, is_id, text};
use super::guard::Refusal;
use super::pages::{
    Page, case_id, case_page, changed_page, failed, mediator_only, summary_and_state,
};

/// How many issues the form takes.
const ROWS: usize = 8;
/// The most options one issue takes from the form.
const OPTIONS_MAX: usize = 64;
/// The longest title or label.
const LABEL_MAX: usize = 200;

/// An id as the other forms can name it in their fields: letters, digits, `_` and `-`.
fn id(what: &str, text: &str) -> Result<String, Refusal> {
    let text = text.trim();
    if is_id(text) {
        Ok(text.to_owned())
    } else {
        Err(invalid(&format!(
            "{what} {text:?} is not an id: 1 to {ID_MAX} letters, digits, _ or -"
        )))
    }
}

fn label(what: &str, label: &str) -> Result<String, Refusal> {
    text(what, label, LABEL_MAX).map(str::to_owned)
}

/// One issue's options, one a line: `id: label`, or `id` alone (its own label).
fn options(issue: &str, text: &str) -> Result<Vec<IssueOption>, Refusal> {
    let mut options = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (option, name) = line.split_once(':').unwrap_or((line, line));
        options.push(IssueOption {
            id: id(&format!("an option of {issue}"), option)?,
            label: label(&format!("an option's label in {issue}"), name)?,
        });
        if options.len() > OPTIONS_MAX {
            return Err(invalid(&format!(
                "{issue} has more than {OPTIONS_MAX} options"
            )));
        }
    }
    if options.is_empty() {
        return Err(invalid(&format!("{issue} needs one option at least")));
    }
    Ok(options)
}

/// The issues the form describes: `id.N`, `title.N` and `options.N` for each row `N` below
/// [`ROWS`], a row left empty skipped; anything else is refused.
fn issues_from_form(fields: &[(String, String)]) -> Result<Vec<Issue>, Refusal> {
    let mut rows: [[Option<&str>; 3]; ROWS] = [[None; 3]; ROWS];
    for (name, value) in fields {
        if name == "csrf" {
            continue;
        }
        let (field, row) = name
            .split_once('.')
            .ok_or_else(|| invalid(&format!("the form has no field {name:?}")))?;
        let at = match field {
            "id" => 0,
            "title" => 1,
            "options" => 2,
            _ => return Err(invalid(&format!("the form has no field {name:?}"))),
        };
        let slot = row
            .parse::<usize>()
            .ok()
            .and_then(|n| rows.get_mut(n))
            .and_then(|r| r.get_mut(at))
            .ok_or_else(|| invalid(&format!("the form has no field {name:?}")))?;
        if slot.replace(value.as_str()).is_some() {
            return Err(invalid(&format!("the form names {name:?} twice")));
        }
    }
    let mut issues = Vec::new();
    for [issue, title, opts] in rows {
        let [issue, title, opts] = [issue, title, opts].map(|f| f.unwrap_or_default().trim());
        if issue.is_empty() && title.is_empty() && opts.is_empty() {
            continue;
        }
        let issue = id("an issue", issue)?;
        issues.push(Issue {
            title: label(&format!("the title of {issue}"), title)?,
            options: options(&issue, opts)?,
            id: issue,
        });
    }
    if issues.is_empty() {
        return Err(invalid("define one issue at least"));
    }
    Ok(issues)
}

fn define_form(ui: &Ui, hex: &str) -> Markup {
    html! {
        form.issues method="post" action={"/case/" (hex) "/issues"} {
            input type="hidden" name="csrf" value=(ui.guard.csrf());
            p.quiet { "Each issue: its id, its title, and its options one a line, as " code { "id: label" } ". Rows left empty are skipped." }
            @for n in 0..ROWS {
                fieldset data-row=(n) {
                    legend { "Issue " (n + 1) }
                    label { "id " input type="text" name={"id." (n)} maxlength=(ID_MAX); }
                    label { "title " input type="text" name={"title." (n)} maxlength=(LABEL_MAX); }
                    label { "options " textarea name={"options." (n)} rows="3" {} }
                }
            }
            button type="submit" { "Define the issues (public)" }
        }
    }
}

/// `GET /case/{case}/issues`.
pub(super) async fn issues(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let (show, state) = summary_and_state(&client, case)?;
    let hex = case.to_hex();
    let defined = &state.procedure.issues;
    let may_define = defined.is_empty() && viewer_may(state, &client.key(), "issues_defined");
    Ok(case_page(
        &ui,
        &client,
        &show,
        "Issues",
        "issues",
        "The issues",
        html! {
            @if defined.is_empty() {
                p.quiet { "The mediator has not defined the issues yet." }
            }
            ul.issues {
                @for issue in defined {
                    li data-issue=(issue.id) {
                        strong { (issue.title) } " " code { (issue.id) } ": "
                        (issue.options.iter().map(|o| o.label.as_str()).collect::<Vec<_>>().join(" · "))
                    }
                }
            }
            @if may_define { (define_form(&ui, &hex)) }
            (super::requirements::section(&ui, case, state, &client.key()))
        },
    ))
}

/// `POST /case/{case}/issues`: the mediator defines the issues the form describes.
pub(super) async fn define(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator defines the issues")?;
    let issues = issues_from_form(&fields)?;
    client.define_issues(case, issues).await.map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "issues"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::form::fields as form;

    #[test]
    fn a_form_becomes_the_issues_in_its_rows_order() {
        let fields = form(&[
            ("csrf", "x"),
            ("id.2", "detainees"),
            ("title.2", "Detainees"),
            ("options.2", "full_exchange: A full exchange\r\nnone\n\n"),
            ("id.0", "sanctions"),
            ("title.0", "Sanctions"),
            ("options.0", "lift: Lifted"),
            ("id.1", ""),
            ("title.1", ""),
            ("options.1", ""),
        ]);
        let issues = issues_from_form(&fields).ok().unwrap_or_default();
        let ids: Vec<_> = issues.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["sanctions", "detainees"]);
        assert_eq!(
            issues[1].options,
            [
                IssueOption {
                    id: "full_exchange".into(),
                    label: "A full exchange".into()
                },
                IssueOption {
                    id: "none".into(),
                    label: "none".into()
                }
            ]
        );
    }

    #[test]
    fn a_malformed_form_is_refused() {
        for fields in [
            form(&[]),
            form(&[("id.0", "sanctions"), ("title.0", "S")]),
            form(&[("id.0", "a.b"), ("title.0", "S"), ("options.0", "x")]),
            form(&[("id.0", "s"), ("title.0", ""), ("options.0", "x")]),
            form(&[("id.0", "s"), ("title.0", "S"), ("options.0", "x y: z")]),
            form(&[("id.8", "s"), ("title.8", "S"), ("options.8", "x")]),
            form(&[("id.0", "s"), ("id.0", "t"), ("options.0", "x")]),
            form(&[("other", "1")]),
        ] {
            assert!(issues_from_form(&fields).is_err(), "{fields:?}");
        }
    }
}
