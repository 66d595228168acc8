//! The mediation procedure through the `backchannel` binary: the scripted session of
//! docs/procedure.md end to end, and the rules' refusals as a script sees them — exit code 1,
//! a stable code in the JSON error, and nothing new on the record.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PASS: &str = "procedure test passphrase";

fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../backchannel-formula/scenarios/us-iran.json")
}

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backchannel"));
    command
        .env_remove("BACKCHANNEL_HOME")
        .env("BACKCHANNEL_PASSPHRASE", PASS);
    command
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

// --- the scripted session --------------------------------------------------------------------

#[test]
fn the_scripted_session_runs_the_whole_story() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("session");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/procedure-session.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("BACKCHANNEL", env!("CARGO_BIN_EXE_backchannel"))
        .env("BACKCHANNEL_SESSION_DIR", &session)
        .env("SCENARIO", scenario())
        .env_remove("BACKCHANNEL_HOME")
        .env_remove("BACKCHANNEL_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the script failed:\n{stdout}\n--- stderr ---\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in [
        "1 matching pair(s) opened to both parties; 1 offer(s) stay sealed",
        "opened direct talks in direct",
        "accepted in full by every party: yes",
        "co-signed the published agreement as guarantor",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }

    // Implementation: Implementation Day reached by the verifier's attestations, scored.
    let status = read_json(&session.join("implementation.json"));
    assert_eq!(status["in_force"], true, "{status}");
    let milestone = |id: &str| {
        status["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let one = read_json(&session.join("one-attestation.json"));
    let implementation_day = one["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "implementation")
        .unwrap();
    assert_eq!(
        implementation_day["reached"], false,
        "not before both are attested: {one}"
    );
    assert_eq!(milestone("implementation")["reached"], true, "{status}");
    assert!(
        milestone("implementation")["reached_at_ms"]
            .as_u64()
            .is_some()
    );
    assert_eq!(milestone("adoption")["reached"], false, "{status}");
    let commitment = |id: &str| {
        status["commitments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(commitment("enrichment_cap")["status"], 3);
    assert_eq!(commitment("sanctions_relief")["status"], 2);
    let implementation_day = milestone("implementation")["reached_at_ms"]
        .as_u64()
        .unwrap();
    assert_eq!(
        commitment("sanctions_relief")["due_ms"].as_u64(),
        Some(implementation_day + 10 * 86_400_000),
        "extended by ten days"
    );
    assert_eq!(commitment("sanctions_relief")["overdue"], false);
    let score = status["score"].as_f64().unwrap();
    assert!((score - 8.0 / 15.0).abs() < 1e-9, "{score}");
    // The dispute, stage by stage: opened at the Joint Commission, a party's early escalation
    // refused, referred on by the mediator to the ministers with an opinion, then resolved.
    let opened = read_json(&session.join("dispute-opened.json"));
    assert_eq!(
        opened["disputes"][0]["stage"], "joint_commission",
        "{opened}"
    );
    assert!(opened["disputes"][0]["time_left_ms"].as_u64().unwrap() > 14 * 86_400_000);
    let early = std::fs::read_to_string(session.join("early-escalation.err")).unwrap();
    assert!(early.contains("stage_not_over"), "{early}");
    let escalated = read_json(&session.join("dispute-escalated.json"));
    assert_eq!(
        escalated["disputes"][0]["stage"], "ministers",
        "{escalated}"
    );
    assert_eq!(
        escalated["disputes"][0]["opinions"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{escalated}"
    );
    assert_eq!(status["disputes"][0]["id"], 1, "{status}");
    assert_eq!(status["disputes"][0]["stage"], "resolved", "{status}");
    assert_eq!(
        status["disputes"][0]["by"], "United Arab Emirates",
        "{status}"
    );
    // `verify` gives the same status from the exported record alone.
    let verified = read_json(&session.join("verified.json"));
    let offline = &verified["implementation"];
    assert_eq!(offline["score"], status["score"], "{verified}");
    assert_eq!(offline["milestones"], status["milestones"], "{verified}");
    assert_eq!(offline["commitments"], status["commitments"], "{verified}");

    let read = |who: &str| -> Vec<Value> {
        read_json(&session.join(format!("read-{who}.json")))
            .as_array()
            .unwrap()
            .clone()
    };
    let text_of = |lines: &[Value]| -> String {
        lines
            .iter()
            .map(|l| l["text"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };

    // The published agreement, and its guarantees, are on every observer's record.
    for observer in ["uae", "saudi"] {
        let lines = read(observer);
        let published: Vec<&Value> = lines
            .iter()
            .filter(|l| l["kind"] == "agreement_published")
            .collect();
        assert_eq!(published.len(), 1, "{observer}");
        let text = published[0]["text"].as_str().unwrap();
        assert!(
            text.contains("Joint understanding between the United States and Iran")
                && text.contains("Sanctions relief: Lifted in phases.")
                && text.contains("with 3 signatures"),
            "{text}"
        );
        let guaranteed = lines
            .iter()
            .filter(|l| l["kind"] == "agreement_guaranteed")
            .count();
        assert_eq!(guaranteed, 2, "{observer}");
        assert!(
            lines.iter().all(|l| l["channel"] == "public"),
            "{observer} holds a discreet act"
        );

        let show = read_json(&session.join(format!("show-{observer}.json")));
        let procedure = &show["procedure"];
        assert_eq!(procedure["charter"]["status"], "in_force");
        assert_eq!(procedure["agreement"]["status"], "published");
        assert_eq!(
            procedure["agreement"]["guaranteed_by"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let demand = procedure["agenda"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["demand"] == true)
            .unwrap();
        assert_eq!(demand["title"], "Regional conduct; threats to bases");
        assert_eq!(demand["status"], "adopted");
        assert_eq!(demand["proposed_by"], "United States");
        assert_eq!(procedure["requirements"].as_array().unwrap().len(), 4);
        assert_eq!(procedure["issues"].as_array().unwrap().len(), 9);
        assert!(procedure["declarations"]["published"] == true);
    }

    // The unmatched offer stays sealed: Iran and the mediator hold it, no one else ever sees it.
    let sealed = "detainees = full_exchange";
    for who in ["us", "uae", "saudi"] {
        assert!(
            !text_of(&read(who)).contains(sealed),
            "{who} learned of Iran's unmatched offer"
        );
        let show = read_json(&session.join(format!("show-{who}.json")));
        let terms = show["procedure"]["offers"].to_string();
        assert!(!terms.contains("detainees"), "{who}: {terms}");
    }
    for who in ["iran", "pakistan"] {
        assert!(text_of(&read(who)).contains(sealed), "{who}");
    }
    // The matched pair opened to both parties at once.
    for who in ["us", "iran"] {
        let text = text_of(&read(who));
        assert!(
            text.contains("opened matching offers")
                && text.contains("will do sanctions = phased_lift")
                && text.contains("will do enrichment = cap_3_67"),
            "{who}"
        );
    }

    let mediator = read_json(&session.join("show-pakistan.json"));
    let procedure = &mediator["procedure"];
    assert_eq!(procedure["drafts"]["latest"]["version"], 2);
    assert_eq!(
        procedure["drafts"]["latest"]["requirements_unmet"],
        serde_json::json!([])
    );
    let statuses: Vec<&str> = procedure["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "opened").count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == "open").count(), 1);
    assert_eq!(
        procedure["positions_held"],
        serde_json::json!(["Iran", "United States"])
    );
}

// --- refusals -------------------------------------------------------------------------------

struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Five participants on a fresh hub, admitted and seated; nothing of the procedure yet.
struct Session {
    dir: tempfile::TempDir,
    case: String,
    _hub: Hub,
}

impl Session {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = bin()
            .args(["hub", "--listen", &format!("127.0.0.1:{port}"), "--db"])
            .arg(dir.path().join("hub.sqlite"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let hub = Hub(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the hub did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut session = Self {
            dir,
            case: String::new(),
            _hub: hub,
        };
        for (who, name) in [
            ("pakistan", "Pakistan"),
            ("us", "United States"),
            ("iran", "Iran"),
            ("uae", "United Arab Emirates"),
            ("saudi", "Saudi Arabia"),
        ] {
            session.ok(who, &["id", "new", "--name", name]);
        }
        let url = format!("http://127.0.0.1:{port}");
        let case = session.ok(
            "pakistan",
            &["case", "new", "--hub", &url, "--title", "Talks"],
        );
        session.case = case["case"].as_str().unwrap().to_owned();
        let case = session.case.clone();
        for (who, role) in [
            ("us", &["--role", "party", "--party", "United States"][..]),
            ("iran", &["--role", "party", "--party", "Iran"]),
            ("uae", &["--role", "observer"]),
            ("saudi", &["--role", "observer"]),
        ] {
            let mut args = vec!["case", "invite", &case, "--auto-admit"];
            args.extend_from_slice(role);
            let code = session.ok("pakistan", &args)["code"]
                .as_str()
                .unwrap()
                .to_owned();
            session.ok(who, &["case", "join", &code]);
        }
        session.ok("pakistan", &["sync", &case]);
        session
    }

    fn home(&self, who: &str) -> PathBuf {
        self.dir.path().join(who)
    }

    fn run(&self, who: &str, args: &[&str]) -> Output {
        bin()
            .arg("--home")
            .arg(self.home(who))
            .arg("--json")
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; its JSON output.
    fn ok(&self, who: &str, args: &[&str]) -> Value {
        let out = self.run(who, args);
        assert!(
            out.status.success(),
            "{who} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The case's verified log as `who` reads it.
    fn log(&self, who: &str) -> Vec<Value> {
        self.ok(who, &["read", &self.case])
            .as_array()
            .unwrap()
            .clone()
    }

    /// Runs a command the rules must refuse with `code`: exit 1, the code in the JSON error on
    /// stderr, and no new act on the record of the refused participant or of the mediator.
    fn refused(&self, who: &str, args: &[&str], code: &str) -> String {
        let before = (self.log(who).len(), self.log("pakistan").len());
        let out = self.run(who, args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{who} {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let error: Value = serde_json::from_str(stderr.trim())
            .unwrap_or_else(|e| panic!("not a JSON error ({e}): {stderr}"));
        assert_eq!(error["error"]["code"], code, "{who} {args:?}: {stderr}");
        assert!(
            !error["error"]["message"].as_str().unwrap().is_empty(),
            "{stderr}"
        );
        let after = (self.log(who).len(), self.log("pakistan").len());
        assert_eq!(before, after, "{who} {args:?} left an act on the record");
        stderr
    }

    fn charter(&self) {
        let case = &self.case;
        self.ok(
            "pakistan",
            &["charter", "propose", case, "--agenda-by", "parties"],
        );
        self.ok("us", &["charter", "accept", case]);
        self.ok("iran", &["charter", "accept", case]);
    }

    fn issues(&self) {
        let file = scenario();
        let file = file.to_str().unwrap();
        self.ok(
            "pakistan",
            &["issues", "define", &self.case, "--file", file],
        );
    }
}

#[test]
fn an_observer_cannot_propose_an_agenda_item() {
    let s = Session::new();
    s.charter();
    let case = &s.case;
    s.refused(
        "uae",
        &["agenda", "propose", case, "--title", "Our own item"],
        "observer_limited",
    );
    // A party may (the charter lets the parties propose), and it is pending until both agree.
    let item = s.ok(
        "us",
        &["agenda", "propose", case, "--title", "Bases", "--demand"],
    );
    let item = item["item"].as_u64().unwrap().to_string();
    let agenda = s.ok("uae", &["agenda", "list", case]);
    assert_eq!(agenda[0]["status"], "pending");
    s.refused(
        "saudi",
        &["agenda", "consent", case, "--item", &item],
        "observer_limited",
    );
    s.ok("iran", &["agenda", "consent", case, "--item", &item]);
    let agenda = s.ok("uae", &["agenda", "list", case]);
    assert_eq!(agenda[0]["status"], "adopted");
    assert_eq!(
        agenda[0]["consents"],
        serde_json::json!(["Iran", "United States"])
    );
}

#[test]
fn a_party_cannot_issue_a_draft() {
    let s = Session::new();
    s.charter();
    s.issues();
    let case = &s.case;
    for who in ["us", "iran"] {
        s.refused(
            who,
            &["draft", "issue", case, "--package", "enrichment=cap_3_67"],
            "mediator_only",
        );
        s.refused(who, &["draft", "propose", case, "--issue"], "mediator_only");
    }
    let draft = s.ok(
        "pakistan",
        &[
            "draft",
            "issue",
            case,
            "--package",
            "enrichment=cap_3_67,timeline=12m",
        ],
    );
    assert_eq!(draft["version"], 1);
    assert_eq!(draft["clauses"].as_array().unwrap().len(), 2);
}

#[test]
fn nothing_goes_on_record_before_every_party_accepts_the_charter() {
    let s = Session::new();
    let case = &s.case;
    let file = scenario();
    let file = file.to_str().unwrap();
    s.ok(
        "pakistan",
        &["charter", "propose", case, "--agenda-by", "parties"],
    );
    s.ok("us", &["charter", "accept", case]);
    let show = s.ok("uae", &["case", "show", case]);
    assert_eq!(show["procedure"]["charter"]["status"], "proposed");
    assert_eq!(
        show["procedure"]["charter"]["awaiting"],
        serde_json::json!(["Iran"])
    );
    s.refused(
        "pakistan",
        &["issues", "define", case, "--file", file],
        "charter_not_in_force",
    );
    s.refused(
        "us",
        &["agenda", "propose", case, "--title", "Bases", "--demand"],
        "charter_not_in_force",
    );
    s.refused(
        "pakistan",
        &["direct", "propose", case],
        "charter_not_in_force",
    );
    s.ok("iran", &["charter", "accept", case]);
    s.ok("pakistan", &["issues", "define", case, "--file", file]);
    let show = s.ok("uae", &["case", "show", case]);
    assert_eq!(show["procedure"]["charter"]["status"], "in_force");
}

#[test]
fn direct_talks_do_not_open_without_both_consents() {
    let s = Session::new();
    s.charter();
    let case = &s.case;
    s.ok("pakistan", &["direct", "propose", case]);
    s.refused("pakistan", &["direct", "open", case], "consent_missing");
    s.ok("us", &["direct", "consent", case]);
    let stderr = s.refused("pakistan", &["direct", "open", case], "consent_missing");
    assert!(stderr.contains("Iran"), "{stderr}");
    s.refused("uae", &["direct", "consent", case], "observer_limited");
    s.ok("iran", &["direct", "consent", case]);
    let opened = s.ok("pakistan", &["direct", "open", case]);
    assert_eq!(opened["opened"], true);
    s.ok(
        "iran",
        &[
            "send",
            case,
            "--channel",
            "direct",
            "--text",
            "face to face",
        ],
    );
    let us = s.ok("us", &["read", case, "--channel", "direct"]);
    assert!(us.to_string().contains("face to face"));
}

#[test]
fn the_agreement_is_not_published_with_a_signature_missing() {
    let s = Session::new();
    s.charter();
    s.issues();
    let case = &s.case;
    s.ok(
        "pakistan",
        &[
            "draft",
            "issue",
            case,
            "--package",
            "enrichment=cap_3_67,sanctions=phased_lift",
        ],
    );
    let tabled = s.ok(
        "pakistan",
        &[
            "agreement",
            "table",
            case,
            "--from-draft",
            "1",
            "--guarantor",
            "Saudi Arabia",
        ],
    );
    assert_eq!(tabled["hash"].as_str().unwrap().len(), 64);
    s.ok("us", &["agreement", "sign", case]);
    s.ok("pakistan", &["agreement", "sign", case]);
    let stderr = s.refused(
        "pakistan",
        &["agreement", "publish", case],
        "signature_missing",
    );
    assert!(stderr.contains("Iran"), "{stderr}");
    let shown = s.ok("pakistan", &["agreement", "show", case]);
    assert_eq!(shown["status"], "tabled");
    assert_eq!(shown["signatures_missing"], serde_json::json!(["Iran"]));
    s.ok("iran", &["agreement", "sign", case]);
    s.ok("pakistan", &["agreement", "publish", case]);
    s.refused("uae", &["agreement", "guarantee", case], "invalid_act");
    s.ok("saudi", &["agreement", "guarantee", case]);
    let shown = s.ok("uae", &["agreement", "show", case]);
    assert_eq!(shown["status"], "published");
    assert_eq!(shown["guaranteed_by"], serde_json::json!(["Saudi Arabia"]));
}

#[test]
fn bad_flags_are_clear_errors_without_a_panic() {
    let s = Session::new();
    s.charter();
    s.issues();
    let case = &s.case;
    let file = scenario();
    let file = file.to_str().unwrap();
    for (who, args, needle) in [
        (
            "us",
            &["offer", "table", case, "--promise", "sanctions"][..],
            "ISSUE=OPT",
        ),
        (
            "us",
            &[
                "offer",
                "table",
                case,
                "--promise",
                "sanctions=",
                "--condition",
                "enrichment=zero",
            ],
            "empty option",
        ),
        (
            "us",
            &["offer", "table", case, "--promise", "sanctions=free_lunch"],
            "no option \\\"free_lunch\\\"",
        ),
        (
            "pakistan",
            &["draft", "issue", case, "--package", "weather=sunny"],
            "no issue \\\"weather\\\"",
        ),
        (
            "pakistan",
            &[
                "issues",
                "define",
                case,
                "--file",
                "/nonexistent/scenario.json",
            ],
            "cannot read",
        ),
        (
            "us",
            &[
                "position", "seal", case, "--file", file, "--party", "nobody",
            ],
            "no parties entry",
        ),
        (
            "uae",
            &[
                "require",
                case,
                "--id",
                "x",
                "--rationale",
                "r",
                "--then",
                "a=b",
            ],
            "exactly one of",
        ),
        (
            "us",
            &["draft", "answer", case, "--version", "7", "--accept-all"],
            "no draft version 7",
        ),
        (
            "pakistan",
            &["charter", "propose", case, "--deadline", "no date"],
            "WHAT=DATE",
        ),
    ] {
        let out = s.run(who, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let error: Value = serde_json::from_str(stderr.trim()).unwrap();
        assert_eq!(error["error"]["code"], "invalid", "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn an_offer_is_withdrawn_by_its_author_while_it_is_open() {
    let s = Session::new();
    s.charter();
    s.issues();
    let case = &s.case;
    let tabled = s.ok(
        "us",
        &[
            "offer",
            "table",
            case,
            "--promise",
            "sanctions=phased_lift",
            "--condition",
            "enrichment=cap_3_67",
        ],
    );
    let commitment = tabled["commitment"].as_str().unwrap().to_owned();
    // Iran sees a commitment on the public record, never the terms.
    let seen = s.ok("iran", &["offer", "list", case]);
    assert_eq!(seen[0]["commitment"], commitment.as_str());
    assert_eq!(seen[0]["status"], "open");
    assert!(seen[0]["offer"].is_null(), "{seen}");
    s.refused(
        "iran",
        &["offer", "withdraw", case, &commitment],
        "unknown_reference",
    );
    s.ok("us", &["offer", "withdraw", case, &commitment[..10]]);
    let seen = s.ok("uae", &["offer", "list", case]);
    assert_eq!(seen[0]["status"], "withdrawn");
    s.refused("us", &["offer", "withdraw", case, &commitment], "conflict");
    let matched = s.ok("pakistan", &["offer", "match", case]);
    assert_eq!(matched["pairs_opened"], 0);
}

#[test]
fn the_documented_session_is_the_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = std::fs::read_to_string(root.join("scripts/procedure-session.sh")).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/procedure.md")).unwrap();
    let embedded = doc
        .split("```bash\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    assert_eq!(
        embedded, script,
        "docs/procedure.md must embed scripts/procedure-session.sh verbatim"
    );
}

/// A position that can never be met is sealed with a warning naming why, and the engine then
/// says why it cannot propose a draft rather than blaming a draft that does not exist.
#[test]
fn an_unmeetable_position_is_named_when_sealed_and_when_a_draft_is_asked_for() {
    let s = Session::new();
    let case = &s.case;
    s.ok("pakistan", &["charter", "propose", case]);
    s.ok("us", &["charter", "accept", case]);
    s.ok("iran", &["charter", "accept", case]);
    let scenario = scenario();
    let scenario = scenario.to_str().unwrap();
    s.ok("pakistan", &["issues", "define", case, "--file", scenario]);
    // The United States' profile, walled off from every option of the first issue.
    let mut document = read_json(Path::new(scenario));
    let issue = document["issues"][0]["id"].as_str().unwrap().to_owned();
    let options: Vec<Value> = document["issues"][0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    let us = document["parties"][0]["id"].as_str().unwrap().to_owned();
    document["parties"][0]["red_lines"][&issue] = Value::Array(options);
    let walled = s.dir.path().join("walled.json");
    std::fs::write(&walled, serde_json::to_vec(&document).unwrap()).unwrap();
    let walled = walled.to_str().unwrap();
    let sealed = s.ok(
        "us",
        &["position", "seal", case, "--file", walled, "--party", &us],
    );
    let why = sealed["infeasible"][0].as_str().unwrap();
    assert!(why.contains(&format!("{issue:?}")), "{sealed}");
    let iran = document["parties"][1]["id"].as_str().unwrap().to_owned();
    let fine = s.ok(
        "iran",
        &[
            "position", "seal", case, "--file", scenario, "--party", &iran,
        ],
    );
    assert!(fine["infeasible"].as_array().unwrap().is_empty(), "{fine}");
    // The engine over the sealed positions, from the mediator's copy: no acceptable package.
    let solved = s.ok("pakistan", &["formula", "solve", "--case", case, "--json"]);
    assert_eq!(solved["parties"].as_array().unwrap().len(), 2, "{solved}");
    assert!(solved["pareto"].as_array().unwrap().is_empty(), "{solved}");
    let out = s.run("pakistan", &["draft", "propose", case]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no draft can be proposed") && stderr.contains(&issue),
        "{stderr}"
    );
}
