//! "Last verified": the stored result of the last try of a model on an account.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::AccountId;

/// The last try of one model on one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastVerified {
    /// Store id of the account.
    pub account_id: AccountId,
    /// Exact model name.
    pub model: String,
    /// Whether the model answered.
    pub ok: bool,
    /// The error class when it failed (`auth`, `rate_limited`, `model_unavailable`, …).
    pub error_kind: Option<String>,
    /// The reply (or "1536 dimensions") when it answered; the server's message when not.
    pub message: String,
    /// Time to first token, ms.
    pub ttft_ms: Option<u64>,
    /// Total time, ms.
    pub total_ms: Option<u64>,
    /// When (Unix seconds).
    pub at: i64,
}

/// Every stored try, by account then model (looked up by `&str`, no allocation per lookup).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifiedMap(HashMap<AccountId, HashMap<String, LastVerified>>);

impl VerifiedMap {
    /// The last try of `model` on `account`.
    pub fn get(&self, account: AccountId, model: &str) -> Option<&LastVerified> {
        self.0.get(&account)?.get(model)
    }

    /// Records a try (replacing the previous one of the same account and model).
    pub fn insert(&mut self, v: LastVerified) {
        self.0.entry(v.account_id).or_default().insert(v.model.clone(), v);
    }
}

impl FromIterator<LastVerified> for VerifiedMap {
    fn from_iter<I: IntoIterator<Item = LastVerified>>(iter: I) -> Self {
        let mut m = VerifiedMap::default();
        for v in iter {
            m.insert(v);
        }
        m
    }
}

/// Seconds as "1.2 s" (or "850 ms" under a second).
pub fn latency_text(ms: u64) -> String {
    if ms < 1_000 { format!("{ms} ms") } else { format!("{:.1} s", ms as f64 / 1_000.0) }
}

impl LastVerified {
    /// The latency part: "1.2 s" (total), with the time to first token when known: "0.4 s → 1.2 s".
    pub fn latency(&self) -> String {
        match (self.ttft_ms, self.total_ms) {
            (Some(f), Some(t)) if f < t => format!("{} → {}", latency_text(f), latency_text(t)),
            (_, Some(t)) => latency_text(t),
            (Some(f), None) => latency_text(f),
            (None, None) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_reads_well() {
        let mut v = LastVerified {
            account_id: 1,
            model: "m".into(),
            ok: true,
            error_kind: None,
            message: String::new(),
            ttft_ms: Some(400),
            total_ms: Some(1_234),
            at: 0,
        };
        assert_eq!(v.latency(), "400 ms → 1.2 s");
        v.ttft_ms = None;
        assert_eq!(v.latency(), "1.2 s");
    }
}
