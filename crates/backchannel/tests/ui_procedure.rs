//! The mediator's remaining procedure screens through the binary, against a real hub: the
//! issues defined from the mediator's form (and an offer tabled before them from terms typed
//! in), conveying (a paraphrase, and an original its author consented to) and non-papers, and
//! parallel declarations tabled and published. Each form's success, a refusal of each (shown
//! with its code, changing nothing), and that a party's page never holds the other party's
//! bilateral words.
#![allow(clippy::unwrap_used)]

mod common;

use common::http::{Desk, percent, refused};
use common::{ok_json, three_party_case};

/// Posts `form` to `path` on `desk` and expects the page `back` (a 303).
fn done(desk: &Desk, path: &str, form: &str, back: &str) {
    let answer = desk.post(path, form);
    assert_eq!(answer.status, 303, "{path} {form}: {}", answer.body);
    assert_eq!(answer.header("location").as_deref(), Some(back), "{path}");
}

/// Posts `form` to `path` on `desk` and expects the refusal `(status, code)` shown as one.
fn refusal(desk: &Desk, path: &str, form: &str, status: u16, code: &str) {
    let answer = desk.post(path, form);
    assert_eq!(refused(&answer), (status, code.to_owned()), "{path} {form}");
    assert!(answer.body.contains("class=\"error\""), "{}", answer.body);
}

/// The issues form's fields for one issue in row `n`.
fn issue_row(n: usize, id: &str, title: &str, options: &str) -> String {
    format!(
        "id.{n}={id}&title.{n}={}&options.{n}={}",
        percent(title),
        percent(options)
    )
}

#[test]
fn the_mediator_defines_the_issues_after_an_offer_was_tabled_from_typed_terms() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), "Issues");
    let case = &t.case;
    t.charter_in_force();
    let pakistan = Desk::open(&t.mediator);
    let washington = Desk::open(&t.us);
    let issues = format!("/case/{case}/issues");
    let offers = format!("/case/{case}/offers");

    // Before the issues: Washington tables an offer from terms typed in.
    let page = washington.showing(&offers, "name=\"promise\"");
    assert!(!page.body.contains("name=\"promise.sanctions\""));
    refusal(
        &washington,
        &offers,
        &format!("condition={}", percent("sanctions=full_lift")),
        400,
        "invalid_form",
    );
    refusal(
        &washington,
        &offers,
        &format!("promise={}", percent("sanctions=full lift")),
        400,
        "invalid_form",
    );
    washington.showing(&offers, "None yet.");
    done(
        &washington,
        &offers,
        &format!(
            "promise={}&condition={}",
            percent("sanctions=phased_lift"),
            percent("enrichment=cap,pause")
        ),
        &offers,
    );
    let page = washington.showing(&offers, "data-term=\"sanctions=phased_lift\"");
    assert!(page.body.contains("data-term=\"enrichment=cap,pause\""));

    // A party sees the issues page without its form, and is refused defining them.
    let page = washington.get(&issues);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("not defined the issues yet"));
    assert!(
        !page.body.contains("form class=\"issues\""),
        "{}",
        page.body
    );
    let two = format!(
        "{}&{}",
        issue_row(
            0,
            "sanctions",
            "Sanctions relief",
            "full_lift: Full lift\nphased_lift: Phased over a year"
        ),
        issue_row(1, "enrichment", "Enrichment", "cap: A cap at 3.67%\npause")
    );
    refusal(&washington, &issues, &two, 403, "mediator_only");

    // The mediator's form: a malformed option refused before anything is posted, then the
    // issues defined, and a second definition refused by the rules.
    let page = pakistan.get(&issues);
    assert!(page.body.contains("form class=\"issues\""), "{}", page.body);
    refusal(
        &pakistan,
        &issues,
        &issue_row(0, "sanctions", "Sanctions relief", "full lift"),
        400,
        "invalid_form",
    );
    refusal(
        &pakistan,
        &issues,
        &issue_row(0, "sanctions", "Sanctions relief", "a\na"),
        400,
        "invalid_act",
    );
    assert!(
        pakistan
            .get(&issues)
            .body
            .contains("not defined the issues yet")
    );
    done(&pakistan, &issues, &two, &issues);
    let page = pakistan.showing(&issues, "data-issue=\"enrichment\"");
    assert!(page.body.contains("Phased over a year"), "{}", page.body);
    assert!(
        !page.body.contains("form class=\"issues\""),
        "{}",
        page.body
    );
    refusal(
        &pakistan,
        &issues,
        &issue_row(0, "detainees", "Detainees", "none"),
        400,
        "conflict",
    );
    assert!(
        !pakistan
            .get(&issues)
            .body
            .contains("data-issue=\"detainees\"")
    );

    // On the public record: Washington reads them, and its offers form is built from them.
    washington.showing(&issues, "data-issue=\"sanctions\"");
    let page = washington.showing(&offers, "name=\"promise.sanctions\"");
    assert!(page.body.contains("value=\"phased_lift\""), "{}", page.body);

    // The default charter carries paraphrases only and allows no non-paper: the forms are not
    // shown, and the acts are refused by the rules.
    let conveying = format!("/case/{case}/conveying");
    let page = pakistan.get(&conveying);
    assert!(
        page.body.contains("does not allow non-papers"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("form class=\"non-paper\""));
    refusal(
        &pakistan,
        &format!("/case/{case}/nonpaper"),
        "text=A+proposal",
        400,
        "charter_forbids",
    );
    let page = washington.get(&conveying);
    assert!(!page.body.contains("form class=\"convey-consent\""));
}

#[test]
fn words_are_conveyed_and_a_non_paper_tabled_and_no_party_reads_the_others_channel() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), "Conveying");
    let case = &t.case;
    ok_json(
        &t.mediator,
        &[
            "charter",
            "propose",
            case,
            "--attribution",
            "original",
            "--non-papers",
        ],
    );
    ok_json(&t.us, &["charter", "accept", case]);
    ok_json(&t.iran, &["charter", "accept", case]);
    let consented = "Washington can phase sanctions relief over a year.";
    let kept = "Washington's floor is a cap at 3.67 percent.";
    let tehrans = "Tehran needs the relief before the cap.";
    let index = ok_json(
        &t.us,
        &[
            "send",
            case,
            "--channel",
            "united-states",
            "--text",
            consented,
        ],
    )["index"]
        .as_u64()
        .unwrap();
    ok_json(
        &t.us,
        &["send", case, "--channel", "united-states", "--text", kept],
    );
    ok_json(
        &t.iran,
        &["send", case, "--channel", "iran", "--text", tehrans],
    );

    let pakistan = Desk::open(&t.mediator);
    let washington = Desk::open(&t.us);
    let tehran = Desk::open(&t.iran);
    let conveying = format!("/case/{case}/conveying");
    let convey = format!("/case/{case}/convey");

    // The forms each desk is shown.
    let page = pakistan.showing(&format!("/case/{case}"), "/conveying");
    assert!(page.status == 200);
    let page = pakistan.get(&conveying);
    for form in ["form class=\"convey\"", "form class=\"non-paper\""] {
        assert!(page.body.contains(form), "{form}: {}", page.body);
    }
    assert!(page.body.contains("No consent to convey yet."));
    let page = washington.showing(&conveying, &format!("<option value=\"{index}\">"));
    assert!(page.body.contains("form class=\"convey-consent\""));
    for form in ["form class=\"convey\"", "form class=\"non-paper\""] {
        assert!(!page.body.contains(form), "{form}: {}", page.body);
    }
    assert!(!page.body.contains(tehrans));

    // Refused, changing nothing: a party conveying or tabling a non-paper, the original
    // conveyed before its author consented, a consent to an index that is not its message.
    let original = format!("from=united-states&to=iran&original={index}");
    refusal(
        &washington,
        &convey,
        "from=iran&to=united-states&text=x",
        403,
        "mediator_only",
    );
    refusal(
        &washington,
        &format!("/case/{case}/nonpaper"),
        "text=x",
        403,
        "mediator_only",
    );
    refusal(&pakistan, &convey, &original, 400, "consent_missing");
    refusal(
        &pakistan,
        &convey,
        "from=united-states&to=iran",
        400,
        "invalid_form",
    );
    refusal(
        &washington,
        &format!("{convey}/consent"),
        "index=999&to=iran",
        400,
        "invalid",
    );
    let page = tehran.get(&conveying);
    assert!(page.body.contains("Nothing yet."), "{}", page.body);
    assert!(!page.body.contains(consented) && !page.body.contains(kept));

    // The mediator's paraphrase, from Washington's channel to Tehran's.
    let paraphrase = "Washington hints at relief in phases.";
    done(
        &pakistan,
        &convey,
        &format!("from=united-states&to=iran&text={}", percent(paraphrase)),
        &conveying,
    );
    let page = tehran.showing(&conveying, paraphrase);
    assert!(page.body.contains("data-kind=\"conveyed\""));
    assert!(!page.body.contains(consented) && !page.body.contains(kept));

    // Washington consents to its first message's going to Tehran; the mediator conveys it.
    done(
        &washington,
        &format!("{convey}/consent"),
        &format!("index={index}&to=iran"),
        &conveying,
    );
    let page = pakistan.showing(&conveying, "data-conveyed=\"false\"");
    assert!(page.body.contains(consented), "{}", page.body);
    done(&pakistan, &convey, &original, &conveying);
    pakistan.showing(&conveying, "data-conveyed=\"true\"");
    let page = tehran.showing(&conveying, consented);
    assert!(!page.body.contains(kept), "{}", page.body);

    // A non-paper, in every party's channel.
    let non_paper = "A phased lifting of sanctions against a verified cap.";
    done(
        &pakistan,
        &format!("/case/{case}/nonpaper"),
        &format!("text={}", percent(non_paper)),
        &conveying,
    );
    for desk in [&washington, &tehran] {
        let page = desk.showing(&conveying, non_paper);
        assert!(page.body.contains("data-kind=\"non_paper\""));
    }
    // Neither party's pages hold the other's channel.
    let page = washington.get(&conveying);
    assert!(!page.body.contains(tehrans), "{}", page.body);
    let page = tehran.get(&conveying);
    assert!(!page.body.contains(kept), "{}", page.body);
}

#[test]
fn declarations_are_tabled_by_each_party_and_published_by_the_mediator() {
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), "Declarations");
    let case = &t.case;
    t.charter_in_force();
    let pakistan = Desk::open(&t.mediator);
    let washington = Desk::open(&t.us);
    let tehran = Desk::open(&t.iran);
    let declarations = format!("/case/{case}/declarations");
    let publish = format!("{declarations}/publish");
    let ours = "The United States will lift sanctions in phases.";
    let theirs = "Iran will keep enrichment under the cap.";

    // Who is shown what: the party its form, the mediator the button.
    let page = washington.get(&declarations);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("form class=\"declaration\""));
    assert!(!page.body.contains("form class=\"publish-declarations\""));
    let page = pakistan.get(&declarations);
    assert!(!page.body.contains("form class=\"declaration\""));
    assert!(page.body.contains("form class=\"publish-declarations\""));

    // Refused, changing nothing: published before every party tabled, the mediator tabling,
    // a party publishing, an empty declaration.
    refusal(&pakistan, &publish, "", 400, "signature_missing");
    refusal(&pakistan, &declarations, "text=x", 400, "party_only");
    refusal(&washington, &publish, "", 403, "mediator_only");
    refusal(&washington, &declarations, "text=+", 400, "invalid_form");
    assert!(
        pakistan
            .get(&declarations)
            .body
            .contains("data-published=\"false\"")
    );

    done(
        &washington,
        &declarations,
        &format!("text={}", percent(ours)),
        &declarations,
    );
    washington.showing(&declarations, ours);
    pakistan.showing(&declarations, ours);
    refusal(&pakistan, &publish, "", 400, "signature_missing");
    done(
        &tehran,
        &declarations,
        &format!("text={}", percent(theirs)),
        &declarations,
    );
    let page = tehran.showing(&declarations, theirs);
    assert!(!page.body.contains(ours), "{}", page.body);
    let page = washington.get(&declarations);
    assert!(!page.body.contains(theirs), "{}", page.body);

    pakistan.showing(&declarations, theirs);
    done(&pakistan, &publish, "", &declarations);
    for desk in [&pakistan, &washington, &tehran] {
        let page = desk.showing(&declarations, "data-published=\"true\"");
        assert!(page.body.contains(ours) && page.body.contains(theirs));
        assert!(!page.body.contains("form class=\"declaration\""));
    }
    refusal(&pakistan, &publish, "", 400, "conflict");
}
