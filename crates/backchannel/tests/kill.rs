//! Real kills of the real binary: a party's `send` and the mediator's admitting `sync`, each
//! SIGKILLed dozens of times at spread instants. After every kill the home must open, sync and
//! post; at the end nothing was posted twice and every home re-verifies.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

mod common;

use common::{
    bin, identities, invite_party, new_case, ok_json, run, seat_parties, start_hub, texts,
};

/// Starts `args` on `home` and SIGKILLs it after `delay`; returns whether it had finished.
fn killed_after(home: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = bin()
        .arg("--home")
        .arg(home)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    child.wait().unwrap();
    finished
}

fn ok(home: &Path, args: &[&str]) {
    let out = run(home, args);
    assert!(
        out.status.success(),
        "{args:?} after a kill: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Spread instants over a command's life: a deterministic walk from 0 to `span_ms`.
fn delay(round: u64, span_ms: u64) -> Duration {
    Duration::from_millis(round * 37 % span_ms.max(1))
}

#[test]
fn homes_survive_sigkill_during_send_and_admission() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let home = |name: &str| dir.path().join(name);
    let (mediator, cypress) = (home("mediator"), home("cypress"));
    identities(&[(&mediator, "Mediator"), (&cypress, "Cypress A")]);
    let case = new_case(&mediator, &hub.url, "Kills");
    seat_parties(&mediator, &case, &[(&cypress, "Cypress")]);
    ok_json(&cypress, &["sync", &case]);

    // How long one send takes here, to spread the kills over its whole life.
    let started = std::time::Instant::now();
    ok_json(
        &cypress,
        &["send", &case, "--channel", "cypress", "--text", "timing"],
    );
    let span = (started.elapsed().as_millis() as u64).max(20) * 3 / 2;

    let rounds = 30;
    let mut finished = 0;
    for round in 0..rounds {
        let text = format!("kill round {round}");
        let args = [
            "send",
            case.as_str(),
            "--channel",
            "cypress",
            "--text",
            &text,
        ];
        finished += usize::from(killed_after(&cypress, &args, delay(round, span)));
        ok(&cypress, &["sync", &case]);
        ok(&mediator, &["sync", &case]);
    }
    ok(
        &cypress,
        &[
            "send",
            &case,
            "--channel",
            "cypress",
            "--text",
            "after the kills",
        ],
    );

    // The mediator's sync admitting a newcomer, killed over and over: a second delegate of
    // Cypress each round, who must end up seated and able to talk.
    let mut delegates = Vec::new();
    for round in 0..12u64 {
        let delegate = home(&format!("delegate-{round}"));
        ok_json(
            &delegate,
            &["id", "new", "--name", &format!("Cypress {round}")],
        );
        let code = invite_party(&mediator, &case, "Cypress");
        ok_json(&delegate, &["case", "join", &code]);
        // A few kills at spread instants, then a sync that must finish the admission.
        for kill in 0..3 {
            killed_after(
                &mediator,
                &["sync", &case],
                delay(round * 3 + kill, span * 4),
            );
        }
        ok(&mediator, &["sync", &case]);
        delegates.push(delegate);
    }
    for delegate in &delegates {
        ok(delegate, &["sync", &case]);
        let name = delegate.file_name().unwrap().to_string_lossy().into_owned();
        ok(
            delegate,
            &["send", &case, "--channel", "cypress", "--text", &name],
        );
    }
    ok(&mediator, &["sync", &case]);

    // Nothing posted twice, everything the delegates said reached the mediator, every home
    // re-verifies from its stored acts.
    let log = texts(&ok_json(
        &mediator,
        &["read", &case, "--channel", "cypress"],
    ));
    for text in &log {
        assert_eq!(
            log.iter().filter(|t| *t == text).count(),
            1,
            "{text:?} was posted twice: {log:?}"
        );
    }
    let sent = log.iter().filter(|t| t.starts_with("kill round")).count();
    assert!(
        sent >= finished,
        "{sent} of the {finished} finished sends arrived"
    );
    assert!(log.iter().any(|t| t == "after the kills"));
    for delegate in &delegates {
        let name = delegate.file_name().unwrap().to_string_lossy().into_owned();
        assert!(log.contains(&name), "{name} is missing from {log:?}");
    }
    for home in [&mediator, &cypress].into_iter().chain(&delegates) {
        let audit = ok_json(home, &["verify-home"]);
        assert_eq!(audit["cases"][0]["verified"], true, "{audit}");
    }
}
