//! The UI's procedure screens through the binary, against a real hub: conditional offers
//! (tabled, withdrawn and matched from the desks, another party's unmatched offer never on a
//! party's page), direct talks proposed, consented to and opened (refused with
//! `consent_missing` until every party consented), two drafts compared side by side, and the
//! case's fingerprint and export. Each refused request is checked to have changed nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::http::{Desk, refused};
use common::{case_with_issues, ok_json, three_party_case};

/// The commitment of the first offer on `page` that shows `term`.
fn commitment_showing(page: &str, term: &str) -> String {
    let at = page.find(term).unwrap();
    let start = page[..at].rfind("data-commitment=\"").unwrap() + "data-commitment=\"".len();
    page[start..start + 64].to_owned()
}

#[test]
fn offers_are_tabled_withdrawn_and_matched_and_a_party_never_sees_the_others_unmatched_offer() {
    let dir = tempfile::tempdir().unwrap();
    let t = case_with_issues(dir.path(), "Offers");
    let case = &t.case;
    // Tehran's offers, by command: one Washington's will match, one nobody's will.
    ok_json(
        &t.iran,
        &[
            "offer",
            "table",
            case,
            "--promise",
            "enrichment=cap_3_67",
            "--condition",
            "sanctions=full_lift,phased_lift",
        ],
    );
    let unmatched = ok_json(
        &t.iran,
        &[
            "offer",
            "table",
            case,
            "--promise",
            "detainees=full_exchange",
            "--condition",
            "regional=none",
        ],
    )["commitment"]
        .as_str()
        .unwrap()
        .to_owned();
    // What would give Tehran's terms away on a page.
    let secret = [
        "data-term=\"detainees=full_exchange\"",
        "data-term=\"regional=none\"",
    ];
    let tehrans_condition = "data-term=\"sanctions=full_lift,phased_lift\"";

    let us = Desk::open(&t.us);
    let offers = format!("/case/{case}/offers");
    let page = us.showing(&offers, &format!("data-commitment=\"{unmatched}\""));
    assert!(
        page.body.contains("name=\"promise.sanctions\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("None yet."), "{}", page.body);
    for needle in secret.iter().chain([&tehrans_condition]) {
        assert!(!page.body.contains(needle), "{needle}: {}", page.body);
    }

    // Refused: an option the issue does not have, an offer that promises nothing, Tehran's
    // offer withdrawn by Washington, the mediator's button. Nothing changes.
    for (path, form, status, code) in [
        (
            offers.clone(),
            "promise.sanctions=free_lunch&condition.enrichment=cap_3_67",
            400,
            "invalid_form",
        ),
        (
            offers.clone(),
            "condition.enrichment=cap_3_67",
            400,
            "invalid_form",
        ),
        (
            format!("{offers}/withdraw"),
            &format!("commitment={unmatched}")[..],
            400,
            "unknown_reference",
        ),
        (
            format!("{offers}/withdraw"),
            "commitment=not-hex",
            400,
            "invalid_form",
        ),
        (format!("{offers}/match"), "", 403, "mediator_only"),
    ] {
        let answer = us.post(&path, form);
        assert_eq!(refused(&answer), (status, code.to_owned()), "{path} {form}");
        assert!(answer.body.contains("class=\"error\""), "{}", answer.body);
    }
    let page = us.get(&offers);
    assert!(page.body.contains("None yet."), "{}", page.body);

    // Two offers from the form; the second withdrawn, then refused a second withdrawal.
    let answer = us.post(
        &offers,
        "promise.sanctions=phased_lift&condition.enrichment=pause_3y&condition.enrichment=cap_3_67",
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.header("location").as_deref(), Some(offers.as_str()));
    let answer = us.post(
        &offers,
        "promise.shipping=guarantee_only&condition.timeline=12m",
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = us.showing(&offers, "data-term=\"shipping=guarantee_only\"");
    assert!(
        page.body
            .contains("data-term=\"enrichment=pause_3y,cap_3_67\""),
        "{}",
        page.body
    );
    let second = commitment_showing(&page.body, "data-term=\"shipping=guarantee_only\"");
    let answer = us.post(
        &format!("{offers}/withdraw"),
        &format!("commitment={second}"),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    us.showing(
        &offers,
        &format!("data-commitment=\"{second}\" data-status=\"withdrawn\""),
    );
    let answer = us.post(
        &format!("{offers}/withdraw"),
        &format!("commitment={second}"),
    );
    assert_eq!(refused(&answer), (400, "conflict".to_owned()));

    // The mediator holds every offer's terms and opens the pair that matches.
    let mediator = Desk::open(&t.mediator);
    let page = mediator.showing(&offers, "data-term=\"sanctions=phased_lift\"");
    assert!(page.body.contains(secret[0]), "{}", page.body);
    assert!(
        page.body
            .contains("<tr data-party=\"Iran\"><td>Iran</td><td>2</td><td>0</td><td>0</td></tr>"),
        "{}",
        page.body
    );
    let answer = mediator.post(&format!("{offers}/match"), "");
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = mediator.showing(&offers, "class=\"pair\"");
    assert!(
        page.body
            .contains("<tr data-party=\"Iran\"><td>Iran</td><td>1</td><td>0</td><td>1</td></tr>"),
        "{}",
        page.body
    );

    // Washington's desk: the pair opened, Tehran's side of it shown; the unmatched offer a
    // commitment and a status, its terms nowhere.
    let page = us.showing(&offers, tehrans_condition);
    assert!(page.body.contains("class=\"pair\""), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("data-commitment=\"{unmatched}\"")),
        "{}",
        page.body
    );
    for needle in secret {
        assert!(!page.body.contains(needle), "{needle}: {}", page.body);
    }
    drop(us);
    let listed = ok_json(&t.us, &["offer", "list", case]);
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");
    assert!(!listed.to_string().contains("detainees"), "{listed}");
}

#[test]
fn direct_talks_open_from_the_desks_only_once_every_party_consented() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), "Direct");
    t.charter_in_force();
    let case = &t.case;
    let case_page = format!("/case/{case}");
    let (propose, open) = (
        format!("/case/{case}/direct"),
        format!("/case/{case}/direct/open"),
    );
    let mediator = Desk::open(&t.mediator);
    mediator.showing(&case_page, "Propose direct talks");
    let answer = mediator.post(&propose, "channel=Not+a+name");
    assert_eq!(refused(&answer), (400, "invalid_form".to_owned()));
    let answer = mediator.post(&propose, "channel=direct");
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.header("location").as_deref(),
        Some(case_page.as_str())
    );
    mediator.showing(&case_page, "data-direct=\"direct\" data-opened=\"false\"");
    // Proposed again: the rules refuse it by name.
    let answer = mediator.post(&propose, "channel=direct");
    assert_eq!(refused(&answer), (400, "channel_exists".to_owned()));

    // Opened with no consent: refused, the rules' sentence on the page, nothing opened.
    let answer = mediator.post(&open, "channel=direct");
    assert_eq!(refused(&answer), (400, "consent_missing".to_owned()));
    assert!(answer.body.contains("class=\"error\""), "{}", answer.body);

    // Washington consents from its desk, in one click; a party neither proposes nor opens.
    let us = Desk::open(&t.us);
    us.showing(&case_page, "data-task=\"consent_direct_talks\"");
    let answer = us.post(
        &format!("/case/{case}/act"),
        &format!("what=consent_direct_talks&on=direct&back=%2Fcase%2F{case}"),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    for path in [&propose, &open] {
        let answer = us.post(path, "channel=direct");
        assert_eq!(
            refused(&answer),
            (403, "mediator_only".to_owned()),
            "{path}"
        );
    }
    mediator.showing(&case_page, "consented: United States; awaiting Iran.");
    let answer = mediator.post(&open, "channel=direct");
    assert_eq!(refused(&answer), (400, "consent_missing".to_owned()));
    let page = mediator.get(&case_page);
    assert!(
        !page
            .body
            .contains(&format!("/case/{case}/channel/direct\"")),
        "{}",
        page.body
    );

    // Tehran consents by command; then the mediator opens the talks.
    ok_json(&t.iran, &["direct", "consent", case]);
    mediator.showing(&case_page, "consented: Iran, United States.");
    let answer = mediator.post(&open, "channel=direct");
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = mediator.showing(&case_page, "data-opened=\"true\"");
    assert!(
        page.body.contains("<li class=\"current\">direct</li>"),
        "{}",
        page.body
    );
    // Washington's desk reads the new channel.
    us.showing(&case_page, &format!("/case/{case}/channel/direct\""));
}

#[test]
fn two_drafts_are_compared_clause_by_clause() {
    let dir = tempfile::tempdir().unwrap();
    let t = case_with_issues(dir.path(), "Drafts");
    let case = &t.case;
    for args in [
        &[
            "--package",
            "enrichment=pause_3y,sanctions=full_lift,regional=none",
        ][..],
        &["--amend", "1", "--package", "sanctions=phased_lift"][..],
        &["--amend", "2", "--package", "detainees=full_exchange"][..],
    ] {
        let mut full = vec!["draft", "issue", case];
        full.extend_from_slice(args);
        ok_json(&t.mediator, &full);
    }
    let us = Desk::open(&t.us);
    let drafts = format!("/case/{case}/drafts");
    let page = us.showing(&drafts, "data-version=\"3\"");
    assert!(
        page.body.contains("<select name=\"from\">"),
        "{}",
        page.body
    );

    let page = us.get(&format!("{drafts}?diff=1..3"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-changed=\"2\""), "{}", page.body);
    for (clause, changed) in [
        ("enrichment", false),
        ("sanctions", true),
        ("regional", false),
        ("detainees", true),
    ] {
        let row = if changed {
            format!("<tr data-clause=\"{clause}\" class=\"changed\">")
        } else {
            format!("<tr data-clause=\"{clause}\">")
        };
        assert!(page.body.contains(&row), "{row}: {}", page.body);
    }
    assert!(page.body.contains("(not in this version)"), "{}", page.body);
    // The form's way of asking, the same comparison.
    let by_form = us.get(&format!("{drafts}?from=1&to=3"));
    assert!(
        by_form.body.contains("data-changed=\"2\""),
        "{}",
        by_form.body
    );
    let page = us.get(&format!("{drafts}?diff=2..3"));
    assert!(page.body.contains("data-changed=\"1\""), "{}", page.body);

    for (query, status, code) in [
        ("diff=1..9", 404, "unknown_reference"),
        ("diff=one..two", 400, "invalid_form"),
        ("from=1", 400, "invalid_form"),
    ] {
        let answer = us.get(&format!("{drafts}?{query}"));
        assert_eq!(refused(&answer), (status, code.to_owned()), "{query}");
    }
}

#[test]
fn the_case_page_shows_the_fingerprint_and_exports_a_record_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), "Record");
    let case = &t.case;
    // A word in Washington's own channel: in its full record, not in the public one.
    ok_json(
        &t.us,
        &[
            "send",
            case,
            "--channel",
            "united-states",
            "--text",
            "for Pakistan",
        ],
    );
    ok_json(&t.mediator, &["sync", case]);
    let fingerprint = ok_json(&t.mediator, &["case", "fingerprint", case]);
    let code = fingerprint["code"].as_str().unwrap();
    let index = fingerprint["index"].as_u64().unwrap();

    let us = Desk::open(&t.us);
    let page = us.showing(&format!("/case/{case}"), code);
    assert!(
        page.body.contains(&format!("data-index=\"{index}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("href=\"/case/{case}/export\"")),
        "{}",
        page.body
    );

    let export = us.get(&format!("/case/{case}/export"));
    assert_eq!(export.status, 200, "{}", export.body);
    assert_eq!(
        export.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        export.header("content-disposition"),
        Some(format!(
            "attachment; filename=\"backchannel-{case}-public.json\""
        ))
    );
    let record: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(record["case"], case.as_str());
    assert_eq!(record["acts"].as_array().unwrap().len() as u64, index);
    // Anyone verifies it offline, with no hub and no home.
    let file = dir.path().join("record.json");
    std::fs::write(&file, &export.body).unwrap();
    let out = common::bin()
        .args(["--json", "verify"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verified["verified"], true, "{verified}");

    let all = us.get(&format!("/case/{case}/export?all=1"));
    assert_eq!(all.status, 200, "{}", all.body);
    let all: serde_json::Value = serde_json::from_str(&all.body).unwrap();
    assert!(
        all["acts"].as_array().unwrap().len() as u64 > index,
        "{all}"
    );
    let answer = us.get(&format!("/case/{case}/export?all=yes"));
    assert_eq!(refused(&answer), (400, "invalid_form".to_owned()));
}
