//! The app's job registry and controllers through the window: one job per name, the
//! same refusal everywhere ("already running"), refresh-all and a single account's
//! refresh excluding each other per account (counted at the fake site).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_relay;

use std::collections::BTreeMap;
use std::sync::Arc;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use common::{app_with, run_until, ui_lock};
use egui_kittest::kittest::Queryable;
use fake_relay::{FakeConfig, FakeRelay, Variant};

fn account(url: &str, name: &str, cfg: &FakeConfig) -> NewAccount {
    NewAccount {
        site_url: url.into(),
        site_name: name.into(),
        kind: SiteKind::NewApi,
        user_id: cfg.user_id.to_string(),
        username: cfg.username.clone(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
    }
}

/// Requests per path (query left out) seen by a fake.
fn per_path(fake: &FakeRelay) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for p in fake.paths() {
        *m.entry(p.split('?').next().unwrap_or("").to_string()).or_default() += 1;
    }
    m
}

#[test]
fn a_single_refresh_while_refresh_all_covers_the_account_is_refused_and_nothing_is_fetched_twice() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let mut a = FakeConfig::new(Variant::NewApiClassic);
    a.key_count = 2;
    a.logs = Vec::new();
    a.gate = Some(("/api/user/self".into(), gate.clone()));
    let mut b = a.clone();
    b.gate = None;
    let (fa, fb) = rt.block_on(async { (FakeRelay::start(a.clone()).await, FakeRelay::start(b.clone()).await) });
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.upsert_account(&account(&fa.url, "Alpha", &a)).unwrap();
        s.upsert_account(&account(&fb.url, "Beta", &b)).unwrap();
    });
    let h = &mut t.harness;
    h.set_size(egui::vec2(1500.0, 700.0)); // the rows' refresh buttons in view
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some_and(|a| a.len() == 2));

    h.get_by_label_contains("Refresh all").click();
    run_until(h, "alpha's refresh in flight", |_| fa.paths().iter().any(|p| p.starts_with("/api/user/self")));
    assert!(h.state().state().sites.refresh.is_some());

    // Alpha's own refresh button while refresh-all holds alpha: refused, said so.
    let alpha_y = h.get_by_label("Alpha").rect().center().y;
    let row_buttons: Vec<_> = h.get_all_by_label("Refresh").collect();
    assert_eq!(row_buttons.len(), 2, "one refresh button per row");
    let alpha_button = row_buttons
        .into_iter()
        .min_by(|a, b| (a.rect().center().y - alpha_y).abs().total_cmp(&(b.rect().center().y - alpha_y).abs()))
        .unwrap();
    alpha_button.click();
    h.run();
    assert!(h.query_by_label_contains("already running").is_some(), "the status line says so");
    // Refresh all again: the same refusal.
    h.get_by_label_contains("Refresh all").click();
    h.run();
    assert!(h.query_by_label_contains("already running").is_some());

    gate.add_permits(1_000);
    run_until(h, "refresh finished", |h| h.state().state().sites.refresh.is_none());
    // Alpha was fetched once: the same requests per endpoint as Beta, which only
    // refresh-all fetched (one refresh asks `/api/user/self/groups` twice: groups and prices).
    let (seen, once) = (per_path(&fa), per_path(&fb));
    assert_eq!(seen.get("/api/user/self"), Some(&1), "{seen:?}");
    assert_eq!(seen.get("/api/status"), Some(&1), "{seen:?}");
    assert_eq!(seen, once, "exactly one refresh's requests per endpoint");
    assert!(h.state().state().sites.states.values().all(|s| s.last_error.is_none()));
}

/// Each panel drawn alone from a prepared state (no app, no jobs): what it shows and the
/// commands its buttons push.
mod panels {
    use apihub::app::command::{BackupCmd, CheckinCmd, LogsCmd, SitesCmd};
    use apihub::app::i18n::{Lang, set_lang};
    use apihub::app::{AppState, Command, EnvInfo, Loadable};
    use apihub::domain::{Account, AuthMethod, Site, SiteKind};
    use apihub::store::{DataDirSource, KeyLocation};
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use super::ui_lock;

    fn state() -> AppState {
        let env = EnvInfo {
            data_dir: "/tmp/apihub-panels".into(),
            data_dir_source: DataDirSource::CommandLine,
            key_location: KeyLocation::Keychain,
            version: "9.9.9",
            commit: "abc",
        };
        let mut s = AppState::new(env, Lang::En, Default::default());
        let account = Account {
            id: 1,
            site: Site { id: 1, url: "https://alpha.example".into(), name: "Alpha".into(), kind: SiteKind::NewApi },
            user_id: "1".into(),
            username: "ann".into(),
            auth: AuthMethod::AccessToken,
            group_name: String::new(),
            paid_per_usd: None,
            disabled: false,
            notes: String::new(),
            low_balance_threshold: None,
            refresh_interval_mins: None,
            name: String::new(),
        };
        s.sites.accounts = Loadable::ready(vec![account], 1_000);
        s
    }

    fn harness<P: 'static>(
        panel: P,
        draw: impl Fn(&mut P, &mut egui::Ui, &AppState, &mut Vec<Command>) + 'static,
    ) -> Harness<'static, (P, AppState, Vec<Command>)> {
        set_lang(Lang::En);
        Harness::builder()
            .with_size(egui::vec2(1400.0, 900.0))
            .with_context_setup(|ctx| {
                apihub::app::fonts::install_blocking(ctx);
            })
            .build_ui_state(
                move |ui, (p, s, c): &mut (P, AppState, Vec<Command>)| draw(p, ui, s, c),
                (panel, state(), Vec::new()),
            )
    }

    #[test]
    fn sites_panel_lists_the_account_and_pushes_refresh_and_check_in_all() {
        let _l = ui_lock();
        let mut h = harness(apihub::ui::sites::SitesPanel::default(), |p, ui, s, c| p.ui(ui, s, c));
        h.run();
        assert!(h.query_by_label("Alpha").is_some());
        h.get_by_label("Refresh").click();
        h.run();
        assert!(matches!(h.state().2.as_slice(), [Command::Sites(SitesCmd::RefreshAccounts(ids))] if ids == &[1]));
        h.state_mut().2.clear();
        h.get_by_label_contains("Check in all").click();
        h.run();
        assert!(matches!(h.state().2.as_slice(), [Command::Checkin(CheckinCmd::CheckInAll)]));
    }

    #[test]
    fn logs_panel_queries_on_open_and_settings_panel_shows_the_sections() {
        let _l = ui_lock();
        let mut h = harness(apihub::ui::logs::LogsPanel::default(), |p, ui, s, c| p.ui(ui, s, c));
        h.run();
        assert!(
            h.state().2.iter().any(|c| matches!(c, Command::Logs(LogsCmd::Query(_)))),
            "the panel asks for its first query"
        );
        let mut h = harness(apihub::ui::settings::SettingsPanel::default(), |p, ui, s, c| p.ui(ui, s, c));
        h.set_size(egui::vec2(1400.0, 3200.0)); // every section in view
        h.run();
        for section in ["Appearance", "Network", "9.9.9"] {
            assert!(h.query_by_label_contains(section).is_some(), "{section}");
        }
        h.get_by_label("Backup passphrase").click();
        h.run();
        h.get_by_label("Backup passphrase").type_text("pw");
        h.run();
        h.get_by_label("Back up now").click();
        h.run();
        assert!(h.state().2.iter().any(|c| matches!(c, Command::Backup(BackupCmd::BackUpNow(_)))));
    }
}
