//! A position that can never be met is named when it is sealed: red lines forbidding every
//! option of an issue, or a reservation above the best its red lines allow.
#![allow(clippy::unwrap_used)]

use backchannel_formula::Scenario;

#[test]
fn an_unmeetable_position_is_explained_by_name() {
    let s = Scenario::from_json_str(include_str!("../scenarios/us-iran.json")).unwrap();
    let party = s.parties[0].clone();
    assert!(
        s.infeasibility(&party).is_empty(),
        "the seed's positions can be met"
    );

    let issue = &s.issues[0];
    let mut walled = party.clone();
    walled.red_lines.insert(
        issue.id.clone(),
        issue.options.iter().map(|o| o.id.clone()).collect(),
    );
    let why = s.infeasibility(&walled);
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(why[0].contains(&format!("{:?}", issue.id)) && why[0].contains(&party.name));

    // Every option scored 0.5, weights summing to 1: the best reachable is 0.5.
    let mut greedy = party;
    for scores in greedy.scores.values_mut() {
        scores.values_mut().for_each(|v| *v = 0.5);
    }
    greedy.reservation = 0.9;
    let why = s.infeasibility(&greedy);
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(
        why[0].contains("reservation") && why[0].contains("0.500"),
        "{why:?}"
    );
}
