//! The daily automatic check-in driven by `App::logic()` against fake relays (runs
//! the open accounts once, retries only a failure whose interval has passed, leaves
//! done / needs-you ones alone, never re-runs successes), and "mark done" making
//! "check in all" skip an account that needed a human.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_relay;

use std::time::{Duration, Instant};

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::engine::actions::checkin_day;
use apihub::store::{CheckinRecord, CheckinRecordOutcome, Store};
use common::{app_in, app_with, run_until, ui_lock};
use egui_kittest::kittest::Queryable;

type Harness = egui_kittest::Harness<'static, apihub::app::App>;
use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::json;

fn seed(s: &mut Store, url: &str, name: &str, kind: SiteKind, cfg: &FakeConfig) -> i64 {
    s.upsert_account(&NewAccount {
        site_url: url.into(),
        site_name: name.into(),
        kind,
        user_id: cfg.user_id.to_string(),
        username: "alice".into(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
    })
    .unwrap()
}

fn record(s: &mut Store, id: i64, kind: SiteKind, outcome: CheckinRecordOutcome) {
    let day = checkin_day(kind, apihub::domain::time::now_unix());
    s.save_checkin(id, &CheckinRecord { day, outcome, reward: None, message: String::new(), updated_at: 0 }).unwrap();
}

fn checkins(f: &FakeRelay) -> usize {
    f.paths().iter().filter(|p| p.starts_with("/api/user/checkin")).count()
}

fn newapi_checkin() -> FakeConfig {
    let mut c = FakeConfig::new(Variant::NewApiClassic);
    c.status_extra = json!({"checkin_enabled": true});
    c
}

#[test]
fn the_daily_window_runs_open_accounts_once_and_retries_only_due_failures() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fresh = rt.block_on(FakeRelay::start(newapi_checkin()));
    let retry_due = rt.block_on(FakeRelay::start(newapi_checkin()));
    let retry_wait = rt.block_on(FakeRelay::start(newapi_checkin()));
    let human = rt.block_on(FakeRelay::start(newapi_checkin()));
    let done = rt.block_on(FakeRelay::start(newapi_checkin()));
    let hub = rt.block_on(FakeRelay::start(FakeConfig::new(Variant::OneHub)));
    let cfg = fresh.cfg();
    // A window from an hour ago to an hour ahead (local time; may wrap midnight).
    let now = chrono::Local::now();
    let hhmm = |t: chrono::DateTime<chrono::Local>| t.format("%H:%M").to_string();
    let (start, end) = (hhmm(now - chrono::Duration::hours(1)), hhmm(now + chrono::Duration::hours(1)));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("apihub.db");
    let mut t = app_in(dir, |s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.set_setting("checkin.auto", "on").unwrap();
        s.set_setting("checkin.window_start", &start).unwrap();
        s.set_setting("checkin.window_end", &end).unwrap();
        seed(s, &fresh.url, "Fresh", SiteKind::NewApi, &cfg);
        let due = seed(s, &retry_due.url, "RetryDue", SiteKind::NewApi, &cfg);
        let wait = seed(s, &retry_wait.url, "RetryWait", SiteKind::NewApi, &cfg);
        let h = seed(s, &human.url, "Human", SiteKind::NewApi, &cfg);
        let d = seed(s, &done.url, "Done", SiteKind::NewApi, &cfg);
        seed(s, &hub.url, "Hub", SiteKind::OneHub, &cfg);
        record(s, due, SiteKind::NewApi, CheckinRecordOutcome::Failed);
        record(s, wait, SiteKind::NewApi, CheckinRecordOutcome::Failed);
        record(s, h, SiteKind::NewApi, CheckinRecordOutcome::NeedsHuman);
        record(s, d, SiteKind::NewApi, CheckinRecordOutcome::Done);
        // The first failure was 31 minutes ago: its retry is due; the other's was just now.
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute("UPDATE checkin_state SET updated_at = ?1 WHERE account_id = ?2", (now.timestamp() - 31 * 60, due))
            .unwrap();
    });
    let h = &mut t.harness;
    run_until(h, "the automatic run", |h| h.query_by_label_contains("Auto check-in:").is_some());
    assert!(h.query_by_label("Auto check-in: 2 done · 0 need you · 0 failed").is_some());
    assert_eq!(checkins(&fresh), 1, "open today: checked in");
    assert_eq!(checkins(&retry_due), 1, "failed 31 min ago: retried");
    assert_eq!(checkins(&retry_wait), 0, "failed just now: waits for the interval");
    assert_eq!(checkins(&human), 0, "needs a human: never retried");
    assert_eq!(checkins(&done), 0, "done today: left alone");
    assert_eq!(hub.requests(), 0, "no check-in on one-hub");
    // The records are read again by a job after the run: wait for it (under load it can
    // land after the frames `run_until` steps once the summary shows).
    let done_records = |h: &Harness| {
        h.state().state().checkin.records.values().filter(|r| r.outcome == CheckinRecordOutcome::Done).count()
    };
    run_until(h, "the run's records read again", |h| done_records(h) >= 3);
    assert_eq!(done_records(h), 3);

    // More frames: the decision runs again (right after a run) and re-runs nothing.
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!h.state().state().checkin.auto_running);
    assert_eq!((checkins(&fresh), checkins(&retry_due), checkins(&retry_wait)), (1, 1, 0));
    assert!(h.state().state().checkin.auto_next.is_some_and(|at| at > now.timestamp()));
}

#[test]
fn auto_check_in_is_off_by_default() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fresh = rt.block_on(FakeRelay::start(newapi_checkin()));
    let cfg = fresh.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        // A whole-day window, but the switch is off.
        s.set_setting("checkin.window_start", "00:00").unwrap();
        s.set_setting("checkin.window_end", "00:00").unwrap();
        seed(s, &fresh.url, "Fresh", SiteKind::NewApi, &cfg);
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.query_by_label("Fresh").is_some());
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(fresh.requests(), 0);
    assert!(!h.state().state().settings.checkin.enabled);
}

#[test]
fn mark_done_makes_check_in_all_skip_the_account_today() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut hc = newapi_checkin();
    hc.status_extra = json!({"checkin_enabled": true, "turnstile_check": true});
    let human = rt.block_on(FakeRelay::start(hc));
    let cfg = human.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        seed(s, &human.url, "Captcha", SiteKind::NewApi, &cfg);
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.query_by_label("Captcha").is_some());
    h.get_by_label("Check in all").click();
    run_until(h, "summary", |h| h.query_by_label("Needs manual action (1)").is_some());
    assert_eq!(checkins(&human), 1);
    // The user checked in by hand in the browser and says so.
    h.get_by_label("Mark done").click();
    run_until(h, "marked", |h| h.query_by_label("Already done today (1)").is_some());
    assert!(h.query_by_label("Done manually").is_some(), "shown distinctly in the summary");
    let rec = h.state().state().checkin.records.values().next().cloned().unwrap();
    assert_eq!(rec.outcome, CheckinRecordOutcome::Manual);
    run_until(h, "state in table", |h| h.query_by_label("done manually today").is_some());
    h.get_all_by_label("Close").last().unwrap().click();
    h.run();

    h.get_by_label("Check in all").click();
    run_until(h, "second summary", |h| h.query_by_label("Check-in summary").is_some());
    assert!(h.query_by_label("Already done today (1)").is_some());
    assert!(h.query_by_label("Done manually").is_some());
    assert_eq!(checkins(&human), 1, "skipped today: the site is not asked again");
}

#[test]
fn the_settings_switch_turns_auto_check_in_on_and_is_saved_in_chinese() {
    let _l = ui_lock();
    let mut t = app_with(|s| s.set_setting("ui.lang", "zh-CN").unwrap());
    let h = &mut t.harness;
    h.run();
    h.get_all_by_label("设置").next().unwrap().click();
    h.run();
    assert!(h.query_by_label("每日自动签到").is_some());
    h.get_by_label("在时间段内每天自动签到").click();
    h.run();
    assert!(h.state().state().settings.checkin.enabled);
    run_until(h, "next run shown", |h| h.query_by_label_contains("下次自动签到检查").is_some());
    let store = Store::open(t.dir.path()).unwrap().store;
    run_until(&mut t.harness, "saved", |_| store.load_settings().unwrap().settings.checkin.enabled);
    assert_eq!(store.load_settings().unwrap().settings.get("checkin.window_start").unwrap(), "08:00");
}
