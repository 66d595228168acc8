//! What the binary's tests share: the binary with a passphrase, a real `backchannel hub`
//! process on loopback, JSON output.
#![allow(clippy::unwrap_used, dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod http;
pub mod webdriver;

pub const PASS: &str = "cli test passphrase";

pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backchannel"));
    command
        .env_remove("BACKCHANNEL_HOME")
        .env("BACKCHANNEL_PASSPHRASE", PASS);
    command
}

pub fn run(home: &Path, args: &[&str]) -> Output {
    bin().arg("--home").arg(home).args(args).output().unwrap()
}

pub fn ok_json(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = run(home, &full);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub struct Hub {
    pub child: Child,
    pub url: String,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_hub(dir: &Path) -> Hub {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = bin()
        .args(["hub", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.join("hub.sqlite"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the hub did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Hub { child, url }
}

pub fn texts(lines: &serde_json::Value) -> Vec<String> {
    lines
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "message")
        .map(|l| l["text"].as_str().unwrap().to_owned())
        .collect()
}

/// A new identity named `name` in each home.
pub fn identities(people: &[(&Path, &str)]) {
    for (home, name) in people {
        ok_json(home, &["id", "new", "--name", name]);
    }
}

/// A case convened by `mediator` on `hub`; prints nothing, returns its id.
pub fn new_case(mediator: &Path, hub: &str, title: &str) -> String {
    ok_json(mediator, &["case", "new", "--hub", hub, "--title", title])["case"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An invite code for a delegate of `party` (mediator only).
pub fn invite_party(mediator: &Path, case: &str, party: &str) -> String {
    ok_json(
        mediator,
        &[
            "case",
            "invite",
            case,
            "--role",
            "party",
            "--party",
            party,
            "--auto-admit",
        ],
    )["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Each home joins `case` as a delegate of its party; the mediator then admits and seats
/// them all.
pub fn seat_parties(mediator: &Path, case: &str, delegates: &[(&Path, &str)]) {
    for (home, party) in delegates {
        let code = invite_party(mediator, case, party);
        ok_json(home, &["case", "join", &code]);
    }
    ok_json(mediator, &["sync", case]);
}

/// The seed story's scenario: the US–Iran issues and options.
pub fn scenario() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backchannel-formula/scenarios/us-iran.json"
    )
}

/// The seed story's implementation plan, the Inspector its verifier.
pub fn plan() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backchannel-core/plans/us-iran.json"
    )
}

/// An invite code for an observer (mediator only).
pub fn invite_observer(mediator: &Path, case: &str) -> String {
    ok_json(
        mediator,
        &["case", "invite", case, "--role", "observer", "--auto-admit"],
    )["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A hub, and a case on it convened by Pakistan with the United States and Iran seated.
pub struct ThreeParty {
    pub hub: Hub,
    pub mediator: std::path::PathBuf,
    pub us: std::path::PathBuf,
    pub iran: std::path::PathBuf,
    pub case: String,
}

impl ThreeParty {
    /// The mediator proposes the default charter and both parties accept it.
    pub fn charter_in_force(&self) {
        ok_json(&self.mediator, &["charter", "propose", &self.case]);
        ok_json(&self.us, &["charter", "accept", &self.case]);
        ok_json(&self.iran, &["charter", "accept", &self.case]);
    }

    /// The mediator defines the scenario's issues.
    pub fn define_issues(&self) {
        ok_json(
            &self.mediator,
            &["issues", "define", &self.case, "--file", scenario()],
        );
    }

    /// The mediator issues draft 1, on the package `enrichment=cap_3_67,sanctions=phased_lift`.
    pub fn first_draft(&self) {
        ok_json(
            &self.mediator,
            &[
                "draft",
                "issue",
                &self.case,
                "--package",
                "enrichment=cap_3_67,sanctions=phased_lift",
            ],
        );
    }
}

pub fn three_party_case(dir: &Path, title: &str) -> ThreeParty {
    let hub = start_hub(dir);
    let (mediator, us, iran) = (dir.join("pakistan"), dir.join("us"), dir.join("iran"));
    identities(&[
        (&mediator, "Pakistan"),
        (&us, "United States"),
        (&iran, "Iran"),
    ]);
    let case = new_case(&mediator, &hub.url, title);
    seat_parties(&mediator, &case, &[(&us, "United States"), (&iran, "Iran")]);
    ThreeParty {
        hub,
        mediator,
        us,
        iran,
        case,
    }
}

/// A case with its charter in force and the scenario's issues defined.
pub fn case_with_issues(dir: &Path, title: &str) -> ThreeParty {
    let t = three_party_case(dir, title);
    t.charter_in_force();
    t.define_issues();
    t
}

/// A case with the Inspector observing (its home returned), its charter in force and the
/// scenario's issues defined.
pub fn case_with_observer(dir: &Path, title: &str) -> (ThreeParty, std::path::PathBuf) {
    let t = three_party_case(dir, title);
    let inspector = dir.join("inspector");
    identities(&[(&inspector, "Inspector")]);
    let code = invite_observer(&t.mediator, &t.case);
    ok_json(&inspector, &["case", "join", &code]);
    ok_json(&t.mediator, &["sync", &t.case]);
    t.charter_in_force();
    t.define_issues();
    (t, inspector)
}

/// [`case_with_observer`], then draft 1 tabled as the agreement with the seed story's plan,
/// signed by everyone and published, so the plan is in force; the Inspector's copy synced.
pub fn case_implementing(dir: &Path, title: &str) -> (ThreeParty, std::path::PathBuf) {
    let (t, inspector) = case_with_observer(dir, title);
    let case = &t.case;
    t.first_draft();
    ok_json(
        &t.mediator,
        &[
            "agreement",
            "table",
            case,
            "--from-draft",
            "1",
            "--plan",
            plan(),
        ],
    );
    for home in [&t.us, &t.iran, &t.mediator] {
        ok_json(home, &["agreement", "sign", case]);
    }
    ok_json(&t.mediator, &["agreement", "publish", case]);
    ok_json(&inspector, &["sync", case]);
    (t, inspector)
}

/// A running `backchannel ui --no-open --json`, killed when dropped.
pub struct Ui {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub token: String,
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_ui(home: &Path) -> Ui {
    start_ui_with(home, PASS)
}

/// [`start_ui`] on a home sealed with `passphrase`.
pub fn start_ui_with(home: &Path, passphrase: &str) -> Ui {
    let mut child = bin()
        .env("BACKCHANNEL_PASSPHRASE", passphrase)
        .arg("--home")
        .arg(home)
        .args(["--json", "ui", "--no-open"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = url["url"].as_str().unwrap().to_owned();
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, query) = rest.split_once("/login?token=").unwrap();
    Ui {
        child,
        addr: addr.to_owned(),
        token: query.to_owned(),
    }
}
