//! The desk's tasks through the binary, against a real hub: a joiner admitted from the
//! mediator's page in one click (a second click refused with `no_pending_joiner`, a party's
//! click with `mediator_only`), and implementation acted on from the tracker's forms
//! (progress reported by an obligor, attested by the verifier the plan names, a dispute opened
//! by an observer and resolved by the mediator), each refused act shown with its code and
//! changing nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::http::{Desk, percent, refused};
use common::{case_implementing, identities, ok_json, three_party_case};

/// The value of the first `attribute="…"` on `page` after `from`.
fn attribute_after(page: &str, from: &str, attribute: &str) -> String {
    let at = page.find(from).unwrap();
    let needle = format!("{attribute}=\"");
    let start = page[at..].find(&needle).unwrap() + at + needle.len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].to_owned()
}

#[test]
fn a_joiner_waits_on_the_mediators_desk_and_is_admitted_in_one_click() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), "Admission");
    let case = &t.case;
    // Oman joins as an observer with an invite that waits for the mediator.
    let oman = dir.path().join("oman");
    identities(&[(&oman, "Oman")]);
    let code = ok_json(&t.mediator, &["case", "invite", case, "--role", "observer"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_json(&oman, &["case", "join", &code]);
    let fingerprint = ok_json(&oman, &["id", "show"])["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();

    let pakistan = Desk::open(&t.mediator);
    let page = pakistan.showing(&format!("/case/{case}"), "data-pending=\"");
    let key = attribute_after(&page.body, "data-pending=", "data-pending");
    assert_eq!(key.len(), 64, "{}", page.body);
    assert!(page.body.contains("<strong>Oman</strong> as observer"));
    assert!(page.body.contains(&fingerprint), "{}", page.body);
    assert!(!page.body.contains("Nothing is waiting for you here"));
    // The home page's list of what is waiting has it too.
    let home = pakistan.showing("/", &format!("data-pending=\"{key}\""));
    assert!(home.body.contains("/admit"));

    // A party's desk has no such list, and its click is refused.
    let washington = Desk::open(&t.us);
    let us_page = washington.get(&format!("/case/{case}"));
    assert!(!us_page.body.contains("data-pending"), "{}", us_page.body);
    let admit = format!("/case/{case}/admit");
    let answer = washington.post(&admit, &format!("key={key}"));
    assert_eq!(refused(&answer), (403, "mediator_only".into()));
    // A malformed key is refused before anything is tried.
    let answer = pakistan.post(&admit, "key=abcd");
    assert_eq!(refused(&answer), (400, "invalid_form".into()));
    let page = pakistan.get(&format!("/case/{case}"));
    assert!(page.body.contains(&format!("data-pending=\"{key}\"")));
    assert!(
        !page.body.contains("<td>Oman</td>"),
        "admitted by a refusal"
    );

    // One click admits Oman; it leaves the list and sits among the participants.
    let answer = pakistan.post(&admit, &format!("key={key}&back=%2F"));
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.header("location").as_deref(), Some("/"));
    let page = pakistan.showing(&format!("/case/{case}"), "<td>Oman</td>");
    assert!(!page.body.contains("data-pending"), "{}", page.body);
    // Washington's copy sees the admission on the public record.
    washington.showing(&format!("/case/{case}"), "<td>Oman</td>");

    // A second click finds nobody waiting.
    let answer = pakistan.post(&admit, &format!("key={key}"));
    assert_eq!(refused(&answer), (400, "no_pending_joiner".into()));
    assert!(answer.body.contains("nobody waiting"), "{}", answer.body);
}

/// A commitment's row attribute (`data-status`, `data-reported`, `data-attested`) on the
/// tracker, `None` where the row has none.
fn row(page: &str, commitment: &str, attribute: &str) -> Option<String> {
    let at = page
        .find(&format!("data-commitment=\"{commitment}\""))
        .unwrap();
    let end = page[at..].find('>').unwrap() + at;
    let tag = &page[at..end];
    let needle = format!("{attribute}=\"");
    let start = tag.find(&needle)? + needle.len();
    Some(tag[start..start + tag[start..].find('"').unwrap()].to_owned())
}

#[test]
fn implementation_is_reported_attested_and_disputed_from_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let (t, inspector) = case_implementing(dir.path(), "Implementation");
    let case = &t.case;
    let tracker = format!("/case/{case}/implementation");

    // Tehran's desk: a report form for its own commitments only, and no attestation.
    let tehran = Desk::open(&t.iran);
    let page = tehran.showing(&tracker, "/implementation/report");
    assert!(page.body.contains("<option value=\"enrichment_cap\">"));
    assert!(!page.body.contains("<option value=\"sanctions_relief\">"));
    assert!(!page.body.contains("/implementation/attest"));
    assert!(page.body.contains("/implementation/dispute"));

    let report = format!("{tracker}/report");
    let answer = tehran.post(
        &report,
        &format!(
            "commitment=enrichment_cap&status=2&note={}",
            percent("cascades reconfigured")
        ),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.header("location").as_deref(), Some(tracker.as_str()));
    let page = tehran.showing(&tracker, "data-reported=\"2\"");
    assert_eq!(
        row(&page.body, "enrichment_cap", "data-status").unwrap(),
        "2"
    );

    // Washington's commitment is not Tehran's to report: refused by the rules, nothing kept.
    let answer = tehran.post(&report, "commitment=sanctions_relief&status=3");
    assert_eq!(refused(&answer), (400, "not_obligor".into()));
    let answer = tehran.post(&report, "commitment=enrichment_cap&status=7");
    assert_eq!(refused(&answer), (400, "invalid_form".into()));
    let page = tehran.get(&tracker);
    assert_eq!(row(&page.body, "sanctions_relief", "data-reported"), None);
    assert_eq!(
        row(&page.body, "enrichment_cap", "data-reported").unwrap(),
        "2"
    );

    // The Inspector's desk: the attestation form for what the plan names it to verify.
    let inspector = Desk::open(&inspector);
    let page = inspector.showing(&tracker, "data-reported=\"2\"");
    assert!(
        page.body.contains("/implementation/attest"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("/implementation/report"));
    assert!(!page.body.contains("<option value=\"sanctions_relief\">"));
    let attest = format!("{tracker}/attest");
    for commitment in ["enrichment_cap", "stockpile"] {
        let answer = inspector.post(
            &attest,
            &format!(
                "commitment={commitment}&status=3&evidence={}",
                percent("inspection report 1")
            ),
        );
        assert_eq!(answer.status, 303, "{}", answer.body);
    }
    let page = inspector.showing(
        &tracker,
        "data-milestone=\"implementation\" data-reached=\"true\"",
    );
    assert_eq!(
        row(&page.body, "enrichment_cap", "data-status").unwrap(),
        "3"
    );
    assert_eq!(
        row(&page.body, "enrichment_cap", "data-attested").unwrap(),
        "3"
    );
    // Reported 2, attested 3: marked.
    let at = page
        .body
        .find("data-commitment=\"enrichment_cap\"")
        .unwrap();
    assert!(page.body[at..at + 200].contains("discrepancy"));
    // Tehran's desk hears of it live.
    tehran.showing(&tracker, "data-attested=\"3\"");

    // The Inspector opens a dispute; Tehran may not escalate it before its stage is over.
    let answer = inspector.post(
        &format!("{tracker}/dispute"),
        &format!(
            "commitment=regional_conduct&complaint={}",
            percent("interference in our internal affairs")
        ),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = tehran.showing(
        &tracker,
        "data-dispute=\"1\" data-stage=\"joint_commission\"",
    );
    assert!(page.body.contains("value=\"escalate\""), "{}", page.body);
    assert!(!page.body.contains("value=\"resolve\""));
    let answer = tehran.post(
        &format!("{tracker}/dispute/step"),
        "what=escalate&dispute=1",
    );
    assert_eq!(refused(&answer), (400, "stage_not_over".into()));
    let page = tehran.get(&tracker);
    assert!(
        page.body
            .contains("data-dispute=\"1\" data-stage=\"joint_commission\"")
    );

    // The mediator records the resolution from its desk, which has no report form.
    let pakistan = Desk::open(&t.mediator);
    let page = pakistan.showing(&tracker, "value=\"resolve\"");
    assert!(!page.body.contains("/implementation/report"));
    assert!(!page.body.contains("/implementation/dispute\""));
    let answer = pakistan.post(
        &format!("{tracker}/dispute/step"),
        &format!(
            "what=resolve&dispute=1&text={}",
            percent("assurances exchanged before the ministers")
        ),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = tehran.showing(&tracker, "data-dispute=\"1\" data-stage=\"resolved\"");
    assert!(
        page.body
            .contains("assurances exchanged before the ministers")
    );
    assert!(!page.body.contains("value=\"escalate\""));
}
