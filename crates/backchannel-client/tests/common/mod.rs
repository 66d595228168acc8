//! What the client's integration tests share: identities in temporary homes, the seed's
//! cast convened on a real hub with a real SQLite database, and the checks run after a
//! fault (a killed client opened again, what a client reads, what the hub holds, and that
//! every log verifies and nothing was posted twice).
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};

use backchannel_client::{Client, InviteRole};
use backchannel_core::api::{Entry, EntryKind, MAX_LIST};
use backchannel_core::{CaseId, ChannelName};

pub const PASS: &str = "test passphrase";

pub fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

/// A new identity in `dir/name`, opened.
pub fn new_client(dir: &Path, name: &str) -> Client {
    let home = dir.join(name);
    Client::create_identity(&home, name, PASS).unwrap();
    Client::open(&home, PASS).unwrap()
}

/// Pakistan mediating between the United States and Iran, the UAE observing: every one
/// joined, admitted and synced.
pub struct Cast {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub hub: backchannel_hub::LocalHub,
    pub case: CaseId,
    pub mediator: Client,
    pub us: Client,
    pub iran: Client,
    pub uae: Client,
}

impl Cast {
    pub async fn convene() -> Self {
        Self::convene_titled("Talks").await
    }

    /// The same cast, in a case of this title.
    pub async fn convene_titled(title: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hub.sqlite");
        let hub = backchannel_hub::spawn_local(&db).await.unwrap();
        let mut mediator = new_client(dir.path(), "Pakistan");
        let mut us = new_client(dir.path(), "United States");
        let mut iran = new_client(dir.path(), "Iran");
        let mut uae = new_client(dir.path(), "United Arab Emirates");
        let case = mediator.create_case(&hub.url, title).await.unwrap();
        seat_cast(case, &mut mediator, [&mut us, &mut iran, &mut uae]).await;
        let mut cast = Cast {
            dir,
            db,
            hub,
            case,
            mediator,
            us,
            iran,
            uae,
        };
        cast.sync_all().await;
        cast
    }

    pub async fn sync_all(&mut self) {
        for client in [
            &mut self.mediator,
            &mut self.us,
            &mut self.iran,
            &mut self.uae,
        ] {
            client.sync(self.case).await.unwrap();
        }
    }
}

/// Invites the United States and Iran as parties and the UAE as observer to `case`, has each
/// join, and has the mediator admit and seat them.
pub async fn seat_cast(case: CaseId, mediator: &mut Client, [us, iran, uae]: [&mut Client; 3]) {
    for (client, role) in [
        (us, InviteRole::Party("United States".into())),
        (iran, InviteRole::Party("Iran".into())),
        (uae, InviteRole::Observer),
    ] {
        let code = mediator.invite(case, role).await.unwrap();
        client.join(&code).await.unwrap();
    }
    let report = mediator.sync(case).await.unwrap();
    assert_eq!(report.admitted.len(), 3, "{report:?}");
}

/// Kills a client: drops it as it stands (whatever it held only in memory is lost) and opens
/// its home again.
pub fn reopen(client: Client, dir: &Path) -> Client {
    let home = dir.join(client.name());
    drop(client);
    Client::open(&home, PASS).unwrap()
}

pub fn messages(client: &Client, case: CaseId, channel: &ChannelName) -> Vec<String> {
    client
        .read(case, Some(channel))
        .unwrap()
        .into_iter()
        .filter(|l| l.kind == "message")
        .map(|l| l.text)
        .collect()
}

/// `text` appears exactly once in `client`'s verified log of `channel`.
pub fn once(client: &Client, case: CaseId, channel: &ChannelName, text: &str) {
    let seen = messages(client, case, channel);
    let count = seen.iter().filter(|t| *t == text).count();
    assert_eq!(
        count,
        1,
        "{}: {text:?} on {channel}, in {seen:?}",
        client.name()
    );
}

/// Every entry the hub holds on `channel`, read as `client`.
pub async fn hub_entries(client: &Client, case: CaseId, channel: &ChannelName) -> Vec<Entry> {
    let hub = client.hub_client(case).unwrap();
    let id = client.hub_channel(case, channel).unwrap();
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |e: &Entry| e.seq);
        let page = hub.entries(case, &id, after).await.unwrap();
        let count = page.entries.len();
        all.extend(page.entries);
        if count < MAX_LIST {
            return all;
        }
    }
}

/// Every participant syncs, and its stored log verifies and replays to the fold it holds;
/// the first (the mediator, who reads every channel from its start) holds exactly one act
/// for each message entry the hub holds on each channel: nothing was posted twice.
pub async fn consistent(case: CaseId, clients: Vec<&mut Client>) {
    let mut clients = clients;
    for client in &mut clients {
        client.sync(case).await.unwrap();
    }
    // A second round, so that what one posted while syncing is read by all.
    for client in &mut clients {
        client.sync(case).await.unwrap();
        assert_eq!(
            &client.verify_log(case).unwrap(),
            client.state(case).unwrap(),
            "{}",
            client.name()
        );
    }
    let mediator = &clients[0];
    for channel in mediator.readable_channels(case).unwrap() {
        let entries = hub_entries(mediator, case, &channel).await;
        let held = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Message)
            .count();
        let acts = mediator.read(case, Some(&channel)).unwrap().len();
        assert_eq!(
            held, acts,
            "{channel}: message entries at the hub vs acts held"
        );
    }
}

/// What a proxy in front of a real hub does before it lies: sends the request on to the hub
/// at `upstream` (method, path and query, body, and the headers the hub reads) and returns
/// the hub's status and body.
pub async fn relay(
    http: &reqwest::Client,
    upstream: &str,
    method: axum::http::Method,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, axum::body::Bytes) {
    let path_and_query = uri.path_and_query().map_or("", |p| p.as_str());
    let mut request = http
        .request(method, format!("{upstream}{path_and_query}"))
        .body(body);
    for name in ["authorization", "content-type"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.as_bytes());
        }
    }
    let response = request.send().await.unwrap();
    let status = axum::http::StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.bytes().await.unwrap())
}

/// Serves `app` (a lying proxy in front of a real hub) on a free loopback port; its URL.
pub async fn serve_proxy(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Pakistan convenes a case on the hub at `url` and seats the United States in its channel;
/// both synced. Returns the case, the two clients and the invite code used.
pub async fn mediator_and_party(
    dir: &Path,
    url: &str,
) -> (CaseId, Client, Client, backchannel_client::InviteCode) {
    let mut mediator = new_client(dir, "Pakistan");
    let mut us = new_client(dir, "United States");
    let case = mediator.create_case(url, "Talks").await.unwrap();
    let code = mediator
        .invite(case, InviteRole::Party("United States".into()))
        .await
        .unwrap();
    us.join(&code).await.unwrap();
    mediator.sync(case).await.unwrap();
    us.sync(case).await.unwrap();
    (case, mediator, us, code)
}

/// The seed scenario (`backchannel-formula/scenarios/us-iran.json`).
pub fn scenario() -> backchannel_formula::Scenario {
    backchannel_formula::Scenario::from_json_str(include_str!(
        "../../../backchannel-formula/scenarios/us-iran.json"
    ))
    .unwrap()
}

/// The charter the procedure's tests propose: either side may propose agenda items,
/// non-papers allowed, originals conveyed with their author's consent.
pub fn charter() -> backchannel_core::procedure::Charter {
    use backchannel_core::procedure::{AgendaProposers, Attribution, Charter, Delegation};
    Charter {
        agenda_proposers: AgendaProposers::PartiesAndMediator,
        non_papers: true,
        attribution: Attribution::OriginalWithConsent,
        deadlines: vec![],
        delegation: Delegation::Any,
    }
}

/// The seed's cast with the charter in force and the issues defined.
pub async fn chartered() -> Cast {
    let mut c = Cast::convene().await;
    c.mediator.propose_charter(c.case, charter()).await.unwrap();
    c.us.accept_charter(c.case).await.unwrap();
    c.iran.accept_charter(c.case).await.unwrap();
    c.mediator
        .define_issues(c.case, scenario().issues)
        .await
        .unwrap();
    c.sync_all().await;
    c
}
