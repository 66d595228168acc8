//! The UI in a real browser: Debian's `chromium`, headless, driven through `chromedriver`.
//! Three desks (the mediator and two parties), each its own `backchannel ui` process on its
//! own home, against a real hub. What each page shows is asserted, a party's page never holds
//! the other party's channel, a message is sent from the composer and appears live in the
//! mediator's open page (the delay is printed: from the act's signature to the page's update),
//! and a half-written message survives a live update. The screenshots in docs/ui.md are taken
//! here (`UPDATE_SCREENSHOTS=1` writes them into docs/ui/).
//!
//! Where the machine has no browser the test says so and passes, unless
//! `BACKCHANNEL_REQUIRE_BROWSER` is set (`.ci/run` sets it, after installing both).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::webdriver::{Driver, Session, available};
use common::{ok_json, start_ui, three_party_case};

const TITLE: &str = "Restoring a diplomatic track";

/// Waits until `check` holds, or fails after 20 s saying `what`.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn screenshot(session: &Session, name: &str) {
    let png = session.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots")];
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui"));
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    }
}

/// A browser driver, or `None` (after saying why) where the machine has no browser and the
/// test is not required to run.
fn browser() -> Option<Driver> {
    match available() {
        Ok((driver, browser)) => Some(Driver::start(&driver, &browser)),
        Err(why) => {
            assert!(
                std::env::var_os("BACKCHANNEL_REQUIRE_BROWSER").is_none(),
                "the browser test must run here: {why}"
            );
            eprintln!("skipped: {why} (apt-get install chromium chromium-driver)");
            None
        }
    }
}

/// A browser window per desk, each logged in with its desk's one-time link.
fn logged_in(driver: &Driver, desks: &[common::Ui]) -> Vec<Session> {
    desks
        .iter()
        .map(|ui| {
            let session = driver.session();
            session.go(&format!("http://{}/login?token={}", ui.addr, ui.token));
            session
        })
        .collect()
}

#[test]
fn three_desks_in_a_real_browser() {
    let Some(driver) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), TITLE);
    let case = t.case.clone();
    let secret = "Tehran will not accept preconditions before the talks begin.";
    ok_json(
        &t.iran,
        &["send", &case, "--channel", "iran", "--text", secret],
    );
    ok_json(
        &t.mediator,
        &[
            "send",
            &case,
            "--channel",
            "public",
            "--text",
            "Pakistan is facilitating contacts between the United States and Iran.",
        ],
    );

    let desks = [start_ui(&t.mediator), start_ui(&t.us), start_ui(&t.iran)];
    let sessions = logged_in(&driver, &desks);
    let [pakistan, us, iran] = [&sessions[0], &sessions[1], &sessions[2]];
    let url = |i: usize, path: &str| format!("http://{}{path}", desks[i].addr);

    // Every desk lists the case; each says who it is.
    for (session, name) in [
        (pakistan, "Pakistan"),
        (us, "United States"),
        (iran, "Iran"),
    ] {
        let main = session.text("main");
        assert!(main.contains(TITLE), "{name}: {main}");
        assert!(
            main.contains(&format!("Your cases, {name}")),
            "{name}: {main}"
        );
    }
    screenshot(pakistan, "home");

    // The case page: the phase ladder, the channels, the participants and their fingerprints.
    pakistan.go(&url(0, &format!("/case/{case}")));
    let main = pakistan.text("main");
    for needle in [
        "proximity",
        "united-states",
        "iran",
        "public",
        "Participants",
    ] {
        assert!(main.contains(needle), "{needle}: {main}");
    }
    screenshot(pakistan, "case");
    us.go(&url(1, &format!("/case/{case}")));
    assert!(!us.source().contains(secret));

    // The charter, proposed from the mediator's desk and accepted from each party's; then an
    // agenda item Washington proposes as its demand, adopted with Tehran's consent.
    let charter = |i: usize| url(i, &format!("/case/{case}/charter"));
    pakistan.go(&charter(0));
    pakistan.click("form.charter button");
    for (session, desk) in [(us, 1), (iran, 2)] {
        eventually("the party is asked to accept the charter", || {
            session.go(&charter(desk));
            session.source().contains("data-task=\"accept_charter\"")
        });
        session.click("li[data-task='accept_charter'] button");
    }
    us.go(&charter(1));
    us.type_into("#title", "Regional conduct; threats to bases");
    us.click("form.agenda input[name='demand']");
    us.click("form.agenda button");
    eventually("Tehran is asked to consent", || {
        iran.go(&charter(2));
        iran.source().contains("data-task=\"consent_agenda\"")
    });
    iran.click("li[data-task='consent_agenda'] button");
    eventually("the item is adopted on the mediator's desk", || {
        pakistan.go(&charter(0));
        pakistan.source().contains("data-adopted=\"true\"")
    });
    let accepted = pakistan.text(".charter");
    assert!(
        accepted.contains("Iran") && accepted.contains("United States"),
        "{accepted}"
    );
    screenshot(pakistan, "charter");

    // The mediator and Washington open their channel; Tehran its own.
    let us_channel = format!("/case/{case}/channel/united-states");
    pakistan.go(&url(0, &us_channel));
    us.go(&url(1, &us_channel));
    iran.go(&url(2, &format!("/case/{case}/channel/iran")));
    assert!(iran.text("#log").contains(secret));
    assert!(pakistan.text("#log").is_empty() || !pakistan.text("#log").contains(secret));

    // A half-written message on the mediator's desk.
    pakistan.type_into("#text", "draft not yet sent");

    // Washington writes from its composer; the mediator's open page shows it, live.
    let said = "Washington will listen to Iranian proposals if Tehran shows a change in regional behaviour.";
    us.type_into("#text", said);
    us.click(".composer button");
    eventually("the sender's page shows its message", || {
        us.text("#log").contains(said)
    });
    eventually("the mediator's open page shows the message", || {
        pakistan.text("#log").contains(said)
    });
    let delay = pakistan.run(&format!(
        "const act = [...document.querySelectorAll('#log li')].find(li => li.innerText.includes({}));
         return Number(document.body.dataset.updatedAt) - Number(act.dataset.atMs);",
        serde_json::Value::String(said.to_owned())
    ));
    eprintln!(
        "live update: the mediator's open page showed the message {} ms after Washington signed it",
        delay
    );
    assert_eq!(
        pakistan.run("return document.querySelector('#text').value;"),
        "draft not yet sent",
        "a live update kept the half-written message"
    );
    screenshot(pakistan, "channel");

    // Tehran's desk never holds Washington's words, and cannot open its channel.
    assert!(!iran.source().contains(said));
    iran.go(&url(2, &us_channel));
    let refused = iran.text("main");
    assert!(refused.contains("not_channel_member"), "{refused}");
    assert!(!iran.source().contains(said));
}

/// Draft 1, issued by the engine from the sealed positions, answered clause by clause from
/// each party's desk: Washington accepts every clause, Tehran objects to one with a reason;
/// the mediator's open drafts page shows both answers, live, and neither party's page shows
/// the other's.
#[test]
fn a_draft_is_answered_clause_by_clause_in_the_browser() {
    let Some(driver) = browser() else { return };
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backchannel-formula/scenarios/us-iran.json"
    );
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), TITLE);
    let case = t.case.clone();
    t.charter_in_force();
    ok_json(
        &t.mediator,
        &["issues", "define", &case, "--file", scenario],
    );
    ok_json(
        &t.us,
        &[
            "position", "seal", &case, "--file", scenario, "--party", "us",
        ],
    );

    // Tehran seals its position from its desk's editor: the scenario's Iranian profile typed
    // into the form (by script, for speed), the weights' sum checked as it is typed.
    let tehran = start_ui(&t.iran);
    let iran_window = logged_in(&driver, std::slice::from_ref(&tehran)).remove(0);
    iran_window.go(&format!("http://{}/case/{case}/position", tehran.addr));
    let profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scenario).unwrap()).unwrap();
    let profile = profile["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "iran")
        .unwrap()
        .clone();
    iran_window.run(&format!(
        "const p = {profile};
         const set = (name, value) => {{ const e = document.querySelector(`[name='${{name}}']`); e.value = value; e.dispatchEvent(new Event('input', {{bubbles: true}})); }};
         for (const [issue, w] of Object.entries(p.weights)) set(`weight.${{issue}}`, w);
         for (const [issue, scores] of Object.entries(p.scores))
           for (const [option, v] of Object.entries(scores)) set(`score.${{issue}}.${{option}}`, v);
         for (const [issue, options] of Object.entries(p.red_lines || {{}}))
           for (const option of options) document.querySelector(`[name='red.${{issue}}.${{option}}']`).checked = true;
         set('reservation', p.reservation);"
    ));
    assert_eq!(iran_window.text("#weights-sum"), "1.000");
    screenshot(&iran_window, "position");
    iran_window.click("form.position button");
    eventually("Tehran's position is sealed", || {
        iran_window.text("main").contains("Version 1 is sealed")
    });
    ok_json(&t.mediator, &["draft", "propose", &case, "--issue"]);

    let others = [start_ui(&t.mediator), start_ui(&t.us)];
    let mut sessions = logged_in(&driver, &others);
    sessions.push(iran_window);
    let desks = [&others[0], &others[1], &tehran];
    let [pakistan, us, iran] = [&sessions[0], &sessions[1], &sessions[2]];
    let drafts = |i: usize| format!("http://{}/case/{case}/drafts", desks[i].addr);

    // Each party's desk says a draft awaits its answer, and links to it (once its copy, kept
    // up to date in the background, holds the draft).
    for (session, desk) in [(us, 1), (iran, 2)] {
        eventually("the desk lists the draft to answer", || {
            session.go(&format!("http://{}/", desks[desk].addr));
            session.source().contains("data-task=\"answer_draft\"")
        });
    }
    pakistan.go(&drafts(0));
    us.go(&drafts(1));
    iran.go(&drafts(2));
    let clauses = us.run(
        "return [...document.querySelectorAll('form.answer fieldset')].map(f => f.dataset.clause);",
    );
    let clauses: Vec<String> = clauses
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert!(clauses.len() >= 3, "{clauses:?}");
    screenshot(us, "draft");

    // Washington accepts every clause (the default); Tehran objects to the timeline.
    us.click("form.answer button");
    let objected = clauses
        .iter()
        .find(|c| *c == "timeline")
        .unwrap_or(&clauses[0]);
    let reason = "Twelve months is too long to wait for relief.";
    iran.click(&format!(
        "fieldset[data-clause='{objected}'] input[value='object']"
    ));
    iran.type_into(&format!("input[name='reason.{objected}']"), reason);
    iran.click("form.answer button");

    // The mediator's open page shows both answers, live.
    eventually("the mediator sees Tehran's objection", || {
        pakistan.text("main").contains(reason)
    });
    eventually("the mediator sees Washington's acceptance", || {
        pakistan.text("main").contains("United States accepts")
    });
    screenshot(pakistan, "answers");

    // Each party's page shows its own answer, never the other's; the form is gone.
    us.go(&drafts(1));
    iran.go(&drafts(2));
    assert!(!us.source().contains(reason));
    assert!(iran.text("main").contains(reason));
    assert!(!iran.text("main").contains("United States accepts"));
    assert!(!us.source().contains("form class=\"answer\""));

    // The formula over the sealed positions: the mediator's page draws the frontier; a party's
    // desk is refused it and holds none of it.
    pakistan.go(&format!("http://{}/case/{case}/formula", desks[0].addr));
    let drawn = pakistan.run(
        "return [document.querySelectorAll('svg.frontier .frontier-point').length,
                 document.querySelectorAll('svg.frontier .fair.nash').length,
                 document.querySelectorAll('svg.frontier .draft-point').length];",
    );
    assert!(drawn[0].as_u64().unwrap() >= 2, "{drawn}");
    assert_eq!(
        (drawn[1].as_u64(), drawn[2].as_u64()),
        (Some(1), Some(1)),
        "{drawn}"
    );
    screenshot(pakistan, "formula");
    iran.go(&format!("http://{}/case/{case}/formula", desks[2].addr));
    assert!(iran.text("main").contains("mediator_only"));
    assert!(!iran.source().contains("<svg"));
    pakistan.go(&drafts(0));

    // The engine's next draft, with its reasons, issued from the mediator's page as version 2.
    eventually("the engine weighs Tehran's objection", || {
        pakistan.text(".engine").contains("Objections met: 1 of 1")
    });
    let engine = pakistan.text(".engine");
    assert!(engine.contains("timeline"), "{engine}");
    screenshot(pakistan, "engine");
    pakistan.click("form.issue button");
    eventually("version 2 on the mediator's page", || {
        pakistan.source().contains("data-version=\"2\"")
    });
    // Washington's desk hears of it over the push stream, then syncs.
    eventually("version 2 on Washington's page", || {
        us.go(&drafts(1));
        us.source().contains("data-version=\"2\"")
    });
    let washington = us.source();
    assert!(
        washington.contains("class=\"changed\""),
        "{}",
        us.text("main")
    );
    assert!(
        washington.contains("form class=\"answer\""),
        "a new answer is awaited"
    );

    // Version 2 tabled as the agreement; each party reads it and signs from its desk, the
    // mediator signs as witness and publishes it.
    let agreement = |i: usize| format!("http://{}/case/{case}/agreement", desks[i].addr);
    pakistan.go(&agreement(0));
    pakistan.click("form.table button");
    eventually("the agreement is on the table", || {
        pakistan.source().contains("data-published=\"false\"")
    });
    for (session, desk) in [(us, 1), (iran, 2)] {
        eventually("the party is asked to sign", || {
            session.go(&agreement(desk));
            session.source().contains("data-task=\"sign_agreement\"")
        });
        assert!(
            session.text(".agreement").contains("Twelve")
                || session.text(".agreement").contains("Six")
        );
        session.click("li[data-task='sign_agreement'] button");
        eventually("the party's signature is listed", || {
            !session.source().contains("data-task=\"sign_agreement\"")
        });
    }
    screenshot(iran, "agreement");
    eventually("the mediator is asked to sign as witness", || {
        pakistan.go(&agreement(0));
        pakistan.source().contains("data-task=\"sign_agreement\"")
    });
    pakistan.click("li[data-task='sign_agreement'] button");
    eventually("the mediator may publish", || {
        pakistan.go(&agreement(0));
        pakistan
            .source()
            .contains("data-task=\"publish_agreement\"")
    });
    pakistan.click("li[data-task='publish_agreement'] button");
    for (session, desk) in [(pakistan, 0), (us, 1), (iran, 2)] {
        eventually("the agreement is published", || {
            session.go(&agreement(desk));
            session.source().contains("data-published=\"true\"")
        });
    }
}

/// The newer screens, each visited once: a joiner admitted from the mediator's case page,
/// offers tabled from both parties' forms and matched from the mediator's, direct talks
/// proposed, consented to and opened, two drafts compared, words conveyed, and (the desks
/// stopped while the agreement is tabled, signed and published with its plan by command) a
/// party's report from the implementation tracker's form.
#[test]
fn the_newer_screens_in_a_real_browser() {
    let Some(driver) = browser() else { return };
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backchannel-formula/scenarios/us-iran.json"
    );
    let plan = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backchannel-core/plans/us-iran.json"
    );
    let dir = tempfile::tempdir().unwrap();
    let t = three_party_case(dir.path(), TITLE);
    let case = t.case.clone();
    // The Inspector, the plan's verifier, observes; Oman joins and waits for admission.
    let (inspector, oman) = (dir.path().join("inspector"), dir.path().join("oman"));
    common::identities(&[(&inspector, "Inspector"), (&oman, "Oman")]);
    for (home, auto) in [(&inspector, true), (&oman, false)] {
        let mut args: Vec<&str> = vec!["case", "invite", &case, "--role", "observer"];
        if auto {
            args.push("--auto-admit");
        }
        let code = ok_json(&t.mediator, &args)["code"]
            .as_str()
            .unwrap()
            .to_owned();
        ok_json(home, &["case", "join", &code]);
        // The mediator's sync admits the auto-admitted joiner, not the other.
        ok_json(&t.mediator, &["sync", &case]);
    }
    t.charter_in_force();
    ok_json(
        &t.mediator,
        &["issues", "define", &case, "--file", scenario],
    );
    for package in [
        "enrichment=pause_3y,sanctions=full_lift,regional=none",
        "enrichment=cap_3_67,sanctions=phased_lift,regional=none",
    ] {
        ok_json(
            &t.mediator,
            &["draft", "issue", &case, "--package", package],
        );
    }

    let desks = [start_ui(&t.mediator), start_ui(&t.us), start_ui(&t.iran)];
    let sessions = logged_in(&driver, &desks);
    let [pakistan, us, iran] = [&sessions[0], &sessions[1], &sessions[2]];
    let url = |i: usize, path: &str| format!("http://{}/case/{case}{path}", desks[i].addr);

    // Oman waits on the mediator's case page, its fingerprint shown; one click admits it.
    eventually("Oman waits for admission", || {
        pakistan.go(&url(0, ""));
        pakistan.source().contains("data-pending=")
    });
    assert!(pakistan.text("ul.pending").contains("Oman"));
    screenshot(pakistan, "admission");
    pakistan.click("li[data-pending] form.act button");
    eventually("Oman sits among the participants", || {
        pakistan.go(&url(0, ""));
        pakistan.text("table.participants").contains("Oman")
            && !pakistan.source().contains("data-pending=")
    });

    // Offers from the parties' forms, sealed to the mediator, opened as a matching pair.
    let sanctions = "[name$='.sanctions'][value='phased_lift']";
    let enrichment = "[name$='.enrichment'][value='cap_3_67']";
    for (session, desk, promise, condition) in [
        (us, 1, sanctions, enrichment),
        (iran, 2, enrichment, sanctions),
    ] {
        session.go(&url(desk, "/offers"));
        session.click(&format!("input[name^='promise']{promise}"));
        session.click(&format!("input[name^='condition']{condition}"));
        session.click("form.offer button");
        eventually("the offer is sealed", || {
            session.source().contains("data-status=\"sealed\"")
        });
    }
    eventually("the mediator may open the pair", || {
        pakistan.go(&url(0, "/offers"));
        pakistan.source().contains("form class=\"match-offers\"")
    });
    pakistan.click("form.match-offers button");
    eventually("Washington reads Tehran's side of the pair", || {
        us.go(&url(1, "/offers"));
        us.text(".pairs").contains("Iran")
    });
    assert!(us.source().contains("data-status=\"opened\""));
    screenshot(us, "offers");

    // Direct talks: proposed by the mediator, consented to by each party, opened.
    pakistan.go(&url(0, ""));
    pakistan.click("form.direct button");
    for (session, desk) in [(us, 1), (iran, 2)] {
        eventually("the party is asked to consent to direct talks", || {
            session.go(&url(desk, ""));
            session
                .source()
                .contains("data-task=\"consent_direct_talks\"")
        });
        session.click("li[data-task='consent_direct_talks'] button");
    }
    eventually("every party consented", || {
        pakistan.go(&url(0, ""));
        !pakistan.text("ul.direct").contains("awaiting")
            && pakistan.source().contains("data-direct=\"direct\"")
    });
    pakistan.click("li[data-direct='direct'] form.act button");
    let after = pakistan.text("main");
    eventually(
        &format!("direct talks are open; the click showed: {after}"),
        || {
            pakistan.go(&url(0, ""));
            pakistan.source().contains("data-opened=\"true\"")
        },
    );
    assert_eq!(pakistan.text(".phases li.current"), "direct");
    pakistan.run(
        "document.querySelector('ul.direct').scrollIntoView(); window.scrollBy(0, -80); return null;",
    );
    screenshot(pakistan, "direct");

    // Two drafts side by side on Washington's desk.
    us.go(&url(1, "/drafts?diff=1..2"));
    let changed = us.run("return document.querySelectorAll('table.diff tr.changed').length;");
    assert!(changed.as_u64().unwrap() >= 2, "{}", us.text("main"));
    us.run(
        "document.querySelector('table.diff').scrollIntoView(); window.scrollBy(0, -80); return null;",
    );
    screenshot(us, "diff");

    // The mediator carries Washington's words to Tehran in its own.
    let paraphrase = "Washington is ready to phase the relief over a year.";
    pakistan.go(&url(0, "/conveying"));
    pakistan.run(
        "document.querySelector(\"form.convey select[name='from']\").value = 'united-states';
         document.querySelector(\"form.convey select[name='to']\").value = 'iran'; return null;",
    );
    pakistan.type_into("#convey-text", paraphrase);
    pakistan.click("form.convey button");
    eventually("Tehran reads the paraphrase", || {
        iran.go(&url(2, "/conveying"));
        iran.text("main").contains(paraphrase)
    });
    pakistan.go(&url(0, "/conveying"));
    screenshot(pakistan, "conveying");

    // The desks stop (they hold the homes) while the agreement is tabled with its plan,
    // signed and published; Tehran's desk then reports from the tracker's form.
    drop(sessions);
    drop(desks);
    ok_json(
        &t.mediator,
        &[
            "agreement",
            "table",
            &case,
            "--from-draft",
            "2",
            "--plan",
            plan,
        ],
    );
    for home in [&t.us, &t.iran, &t.mediator] {
        ok_json(home, &["agreement", "sign", &case]);
    }
    ok_json(&t.mediator, &["agreement", "publish", &case]);
    let tehran = start_ui(&t.iran);
    let iran = logged_in(&driver, std::slice::from_ref(&tehran)).remove(0);
    let tracker = format!("http://{}/case/{case}/implementation", tehran.addr);
    eventually("Tehran's tracker offers its report", || {
        iran.go(&tracker);
        iran.source().contains("/implementation/report")
    });
    iran.run(
        "const f = document.querySelector(\"form[action$='/implementation/report']\");
         f.querySelector(\"select[name='commitment']\").value = 'enrichment_cap';
         f.querySelector(\"select[name='status']\").value = '2'; return null;",
    );
    iran.type_into(
        "form[action$='/implementation/report'] input[name='note']",
        "Cascades reconfigured.",
    );
    iran.click("form[action$='/implementation/report'] button");
    eventually("the report is on the tracker", || {
        iran.source().contains("data-reported=\"2\"")
    });
    assert!(!iran.source().contains("/implementation/attest"));
    iran.run("document.querySelector('form.implement').scrollIntoView(); return null;");
    screenshot(&iran, "implementation");
}
