//! Synced usage logs: insert (deduplicated by content hash), filtered and paged
//! queries, aggregates (totals, per model, per account, per day, per hour), and the
//! per-account sync state.

use std::collections::BTreeMap;

use rusqlite::types::ToSql;
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, usage_daily};
use crate::domain::AccountId;
use crate::domain::time::now_unix;
use crate::domain::usage_log::{Breakdown, LogFilter, LogKind, LogStats, LogTotals, UsageLog, sort_by_cost};

/// Where an account's log sync stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogSyncState {
    /// End of the window the last complete sync covered (unix s).
    pub synced_until: Option<i64>,
    /// Whether the last sync reached the end of its window (a partial one leaves a gap
    /// that the next sync must fill, so it may not stop at the first known page).
    pub last_complete: bool,
    /// When the last sync ran.
    pub last_sync_at: Option<i64>,
    /// The last sync's error, if any.
    pub last_error: Option<String>,
}

/// One bucket of a time series: `bucket` (day `YYYY-MM-DD` or hour `00`..`23`), a
/// series key (account id or model), and its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesPoint {
    /// Day or hour.
    pub bucket: String,
    /// Account id or model name.
    pub series: String,
    /// Totals of the bucket.
    pub totals: LogTotals,
}

/// What a chart stacks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StackBy {
    /// One series per account.
    #[default]
    Account,
    /// One series per model.
    Model,
}

const COLUMNS: &str = "account_id, created_at, kind, raw_type, model, token_name, quota, prompt_tokens, \
     completion_tokens, duration_ms, is_stream, channel_id, group_name, request_id, content, other, content_hash";

const TOTALS: &str = "COUNT(*), COALESCE(SUM(quota),0), COALESCE(SUM(prompt_tokens),0), \
     COALESCE(SUM(completion_tokens),0)";

fn read_row(r: &Row<'_>) -> rusqlite::Result<UsageLog> {
    let kind: String = r.get(2)?;
    Ok(UsageLog {
        account_id: r.get(0)?,
        created_at: r.get(1)?,
        kind: LogKind::parse(&kind).unwrap_or_default(),
        raw_type: r.get(3)?,
        model: r.get(4)?,
        token_name: r.get(5)?,
        quota: r.get(6)?,
        prompt_tokens: r.get(7)?,
        completion_tokens: r.get(8)?,
        duration_ms: r.get(9)?,
        is_stream: r.get::<_, i64>(10)? != 0,
        channel_id: r.get(11)?,
        group: r.get(12)?,
        request_id: r.get(13)?,
        content: r.get(14)?,
        other: r.get(15)?,
        content_hash: r.get(16)?,
    })
}

fn read_totals(r: &Row<'_>, at: usize) -> rusqlite::Result<LogTotals> {
    Ok(LogTotals {
        requests: r.get(at)?,
        quota: r.get(at + 1)?,
        prompt_tokens: r.get(at + 2)?,
        completion_tokens: r.get(at + 3)?,
    })
}

/// `WHERE …` and its parameters for a filter; `consume_only` adds the billed-rows rule.
fn where_clause(f: &LogFilter, consume_only: bool) -> (String, Vec<Box<dyn ToSql>>) {
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
    let mut push = |sql: &str, v: Box<dyn ToSql>| {
        args.push(v);
        conds.push(sql.replace('#', &format!("?{}", args.len())));
    };
    if let Some(s) = f.since {
        push("created_at >= #", Box::new(s));
    }
    if let Some(u) = f.until {
        push("created_at <= #", Box::new(u));
    }
    if consume_only {
        push("kind = #", Box::new(LogKind::Consume.as_str()));
    } else if let Some(k) = f.kind {
        push("kind = #", Box::new(k.as_str()));
    }
    if let Some(m) = &f.model {
        push("model = #", Box::new(m.clone()));
    }
    if let Some(t) = &f.token_name {
        push("token_name = #", Box::new(t.clone()));
    }
    if let Some(t) = f.text.as_ref().filter(|t| !t.is_empty()) {
        let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        push(
            "(model LIKE # ESCAPE '\\' OR token_name LIKE # ESCAPE '\\' OR content LIKE # ESCAPE '\\' \
             OR request_id LIKE # ESCAPE '\\')",
            Box::new(format!("%{escaped}%")),
        );
    }
    if consume_only && f.kind.is_some_and(|k| k != LogKind::Consume) {
        conds.push("0".into()); // a non-consume type filter has no billed rows
    }
    let sql = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    (sql, args)
}

fn merge(acc: &mut LogTotals, t: &LogTotals) {
    acc.requests += t.requests;
    acc.quota += t.quota;
    acc.prompt_tokens += t.prompt_tokens;
    acc.completion_tokens += t.completion_tokens;
}

fn refs(args: &[Box<dyn ToSql>]) -> Vec<&dyn ToSql> {
    args.iter().map(|b| b.as_ref()).collect()
}

impl Store {
    /// Inserts rows, skipping those already stored (same account and content hash).
    /// Returns how many were new. One transaction.
    /// The daily rollup is updated in the same transaction (the days the new rows fall on
    /// are recomputed from the raw rows).
    pub fn insert_usage_logs(&mut self, rows: &[UsageLog]) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let mut added = 0;
        let mut new_rows: Vec<&UsageLog> = Vec::new();
        {
            let mut stmt = tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO usage_logs({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"
            ))?;
            for r in rows {
                let n = stmt.execute(params![
                    r.account_id,
                    r.created_at,
                    r.kind.as_str(),
                    r.raw_type,
                    r.model,
                    r.token_name,
                    r.quota,
                    r.prompt_tokens,
                    r.completion_tokens,
                    r.duration_ms,
                    i64::from(r.is_stream),
                    r.channel_id,
                    r.group,
                    r.request_id,
                    r.content,
                    r.other,
                    r.content_hash,
                ])?;
                if n > 0 {
                    new_rows.push(r);
                }
                added += n;
            }
        }
        if !new_rows.is_empty() && usage_daily::is_current(&tx)? {
            usage_daily::update_days(&tx, &new_rows)?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Which of these hashes an account already has.
    pub fn known_log_hashes(&self, account: AccountId, hashes: &[String]) -> Result<usize, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT 1 FROM usage_logs WHERE account_id = ?1 AND content_hash = ?2")?;
        let mut n = 0;
        for h in hashes {
            if stmt.query_row(params![account, h], |_| Ok(())).optional()?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Matching rows, newest first, `limit` rows from `offset`.
    pub fn query_usage_logs(&self, f: &LogFilter, limit: usize, offset: usize) -> Result<Vec<UsageLog>, StoreError> {
        let (w, args) = where_clause(f, false);
        let sql = format!(
            "SELECT {COLUMNS} FROM usage_logs {w} ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET {offset}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(refs(&args).as_slice(), read_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// How many rows match.
    pub fn count_usage_logs(&self, f: &LogFilter) -> Result<usize, StoreError> {
        let (w, args) = where_clause(f, false);
        let n: i64 =
            self.conn
                .query_row(&format!("SELECT COUNT(*) FROM usage_logs {w}"), refs(&args).as_slice(), |r| r.get(0))?;
        Ok(n.max(0) as usize)
    }

    /// Totals and per-model / per-account / per-local-day breakdowns of billed rows:
    /// from the daily rollup when the filter allows ([`Store::usage_log_stats_rollup`]),
    /// else from the raw rows.
    pub fn usage_log_stats(&self, f: &LogFilter) -> Result<LogStats, StoreError> {
        match self.usage_log_stats_rollup(f)? {
            Some(st) => Ok(st),
            None => self.usage_log_stats_raw(f),
        }
    }

    /// Statistics from the daily rollup; `None` when the filter needs the raw rows (a
    /// text or key filter, a type other than consume, a range not of whole local days).
    pub fn usage_log_stats_rollup(&self, f: &LogFilter) -> Result<Option<LogStats>, StoreError> {
        let Some((w, args)) = usage_daily::where_clause(&self.conn, f)? else { return Ok(None) };
        usage_daily::ensure(&self.conn)?;
        let sql = format!(
            "SELECT model, account_id, day, requests, quota, prompt_tokens, completion_tokens FROM usage_daily {w}"
        );
        self.fold_stats(&sql, &args).map(Some)
    }

    /// Statistics from one scan of the raw rows grouped by (model, account, day).
    pub fn usage_log_stats_raw(&self, f: &LogFilter) -> Result<LogStats, StoreError> {
        let (w, args) = where_clause(f, true);
        let sql = format!(
            "SELECT model, account_id, date(created_at, 'unixepoch', 'localtime'), {TOTALS} FROM usage_logs {w} \
             GROUP BY 1, 2, 3"
        );
        self.fold_stats(&sql, &args)
    }

    /// Folds (model, account, day, totals) groups into statistics.
    fn fold_stats(&self, sql: &str, args: &[Box<dyn ToSql>]) -> Result<LogStats, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let groups = stmt.query_map(refs(args).as_slice(), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, read_totals(r, 3)?))
        })?;
        let mut totals = LogTotals::default();
        let mut by_model: BTreeMap<String, LogTotals> = BTreeMap::new();
        let mut by_account: BTreeMap<String, LogTotals> = BTreeMap::new();
        let mut by_day: BTreeMap<String, LogTotals> = BTreeMap::new();
        for g in groups {
            let (model, account, day, t) = g?;
            for acc in [
                &mut totals,
                by_model.entry(model).or_default(),
                by_account.entry(account.to_string()).or_default(),
                by_day.entry(day).or_default(),
            ] {
                merge(acc, &t);
            }
        }
        let collect = |m: BTreeMap<String, LogTotals>| -> Vec<Breakdown> {
            m.into_iter().map(|(key, totals)| Breakdown { key, totals }).collect()
        };
        let mut by_model = collect(by_model);
        let mut by_account = collect(by_account);
        sort_by_cost(&mut by_model);
        sort_by_cost(&mut by_account);
        Ok(LogStats { totals, by_model, by_account, by_day: collect(by_day) })
    }

    /// Billed totals per local day and per account or model (for stacked charts); from
    /// the daily rollup when the filter allows.
    pub fn usage_per_day(&self, f: &LogFilter, by: StackBy) -> Result<Vec<SeriesPoint>, StoreError> {
        if let Some((w, args)) = usage_daily::where_clause(&self.conn, f)? {
            usage_daily::ensure(&self.conn)?;
            let series = match by {
                StackBy::Account => "CAST(account_id AS TEXT)",
                StackBy::Model => "model",
            };
            let sql = format!(
                "SELECT day, {series}, SUM(requests), SUM(quota), SUM(prompt_tokens), SUM(completion_tokens) \
                 FROM usage_daily {w} GROUP BY 1, 2 ORDER BY 1, 2"
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(refs(&args).as_slice(), |r| {
                Ok(SeriesPoint { bucket: r.get(0)?, series: r.get(1)?, totals: read_totals(r, 2)? })
            })?;
            return Ok(rows.collect::<Result<Vec<_>, _>>()?);
        }
        self.series(f, "date(created_at, 'unixepoch', 'localtime')", by)
    }

    /// Billed totals per local hour (`00`..`23`) of the filter's window.
    pub fn usage_per_hour(&self, f: &LogFilter, by: StackBy) -> Result<Vec<SeriesPoint>, StoreError> {
        self.series(f, "strftime('%H', created_at, 'unixepoch', 'localtime')", by)
    }

    fn series(&self, f: &LogFilter, bucket: &str, by: StackBy) -> Result<Vec<SeriesPoint>, StoreError> {
        let (w, args) = where_clause(f, true);
        let series = match by {
            StackBy::Account => "CAST(account_id AS TEXT)",
            StackBy::Model => "model",
        };
        let sql = format!("SELECT {bucket}, {series}, {TOTALS} FROM usage_logs {w} GROUP BY 1, 2 ORDER BY 1, 2");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(refs(&args).as_slice(), |r| {
            Ok(SeriesPoint { bucket: r.get(0)?, series: r.get(1)?, totals: read_totals(r, 2)? })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Today's billed usage summed from synced rows (`day_start`: local midnight), for the
    /// accounts whose last complete sync reached past `day_start` (so every row of today
    /// is stored). Accounts not synced that far are absent.
    pub fn today_from_logs(
        &self,
        day_start: i64,
    ) -> Result<std::collections::HashMap<AccountId, crate::domain::snapshot::TodayUsage>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.account_id, COUNT(l.id), COALESCE(SUM(l.quota),0), COALESCE(SUM(l.prompt_tokens),0), \
             COALESCE(SUM(l.completion_tokens),0), \
             (SELECT si.kind FROM accounts a JOIN sites si ON si.id = a.site_id WHERE a.id = s.account_id) \
             FROM usage_log_sync s \
             LEFT JOIN usage_logs l ON l.account_id = s.account_id AND l.kind = 'consume' AND l.created_at >= ?1 \
             WHERE s.synced_until >= ?1 GROUP BY s.account_id",
        )?;
        let rows = stmt.query_map([day_start], |r| {
            let t = read_totals(r, 1)?;
            let kind: Option<String> = r.get(5)?;
            let money_native =
                kind.as_deref().and_then(crate::domain::SiteKind::parse).is_some_and(|k| k.is_money_native());
            Ok((
                r.get::<_, i64>(0)?,
                crate::domain::snapshot::TodayUsage {
                    spend: crate::domain::money::from_log_units(t.quota, money_native),
                    prompt_tokens: Some(t.prompt_tokens),
                    completion_tokens: Some(t.completion_tokens),
                    requests: Some(t.requests),
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Distinct model and key names (for the filter pickers), sorted.
    pub fn usage_log_names(&self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let names = |col: &str| -> Result<Vec<String>, StoreError> {
            let mut stmt =
                self.conn.prepare(&format!("SELECT DISTINCT {col} FROM usage_logs WHERE {col} != '' ORDER BY 1"))?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        };
        Ok((names("model")?, names("token_name")?))
    }

    /// An account's sync state (default when never synced).
    pub fn log_sync_state(&self, account: AccountId) -> Result<LogSyncState, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT synced_until, last_complete, last_sync_at, last_error FROM usage_log_sync WHERE account_id = ?1",
                [account],
                |r| {
                    Ok(LogSyncState {
                        synced_until: r.get(0)?,
                        last_complete: r.get::<_, i64>(1)? != 0,
                        last_sync_at: Some(r.get(2)?),
                        last_error: r.get(3)?,
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    /// Records the end of a sync. `synced_until` only moves when the sync was complete.
    pub fn save_log_sync_state(
        &mut self,
        account: AccountId,
        complete_until: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO usage_log_sync(account_id, synced_until, last_complete, last_sync_at, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(account_id) DO UPDATE SET
                synced_until = COALESCE(excluded.synced_until, synced_until),
                last_complete = excluded.last_complete,
                last_sync_at = excluded.last_sync_at,
                last_error = excluded.last_error",
            params![account, complete_until, i64::from(complete_until.is_some()), now_unix(), error],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::usage_log::stats;
    use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

    fn account(s: &mut Store, url: &str) -> AccountId {
        s.upsert_account(&NewAccount {
            site_url: url.into(),
            site_name: "A".into(),
            kind: SiteKind::NewApi,
            user_id: "1".into(),
            username: "u".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials::default(),
        })
        .unwrap()
    }

    #[test]
    fn sql_statistics_equal_the_in_memory_reference_and_filters_apply() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let a = account(&mut s, "https://a.example");
        let b = account(&mut s, "https://b.example");
        let base = 1_764_000_000;
        let mut rows = Vec::new();
        for i in 0..300i64 {
            rows.push(UsageLog {
                account_id: if i % 3 == 0 { b } else { a },
                created_at: base + i * 1_000,
                kind: if i % 10 == 0 { LogKind::Topup } else { LogKind::Consume },
                model: ["m1", "m2", "m_3"][i as usize % 3].into(),
                token_name: format!("k{}", i % 2),
                quota: 100 + i,
                prompt_tokens: i,
                completion_tokens: 2 * i,
                content_hash: format!("h{i}"),
                content: if i == 7 { "50% off".into() } else { String::new() },
                ..Default::default()
            });
        }
        assert_eq!(s.insert_usage_logs(&rows).unwrap(), 300);
        assert_eq!(s.insert_usage_logs(&rows[..10]).unwrap(), 0, "same hashes are skipped");
        let day = |t: i64| crate::domain::time::local_day(t);
        for f in [
            LogFilter::default(),
            LogFilter { model: Some("m2".into()), ..Default::default() },
            LogFilter {
                accounts: vec![b],
                since: Some(base + 50_000),
                until: Some(base + 200_000),
                ..Default::default()
            },
            LogFilter { token_name: Some("k1".into()), kind: Some(LogKind::Consume), ..Default::default() },
            LogFilter { text: Some("_3".into()), ..Default::default() },
            LogFilter { text: Some("50%".into()), ..Default::default() },
        ] {
            let mem: Vec<UsageLog> = rows.iter().filter(|r| f.matches(r)).cloned().collect();
            let want = stats(&mem, day);
            assert_eq!(s.usage_log_stats(&f).unwrap(), want, "filter {f:?}");
            assert_eq!(s.count_usage_logs(&f).unwrap(), mem.len(), "filter {f:?}");
            let page = s.query_usage_logs(&f, 5, 2).unwrap();
            let mut newest = mem.clone();
            newest.sort_by_key(|x| std::cmp::Reverse(x.created_at));
            assert_eq!(page, newest.into_iter().skip(2).take(5).collect::<Vec<_>>());
        }
        // Hand-computed: model m2 = i ≡ 1 (mod 3), excluding i ≡ 0 (mod 10).
        let m2 = s.usage_log_stats(&LogFilter { model: Some("m2".into()), ..Default::default() }).unwrap();
        let want: i64 = (0..300).filter(|i| i % 3 == 1 && i % 10 != 0).map(|i| 100 + i).sum();
        assert_eq!(m2.totals.quota, want);
        assert_eq!(s.log_sync_state(a).unwrap(), LogSyncState::default());
        s.save_log_sync_state(a, Some(99), None).unwrap();
        s.save_log_sync_state(a, None, Some("rate limited")).unwrap();
        let st = s.log_sync_state(a).unwrap();
        assert_eq!(
            (st.synced_until, st.last_complete, st.last_error.as_deref()),
            (Some(99), false, Some("rate limited"))
        );
    }

    use crate::domain::time::midnight_of as local_midnight;

    /// Rows over 12 local days, 3 accounts, 4 models, consume and top-up, every 37 min.
    fn seeded(accounts: &[AccountId], start: i64, n: i64, tag: &str) -> Vec<UsageLog> {
        (0..n)
            .map(|i| UsageLog {
                account_id: accounts[i as usize % accounts.len()],
                created_at: start + i * 2_220,
                kind: if i % 11 == 0 { LogKind::Topup } else { LogKind::Consume },
                model: ["m1", "m2", "m3", ""][(i as usize / 2) % 4].into(),
                token_name: format!("k{}", i % 3),
                quota: 1_000 + (i * 37) % 900,
                prompt_tokens: 10 + i % 50,
                completion_tokens: 3 + i % 7,
                content_hash: format!("{tag}{i}"),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn the_daily_rollup_equals_the_raw_sums_also_after_rows_join_an_existing_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let ids: Vec<AccountId> = ["https://a.example", "https://b.example", "https://c.example"]
            .iter()
            .map(|u| account(&mut s, u))
            .collect();
        let today = crate::domain::time::local_today();
        let first = today - chrono::Days::new(12);
        let start = local_midnight(first) + 60;
        s.insert_usage_logs(&seeded(&ids, start, 400, "a")).unwrap();
        let midnight = |days_ago: u64| local_midnight(today - chrono::Days::new(days_ago));
        let filters = [
            LogFilter::default(),
            LogFilter { since: Some(midnight(6)), ..Default::default() },
            LogFilter {
                accounts: vec![ids[1]],
                since: Some(midnight(9)),
                until: Some(midnight(3) - 1),
                ..Default::default()
            },
            LogFilter { accounts: vec![ids[0], ids[2]], model: Some("m2".into()), ..Default::default() },
            LogFilter { kind: Some(LogKind::Consume), since: Some(midnight(11)), ..Default::default() },
        ];
        let check = |s: &Store, when: &str| {
            for f in &filters {
                let rolled =
                    s.usage_log_stats_rollup(f).unwrap().unwrap_or_else(|| panic!("{when}: {f:?} uses the rollup"));
                let raw = s.usage_log_stats_raw(f).unwrap();
                assert!(raw.totals.requests > 0, "{when}: {f:?} selects rows");
                assert_eq!(rolled, raw, "{when}: {f:?}");
                assert_eq!(s.usage_log_stats(f).unwrap(), raw);
                for by in [StackBy::Account, StackBy::Model] {
                    let raw_days = s.series(f, "date(created_at, 'unixepoch', 'localtime')", by).unwrap();
                    assert_eq!(s.usage_per_day(f, by).unwrap(), raw_days, "{when}: per day {f:?}");
                }
            }
        };
        check(&s, "first build");
        let before = s.usage_log_stats_rollup(&LogFilter::default()).unwrap().unwrap();

        // An incremental sync: new rows land on days that already have rows (and one
        // repeats a stored row, which must not count twice).
        let mut more = seeded(&ids, start + 1_111, 90, "b");
        more.push(seeded(&ids, start, 1, "a").remove(0));
        assert_eq!(s.insert_usage_logs(&more).unwrap(), 90);
        check(&s, "after an incremental insert");
        let after = s.usage_log_stats_rollup(&LogFilter::default()).unwrap().unwrap();
        assert!(after.totals.requests > before.totals.requests);
        let days: usize = s.conn.query_row("SELECT COUNT(DISTINCT day) FROM usage_daily", [], |r| r.get(0)).unwrap();
        assert_eq!(days, before.by_day.len(), "the new rows joined existing days");

        // A rollup cut in another zone is rebuilt whole on its next use.
        s.conn.execute("UPDATE usage_daily_zone SET zone = 'elsewhere'", []).unwrap();
        s.conn.execute("UPDATE usage_daily SET quota = quota + 1", []).unwrap();
        s.insert_usage_logs(&seeded(&ids, start + 333, 20, "c")).unwrap();
        check(&s, "after a zone change");

        // Filters the rollup cannot answer exactly use the raw rows.
        for f in [
            LogFilter { text: Some("m1".into()), ..Default::default() },
            LogFilter { token_name: Some("k1".into()), ..Default::default() },
            LogFilter { since: Some(midnight(3) + 7), ..Default::default() },
            LogFilter { until: Some(midnight(3)), ..Default::default() },
            LogFilter { kind: Some(LogKind::Topup), ..Default::default() },
        ] {
            assert_eq!(s.usage_log_stats_rollup(&f).unwrap(), None, "{f:?}");
        }
    }
}
