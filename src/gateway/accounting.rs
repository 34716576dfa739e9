//! Accounting off the request path: requests hand their records to a bounded channel
//! (`try_send`, never waiting, never locking the store); one writer task takes them in
//! batches, keeps the live figures (recent records, per-account totals, alerts) and writes
//! each batch to SQLite in one transaction on the blocking pool.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::AccountId;
use crate::domain::gateway::{AttemptRecord, Outcome};
use crate::store::SharedStore;

/// Records waiting for the writer before new ones are dropped (and counted).
const QUEUE: usize = 65_536;
/// Records in one batch at most.
const BATCH: usize = 4_096;
/// Pause after each write, so writes come in batches under load.
const FLUSH_PAUSE: Duration = Duration::from_millis(200);
/// Recent records kept in memory for the panel.
pub const RECENT: usize = 500;

/// One account's figures since the gateway started.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountFigures {
    /// Attempts sent to it.
    pub attempts: u64,
    /// Attempts that ended `ok`.
    pub ok: u64,
    /// Attempts that failed over or broke.
    pub failed: u64,
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
    /// The last failure's class and message.
    pub last_error: Option<String>,
}

/// Something the user should act on (a dead key, no balance, a model the key cannot use).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewayAlert {
    /// The account.
    pub account_id: AccountId,
    /// The key's id on the site (0 = the account's own key).
    pub key_id: Option<i64>,
    /// `key_auth`, `key_quota`, `account_quota` or `model_missing`.
    pub class: String,
    /// The model asked for upstream.
    pub model: String,
    /// The upstream's message (redacted).
    pub message: String,
    /// When (Unix ms).
    pub at_ms: i64,
}

/// What the panel and the CLI read while the gateway runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiveFigures {
    /// The newest records, newest last.
    pub recent: VecDeque<AttemptRecord>,
    /// Per account.
    pub accounts: BTreeMap<AccountId, AccountFigures>,
    /// Requests answered (all outcomes).
    pub records: u64,
    /// Records written to the store.
    pub written: u64,
    /// Batches the store refused (the records stay in memory only).
    pub write_errors: u64,
    /// The last write error.
    pub last_write_error: Option<String>,
    /// Current alerts, one per (account, key, class).
    pub alerts: Vec<GatewayAlert>,
}

impl LiveFigures {
    fn add(&mut self, r: &AttemptRecord) {
        self.records += 1;
        if let Some(a) = r.account_id {
            let f = self.accounts.entry(a).or_default();
            f.attempts += 1;
            match r.outcome {
                Outcome::Ok => {
                    f.ok += 1;
                    if let Some(t) = r.ttfb_ms {
                        let n = f.ok as f64;
                        f.avg_ttfb_ms = Some(f.avg_ttfb_ms.map_or(t, |m| m + (t - m) / n));
                    }
                    // A success clears that key's alerts.
                    self.alerts
                        .retain(|al| !(al.account_id == a && (al.key_id == r.key_id || al.class == "account_quota")));
                }
                Outcome::Failover | Outcome::StreamError => {
                    f.failed += 1;
                    f.last_error = Some(format!("{}: {}", r.error_class.as_deref().unwrap_or("error"), r.message));
                }
                Outcome::ClientError | Outcome::Cancelled | Outcome::Rejected => {}
            }
            f.prompt_tokens += r.usage.prompt_tokens.unwrap_or(0);
            f.completion_tokens += r.usage.completion_tokens.unwrap_or(0);
            f.cost_usd += r.cost_usd.unwrap_or(0.0);
            f.cost_real += r.cost_real.unwrap_or(0.0);
            if let Some(class) = r
                .error_class
                .as_deref()
                .filter(|c| matches!(*c, "key_auth" | "key_quota" | "account_quota" | "model_missing"))
            {
                self.alerts.retain(|al| !(al.account_id == a && al.key_id == r.key_id && al.class == class));
                self.alerts.push(GatewayAlert {
                    account_id: a,
                    key_id: r.key_id,
                    class: class.to_string(),
                    model: r.upstream_model.clone(),
                    message: r.message.clone(),
                    at_ms: r.at_ms,
                });
            }
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(r.clone());
    }
}

/// The request side: a cheap handle to hand records over.
#[derive(Debug, Clone)]
pub struct Accounting {
    tx: mpsc::Sender<AttemptRecord>,
    dropped: Arc<AtomicU64>,
    live: Arc<Mutex<LiveFigures>>,
}

impl Accounting {
    /// Starts the writer on the current runtime. It ends (after writing what it holds)
    /// when every `Accounting` clone is dropped.
    pub fn start(store: SharedStore) -> (Accounting, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let live = Arc::new(Mutex::new(LiveFigures::default()));
        let writer = tokio::spawn(write_loop(store, rx, live.clone()));
        (Accounting { tx, dropped: Arc::new(AtomicU64::new(0)), live }, writer)
    }

    /// Hands a record over without waiting; a full queue drops it (counted).
    pub fn record(&self, r: AttemptRecord) {
        if self.tx.try_send(r).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A copy of the live figures.
    pub fn live(&self) -> LiveFigures {
        self.live.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

async fn write_loop(store: SharedStore, mut rx: mpsc::Receiver<AttemptRecord>, live: Arc<Mutex<LiveFigures>>) {
    let mut buf = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut buf, BATCH).await == 0 {
            break;
        }
        if let Ok(mut g) = live.lock() {
            for r in &buf {
                g.add(r);
            }
        }
        let batch = std::mem::replace(&mut buf, Vec::with_capacity(BATCH));
        let n = batch.len() as u64;
        let res = store.run(move |s| s.insert_gateway_attempts(&batch)).await.map_err(|e| e.to_string());
        if let Ok(mut g) = live.lock() {
            match res {
                Ok(()) => g.written += n,
                Err(e) => {
                    log::warn!("gateway accounting not saved ({n} records): {e}");
                    g.write_errors += 1;
                    g.last_write_error = Some(e);
                }
            }
        }
        if rx.is_closed() && rx.is_empty() {
            break;
        }
        tokio::time::sleep(FLUSH_PAUSE).await;
    }
}
