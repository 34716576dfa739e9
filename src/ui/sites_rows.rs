//! The Sites table's rows: filtered, sorted and formatted once per data or filter
//! change, never per frame.

use std::collections::HashMap;

use crate::domain::alerts::{Alert, AlertSettings};
use crate::domain::snapshot::AccountState;
use crate::domain::{Account, AccountId};

/// Health of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// Last refresh worked.
    Ok,
    /// Never refreshed.
    Never,
    /// Last refresh failed (not an auth problem).
    Failing,
    /// Credentials stopped working.
    AuthNeeded,
}

/// Status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Everything.
    #[default]
    All,
    /// Last refresh ok.
    Ok,
    /// Failing for any reason.
    Failing,
    /// Needs signing in again.
    AuthNeeded,
    /// Has triggered alerts.
    HasAlerts,
}

/// Sortable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// The user's order.
    #[default]
    Manual,
    /// Site name.
    Site,
    /// Account name.
    Account,
    /// Kind.
    Kind,
    /// Balance in USD.
    Balance,
    /// Today's spend in USD.
    Today,
    /// Today's requests.
    Requests,
    /// Today's tokens (prompt + completion).
    Tokens,
    /// Key count.
    Keys,
    /// Model count.
    Models,
    /// Last refresh time.
    Updated,
    /// Health.
    Status,
}

/// The view's filter and sort.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowQuery {
    /// Search text (name, URL, account, models).
    pub search: String,
    /// Status filter.
    pub status: StatusFilter,
    /// User group, or all.
    pub group: Option<String>,
    /// Include disabled accounts.
    pub show_disabled: bool,
    /// Sort column.
    pub sort: SortKey,
    /// Descending.
    pub descending: bool,
}

/// One row: what its cells are sorted, filtered and totalled by. The texts only drawn
/// (names, money, the error) are read from the account and its state when the row is
/// first drawn ([`money_texts`], the table's row texts): building 1,000 rows then copies
/// no strings.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow {
    /// Account id.
    pub id: AccountId,
    /// Kind.
    pub kind: &'static str,
    /// Balance in USD, for sorting (`None` for money in another currency: no rate is guessed).
    pub balance_usd: Option<f64>,
    /// Balance in the site's currency and its code (for totals).
    pub balance_amount: Option<(f64, String)>,
    /// Today's spend in USD, for sorting.
    pub today_usd: Option<f64>,
    /// Today's spend in the site's currency and its code (for totals).
    pub today_amount: Option<(f64, String)>,
    /// Today's requests.
    pub requests: Option<i64>,
    /// Today's tokens (prompt + completion), when the site reports them.
    pub tokens: Option<i64>,
    /// Key count.
    pub keys: Option<usize>,
    /// Model count.
    pub models: Option<usize>,
    /// Last refresh attempt.
    pub updated_at: Option<i64>,
    /// Health.
    pub health: Health,
    /// The credentials were reset or cannot be read: the user must enter them again.
    pub sign_in_needed: bool,
    /// Skipped by refresh-all.
    pub disabled: bool,
    /// Triggered alerts (computed with the rows, never per frame).
    pub alerts: Vec<Alert>,
    /// Index of the account in the accounts list (the manual order; ties of a sort).
    pub pos: usize,
}

/// Totals over the shown rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    /// Balance per currency, sorted by currency.
    pub balance: Vec<(String, f64)>,
    /// Today's spend per currency, sorted by currency.
    pub today: Vec<(String, f64)>,
    /// Accounts whose last refresh worked.
    pub ok: usize,
    /// Accounts failing.
    pub failing: usize,
    /// Alerts over the shown rows.
    pub alerts: usize,
}

fn health(state: Option<&AccountState>) -> Health {
    match state {
        Some(s) => match &s.last_error {
            Some(e) if e.kind == "auth" => Health::AuthNeeded,
            Some(_) => Health::Failing,
            None if s.snapshot.is_some() => Health::Ok,
            None => Health::Never,
        },
        None => Health::Never,
    }
}

fn matches(a: &Account, st: Option<&AccountState>, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let hit = |s: &str| crate::domain::search::contains_folded(s, needle);
    hit(&a.site.name)
        || hit(&a.site.url)
        || hit(&a.username)
        || hit(&a.group_name)
        || st
            .and_then(|s| s.snapshot.as_ref())
            .and_then(|s| s.models.value.as_ref())
            .is_some_and(|models| models.iter().any(|m| hit(m)))
}

/// Builds the rows for a query, with each account's alerts at `now`.
pub fn build_rows(
    accounts: &[Account],
    states: &HashMap<AccountId, AccountState>,
    q: &RowQuery,
    alerts: &AlertSettings,
    now: i64,
) -> Vec<SiteRow> {
    let needle = q.search.trim().to_lowercase();
    // Room for every account first: collected from a filter, the rows would be copied
    // into a twice-larger buffer again and again as they come.
    let mut rows: Vec<SiteRow> = Vec::with_capacity(accounts.len());
    rows.extend(
        accounts
            .iter()
            .enumerate()
            .filter_map(|(pos, a)| shown_row(pos, a, states.get(&a.id), q, &needle, alerts, now)),
    );
    if rows.len() < rows.capacity() / 2 {
        rows.shrink_to_fit();
    }
    sort_rows(&mut rows, q, accounts);
    rows
}

/// Patches built rows after only these accounts' states changed: each changed row is
/// made again and the rows sorted again, the same rows a rebuild gives. `false` (rows
/// untouched) when an account came into or went out of the query: rebuild then.
pub fn patch_rows(
    rows: &mut [SiteRow],
    changed: &[AccountId],
    accounts: &[Account],
    states: &HashMap<AccountId, AccountState>,
    q: &RowQuery,
    alerts: &AlertSettings,
    now: i64,
) -> bool {
    let needle = q.search.trim().to_lowercase();
    let mut fresh = Vec::with_capacity(changed.len());
    for id in changed {
        let Some((pos, a)) = accounts.iter().enumerate().find(|(_, a)| a.id == *id) else { return false };
        let new = shown_row(pos, a, states.get(id), q, &needle, alerts, now);
        let at = rows.iter().position(|r| r.id == *id);
        match (at, new) {
            (Some(i), Some(r)) => fresh.push((i, r)),
            (None, None) => {}
            _ => return false,
        }
    }
    for (i, r) in fresh {
        rows[i] = r;
    }
    sort_rows(rows, q, accounts);
    true
}

/// Narrows rows built for `from` to the query `to`, when `to` differs only by a search
/// that contains `from`'s (a character typed at the end of the search box, most often):
/// every row `to` shows is among them, so only those are searched again, in their order.
/// `false` (rows untouched) when the queries differ otherwise: build the rows then.
pub fn narrow_rows(
    rows: &mut Vec<SiteRow>,
    from: &RowQuery,
    to: &RowQuery,
    accounts: &[Account],
    states: &HashMap<AccountId, AccountState>,
) -> bool {
    let (old, new) = (from.search.trim().to_lowercase(), to.search.trim().to_lowercase());
    let rest_same =
        RowQuery { search: String::new(), ..from.clone() } == RowQuery { search: String::new(), ..to.clone() };
    if !rest_same || !new.contains(&old) {
        return false;
    }
    let by_id: HashMap<AccountId, &Account> = accounts.iter().map(|a| (a.id, a)).collect();
    let mut missing = false;
    rows.retain(|r| match by_id.get(&r.id) {
        Some(a) => matches(a, states.get(&r.id), &new),
        None => {
            missing = true;
            false
        }
    });
    !missing
}

/// Re-sorts rows built for `from` for the query `to`, when `to` differs only by its sort
/// column or direction (a header click): the query shows the same rows, only their order
/// changes, and the order does not depend on the one they are in (ties go by the accounts'
/// order). `false` (rows untouched) when the queries differ otherwise: build the rows then.
/// `accounts`: those the rows were built from.
pub fn resort_rows(rows: &mut [SiteRow], from: &RowQuery, to: &RowQuery, accounts: &[Account]) -> bool {
    let unsorted = |q: &RowQuery| RowQuery { sort: SortKey::Manual, descending: false, ..q.clone() };
    if unsorted(from) != unsorted(to) {
        return false;
    }
    sort_rows(rows, to, accounts);
    true
}

/// What the Account column shows: the username, or the user id when there is none.
pub fn account_label(a: &Account) -> &str {
    if a.username.is_empty() { &a.user_id } else { &a.username }
}

/// The row of an account at `pos` in the accounts list, if the query shows it.
fn shown_row(
    pos: usize,
    a: &Account,
    st: Option<&AccountState>,
    q: &RowQuery,
    needle: &str,
    alerts: &AlertSettings,
    now: i64,
) -> Option<SiteRow> {
    if (!q.show_disabled && a.disabled)
        || q.group.as_ref().is_some_and(|g| &a.group_name != g)
        || !matches(a, st, needle)
    {
        return None;
    }
    let mut r = row(a, st);
    r.pos = pos;
    r.alerts = crate::domain::alerts::evaluate(a, st, alerts, now);
    let shown = match q.status {
        StatusFilter::All => true,
        StatusFilter::Ok => r.health == Health::Ok,
        StatusFilter::Failing => matches!(r.health, Health::Failing | Health::AuthNeeded),
        StatusFilter::AuthNeeded => r.health == Health::AuthNeeded,
        StatusFilter::HasAlerts => !r.alerts.is_empty(),
    };
    shown.then_some(r)
}

/// Sorts by the query's column, ties in the accounts' order (then reversed when descending).
/// `accounts`: those the rows were built from (`SiteRow::pos` indexes them).
fn sort_rows(rows: &mut [SiteRow], q: &RowQuery, accounts: &[Account]) {
    // Ties go by the accounts' order (`pos`), so the order never depends on the one the
    // rows are in.
    let money = |v: Option<f64>| v.unwrap_or(f64::MIN);
    let name = |r: &SiteRow, of: fn(&Account) -> &str| accounts.get(r.pos).map(|a| of(a).to_lowercase());
    match q.sort {
        SortKey::Manual => rows.sort_by_key(|r| r.pos),
        // Each name lower-cased once, not at every comparison.
        SortKey::Site => rows.sort_by_cached_key(|r| (name(r, |a| &a.site.name), r.pos)),
        SortKey::Account => rows.sort_by_cached_key(|r| (name(r, account_label), r.pos)),
        SortKey::Kind => rows.sort_by_key(|r| (r.kind, r.pos)),
        SortKey::Balance => {
            rows.sort_by(|a, b| money(a.balance_usd).total_cmp(&money(b.balance_usd)).then(a.pos.cmp(&b.pos)))
        }
        SortKey::Today => {
            rows.sort_by(|a, b| money(a.today_usd).total_cmp(&money(b.today_usd)).then(a.pos.cmp(&b.pos)))
        }
        SortKey::Requests => rows.sort_by_key(|r| (r.requests, r.pos)),
        SortKey::Tokens => rows.sort_by_key(|r| (r.tokens, r.pos)),
        SortKey::Keys => rows.sort_by_key(|r| (r.keys, r.pos)),
        SortKey::Models => rows.sort_by_key(|r| (r.models, r.pos)),
        SortKey::Updated => rows.sort_by_key(|r| (r.updated_at, r.pos)),
        SortKey::Status => rows.sort_by_key(|r| (r.health, r.pos)),
    }
    if q.descending {
        rows.reverse();
    }
}

/// The Balance and Today cells of an account: the balance in the site's currency (with
/// what it really cost beside it when a paid ratio is set) and today's spend. Made when
/// the row is first drawn (the table keeps them with the row's other texts), not for every
/// account whenever the rows are built: formatting was most of a build.
pub fn money_texts(a: &Account, st: Option<&AccountState>) -> (Option<String>, Option<String>) {
    let Some(snap) = st.and_then(|s| s.snapshot.as_ref()) else { return (None, None) };
    let cs = &snap.currency;
    let balance = snap.user.value.as_ref().map(|u| {
        let text = u.balance.short_text(cs);
        match u.balance.usd(cs).and_then(|usd| crate::domain::money::real_cost(usd, a.paid_per_usd)) {
            Some(real) => format!("{text} (≈{})", crate::domain::money::amount_text(real)),
            None => text,
        }
    });
    let today = snap.today.value.as_ref().map(|t| t.spend.short_text(cs));
    (balance, today)
}

fn row(a: &Account, st: Option<&AccountState>) -> SiteRow {
    let snap = st.and_then(|s| s.snapshot.as_ref());
    let user = snap.and_then(|s| s.user.value.as_ref());
    let today = snap.and_then(|s| s.today.value.as_ref());
    let cs = snap.map(|s| &s.currency);
    SiteRow {
        id: a.id,
        kind: a.site.kind.as_str(),
        balance_usd: cs.zip(user).and_then(|(cs, u)| u.balance.usd(cs)),
        balance_amount: cs.zip(user).map(|(cs, u)| (u.balance.value(cs), u.balance.currency(cs))),
        today_usd: cs.zip(today).and_then(|(cs, t)| t.spend.usd(cs)),
        today_amount: cs.zip(today).map(|(cs, t)| (t.spend.value(cs), t.spend.currency(cs))),
        requests: today.and_then(|t| t.requests),
        tokens: today.and_then(|t| match (t.prompt_tokens, t.completion_tokens) {
            (None, None) => None,
            (p, c) => Some(p.unwrap_or(0) + c.unwrap_or(0)),
        }),
        keys: snap.and_then(|s| s.keys.value.as_ref()).map(Vec::len),
        models: snap.and_then(|s| s.models.value.as_ref()).map(Vec::len),
        updated_at: st.and_then(|s| s.last_attempt_at),
        health: health(st),
        sign_in_needed: st.and_then(|s| s.last_error.as_ref()).is_some_and(|e| e.is_sign_in_needed()),
        disabled: a.disabled,
        alerts: Vec::new(),
        pos: 0,
    }
}

/// Totals over rows.
pub fn totals(rows: &[SiteRow]) -> Totals {
    let mut by_currency: std::collections::BTreeMap<String, f64> = Default::default();
    let mut today: std::collections::BTreeMap<String, f64> = Default::default();
    let mut t = Totals::default();
    // A currency's name is copied once, not once per row.
    let add =
        |sums: &mut std::collections::BTreeMap<String, f64>, (amount, cur): &(f64, String)| match sums.get_mut(cur) {
            Some(sum) => *sum += amount,
            None => {
                sums.insert(cur.clone(), *amount);
            }
        };
    for r in rows {
        if let Some(b) = &r.balance_amount {
            add(&mut by_currency, b);
        }
        if let Some(d) = &r.today_amount {
            add(&mut today, d);
        }
        t.alerts += r.alerts.len();
        match r.health {
            Health::Ok => t.ok += 1,
            Health::Failing | Health::AuthNeeded => t.failing += 1,
            Health::Never => {}
        }
    }
    t.balance = by_currency.into_iter().collect();
    t.today = today.into_iter().collect();
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::CurrencySettings;
    use crate::domain::snapshot::{ErrorInfo, Part, Snapshot, UserInfo};
    use crate::domain::{AuthMethod, Site, SiteKind};

    fn acc(id: i64, name: &str, group: &str) -> Account {
        Account {
            id,
            site: Site { id, name: name.into(), url: format!("https://{name}.example"), kind: SiteKind::NewApi },
            user_id: id.to_string(),
            username: format!("u{id}"),
            auth: AuthMethod::AccessToken,
            group_name: group.into(),
            paid_per_usd: None,
            disabled: false,
            notes: String::new(),
            low_balance_threshold: None,
            refresh_interval_mins: None,
            name: String::new(),
        }
    }

    fn ok(quota: i64, models: &[&str], cny: bool) -> AccountState {
        let mut currency = CurrencySettings::default();
        if cny {
            currency.display = crate::domain::money::DisplayType::Cny;
        }
        AccountState {
            snapshot: Some(Box::new(Snapshot {
                currency,
                user: Part::complete(UserInfo {
                    balance: crate::domain::money::Amount::Quota(quota),
                    ..Default::default()
                }),
                models: Part::complete(models.iter().map(|m| m.to_string()).collect()),
                ..Default::default()
            })),
            last_attempt_at: Some(1),
            ..Default::default()
        }
    }

    #[test]
    fn search_finds_models_sort_and_filters_work() {
        let accounts = vec![acc(1, "alpha", "work"), acc(2, "beta", ""), acc(3, "gamma", "work")];
        let mut states = HashMap::new();
        states.insert(1, ok(1_000_000, &["gpt-4o"], false));
        states.insert(2, ok(5_000_000, &["claude-3"], true));
        let mut failing = ok(2_000_000, &["gpt-4o-mini"], false);
        failing.last_error = Some(ErrorInfo { kind: "auth".into(), message: "token invalid".into() });
        states.insert(3, failing);

        let q = RowQuery { search: "GPT-4o".into(), ..Default::default() };
        let ids: Vec<_> =
            build_rows(&accounts, &states, &q, &AlertSettings::default(), 0).iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![1, 3], "model search");

        let q = RowQuery { sort: SortKey::Balance, descending: true, ..Default::default() };
        let ids: Vec<_> =
            build_rows(&accounts, &states, &q, &AlertSettings::default(), 0).iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![2, 3, 1]);

        let q = RowQuery { status: StatusFilter::AuthNeeded, ..Default::default() };
        assert_eq!(build_rows(&accounts, &states, &q, &AlertSettings::default(), 0).len(), 1);
        let q = RowQuery { group: Some("work".into()), ..Default::default() };
        assert_eq!(build_rows(&accounts, &states, &q, &AlertSettings::default(), 0).len(), 2);

        let rows = build_rows(&accounts, &states, &RowQuery::default(), &AlertSettings::default(), 0);
        let t = totals(&rows);
        assert_eq!(t.balance, vec![("CNY".to_string(), 73.0), ("USD".to_string(), 6.0)]);
        assert_eq!((t.ok, t.failing), (2, 1));
    }

    #[test]
    fn patched_rows_equal_rebuilt_rows_and_a_row_leaving_the_query_asks_for_a_rebuild() {
        let accounts: Vec<Account> = (1..=6).map(|i| acc(i, &format!("site{}", i % 3), "")).collect();
        let mut states: HashMap<AccountId, AccountState> =
            (1..=6).map(|i| (i, ok(1_000_000 * (i % 3 + 1), &["m"], false))).collect();
        let alerts = AlertSettings::default();
        let sorts = [SortKey::Manual, SortKey::Site, SortKey::Balance, SortKey::Models, SortKey::Status];
        for sort in sorts {
            for descending in [false, true] {
                let q = RowQuery { sort, descending, ..Default::default() };
                let mut rows = build_rows(&accounts, &states, &q, &alerts, 0);
                let mut next = states.clone();
                next.insert(2, ok(9_000_000, &["m", "n"], false));
                next.insert(5, ok(1, &[], true));
                assert!(patch_rows(&mut rows, &[2, 5], &accounts, &next, &q, &alerts, 0));
                assert_eq!(rows, build_rows(&accounts, &next, &q, &alerts, 0), "{sort:?} descending {descending}");
            }
        }
        // Account 4 starts failing while only healthy ones are shown: it leaves the rows.
        let q = RowQuery { status: StatusFilter::Ok, ..Default::default() };
        let mut rows = build_rows(&accounts, &states, &q, &alerts, 0);
        let before = rows.clone();
        let mut failing = ok(1_000_000, &["m"], false);
        failing.last_error = Some(ErrorInfo { kind: "auth".into(), message: "token invalid".into() });
        states.insert(4, failing);
        assert!(!patch_rows(&mut rows, &[4], &accounts, &states, &q, &alerts, 0));
        assert_eq!(rows, before, "untouched when a rebuild is asked for");
    }

    #[test]
    fn narrowed_rows_equal_rebuilt_rows_and_other_changes_ask_for_a_rebuild() {
        let accounts: Vec<Account> = (1..=8).map(|i| acc(i, &format!("Site{}", i % 4), "")).collect();
        let models: [&[&str]; 4] = [&["GPT-4o", "claude-3"], &["gpt-4o-mini"], &["Claude-Sonnet"], &[]];
        let states: HashMap<AccountId, AccountState> =
            (1..=8).map(|i| (i, ok(1_000_000 * (i % 3 + 1), models[i as usize % 4], false))).collect();
        let alerts = AlertSettings::default();
        for sort in [SortKey::Manual, SortKey::Site, SortKey::Balance] {
            for descending in [false, true] {
                // Typing "Claude-S" letter by letter, narrowing each time.
                let mut from = RowQuery { sort, descending, ..Default::default() };
                let mut rows = build_rows(&accounts, &states, &from, &alerts, 0);
                for n in 1..="Claude-S".len() {
                    let to = RowQuery { search: "Claude-S"[..n].into(), ..from.clone() };
                    assert!(narrow_rows(&mut rows, &from, &to, &accounts, &states));
                    assert_eq!(rows, build_rows(&accounts, &states, &to, &alerts, 0), "{to:?}");
                    from = to;
                }
                assert_eq!(
                    rows.iter().map(|r| r.id).collect::<Vec<_>>().len(),
                    2,
                    "accounts 2 and 6 list Claude-Sonnet"
                );
            }
        }
        // A search that no longer contains the previous one (a letter deleted or changed),
        // or another filter changed: rows untouched, a rebuild is asked for.
        let from = RowQuery { search: "gpt".into(), ..Default::default() };
        let mut rows = build_rows(&accounts, &states, &from, &alerts, 0);
        let before = rows.clone();
        for to in [
            RowQuery { search: "gp".into(), ..Default::default() },
            RowQuery { search: "gpx".into(), ..Default::default() },
            RowQuery { search: "gpt-4".into(), status: StatusFilter::Failing, ..Default::default() },
            RowQuery { search: "gpt-4".into(), sort: SortKey::Site, ..Default::default() },
        ] {
            assert!(!narrow_rows(&mut rows, &from, &to, &accounts, &states), "{to:?}");
            assert_eq!(rows, before);
        }
    }

    #[test]
    fn resorted_rows_equal_rebuilt_rows_and_other_changes_ask_for_a_rebuild() {
        let accounts: Vec<Account> =
            (1..=9).map(|i| acc(i, &format!("{}site{}", if i % 2 == 0 { "S" } else { "s" }, i % 4), "")).collect();
        let states: HashMap<AccountId, AccountState> =
            (1..=9).filter(|i| i % 5 != 0).map(|i| (i, ok(1_000_000 * (i % 3 + 1), &["m"], i % 2 == 0))).collect();
        let alerts = AlertSettings::default();
        let sorts =
            [SortKey::Manual, SortKey::Site, SortKey::Account, SortKey::Balance, SortKey::Status, SortKey::Updated];
        for search in ["", "site1"] {
            let mut from = RowQuery { search: search.into(), ..Default::default() };
            let mut rows = build_rows(&accounts, &states, &from, &alerts, 0);
            // Header clicks: every column, both directions, each from the previous order.
            for sort in sorts {
                for descending in [false, true, false] {
                    let to = RowQuery { sort, descending, ..from.clone() };
                    assert!(resort_rows(&mut rows, &from, &to, &accounts));
                    assert_eq!(rows, build_rows(&accounts, &states, &to, &alerts, 0), "{to:?}");
                    from = to;
                }
            }
        }
        // Anything else changed: rows untouched, a rebuild is asked for.
        let from = RowQuery::default();
        let mut rows = build_rows(&accounts, &states, &from, &alerts, 0);
        let before = rows.clone();
        for to in [
            RowQuery { search: "s".into(), sort: SortKey::Site, ..Default::default() },
            RowQuery { status: StatusFilter::Ok, ..Default::default() },
            RowQuery { show_disabled: true, descending: true, ..Default::default() },
            RowQuery { group: Some("work".into()), ..Default::default() },
        ] {
            assert!(!resort_rows(&mut rows, &from, &to, &accounts), "{to:?}");
            assert_eq!(rows, before);
        }
    }

    #[test]
    fn name_columns_sort_by_the_accounts_names_ignoring_case() {
        // Rows hold no names: a name sort reads them from the accounts through `pos`.
        let mut accounts = vec![acc(1, "beta", ""), acc(2, "Alpha", ""), acc(3, "Gamma", ""), acc(4, "alpha", "")];
        accounts[0].username = "Zed".into();
        accounts[1].username = String::new(); // shown (and sorted) by its user id, "2"
        accounts[2].username = "amy".into();
        accounts[3].username = "bob".into();
        let states = HashMap::new();
        let order = |sort, descending| {
            let q = RowQuery { sort, descending, ..Default::default() };
            build_rows(&accounts, &states, &q, &AlertSettings::default(), 0).iter().map(|r| r.id).collect::<Vec<_>>()
        };
        // "Alpha" and "alpha" tie: the accounts' order decides.
        assert_eq!(order(SortKey::Site, false), vec![2, 4, 1, 3]);
        assert_eq!(order(SortKey::Site, true), vec![3, 1, 4, 2]);
        assert_eq!(order(SortKey::Account, false), vec![2, 3, 4, 1]);
        let from = RowQuery { sort: SortKey::Site, ..Default::default() };
        let mut rows = build_rows(&accounts, &states, &from, &AlertSettings::default(), 0);
        let to = RowQuery { sort: SortKey::Account, descending: true, ..Default::default() };
        assert!(resort_rows(&mut rows, &from, &to, &accounts));
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 4, 3, 2]);
    }

    #[test]
    fn disabled_accounts_hide_unless_asked_and_real_cost_shows() {
        let mut a = acc(1, "alpha", "");
        a.disabled = true;
        a.paid_per_usd = Some(0.5);
        let mut states = HashMap::new();
        states.insert(1, ok(1_000_000, &[], false));
        assert!(
            build_rows(std::slice::from_ref(&a), &states, &RowQuery::default(), &AlertSettings::default(), 0)
                .is_empty()
        );
        let q = RowQuery { show_disabled: true, ..Default::default() };
        let rows = build_rows(std::slice::from_ref(&a), &states, &q, &AlertSettings::default(), 0);
        assert_eq!(rows.len(), 1);
        assert_eq!(money_texts(&a, states.get(&1)).0.as_deref(), Some("$2.00 (≈1.00)"));
    }

    #[test]
    fn alerts_are_computed_with_the_rows_filtered_and_counted() {
        let mut low = acc(1, "alpha", "");
        low.low_balance_threshold = Some(5.0);
        let accounts = vec![low, acc(2, "beta", "")];
        let mut states = HashMap::new();
        states.insert(1, ok(1_000_000, &[], false)); // $2 < $5
        states.insert(2, ok(1_000_000, &[], false));
        let settings = AlertSettings::default();
        let rows = build_rows(&accounts, &states, &RowQuery::default(), &settings, 0);
        assert_eq!(rows[0].alerts.len(), 1);
        assert!(rows[1].alerts.is_empty());
        assert_eq!(totals(&rows).alerts, 1);
        let q = RowQuery { status: StatusFilter::HasAlerts, ..Default::default() };
        let ids: Vec<_> = build_rows(&accounts, &states, &q, &settings, 0).iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![1]);
        // A global default catches the other account too.
        let global = AlertSettings { low_balance: Some(3.0), ..Default::default() };
        assert_eq!(build_rows(&accounts, &states, &q, &global, 0).len(), 2);
    }

    #[test]
    fn money_native_rows_keep_their_currency_and_small_amounts_show() {
        use crate::domain::money::Amount;
        use crate::domain::snapshot::TodayUsage;
        let accounts = vec![acc(1, "vo", ""), acc(2, "quota", ""), acc(3, "vo-usd", "")];
        let money = |balance: Amount, spend: Amount| AccountState {
            snapshot: Some(Box::new(Snapshot {
                user: Part::complete(UserInfo { balance, ..Default::default() }),
                today: Part::complete(TodayUsage { spend, ..Default::default() }),
                ..Default::default()
            })),
            last_attempt_at: Some(1),
            ..Default::default()
        };
        let mut states = HashMap::new();
        states.insert(1, money(Amount::money(21.14, "CNY"), Amount::money(0.0049, "CNY")));
        states.insert(2, money(Amount::Quota(2_431), Amount::Quota(0)));
        states.insert(3, money(Amount::money(1.5, "USD"), Amount::money(0.5, "USD")));
        let rows = build_rows(&accounts, &states, &RowQuery::default(), &AlertSettings::default(), 0);
        let texts: Vec<_> = rows.iter().map(|r| money_texts(&accounts[r.pos], states.get(&r.id))).collect();
        let cell = |i: usize| (texts[i].0.as_deref(), texts[i].1.as_deref());
        assert_eq!(cell(0), (Some("¥21.14"), Some("< ¥0.01")));
        assert_eq!(cell(1), (Some("< $0.01"), Some("$0.00")));
        assert_eq!(cell(2), (Some("$1.50"), Some("$0.50")));
        assert_eq!(rows[0].balance_usd, None, "no exchange rate is guessed");
        let t = totals(&rows);
        assert_eq!(t.balance, vec![("CNY".to_string(), 21.14), ("USD".to_string(), 1.5 + 2_431.0 / 500_000.0)]);
        assert_eq!(t.today, vec![("CNY".to_string(), 0.0049), ("USD".to_string(), 0.5)]);
    }
}
