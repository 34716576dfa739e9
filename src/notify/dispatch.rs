//! Sending what is due: claim the due deliveries (no other process sends them), send
//! each channel's batch as one message (a summary on its own), then record the result:
//! sent; retried with backoff (`backoff × 4^(tries−1)`); or, after `notify.retries`
//! retries, failed for good with the channel marked failing and the event kept unsent
//! in the history. Quiet hours hold everything (except what the user sends by hand).

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::channels;
use crate::domain::notify::{Condition, Event, NotifySettings, render};
use crate::domain::settings::{Lang, Settings};
use crate::relay::RelayClient;
use crate::store::{Claimed, Finish, SharedStore, StoreError};

/// Events in one message at most (a flood of alerts goes out as several messages).
const BATCH: usize = 20;

/// How deliveries go out.
#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// The language of the messages.
    pub lang: Lang,
    /// Each request's timeout.
    pub timeout: Duration,
    /// Retries after a failed send before giving up.
    pub retries: u32,
    /// The first retry's delay (then ×4 each time).
    pub backoff: Duration,
    /// Quiet hours (and the rest of `notify.*`).
    pub notify: NotifySettings,
    /// Send even inside the quiet hours (the user asked, by hand).
    pub ignore_quiet: bool,
    /// How long a claim keeps other processes off a delivery.
    pub claim_secs: i64,
}

/// The language of notifications: the app's, else the system's.
pub fn language(settings: &Settings) -> Lang {
    settings.ui.lang.unwrap_or_else(|| Lang::from_locale(&sys_locale::get_locale().unwrap_or_default()))
}

impl DispatchOptions {
    /// From the saved settings: language, retries, quiet hours; each request bounded by
    /// the network timeout (at most 30 s).
    pub fn from_settings(s: &Settings) -> DispatchOptions {
        DispatchOptions {
            lang: language(s),
            timeout: Duration::from_secs(s.network.request_timeout_secs.clamp(3, 30)),
            retries: s.notify.retries,
            backoff: Duration::from_secs(30),
            notify: s.notify,
            ignore_quiet: false,
            claim_secs: 300,
        }
    }

    /// When to try again after `tries` failed sends.
    pub fn retry_delay(&self, tries: u32) -> Duration {
        self.backoff.saturating_mul(4u32.saturating_pow(tries.saturating_sub(1).min(8)))
    }
}

/// What a round of sending did (counted in deliveries: one event on one channel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Sent.
    pub sent: usize,
    /// Failed, to be tried again.
    pub retrying: usize,
    /// Failed for good.
    pub failed: usize,
    /// Nothing went out: quiet hours.
    pub held: bool,
}

impl std::ops::AddAssign for Delivered {
    fn add_assign(&mut self, o: Delivered) {
        self.sent += o.sent;
        self.retrying += o.retrying;
        self.failed += o.failed;
        self.held |= o.held;
    }
}

/// Batches of one channel: summaries alone, the other events `BATCH` at a time.
fn batches(events: Vec<(Event, u32)>) -> Vec<Vec<(Event, u32)>> {
    let (summaries, others): (Vec<_>, Vec<_>) =
        events.into_iter().partition(|(e, _)| matches!(e.condition, Condition::Summary(_)));
    let mut out: Vec<Vec<(Event, u32)>> = summaries.into_iter().map(|e| vec![e]).collect();
    let mut others = others.into_iter().peekable();
    while others.peek().is_some() {
        out.push(others.by_ref().take(BATCH).collect());
    }
    out
}

async fn deliver_channel(
    store: &SharedStore,
    client: &RelayClient,
    claimed: Claimed,
    opts: &DispatchOptions,
) -> Result<Delivered, StoreError> {
    let mut done = Delivered::default();
    let channel = claimed.channel;
    for batch in batches(claimed.events) {
        let events: Vec<Event> = batch.iter().map(|(e, _)| e.clone()).collect();
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        let tries = batch.iter().map(|(_, a)| *a).max().unwrap_or(0) + 1;
        let msg = render(&events, opts.lang);
        let result = channels::send(client, &channel.spec, &msg, opts.lang, opts.timeout).await;
        let now = crate::domain::time::now_unix();
        let finish = match &result {
            Ok(()) => {
                log::info!("notification sent on \"{}\" ({} event(s))", channel.spec.name, ids.len());
                done.sent += ids.len();
                Finish::Sent
            }
            Err(e) if tries > opts.retries => {
                log::warn!("notification on \"{}\" failed after {tries} tries: {e}", channel.spec.name);
                done.failed += ids.len();
                Finish::Failed { error: e.0.clone() }
            }
            Err(e) => {
                let delay = opts.retry_delay(tries);
                log::warn!(
                    "notification on \"{}\" failed (try {tries} of {}), again in {} s: {e}",
                    channel.spec.name,
                    opts.retries + 1,
                    delay.as_secs()
                );
                done.retrying += ids.len();
                Finish::Retry { next_at: now + delay.as_secs() as i64, error: e.0.clone() }
            }
        };
        let id = channel.id;
        store.run(move |s| s.notify_finish(id, &ids, &finish, now)).await?;
    }
    Ok(done)
}

/// Sends every delivery due now (all channels at once, each channel's batches in
/// order). Held entirely during quiet hours unless `opts.ignore_quiet`.
pub async fn deliver_due(
    store: &SharedStore,
    client: &RelayClient,
    opts: &DispatchOptions,
) -> Result<Delivered, StoreError> {
    deliver_due_at(store, client, opts, crate::domain::time::now_unix()).await
}

/// [`deliver_due`] as if it were `now` (quiet hours and what is due are judged at
/// `now`; results are stamped with the real clock). Tests step time with it.
pub async fn deliver_due_at(
    store: &SharedStore,
    client: &RelayClient,
    opts: &DispatchOptions,
    now: i64,
) -> Result<Delivered, StoreError> {
    if !opts.ignore_quiet
        && let Some(local) = crate::domain::time::local_at(now)
        && opts.notify.quiet_until(local).is_some()
    {
        return Ok(Delivered { held: true, ..Default::default() });
    }
    let until = now + opts.claim_secs;
    let claimed = store.run(move |s| s.notify_claim_due(now, until)).await?;
    let mut total = Delivered::default();
    for r in join_all(claimed.into_iter().map(|c| deliver_channel(store, client, c, opts))).await {
        total += r?;
    }
    Ok(total)
}

/// [`deliver_due`] again as retries come due, for at most `max_wait` (a one-shot CLI
/// run); what is still pending then stays for the next run, the app or `watch`.
pub async fn deliver_pending(
    store: &SharedStore,
    client: &RelayClient,
    opts: &DispatchOptions,
    max_wait: Duration,
) -> Result<Delivered, StoreError> {
    let deadline = Instant::now() + max_wait;
    let mut total = Delivered::default();
    loop {
        let round = deliver_due(store, client, opts).await?;
        total += round;
        if round.held {
            break;
        }
        let Some(next) = store.run(|s| s.notify_next_due()).await? else { break };
        let wait = Duration::from_secs((next - crate::domain::time::now_unix()).max(1) as u64);
        if Instant::now() + wait > deadline {
            break;
        }
        tokio::time::sleep(wait).await;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, c: Condition) -> (Event, u32) {
        (Event { id, at: 0, account_id: None, subject: String::new(), condition: c }, 0)
    }

    #[test]
    fn summaries_go_alone_and_floods_in_batches() {
        let mut events: Vec<(Event, u32)> = (0..45).map(|i| ev(i, Condition::Recovered { since: 0 })).collect();
        events.push(ev(99, Condition::Summary(Box::default())));
        let b = batches(events);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 20, 20, 5]);
        assert_eq!(b[0][0].0.id, 99);
    }

    #[test]
    fn backoff_grows_fourfold() {
        let o = DispatchOptions::from_settings(&Settings::default());
        assert_eq!(o.retry_delay(1), Duration::from_secs(30));
        assert_eq!(o.retry_delay(2), Duration::from_secs(120));
        assert_eq!(o.retry_delay(3), Duration::from_secs(480));
        assert_eq!(o.retries, 3);
    }
}
