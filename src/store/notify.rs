//! Alert notifications in the store: channels (their settings sealed), the event
//! history, one delivery row per event and channel, and the bookkeeping that makes an
//! event fire once per state change across every process on the data dir.
//!
//! Every write that decides something ("is this state new?", "is this delivery mine to
//! send?", "who runs the schedule?") runs in one `BEGIN IMMEDIATE` transaction, so two
//! processes (the app and `apihub watch`, or a cron `apihub refresh`) see each other's
//! decisions and never both act on the same one.

use std::collections::{BTreeMap, HashSet};

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::{Store, StoreError};
use crate::domain::AccountId;
use crate::domain::notify::{Channel, ChannelKind, ChannelSpec, Condition, Event, EventKind};

/// What an account shows now, for [`Store::notify_record`].
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The account.
    pub account_id: AccountId,
    /// `Site / user`.
    pub subject: String,
    /// The conditions it is in now (those with a state id count; others are ignored).
    pub conditions: Vec<Condition>,
    /// Enabled and its last refresh worked (a cleared "failing" then means "recovered").
    pub healthy: bool,
}

/// Where one event stands on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not sent yet: held through quiet hours, waiting for a retry, or being sent.
    Pending,
    /// Sent.
    Sent,
    /// Given up after the retries (the event stays in the history).
    Failed,
}

impl DeliveryState {
    /// `pending`, `sent` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> DeliveryState {
        match s {
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            _ => DeliveryState::Pending,
        }
    }
}

/// One event's delivery on one channel, for the history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeliveryRow {
    /// The channel's name.
    pub channel: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Sends tried.
    pub attempts: u32,
    /// Not before (quiet hours, backoff), unix seconds.
    pub next_at: i64,
    /// When it was sent.
    pub sent_at: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// An event with its deliveries.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    /// The event.
    #[serde(flatten)]
    pub event: Event,
    /// One per channel that was to get it.
    pub deliveries: Vec<DeliveryRow>,
}

/// Deliveries claimed for sending on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The channel.
    pub channel: Channel,
    /// The events to send, oldest first, with the sends tried so far.
    pub events: Vec<(Event, u32)>,
}

/// How a send ended, for [`Store::notify_finish`].
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// Delivered.
    Sent,
    /// Failed; try again at `next_at`.
    Retry {
        /// Not before, unix seconds.
        next_at: i64,
        /// Why it failed.
        error: String,
    },
    /// Failed for the last time: the channel is marked failing.
    Failed {
        /// Why.
        error: String,
    },
}

/// An event to record, with where its deliveries go.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// The account it is about (none for summaries, tests, gateway events).
    pub account_id: Option<AccountId>,
    /// `Site / user` (or empty).
    pub subject: &'a str,
    /// What happened.
    pub condition: &'a Condition,
    /// When, unix seconds.
    pub at: i64,
    /// Deliveries not before this (quiet hours).
    pub hold_until: Option<i64>,
    /// Only to this channel (else to every enabled channel that wants the kind).
    pub only_channel: Option<i64>,
}

impl<'a> NewEvent<'a> {
    /// An event for every channel that wants it, sent as soon as possible.
    pub fn new(condition: &'a Condition, at: i64) -> NewEvent<'a> {
        NewEvent { account_id: None, subject: "", condition, at, hold_until: None, only_channel: None }
    }
}

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// This holder (taken or renewed).
    Mine,
    /// Someone else, until `expires_at` unless they renew it.
    Other {
        /// Their id.
        holder: String,
        /// Unix seconds.
        expires_at: i64,
    },
}

const SUMMARY_DAY: &str = "summary_day";

fn lease_key(name: &str) -> String {
    format!("lease:{name}")
}

fn events_text(list: &[EventKind]) -> String {
    list.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
}

fn events_parse(text: &str) -> Vec<EventKind> {
    text.split(',').filter_map(EventKind::parse).collect()
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Secret(format!("notification data: {e}"))
}

impl Store {
    fn immediate(&mut self) -> Result<Transaction<'_>, StoreError> {
        Ok(self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    fn channel_from_row(&self, r: ChannelRowRaw) -> Option<Channel> {
        let kind = ChannelKind::parse(&r.kind)?;
        let config = match self.secrets.open_sealed(&r.sealed).map(|b| serde_json::from_slice(&b)) {
            Ok(Ok(c)) => c,
            _ => {
                log::warn!("notification channel \"{}\": its settings could not be read", r.name);
                return None;
            }
        };
        Some(Channel {
            id: r.id,
            spec: ChannelSpec { name: r.name, kind, config, events: events_parse(&r.events), enabled: r.enabled },
            failing_since: r.failing_since,
            last_error: r.last_error,
            last_ok_at: r.last_ok_at,
        })
    }

    fn channel_rows(&self, filter: &str, arg: Option<&str>) -> Result<Vec<ChannelRowRaw>, StoreError> {
        let sql = format!(
            "SELECT id, name, kind, config_sealed, events, enabled, failing_since, last_error, last_ok_at
             FROM notify_channels {filter} ORDER BY name"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok(ChannelRowRaw {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                sealed: r.get(3)?,
                events: r.get(4)?,
                enabled: r.get::<_, i64>(5)? != 0,
                failing_since: r.get(6)?,
                last_error: r.get(7)?,
                last_ok_at: r.get(8)?,
            })
        };
        let rows = match arg {
            Some(a) => stmt.query_map([a], map)?.collect::<Result<Vec<_>, _>>()?,
            None => stmt.query_map([], map)?.collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    }

    /// Every channel (secrets opened), by name. One whose sealed settings cannot be read
    /// (another installation's key) is left out with a warning.
    pub fn notify_channels(&self) -> Result<Vec<Channel>, StoreError> {
        Ok(self.channel_rows("", None)?.into_iter().filter_map(|r| self.channel_from_row(r)).collect())
    }

    /// One channel by name.
    pub fn notify_channel(&self, name: &str) -> Result<Option<Channel>, StoreError> {
        Ok(self.channel_rows("WHERE name = ?1", Some(name))?.into_iter().find_map(|r| self.channel_from_row(r)))
    }

    /// Adds a channel, or replaces the one with the same name (its failing state is
    /// cleared: new settings deserve a fresh start). Returns its id.
    pub fn save_notify_channel(&mut self, spec: &ChannelSpec) -> Result<i64, StoreError> {
        let json = serde_json::to_vec(&spec.config).map_err(json_err)?;
        let sealed = self.secrets.seal(&json)?;
        let now = crate::domain::time::now_unix();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO notify_channels(name, kind, config_sealed, events, enabled, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, config_sealed = excluded.config_sealed,
                events = excluded.events, enabled = excluded.enabled, updated_at = excluded.updated_at,
                failing_since = NULL, last_error = NULL",
            params![spec.name, spec.kind.as_str(), sealed, events_text(&spec.events), spec.enabled as i64, now],
        )?;
        let id = tx.query_row("SELECT id FROM notify_channels WHERE name = ?1", [&spec.name], |r| r.get(0))?;
        tx.commit()?;
        Ok(id)
    }

    /// Removes a channel (its pending deliveries go with it; the events stay).
    pub fn remove_notify_channel(&mut self, name: &str) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM notify_channels WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Records a send's result on the channel: a success clears "failing", an error
    /// marks it failing with the reason (`notify test`, and [`Store::notify_finish`]).
    pub fn notify_channel_result(&mut self, id: i64, result: Result<(), &str>, now: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        channel_result(&tx, id, result, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Compares what each account shows now with its recorded states, in one
    /// transaction: a state that appeared becomes an event (with a delivery for every
    /// enabled channel that wants it, not before `hold_until`); a state that cleared is
    /// forgotten, so it fires again when it comes back; a cleared "failing" on a healthy
    /// account is a "recovered" event. Another process that already recorded a state
    /// makes this one record nothing. Returns the new events.
    pub fn notify_record(
        &mut self,
        found: &[Found],
        now: i64,
        hold_until: Option<i64>,
    ) -> Result<Vec<Event>, StoreError> {
        let tx = self.immediate()?;
        let channels = wanted_channels(&tx)?;
        let mut out = Vec::new();
        for f in found {
            let mut active: BTreeMap<String, i64> = BTreeMap::new();
            {
                let mut stmt = tx.prepare("SELECT state_id, since FROM notify_active WHERE account_id = ?1")?;
                for row in stmt.query_map([f.account_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                    let (id, since) = row?;
                    active.insert(id, since);
                }
            }
            let mut now_ids = HashSet::new();
            for c in &f.conditions {
                let Some(state) = c.state_id() else { continue };
                if !now_ids.insert(state.clone()) || active.contains_key(&state) {
                    continue;
                }
                tx.execute(
                    "INSERT INTO notify_active(account_id, state_id, since) VALUES (?1, ?2, ?3)",
                    params![f.account_id, state, now],
                )?;
                let e = NewEvent {
                    account_id: Some(f.account_id),
                    subject: &f.subject,
                    hold_until,
                    ..NewEvent::new(c, now)
                };
                out.push(insert_event(&tx, &channels, &e)?);
            }
            for (state, since) in active.iter().filter(|(s, _)| !now_ids.contains(*s)) {
                tx.execute(
                    "DELETE FROM notify_active WHERE account_id = ?1 AND state_id = ?2",
                    params![f.account_id, state],
                )?;
                if state == "failing" && f.healthy {
                    let c = Condition::Recovered { since: *since };
                    let e = NewEvent {
                        account_id: Some(f.account_id),
                        subject: &f.subject,
                        hold_until,
                        ..NewEvent::new(&c, now)
                    };
                    out.push(insert_event(&tx, &channels, &e)?);
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Records a one-off event (a gateway cool-down, a test): its deliveries go to every
    /// enabled channel that wants it, or only to `only_channel`.
    pub fn notify_add_event(&mut self, event: &NewEvent<'_>) -> Result<Event, StoreError> {
        let tx = self.immediate()?;
        let channels = wanted_channels(&tx)?;
        let e = insert_event(&tx, &channels, event)?;
        tx.commit()?;
        Ok(e)
    }

    /// The day of the last daily summary recorded.
    pub fn notify_summary_day(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM notify_state WHERE key = ?1", [SUMMARY_DAY], |r| r.get(0))
            .optional()?)
    }

    /// Records `day`'s summary once: `None` when a summary of that day is already
    /// recorded (by this process or another).
    pub fn notify_add_summary(
        &mut self,
        day: &str,
        summary: Condition,
        now: i64,
        hold_until: Option<i64>,
    ) -> Result<Option<Event>, StoreError> {
        let tx = self.immediate()?;
        let last: Option<String> =
            tx.query_row("SELECT value FROM notify_state WHERE key = ?1", [SUMMARY_DAY], |r| r.get(0)).optional()?;
        if last.as_deref() == Some(day) {
            return Ok(None);
        }
        set_state(&tx, SUMMARY_DAY, day, now)?;
        let channels = wanted_channels(&tx)?;
        let e = insert_event(&tx, &channels, &NewEvent { hold_until, ..NewEvent::new(&summary, now) })?;
        tx.commit()?;
        Ok(Some(e))
    }

    /// Claims the deliveries due at `now` that no other process is sending, until
    /// `claim_until`, grouped by channel. Only the claimer sends them.
    pub fn notify_claim_due(&mut self, now: i64, claim_until: i64) -> Result<Vec<Claimed>, StoreError> {
        let tx = self.immediate()?;
        let rows: Vec<(i64, i64, u32)> = {
            let mut stmt = tx.prepare(
                "SELECT d.channel_id, d.event_id, d.attempts FROM notify_deliveries d
                 JOIN notify_channels c ON c.id = d.channel_id
                 WHERE d.state = 'pending' AND d.next_at <= ?1 AND c.enabled = 1
                   AND (d.claimed_until IS NULL OR d.claimed_until < ?1)
                 ORDER BY d.channel_id, d.event_id",
            )?;
            stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<Vec<_>, _>>()?
        };
        for (channel, event, _) in &rows {
            tx.execute(
                "UPDATE notify_deliveries SET claimed_until = ?3 WHERE channel_id = ?1 AND event_id = ?2",
                params![channel, event, claim_until],
            )?;
        }
        tx.commit()?;
        let mut out: Vec<Claimed> = Vec::new();
        for (channel_id, event_id, attempts) in rows {
            let Some(event) = self.notify_event(event_id)? else {
                self.notify_finish(channel_id, &[event_id], &Finish::Failed { error: "unreadable event".into() }, now)?;
                continue;
            };
            match out.last_mut() {
                Some(c) if c.channel.id == channel_id => c.events.push((event, attempts)),
                _ => {
                    let Some(raw) = self.channel_rows("WHERE id = ?1", Some(&channel_id.to_string()))?.pop() else {
                        continue;
                    };
                    let Some(channel) = self.channel_from_row(raw) else { continue };
                    out.push(Claimed { channel, events: vec![(event, attempts)] });
                }
            }
        }
        Ok(out)
    }

    /// Ends a claim: the deliveries are sent, will be retried, or failed for good; the
    /// channel's state follows (a success clears "failing", a final failure sets it).
    pub fn notify_finish(
        &mut self,
        channel_id: i64,
        event_ids: &[i64],
        finish: &Finish,
        now: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for id in event_ids {
            match finish {
                Finish::Sent => tx.execute(
                    "UPDATE notify_deliveries SET state = 'sent', attempts = attempts + 1, sent_at = ?3,
                        last_error = NULL, claimed_until = NULL WHERE channel_id = ?1 AND event_id = ?2",
                    params![channel_id, id, now],
                )?,
                Finish::Retry { next_at, error } => tx.execute(
                    "UPDATE notify_deliveries SET attempts = attempts + 1, next_at = ?3, last_error = ?4,
                        claimed_until = NULL WHERE channel_id = ?1 AND event_id = ?2",
                    params![channel_id, id, next_at, error],
                )?,
                Finish::Failed { error } => tx.execute(
                    "UPDATE notify_deliveries SET state = 'failed', attempts = attempts + 1, last_error = ?3,
                        claimed_until = NULL WHERE channel_id = ?1 AND event_id = ?2",
                    params![channel_id, id, error],
                )?,
            };
        }
        match finish {
            Finish::Sent => channel_result(&tx, channel_id, Ok(()), now)?,
            Finish::Failed { error } => channel_result(&tx, channel_id, Err(error), now)?,
            Finish::Retry { .. } => {}
        }
        tx.commit()?;
        Ok(())
    }

    /// When the next pending delivery may go out (unix seconds), if any.
    pub fn notify_next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MIN(MAX(d.next_at, COALESCE(d.claimed_until, 0))) FROM notify_deliveries d
             JOIN notify_channels c ON c.id = d.channel_id WHERE d.state = 'pending' AND c.enabled = 1",
            [],
            |r| r.get(0),
        )?)
    }

    fn notify_event(&self, id: i64) -> Result<Option<Event>, StoreError> {
        let row = self
            .conn
            .query_row("SELECT id, at, account_id, subject, payload FROM notify_events WHERE id = ?1", [id], event_row)
            .optional()?;
        Ok(row.and_then(|(e, payload)| parse_event(e, &payload)))
    }

    /// The newest `limit` events with their deliveries, newest first.
    pub fn notify_history(&self, limit: usize) -> Result<Vec<HistoryRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, account_id, subject, payload FROM notify_events ORDER BY at DESC, id DESC LIMIT ?1",
        )?;
        let events = stmt
            .query_map([limit as i64], event_row)?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(|(e, payload)| parse_event(e, &payload))
            .collect::<Vec<_>>();
        let mut stmt = self.conn.prepare(
            "SELECT c.name, d.state, d.attempts, d.next_at, d.sent_at, d.last_error FROM notify_deliveries d
             JOIN notify_channels c ON c.id = d.channel_id WHERE d.event_id = ?1 ORDER BY c.name",
        )?;
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            let deliveries = stmt
                .query_map([event.id], |r| {
                    Ok(DeliveryRow {
                        channel: r.get(0)?,
                        state: DeliveryState::parse(&r.get::<_, String>(1)?),
                        attempts: r.get(2)?,
                        next_at: r.get(3)?,
                        sent_at: r.get(4)?,
                        last_error: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            out.push(HistoryRow { event, deliveries });
        }
        Ok(out)
    }

    /// Takes or renews the lease `name` for `holder` for `ttl_secs`, unless someone else
    /// holds it and has renewed it within its time.
    pub fn notify_lease(&mut self, name: &str, holder: &str, ttl_secs: i64, now: i64) -> Result<Lease, StoreError> {
        let tx = self.immediate()?;
        let key = lease_key(name);
        let current: Option<String> =
            tx.query_row("SELECT value FROM notify_state WHERE key = ?1", [&key], |r| r.get(0)).optional()?;
        if let Some((other, expires_at)) = current.as_deref().and_then(parse_lease)
            && other != holder
            && expires_at > now
        {
            return Ok(Lease::Other { holder: other, expires_at });
        }
        set_state(&tx, &key, &format!("{holder} {}", now + ttl_secs), now)?;
        tx.commit()?;
        Ok(Lease::Mine)
    }

    /// Gives the lease up (only when `holder` has it).
    pub fn notify_release(&mut self, name: &str, holder: &str) -> Result<(), StoreError> {
        let tx = self.immediate()?;
        let key = lease_key(name);
        let current: Option<String> =
            tx.query_row("SELECT value FROM notify_state WHERE key = ?1", [&key], |r| r.get(0)).optional()?;
        if current.as_deref().and_then(parse_lease).is_some_and(|(h, _)| h == holder) {
            tx.execute("DELETE FROM notify_state WHERE key = ?1", [&key])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Channels with their settings sealed, for [`write_channels`] (a restore).
    pub(super) fn seal_channels(&self, specs: &[ChannelSpec]) -> Result<Vec<(ChannelSpec, String)>, StoreError> {
        specs
            .iter()
            .map(|s| Ok((s.clone(), self.secrets.seal(&serde_json::to_vec(&s.config).map_err(json_err)?)?)))
            .collect()
    }
}

/// Writes restored channels by name inside the restore's transaction (`replace`
/// removes the others first).
pub(super) fn write_channels(
    tx: &Transaction<'_>,
    channels: &[(ChannelSpec, String)],
    replace: bool,
    now: i64,
) -> Result<(), StoreError> {
    if replace {
        tx.execute("DELETE FROM notify_channels", [])?;
    }
    for (s, sealed) in channels {
        tx.execute(
            "INSERT INTO notify_channels(name, kind, config_sealed, events, enabled, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, config_sealed = excluded.config_sealed,
                events = excluded.events, enabled = excluded.enabled, updated_at = excluded.updated_at",
            params![s.name, s.kind.as_str(), sealed, events_text(&s.events), s.enabled as i64, now],
        )?;
    }
    Ok(())
}

struct ChannelRowRaw {
    id: i64,
    name: String,
    kind: String,
    sealed: String,
    events: String,
    enabled: bool,
    failing_since: Option<i64>,
    last_error: Option<String>,
    last_ok_at: Option<i64>,
}

fn parse_lease(v: &str) -> Option<(String, i64)> {
    let (holder, expires) = v.rsplit_once(' ')?;
    Some((holder.to_string(), expires.parse().ok()?))
}

fn set_state(tx: &Transaction<'_>, key: &str, value: &str, now: i64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO notify_state(key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now],
    )?;
    Ok(())
}

fn channel_result(tx: &Transaction<'_>, id: i64, result: Result<(), &str>, now: i64) -> Result<(), StoreError> {
    match result {
        Ok(()) => tx.execute(
            "UPDATE notify_channels SET last_ok_at = ?2, failing_since = NULL, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?,
        Err(e) => tx.execute(
            "UPDATE notify_channels SET failing_since = COALESCE(failing_since, ?2), last_error = ?3 WHERE id = ?1",
            params![id, now, e],
        )?,
    };
    Ok(())
}

/// Enabled channels and the event kinds each wants.
fn wanted_channels(tx: &Transaction<'_>) -> Result<Vec<(i64, Vec<EventKind>)>, StoreError> {
    let mut stmt = tx.prepare("SELECT id, events FROM notify_channels WHERE enabled = 1 ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, events_parse(&r.get::<_, String>(1)?))))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn insert_event(
    tx: &Transaction<'_>,
    channels: &[(i64, Vec<EventKind>)],
    e: &NewEvent<'_>,
) -> Result<Event, StoreError> {
    let NewEvent { account_id, subject, condition, at: now, hold_until, only_channel } = *e;
    let kind = condition.event_kind();
    let payload = serde_json::to_string(condition).map_err(json_err)?;
    tx.execute(
        "INSERT INTO notify_events(at, kind, account_id, subject, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now, kind.as_str(), account_id, subject, payload],
    )?;
    let id = tx.last_insert_rowid();
    let next_at = hold_until.unwrap_or(now).max(now);
    for (channel, wants) in channels {
        let chosen = match only_channel {
            Some(only) => only == *channel,
            None => kind.wanted_by(wants),
        };
        if chosen {
            tx.execute(
                "INSERT INTO notify_deliveries(event_id, channel_id, state, next_at) VALUES (?1, ?2, 'pending', ?3)",
                params![id, channel, next_at],
            )?;
        }
    }
    Ok(Event { id, at: now, account_id, subject: subject.to_string(), condition: condition.clone() })
}

type EventRow = (Event, String);

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok((
        Event { id: r.get(0)?, at: r.get(1)?, account_id: r.get(2)?, subject: r.get(3)?, condition: Condition::Test },
        r.get(4)?,
    ))
}

fn parse_event(mut e: Event, payload: &str) -> Option<Event> {
    match serde_json::from_str(payload) {
        Ok(c) => {
            e.condition = c;
            Some(e)
        }
        Err(err) => {
            log::warn!("notification event {} is unreadable: {err}", e.id);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notify::ChannelConfig;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap().store;
        (dir, s)
    }

    fn spec(name: &str, events: Vec<EventKind>) -> ChannelSpec {
        ChannelSpec {
            name: name.into(),
            kind: ChannelKind::Webhook,
            config: ChannelConfig { url: "https://hook.example/k?key=SECRET".into(), ..Default::default() },
            events,
            enabled: true,
        }
    }

    #[test]
    fn channel_settings_are_sealed_and_read_back() {
        let (_d, mut s) = store();
        let id = s.save_notify_channel(&spec("ops", vec![EventKind::Failing])).unwrap();
        let raw: String =
            s.conn.query_row("SELECT config_sealed FROM notify_channels WHERE id = ?1", [id], |r| r.get(0)).unwrap();
        assert!(!raw.contains("SECRET"), "sealed at rest");
        let c = s.notify_channel("ops").unwrap().unwrap();
        assert_eq!(c.spec.config.url, "https://hook.example/k?key=SECRET");
        assert_eq!(c.spec.events, vec![EventKind::Failing]);
        s.notify_channel_result(id, Err("HTTP 500"), 10).unwrap();
        s.notify_channel_result(id, Err("HTTP 502"), 20).unwrap();
        let c = s.notify_channel("ops").unwrap().unwrap();
        assert_eq!((c.failing_since, c.last_error.as_deref()), (Some(10), Some("HTTP 502")));
        s.notify_channel_result(id, Ok(()), 30).unwrap();
        let c = s.notify_channel("ops").unwrap().unwrap();
        assert_eq!((c.failing_since, c.last_ok_at), (None, Some(30)));
        assert!(s.remove_notify_channel("ops").unwrap());
        assert!(!s.remove_notify_channel("ops").unwrap());
    }

    #[test]
    fn leases_belong_to_one_holder_until_they_expire() {
        let (_d, mut s) = store();
        assert_eq!(s.notify_lease("schedule", "a", 60, 100).unwrap(), Lease::Mine);
        assert_eq!(
            s.notify_lease("schedule", "b", 60, 120).unwrap(),
            Lease::Other { holder: "a".into(), expires_at: 160 }
        );
        assert_eq!(s.notify_lease("schedule", "a", 60, 150).unwrap(), Lease::Mine, "renewed");
        assert_eq!(s.notify_lease("schedule", "b", 60, 211).unwrap(), Lease::Mine, "expired: taken over");
        s.notify_release("schedule", "a").unwrap();
        assert!(matches!(s.notify_lease("schedule", "a", 60, 212).unwrap(), Lease::Other { .. }), "not a's to free");
        s.notify_release("schedule", "b").unwrap();
        assert_eq!(s.notify_lease("schedule", "a", 60, 213).unwrap(), Lease::Mine);
    }
}
