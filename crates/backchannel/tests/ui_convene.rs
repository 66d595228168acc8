//! Convening and the mediator's other set-up steps from the desk, through the binary against
//! a real hub: a case convened from the home page and followed live, a party invited from the
//! case page (the code shown once, to hand over) joining with the command line, an invite
//! revoked and refused at join, a party's desk without the invite form and its post refused;
//! the agreement tabled with a guarantor and an implementation plan (a bad plan refused with
//! the parser's sentence, changing nothing); an observer's requirement and deadline extensions
//! from the forms, each with a refusal.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::http::{Answer, Desk, percent, refused};
use common::{case_implementing, case_with_observer, identities, ok_json, plan, run, start_hub};

/// The command fails with the error code `code`.
fn cli_refused(home: &Path, args: &[&str], code: &str) {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = run(home, &full);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    let error: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], code, "{args:?}: {stderr}");
}

/// The text between `start` (its end) and the next `end` on `page`.
fn between(page: &str, start: &str, end: &str) -> String {
    let at = page.find(start).unwrap() + start.len();
    page[at..at + page[at..].find(end).unwrap()].to_owned()
}

/// The page at `path` once it shows `needle`, waiting up to `secs`: what a join changes is
/// heard at the mediator's next poll of its case (every 30 seconds), not pushed.
fn showing_within(desk: &Desk, path: &str, needle: &str, secs: u64) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let page = desk.get(path);
        assert_eq!(page.status, 200, "{}", page.body);
        if page.body.contains(needle) {
            return page;
        }
        assert!(Instant::now() < deadline, "never {needle:?}: {}", page.body);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_case_convened_from_the_desk_seats_a_party_invited_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let (pakistan, us, oman) = (
        dir.path().join("pakistan"),
        dir.path().join("us"),
        dir.path().join("oman"),
    );
    identities(&[
        (&pakistan, "Pakistan"),
        (&us, "United States"),
        (&oman, "Oman"),
    ]);
    let desk = Desk::open(&pakistan);
    let home = desk.get("/");
    assert!(home.body.contains("action=\"/cases\""), "{}", home.body);

    // A malformed form convenes nothing.
    let answer = desk.post("/cases", &format!("title=&hub={}", percent(&hub.url)));
    assert_eq!(refused(&answer), (400, "invalid_form".into()));
    let answer = desk.post("/cases", "title=Talks&hub=ftp%3A%2F%2Fhub");
    assert_eq!(refused(&answer), (400, "invalid_form".into()));
    assert!(desk.get("/").body.contains("No case yet"));

    let answer = desk.post(
        "/cases",
        &format!("title={}&hub={}", percent("Gulf talks"), percent(&hub.url)),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let location = answer.header("location").unwrap();
    let case = location.strip_prefix("/case/").unwrap().to_owned();
    assert_eq!(case.len(), 32, "{location}");
    let page = desk.get(&location);
    assert!(page.body.contains("<h1>Gulf talks</h1>"), "{}", page.body);
    assert!(page.body.contains("<td>Pakistan</td>"));
    assert!(desk.get("/").body.contains("Gulf talks"));

    // An invite for Washington's delegate, admitted at the next sync: its code shown once.
    let invites = format!("/case/{case}/invites");
    let answer = desk.post(
        &invites,
        &format!(
            "role=party&party={}&auto_admit=1&expires=7d",
            percent("United States")
        ),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let code = between(&answer.body, "id=\"invite-code\"", "</textarea>");
    let code = code.split('>').nth(1).unwrap().trim().to_owned();
    assert!(code.starts_with("bc1-"), "{}", answer.body);
    assert!(answer.body.contains("is a secret"), "{}", answer.body);
    assert!(answer.body.contains("out of band"));
    let page = desk.get(&location);
    assert!(!page.body.contains(&code), "the code is shown once only");
    assert!(page.body.contains("data-status=\"open\""), "{}", page.body);

    // Washington joins with the code from the page; the desk, following the case, admits it.
    ok_json(&us, &["case", "join", &code]);
    let page = showing_within(&desk, &location, "<td>United States</td>", 45);
    assert!(page.body.contains("data-status=\"spent\""), "{}", page.body);
    assert!(page.body.contains("spent: United States admitted"));

    // An observer's invite, revoked from the list, is refused at join.
    let answer = desk.post(&invites, "role=observer&expires=1d");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let oman_code = between(&answer.body, "id=\"invite-code\"", "</textarea>");
    let oman_code = oman_code.split('>').nth(1).unwrap().trim().to_owned();
    let page = desk.get(&location);
    let id = between(&page.body, "data-invite=\"", "\" data-status=\"open\"");
    let id = id.rsplit('"').next().unwrap().to_owned();
    assert_eq!(id.len(), 12, "{}", page.body);
    let answer = desk.post(&format!("{invites}/revoke"), &format!("id={id}"));
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = desk.get(&location);
    assert!(
        page.body
            .contains(&format!("data-invite=\"{id}\" data-status=\"revoked\"")),
        "{}",
        page.body
    );
    cli_refused(&oman, &["case", "join", &oman_code], "invite_revoked");
    // A code is not an id: the form names invites by id only.
    let answer = desk.post(
        &format!("{invites}/revoke"),
        &format!("id={}", percent(&code)),
    );
    assert_eq!(refused(&answer), (400, "invalid_form".into()));

    // Washington's desk has no invite form, and its post is refused, issuing nothing.
    let washington = Desk::open(&us);
    let page = washington.showing(&location, "<td>Pakistan</td>");
    assert!(!page.body.contains(&invites), "{}", page.body);
    let answer = washington.post(&invites, "role=observer&expires=7d");
    assert_eq!(refused(&answer), (403, "mediator_only".into()));
    let answer = washington.post(&format!("{invites}/revoke"), &format!("id={id}"));
    assert_eq!(refused(&answer), (403, "mediator_only".into()));
    let page = desk.get(&location);
    assert_eq!(
        page.body.matches("data-invite=\"").count(),
        2,
        "{}",
        page.body
    );
}

#[test]
fn the_agreement_is_tabled_with_a_guarantor_and_a_plan_and_requirements_registered() {
    let dir = tempfile::tempdir().unwrap();
    let (t, inspector) = case_with_observer(dir.path(), "Tabling");
    let case = &t.case;
    t.first_draft();

    // The Inspector registers a requirement from the issues page; one naming an option the
    // issue lacks is refused by the rules and registers nothing.
    let observer = Desk::open(&inspector);
    let issues = format!("/case/{case}/issues");
    let page = observer.showing(&issues, "/requirements");
    assert!(
        page.body.contains("form class=\"require\""),
        "{}",
        page.body
    );
    let require = format!("/case/{case}/requirements");
    let answer = observer.post(
        &require,
        &format!(
            "id=cap&kind=require_one_of&terms={}&rationale={}",
            percent("enrichment=no_such_option"),
            percent("verifiable limits")
        ),
    );
    assert_eq!(refused(&answer), (400, "invalid_act".into()));
    let answer = observer.post(
        &require,
        "id=cap&kind=forbid&terms=enrichment%3Dcap_3_67&then=sanctions%3Dphased_lift&rationale=x",
    );
    assert_eq!(refused(&answer), (400, "invalid_form".into()));
    assert!(!observer.get(&issues).body.contains("data-requirement="));
    let answer = observer.post(
        &require,
        &format!(
            "id=cap&kind=require_one_of&terms={}&rationale={}",
            percent("enrichment=cap_3_67"),
            percent("verifiable limits")
        ),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = observer.showing(&issues, "data-requirement=\"cap\"");
    assert!(
        page.body.contains("enrichment settles on cap_3_67"),
        "{}",
        page.body
    );

    // A party's desk has no requirement form.
    let washington = Desk::open(&t.us);
    let page = washington.showing(&issues, "data-requirement=\"cap\"");
    assert!(
        !page.body.contains("form class=\"require\""),
        "{}",
        page.body
    );
    drop(washington);

    // The mediator's agreement page names the Inspector as a possible guarantor.
    let desk = Desk::open(&t.mediator);
    let agreement = format!("/case/{case}/agreement");
    let page = desk.showing(&agreement, "name=\"guarantor\"");
    let inspector_key = ok_json(&inspector, &["id", "show"])["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        page.body.contains(&format!("value=\"{inspector_key}\"")),
        "{}",
        page.body
    );
    let table = format!("{agreement}/table");

    // A bad plan: the parser's sentence, and nothing tabled.
    let answer = desk.post(
        &table,
        &format!(
            "version=1&guarantor={inspector_key}&plan={}",
            percent("{\"format\": \"backchannel-plan/1\"}")
        ),
    );
    assert_eq!(refused(&answer), (400, "invalid_form".into()));
    assert!(
        answer.body.contains("the implementation plan is invalid"),
        "{}",
        answer.body
    );
    // A party's key is no guarantor.
    let us_key = ok_json(&t.us, &["id", "show"])["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = desk.post(&table, &format!("version=1&guarantor={us_key}"));
    assert_eq!(refused(&answer), (400, "invalid_form".into()));
    assert!(answer.body.contains("guarantors are observers"));
    assert!(
        desk.get(&agreement)
            .body
            .contains("No agreement is on the table")
    );

    // The plan and the guarantor: both on the agreement page, on every desk.
    let plan_json = std::fs::read_to_string(plan()).unwrap();
    let answer = desk.post(
        &table,
        &format!(
            "version=1&guarantor={inspector_key}&plan={}",
            percent(&plan_json)
        ),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.header("location").as_deref(),
        Some(agreement.as_str())
    );
    let page = desk.showing(&agreement, "Guarantors named");
    assert!(
        page.body
            .contains(&format!("data-guarantor=\"{inspector_key}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("data-plan-commitment=\"enrichment_cap\"")
    );
    assert!(page.body.contains("Verifiers: Inspector."));
    drop(desk);
    let tehran = Desk::open(&t.iran);
    let page = tehran.showing(&agreement, "data-plan-commitment=\"sanctions_relief\"");
    assert!(page.body.contains("Guarantors named"), "{}", page.body);
}

#[test]
fn deadline_extensions_are_consented_to_and_granted_from_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let (t, inspector) = case_implementing(dir.path(), "Tabling");
    let case = &t.case;
    let tracker = format!("/case/{case}/implementation");
    let extend = format!("{tracker}/extend");

    // The observer has no such form.
    let observer = Desk::open(&inspector);
    let page = observer.showing(&tracker, "Deadline extensions");
    assert!(
        !page.body.contains("/implementation/extend"),
        "{}",
        page.body
    );
    drop(observer);

    // The mediator cannot extend before the obligor consents: nothing moves.
    let desk = Desk::open(&t.mediator);
    let page = desk.showing(&tracker, "/implementation/extend");
    assert!(page.body.contains("Extend the deadline"), "{}", page.body);
    let answer = desk.post(&extend, "commitment=sanctions_relief&days=10");
    assert_eq!(refused(&answer), (400, "consent_missing".into()));
    let answer = desk.post(&extend, "commitment=sanctions_relief&days=0");
    assert_eq!(refused(&answer), (400, "invalid_form".into()));
    assert!(!desk.get(&tracker).body.contains("data-extended="));

    // Tehran is asked to consent to moving regional conduct only, not Washington's relief.
    let tehran = Desk::open(&t.iran);
    let page = tehran.showing(&tracker, "Consent to the extension");
    assert!(
        page.body.contains("<option value=\"regional_conduct\">"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<option value=\"sanctions_relief\">"));
    drop(tehran);

    // Washington consents from its desk; the mediator then extends.
    let washington = Desk::open(&t.us);
    let page = washington.showing(&tracker, "Consent to the extension");
    assert!(
        page.body.contains("<option value=\"sanctions_relief\">"),
        "{}",
        page.body
    );
    let answer = washington.post(&extend, "commitment=sanctions_relief&days=10");
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.header("location").as_deref(), Some(tracker.as_str()));
    desk.showing(&tracker, "data-extension-consent=\"sanctions_relief\"");
    let answer = desk.post(&extend, "commitment=sanctions_relief&days=10");
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = desk.showing(&tracker, "data-extended=\"sanctions_relief\"");
    assert!(page.body.contains("moved by 10 days"), "{}", page.body);
}
