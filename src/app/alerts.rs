//! Alerts: the global settings (`AlertsCmd::SetSettings`, the `alerts` section of the
//! settings), what was already notified (kept in the `alerts.notified` bookkeeping row,
//! so an alert is notified once until it clears), and the desktop notification after a
//! refresh (`alerts:notify:{n}`; never on the UI thread).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::sites::Sites;
use super::state::Severity;
use crate::domain::AccountId;
use crate::domain::alerts::{self, Alert, AlertSettings};
use crate::domain::money::amount_text;
use crate::domain::settings::bookkeeping;

/// Commands of the alerts.
#[derive(Debug, Clone)]
pub enum AlertsCmd {
    /// Change the global alert settings (a setting; badges recompute).
    SetSettings(AlertSettings),
    /// These accounts were refreshed: notify the alerts that newly triggered.
    Check(Vec<AccountId>),
    /// Read which alerts were already notified (start-up).
    ReloadNotified,
}

/// Messages of the alert jobs.
pub enum AlertsMsg {
    /// What was notified before (the stored JSON).
    Notified(Option<String>),
    /// A desktop notification was shown, or why not.
    Shown(Result<(), String>),
    /// The notified list was saved, or why not.
    Saved(Result<(), String>),
}

impl From<AlertsMsg> for JobMsg {
    fn from(m: AlertsMsg) -> JobMsg {
        JobMsg::Alerts(m)
    }
}

/// The alerts' bookkeeping.
#[derive(Default)]
pub struct Alerts {
    /// `(account, alert id)` already notified.
    notified: BTreeSet<(AccountId, String)>,
    /// `notified` has been read from the store.
    loaded: bool,
    /// The newest notified list not written yet.
    unsaved: Arc<Mutex<Option<String>>>,
    /// Desktop notifications shown so far (names their jobs).
    shown: u64,
}

/// Reads what was notified from the stored JSON list of `[account, id]`.
pub fn parse_notified(value: Option<&str>) -> BTreeSet<(AccountId, String)> {
    value
        .and_then(|v| serde_json::from_str::<Vec<(AccountId, String)>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// One translated line for an alert.
pub fn alert_text(alert: &Alert) -> String {
    match alert {
        Alert::LowBalance { balance, threshold, currency } => fill(
            tr("alerts.low_balance"),
            &[("balance", &amount_text(*balance)), ("threshold", &amount_text(*threshold)), ("cur", currency)],
        ),
        Alert::Failing { count } => fill(tr("alerts.failing"), &[("n", count)]),
        Alert::KeyExpiring { key_name, days, .. } if *days < 0 => fill(tr("alerts.key_expired"), &[("name", key_name)]),
        Alert::KeyExpiring { key_name, days, .. } => {
            fill(tr("alerts.key_expiring"), &[("name", key_name), ("days", days)])
        }
    }
}

/// Shows one desktop notification (blocking; runs on the blocking pool).
#[cfg(feature = "desktop-notify")]
fn show_desktop(title: &str, body: &str) -> Result<(), String> {
    notify_rust::Notification::new()
        .appname("API Hub Desk")
        .summary(title)
        .body(body)
        .show()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "desktop-notify"))]
fn show_desktop(_title: &str, _body: &str) -> Result<(), String> {
    Err("built without desktop notifications".into())
}

/// The newly triggered alerts of `ids`: updates `notified` (alerts that cleared are
/// forgotten, so they notify again when they come back). Pure, for tests.
pub fn newly_triggered(
    notified: &mut BTreeSet<(AccountId, String)>,
    current: &[(AccountId, Vec<Alert>)],
) -> Vec<(AccountId, Alert)> {
    let mut fresh = Vec::new();
    for (id, list) in current {
        let now_ids: BTreeSet<String> = list.iter().map(Alert::id).collect();
        notified.retain(|(acc, key)| acc != id || now_ids.contains(key));
        for a in list {
            if notified.insert((*id, a.id())) {
                fresh.push((*id, a.clone()));
            }
        }
    }
    fresh
}

impl Alerts {
    /// Applies a command.
    pub fn apply(&mut self, cmd: AlertsCmd, cx: &mut Cx<'_>, sites: &mut Sites) {
        match cmd {
            AlertsCmd::SetSettings(settings) => {
                cx.change_settings(|s| s.alerts = settings);
                sites.data_version += 1; // the table's badges recompute
            }
            AlertsCmd::ReloadNotified => {
                let store = cx.store.clone();
                cx.start_blocking_quiet(Spec::new("alerts:load"), move |_| {
                    AlertsMsg::Notified(store.with(|s| s.setting(bookkeeping::ALERTS_NOTIFIED)).ok().flatten())
                });
            }
            AlertsCmd::Check(ids) => self.check(&ids, cx, sites),
        }
    }

    /// After a refresh of `ids`: notify the alerts that newly triggered.
    fn check(&mut self, ids: &[AccountId], cx: &mut Cx<'_>, sites: &Sites) {
        let Some(accounts) = sites.accounts.value() else { return };
        if !self.loaded {
            return; // not read yet: do not notify twice what an earlier run notified
        }
        let now = crate::domain::time::now_unix();
        let current: Vec<(AccountId, Vec<Alert>)> = accounts
            .iter()
            .filter(|a| ids.contains(&a.id))
            .map(|a| (a.id, alerts::evaluate(a, sites.states.get(&a.id), &cx.settings.alerts, now)))
            .collect();
        let before = self.notified.clone();
        let fresh = newly_triggered(&mut self.notified, &current);
        if before != self.notified {
            let list: Vec<&(AccountId, String)> = self.notified.iter().collect();
            if let Ok(mut unsaved) = self.unsaved.lock() {
                *unsaved = Some(serde_json::to_string(&list).unwrap_or_default());
            }
            let (store, unsaved) = (cx.store.clone(), self.unsaved.clone());
            cx.start_blocking_quiet(Spec::new("alerts:save").latest_wins(), move |_| {
                // Holding the list while writing keeps the last one last on disk.
                let Ok(mut pending) = unsaved.lock() else { return AlertsMsg::Saved(Err("unavailable".into())) };
                let Some(json) = pending.take() else { return AlertsMsg::Saved(Ok(())) };
                AlertsMsg::Saved(
                    store.with(|s| s.set_setting(bookkeeping::ALERTS_NOTIFIED, &json)).map_err(|e| e.to_string()),
                )
            });
        }
        if fresh.is_empty() || !cx.settings.alerts.desktop {
            return;
        }
        let lines: Vec<String> = fresh
            .iter()
            .filter_map(|(id, alert)| {
                let a = accounts.iter().find(|a| a.id == *id)?;
                let who = if a.username.is_empty() { &a.user_id } else { &a.username };
                Some(format!("{} / {who}: {}", a.site.name, alert_text(alert)))
            })
            .collect();
        let title = fill(tr("alerts.notify_title"), &[("n", &lines.len())]);
        let body = lines.join("\n");
        log::info!("alerts: {} newly triggered", lines.len());
        self.shown += 1;
        cx.start_blocking_quiet(Spec::new(format!("alerts:notify:{}", self.shown)), move |_| {
            AlertsMsg::Shown(show_desktop(&title, &body))
        });
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: AlertsMsg, cx: &mut Cx<'_>) {
        match msg {
            AlertsMsg::Notified(json) => {
                self.notified = parse_notified(json.as_deref());
                self.loaded = true;
            }
            AlertsMsg::Shown(Ok(())) | AlertsMsg::Saved(Ok(())) => {}
            AlertsMsg::Shown(Err(e)) => {
                log::warn!("desktop notification failed: {e}");
                cx.say(fill(tr("alerts.notify_failed"), &[("e", &e)]), Severity::Warning);
            }
            AlertsMsg::Saved(Err(e)) => log::error!("saving notified alerts failed: {e}"),
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        if key == "alerts:load" {
            self.loaded = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_notified_once_until_it_clears() {
        let mut seen = BTreeSet::new();
        let low = Alert::LowBalance { balance: 1.0, threshold: 2.0, currency: "USD".into() };
        let fail = Alert::Failing { count: 3 };
        assert_eq!(newly_triggered(&mut seen, &[(1, vec![low.clone()])]).len(), 1);
        // Same alert with another balance: not again.
        let lower = Alert::LowBalance { balance: 0.5, threshold: 2.0, currency: "USD".into() };
        assert!(newly_triggered(&mut seen, &[(1, vec![lower.clone()])]).is_empty());
        // Another account's alerts are untouched by this account's refresh.
        assert_eq!(newly_triggered(&mut seen, &[(2, vec![fail.clone()])]).len(), 1);
        // Cleared, then back: notified again.
        assert!(newly_triggered(&mut seen, &[(1, vec![])]).is_empty());
        assert_eq!(newly_triggered(&mut seen, &[(1, vec![lower])]).len(), 1);
        assert!(seen.contains(&(2, "failing".to_string())));
        let json = serde_json::to_string(&seen.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(parse_notified(Some(&json)), seen);
    }

    /// Manual check (it would pop up a notification on a desktop): with no session bus
    /// the notification fails quickly instead of hanging.
    /// `DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent cargo test --lib desktop -- --ignored`
    #[test]
    #[ignore]
    fn desktop_notification_fails_fast_without_a_bus() {
        let started = std::time::Instant::now();
        let r = show_desktop("API Hub Desk", "test");
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{r:?}");
        eprintln!("show_desktop: {r:?} in {:?}", started.elapsed());
    }
}
