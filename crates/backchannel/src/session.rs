//! What every command shares, below the commands themselves: finding and opening the home,
//! naming a channel, and bringing a case up to date for a command that reads.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use backchannel_client::{Client, ClientError};
use backchannel_core::{CaseId, ChannelName};

use crate::output;

pub(crate) fn home(args_home: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match args_home {
        Some(home) => Ok(home),
        None => Ok(dirs::data_dir()
            .context(
                "no per-user data folder on this platform: pass --home or set BACKCHANNEL_HOME",
            )?
            .join("backchannel")),
    }
}

pub(crate) fn passphrase(confirm: bool) -> anyhow::Result<String> {
    if let Ok(pass) = std::env::var("BACKCHANNEL_PASSPHRASE") {
        return Ok(pass);
    }
    let pass = rpassword::prompt_password("passphrase: ").context("reading the passphrase")?;
    if confirm {
        let again =
            rpassword::prompt_password("passphrase again: ").context("reading the passphrase")?;
        if again != pass {
            bail!("the two passphrases differ");
        }
    }
    Ok(pass)
}

pub(crate) fn channel(name: &str) -> anyhow::Result<ChannelName> {
    ChannelName::parse(name)
        .with_context(|| format!("{name:?} is not a channel name (1 to 64 of a-z, 0-9 and '-')"))
}

pub(crate) fn open(home_dir: Option<PathBuf>, offline: bool) -> anyhow::Result<Client> {
    let home = home(home_dir)?;
    let mut client = Client::open(&home, &passphrase(false)?)?;
    client.set_offline(offline);
    Ok(client)
}

/// Brings a case up to date for a command that only reads: syncs, unless working offline
/// or the hub cannot be reached, and then says (on stderr) how old the local copy is.
pub(crate) async fn refresh(client: &mut Client, case: CaseId) -> anyhow::Result<()> {
    match client.refresh(case).await {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(ClientError::Alarm(alarm)) => {
            // A stopped case is still read: from the copy as it stood when it stopped.
            eprintln!("error[{}]: {}", alarm.code, alarm.message);
            eprintln!("note: this is your verified copy as it stood when the case stopped");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    let why = if client.is_offline() {
        "working offline"
    } else {
        "the hub is unreachable"
    };
    match client.synced_ms(case)? {
        Some(ms) => eprintln!(
            "note: {why}: this is your verified copy as of its last sync, {}",
            output::utc(ms)
        ),
        None => eprintln!("note: {why}: this is your verified copy, never synced in full"),
    }
    Ok(())
}
