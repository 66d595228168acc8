//! The commands: raw flags parsed by clap, checked, then handed to the client library.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use backchannel_client::{Client, InviteCode};
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::output;
use crate::session::{channel, home, open, passphrase, refresh};

/// Discreet, mediated negotiation over end-to-end encrypted channels.
#[derive(Parser, Debug)]
#[command(name = "backchannel", version, about, long_about = None)]
pub struct Args {
    /// The participant's home folder (identity and state). Defaults to $BACKCHANNEL_HOME,
    /// else the platform's per-user data folder.
    #[arg(long, global = true, env = "BACKCHANNEL_HOME")]
    pub home: Option<PathBuf>,
    /// Print one JSON document instead of prose (errors too, on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// Log progress on stderr.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Do not reach the hub: commands that only read use this participant's own verified
    /// copy (saying how old it is); commands that post fail with `hub_unreachable`.
    #[arg(long, global = true)]
    pub offline: bool,
    /// Trust the certificate authorities in this PEM file for hubs, beside the public ones
    /// (a hub with its own certificate authority, or a self-signed certificate).
    #[arg(long, global = true, value_name = "FILE", env = "BACKCHANNEL_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Allow plain HTTP to a hub that is not on loopback. Anyone on the network then sees
    /// which cases you work on and when; only for a network you trust.
    #[arg(long, global = true)]
    pub insecure_http: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a hub: the relay that stores and orders ciphertext.
    Hub {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: SocketAddr,
        /// SQLite database file, or a PostgreSQL URL (`postgres://user@host/db`) that
        /// several hubs may share; created or migrated at start.
        #[arg(long, default_value = "backchannel-hub.sqlite")]
        db: PathBuf,
        /// Only the keys in this file may convene cases: one hex public key per line (as
        /// `backchannel id show` prints it), blank lines and `#` comments allowed.
        #[arg(long, value_name = "FILE", conflicts_with = "open")]
        mediators: Option<PathBuf>,
        /// Anyone may convene cases, within the quotas (the default when no --mediators).
        #[arg(long)]
        open: bool,
        /// The most cases one key may create.
        #[arg(
            long,
            value_name = "N",
            default_value_t = backchannel_hub::policy::DEFAULT_MAX_CASES_PER_KEY,
            value_parser = clap::value_parser!(u64).range(1..)
        )]
        max_cases_per_key: u64,
        /// The most invites one case may hold, spent, revoked and expired ones included.
        #[arg(
            long,
            value_name = "N",
            default_value_t = backchannel_hub::policy::DEFAULT_MAX_INVITES_PER_CASE,
            value_parser = clap::value_parser!(u64).range(1..)
        )]
        max_invites_per_case: u64,
        /// Requests per second one key may send, in bursts of twice that (0: unbounded).
        #[arg(
            long,
            value_name = "N",
            default_value_t = backchannel_hub::rate::DEFAULT_REQUESTS_PER_SECOND
        )]
        max_requests_per_second: u32,
        /// The most bytes of entries one key may store at the hub.
        #[arg(
            long,
            value_name = "BYTES",
            default_value_t = backchannel_hub::policy::DEFAULT_MAX_BYTES_PER_KEY,
            value_parser = clap::value_parser!(u64).range(1..)
        )]
        max_bytes_per_key: u64,
        /// How durable an acknowledged entry is on SQLite: `normal` survives a killed hub,
        /// `full` also a power loss (every commit synced). PostgreSQL always syncs.
        #[arg(long, default_value = "normal", value_parser = ["normal", "full"])]
        durability: String,
        /// Serve HTTPS with this PEM certificate chain (with --tls-key).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// Serve `GET /metrics` (Prometheus text) on this address, apart from the API.
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<SocketAddr>,
        /// The PEM private key of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The most connections open at once; one more is closed as it is accepted.
        #[arg(
            long,
            value_name = "N",
            default_value_t = backchannel_hub::listen::DEFAULT_MAX_CONNECTIONS,
            value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000)
        )]
        max_connections: usize,
        /// The most connections open at once from one address.
        #[arg(
            long,
            value_name = "N",
            default_value_t = backchannel_hub::listen::DEFAULT_MAX_PER_PEER,
            value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000)
        )]
        max_connections_per_peer: usize,
    },
    /// Manage this participant's identity.
    Id {
        #[command(subcommand)]
        command: IdCommand,
    },
    /// Convene, join and inspect cases.
    Case {
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Fetch and verify everything new in a case (as mediator, also admit newcomers).
    Sync {
        /// The case id (or a unique prefix of it).
        case: String,
    },
    /// Send a message on a channel (on `public`, a public statement everyone reads).
    Send {
        case: String,
        #[arg(long)]
        channel: String,
        #[arg(long)]
        text: String,
    },
    /// Print the verified log of a case, or of one channel.
    Read {
        case: String,
        #[arg(long)]
        channel: Option<String>,
        /// Only the last N acts.
        #[arg(long, value_name = "N")]
        last: Option<u64>,
    },
    /// Audit this participant's home: re-verify every stored act of every case (signatures,
    /// chains, rules) and replay each log against its stored fold.
    VerifyHome,
    /// The formula engine: frontier, fair points, Adjusted Winner, next draft, conversion.
    Formula {
        #[command(subcommand)]
        command: crate::formula_cmd::FormulaCommand,
    },
    /// The mediation procedure: charter, issues, agenda, positions, requirements, conveying,
    /// drafts, offers, direct talks, agreement, declarations.
    #[command(flatten)]
    Procedure(crate::procedure_cmd::ProcedureCommand),
    /// Follow a case live: print every new verified act as the hub pushes notice of it.
    Watch {
        case: String,
        /// Stop after this many new acts.
        #[arg(long)]
        count: Option<usize>,
    },
    /// Co-sign, on the public record, the heads of the channels you read: anyone shown another
    /// history of one of them refuses it with `equivocation`.
    Checkpoint { case: String },
    /// Write your record of a case (the public record; with --all every channel you read) as
    /// a file anyone can verify offline.
    Export {
        case: String,
        /// Include every channel you read, not only the public record.
        #[arg(long)]
        all: bool,
        /// Write to FILE instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify an exported record offline: every signature, chain and rule, with no hub and no
    /// key; prints what the record establishes.
    Verify { file: PathBuf },
    /// What is waiting for you, in every case (or one): what you are expected to do next,
    /// and by when where the charter or the plan says.
    Inbox { case: Option<String> },
    /// Serve this participant's desk in a browser, on loopback only: unlocks the home once,
    /// keeps every case up to date over the hub's push stream, prints a one-time link.
    Ui {
        /// Loopback address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Do not open a browser; only print the link.
        #[arg(long)]
        no_open: bool,
    },
    /// Run the seed scenario end to end on an embedded hub, with no set-up.
    Demo {
        /// Keep the hub database and every participant's home in DIR.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum IdCommand {
    /// Create an Ed25519 identity, sealed under a passphrase ($BACKCHANNEL_PASSPHRASE or a
    /// prompt).
    New {
        #[arg(long)]
        name: String,
    },
    /// Print the name, the public key and the fingerprint to compare out of band.
    Show,
}

#[derive(Subcommand, Debug)]
pub enum CaseCommand {
    /// Convene a new case on a hub, as its mediator.
    New {
        #[arg(long)]
        hub: String,
        #[arg(long)]
        title: String,
        /// A hub to co-sign the public record's heads (repeatable; any hub serves).
        #[arg(long = "witness", value_name = "URL")]
        witnesses: Vec<String>,
    },
    /// Issue a one-time invite code (mediator only), or revoke one (`case invite revoke`).
    Invite(crate::admission_cmd::InviteArgs),
    /// Admit joiners waiting for the mediator (mediator only), after comparing fingerprints.
    Admit {
        case: String,
        /// The joiner's public key, or its first hex digits (four at least).
        #[arg(long, conflicts_with = "all")]
        key: Option<String>,
        /// Every joiner waiting.
        #[arg(long)]
        all: bool,
    },
    /// Join a case with an invite code.
    Join { code: String },
    /// Participants, channels and phase.
    Show { case: String },
    /// A 30-digit code of the public record's head, to read out and compare with another
    /// participant: equal codes at the same index mean the same public record.
    Fingerprint { case: String },
    /// Every case this participant is in.
    List,
    /// Remove a participant from a discreet channel (mediator only); rotates its keys.
    Remove {
        case: String,
        #[arg(long)]
        channel: String,
        /// The participant's public key (hex).
        #[arg(long)]
        key: String,
    },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let extra_roots = match &args.ca_file {
        Some(path) => backchannel_client::hub::read_roots(path)?,
        None => vec![],
    };
    backchannel_client::hub::set_transport(backchannel_client::hub::Transport {
        extra_roots,
        insecure_http: args.insecure_http,
    })?;
    let json = args.json;
    let offline = args.offline;
    match args.command {
        Command::Hub {
            listen,
            db,
            mediators,
            open,
            max_cases_per_key,
            max_invites_per_case,
            max_requests_per_second,
            max_bytes_per_key,
            durability,
            tls_cert,
            tls_key,
            metrics_listen,
            max_connections,
            max_connections_per_peer,
        } => {
            let durability = backchannel_hub::Durability::parse(&durability)
                .context("--durability is normal or full")?;
            let conveners = match mediators {
                Some(path) => backchannel_hub::Conveners::Listed(
                    backchannel_hub::policy::read_mediators(&path)?,
                ),
                None => {
                    if !open {
                        eprintln!(
                            "note: anyone may convene cases on this hub (no --mediators FILE); \
                             pass --open to say so, or --mediators FILE to name who may"
                        );
                    }
                    backchannel_hub::Conveners::Anyone
                }
            };
            let policy = backchannel_hub::Policy {
                conveners,
                max_cases_per_key,
                max_invites_per_case,
                max_requests_per_second: (max_requests_per_second > 0)
                    .then_some(max_requests_per_second),
                max_bytes_per_key,
            };
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    Some(backchannel_hub::listen::tls_acceptor(&cert, &key)?)
                }
                _ => None,
            };
            let listening = backchannel_hub::Listening {
                max_connections,
                max_per_peer: max_connections_per_peer,
                header_timeout: backchannel_hub::listen::HEADER_TIMEOUT,
                tls,
            };
            let scheme = listening.scheme();
            let db = backchannel_hub::Database::from(db);
            // Shown without the password a PostgreSQL URL may carry, and only once the
            // database is open and the port bound: a script may connect when it reads this.
            let shown = db.to_string();
            backchannel_hub::serve_with(
                backchannel_hub::HubConfig {
                    listen,
                    db,
                    durability,
                    listening,
                    metrics: metrics_listen,
                },
                policy,
                backchannel_hub::shutdown_signal(),
                |at| eprintln!("backchannel hub listening on {scheme}://{at} (database {shown})"),
            )
            .await
        }
        Command::Id {
            command: IdCommand::New { name },
        } => {
            let home = home(args.home)?;
            let key = Client::create_identity(&home, &name, &passphrase(true)?)?;
            if json {
                output::json(
                    &json!({ "name": name, "key": key, "fingerprint": key.fingerprint(), "home": home }),
                )
            } else {
                println!("created identity {name} in {}", home.display());
                println!("fingerprint: {}", key.fingerprint());
                Ok(())
            }
        }
        Command::Id {
            command: IdCommand::Show,
        } => {
            let home = home(args.home)?;
            let (name, key) = backchannel_client::vault::Vault::peek(&home)?;
            if json {
                output::json(&json!({ "name": name, "key": key, "fingerprint": key.fingerprint() }))
            } else {
                println!("name:        {name}");
                println!("key:         {key}");
                println!("fingerprint: {}", key.fingerprint());
                Ok(())
            }
        }
        Command::Case { command } => case(args.home, json, offline, command).await,
        Command::Sync { case } => {
            let mut client = open(args.home, offline)?;
            let case = client.resolve_case(&case)?;
            let report = client.sync(case).await?;
            if json {
                return output::json(&report);
            }
            for name in &report.admitted {
                println!("admitted {name}");
            }
            crate::admission_cmd::print_pending(&report.pending);
            for line in &report.new {
                println!(
                    "[{}#{}] {}: {}",
                    line.channel, line.index, line.author, line.text
                );
            }
            println!("{} new verified acts", report.new.len());
            Ok(())
        }
        Command::Send {
            case,
            channel: name,
            text,
        } => {
            let mut client = open(args.home, offline)?;
            let case = client.resolve_case(&case)?;
            let line = client.send(case, &channel(&name)?, &text).await?;
            if json {
                output::json(&line)
            } else {
                println!("sent on {} as act #{}", line.channel, line.index);
                Ok(())
            }
        }
        Command::Read {
            case,
            channel: name,
            last,
        } => {
            let mut client = open(args.home, offline)?;
            let case = client.resolve_case(&case)?;
            let filter = name.as_deref().map(channel).transpose()?;
            refresh(&mut client, case).await?;
            if let Some(filter) = &filter
                && !client.readable_channels(case)?.contains(filter)
            {
                // Say so rather than print nothing: a channel of the case this participant
                // does not sit in, or no such channel at all.
                return Err(if client.state(case)?.channels.contains_key(filter) {
                    backchannel_client::ClientError::NotInChannel(filter.to_string()).into()
                } else {
                    backchannel_client::ClientError::Rule(
                        backchannel_core::Rejection::UnknownChannel(filter.clone()),
                    )
                    .into()
                });
            }
            let lines = client.read_last(case, filter.as_ref(), last)?;
            if json {
                return output::json(&lines);
            }
            for line in lines {
                println!(
                    "[{}#{}] {}: {}",
                    line.channel, line.index, line.author, line.text
                );
            }
            Ok(())
        }
        Command::Formula { command } => crate::formula_cmd::run(command, args.home, offline).await,
        Command::Procedure(command) => {
            crate::procedure_cmd::run(args.home, json, offline, command).await
        }
        Command::Watch { case, count } => {
            let mut client = open(args.home, offline)?;
            let case = client.resolve_case(&case)?;
            let mut seen = 0usize;
            client
                .watch(case, |report| {
                    for line in &report.new {
                        if json {
                            println!("{}", serde_json::to_string(line).unwrap_or_default());
                        } else {
                            println!(
                                "[{}#{}] {}: {}",
                                line.channel, line.index, line.author, line.text
                            );
                        }
                    }
                    seen += report.new.len();
                    count.is_none_or(|count| seen < count)
                })
                .await?;
            Ok(())
        }
        Command::Checkpoint { case } => {
            let mut client = open(args.home, offline)?;
            let case = client.resolve_case(&case)?;
            let line = client.checkpoint(case).await?;
            if json {
                output::json(&line)
            } else {
                println!("{}", line.text);
                Ok(())
            }
        }
        Command::VerifyHome => {
            let client = open(args.home, offline)?;
            let mut cases = Vec::new();
            for case in client.cases() {
                let acts = client
                    .verify_log(case)
                    .map(|_| client.verified_log(case).map(|l| l.len()));
                match acts {
                    Ok(Ok(acts)) => {
                        cases.push(json!({ "case": case, "acts": acts, "verified": true }))
                    }
                    Ok(Err(e)) | Err(e) => {
                        return Err(anyhow::Error::new(e)
                            .context(format!("case {case} of this home does not verify")));
                    }
                }
            }
            if json {
                output::json(&json!({ "cases": cases }))
            } else {
                for case in &cases {
                    println!(
                        "case {}: {} acts re-verified and replayed to the stored state",
                        case["case"].as_str().unwrap_or("?"),
                        case["acts"]
                    );
                }
                println!("{} case(s) verified", cases.len());
                Ok(())
            }
        }
        Command::Export { case, all, out } => {
            let mut client = open(args.home, offline)?;
            let case = client.resolve_case(&case)?;
            refresh(&mut client, case).await?;
            let record = serde_json::to_vec_pretty(&client.export(case, all)?)?;
            match out {
                Some(path) => std::fs::write(&path, record)
                    .with_context(|| format!("writing {}", path.display())),
                None => {
                    println!("{}", String::from_utf8_lossy(&record));
                    Ok(())
                }
            }
        }
        Command::Verify { file } => verify(&file, json),
        Command::Inbox { case } => {
            let mut client = open(args.home, offline)?;
            inbox(&mut client, json, case).await
        }
        Command::Ui { listen, no_open } => {
            let client = open(args.home, offline)?;
            crate::ui::run(client, listen, !no_open, json).await
        }
        Command::Demo { keep } => crate::demo::run(keep, json).await,
    }
}

async fn case(
    home_dir: Option<PathBuf>,
    json: bool,
    offline: bool,
    command: CaseCommand,
) -> anyhow::Result<()> {
    let mut client = open(home_dir, offline)?;
    match command {
        CaseCommand::New {
            hub,
            title,
            witnesses,
        } => {
            let case = client.create_case_with(&hub, &title, &witnesses).await?;
            if json {
                let witnesses = &client.state(case)?.witnesses;
                output::json(
                    &json!({ "case": case, "title": title, "hub": hub, "witnesses": witnesses }),
                )
            } else {
                println!("{case}");
                Ok(())
            }
        }
        CaseCommand::Invite(args) => crate::admission_cmd::invite(&mut client, json, args).await,
        CaseCommand::Admit { case, key, all } => {
            crate::admission_cmd::admit(&mut client, json, &case, key, all).await
        }
        CaseCommand::Join { code } => {
            let code = InviteCode::decode(&code)?;
            let case = client.join(&code).await?;
            crate::admission_cmd::joined(&client, json, case)
        }
        CaseCommand::Fingerprint { case } => {
            let case = client.resolve_case(&case)?;
            refresh(&mut client, case).await?;
            let fingerprint = client.fingerprint(case)?;
            if json {
                output::json(&fingerprint)
            } else {
                println!("{}", fingerprint.code);
                println!(
                    "the public record at index {} (act {}); read it out and compare",
                    fingerprint.index,
                    fingerprint.hash.short()
                );
                Ok(())
            }
        }
        CaseCommand::Show { case } => {
            let case = client.resolve_case(&case)?;
            refresh(&mut client, case).await?;
            let summary = client.show(case)?;
            let procedure = crate::procedure_cmd::summary(client.state(case)?);
            let admission = client.admission(case)?;
            let mut waiting = backchannel_core::inbox::waiting(
                client.state(case)?,
                &client.key(),
                backchannel_client::hub::now_ms(),
            );
            for task in &mut waiting {
                task.command = task.command.replace("CASE", &case.to_string());
            }
            if json {
                let mut shown = serde_json::to_value(&summary)?;
                if let Some(object) = shown.as_object_mut() {
                    object.insert("procedure".into(), procedure);
                    object.insert("admission".into(), serde_json::to_value(&admission)?);
                    object.insert("alarm".into(), serde_json::to_value(client.alarm(case)?)?);
                    object.insert("waiting".into(), serde_json::to_value(&waiting)?);
                    object.insert(
                        "witnesses".into(),
                        serde_json::to_value(&client.state(case)?.witnesses)?,
                    );
                }
                return output::json(&shown);
            }
            println!("case {} — {}", summary.case, summary.title);
            println!(
                "hub {}; phase {:?}; you are {} ({}), {}",
                summary.hub,
                summary.phase,
                summary.me,
                summary.my_role,
                crate::admission_cmd::admission_line(&admission)
            );
            if let Some(alarm) = client.alarm(case)? {
                println!("STOPPED ({}): {}", alarm.code, alarm.message);
            }
            for witness in &client.state(case)?.witnesses {
                println!("witness {} (key {})", witness.url, witness.key.short());
            }
            println!("participants:");
            for p in &summary.participants {
                println!(
                    "  {:<24} {:<10} {:<16} {}",
                    p.name,
                    p.role,
                    p.party.as_deref().unwrap_or("-"),
                    p.fingerprint
                );
            }
            println!("channels:");
            for c in &summary.channels {
                if c.readable {
                    println!(
                        "  {:<16} {:<24} {} acts, readable — members: {}",
                        c.channel.as_str(),
                        c.kind,
                        c.acts,
                        c.members.join(", ")
                    );
                } else {
                    println!(
                        "  {:<16} {:<24} not readable by you — members: {}",
                        c.channel.as_str(),
                        c.kind,
                        c.members.join(", ")
                    );
                }
            }
            crate::procedure_cmd::print_summary(&procedure);
            println!("waiting for you:");
            print_tasks(&waiting);
            Ok(())
        }
        CaseCommand::List => {
            let cases: Vec<_> = client
                .cases()
                .into_iter()
                .filter_map(|case| client.show(case).ok())
                .map(|s| json!({ "case": s.case, "title": s.title, "role": s.my_role, "hub": s.hub, "synced_ms": s.synced_ms }))
                .collect();
            if json {
                return output::json(&cases);
            }
            for case in cases {
                println!(
                    "{} {} ({})",
                    case["case"].as_str().unwrap_or_default(),
                    case["title"].as_str().unwrap_or_default(),
                    case["role"].as_str().unwrap_or_default()
                );
            }
            Ok(())
        }
        CaseCommand::Remove {
            case,
            channel: name,
            key,
        } => {
            let case = client.resolve_case(&case)?;
            let key = backchannel_core::PublicKey::parse(&key)
                .context("--key takes a public key of 64 hex digits")?;
            client
                .remove_from_channel(case, &channel(&name)?, key)
                .await?;
            if json {
                output::json(&json!({ "case": case, "channel": name, "removed": key }))
            } else {
                println!(
                    "removed {} from {name}; the channel's keys are rotated",
                    key.short()
                );
                Ok(())
            }
        }
    }
}

/// The most bytes `verify` reads.
const MAX_RECORD_BYTES: u64 = 512 * 1024 * 1024;

fn verify(file: &std::path::Path, json: bool) -> anyhow::Result<()> {
    use backchannel_core::record::Record;
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if size > MAX_RECORD_BYTES {
        bail!(
            "{} is {size} bytes, over the {MAX_RECORD_BYTES}-byte limit",
            file.display()
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (record, state) =
        Record::verify(&bytes).with_context(|| format!("{} does not verify", file.display()))?;
    let agreement = state.procedure.agreement.as_ref().filter(|a| a.published);
    // Implementation, from the record alone, at this machine's time.
    let implementation = state.procedure.implementation.as_ref().map(|i| {
        let now = backchannel_client::hub::now_ms();
        let status =
            backchannel_core::plan::status(&i.plan, &state.procedure.implementation_facts(), now);
        (i.in_force, now, status)
    });
    let summary = json!({
        "verified": true,
        "case": record.case,
        "title": state.title,
        "acts": record.acts.len(),
        "mediator": { "key": state.mediator, "fingerprint": state.mediator.fingerprint() },
        "phase": state.phase,
        "participants": state.participants.iter().map(|(k, p)| json!({
            "name": p.name, "role": p.role.label(), "key": k, "fingerprint": k.fingerprint(),
        })).collect::<Vec<_>>(),
        "agreement": agreement.map(|a| json!({
            "title": a.agreement.title,
            "hash": hex::encode(a.hash.0),
            "clauses": a.agreement.clauses.iter().map(|c| c.text.clone()).collect::<Vec<_>>(),
            "signed_by": a.signatures.keys().map(|k| state.name_of(k)).collect::<Vec<_>>(),
            "guaranteed_by": a.guaranteed_by.iter().map(|k| state.name_of(k)).collect::<Vec<_>>(),
        })),
        "declarations_published": state.procedure.declarations_published,
        "implementation": implementation.as_ref().map(|(in_force, now, status)| {
            let mut shown = serde_json::to_value(status).unwrap_or_default();
            if let Some(object) = shown.as_object_mut() {
                object.insert("in_force".into(), json!(in_force));
                object.insert("at_ms".into(), json!(now));
            }
            shown
        }),
    });
    if json {
        return output::json(&summary);
    }
    println!(
        "{}: verified — {} acts, every signature, chain and rule checked offline.",
        file.display(),
        record.acts.len()
    );
    println!(
        "case {} — {}; phase {:?}",
        record.case, state.title, state.phase
    );
    println!(
        "mediator fingerprint (compare out of band): {}",
        state.mediator.fingerprint()
    );
    if let Some(a) = agreement {
        println!(
            "agreement \"{}\" ({})",
            a.agreement.title,
            hex::encode(&a.hash.0[..8])
        );
        for clause in &a.agreement.clauses {
            println!("  · {}", clause.text);
        }
        let names = |keys: Vec<&backchannel_core::PublicKey>| {
            keys.into_iter()
                .map(|k| state.name_of(k))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("  signed by: {}", names(a.signatures.keys().collect()));
        println!(
            "  guaranteed by: {}",
            names(a.guaranteed_by.iter().collect())
        );
    }
    if let Some((in_force, _, status)) = &implementation {
        println!(
            "implementation plan {}: score {:.0} %",
            if *in_force { "in force" } else { "proposed" },
            status.score * 100.0
        );
        for m in &status.milestones {
            match m.reached_at_ms {
                Some(at) => println!("  {} reached {}", m.title, output::utc(at)),
                None => println!("  {} not reached", m.title),
            }
        }
    }
    Ok(())
}

/// `backchannel inbox`: each case's tasks, the case id in their commands.
async fn inbox(client: &mut Client, json: bool, case: Option<String>) -> anyhow::Result<()> {
    let cases = match case {
        Some(case) => vec![client.resolve_case(&case)?],
        None => client.cases(),
    };
    let mut listed = Vec::new();
    for case in cases {
        let mut tasks = client.inbox(case).await?;
        for task in &mut tasks {
            task.command = task.command.replace("CASE", &case.to_string());
        }
        listed.push((case, client.state(case)?.title.clone(), tasks));
    }
    if json {
        let value: Vec<_> = listed
            .iter()
            .map(|(case, title, tasks)| json!({ "case": case, "title": title, "tasks": tasks }))
            .collect();
        return output::json(&value);
    }
    for (case, title, tasks) in &listed {
        println!("{case} — {title}");
        print_tasks(tasks);
    }
    Ok(())
}

/// Tasks as prose: one line each, the command under it.
pub(crate) fn print_tasks(tasks: &[backchannel_core::inbox::Task]) {
    if tasks.is_empty() {
        println!("  nothing waits for you");
    }
    for task in tasks {
        let due = match (&task.due, task.due_ms) {
            (Some(date), _) => format!(" (by {date})"),
            (None, Some(ms)) => format!(" (due {})", output::utc(ms)),
            (None, None) => String::new(),
        };
        println!("  • {}{due}", task.says);
        println!("      {}", task.command);
    }
}
