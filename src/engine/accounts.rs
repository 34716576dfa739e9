//! Adding an account: verify the credentials against the site, then save the account
//! and its first snapshot. Shared by the GUI's add dialog and `apihub accounts add`.

use crate::domain::snapshot::AccountState;
use crate::domain::{AccountId, NewAccount};
use crate::relay::{AccountRef, RelayClient, RelayError};
use crate::store::{SharedStore, Store, StoreError};

/// Why an account was not added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The site refused or could not be asked; nothing was saved.
    #[error("the site did not accept these credentials ({kind}: {source}); nothing was saved", kind = .source.kind())]
    Relay {
        /// The relay's error.
        #[from]
        source: RelayError,
    },
    /// Saving failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A value the user gave is not usable (`domain::validate`); nothing was asked or saved.
    #[error("{0}")]
    Invalid(#[from] crate::domain::validate::InputError),
}

/// A saved account and what the verification learned.
#[derive(Debug, Clone)]
pub struct Added {
    /// Store id.
    pub id: AccountId,
    /// The account as saved (username and user id filled in from the site).
    pub account: NewAccount,
    /// Its state after the verification (None when saved unverified).
    pub state: Option<AccountState>,
}

impl Added {
    /// "alice — $7.30" style summary.
    pub fn summary(&self) -> String {
        let who = if self.account.username.is_empty() { &self.account.user_id } else { &self.account.username };
        let balance = self
            .state
            .as_ref()
            .and_then(|s| s.snapshot.as_ref())
            .and_then(|s| s.user.value.as_ref().map(|u| u.balance.text(&s.currency)));
        match balance {
            Some(b) => format!("{who} — {b}"),
            None => who.to_string(),
        }
    }
}

/// Verifies (unless `verify` is false) and saves. The site's own username, user id and
/// name fill in what the user left empty.
pub async fn add_account(
    relay: &RelayClient,
    store: &SharedStore,
    account: NewAccount,
    verify: bool,
) -> Result<Added, AddError> {
    let mut account = crate::domain::validate::account_to_add(&account)?;
    let snapshot = if verify {
        let target = AccountRef {
            site_url: account.site_url.clone(),
            kind: account.kind,
            user_id: account.user_id.clone(),
            auth: account.auth,
        };
        let snap = relay.fetch_snapshot(&target, &account.credentials).await?;
        if let Some(user) = &snap.user.value {
            if account.username.is_empty() {
                account.username = user.username.clone();
            }
            if account.user_id.is_empty() {
                account.user_id = user.id.clone();
            }
        }
        if account.site_name.trim().is_empty() {
            account.site_name = snap.system_name.clone().unwrap_or_default();
        }
        Some(snap)
    } else {
        None
    };
    let to_save = account.clone();
    let (id, state) = store.run(move |s| save(s, &to_save, snapshot)).await?;
    log::info!("account {id} added on {}", account.site_url);
    Ok(Added { id, account, state })
}

fn save(
    s: &mut Store,
    account: &NewAccount,
    snapshot: Option<crate::domain::snapshot::Snapshot>,
) -> Result<(AccountId, Option<AccountState>), StoreError> {
    let id = s.upsert_account(account)?;
    let Some(snap) = snapshot else { return Ok((id, None)) };
    let now = crate::domain::time::now_unix();
    let state = super::merge(s.account_state(id)?, Ok(snap), now);
    s.save_account_state(id, &state, &crate::domain::time::local_day(now))?;
    Ok((id, Some(state)))
}

/// What a password sign-in leads to.
#[derive(Debug)]
pub enum PasswordOutcome {
    /// Signed in, verified and saved.
    Added(Box<Added>),
    /// The site asks for a two-step code; call [`finish_2fa`] with it.
    Needs2fa(crate::relay::login::Pending2fa),
}

/// Where a password sign-in goes and what to keep.
#[derive(Debug, Clone)]
pub struct PasswordSignIn {
    /// Site URL.
    pub site_url: String,
    /// Site kind.
    pub kind: crate::domain::SiteKind,
    /// Display name (may be empty).
    pub site_name: String,
    /// Create a long-lived access token (replaces the user's existing one).
    pub mint_token: bool,
}

async fn save_login(
    relay: &RelayClient,
    store: &SharedStore,
    how: &PasswordSignIn,
    result: crate::relay::login::LoginResult,
) -> Result<Added, AddError> {
    let mut account = NewAccount {
        site_url: crate::domain::account::normalize_site_url(&how.site_url),
        site_name: how.site_name.clone(),
        kind: how.kind,
        user_id: result.user_id,
        username: result.username,
        auth: result.auth,
        credentials: result.credentials,
    };
    if how.mint_token {
        let target = AccountRef {
            site_url: account.site_url.clone(),
            kind: account.kind,
            user_id: account.user_id.clone(),
            auth: account.auth,
        };
        let token = relay.mint_access_token(&target, &account.credentials).await?;
        log::info!("a new access token was created for {} (the previous one stops working)", account.site_url);
        account.auth = crate::domain::AuthMethod::AccessToken;
        account.credentials = crate::domain::Credentials { access_token: Some(token), ..Default::default() };
    }
    add_account(relay, store, account, true).await
}

/// Signs in with a password (the password is used once and never stored).
pub async fn add_with_password(
    relay: &RelayClient,
    store: &SharedStore,
    how: &PasswordSignIn,
    username: &str,
    password: &str,
) -> Result<PasswordOutcome, AddError> {
    use crate::relay::login::LoginStep;
    match relay.login_password(&how.site_url, how.kind, username, password).await? {
        LoginStep::Done(result) => Ok(PasswordOutcome::Added(Box::new(save_login(relay, store, how, result).await?))),
        LoginStep::Needs2fa(pending) => Ok(PasswordOutcome::Needs2fa(pending)),
    }
}

/// Completes a sign-in that asked for a two-step code.
pub async fn finish_2fa(
    relay: &RelayClient,
    store: &SharedStore,
    how: &PasswordSignIn,
    pending: &crate::relay::login::Pending2fa,
    code: &str,
) -> Result<Added, AddError> {
    let result = relay.login_2fa(pending, code).await?;
    save_login(relay, store, how, result).await
}
