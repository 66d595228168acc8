//! Requests to a running `backchannel ui`, written by hand so that every header is the
//! test's own, and what the UI's pages carry (the CSRF token, a refusal's code).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::Ui;

pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// One request, written by hand: `headers` as `Name: value` lines, `Host` included.
pub fn request(addr: &str, method: &str, path: &str, headers: &[String], body: &str) -> Answer {
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
pub fn page_showing(ui: &Ui, cookie: &str, path: &str, needle: &str) -> Answer {
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

pub fn host(ui: &Ui) -> String {
    format!("Host: {}", ui.addr)
}

/// Logs in; returns the `Cookie:` header line.
pub fn login(ui: &Ui) -> String {
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

pub fn code_of(answer: &Answer) -> String {
    let start = answer.body.find("<code>").unwrap() + "<code>".len();
    let end = answer.body[start..].find("</code>").unwrap() + start;
    answer.body[start..end].to_owned()
}

pub fn csrf_of(page: &str) -> String {
    let start = page.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    page[start..start + 64].to_owned()
}

pub fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A participant's desk: its `backchannel ui`, logged in, with the session's CSRF token.
pub struct Desk {
    pub ui: Ui,
    pub cookie: String,
    csrf: String,
}

impl Desk {
    pub fn open(home: &std::path::Path) -> Self {
        let ui = super::start_ui(home);
        let cookie = login(&ui);
        let home = request(&ui.addr, "GET", "/", &[host(&ui), cookie.clone()], "");
        assert_eq!(home.status, 200, "{}", home.body);
        let csrf = csrf_of(&home.body);
        Self { ui, cookie, csrf }
    }

    pub fn get(&self, path: &str) -> Answer {
        request(
            &self.ui.addr,
            "GET",
            path,
            &[host(&self.ui), self.cookie.clone()],
            "",
        )
    }

    /// Posts `form` (url-encoded) with the session's CSRF token.
    pub fn post(&self, path: &str, form: &str) -> Answer {
        let body = if form.is_empty() {
            format!("csrf={}", self.csrf)
        } else {
            format!("csrf={}&{form}", self.csrf)
        };
        request(
            &self.ui.addr,
            "POST",
            path,
            &[host(&self.ui), self.cookie.clone()],
            &body,
        )
    }

    /// [`page_showing`] on this desk.
    pub fn showing(&self, path: &str, needle: &str) -> Answer {
        page_showing(&self.ui, &self.cookie, path, needle)
    }
}

/// The refusal's status and code.
pub fn refused(answer: &Answer) -> (u16, String) {
    (answer.status, code_of(answer))
}
