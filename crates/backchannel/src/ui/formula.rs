//! The mediator's view of the formula engine over the positions sealed to it: the counts, the
//! Pareto frontier drawn as an SVG plot (made here, in Rust) with the Nash, Kalai–Smorodinsky
//! and egalitarian points, each party's reservation, and the current draft's point. Only the
//! mediator holds the positions, so only its page shows this; a party's page never does.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use backchannel_formula::{Package, Scenario, Solution, SolveOptions, solve, utility};
use maud::{Markup, html};

use super::Ui;
use super::pages::{Page, case_id, case_page, failed, refusal};

/// The plot's size and margin, in SVG units.
const SIZE: f64 = 420.0;
const MARGIN: f64 = 48.0;

/// The utilities the plot spans, `lo` to 1 on both axes, `lo` a tenth below what it shows.
#[derive(Clone, Copy)]
struct Axes {
    lo: f64,
}

impl Axes {
    fn spanning(utilities: impl Iterator<Item = f64>) -> Self {
        let least = utilities.fold(1.0_f64, f64::min);
        Self {
            lo: ((least * 10.0).floor() / 10.0 - 0.1).max(0.0),
        }
    }

    fn scale(self, u: f64) -> f64 {
        ((u - self.lo) / (1.0 - self.lo)).clamp(0.0, 1.0) * (SIZE - 2.0 * MARGIN)
    }

    /// A point of the plot: x the first party's utility, y the second's.
    fn at(self, u: &[f64]) -> (f64, f64) {
        let x = MARGIN + self.scale(u.first().copied().unwrap_or(0.0));
        let y = SIZE - MARGIN - self.scale(u.get(1).copied().unwrap_or(0.0));
        (x, y)
    }
}

/// The frontier of two parties as an SVG plot; more than two parties are listed, not drawn.
fn plot(scenario: &Scenario, solution: &Solution, draft: Option<&Package>) -> Markup {
    let parties = &solution.parties;
    let reservation = |i: usize| scenario.parties.get(i).map_or(0.0, |p| p.reservation);
    let draft_utilities: Option<Vec<f64>> = draft.map(|package| {
        (0..parties.len())
            .map(|i| utility(scenario, i, package))
            .collect()
    });
    let axes = Axes::spanning(
        solution
            .pareto
            .iter()
            .flat_map(|p| p.utilities.iter().copied())
            .chain((0..parties.len()).map(reservation))
            .chain(draft_utilities.iter().flatten().copied()),
    );
    let at = |u: &[f64]| axes.at(u);
    let mut frontier: Vec<(f64, f64)> = solution.pareto.iter().map(|p| at(&p.utilities)).collect();
    frontier.sort_by(|a, b| a.0.total_cmp(&b.0));
    let line: Vec<String> = frontier
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    let (rx, ry) = at(&[reservation(0), reservation(1)]);
    let fair = [
        ("Nash", &solution.nash, "nash"),
        ("Kalai–Smorodinsky", &solution.kalai_smorodinsky, "ks"),
        ("egalitarian", &solution.egalitarian, "egalitarian"),
    ];
    let draft_point = draft_utilities.map(|u| (at(&u), u));
    let low = MARGIN;
    let high = SIZE - MARGIN;
    html! {
        svg.frontier xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (SIZE) " " (SIZE)} role="img"
            aria-label="The Pareto frontier of the acceptable packages" {
            line.axis x1=(low) y1=(high) x2=(high) y2=(high) {}
            line.axis x1=(low) y1=(high) x2=(low) y2=(low) {}
            text x=(SIZE / 2.0) y=(SIZE - 12.0) text-anchor="middle" { (parties.first().map_or("", String::as_str)) " utility" }
            text x="14" y=(SIZE / 2.0) text-anchor="middle" transform={"rotate(-90 14 " (SIZE / 2.0) ")"} { (parties.get(1).map_or("", String::as_str)) " utility" }
            text x=(low) y=(high + 16.0) text-anchor="middle" { (format!("{:.1}", axes.lo)) }
            text x=(high) y=(high + 16.0) text-anchor="middle" { "1" }
            text x=(low - 10.0) y=(low + 4.0) text-anchor="end" { "1" }
            line.reservation x1=(rx) y1=(high) x2=(rx) y2=(low) {}
            line.reservation x1=(low) y1=(ry) x2=(high) y2=(ry) {}
            polyline.frontier-line points=(line.join(" ")) {}
            @for (x, y) in &frontier {
                circle.frontier-point cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" {}
            }
            @for (name, point, class) in fair {
                @if let Some(point) = point {
                    @let (x, y) = at(&point.utilities);
                    circle class={"fair " (class)} cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="6" { title { (name) } }
                }
            }
            @if let Some(((x, y), _)) = &draft_point {
                rect.draft-point x=(format!("{:.1}", x - 5.0)) y=(format!("{:.1}", y - 5.0)) width="10" height="10" { title { "the current draft" } }
            }
        }
        ul.legend {
            li { span.key.frontier-point {} "the Pareto frontier (" (solution.pareto.len()) " points)" }
            @for (name, point, class) in fair {
                @if let Some(point) = point {
                    li { span class={"key fair " (class)} {} (name) ": " (utilities(parties, &point.utilities)) }
                }
            }
            @if let Some((_, u)) = &draft_point {
                li { span.key.draft-point {} "the current draft: " (utilities(parties, u)) }
            }
            li { span.key.reservation {} "reservations: " (utilities(parties, &(0..parties.len()).map(reservation).collect::<Vec<_>>())) }
        }
    }
}

fn utilities(parties: &[String], u: &[f64]) -> String {
    parties
        .iter()
        .zip(u)
        .map(|(p, u)| format!("{p} {u:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /case/{case}/formula`: the mediator's only.
pub(super) async fn formula(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let show = client.show(case).map_err(failed)?;
    if show.my_role != "mediator" {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "mediator_only",
            "only the mediator holds the sealed positions the engine works on",
        ));
    }
    let scenario = client.held_scenario(case).map_err(failed)?;
    let solution = solve(&scenario, &SolveOptions::default());
    let state = client.state(case).map_err(failed)?;
    let draft = state
        .procedure
        .drafts
        .values()
        .filter_map(|d| d.last())
        .max_by_key(|d| d.version)
        .map(|d| d.package());
    let count = |c: Option<backchannel_formula::Count>| {
        c.map_or_else(|| "too many to count".to_owned(), |c| c.to_string())
    };
    Ok(case_page(
        &ui,
        &client,
        &show,
        "The formula",
        "formula",
        "The formula over the sealed positions",
        html! {
            table.counts {
                tr { th { "packages" } td { (solution.packages_total) } }
                tr { th { "within every red line" } td { (solution.within_red_lines) } }
                tr { th { "meeting every requirement" } td { (solution.meeting_requirements) } }
                tr { th { "acceptable to every party" } td { (count(solution.acceptable)) } }
            }
            @if solution.parties.len() == 2 {
                (plot(&scenario, &solution, draft.as_ref()))
            } @else {
                p.quiet { "The plot draws two parties; this case has " (solution.parties.len()) "." }
            }
        },
    ))
}
