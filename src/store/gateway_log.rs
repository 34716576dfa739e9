//! The gateway's accounting rows: written in batches (one transaction each) by the
//! gateway's writer task, read by `apihub gateway log` and the Gateway panel.

use rusqlite::{Row, params};
use serde::Serialize;

use super::{Store, StoreError};
use crate::domain::AccountId;
use crate::domain::gateway::{AttemptRecord, Endpoint, Outcome, Usage};

/// Rows kept; older ones are dropped after each batch that crosses it.
pub const KEEP_ROWS: i64 = 200_000;

/// Which rows to read (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayLogQuery {
    /// At most this many (0 = 100).
    pub limit: usize,
    /// Only this account.
    pub account: Option<AccountId>,
    /// Only rows at or after this time (Unix ms).
    pub since_ms: Option<i64>,
}

/// Which records [`Store::gateway_summary`] adds up (every bound optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewaySummaryQuery {
    /// From this time (Unix ms, inclusive).
    pub since_ms: Option<i64>,
    /// Until this time (Unix ms, inclusive).
    pub until_ms: Option<i64>,
    /// Only these accounts (empty = all).
    pub accounts: Vec<AccountId>,
    /// Only this model: the name the client asked for or the one sent upstream.
    pub model: Option<String>,
}

/// One account's figures over a time window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GatewayAccountSummary {
    /// The account.
    pub account_id: AccountId,
    /// Attempts sent to it.
    pub attempts: i64,
    /// Attempts that ended `ok`.
    pub ok: i64,
    /// Input tokens.
    pub prompt_tokens: i64,
    /// Output tokens.
    pub completion_tokens: i64,
    /// USD of quota.
    pub cost_usd: f64,
    /// Real cost in the paid currency.
    pub cost_real: f64,
    /// Mean time to first byte of successful attempts (ms).
    pub avg_ttfb_ms: Option<f64>,
}

fn record(r: &Row<'_>) -> rusqlite::Result<AttemptRecord> {
    let endpoint: String = r.get("endpoint")?;
    let outcome: String = r.get("outcome")?;
    Ok(AttemptRecord {
        at_ms: r.get("at_ms")?,
        request_id: r.get::<_, i64>("request_id")? as u64,
        attempt: r.get::<_, i64>("attempt")? as u32,
        endpoint: Endpoint::parse(&endpoint).unwrap_or(Endpoint::ChatCompletions),
        client_model: r.get("client_model")?,
        account_id: r.get("account_id")?,
        key_id: r.get("key_id")?,
        upstream_model: r.get("upstream_model")?,
        stream: r.get::<_, i64>("stream")? != 0,
        status: r.get::<_, i64>("status")?.clamp(0, 999) as u16,
        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failover),
        error_class: r.get("error_class")?,
        message: r.get("message")?,
        latency_ms: r.get("latency_ms")?,
        ttfb_ms: r.get("ttfb_ms")?,
        usage: Usage {
            prompt_tokens: r.get("prompt_tokens")?,
            completion_tokens: r.get("completion_tokens")?,
            cache_read_tokens: r.get("cache_read_tokens")?,
            cache_write_tokens: r.get("cache_write_tokens")?,
        },
        cost_usd: r.get("cost_usd")?,
        cost_real: r.get("cost_real")?,
    })
}

impl Store {
    /// Writes a batch of records in one transaction; keeps the newest [`KEEP_ROWS`].
    pub fn insert_gateway_attempts(&mut self, rows: &[AttemptRecord]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO gateway_log(at_ms, request_id, attempt, endpoint, client_model, account_id, key_id,
                    upstream_model, stream, status, outcome, error_class, message, latency_ms, ttfb_ms,
                    prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens, cost_usd, cost_real)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            )?;
            for r in rows {
                stmt.execute(params![
                    r.at_ms,
                    r.request_id as i64,
                    r.attempt,
                    r.endpoint.as_str(),
                    r.client_model,
                    r.account_id,
                    r.key_id,
                    r.upstream_model,
                    r.stream,
                    r.status,
                    r.outcome.as_str(),
                    r.error_class,
                    r.message,
                    r.latency_ms,
                    r.ttfb_ms,
                    r.usage.prompt_tokens,
                    r.usage.completion_tokens,
                    r.usage.cache_read_tokens,
                    r.usage.cache_write_tokens,
                    r.cost_usd,
                    r.cost_real,
                ])?;
            }
        }
        let last = tx.last_insert_rowid();
        if last % 1_000 < rows.len() as i64 {
            tx.execute("DELETE FROM gateway_log WHERE id <= ?1", [last - KEEP_ROWS])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records, newest first.
    pub fn gateway_attempts(&self, q: &GatewayLogQuery) -> Result<Vec<AttemptRecord>, StoreError> {
        let limit = if q.limit == 0 { 100 } else { q.limit } as i64;
        let mut stmt = self.conn.prepare(
            "SELECT * FROM gateway_log
             WHERE (?1 IS NULL OR account_id = ?1) AND (?2 IS NULL OR at_ms >= ?2)
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![q.account, q.since_ms, limit], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A stamp of what the gateway's route table is built from, in two parts: accounts,
    /// states and the gateway's settings; and the network settings (global and per site).
    /// The gateway rebuilds its table when the first changes, its clients when the second does.
    pub fn gateway_inputs_stamp(&self) -> Result<(String, String), StoreError> {
        let data: String = self.conn.query_row(
            "SELECT (SELECT COUNT(*) || ':' || COALESCE(MAX(updated_at), 0) || ':' || COALESCE(SUM(updated_at), 0) FROM account_state)
                 || '|' || (SELECT COUNT(*) || ':' || COALESCE(MAX(updated_at), 0) || ':' || COALESCE(SUM(updated_at), 0) FROM accounts)
                 || '|' || (SELECT COALESCE(group_concat(key || '=' || value, ';'), '') FROM
                        (SELECT key, value FROM settings WHERE key LIKE 'gateway.%' ORDER BY key))",
            [],
            |r| r.get(0),
        )?;
        let net: String = self.conn.query_row(
            "SELECT (SELECT COALESCE(group_concat(key || '=' || value, ';'), '') FROM
                        (SELECT key, value FROM settings WHERE key LIKE 'net.%' OR key LIKE 'network.%' ORDER BY key))
                 || '|' || (SELECT COALESCE(group_concat(id || net_proxy || net_user_agent, ';'), '') FROM
                        (SELECT id, net_proxy, net_user_agent FROM sites ORDER BY id))",
            [],
            |r| r.get(0),
        )?;
        Ok((data, net))
    }

    /// Per-account figures of the records `q` selects (time window, accounts, model),
    /// by account id; rows without an account (refused before routing) are left out.
    pub fn gateway_summary(&self, q: &GatewaySummaryQuery) -> Result<Vec<GatewayAccountSummary>, StoreError> {
        // The account list is bound as JSON text: one prepared statement for any length.
        let accounts = if q.accounts.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&q.accounts).unwrap_or_else(|_| "[]".into()))
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT account_id, COUNT(*), SUM(outcome = 'ok'), COALESCE(SUM(prompt_tokens), 0),
                    COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(cost_usd), 0), COALESCE(SUM(cost_real), 0),
                    AVG(CASE WHEN outcome = 'ok' THEN ttfb_ms END)
             FROM gateway_log
             WHERE account_id IS NOT NULL AND (?1 IS NULL OR at_ms >= ?1) AND (?2 IS NULL OR at_ms <= ?2)
               AND (?3 IS NULL OR account_id IN (SELECT value FROM json_each(?3)))
               AND (?4 IS NULL OR client_model = ?4 OR upstream_model = ?4)
             GROUP BY account_id ORDER BY account_id",
        )?;
        let rows = stmt.query_map(params![q.since_ms, q.until_ms, accounts, q.model], |r| {
            Ok(GatewayAccountSummary {
                account_id: r.get(0)?,
                attempts: r.get(1)?,
                ok: r.get(2)?,
                prompt_tokens: r.get(3)?,
                completion_tokens: r.get(4)?,
                cost_usd: r.get(5)?,
                cost_real: r.get(6)?,
                avg_ttfb_ms: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u64, account: Option<AccountId>, outcome: Outcome) -> AttemptRecord {
        AttemptRecord {
            at_ms: 1_000 + i as i64,
            request_id: i,
            attempt: 1,
            endpoint: Endpoint::Messages,
            client_model: "m".into(),
            account_id: account,
            key_id: account.map(|_| 7),
            upstream_model: "m-up".into(),
            stream: true,
            status: 200,
            outcome,
            error_class: None,
            message: String::new(),
            latency_ms: 12.5,
            ttfb_ms: Some(3.0),
            usage: Usage { prompt_tokens: Some(10), completion_tokens: Some(2), ..Usage::default() },
            cost_usd: Some(0.5),
            cost_real: Some(1.0),
        }
    }

    #[test]
    fn batches_round_trip_and_summarise() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let batch =
            vec![rec(1, Some(1), Outcome::Ok), rec(2, Some(1), Outcome::Failover), rec(3, None, Outcome::Rejected)];
        s.insert_gateway_attempts(&batch).unwrap();
        let back = s.gateway_attempts(&GatewayLogQuery::default()).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[2], batch[0], "newest first; every field kept");
        let only = s.gateway_attempts(&GatewayLogQuery { account: Some(1), since_ms: Some(1_002), limit: 5 }).unwrap();
        assert_eq!(only.len(), 1);
        let sum = s.gateway_summary(&GatewaySummaryQuery::default()).unwrap();
        assert_eq!(sum.len(), 1);
        assert_eq!((sum[0].attempts, sum[0].ok, sum[0].prompt_tokens), (2, 1, 20));
        assert_eq!(sum[0].avg_ttfb_ms, Some(3.0));
    }

    #[test]
    fn the_summary_follows_window_accounts_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let mut other = rec(4, Some(2), Outcome::Ok);
        other.client_model = "alias".into();
        s.insert_gateway_attempts(&[rec(1, Some(1), Outcome::Ok), rec(2, Some(1), Outcome::Ok), other]).unwrap();
        let sum = |q: GatewaySummaryQuery| -> Vec<(AccountId, i64)> {
            s.gateway_summary(&q).unwrap().iter().map(|r| (r.account_id, r.attempts)).collect()
        };
        assert_eq!(sum(GatewaySummaryQuery::default()), [(1, 2), (2, 1)]);
        let window = GatewaySummaryQuery { since_ms: Some(1_002), until_ms: Some(1_003), ..Default::default() };
        assert_eq!(sum(window), [(1, 1)], "both bounds inclusive");
        assert_eq!(sum(GatewaySummaryQuery { accounts: vec![2, 9], ..Default::default() }), [(2, 1)]);
        // The model matches either name: the client's alias or the upstream model.
        assert_eq!(sum(GatewaySummaryQuery { model: Some("alias".into()), ..Default::default() }), [(2, 1)]);
        assert_eq!(sum(GatewaySummaryQuery { model: Some("m-up".into()), ..Default::default() }), [(1, 2), (2, 1)]);
        assert!(sum(GatewaySummaryQuery { model: Some("none".into()), ..Default::default() }).is_empty());
    }

    #[test]
    fn the_inputs_stamp_moves_with_settings_and_network() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let (d0, n0) = s.gateway_inputs_stamp().unwrap();
        s.set_setting("gateway.settings", "{}").unwrap();
        let (d1, n1) = s.gateway_inputs_stamp().unwrap();
        assert_ne!(d0, d1);
        assert_eq!(n0, n1);
        s.set_setting("network.connect_timeout_secs", "3").unwrap();
        let (d2, n2) = s.gateway_inputs_stamp().unwrap();
        assert_eq!(d1, d2);
        assert_ne!(n1, n2);
        // The gateway's own log rows change nothing.
        s.insert_gateway_attempts(&[rec(1, Some(1), Outcome::Ok)]).unwrap();
        assert_eq!(s.gateway_inputs_stamp().unwrap(), (d2, n2));
    }
}
