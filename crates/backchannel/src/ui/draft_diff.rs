//! Two versions of the single negotiating text side by side, on the drafts page
//! (`?diff=1..2`, or the form's `from` and `to`): every clause of either, its text in each,
//! the clauses that differ marked (the same differences as `draft diff`).

use std::collections::BTreeSet;

use backchannel_client::procedure::diff;
use backchannel_core::procedure::Draft;
use maud::{Markup, html};

/// One clause in two versions: absent from one where it was added or removed.
#[derive(Debug, PartialEq)]
pub(super) struct Row<'a> {
    pub(super) clause: &'a str,
    pub(super) a: Option<&'a str>,
    pub(super) b: Option<&'a str>,
    pub(super) changed: bool,
}

/// Every clause of `a` in its order, then those only `b` has, each with its text in both.
pub(super) fn compare<'a>(a: &'a Draft, b: &'a Draft) -> Vec<Row<'a>> {
    let changed: BTreeSet<String> = diff(a, b).into_iter().map(|d| d.clause).collect();
    let text = |draft: &'a Draft, id: &str| {
        draft
            .clauses
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.text.as_str())
    };
    let mut ids: Vec<&'a str> = a.clauses.iter().map(|c| c.id.as_str()).collect();
    for clause in &b.clauses {
        if !ids.contains(&clause.id.as_str()) {
            ids.push(&clause.id);
        }
    }
    ids.into_iter()
        .map(|id| Row {
            clause: id,
            a: text(a, id),
            b: text(b, id),
            changed: changed.contains(id),
        })
        .collect()
}

/// The two versions a drafts page's query asks to compare, if any: `diff=A..B`, or `from=A`
/// and `to=B` (the form's). Anything else is refused.
pub(super) fn versions(query: Option<&str>) -> Result<Option<(u32, u32)>, &'static str> {
    const WHAT: &str = "a comparison names two versions: diff=A..B, or from=A and to=B";
    let (mut range, mut from, mut to) = (None, None, None);
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let number = |text: &str| text.trim().parse::<u32>().map_err(|_| WHAT);
        match key.as_ref() {
            "diff" => {
                let (a, b) = value.split_once("..").ok_or(WHAT)?;
                range = Some((number(a)?, number(b)?));
            }
            "from" => from = Some(number(&value)?),
            "to" => to = Some(number(&value)?),
            _ => return Err(WHAT),
        }
    }
    match (range, from, to) {
        (None, None, None) => Ok(None),
        (Some(range), None, None) => Ok(Some(range)),
        (None, Some(a), Some(b)) => Ok(Some((a, b))),
        _ => Err(WHAT),
    }
}

/// The form that picks two versions, and their comparison when one was asked for.
pub(super) fn section(hex: &str, held: &[u32], chosen: Option<(&Draft, &Draft)>) -> Markup {
    let (from, to) = match chosen {
        Some((a, b)) => (a.version, b.version),
        None => (
            held.len()
                .checked_sub(2)
                .and_then(|i| held.get(i))
                .copied()
                .unwrap_or_default(),
            held.last().copied().unwrap_or_default(),
        ),
    };
    html! {
        section.compare {
            h2 { "Compare two versions" }
            form.compare method="get" action={"/case/" (hex) "/drafts"} {
                label { "version " select name="from" { @for v in held { option value=(v) selected[*v == from] { (v) } } } }
                label { " with version " select name="to" { @for v in held { option value=(v) selected[*v == to] { (v) } } } }
                " " button type="submit" { "Compare" }
            }
            @if let Some((a, b)) = chosen {
                @let rows = compare(a, b);
                @let changed = rows.iter().filter(|r| r.changed).count();
                p.quiet data-changed=(changed) {
                    (changed) @if changed == 1 { " clause differs" } @else { " clauses differ" }
                    " between version " (a.version) " and version " (b.version) "."
                }
                table.diff {
                    thead { tr { th { "clause" } th { "version " (a.version) } th { "version " (b.version) } } }
                    tbody {
                        @for row in &rows {
                            tr data-clause=(row.clause) class=[row.changed.then_some("changed")] {
                                td { strong { (row.clause) } }
                                td { @match row.a { Some(t) => (t), None => span.quiet { "(not in this version)" } } }
                                td { @match row.b { Some(t) => (t), None => span.quiet { "(not in this version)" } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use backchannel_core::procedure::Clause;

    use super::*;

    fn draft(version: u32, clauses: &[(&str, &str)]) -> Draft {
        Draft {
            version,
            title: "Text".into(),
            clauses: clauses
                .iter()
                .map(|(id, text)| Clause {
                    id: (*id).into(),
                    text: (*text).into(),
                    issue: None,
                    option: None,
                    alternatives: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn every_clause_of_either_version_is_side_by_side_and_the_changed_ones_marked() {
        let a = draft(
            1,
            &[
                ("enrichment", "Zero."),
                ("sanctions", "Full lift."),
                ("regional", "None."),
            ],
        );
        let b = draft(
            2,
            &[
                ("sanctions", "Phased lift."),
                ("enrichment", "Zero."),
                ("detainees", "Exchange."),
            ],
        );
        let row = |clause, a, b, changed| Row {
            clause,
            a,
            b,
            changed,
        };
        assert_eq!(
            compare(&a, &b),
            vec![
                row("enrichment", Some("Zero."), Some("Zero."), false),
                row("sanctions", Some("Full lift."), Some("Phased lift."), true),
                row("regional", Some("None."), None, true),
                row("detainees", None, Some("Exchange."), true),
            ]
        );
        assert!(compare(&a, &a).iter().all(|r| !r.changed && r.a == r.b));
    }

    #[test]
    fn a_comparison_is_asked_for_by_a_range_or_by_the_form() {
        assert_eq!(versions(None), Ok(None));
        assert_eq!(versions(Some("")), Ok(None));
        assert_eq!(versions(Some("diff=1..2")), Ok(Some((1, 2))));
        assert_eq!(versions(Some("diff=3..1")), Ok(Some((3, 1))));
        assert_eq!(versions(Some("from=1&to=3")), Ok(Some((1, 3))));
        for bad in [
            "diff=1",
            "diff=1..x",
            "diff=..2",
            "diff=-1..2",
            "from=1",
            "from=1&to=2&diff=1..2",
            "version=1",
            "to=99999999999",
        ] {
            assert!(versions(Some(bad)).is_err(), "{bad}");
        }
    }
}
