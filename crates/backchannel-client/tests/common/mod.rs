//! What the client's integration tests share: identities in temporary homes, and the seed's
//! cast convened on a real hub with a real SQLite database.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};

use backchannel_client::{Client, InviteRole};
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
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hub.sqlite");
        let hub = backchannel_hub::spawn_local(&db).await.unwrap();
        let mut mediator = new_client(dir.path(), "Pakistan");
        let mut us = new_client(dir.path(), "United States");
        let mut iran = new_client(dir.path(), "Iran");
        let mut uae = new_client(dir.path(), "United Arab Emirates");
        let case = mediator.create_case(&hub.url, "Talks").await.unwrap();
        for (client, role) in [
            (&mut us, InviteRole::Party("United States".into())),
            (&mut iran, InviteRole::Party("Iran".into())),
            (&mut uae, InviteRole::Observer),
        ] {
            let code = mediator.invite(case, role).await.unwrap();
            client.join(&code).await.unwrap();
        }
        let report = mediator.sync(case).await.unwrap();
        assert_eq!(report.admitted.len(), 3, "{report:?}");
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
