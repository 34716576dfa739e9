//! The daily rollup of billed usage-log rows: one row per (account, local day, model)
//! with requests, quota and tokens. Kept in step with `usage_logs` inside each insert's
//! transaction (the days an insert touched are recomputed from the raw rows), rebuilt
//! whole when the local time zone differs from the one its days were cut in.
//!
//! Statistics and the spend-per-day chart read it when the filter is only accounts,
//! model and whole local days; any text / key filter falls back to the raw rows.

use std::collections::BTreeMap;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::domain::AccountId;
use crate::domain::usage_log::{LogFilter, LogKind, UsageLog};

/// The local wall-clock time of two fixed instants (winter and summer): equal strings
/// mean the same zone rules for cutting days.
const ZONE_SQL: &str = "SELECT strftime('%H:%M', 1767225600, 'unixepoch', 'localtime') || ' ' || \
     strftime('%H:%M', 1782864000, 'unixepoch', 'localtime')";

/// Margin around an inserted row's time that surely holds its whole local day.
const DAY_MARGIN_SECS: i64 = 26 * 3_600;

const REBUILD_ALL: &str = "INSERT INTO usage_daily(account_id, day, model, requests, quota, prompt_tokens, \
     completion_tokens) SELECT account_id, date(created_at, 'unixepoch', 'localtime'), model, COUNT(*), SUM(quota), \
     SUM(prompt_tokens), SUM(completion_tokens) FROM usage_logs WHERE kind = 'consume' GROUP BY 1, 2, 3";

fn zone(conn: &Connection) -> Result<String, StoreError> {
    Ok(conn.query_row(ZONE_SQL, [], |r| r.get(0))?)
}

/// Whether the rollup was cut in the current local zone (false: never built, or stale).
pub(super) fn is_current(conn: &Connection) -> Result<bool, StoreError> {
    let stored: Option<String> =
        conn.query_row("SELECT zone FROM usage_daily_zone WHERE id = 1", [], |r| r.get(0)).optional()?;
    Ok(stored.is_some_and(|z| zone(conn).is_ok_and(|now| now == z)))
}

/// Rebuilds the whole rollup from the raw rows unless it is current. One transaction.
pub(super) fn ensure(conn: &Connection) -> Result<(), StoreError> {
    if is_current(conn)? {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let tx = conn.unchecked_transaction()?;
    tx.execute("DELETE FROM usage_daily", [])?;
    tx.execute(REBUILD_ALL, [])?;
    tx.execute(
        "INSERT INTO usage_daily_zone(id, zone) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET zone = excluded.zone",
        [zone(&tx)?],
    )?;
    tx.commit()?;
    log::info!("usage-log daily rollup rebuilt in {} ms", started.elapsed().as_millis());
    Ok(())
}

/// Recomputes, from the raw rows, every (account, local day) that these newly
/// inserted rows fall on. Call inside the insert's transaction, only when the rollup is
/// current (a stale one is rebuilt whole on its next use anyway).
pub(super) fn update_days(conn: &Connection, inserted: &[&UsageLog]) -> Result<(), StoreError> {
    let mut days: BTreeMap<(AccountId, String), (i64, i64)> = BTreeMap::new();
    {
        let mut day_of = conn.prepare_cached("SELECT date(?1, 'unixepoch', 'localtime')")?;
        for r in inserted.iter().filter(|r| r.kind == LogKind::Consume) {
            let day: String = day_of.query_row([r.created_at], |x| x.get(0))?;
            let span = days.entry((r.account_id, day)).or_insert((r.created_at, r.created_at));
            span.0 = span.0.min(r.created_at);
            span.1 = span.1.max(r.created_at);
        }
    }
    let mut delete = conn.prepare_cached("DELETE FROM usage_daily WHERE account_id = ?1 AND day = ?2")?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO usage_daily(account_id, day, model, requests, quota, prompt_tokens, completion_tokens) \
         SELECT account_id, ?2, model, COUNT(*), SUM(quota), SUM(prompt_tokens), SUM(completion_tokens) \
         FROM usage_logs WHERE account_id = ?1 AND kind = 'consume' AND created_at BETWEEN ?3 AND ?4 \
         AND date(created_at, 'unixepoch', 'localtime') = ?2 GROUP BY model",
    )?;
    for ((account, day), (min, max)) in days {
        delete.execute(params![account, day])?;
        insert.execute(params![account, day, min - DAY_MARGIN_SECS, max + DAY_MARGIN_SECS])?;
    }
    Ok(())
}

/// A `WHERE …` clause and its numbered parameters.
pub(super) type Where = (String, Vec<Box<dyn ToSql>>);

/// `WHERE …` over the rollup for a filter it can answer exactly: no text or key
/// filter, no type but consume, and a time range of whole local days. `None`: the raw
/// rows are needed.
pub(super) fn where_clause(conn: &Connection, f: &LogFilter) -> Result<Option<Where>, StoreError> {
    if f.token_name.is_some()
        || f.text.as_ref().is_some_and(|t| !t.is_empty())
        || f.kind.is_some_and(|k| k != LogKind::Consume)
    {
        return Ok(None);
    }
    let day_at = |t: i64, clock: &str| -> Result<Option<String>, StoreError> {
        let (day, time): (String, String) = conn.query_row(
            "SELECT date(?1, 'unixepoch', 'localtime'), strftime('%H:%M:%S', ?1, 'unixepoch', 'localtime')",
            [t],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((time == clock).then_some(day))
    };
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if !f.accounts.is_empty() {
        let marks: Vec<String> = f
            .accounts
            .iter()
            .map(|a| {
                args.push(Box::new(*a));
                format!("?{}", args.len())
            })
            .collect();
        conds.push(format!("account_id IN ({})", marks.join(",")));
    }
    for (bound, clock, op) in [(f.since, "00:00:00", ">="), (f.until, "23:59:59", "<=")] {
        if let Some(t) = bound {
            let Some(day) = day_at(t, clock)? else { return Ok(None) };
            args.push(Box::new(day));
            conds.push(format!("day {op} ?{}", args.len()));
        }
    }
    if let Some(m) = &f.model {
        args.push(Box::new(m.clone()));
        conds.push(format!("model = ?{}", args.len()));
    }
    let sql = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    Ok(Some((sql, args)))
}
