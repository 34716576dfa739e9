//! Builds the [`PricingBook`] from the accounts and their stored states.

use std::collections::HashMap;

use super::{AccountPricing, PricingBook, RefreshState, normalise};
use crate::domain::snapshot::AccountState;
use crate::domain::{Account, AccountId};

/// One entry per account that has prices (or at least a model list) stored.
pub fn book_from(accounts: &[Account], states: &HashMap<AccountId, AccountState>) -> PricingBook {
    let mut book = PricingBook::default();
    for a in accounts.iter().filter(|a| !a.disabled) {
        let Some(state) = states.get(&a.id) else { continue };
        let Some(snap) = &state.snapshot else { continue };
        let Some(site) = &snap.pricing.value else { continue };
        let cs = &snap.currency;
        book.accounts.push(AccountPricing {
            account_id: a.id,
            site_name: snap.system_name.clone().unwrap_or_else(|| a.site.name.clone()),
            account_label: if a.username.is_empty() { a.user_id.clone() } else { a.username.clone() },
            kind: a.site.kind,
            currency: cs.clone(),
            paid_per_usd: a.paid_per_usd,
            balance_usd: snap.user.value.as_ref().and_then(|u| u.balance.usd(cs)),
            fetched_at_unix: Some(snap.fetched_at),
            status: match &state.last_error {
                Some(e) => RefreshState::Error(format!("{}: {}", e.kind, e.message)),
                None => RefreshState::Ok,
            },
            rows: normalise(site, cs.quota_per_unit),
        });
    }
    book
}
