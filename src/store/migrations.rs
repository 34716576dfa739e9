//! Schema migrations, applied in order inside one transaction each.
//! `PRAGMA user_version` holds the number of migrations applied. Never edit a
//! migration once released: add a new one.

use rusqlite::Connection;

use super::StoreError;

/// Each entry moves the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: sites, accounts, settings, activity log.
    r#"
    CREATE TABLE sites (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        url         TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE accounts (
        id            INTEGER PRIMARY KEY,
        site_id       INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        identity      TEXT NOT NULL,
        user_id       TEXT NOT NULL DEFAULT '',
        username      TEXT NOT NULL DEFAULT '',
        auth_method   TEXT NOT NULL,
        secret        TEXT NOT NULL,
        group_name    TEXT NOT NULL DEFAULT '',
        paid_per_usd  REAL,
        disabled      INTEGER NOT NULL DEFAULT 0,
        notes         TEXT NOT NULL DEFAULT '',
        sort_order    INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        UNIQUE(site_id, identity)
    );
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE activity_log (
        id       INTEGER PRIMARY KEY,
        ts       INTEGER NOT NULL,
        level    TEXT NOT NULL,
        target   TEXT NOT NULL,
        message  TEXT NOT NULL
    );
    CREATE INDEX activity_log_ts ON activity_log(ts);
    "#,
    // 2: per-account refresh state (merged snapshot, sealed: it holds API keys) and
    //    daily history rows for charts.
    r#"
    CREATE TABLE account_state (
        account_id    INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        state_sealed  TEXT NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE TABLE daily_history (
        account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        day            TEXT NOT NULL,
        balance_quota  INTEGER,
        spend_quota    INTEGER,
        updated_at     INTEGER NOT NULL,
        PRIMARY KEY (account_id, day)
    );
    "#,
    // 3: check-in state: the last check-in result per account, dated in the site's
    //    own day boundary (Veloera UTC, others local).
    r#"
    CREATE TABLE checkin_state (
        account_id    INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        day           TEXT NOT NULL,
        outcome       TEXT NOT NULL,
        reward_quota  INTEGER,
        message       TEXT NOT NULL DEFAULT '',
        updated_at    INTEGER NOT NULL
    );
    "#,
    // 4: usage logs — synced rows identified by a content hash (new-api's `id` is a
    //    display index), indexed for the Logs panel's filters; per-account sync state.
    r#"
    CREATE TABLE usage_logs (
        id                 INTEGER PRIMARY KEY,
        account_id         INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        content_hash       TEXT NOT NULL,
        created_at         INTEGER NOT NULL,
        kind               TEXT NOT NULL,
        raw_type           INTEGER NOT NULL,
        model              TEXT NOT NULL DEFAULT '',
        token_name         TEXT NOT NULL DEFAULT '',
        quota              INTEGER NOT NULL DEFAULT 0,
        prompt_tokens      INTEGER NOT NULL DEFAULT 0,
        completion_tokens  INTEGER NOT NULL DEFAULT 0,
        duration_ms        INTEGER,
        is_stream          INTEGER NOT NULL DEFAULT 0,
        channel_id         INTEGER,
        group_name         TEXT NOT NULL DEFAULT '',
        request_id         TEXT NOT NULL DEFAULT '',
        content            TEXT NOT NULL DEFAULT '',
        other              TEXT NOT NULL DEFAULT '',
        UNIQUE(account_id, content_hash)
    );
    CREATE INDEX usage_logs_time ON usage_logs(created_at);
    CREATE INDEX usage_logs_account_time ON usage_logs(account_id, created_at);
    CREATE INDEX usage_logs_model_time ON usage_logs(model, created_at);
    CREATE INDEX usage_logs_token_time ON usage_logs(token_name, created_at);
    CREATE INDEX usage_logs_kind_time ON usage_logs(kind, created_at);
    CREATE TABLE usage_log_sync (
        account_id      INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        synced_until    INTEGER,
        last_complete   INTEGER NOT NULL DEFAULT 0,
        last_sync_at    INTEGER NOT NULL,
        last_error      TEXT
    );
    "#,
    // 5: daily rollup of billed usage-log rows per account, local day and model, kept in
    //    step with `usage_logs` inside each insert's transaction. `usage_daily_zone` holds
    //    the local time zone the days were cut in; a different zone (or none: rows from
    //    before this migration) rebuilds the whole rollup on its next use.
    r#"
    CREATE TABLE usage_daily (
        account_id         INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        day                TEXT NOT NULL,
        model              TEXT NOT NULL,
        requests           INTEGER NOT NULL,
        quota              INTEGER NOT NULL,
        prompt_tokens      INTEGER NOT NULL,
        completion_tokens  INTEGER NOT NULL,
        PRIMARY KEY (account_id, day, model)
    ) WITHOUT ROWID;
    CREATE INDEX usage_daily_day ON usage_daily(day);
    CREATE TABLE usage_daily_zone (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        zone  TEXT NOT NULL
    );
    "#,
    // 6: per-account low-balance alert threshold and auto-refresh interval override.
    r#"
    ALTER TABLE accounts ADD COLUMN low_balance_threshold REAL;
    ALTER TABLE accounts ADD COLUMN refresh_interval_mins INTEGER;
    "#,
    // 7: a site's own network settings: proxy override (sealed: it may hold a password;
    // '' = inherit the global proxy) and custom User-Agent ('' = none).
    r#"
    ALTER TABLE sites ADD COLUMN net_proxy TEXT NOT NULL DEFAULT '';
    ALTER TABLE sites ADD COLUMN net_user_agent TEXT NOT NULL DEFAULT '';
    "#,
    // 8: "try a model" results: the last verification of each model on each account
    //    (ok or the error class and message, time to first token, total time).
    r#"
    CREATE TABLE model_trials (
        account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        model       TEXT NOT NULL,
        ok          INTEGER NOT NULL,
        error_kind  TEXT,
        message     TEXT NOT NULL DEFAULT '',
        ttft_ms     INTEGER,
        total_ms    INTEGER,
        at          INTEGER NOT NULL,
        PRIMARY KEY (account_id, model)
    );
    "#,
    // 9: money as the site gives it. Money-native kinds (sub2api, VoAPI v2) have no quota:
    //    history rows and check-in rewards get money columns (amount + currency), and the
    //    quota older builds invented for those kinds (USD × 500 000) moves back into USD.
    r#"
    ALTER TABLE daily_history ADD COLUMN balance_amount REAL;
    ALTER TABLE daily_history ADD COLUMN spend_amount REAL;
    ALTER TABLE daily_history ADD COLUMN currency TEXT;
    UPDATE daily_history
       SET balance_amount = balance_quota / 500000.0, spend_amount = spend_quota / 500000.0,
           currency = 'USD', balance_quota = NULL, spend_quota = NULL
     WHERE account_id IN (SELECT a.id FROM accounts a JOIN sites s ON s.id = a.site_id
                          WHERE s.kind IN ('sub2api', 'voapi-v2'));
    ALTER TABLE checkin_state ADD COLUMN reward_amount REAL;
    ALTER TABLE checkin_state ADD COLUMN reward_currency TEXT;
    UPDATE checkin_state
       SET reward_amount = reward_quota / 500000.0, reward_currency = 'USD', reward_quota = NULL
     WHERE reward_quota IS NOT NULL
       AND account_id IN (SELECT a.id FROM accounts a JOIN sites s ON s.id = a.site_id
                          WHERE s.kind IN ('sub2api', 'voapi-v2'));
    "#,
    // 10: alert notifications. Channels (their settings sealed as one JSON: webhook URLs
    //     hold keys), the event history, one delivery row per event and channel (pending
    //     until sent, held through quiet hours, retried with backoff, claimed by the one
    //     process sending it), each account's active alert states (an event fires when a
    //     state appears: once across every process on this data dir), and small shared
    //     state (the schedule lease of `apihub watch`, the last daily summary's day).
    r#"
    CREATE TABLE notify_channels (
        id             INTEGER PRIMARY KEY,
        name           TEXT NOT NULL UNIQUE,
        kind           TEXT NOT NULL,
        config_sealed  TEXT NOT NULL,
        events         TEXT NOT NULL DEFAULT '',
        enabled        INTEGER NOT NULL DEFAULT 1,
        failing_since  INTEGER,
        last_error     TEXT,
        last_ok_at     INTEGER,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
    );
    CREATE TABLE notify_events (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        account_id  INTEGER,
        subject     TEXT NOT NULL DEFAULT '',
        payload     TEXT NOT NULL
    );
    CREATE INDEX notify_events_at ON notify_events(at);
    CREATE TABLE notify_deliveries (
        event_id       INTEGER NOT NULL REFERENCES notify_events(id) ON DELETE CASCADE,
        channel_id     INTEGER NOT NULL REFERENCES notify_channels(id) ON DELETE CASCADE,
        state          TEXT NOT NULL,
        attempts       INTEGER NOT NULL DEFAULT 0,
        next_at        INTEGER NOT NULL,
        last_error     TEXT,
        sent_at        INTEGER,
        claimed_until  INTEGER,
        PRIMARY KEY (event_id, channel_id)
    );
    CREATE INDEX notify_deliveries_due ON notify_deliveries(state, next_at);
    CREATE TABLE notify_active (
        account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        state_id    TEXT NOT NULL,
        since       INTEGER NOT NULL,
        PRIMARY KEY (account_id, state_id)
    );
    CREATE TABLE notify_state (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    "#,
    // 11: the local gateway's accounting: one row per upstream attempt (or request the
    //     gateway answered itself). No foreign key: rows outlive a removed account.
    r#"
    CREATE TABLE gateway_log (
        id                  INTEGER PRIMARY KEY,
        at_ms               INTEGER NOT NULL,
        request_id          INTEGER NOT NULL,
        attempt             INTEGER NOT NULL,
        endpoint            TEXT NOT NULL,
        client_model        TEXT NOT NULL,
        account_id          INTEGER,
        key_id              INTEGER,
        upstream_model      TEXT NOT NULL DEFAULT '',
        stream              INTEGER NOT NULL,
        status              INTEGER NOT NULL,
        outcome             TEXT NOT NULL,
        error_class         TEXT,
        message             TEXT NOT NULL DEFAULT '',
        latency_ms          REAL NOT NULL,
        ttfb_ms             REAL,
        prompt_tokens       INTEGER,
        completion_tokens   INTEGER,
        cache_read_tokens   INTEGER,
        cache_write_tokens  INTEGER,
        cost_usd            REAL,
        cost_real           REAL
    );
    CREATE INDEX gateway_log_at ON gateway_log(at_ms);
    CREATE INDEX gateway_log_account_at ON gateway_log(account_id, at_ms);
    "#,
    // 12: multi-device sync. The
    //    account's own name; this device's sync state (its id, the merged document of
    //    the last sync, sealed: it holds credentials) and the conflicts the user has not
    //    settled (both values sealed).
    r#"
    ALTER TABLE accounts ADD COLUMN name TEXT NOT NULL DEFAULT '';
    CREATE TABLE sync_state (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        device_id     TEXT NOT NULL,
        base_sealed   TEXT,
        generation    INTEGER NOT NULL DEFAULT 0,
        synced_at     INTEGER
    );
    CREATE TABLE sync_conflicts (
        id             INTEGER PRIMARY KEY,
        record         TEXT NOT NULL,
        field          TEXT NOT NULL,
        label          TEXT NOT NULL,
        local_sealed   TEXT NOT NULL,
        remote_sealed  TEXT NOT NULL,
        applied        TEXT NOT NULL,
        remote_device  TEXT NOT NULL DEFAULT '',
        created_at     INTEGER NOT NULL
    );
    "#,
    // 13: key notes: the user's own note on a key of an account (the site has none),
    //    by site, identity and the key's id on the site (cleared notes stay as ''
    //    rows, so clearing syncs too). Sync versions edits by when they were made. The journal holds, per synced
    //    record and field, the time of its last local write since the last sync (the
    //    connection's TEMP triggers write it: `store::sync::JOURNAL_TRIGGERS`); `*` is a
    //    record written as a whole (inserted). Conflicts live in the sync document:
    //    each row is one open conflict of the document (`uid`), or a settlement made
    //    here and not yet synced (`settled_ms`); the device that found it.
    r#"
    CREATE TABLE sync_journal (
        record  TEXT NOT NULL,
        field   TEXT NOT NULL,
        ms      INTEGER NOT NULL,
        PRIMARY KEY (record, field)
    );
    ALTER TABLE sync_conflicts ADD COLUMN uid TEXT;
    ALTER TABLE sync_conflicts ADD COLUMN settled_ms INTEGER;
    ALTER TABLE sync_conflicts ADD COLUMN found_by TEXT NOT NULL DEFAULT '';
    CREATE TABLE key_notes (
        site_url  TEXT NOT NULL,
        identity  TEXT NOT NULL,
        key_id    INTEGER NOT NULL,
        note      TEXT NOT NULL,
        PRIMARY KEY (site_url, identity, key_id)
    );
    CREATE UNIQUE INDEX sync_conflicts_uid ON sync_conflicts(uid);
    "#,
];

/// Highest schema version this build knows.
pub(super) fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Applies pending migrations; refuses a database from a newer build.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest() {
        return Err(StoreError::TooNew { found: current, supported: latest() });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        log::info!("store migrated to schema {}", i + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.cargo/config.toml` builds the bundled SQLite without the extensions the app never
    /// uses (about 0.35 MB of code); the JSON functions the store's queries use stay.
    #[test]
    fn sqlite_is_built_without_the_extensions_the_app_does_not_use() {
        let conn = Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        for gone in ["ENABLE_FTS3", "ENABLE_FTS5", "ENABLE_RTREE", "ENABLE_STAT4"] {
            assert!(!options.iter().any(|o| o == gone), "{gone} in {options:?}");
        }
        assert!(options.iter().any(|o| o == "OMIT_LOAD_EXTENSION"), "{options:?}");
        for module in ["fts5(body)", "fts4(body)", "rtree(id, x0, x1)"] {
            let err = conn.execute_batch(&format!("CREATE VIRTUAL TABLE t USING {module}")).unwrap_err();
            assert!(err.to_string().contains("no such module"), "{module}: {err}");
        }
        let n: i64 = conn.query_row("SELECT count(*) FROM json_each('[1, 2, 3]')", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn money_native_history_and_rewards_move_from_invented_quota_to_usd() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A store as the build before migration 9 left it.
        for sql in &MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 8).unwrap();
        conn.execute_batch(
            "INSERT INTO sites(id, name, url, kind, created_at, updated_at) VALUES
                (1, 'vo', 'https://vo', 'voapi-v2', 0, 0), (2, 'na', 'https://na', 'new-api', 0, 0);
             INSERT INTO accounts(id, site_id, identity, auth_method, secret, created_at, updated_at) VALUES
                (1, 1, 'a', 'access_token', '', 0, 0), (2, 2, 'b', 'access_token', '', 0, 0);
             INSERT INTO daily_history(account_id, day, balance_quota, spend_quota, updated_at) VALUES
                (1, '2026-11-25', 10570000, 2450, 0), (2, '2026-11-25', 3650000, 50, 0);
             INSERT INTO checkin_state(account_id, day, outcome, reward_quota, updated_at) VALUES
                (1, '2026-11-25', 'done', 2450, 0), (2, '2026-11-25', 'done', 2431, 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let history = |id: i64| {
            conn.query_row(
                "SELECT balance_quota, balance_amount, spend_quota, spend_amount, currency FROM daily_history
                 WHERE account_id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?,
                        r.get::<_, Option<f64>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<f64>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .unwrap()
        };
        assert_eq!(history(1), (None, Some(21.14), None, Some(0.0049), Some("USD".into())));
        assert_eq!(history(2), (Some(3_650_000), None, Some(50), None, None), "quota sites keep quota");
        let reward = |id: i64| {
            conn.query_row(
                "SELECT reward_quota, reward_amount, reward_currency FROM checkin_state WHERE account_id = ?1",
                [id],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<f64>>(1)?, r.get::<_, Option<String>>(2)?)),
            )
            .unwrap()
        };
        assert_eq!(reward(1), (None, Some(0.0049), Some("USD".into())));
        assert_eq!(reward(2), (Some(2_431), None, None));
    }
}
