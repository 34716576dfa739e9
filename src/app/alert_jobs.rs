//! Alerts in the app: the global settings (`Command::SetAlertSettings`), what was already
//! notified (persisted in `alerts.notified`, so an alert is notified once until it clears),
//! and the desktop notification after a refresh (a job; never on the UI thread).

use std::collections::BTreeSet;

use poll_promise::Promise;

use super::{App, Severity, StatusLine};
use crate::app::i18n::{fill, tr};
use crate::domain::AccountId;
use crate::domain::alerts::{self, Alert, AlertSettings};
use crate::domain::money::amount_text;
use crate::domain::settings::bookkeeping;

/// The app's alert bookkeeping.
#[derive(Default)]
pub struct AlertJobs {
    /// `(account, alert id)` already notified.
    notified: BTreeSet<(AccountId, String)>,
    /// `notified` has been read from the store.
    notified_loaded: bool,
    /// The start-up read of `notified`.
    load: Option<Promise<Option<String>>>,
    /// Desktop notifications being shown; an error falls back to an in-app line.
    desktop: Vec<Promise<Result<(), String>>>,
    /// Saves of `notified`.
    saves: Vec<Promise<Result<(), String>>>,
}

impl AlertJobs {
    /// Reads what was notified from the stored JSON list of `[account, id]`.
    pub fn from_setting(value: Option<&str>) -> AlertJobs {
        let notified = value
            .and_then(|v| serde_json::from_str::<Vec<(AccountId, String)>>(v).ok())
            .unwrap_or_default()
            .into_iter()
            .collect();
        AlertJobs { notified, notified_loaded: true, ..Default::default() }
    }
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

impl App {
    /// Applies new global alert settings (persisted; the table recomputes its badges).
    pub(super) fn set_alert_settings(&mut self, settings: AlertSettings) {
        self.state.alerts = settings.clone();
        self.state.data_version += 1;
        self.change_settings(|s| s.alerts = settings);
    }

    /// Reads which alerts were already notified (a start-up job).
    pub(super) fn reload_notified(&mut self) {
        let store = self.store.clone();
        self.alert_jobs.load = Some(
            self.runner.spawn_blocking(move || store.with(|s| s.setting(bookkeeping::ALERTS_NOTIFIED)).ok().flatten()),
        );
    }

    /// After a refresh of `ids`: notify the alerts that newly triggered.
    pub(super) fn check_alerts(&mut self, ids: &[AccountId]) {
        let Some(accounts) = self.state.accounts.value() else { return };
        if !self.alert_jobs.notified_loaded {
            return; // not read yet: do not notify twice what an earlier run notified
        }
        let now = crate::domain::time::now_unix();
        let current: Vec<(AccountId, Vec<Alert>)> = accounts
            .iter()
            .filter(|a| ids.contains(&a.id))
            .map(|a| (a.id, alerts::evaluate(a, self.state.states.get(&a.id), &self.state.alerts, now)))
            .collect();
        let before = self.alert_jobs.notified.clone();
        let fresh = newly_triggered(&mut self.alert_jobs.notified, &current);
        if before != self.alert_jobs.notified {
            let list: Vec<&(AccountId, String)> = self.alert_jobs.notified.iter().collect();
            let json = serde_json::to_string(&list).unwrap_or_default();
            let store = self.store.clone();
            self.alert_jobs.saves.push(self.runner.spawn_blocking(move || {
                store.with(|s| s.set_setting(bookkeeping::ALERTS_NOTIFIED, &json)).map_err(|e| e.to_string())
            }));
        }
        if fresh.is_empty() || !self.state.alerts.desktop {
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
        self.alert_jobs.desktop.push(self.runner.spawn_blocking(move || show_desktop(&title, &body)));
    }

    /// Polls desktop notifications; a failure shows the alerts in the status line instead.
    pub(super) fn poll_alert_jobs(&mut self) {
        if let Some(job) = &self.alert_jobs.load
            && job.ready().is_some()
            && let Some(job) = self.alert_jobs.load.take()
        {
            let loaded = AlertJobs::from_setting(job.block_and_take().as_deref());
            self.alert_jobs.notified = loaded.notified;
            self.alert_jobs.notified_loaded = true;
        }
        self.alert_jobs.saves.retain(|p| match p.ready() {
            None => true,
            Some(Ok(())) => false,
            Some(Err(e)) => {
                log::error!("saving notified alerts failed: {e}");
                false
            }
        });
        let mut failed = None;
        self.alert_jobs.desktop.retain(|p| match p.ready() {
            None => true,
            Some(Ok(())) => false,
            Some(Err(e)) => {
                failed = Some(e.clone());
                false
            }
        });
        if let Some(e) = failed {
            log::warn!("desktop notification failed: {e}");
            self.state.status =
                Some(StatusLine { text: fill(tr("alerts.notify_failed"), &[("e", &e)]), severity: Severity::Warning });
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
        assert_eq!(AlertJobs::from_setting(Some(&json)).notified, seen);
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
