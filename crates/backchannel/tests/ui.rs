//! `backchannel ui` through the binary, against a real hub: who may use it and from where (a
//! token exchanged for a cookie, the `Host` and `Origin` of every request, a CSRF token on
//! every form, the Content-Security-Policy on every answer, loopback only), what its pages
//! show, and a message posted by another participant announced to the open page by push.
//! Requests are written by hand, so that every header is the test's own.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Ui, identities, new_case, ok_json, run, seat_parties, start_hub, start_ui};

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// One request, written by hand: `headers` as `Name: value` lines, `Host` included.
fn request(addr: &str, method: &str, path: &str, headers: &[String], body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    if !body.is_empty() {
        text.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(text.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// The page at `path` once it shows `needle`: the UI brings its copy up to date in the
/// background, so a page loaded at once may show the copy from before.
fn page_showing(ui: &Ui, cookie: &str, path: &str, needle: &str) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = request(&ui.addr, "GET", path, &[host(ui), cookie.to_owned()], "");
        assert_eq!(page.status, 200, "{}", page.body);
        if page.body.contains(needle) {
            return page;
        }
        assert!(Instant::now() < deadline, "never {needle:?}: {}", page.body);
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn host(ui: &Ui) -> String {
    format!("Host: {}", ui.addr)
}

/// Logs in; returns the `Cookie:` header line.
fn login(ui: &Ui) -> String {
    let answer = request(
        &ui.addr,
        "GET",
        &format!("/login?token={}", ui.token),
        &[host(ui)],
        "",
    );
    assert_eq!(answer.status, 303, "{}", answer.head);
    let cookie = answer.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    format!("Cookie: {}", cookie.split(';').next().unwrap())
}

fn code_of(answer: &Answer) -> String {
    let start = answer.body.find("<code>").unwrap() + "<code>".len();
    let end = answer.body[start..].find("</code>").unwrap() + start;
    answer.body[start..end].to_owned()
}

fn csrf_of(page: &str) -> String {
    let start = page.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    page[start..start + 64].to_owned()
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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
