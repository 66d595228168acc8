//! The docs' tables of commands name commands the binary has: every command in the tables of
//! docs/cli.md, docs/procedure.md and docs/implementation.md is asked for its help, and each
//! of its `--flags` must appear there.
#![allow(clippy::unwrap_used)]

mod common;

use common::bin;

const DOCS: [&str; 3] = ["cli.md", "procedure.md", "implementation.md"];

/// The commands quoted in a doc's table rows: the words before the first argument, and the
/// long flags after them.
fn commands(doc: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let mut found = vec![];
    for row in doc.lines().filter(|l| l.starts_with("| ")) {
        for quoted in row.split('`').skip(1).step_by(2) {
            let quoted = quoted.strip_prefix("backchannel ").unwrap_or(quoted);
            let mut words = quoted.split_whitespace().peekable();
            let mut command = vec![];
            while let Some(word) = words.peek() {
                if word.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    && !word.starts_with('-')
                {
                    command.push((*word).to_owned());
                    words.next();
                } else {
                    break;
                }
            }
            let flags = words
                .flat_map(|w| w.split(['[', ']', '(', ')', '|', '=', '.']))
                .filter(|w| w.starts_with("--") && w.len() > 2)
                .map(str::to_owned)
                .collect();
            if !command.is_empty() && KNOWN.contains(&command[0].as_str()) {
                found.push((command, flags));
            }
        }
    }
    found
}

/// The binary's top-level commands: a quoted word outside them is not a command line.
const KNOWN: [&str; 29] = [
    "hub",
    "id",
    "case",
    "sync",
    "send",
    "read",
    "verify-home",
    "formula",
    "charter",
    "issues",
    "agenda",
    "position",
    "require",
    "convey",
    "consent-convey",
    "nonpaper",
    "draft",
    "offer",
    "direct",
    "agreement",
    "declaration",
    "implement",
    "watch",
    "checkpoint",
    "export",
    "verify",
    "demo",
    "ui",
    "help",
];

#[test]
fn every_command_the_docs_tables_name_exists_with_its_flags() {
    let mut checked = 0;
    for doc in DOCS {
        let text =
            std::fs::read_to_string(format!("{}/../../docs/{doc}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        for (command, flags) in commands(&text) {
            let out = bin().args(&command).arg("--help").output().unwrap();
            let help = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{doc}: `{}` is not a command: {}",
                command.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            for flag in flags {
                assert!(
                    help.contains(&flag),
                    "{doc}: `{}` has no flag {flag}",
                    command.join(" ")
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 40,
        "only {checked} commands found in the docs' tables"
    );
}
