//! Revealing masked new-api keys (≥ 2026-03). Both endpoints are critical-rate-limited
//! on the server (20 per 20 min per IP): reveal once, store the result, never per refresh.

use reqwest::Method;
use serde_json::{Value, json};

use super::error::envelope_data;
use super::snapshot::Ctx;
use super::{AccountRef, RelayClient, RelayError, parse};
use crate::domain::Credentials;

/// Most ids per `POST /api/token/batch/keys`.
pub const REVEAL_BATCH_MAX: usize = 100;

impl RelayClient {
    /// Full keys (with `sk-`) for these token ids: `POST /api/token/batch/keys` in chunks
    /// of 100, falling back to `POST /api/token/{id}/key` per id where the batch route is
    /// missing. Returns `(id, key)` pairs in the order of `ids`.
    pub async fn reveal_keys(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        ids: &[i64],
    ) -> Result<Vec<(i64, String)>, RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(REVEAL_BATCH_MAX) {
            match ctx.call(Method::POST, "/api/token/batch/keys", Some(json!({"ids": chunk}))).await {
                Ok(v) => {
                    let data = envelope_data(&v, "/api/token/batch/keys")?;
                    let keys = data
                        .get("keys")
                        .and_then(Value::as_object)
                        .ok_or_else(|| RelayError::malformed("/api/token/batch/keys: `data.keys` missing"))?;
                    for id in chunk {
                        if let Some(k) = keys.get(&id.to_string()).and_then(Value::as_str) {
                            out.push((*id, parse::with_sk(k)));
                        }
                    }
                }
                Err(RelayError::NotSupported { .. }) => {
                    for id in chunk {
                        let d = ctx.call(Method::POST, &format!("/api/token/{id}/key"), None).await?;
                        let data = envelope_data(&d, "/api/token/:id/key")?;
                        let k = data
                            .get("key")
                            .and_then(Value::as_str)
                            .ok_or_else(|| RelayError::malformed("/api/token/:id/key: `data.key` missing"))?;
                        out.push((*id, parse::with_sk(k)));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
