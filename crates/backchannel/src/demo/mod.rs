//! `backchannel demo`: the seed scenario's proximity phase, end to end, with no set-up — an
//! embedded hub on a free loopback port over a fresh SQLite file, five participants each with
//! their own sealed home, real MLS groups, and a closing account of who could read what,
//! checked against the hub itself and against its database file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use backchannel_client::{Client, InviteRole, LogLine};
use backchannel_core::{CaseId, ChannelName};
use serde::Serialize;

use crate::output;

mod implementation;
mod procedure;

/// The passphrase sealing every demo identity (so `--keep` homes can be opened later).
pub const DEMO_PASSPHRASE: &str = "backchannel-demo";
const TITLE: &str = "Restoring a diplomatic track between the United States and Iran";

struct Cast {
    mediator: Client,
    /// Each party's first delegate, who speaks for it in the story.
    parties: Vec<(String, Client)>,
    observers: Vec<Client>,
    /// Delegates who joined their party's delegation later.
    late: Vec<Client>,
}

impl Cast {
    fn all(&self) -> Vec<&Client> {
        let mut all = vec![&self.mediator];
        all.extend(self.parties.iter().map(|(_, c)| c));
        all.extend(self.late.iter());
        all.extend(self.observers.iter());
        all
    }

    fn all_mut(&mut self) -> Vec<&mut Client> {
        let mut all = vec![&mut self.mediator];
        all.extend(self.parties.iter_mut().map(|(_, c)| c));
        all.extend(self.late.iter_mut());
        all.extend(self.observers.iter_mut());
        all
    }

    fn party(&mut self, name: &str) -> anyhow::Result<&mut Client> {
        self.parties
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .context("no such party")
    }
}

/// One message of the story: who, where, what.
struct Line {
    from: &'static str,
    channel: &'static str,
    text: &'static str,
}

/// The proximity talks, after the seed report: the mediator bridges the gap by separate,
/// confidential contacts, then speaks in public.
const PROXIMITY: &[Line] = &[
    Line {
        from: "Pakistan",
        channel: "iran",
        text: "Islamabad believes a diplomatic track can replace confrontation in the Gulf. Would Tehran consider direct talks with Washington?",
    },
    Line {
        from: "Iran",
        channel: "iran",
        text: "Tehran is open to a diplomatic track if economic and military pressure is eased. We will not accept preconditions before the talks begin.",
    },
    Line {
        from: "Pakistan",
        channel: "united-states",
        text: "Tehran signals openness to a diplomatic track, without preconditions. What does Washington need on the table?",
    },
    Line {
        from: "United States",
        channel: "united-states",
        text: "An Iranian nuclear weapon is a red line that cannot be crossed. We will listen to Iranian proposals if Tehran shows a genuine change in regional behaviour; threats to American bases must be on the agenda.",
    },
    Line {
        from: "Pakistan",
        channel: "iran",
        text: "Washington is willing to listen to your proposals. It asks that regional conduct and the security of bases be on the agenda, not a precondition.",
    },
    Line {
        from: "Iran",
        channel: "iran",
        text: "We can discuss regional de-escalation as an agenda item, alongside sanctions relief and the protection of our civilian nuclear programme.",
    },
    Line {
        from: "Pakistan",
        channel: "public",
        text: "Pakistan is facilitating contacts between the United States and Iran to move from military confrontation to a diplomatic track. Both sides have engaged in good faith; procedural guarantees protect the discreet channels.",
    },
];

#[derive(Serialize)]
struct Visibility {
    participant: String,
    role: String,
    reads: Vec<(String, usize)>,
    refused: Vec<(String, String)>,
    positions_held: Vec<String>,
    offers_readable: usize,
}

#[derive(Serialize)]
struct Report {
    case: CaseId,
    hub: String,
    kept_in: Option<PathBuf>,
    messages_sent: usize,
    visibility: Vec<Visibility>,
    hub_entries: usize,
    plaintexts_found_in_hub_storage: usize,
    plaintexts_found_in_homes: usize,
}

struct Narrator {
    quiet: bool,
}

impl Narrator {
    fn say(&self, text: impl AsRef<str>) {
        if !self.quiet {
            println!("{}", text.as_ref());
        }
    }
}

/// Iran's delegation grows after the proximity talks began: its negotiator joins, is seated
/// in Iran's channel and handed the channel's history, and reads it from its first act.
async fn join_late(
    cast: &mut Cast,
    case: CaseId,
    homes: &Path,
    n: &Narrator,
) -> anyhow::Result<()> {
    let mut negotiator = new_participant(homes, "Iran negotiator")?;
    let code = cast
        .mediator
        .invite(case, InviteRole::Party("Iran".into()))
        .await?;
    negotiator.join(&code).await?;
    cast.mediator.sync(case).await?;
    negotiator.sync(case).await?;
    let channel = ChannelName::parse("iran").context("demo channel")?;
    let read = negotiator.read(case, Some(&channel))?;
    // The earlier acts it was handed carry no hub position of its own.
    let shared = read.iter().filter(|l| l.seq == 0).count();
    let said: Vec<&LogLine> = read
        .iter()
        .filter(|l| l.kind == "message" && l.index < 5)
        .collect();
    n.say("");
    n.say("▸ Iran's delegation grows: its negotiator joins now. Seated in Iran's channel, it cannot decrypt");
    n.say(format!(
        "  what came before (MLS); Pakistan hands it the channel's {shared} earlier acts again, signed by their"
    ));
    n.say("  authors, and it checks every signature and the hash chain up to its seat.");
    n.say("  It reads the channel from its first act:");
    for line in said {
        n.say(format!(
            "      #{} {}: \"{}\"",
            line.index, line.author, line.text
        ));
    }
    cast.late.push(negotiator);
    Ok(())
}

fn new_participant(homes: &Path, name: &str) -> anyhow::Result<Client> {
    let home = homes.join(name.to_lowercase().replace(' ', "-"));
    Client::create_identity(&home, name, DEMO_PASSPHRASE)?;
    Ok(Client::open(&home, DEMO_PASSPHRASE)?)
}

pub async fn run(keep: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    let temp;
    let root = match &keep {
        Some(dir) => {
            if dir.exists()
                && dir
                    .read_dir()
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(true)
            {
                bail!("--keep {} must be a new or empty folder", dir.display());
            }
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary folder")?;
            temp.path().to_owned()
        }
    };
    let n = Narrator { quiet: json };
    let db = root.join("hub.sqlite");
    let homes = root.join("homes");
    let hub = backchannel_hub::spawn_local(&db).await?;
    let witness_db = root.join("witness.sqlite");
    let witness = backchannel_hub::spawn_local(&witness_db).await?;

    n.say("backchannel demo — Pakistan mediates between the United States and Iran;");
    n.say("the United Arab Emirates and Saudi Arabia observe. (The seed scenario; illustrative.)");
    n.say("");
    n.say(format!(
        "▸ hub: embedded, {} — SQLite database {}",
        hub.url,
        db.display()
    ));
    n.say(format!(
        "▸ witness: a second embedded hub, {}, co-signs the heads of the public record (hashes only).",
        witness.url
    ));

    let mut cast = Cast {
        mediator: new_participant(&homes, "Pakistan")?,
        parties: vec![
            (
                "United States".into(),
                new_participant(&homes, "United States")?,
            ),
            ("Iran".into(), new_participant(&homes, "Iran")?),
        ],
        observers: vec![
            new_participant(&homes, "United Arab Emirates")?,
            new_participant(&homes, "Saudi Arabia")?,
        ],
        late: vec![],
    };
    n.say("▸ identities: each participant has its own Ed25519 key, sealed at rest (Argon2id + XChaCha20-Poly1305).");
    n.say("  Fingerprints, to compare out of band:");
    for client in cast.all() {
        n.say(format!(
            "    {:<22} {}",
            client.name(),
            client.key().fingerprint()
        ));
    }

    let case = cast
        .mediator
        .create_case_with(&hub.url, TITLE, std::slice::from_ref(&witness.url))
        .await?;
    n.say(format!(
        "▸ Pakistan convenes the case \"{TITLE}\" ({case})."
    ));
    n.say("▸ Pakistan issues a one-time invite code to each participant; each joins with it:");
    let invites: Vec<InviteRole> = cast
        .parties
        .iter()
        .map(|(party, _)| InviteRole::Party(party.clone()))
        .chain(cast.observers.iter().map(|_| InviteRole::Observer))
        .collect();
    let mut codes = Vec::new();
    for role in invites {
        codes.push(cast.mediator.invite(case, role).await?);
    }
    let Cast {
        mediator,
        parties,
        observers,
        ..
    } = &mut cast;
    let joiners = parties
        .iter_mut()
        .map(|(_, c)| c)
        .chain(observers.iter_mut());
    for (client, code) in joiners.zip(&codes) {
        client.join(code).await?;
    }
    let report = mediator.sync(case).await?;
    for admitted in &report.admitted {
        n.say(format!("    admitted {admitted}"));
    }
    for client in cast.all_mut() {
        client.sync(case).await?;
    }
    n.say("▸ Pakistan opens a bilateral channel with each party: an MLS group (RFC 9420) of the mediator");
    n.say("  and that party alone. Observers and the other side are not members; the hub only relays ciphertext.");
    for (name, channel) in &cast.mediator.state(case)?.channels {
        if !name.is_public() {
            let members: Vec<String> = channel
                .members
                .iter()
                .map(|k| {
                    cast.mediator
                        .state(case)
                        .map(|s| s.name_of(k))
                        .unwrap_or_default()
                })
                .collect();
            n.say(format!("    {:<14} {}", name.as_str(), members.join(" + ")));
        }
    }

    n.say("");
    n.say("── proximity talks ───────────────────────────────────────────────────────────");
    for line in PROXIMITY {
        let channel = ChannelName::parse(line.channel).context("demo channel")?;
        let sender = match line.from {
            "Pakistan" => &mut cast.mediator,
            party => cast.party(party)?,
        };
        sender.send(case, &channel, line.text).await?;
        let to = match line.channel {
            "public" => "everyone, on the public record".to_owned(),
            _ if line.from == "Pakistan" => format!("{} in confidence", party_of(line.channel)),
            _ => "Pakistan in confidence".to_owned(),
        };
        n.say(format!("  {} → {} [{}]:", line.from, to, line.channel));
        n.say(format!("      \"{}\"", line.text));
    }
    for client in cast.all_mut() {
        client.sync(case).await?;
    }
    join_late(&mut cast, case, &homes, &n).await?;

    procedure::run(&mut cast, case, &n).await?;
    implementation::run(&mut cast, case, &homes, &n).await?;

    n.say("");
    n.say(
        "── who could read what (each participant's own verified copy; the hub asked directly) ──",
    );
    let mut visibility = Vec::new();
    let all_channels: Vec<ChannelName> = cast
        .mediator
        .state(case)?
        .channels
        .keys()
        .cloned()
        .collect();
    for client in cast.all() {
        let readable = client.readable_channels(case)?;
        let mut reads = Vec::new();
        let mut refused = Vec::new();
        for channel in &all_channels {
            if readable.contains(channel) {
                let count = client
                    .read(case, Some(channel))?
                    .iter()
                    .filter(|l| l.kind == "message")
                    .count();
                reads.push((channel.to_string(), count));
            } else {
                let id = client.hub_channel(case, channel)?;
                let answer = client.hub_client(case)?.entries(case, &id, 0).await;
                let code = match answer {
                    Err(e) => e.code(),
                    Ok(_) => bail!("the hub handed {} the channel {channel}", client.name()),
                };
                refused.push((channel.to_string(), code));
            }
        }
        let role = client.show(case)?.my_role;
        let reads_text: Vec<String> = reads
            .iter()
            .map(|(c, k)| format!("{c} ({k} message{})", if *k == 1 { "" } else { "s" }))
            .collect();
        let refused_text: Vec<String> = refused
            .iter()
            .map(|(c, code)| format!("{c} (hub: {code})"))
            .collect();
        n.say(format!("  {:<22} {}", client.name(), role));
        n.say(format!("      reads:      {}", reads_text.join(", ")));
        n.say(format!(
            "      cannot read: {}",
            if refused_text.is_empty() {
                "—".into()
            } else {
                refused_text.join(", ")
            }
        ));
        let procedure = &client.state(case)?.procedure;
        let positions: Vec<&str> = procedure.positions.keys().map(String::as_str).collect();
        let offers_open = procedure
            .offers
            .values()
            .filter(|o| o.offer.is_some())
            .count();
        let answers: std::collections::BTreeSet<&str> = procedure
            .answers
            .values()
            .flat_map(|versions| {
                versions
                    .values()
                    .flat_map(|parties| parties.keys().map(String::as_str))
            })
            .collect();
        let list = |items: Vec<&str>| {
            if items.is_empty() {
                "none".to_owned()
            } else {
                items.join(", ")
            }
        };
        n.say(format!(
            "      sealed positions held: {}; offers readable: {offers_open} of {} committed; draft answers seen from: {}",
            list(positions.clone()),
            procedure.offers.len(),
            list(answers.into_iter().collect())
        ));
        visibility.push(Visibility {
            participant: client.name().to_owned(),
            role,
            reads,
            refused,
            positions_held: positions.into_iter().map(str::to_owned).collect(),
            offers_readable: offers_open,
        });
    }
    for client in cast.all() {
        if client.verify_log(case)? != *client.state(case)? {
            bail!("{}'s log does not replay to its state", client.name());
        }
    }
    n.say("  Every participant's log re-verifies (signatures, hash chains, rules) and replays to its state.");

    n.say("");
    n.say("── checkpoints and the exported record ──────────────────────────────────────────");
    for client in cast.all_mut() {
        client.checkpoint(case).await?;
    }
    for client in cast.all_mut() {
        client.sync(case).await?;
    }
    n.say("  Each participant co-signs the heads of the channels it reads on the public record; every");
    n.say("  other participant holds the same acts at those positions: the hub showed everyone one history.");
    n.say("  Every sync also sent the witness the public record's hashes; it co-signed one history only.");
    n.say("  The fingerprint of the public record's head, which any two participants can read to each other:");
    for client in cast.all() {
        let fingerprint = client.fingerprint(case)?;
        n.say(format!(
            "    {:<22} index {}  {}",
            client.name(),
            fingerprint.index,
            fingerprint.code
        ));
    }
    let codes: std::collections::BTreeSet<String> = cast
        .all()
        .iter()
        .map(|c| c.fingerprint(case).map(|f| f.code))
        .collect::<Result<_, _>>()?;
    if codes.len() != 1 {
        bail!("the participants hold different public records");
    }
    let record = cast.observers[0].export(case, false)?;
    let bytes = serde_json::to_vec(&record)?;
    let (record, audited) = backchannel_core::record::Record::verify(&bytes)?;
    let agreement = audited
        .procedure
        .agreement
        .as_ref()
        .filter(|a| a.published)
        .context("a published agreement")?;
    n.say(format!(
        "  The United Arab Emirates exports the public record ({} acts); verified offline, with no hub and no key,",
        record.acts.len()
    ));
    n.say(format!(
        "  it holds the agreement \"{}\" with {} signatures and {} guarantor(s).",
        agreement.agreement.title,
        agreement.signatures.len(),
        agreement.guaranteed_by.len()
    ));

    let hub_entries: usize = {
        let mut total = 0;
        for channel in &all_channels {
            total += cast
                .mediator
                .hub_client(case)?
                .entries(case, &cast.mediator.hub_channel(case, channel)?, 0)
                .await?
                .entries
                .len();
        }
        total
    };
    let url = hub.url.clone();
    hub.stop().await?;
    let texts: Vec<&str> = PROXIMITY
        .iter()
        .map(|l| l.text)
        .chain(procedure::DIRECT_TALK)
        .chain([procedure::AGREEMENT_TITLE])
        .collect();
    witness.stop().await?;
    // The hub's and the witness's database files, each read once for every search below.
    let hub_files = read_all(&[database_files(&db)?, database_files(&witness_db)?].concat())?;
    let found = texts_in(&hub_files, &texts);
    n.say("");
    n.say("── what the hub holds ──────────────────────────────────────────────────────────");
    n.say(format!(
        "  {hub_entries} entries, all ciphertext (MLS for the bilateral channels, sealed under the case key for the public record)."
    ));
    n.say(format!(
        "  Searching its and the witness's database files for the {} message texts (plain, hex, base64, UTF-16): {found} found.",
        texts.len()
    ));
    if found > 0 {
        bail!("the hub's storage holds {found} message texts in the clear");
    }
    // Names: the participants', the parties' and the channels', those long enough that chance
    // cannot spell them in a file of ciphertext, as a name held in clear would be stored.
    let names: BTreeSet<String> = cast
        .all()
        .iter()
        .map(|c| c.name().to_owned())
        .chain(cast.parties.iter().map(|(party, _)| party.clone()))
        // Every case's record is `public` at the hub: that names no one.
        .chain(
            all_channels
                .iter()
                .filter(|c| !c.is_public())
                .map(ToString::to_string),
        )
        .filter(|name| name.len() >= 6)
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let found_names = names_in(&hub_files, &names);
    if let Some(channel) = all_channels.iter().rev().find(|c| !c.is_public()) {
        n.say(format!(
            "  It knows the channel {channel} as {}: an id derived under the case key, which it never held.",
            cast.mediator.hub_channel(case, channel)?
        ));
    }
    n.say(format!(
        "  Searching both for the {} names of participants, parties and channels: {} found.",
        names.len(),
        found_names.len()
    ));
    if !found_names.is_empty() {
        bail!(
            "the hub's storage holds names in the clear: {}",
            found_names.join(", ")
        );
    }
    // The participants' homes: every file, for the messages, the titles and every option of
    // the scenario (which drafts, positions, offers and answers carry).
    let mut secrets: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
    secrets.push(TITLE.to_owned());
    secrets.extend(procedure::scenario_texts()?);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let home_files = files_under(&homes)?;
    let found_in_homes = texts_in(&read_all(&home_files)?, &secrets);
    n.say(format!(
        "  Searching the {} files of the {} participants' homes for those texts, the case title and the",
        home_files.len(),
        cast.all_mut().len()
    ));
    n.say(format!(
        "  scenario's {} option texts: {found_in_homes} found (every value in a home is sealed under its owner's key).",
        secrets.len() - texts.len() - 1
    ));
    if found_in_homes > 0 {
        bail!("the participants' homes hold {found_in_homes} secret texts in the clear");
    }
    if let Some(dir) = &keep {
        n.say("");
        n.say(format!(
            "Kept in {}: hub.sqlite, witness.sqlite and homes/<participant> (passphrase \"{DEMO_PASSPHRASE}\").",
            dir.display()
        ));
        n.say(format!("Try: BACKCHANNEL_PASSPHRASE={DEMO_PASSPHRASE} backchannel --home {}/homes/iran read {}", dir.display(), case));
    }
    if json {
        output::json(&Report {
            case,
            hub: url,
            kept_in: keep,
            messages_sent: texts.len(),
            visibility,
            hub_entries,
            plaintexts_found_in_hub_storage: found,
            plaintexts_found_in_homes: found_in_homes,
        })?;
    }
    Ok(())
}

fn party_of(channel: &str) -> &'static str {
    match channel {
        "united-states" => "the United States",
        "iran" => "Iran",
        _ => "the channel",
    }
}

/// Those of `names` that appear as they are spelt in `blobs`: where a name held in clear
/// would be. Base64 and hex are not searched: a short name's fragments turn up by chance in
/// ciphertext.
fn names_in<'a>(blobs: &[Vec<u8>], names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .filter(|name| blobs.iter().any(|blob| contains(blob, name.as_bytes())))
        .copied()
        .collect()
}

/// The files of the SQLite database at `db`: the file and its companions.
fn database_files(db: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = db.parent().context("the database has no folder")?;
    let stem = db
        .file_name()
        .and_then(|n| n.to_str())
        .context("the database path is not UTF-8")?
        .to_owned();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&stem) {
            files.push(entry.path());
        }
    }
    Ok(files)
}

/// Every file under `dir`, at any depth.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

/// The contents of `files`.
fn read_all(files: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    Ok(files
        .iter()
        .map(std::fs::read)
        .collect::<Result<Vec<_>, _>>()?)
}

/// Counts the texts found, in any of several encodings, in any of `blobs`.
fn texts_in(blobs: &[Vec<u8>], texts: &[&str]) -> usize {
    texts
        .iter()
        .filter(|text| {
            blobs
                .iter()
                .any(|blob| encodings(text).iter().any(|n| contains(blob, n)))
        })
        .count()
}

fn encodings(text: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let bytes = text.as_bytes();
    let mut needles = vec![
        bytes.to_vec(),
        hex::encode(bytes).into_bytes(),
        hex::encode_upper(bytes).into_bytes(),
    ];
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for skip in 0..3 {
            let encoded = engine.encode(&bytes[skip..]);
            needles.push(encoded.as_bytes()[..encoded.len().saturating_sub(4).min(24)].to_vec());
        }
    }
    needles.push(text.encode_utf16().flat_map(u16::to_le_bytes).collect());
    needles.push(text.encode_utf16().flat_map(u16::to_be_bytes).collect());
    needles
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}
