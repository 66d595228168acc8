//! `backchannel ui` through the binary, against a real hub: who may use it and from where (a
//! token exchanged for a cookie, the `Host` and `Origin` of every request, a CSRF token on
//! every form, the Content-Security-Policy on every answer, loopback only), what its pages
//! show, and a message posted by another participant announced to the open page by push.
//! Requests are written by hand, so that every header is the test's own.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::http::{code_of, csrf_of, host, login, page_showing, percent, request};
use common::{identities, new_case, ok_json, run, seat_parties, start_hub, start_ui};

#[test]
fn the_ui_admits_only_its_own_session_from_its_own_address_and_shows_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let common::ThreeParty {
        hub: _hub,
        mediator,
        us,
        iran,
        case,
    } = common::three_party_case(dir.path(), "A track for talks");
    ok_json(
        &iran,
        &[
            "send",
            &case,
            "--channel",
            "iran",
            "--text",
            "Tehran's words for Pakistan alone",
        ],
    );

    let before = ok_json(&us, &["read", &case, "--channel", "united-states"]);

    // Loopback only.
    let out = run(&mediator, &["ui", "--no-open", "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error[not_loopback]: "), "{stderr}");

    let ui = start_ui(&us);
    // No session, a wrong token, another host.
    let answer = request(&ui.addr, "GET", "/", &[host(&ui)], "");
    assert_eq!(
        (answer.status, code_of(&answer).as_str()),
        (401, "no_session")
    );
    let answer = request(&ui.addr, "GET", "/login?token=00", &[host(&ui)], "");
    assert_eq!(
        (answer.status, code_of(&answer).as_str()),
        (401, "bad_token")
    );
    let port = ui.addr.rsplit(':').next().unwrap();
    let rebound = format!("Host: attacker.example:{port}");
    let answer = request(
        &ui.addr,
        "GET",
        &format!("/login?token={}", ui.token),
        std::slice::from_ref(&rebound),
        "",
    );
    assert_eq!(
        (answer.status, code_of(&answer).as_str()),
        (403, "bad_host")
    );
    let cookie = login(&ui);
    // The token is spent.
    let answer = request(
        &ui.addr,
        "GET",
        &format!("/login?token={}", ui.token),
        &[host(&ui)],
        "",
    );
    assert_eq!(answer.status, 401);

    // With the session: the home page, its policy, and no inline script.
    let home = request(&ui.addr, "GET", "/", &[host(&ui), cookie.clone()], "");
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("A track for talks"), "{}", home.body);
    let csp = home.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(
        !home.body.contains("<script>"),
        "inline script: {}",
        home.body
    );
    assert!(home.body.contains("<script src=\"/assets/ui.js\""));
    for path in ["/assets/ui.js", "/assets/ui.css", "/login?token=x"] {
        let answer = request(&ui.addr, "GET", path, &[host(&ui), cookie.clone()], "");
        assert!(
            answer.header("content-security-policy").is_some(),
            "{path}: {}",
            answer.head
        );
    }
    // The session does not make another host or another site's page welcome.
    let answer = request(&ui.addr, "GET", "/", &[rebound, cookie.clone()], "");
    assert_eq!(
        (answer.status, code_of(&answer).as_str()),
        (403, "bad_host")
    );
    let answer = request(
        &ui.addr,
        "GET",
        "/",
        &[
            host(&ui),
            cookie.clone(),
            "Origin: http://attacker.example".into(),
        ],
        "",
    );
    assert_eq!(
        (answer.status, code_of(&answer).as_str()),
        (403, "bad_origin")
    );
    // An opaque origin (a sandboxed frame, a data: page) and a request the browser marks
    // cross-site are refused alike.
    for foreign in ["Origin: null", "Sec-Fetch-Site: cross-site"] {
        let answer = request(
            &ui.addr,
            "GET",
            "/",
            &[host(&ui), cookie.clone(), foreign.into()],
            "",
        );
        assert_eq!(
            (answer.status, code_of(&answer).as_str()),
            (403, "bad_origin"),
            "{foreign}"
        );
    }

    // A form without the CSRF token changes nothing; with it, the message is posted.
    let send = format!("/case/{case}/channel/united-states/send");
    let answer = request(
        &ui.addr,
        "POST",
        &send,
        &[host(&ui), cookie.clone()],
        "text=forged",
    );
    assert_eq!((answer.status, code_of(&answer).as_str()), (403, "csrf"));
    let channel_page = request(
        &ui.addr,
        "GET",
        &format!("/case/{case}/channel/united-states"),
        &[host(&ui), cookie.clone()],
        "",
    );
    assert_eq!(channel_page.status, 200, "{}", channel_page.body);
    let csrf = csrf_of(&channel_page.body);
    let answer = request(
        &ui.addr,
        "POST",
        &send,
        &[host(&ui), cookie.clone()],
        &format!(
            "csrf={csrf}&text={}",
            percent("Washington's words <for> Pakistan")
        ),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    // While the UI holds the home, a command on it says so rather than wait for ever.
    let busy = run(&us, &["case", "list"]);
    assert_eq!(busy.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert!(stderr.starts_with("error[home_busy]: "), "{stderr}");
    drop(ui);
    let after = ok_json(&us, &["read", &case, "--channel", "united-states"]);
    let texts = common::texts(&after);
    assert_eq!(texts.len(), common::texts(&before).len() + 1, "{texts:?}");
    assert!(!texts.iter().any(|t| t == "forged"), "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t == "Washington's words <for> Pakistan")
    );

    // A party's pages: its own channel, never the other party's.
    let ui = start_ui(&us);
    let cookie = login(&ui);
    let page = request(
        &ui.addr,
        "GET",
        &format!("/case/{case}/channel/united-states"),
        &[host(&ui), cookie.clone()],
        "",
    );
    assert!(
        page.body
            .contains("Washington&#39;s words &lt;for&gt; Pakistan")
            || page
                .body
                .contains("Washington's words &lt;for&gt; Pakistan"),
        "{}",
        page.body
    );
    let other = request(
        &ui.addr,
        "GET",
        &format!("/case/{case}/channel/iran"),
        &[host(&ui), cookie.clone()],
        "",
    );
    assert_eq!(other.status, 403, "{}", other.body);
    assert!(!other.body.contains("Tehran"), "{}", other.body);
    let case_page = request(
        &ui.addr,
        "GET",
        &format!("/case/{case}"),
        &[host(&ui), cookie],
        "",
    );
    assert!(!case_page.body.contains("Tehran"), "{}", case_page.body);
}

#[test]
fn a_message_from_another_participant_is_announced_to_the_open_page() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let (mediator, us) = (dir.path().join("pakistan"), dir.path().join("us"));
    identities(&[(&mediator, "Pakistan"), (&us, "United States")]);
    let case = new_case(&mediator, &hub.url, "Live");
    seat_parties(&mediator, &case, &[(&us, "United States")]);
    let ui = start_ui(&mediator);
    let cookie = login(&ui);

    let mut events = TcpStream::connect(&ui.addr).unwrap();
    events
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        events,
        "GET /events HTTP/1.1\r\n{}\r\n{cookie}\r\nAccept: text/event-stream\r\n\r\n",
        host(&ui)
    )
    .unwrap();
    let mut reader = BufReader::new(events);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    // Let the UI's stream to the hub open before the post.
    std::thread::sleep(Duration::from_millis(500));
    ok_json(
        &us,
        &[
            "send",
            &case,
            "--channel",
            "united-states",
            "--text",
            "live words",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut announced = false;
    while Instant::now() < deadline && !announced {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        announced = line.trim() == format!("data: {case}");
    }
    assert!(announced, "no update event for the case");
    let page = request(
        &ui.addr,
        "GET",
        &format!("/case/{case}/channel/united-states"),
        &[host(&ui), cookie],
        "",
    );
    assert!(page.body.contains("live words"), "{}", page.body);
}

#[test]
fn a_task_is_done_in_one_click_and_leaves_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let common::ThreeParty {
        hub: _hub,
        mediator,
        us,
        case,
        ..
    } = common::three_party_case(dir.path(), "One click");
    ok_json(&mediator, &["charter", "propose", &case]);
    let ui = start_ui(&us);
    let cookie = login(&ui);
    let page = page_showing(
        &ui,
        &cookie,
        &format!("/case/{case}"),
        "data-task=\"accept_charter\"",
    );
    let csrf = csrf_of(&page.body);
    let act = format!("/case/{case}/act");
    // Something the page does not do in one click changes nothing.
    let answer = request(
        &ui.addr,
        "POST",
        &act,
        &[host(&ui), cookie.clone()],
        &format!("csrf={csrf}&what=propose_charter"),
    );
    assert_eq!(
        (answer.status, code_of(&answer).as_str()),
        (400, "invalid_form")
    );
    let answer = request(
        &ui.addr,
        "POST",
        &act,
        &[host(&ui), cookie.clone()],
        &format!("csrf={csrf}&what=accept_charter&back=%2F%2Fattacker.example%2F"),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    // It returns to a page of the UI, never to another host.
    assert_eq!(
        answer.header("location").as_deref(),
        Some(format!("/case/{case}").as_str())
    );
    let page = request(
        &ui.addr,
        "GET",
        &format!("/case/{case}"),
        &[host(&ui), cookie.clone()],
        "",
    );
    assert!(
        !page.body.contains("data-task=\"accept_charter\""),
        "{}",
        page.body
    );
    // Accepting again is refused by the rules, by name.
    let answer = request(
        &ui.addr,
        "POST",
        &act,
        &[host(&ui), cookie],
        &format!("csrf={csrf}&what=accept_charter"),
    );
    assert!(answer.status >= 400, "{}", answer.body);
    drop(ui);
    let inbox = ok_json(&us, &["inbox", &case]);
    assert!(!inbox.to_string().contains("accept_charter"), "{inbox}");
    let accepted = ok_json(&mediator, &["read", &case, "--channel", "public"]);
    assert!(
        accepted
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "charter_accepted" && l["author"] == "United States"),
        "{accepted}"
    );
}

#[test]
fn a_position_the_rules_refuse_is_not_sealed_and_only_a_party_edits_one() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::three_party_case(dir.path(), "Positions");
    t.charter_in_force();
    let (mediator, us, case) = (&t.mediator, &t.us, &t.case);
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backchannel-formula/scenarios/us-iran.json"
    );
    ok_json(mediator, &["issues", "define", case, "--file", scenario]);
    let position = format!("/case/{case}/position");
    {
        let ui = start_ui(mediator);
        let cookie = login(&ui);
        let answer = request(&ui.addr, "GET", &position, &[host(&ui), cookie], "");
        assert_eq!(
            (answer.status, code_of(&answer).as_str()),
            (403, "party_only")
        );
    }
    let ui = start_ui(us);
    let cookie = login(&ui);
    // The UI brings its copy up to date in the background: the issues arrive with it.
    let page = page_showing(&ui, &cookie, &position, "name=\"weight.");
    assert!(page.body.contains("No position is sealed yet"));
    let csrf = csrf_of(&page.body);
    // Every weight 0.5: they do not sum to 1, and the rules say so.
    let weights: Vec<String> = page
        .body
        .match_indices("name=\"weight.")
        .map(|(at, _)| {
            let rest = &page.body[at + "name=\"".len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    assert!(weights.len() >= 3, "{weights:?}");
    let form: Vec<String> = weights.iter().map(|w| format!("{w}=0.5")).collect();
    let answer = request(
        &ui.addr,
        "POST",
        &position,
        &[host(&ui), cookie.clone()],
        &format!("csrf={csrf}&reservation=0.5&{}", form.join("&")),
    );
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(code_of(&answer), "invalid_act");
    let page = request(&ui.addr, "GET", &position, &[host(&ui), cookie], "");
    assert!(page.body.contains("No position is sealed yet"));
}

/// The demo's kept homes, opened in the UI with the hub gone: the inspector's desk shows the
/// implementation tracker from its own copy, saying when it last synced.
#[test]
fn the_implementation_tracker_reads_a_kept_demo_home_with_the_hub_gone() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept");
    let out = common::bin()
        .arg("demo")
        .arg("--keep")
        .arg(&keep)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ui = common::start_ui_with(&keep.join("homes/iaea"), "backchannel-demo");
    let cookie = login(&ui);
    let home = request(&ui.addr, "GET", "/", &[host(&ui), cookie.clone()], "");
    assert_eq!(home.status, 200, "{}", home.body);
    let at = home.body.find("href=\"/case/").unwrap() + "href=\"/case/".len();
    let case = &home.body[at..at + 32];
    let page = request(
        &ui.addr,
        "GET",
        &format!("/case/{case}/implementation"),
        &[host(&ui), cookie],
        "",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    for needle in [
        "data-milestone=\"implementation\" data-reached=\"true\"",
        "data-milestone=\"adoption\" data-reached=\"false\"",
        "data-dispute=\"1\" data-stage=\"resolved\"",
        "data-commitment=\"enrichment_cap\"",
        "Your verified copy, synced",
    ] {
        assert!(page.body.contains(needle), "{needle}: {}", page.body);
    }
}
