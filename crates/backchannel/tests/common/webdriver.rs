//! A real browser for the UI's tests: Debian's `chromium`, headless, driven through
//! `chromedriver` over the W3C WebDriver protocol (JSON over HTTP on loopback, written here by
//! hand: a handful of commands is all the tests need).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key W3C WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` and `chromium`, where this machine has them; `None` says why not.
pub fn available() -> Result<(String, String), String> {
    let find = |names: &[&str]| {
        names.iter().find_map(|name| {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
                    .map(|p| p.display().to_string())
            })
        })
    };
    let driver = find(&["chromedriver"]).ok_or("no chromedriver on PATH")?;
    let browser =
        find(&["chromium", "chromium-browser", "google-chrome"]).ok_or("no chromium on PATH")?;
    Ok((driver, browser))
}

/// A running `chromedriver`, stopped when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    browser: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn try_http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Refused> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read the head, then as many bytes as it announces (the driver may keep the connection
    // open whatever the request asks).
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "chromedriver closed the connection");
        raw.extend_from_slice(&buf[..n]);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("no content-length from chromedriver: {head}"));
    while raw.len() < head_end + length {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "chromedriver closed the connection early");
        raw.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&raw[head_end..head_end + length]).into_owned();
    let payload = text.as_str();
    let value: Value = serde_json::from_str(payload).unwrap_or_else(|e| panic!("{e}: {text}"));
    match value["value"]["error"].as_str() {
        Some(error) => Err(Refused {
            what: format!(
                "webdriver {method} {path}: {error}: {}",
                value["value"]["message"]
            ),
            stale: error == "stale element reference",
        }),
        None => Ok(value["value"].clone()),
    }
}

/// What the driver refused, and whether only because the element found was replaced since
/// (a live update of the page).
struct Refused {
    what: String,
    stale: bool,
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    try_http(port, method, path, body).unwrap_or_else(|refused| panic!("{}", refused.what))
}

impl Driver {
    pub fn start(driver: &str, browser: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            browser: browser.to_owned(),
        }
    }

    /// A new headless browser window.
    pub fn session(&self) -> Session {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.browser,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1100,900",
                         "--no-first-run", "--no-default-browser-check"]
            }
        }}});
        let value = http(self.port, "POST", "/session", Some(&capabilities));
        Session {
            port: self.port,
            id: value["sessionId"].as_str().unwrap().to_owned(),
        }
    }
}

/// One browser window.
pub struct Session {
    port: u16,
    id: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            http(self.port, "DELETE", &format!("/session/{}", self.id), None)
        });
    }
}

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        http(
            self.port,
            method,
            &format!("/session/{}{path}", self.id),
            body.as_ref(),
        )
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn element(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, "value", json!({ "text": text }));
    }

    /// Clicks `css`. A button submits its form: the click is made again if no new page came
    /// within five seconds while the button is still there (a live update that replaced the
    /// page at the instant of the click swallows it, as it would a person's).
    pub fn click(&self, css: &str) {
        if !css.ends_with("button") {
            return self.on_element(css, "click", json!({}));
        }
        for _ in 0..3 {
            self.run("window.__backchannelClicked = true; return null;");
            self.on_element(css, "click", json!({}));
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if !self.still_on_the_clicked_page() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let quoted = serde_json::to_string(css).unwrap();
            let there = self.run(&format!(
                "return document.querySelector({quoted}) !== null;"
            ));
            if there != Value::Bool(true) {
                return;
            }
        }
        panic!("{css}: three clicks and no new page");
    }

    /// Whether the document the last click was made on is still shown.
    fn still_on_the_clicked_page(&self) -> bool {
        let path = format!("/session/{}/execute/sync", self.id);
        let script = json!({"script": "return window.__backchannelClicked === true;", "args": []});
        matches!(
            try_http(self.port, "POST", &path, Some(&script)),
            Ok(Value::Bool(true))
        )
    }

    /// Finds `css` and sends it `action`; found again if a live update replaced it meanwhile,
    /// as a person's click would land on what the page shows then.
    fn on_element(&self, css: &str, action: &str, body: Value) {
        for _ in 0..20 {
            let element = self.element(css);
            let path = format!("/session/{}/element/{element}/{action}", self.id);
            match try_http(self.port, "POST", &path, Some(&body)) {
                Ok(_) => return,
                Err(refused) if refused.stale => std::thread::sleep(Duration::from_millis(100)),
                Err(refused) => panic!("{}", refused.what),
            }
        }
        panic!("{css}: replaced by every live update for two seconds");
    }

    /// Runs `script` in the page; returns what it returns.
    pub fn run(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// The text the page shows in `css`'s first match ("" if none).
    pub fn text(&self, css: &str) -> String {
        self.run(&format!(
            "const e = document.querySelector({}); return e ? e.innerText : '';",
            Value::String(css.to_owned())
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The page's whole HTML as the browser holds it now.
    pub fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let b64 = self.call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap()
    }
}
