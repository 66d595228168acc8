//! Push notices across hub processes: each accepted entry is announced on the PostgreSQL
//! channel `backchannel_entries` (`pg_notify` inside the post's transaction, so delivered at
//! its commit and never for a post rolled back), and each process listens on a connection of
//! its own and hands on what the others accepted, with the channel's members at that moment,
//! to its push streams. A listener that loses its connection opens another within a second;
//! the notices sent meanwhile are lost, which costs a client no entry: notices are hints to
//! fetch, and every client fetches before it posts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backchannel_core::api::Notice;
use backchannel_core::{CaseId, HubChannel};
use postgres::Config;
use postgres::fallible_iterator::FallibleIterator as _;

use super::Tx;

use super::queries::{channel_members, channel_row};
use crate::store::{Publish, StoreResult};

/// The PostgreSQL channel the hub's processes announce entries on.
const CHANNEL: &str = "backchannel_entries";

/// Announces entry `seq` of `channel`, accepted by the process `origin`, at the commit of `tx`.
pub(super) fn announce(
    tx: &mut Tx<'_>,
    origin: u64,
    case: &CaseId,
    channel: &HubChannel,
    seq: u64,
) -> StoreResult<()> {
    let payload = format!("{origin:016x} {case} {channel} {seq}");
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
    Ok(())
}

/// What another process announced: `None` for one of `origin`'s own, or a payload this
/// hub does not write.
fn parse(payload: &str, origin: u64) -> Option<(CaseId, HubChannel, u64)> {
    let mut words = payload.split(' ');
    let from = u64::from_str_radix(words.next()?, 16).ok()?;
    let case = CaseId::parse(words.next()?)?;
    let channel = HubChannel::parse(words.next()?)?;
    let seq = words.next()?.parse().ok()?;
    (from != origin && words.next().is_none()).then_some((case, channel, seq))
}

/// Listens until `stop` is set, on a thread of its own, handing on what other processes
/// accepted to `publish`.
pub(super) fn follow(config: Config, origin: u64, stop: Arc<AtomicBool>, publish: Publish) {
    let spawned = std::thread::Builder::new()
        .name("hub-listen".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(error) = listen(&config, origin, &stop, &publish) {
                    tracing::warn!(%error, "listening for other hubs' entries failed; again in a second");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "no thread to listen for other hubs' entries");
    }
}

fn listen(
    config: &Config,
    origin: u64,
    stop: &AtomicBool,
    publish: &Publish,
) -> Result<(), postgres::Error> {
    let mut conn = super::Conn::new(super::open(config)?);
    conn.client().batch_execute(&format!("LISTEN {CHANNEL}"))?;
    tracing::info!("following the entries other hubs accept");
    while !stop.load(Ordering::Relaxed) {
        // One at a time, each wait at most a second, so that `stop` is seen.
        let heard = conn
            .client()
            .notifications()
            .timeout_iter(Duration::from_secs(1))
            .next()?
            .map(|notification| notification.payload().to_owned());
        let Some(payload) = heard else {
            if conn.client().is_closed() {
                return Ok(());
            }
            continue;
        };
        let Some((case, channel, seq)) = parse(&payload, origin) else {
            continue;
        };
        let mut tx = conn.transaction()?;
        let members = match channel_row(&mut tx, &case, &channel, false) {
            Ok(Some(row)) => channel_members(&mut tx, row.id).unwrap_or_default(),
            _ => Vec::new(),
        };
        tx.commit()?;
        if !members.is_empty() {
            publish(case, Notice { channel, seq }, members);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_other_processes_announcements_are_handed_on() {
        let case = CaseId([7; 16]);
        let payload = format!("{:016x} {case} public 12", 5u64);
        let channel = HubChannel::public();
        assert_eq!(parse(&payload, 9), Some((case, channel, 12)));
        assert_eq!(parse(&payload, 5), None);
        for bad in [
            "",
            "zz 00 public 1",
            &format!("{payload} extra"),
            "0 x public 1",
        ] {
            assert_eq!(parse(bad, 9), None, "{bad}");
        }
    }
}
