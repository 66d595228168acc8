//! How a participant's home behaves as a case grows: a real hub on loopback (SQLite in a
//! temporary folder), a mediator and one party built through the library, the case grown to
//! each size by messages on the party's bilateral channel (MLS), party and mediator taking
//! turns. At each size:
//!
//! - the library: `Vault::open` (the Argon2id unlock alone), `Client::open`, a sync with
//!   nothing new, `read_last(20)` and a full `read`, and the sustained post rate of one client
//!   (`send`s one after another, set against Synapse's 48–66 sequential sends/s), with the
//!   parts of a send that can be timed from outside: the rules' check, an empty page from the
//!   hub, a bare 512-byte post to the hub (a second participant's own case), and an fsync;
//! - the CLI (`target/release/backchannel`, run as a subprocess on the party's home with
//!   `--home` and `BACKCHANNEL_PASSPHRASE`, the hub still running): median wall time of
//!   `send`, `read --last 20`, a full `read`, `case show`, and, to tell where the time
//!   goes, `id show` (no unlock), `case list` (unlock, no network) and
//!   `read --last 20 --offline` (unlock and the store, no network); then `backchannel ui` on
//!   the same home, its case page and its channel page (the last 200 acts) loaded 100 times.
//!
//! ```text
//! cargo build --release -p backchannel
//! cargo run --release -p backchannel-client --example store_bench -- [sizes...]
//! ```
//!
//! Sizes default to 100 1000 10000 100000 acts. Environment: `STORE_BENCH_RUNS` (CLI runs per
//! command, default 7), `STORE_BENCH_POSTS` (sends timed for the post rate, default 800,
//! enough to take in the store's periodic checkpoints), `STORE_BENCH_BIN` (the CLI binary;
//! default `target/release/backchannel` of this workspace, or of `CARGO_TARGET_DIR`).
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backchannel_client::{Client, InviteRole};
use backchannel_core::api::{Blob, EntryKind, PostEntry};
use backchannel_core::{CaseId, ChannelName, HubChannel};

const PASS: &str = "store bench passphrase";
/// Synapse 1.163 (SQLite, loopback, this machine kind): sequential sends per second.
const SYNAPSE: (f64, f64) = (48.0, 66.0);
/// About the size of the MLS message a ~100-byte text makes.
const POST_PROBE_BYTES: usize = 512;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map_or(default, |v| v.parse().expect("a whole number"))
}

fn cli_binary() -> PathBuf {
    if let Ok(bin) = std::env::var("STORE_BENCH_BIN") {
        return bin.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("release/backchannel")
}

/// ~100 bytes of text.
fn text(i: usize, who: &str) -> String {
    let mut t = format!("message {i:07} from {who}: ");
    while t.len() < 100 {
        t.push_str("lorem ipsum ");
    }
    t.truncate(100);
    t
}

/// Acts the participant holds, summed over the channels it reads.
fn acts(client: &Client, case: CaseId) -> u64 {
    client
        .show(case)
        .unwrap()
        .channels
        .iter()
        .filter(|c| c.readable)
        .map(|c| c.acts)
        .sum()
}

fn file_mib(path: &Path) -> f64 {
    let mut bytes = 0;
    for suffix in ["", "-wal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        bytes += std::fs::metadata(&p).map_or(0, |m| m.len());
    }
    bytes as f64 / (1024.0 * 1024.0)
}

/// Runs the CLI on `home` once; returns its wall time and how many lines it printed.
async fn cli(bin: &Path, home: &Path, args: &[String]) -> (Duration, usize) {
    let mut command = Command::new(bin);
    command
        .env_remove("BACKCHANNEL_HOME")
        .env("BACKCHANNEL_PASSPHRASE", PASS)
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null());
    let shown = args.join(" ");
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let out = command.output().unwrap();
        let elapsed = started.elapsed();
        assert!(
            out.status.success(),
            "backchannel {shown}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (elapsed, out.stdout.iter().filter(|&&b| b == b'\n').count())
    })
    .await
    .unwrap()
}

/// What the fsync of a small append costs in the temporary folder (the outbox's durable
/// commit pays one before each post leaves).
fn fsync_cost(dir: &Path) -> Duration {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = [7u8; 4096];
    let mut times = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        file.write_all(&block).unwrap();
        file.sync_data().unwrap();
        times.push(started.elapsed());
    }
    drop(file);
    std::fs::remove_file(&path).unwrap();
    median(times)
}

struct Library {
    acts: u64,
    unlock: Duration,
    open: Duration,
    empty_sync: Duration,
    read_last: Duration,
    read_all: Duration,
    hub_post: Duration,
    posts: usize,
    posts_elapsed: Duration,
    /// Of `posts_elapsed`, the time spent awaiting the hub's answers.
    posts_hub_wait: Duration,
    posts_requests: u64,
    p50: Duration,
    p99: Duration,
}

struct Cli {
    acts: u64,
    store_mib: f64,
    /// Median per command, in the order of `CLI_COMMANDS`.
    medians: Vec<Duration>,
    full_read_lines: usize,
    /// `backchannel ui` on the same home: p50 and p95 of each page in `UI_PAGES`.
    pages: Vec<(Duration, Duration)>,
}

/// The UI's pages timed, as paths after the case's: its page, and its channel's (200 acts).
const UI_PAGES: [(&str, &str); 2] = [("case page", ""), ("channel page", "/channel/cypress")];
/// Requests timed per page.
const UI_REQUESTS: usize = 100;

/// One GET on the UI, by hand; returns the status.
fn ui_get(addr: &str, path: &str, cookie: &str) -> (u16, String) {
    use std::io::Read as _;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    (status, answer)
}

/// Starts `backchannel ui` on `home`, logs in, and times [`UI_REQUESTS`] loads of each page
/// (the whole request: connection, guard, render from the store, answer).
fn ui_pages(bin: &Path, home: &Path, case: &str) -> Vec<(Duration, Duration)> {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(["--json", "ui", "--no-open"])
        .env("BACKCHANNEL_PASSPHRASE", PASS)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = url["url"].as_str().unwrap();
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, login) = rest.split_once('/').unwrap();
    let (_, answer) = ui_get(addr, &format!("/{login}"), "");
    let cookie = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .map(|c| format!("Cookie: {}\r\n", c.split(';').next().unwrap()))
        .expect("a session cookie");
    let mut timings = Vec::new();
    for (_, suffix) in UI_PAGES {
        let path = format!("/case/{case}{suffix}");
        let mut times = Vec::new();
        for _ in 0..UI_REQUESTS {
            let start = Instant::now();
            let (status, _) = ui_get(addr, &path, &cookie);
            times.push(start.elapsed());
            assert_eq!(status, 200, "{path}");
        }
        times.sort();
        timings.push((percentile(&times, 0.5), percentile(&times, 0.95)));
    }
    let _ = child.kill();
    let _ = child.wait();
    timings
}

const CLI_COMMANDS: [&str; 8] = [
    "id show",
    "case list",
    "read --last 20 --offline",
    "read --last 20",
    "case show",
    "send",
    "read (full)",
    "read (full) --offline",
];

struct Grow {
    to: u64,
    added: u64,
    elapsed: Duration,
}

#[tokio::main]
async fn main() {
    let mut sizes: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes are whole numbers"))
        .collect();
    if sizes.is_empty() {
        sizes = vec![100, 1_000, 10_000, 100_000];
    }
    sizes.sort_unstable();
    let runs = env_usize("STORE_BENCH_RUNS", 7);
    let posts = env_usize("STORE_BENCH_POSTS", 800);
    let bin = cli_binary();
    let with_cli = bin.exists();
    if !with_cli {
        eprintln!(
            "note: {} not found (cargo build --release -p backchannel): CLI timings skipped",
            bin.display()
        );
    }

    // What every CLI command that reaches the hub pays once before its first request: the
    // first HTTP client this process builds (TLS set-up included).
    let t = Instant::now();
    drop(backchannel_client::hub::http_client().unwrap());
    let http_client_first = t.elapsed();

    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let hub = backchannel_hub::spawn_local(&dir.path().join("hub.sqlite"))
        .await
        .unwrap();
    let mediator_home = dir.path().join("mediator");
    let party_home = dir.path().join("cypress");
    Client::create_identity(&mediator_home, "Mediator", PASS).unwrap();
    Client::create_identity(&party_home, "Cypress", PASS).unwrap();
    let mut mediator = Client::open(&mediator_home, PASS).unwrap();
    let mut party = Some(Client::open(&party_home, PASS).unwrap());
    let case = mediator.create_case(&hub.url, "Store bench").await.unwrap();
    let code = mediator
        .invite(case, InviteRole::Party("Cypress".into()))
        .await
        .unwrap();
    party.as_mut().unwrap().join(&code).await.unwrap();
    mediator.sync(case).await.unwrap();
    party.as_mut().unwrap().sync(case).await.unwrap();
    let channel = ChannelName::parse("cypress").unwrap();
    assert!(
        party
            .as_ref()
            .unwrap()
            .readable_channels(case)
            .unwrap()
            .contains(&channel),
        "the party is not seated in its bilateral channel"
    );
    println!(
        "store_bench: hub {}, homes in {}; set-up {:.2} s; CLI {}",
        hub.url,
        dir.path().display(),
        started.elapsed().as_secs_f64(),
        if with_cli {
            bin.display().to_string()
        } else {
            "skipped".into()
        }
    );
    println!(
        "the first HTTP client built in a process (`hub::http_client`): {:.2} ms",
        ms(http_client_first)
    );
    let fsync = fsync_cost(dir.path());
    println!(
        "fsync of a 4 KiB append in that folder: {:.2} ms (median of 50)",
        ms(fsync)
    );

    // A second participant of the same hub with a case of its own, for timing bare posts.
    let probe = backchannel_client::hub::HubClient::new(
        &hub.url,
        ed25519_dalek::SigningKey::from_bytes(&rand::random()),
    )
    .unwrap();
    let probe_case = CaseId(rand::random());
    probe.create_case(probe_case).await.unwrap();
    let mut post_head = 0;
    let case_hex = case.to_hex();
    let mut grows = Vec::new();
    let mut library = Vec::new();
    let mut clis = Vec::new();
    let mut sent = 0usize;
    for &size in &sizes {
        // Grow: party and mediator take turns on the bilateral channel.
        let p = party.as_mut().unwrap();
        let from = acts(p, case);
        let grow_started = Instant::now();
        let mut last_report = Instant::now();
        let mut now = from;
        while now < size {
            if sent.is_multiple_of(2) {
                party
                    .as_mut()
                    .unwrap()
                    .send(case, &channel, &text(sent, "Cypress"))
                    .await
                    .unwrap();
            } else {
                mediator
                    .send(case, &channel, &text(sent, "Mediator"))
                    .await
                    .unwrap();
            }
            sent += 1;
            now += 1;
            if last_report.elapsed() > Duration::from_secs(15) {
                let e = grow_started.elapsed().as_secs_f64();
                eprintln!(
                    "  growing: {now} acts, {:.0} acts/s so far",
                    (now - from) as f64 / e
                );
                last_report = Instant::now();
            }
        }
        // The mediator's last post reaches the party's copy on its next pull.
        party.as_mut().unwrap().sync(case).await.unwrap();
        let held = acts(party.as_ref().unwrap(), case);
        let grown = Grow {
            to: held,
            added: held.saturating_sub(from),
            elapsed: grow_started.elapsed(),
        };
        eprintln!(
            "grew to {} acts: {} in {:.1} s",
            grown.to,
            grown.added,
            grown.elapsed.as_secs_f64()
        );
        grows.push(grown);

        // The library's opening costs, with the party's home closed by everyone else.
        drop(party.take());
        let mut unlocks = Vec::new();
        let mut opens = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let vault = backchannel_client::vault::Vault::open(&party_home, PASS).unwrap();
            unlocks.push(t.elapsed());
            drop(vault);
            let t = Instant::now();
            let client = Client::open(&party_home, PASS).unwrap();
            opens.push(t.elapsed());
            drop(client);
        }

        // The CLI on the party's home (the library's client closed: the home is locked).
        if with_cli {
            let mut medians = Vec::new();
            let mut full_read_lines = 0;
            let acts_before = {
                let c = Client::open(&party_home, PASS).unwrap();
                acts(&c, case)
            };
            for name in CLI_COMMANDS {
                let args: Vec<String> = match name {
                    "id show" => vec!["id".into(), "show".into()],
                    "case list" => vec!["case".into(), "list".into()],
                    "read --last 20 --offline" => {
                        vec![
                            "--offline".into(),
                            "read".into(),
                            case_hex.clone(),
                            "--last".into(),
                            "20".into(),
                        ]
                    }
                    "read --last 20" => {
                        vec![
                            "read".into(),
                            case_hex.clone(),
                            "--last".into(),
                            "20".into(),
                        ]
                    }
                    "case show" => vec!["case".into(), "show".into(), case_hex.clone()],
                    "send" => vec![
                        "send".into(),
                        case_hex.clone(),
                        "--channel".into(),
                        "cypress".into(),
                        "--text".into(),
                        "x".into(),
                    ],
                    "read (full)" => vec!["read".into(), case_hex.clone()],
                    "read (full) --offline" => {
                        vec!["--offline".into(), "read".into(), case_hex.clone()]
                    }
                    _ => unreachable!(),
                };
                let mut times = Vec::new();
                for _ in 0..runs {
                    let (t, lines) = cli(&bin, &party_home, &args).await;
                    times.push(t);
                    if name == "read (full)" {
                        full_read_lines = lines;
                    }
                }
                medians.push(median(times));
            }
            clis.push(Cli {
                acts: acts_before,
                store_mib: file_mib(&party_home.join("store.sqlite")),
                medians,
                full_read_lines,
                pages: ui_pages(&bin, &party_home, &case_hex),
            });
        }

        // The library's sustained post rate: one client, sends one after another.
        party = Some(Client::open(&party_home, PASS).unwrap());
        let p = party.as_mut().unwrap();
        p.sync(case).await.unwrap();
        let acts_now = acts(p, case);
        let mut syncs = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            p.sync(case).await.unwrap();
            syncs.push(t.elapsed());
        }
        let mut reads_last = Vec::new();
        let mut reads_all = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            assert!(p.read_last(case, None, Some(20)).unwrap().len() == 20);
            reads_last.push(t.elapsed());
            let t = Instant::now();
            assert!(p.read(case, None).unwrap().len() as u64 == acts_now);
            reads_all.push(t.elapsed());
        }
        // A bare post of that size to the hub, signed, over the same loopback: what the hub's
        // answer costs apart from the library.
        let mut post_times = Vec::new();
        for _ in 0..50 {
            let entry = PostEntry {
                kind: EntryKind::Message,
                after: post_head,
                body: Blob((0..POST_PROBE_BYTES).map(|_| rand::random()).collect()),
                welcome: None,
                add: vec![],
                remove: vec![],
            };
            let t = Instant::now();
            post_head = probe
                .post_entry(probe_case, &HubChannel::public(), &entry)
                .await
                .unwrap();
            post_times.push(t.elapsed());
        }
        let mut latencies = Vec::with_capacity(posts);
        let (waited_before, requests_before) = (p.hub_wait(), p.requests_sent());
        let posts_started = Instant::now();
        for i in 0..posts {
            let t = Instant::now();
            p.send(case, &channel, &text(i, "Cypress (rate)"))
                .await
                .unwrap();
            latencies.push(t.elapsed());
        }
        let posts_elapsed = posts_started.elapsed();
        let posts_hub_wait = p.hub_wait() - waited_before;
        let posts_requests = p.requests_sent() - requests_before;
        latencies.sort();
        library.push(Library {
            acts: acts_now,
            unlock: median(unlocks),
            open: median(opens),
            empty_sync: median(syncs),
            read_last: median(reads_last),
            read_all: median(reads_all),
            hub_post: median(post_times),
            posts,
            posts_elapsed,
            posts_hub_wait,
            posts_requests,
            p50: percentile(&latencies, 0.5),
            p99: percentile(&latencies, 0.99),
        });
        let l = library.last().unwrap();
        eprintln!(
            "at {} acts: {:.0} posts/s, Client::open {:.1} ms",
            l.acts,
            l.posts as f64 / l.posts_elapsed.as_secs_f64(),
            ms(l.open)
        );
    }
    let hub_mib = file_mib(&dir.path().join("hub.sqlite"));
    drop(party);
    drop(mediator);
    hub.stop().await.unwrap();

    println!();
    println!("Growing the case (party and mediator take turns on `cypress`, ~100-byte texts):");
    println!();
    println!("| to acts | acts added | time | acts/s |");
    println!("|---|---|---|---|");
    for g in &grows {
        println!(
            "| {} | {} | {:.1} s | {:.0} |",
            g.to,
            g.added,
            g.elapsed.as_secs_f64(),
            g.added as f64 / g.elapsed.as_secs_f64().max(1e-9)
        );
    }
    println!();
    println!(
        "Library, in process (median of {runs}; posts: {posts} `send`s by the party one after another):"
    );
    println!();
    println!(
        "| acts | Vault::open (Argon2id) | Client::open | sync, nothing new | posts/s | p50 | p99 | vs Synapse {}–{}/s |",
        SYNAPSE.0, SYNAPSE.1
    );
    println!("|---|---|---|---|---|---|---|---|");
    for l in &library {
        let rate = l.posts as f64 / l.posts_elapsed.as_secs_f64();
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | {:.0}–{:.0}× |",
            l.acts,
            ms(l.unlock),
            ms(l.open),
            ms(l.empty_sync),
            rate,
            ms(l.p50),
            ms(l.p99),
            rate / SYNAPSE.1,
            rate / SYNAPSE.0
        );
    }
    println!();
    println!(
        "Where a library `send` goes ({posts} sends; the hub's answers are timed inside the \
         library, around each request; the library's own time is the rest: rules, MLS, signing, \
         sealing, storing; the outbox's fsync runs while the request is in flight, and counts \
         only where it outlasts it):"
    );
    println!();
    println!(
        "| acts | send p50 | requests per send | awaiting the hub, per send | bare hub POST, {POST_PROBE_BYTES} B (p50) | the library's own time per send | an fsync, beside the request | the library alone, posts/s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for l in &library {
        let n = l.posts as f64;
        let own = (l.posts_elapsed - l.posts_hub_wait).as_secs_f64() / n;
        println!(
            "| {} | {:.2} ms | {:.2} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} |",
            l.acts,
            ms(l.p50),
            l.posts_requests as f64 / n,
            l.posts_hub_wait.as_secs_f64() * 1e3 / n,
            ms(l.hub_post),
            own * 1e3,
            ms(fsync),
            1.0 / own
        );
    }
    println!();
    println!("Library reads (median of {runs}):");
    println!();
    println!("| acts | read_last(20) | read (all) | per act |");
    println!("|---|---|---|---|");
    for l in &library {
        println!(
            "| {} | {:.2} ms | {:.1} ms | {:.1} µs |",
            l.acts,
            ms(l.read_last),
            ms(l.read_all),
            l.read_all.as_secs_f64() * 1e6 / l.acts as f64
        );
    }
    if !clis.is_empty() {
        println!();
        println!("CLI on the party's home, hub running (median of {runs} runs, ms):");
        println!();
        print!("| acts | store MiB |");
        for name in CLI_COMMANDS {
            print!(" {name} |");
        }
        println!();
        println!("|---|---|{}", "---|".repeat(CLI_COMMANDS.len()));
        for c in &clis {
            print!("| {} | {:.1} |", c.acts, c.store_mib);
            for m in &c.medians {
                print!(" {:.1} |", ms(*m));
            }
            println!();
        }
        if clis.len() > 1 {
            let (first, last) = (&clis[0], &clis[clis.len() - 1]);
            print!("| ratio {} / {} | |", last.acts, first.acts);
            for (a, b) in first.medians.iter().zip(&last.medians) {
                print!(" {:.2}× |", b.as_secs_f64() / a.as_secs_f64());
            }
            println!();
        }
        println!();
        println!(
            "`backchannel ui` on the party's home ({UI_REQUESTS} loads of each page, one after \
             another, each a new connection; p50 / p95, ms):"
        );
        println!();
        print!("| acts |");
        for (name, _) in UI_PAGES {
            print!(" {name} |");
        }
        println!();
        println!("|---|{}", "---|".repeat(UI_PAGES.len()));
        for c in &clis {
            print!("| {} |", c.acts);
            for (p50, p95) in &c.pages {
                print!(" {:.2} / {:.2} |", ms(*p50), ms(*p95));
            }
            println!();
        }
        println!();
        for c in &clis {
            println!(
                "full read at {} acts printed {} lines",
                c.acts, c.full_read_lines
            );
        }
    }
    println!(
        "hub database {hub_mib:.1} MiB; whole run {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
