//! The relay client as the engine's snapshot source.

use crate::domain::snapshot::{ErrorInfo, Snapshot};
use crate::domain::{Account, Credentials};
use crate::relay::{AccountRef, RelayClient};

use super::SnapshotSource;

impl SnapshotSource for RelayClient {
    async fn fetch(&self, account: &Account, creds: &Credentials) -> Result<Snapshot, ErrorInfo> {
        let target = AccountRef {
            site_url: account.site.url.clone(),
            kind: account.site.kind,
            user_id: account.user_id.clone(),
            auth: account.auth,
        };
        self.fetch_snapshot(&target, creds)
            .await
            .map_err(|e| ErrorInfo { kind: e.kind().to_string(), message: e.to_string() })
    }
}
