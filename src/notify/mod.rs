//! Alerts that reach the phone: notification channels, the event history, the daily
//! summary. Used wherever a refresh or check-in runs (the app, `apihub refresh` from
//! cron, `apihub checkin`, `apihub watch`), always the same way:
//!
//! 1. [`record`] (store locked, quick): what each account shows now against its
//!    recorded states → new events, once per state change across every process on the
//!    data dir; the day's summary once its time has come. Quiet hours hold deliveries.
//! 2. [`deliver_due`] / [`deliver_pending`] (async, never on the UI thread): claim and
//!    send what is due, retry with backoff, mark a channel failing after the retries.
//!
//! | file | what |
//! | --- | --- |
//! | `detect.rs` | each account's conditions (alerts, exhausted keys, failed check-in) |
//! | `summary.rs` | the daily summary from the store |
//! | `channels.rs` | the HTTP channels' documented requests, signatures, limits, replies |
//! | `email.rs` | SMTP with lettre (rustls) |
//! | `dispatch.rs` | claims, batches, backoff, quiet hours |

pub mod channels;
pub mod detect;
pub mod dispatch;
pub mod email;
pub mod summary;

use std::time::Duration;

pub use channels::SendError;
pub use dispatch::{Delivered, DispatchOptions, deliver_due, deliver_due_at, deliver_pending, language};

use crate::domain::notify::{Condition, Event, Message, render};
use crate::relay::RelayClient;
use crate::store::{SharedStore, Store, StoreError};

/// Records what changed since the last look (new alert states, recoveries, failed
/// check-ins) and, when due, the day's summary. Quick; runs with the store locked.
pub fn record(store: &mut Store, now: i64) -> Result<Vec<Event>, StoreError> {
    let settings = store.load_settings()?.settings;
    let accounts = store.list_accounts()?;
    let states = store.account_states()?;
    let records = store.checkin_records()?;
    let found = detect::found(&accounts, &states, &records, &settings.alerts, now);
    let local = crate::domain::time::local_at(now);
    let hold = local.and_then(|l| settings.notify.quiet_until(l));
    let mut events = store.notify_record(&found, now, hold)?;
    if let Some(local) = local
        && let Some(day) = settings.notify.summary_due(local, store.notify_summary_day()?.as_deref())
    {
        let summary = summary::build(store, &day, now)?;
        if let Some(e) = store.notify_add_summary(&day, Condition::Summary(Box::new(summary)), now, hold)? {
            events.push(e);
        }
    }
    for e in &events {
        log::info!("alert: {} {}", e.condition.event_kind().as_str(), e.subject);
    }
    Ok(events)
}

/// After a refresh or check-in in a one-shot command: [`record`], then send what is
/// due, waiting at most `max_wait` for retries. Returns the new events and the sends.
pub async fn record_and_deliver(
    store: &SharedStore,
    client: &RelayClient,
    max_wait: Duration,
) -> Result<(Vec<Event>, Delivered), StoreError> {
    let (events, settings) = store
        .run(|s| {
            let now = crate::domain::time::now_unix();
            Ok((record(s, now)?, s.load_settings()?.settings))
        })
        .await?;
    let opts = DispatchOptions::from_settings(&settings);
    let delivered = deliver_pending(store, client, &opts, max_wait).await?;
    Ok((events, delivered))
}

/// Sends a test message on the channel `name` now (quiet hours do not apply) and
/// records the result on the channel. `Ok(false)`: no such channel.
pub async fn test_channel(store: &SharedStore, client: &RelayClient, name: &str) -> Result<bool, TestError> {
    let name_owned = name.to_string();
    let (channel, settings) = store
        .run(move |s| Ok((s.notify_channel(&name_owned)?, s.load_settings()?.settings)))
        .await
        .map_err(TestError::Store)?;
    let Some(channel) = channel else { return Ok(false) };
    let opts = DispatchOptions::from_settings(&settings);
    let event = Event {
        id: 0,
        at: crate::domain::time::now_unix(),
        account_id: None,
        subject: String::new(),
        condition: Condition::Test,
    };
    let msg: Message = render(&[event], opts.lang);
    let result = channels::send(client, &channel.spec, &msg, opts.lang, opts.timeout).await;
    let id = channel.id;
    let saved = result.as_ref().map(|_| ()).map_err(|e| e.0.clone());
    store
        .run(move |s| {
            s.notify_channel_result(
                id,
                saved.as_ref().map(|_| ()).map_err(String::as_str),
                crate::domain::time::now_unix(),
            )
        })
        .await
        .map_err(TestError::Store)?;
    result.map(|_| true).map_err(TestError::Send)
}

/// Why a test failed.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The channel refused or could not be reached.
    #[error("{0}")]
    Send(SendError),
    /// The store failed.
    #[error("{0}")]
    Store(StoreError),
}
