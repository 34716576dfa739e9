//! Channel management on a self-hosted relay the user administers (admin or root
//! account): find channels by name, create one, update one. Shapes (exports-and-gateway.md
//! §2.8): new-api and its forks take `POST /api/channel/` as `{"mode":"single","channel":…}`
//! and search with `GET /api/channel/search?keyword=` (`data.items` or a bare array);
//! one-api takes the channel itself and searches the same way; one-hub and done-hub take
//! the channel itself and have no search — their list filters by `name`. Updates are
//! `PUT /api/channel/` with the channel's id and only the fields to change (new-api
//! refuses `status` there). Channel lists never carry keys on new-api.

use reqwest::Method;
use serde_json::{Value, json};

use super::ctx::Ctx;
use super::lists::parse_page;
use super::profile::Protocol;
use super::{AccountRef, RelayClient, RelayError};
use crate::domain::{Credentials, SiteKind};

fn ensure_admin_api(ctx: &Ctx<'_>, account: &AccountRef) -> Result<(), RelayError> {
    if ctx.profile.protocol != Protocol::OneApi || account.auth == crate::domain::AuthMethod::ApiKey {
        return Err(RelayError::NotSupported {
            message: format!("channel management is not supported on {} sites signed in this way", account.kind),
        });
    }
    Ok(())
}

/// Whether the kind wraps a new channel in `{"mode":"single","channel":…}` (new-api and forks).
pub fn wraps_new_channel(kind: SiteKind) -> bool {
    !matches!(kind, SiteKind::OneApi | SiteKind::OneHub | SiteKind::DoneHub)
}

impl RelayClient {
    /// Channels whose name contains `name` (the server's own matching; callers compare
    /// names exactly).
    pub async fn search_channels(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        name: &str,
    ) -> Result<Vec<Value>, RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ensure_admin_api(&ctx, account)?;
        let q: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let path = match account.kind {
            SiteKind::OneHub | SiteKind::DoneHub => format!("/api/channel/?page=1&size=100&name={q}"),
            _ => format!("/api/channel/search?keyword={q}&p=1&page_size=100"),
        };
        let v = ctx.get(&path).await?;
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        parse_page(&data).map(|p| p.items).ok_or_else(|| RelayError::malformed("/api/channel: not a channel list"))
    }

    /// Creates a channel.
    pub async fn create_channel(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        channel: Value,
    ) -> Result<(), RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ensure_admin_api(&ctx, account)?;
        let body =
            if wraps_new_channel(account.kind) { json!({"mode": "single", "channel": channel}) } else { channel };
        ctx.call(Method::POST, "/api/channel/", Some(body)).await.map(|_| ())
    }

    /// Updates a channel: `fields` must hold its `id`.
    pub async fn update_channel(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        fields: Value,
    ) -> Result<(), RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ensure_admin_api(&ctx, account)?;
        ctx.call(Method::PUT, "/api/channel/", Some(fields)).await.map(|_| ())
    }
}
