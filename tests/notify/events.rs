//! Events from prepared stores: once per state change across two store handles (and two
//! threads at once), recovered, sends claimed once, retries then "failing", quiet
//! hours, the daily summary's contents, channels in encrypted backups only.

use std::time::Duration;

use apihub::domain::money::{Amount, CurrencySettings, DisplayType};
use apihub::domain::notify::{ChannelConfig, ChannelKind, ChannelSpec, Condition, EventKind};
use apihub::domain::settings::{Lang, format_hhmm};
use apihub::domain::snapshot::{AccountState, ApiKey, CheckinState, ErrorInfo, Part, Snapshot, TodayUsage, UserInfo};
use apihub::domain::{AccountId, AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::notify::{DispatchOptions, deliver_due_at, record};
use apihub::store::{CheckinRecord, CheckinRecordOutcome, DeliveryState, SharedStore, Store};

use super::fakes::fakes;
use super::http::client;

pub fn add_account(s: &mut Store, site: &str, user: &str) -> AccountId {
    s.upsert_account(&NewAccount {
        site_url: format!("https://{}.example", site.to_lowercase()),
        site_name: site.into(),
        kind: SiteKind::NewApi,
        user_id: "1".into(),
        username: user.into(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
    })
    .unwrap()
}

/// A refreshed state: the balance, failures in a row (with the last error), keys.
pub fn state(balance: Amount, failures: u32, keys: Vec<ApiKey>) -> AccountState {
    let now = apihub::domain::time::now_unix();
    AccountState {
        snapshot: Some(Box::new(Snapshot {
            fetched_at: now,
            user: Part::complete(UserInfo { balance, ..Default::default() }),
            keys: Part::complete(keys),
            checkin: Part::complete(CheckinState { supported: true, checked_in_today: Some(false) }),
            ..Default::default()
        })),
        consecutive_failures: failures,
        last_error: (failures > 0).then(|| ErrorInfo { kind: "auth".into(), message: "token expired".into() }),
        last_attempt_at: Some(now),
    }
}

pub fn save(s: &mut Store, id: AccountId, st: &AccountState) {
    s.save_account_state(id, st, &apihub::domain::time::local_day(apihub::domain::time::now_unix())).unwrap();
}

pub fn webhook(name: &str, target: &str, events: Vec<EventKind>) -> ChannelSpec {
    ChannelSpec {
        name: name.into(),
        kind: ChannelKind::Webhook,
        config: ChannelConfig { url: format!("{}/hook/{target}", fakes().url), ..Default::default() },
        events,
        enabled: true,
    }
}

fn kinds(events: &[apihub::domain::notify::Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.condition.event_kind().as_str()).collect()
}

fn opts(retries: u32) -> DispatchOptions {
    DispatchOptions {
        lang: Lang::En,
        timeout: Duration::from_secs(2),
        retries,
        backoff: Duration::ZERO,
        notify: Default::default(),
        ignore_quiet: false,
        claim_secs: 60,
    }
}

const USD_7_30: i64 = 3_650_000;

#[test]
fn an_event_fires_once_per_state_change_across_two_store_handles() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let mut s = Store::open(dir.path()).unwrap().store;
        s.set_setting("alerts.low_balance", "10").unwrap();
        let id = add_account(&mut s, "Fake", "alice");
        save(&mut s, id, &state(Amount::Quota(USD_7_30), 0, vec![]));
        s.save_notify_channel(&webhook("hook", "ok-ev1", vec![])).unwrap();
        id
    };
    // Two processes' worth of handles, recording at the same moment.
    let now = apihub::domain::time::now_unix();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let found: usize = (0..2)
        .map(|_| {
            let (path, b) = (dir.path().to_path_buf(), barrier.clone());
            std::thread::spawn(move || {
                let mut s = Store::open(&path).unwrap().store;
                b.wait();
                record(&mut s, now).unwrap().len()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(found, 1, "one low-balance event between both handles");
    let mut a = Store::open(dir.path()).unwrap().store;
    let mut b = Store::open(dir.path()).unwrap().store;
    assert!(record(&mut a, now).unwrap().is_empty());
    assert!(record(&mut b, now).unwrap().is_empty(), "the other handle sees it too");
    // The balance recovers: nothing to send; low again: a new event.
    save(&mut a, id, &state(Amount::Quota(20 * 500_000), 0, vec![]));
    assert!(record(&mut b, now).unwrap().is_empty());
    save(&mut a, id, &state(Amount::Quota(USD_7_30 / 2), 0, vec![]));
    assert_eq!(kinds(&record(&mut b, now).unwrap()), ["low_balance"]);
    assert!(record(&mut a, now).unwrap().is_empty());
    // Failing 3 times in a row, then a good refresh: failing, then recovered (once).
    save(&mut a, id, &state(Amount::Quota(20 * 500_000), 3, vec![]));
    let e = record(&mut b, now).unwrap();
    assert_eq!(kinds(&e), ["failing"]);
    assert!(matches!(&e[0].condition, Condition::Failing { count: 3, error } if error == "token expired"));
    save(&mut a, id, &state(Amount::Quota(20 * 500_000), 0, vec![]));
    assert_eq!(kinds(&record(&mut a, now).unwrap()), ["recovered"]);
    assert!(record(&mut b, now).unwrap().is_empty());
    // Keys: expiring in 2 days and exhausted, each once.
    let keys = vec![
        ApiKey { name: "main".into(), status: 1, expired_time: now + 2 * 86_400 + 60, ..Default::default() },
        ApiKey { name: "spent".into(), status: 4, expired_time: -1, ..Default::default() },
    ];
    save(&mut a, id, &state(Amount::Quota(20 * 500_000), 0, keys));
    assert_eq!(kinds(&record(&mut b, now).unwrap()), ["key_expiring", "key_exhausted"]);
    assert!(record(&mut a, now).unwrap().is_empty());
    // A failed check-in today, once.
    let today = apihub::engine::checkin_schedule::checkin_day(SiteKind::NewApi, now);
    let rec = CheckinRecord {
        day: today,
        outcome: CheckinRecordOutcome::Failed,
        reward: None,
        message: "HTTP 500".into(),
        updated_at: now,
    };
    a.save_checkin(id, &rec).unwrap();
    assert_eq!(kinds(&record(&mut b, now).unwrap()), ["checkin_failed"]);
    assert!(record(&mut a, now).unwrap().is_empty());
    // The history keeps them all, newest first, each pending on the one channel.
    let h = a.notify_history(50).unwrap();
    assert_eq!(
        h.iter().map(|r| r.event.condition.event_kind().as_str()).collect::<Vec<_>>(),
        ["checkin_failed", "key_exhausted", "key_expiring", "recovered", "failing", "low_balance", "low_balance"]
    );
    assert!(h.iter().all(|r| r.deliveries.len() == 1 && r.deliveries[0].state == DeliveryState::Pending));
    assert_eq!(h[0].event.subject, "Fake / alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_are_claimed_once_and_a_broken_channel_is_retried_then_marked_failing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path()).unwrap().store;
        s.set_setting("alerts.low_balance", "10").unwrap();
        let id = add_account(&mut s, "Fake", "alice");
        save(&mut s, id, &state(Amount::Quota(USD_7_30), 0, vec![]));
        s.save_notify_channel(&webhook("good", "ok-ev2", vec![])).unwrap();
        s.save_notify_channel(&webhook("broken", "5xx-ev3", vec![])).unwrap();
        // A channel that wants failures only gets nothing.
        s.save_notify_channel(&webhook("failures", "ok-ev4", vec![EventKind::Failing])).unwrap();
        assert_eq!(record(&mut s, apihub::domain::time::now_unix()).unwrap().len(), 1);
    }
    let one = SharedStore::new(Store::open(dir.path()).unwrap().store);
    let two = SharedStore::new(Store::open(dir.path()).unwrap().store);
    let c = client();
    let o = opts(2);
    let now = apihub::domain::time::now_unix();
    let (r1, r2) = tokio::join!(deliver_due_at(&one, &c, &o, now), deliver_due_at(&two, &c, &o, now));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.sent + r2.sent, 1, "{r1:?} {r2:?}");
    assert_eq!(fakes().seen("ev2").len(), 1, "the good channel got the alert once");
    assert!(fakes().seen("ev4").is_empty());
    let sent = &fakes().seen("ev2")[0];
    assert_eq!(sent.body["title"], "API Hub Desk: low balance");
    assert_eq!(sent.body["text"], "Fake / alice: balance $7.30 is below $10.00");
    // The broken one: tried, retried (backoff 0 here), then failed for good.
    for _ in 0..3 {
        deliver_due_at(&one, &c, &o, apihub::domain::time::now_unix()).await.unwrap();
    }
    assert_eq!(fakes().seen("ev3").len(), 3, "1 try + 2 retries");
    {
        let s = one.lock().unwrap();
        let broken = s.notify_channel("broken").unwrap().unwrap();
        assert!(broken.failing_since.is_some());
        assert!(broken.last_error.as_deref().unwrap().contains("HTTP 502"), "{:?}", broken.last_error);
        let good = s.notify_channel("good").unwrap().unwrap();
        assert!(good.failing_since.is_none() && good.last_ok_at.is_some());
        // The event stays in the history: sent on one channel, failed on the other.
        let h = s.notify_history(10).unwrap();
        assert_eq!(h.len(), 1);
        let states: Vec<(String, DeliveryState)> =
            h[0].deliveries.iter().map(|d| (d.channel.clone(), d.state)).collect();
        assert_eq!(states, [("broken".to_string(), DeliveryState::Failed), ("good".to_string(), DeliveryState::Sent)]);
        assert_eq!(h[0].deliveries[0].attempts, 3);
    }
    assert_eq!(deliver_due_at(&one, &c, &o, apihub::domain::time::now_unix() + 3600).await.unwrap().sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_alerts_then_send_them() {
    let dir = tempfile::tempdir().unwrap();
    let now = apihub::domain::time::now_unix();
    let local = apihub::domain::time::local_now();
    let minute = (local.format("%H").to_string().parse::<u32>().unwrap()) * 60
        + local.format("%M").to_string().parse::<u32>().unwrap();
    let (start, end) = ((minute + 1440 - 60) % 1440, (minute + 60) % 1440);
    let mut s = Store::open(dir.path()).unwrap().store;
    s.set_setting("alerts.low_balance", "10").unwrap();
    s.set_setting("notify.quiet", "on").unwrap();
    s.set_setting("notify.quiet_start", &format_hhmm(start)).unwrap();
    s.set_setting("notify.quiet_end", &format_hhmm(end)).unwrap();
    let settings = s.load_settings().unwrap().settings;
    assert!(settings.notify.quiet, "{:?}", settings.notify);
    let id = add_account(&mut s, "Fake", "alice");
    save(&mut s, id, &state(Amount::Quota(USD_7_30), 0, vec![]));
    s.save_notify_channel(&webhook("hook", "ok-ev5", vec![])).unwrap();
    assert_eq!(record(&mut s, now).unwrap().len(), 1);
    let held_until = s.notify_history(1).unwrap()[0].deliveries[0].next_at;
    assert!(held_until >= now + 59 * 60 - 60, "held until the end of the quiet hours: {held_until} vs {now}");
    let shared = SharedStore::new(s);
    let o = DispatchOptions { notify: settings.notify, ..opts(3) };
    let d = deliver_due_at(&shared, &client(), &o, now).await.unwrap();
    assert!(d.held && d.sent == 0);
    assert!(fakes().seen("ev5").is_empty(), "nothing during the quiet hours");
    // Once they are over, it goes out.
    let d = deliver_due_at(&shared, &client(), &o, held_until + 1).await.unwrap();
    assert_eq!(d.sent, 1, "{d:?}");
    assert_eq!(fakes().seen("ev5").len(), 1);
}

#[test]
fn the_daily_summary_of_a_prepared_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap().store;
    let now = apihub::domain::time::now_unix();
    // A: a USD quota site, $7.30 left, $1 spent today, checked in.
    let a = add_account(&mut s, "Alpha", "alice");
    let mut st = state(Amount::Quota(USD_7_30), 0, vec![]);
    st.snapshot.as_mut().unwrap().today =
        Part::complete(TodayUsage { spend: Amount::Quota(500_000), requests: Some(3), ..Default::default() });
    save(&mut s, a, &st);
    let day = apihub::engine::checkin_schedule::checkin_day(SiteKind::NewApi, now);
    let done = CheckinRecord {
        day: day.clone(),
        outcome: CheckinRecordOutcome::Done,
        reward: None,
        message: String::new(),
        updated_at: now,
    };
    s.save_checkin(a, &done).unwrap();
    // B: a CNY site (¥14.60), failing, a key expiring in 2 days, not checked in.
    let b = add_account(&mut s, "Beta", "bob");
    let key = ApiKey { name: "main".into(), status: 1, expired_time: now + 2 * 86_400 + 60, ..Default::default() };
    let mut st = state(Amount::Quota(1_000_000), 1, vec![key]);
    st.snapshot.as_mut().unwrap().currency = CurrencySettings { display: DisplayType::Cny, ..Default::default() };
    save(&mut s, b, &st);
    // C: money in USD ($5.50), check-in failed today.
    let c = add_account(&mut s, "Gamma", "carol");
    save(&mut s, c, &state(Amount::money(5.5, "USD"), 0, vec![]));
    let failed = CheckinRecord { outcome: CheckinRecordOutcome::Failed, message: "HTTP 500".into(), ..done.clone() };
    s.save_checkin(c, &failed).unwrap();
    // D: disabled: not counted.
    let d = add_account(&mut s, "Delta", "dave");
    save(&mut s, d, &state(Amount::Quota(99 * 500_000), 0, vec![]));
    let mut meta = apihub::store::AccountMeta::of(&s.account(d).unwrap());
    meta.disabled = true;
    s.update_account_meta(d, &meta).unwrap();

    let sum = apihub::notify::summary::build(&s, "2026-12-06", now).unwrap();
    assert_eq!(sum.accounts, 3);
    let bal: Vec<(String, f64)> = sum.balances.iter().map(|m| (m.currency.clone(), m.amount)).collect();
    assert_eq!(bal, [("USD".to_string(), 12.8), ("CNY".to_string(), 14.6)]);
    assert_eq!(sum.spend.len(), 1);
    assert_eq!((sum.spend[0].subject.as_str(), sum.spend[0].amount), ("Alpha / alice", 1.0));
    assert_eq!(sum.failing, ["Beta / bob"]);
    assert_eq!(sum.keys_expiring.len(), 1);
    assert_eq!((sum.keys_expiring[0].key_name.as_str(), sum.keys_expiring[0].days), ("main", 2));
    assert_eq!(sum.checkins_done, 1);
    assert_eq!(sum.checkins_missed, ["Beta / bob", "Gamma / carol"]);
    let en = sum.body(Lang::En);
    assert!(en.contains("3 accounts, total balance: $12.80 + ¥14.60"), "{en}");
    assert!(en.contains("Spent today: $1.00"), "{en}");
    let zh = sum.body(Lang::ZhCn);
    assert!(zh.contains("签到：已完成 1，未完成 2"), "{zh}");

    // Due once its time has come (00:00 is always past), recorded once a day.
    s.set_setting("notify.summary", "on").unwrap();
    s.set_setting("notify.summary_time", "00:00").unwrap();
    s.set_setting("ui.lang", "zh-CN").unwrap();
    let events = record(&mut s, now).unwrap();
    let summaries: Vec<_> = events.iter().filter(|e| matches!(e.condition, Condition::Summary(_))).collect();
    assert_eq!(summaries.len(), 1);
    assert!(
        record(&mut s, now).unwrap().iter().all(|e| !matches!(e.condition, Condition::Summary(_))),
        "not twice a day"
    );
    assert_eq!(s.notify_summary_day().unwrap(), Some(apihub::domain::time::local_day(now)));
}

#[test]
fn channels_travel_in_encrypted_backups_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap().store;
    let mut tg = webhook("phone", "ok-bk", vec![EventKind::LowBalance, EventKind::Summary]);
    tg.kind = ChannelKind::Telegram;
    tg.config = ChannelConfig { token: "123456:SECRET-BOT-TOKEN".into(), chat_id: "42".into(), ..Default::default() };
    s.save_notify_channel(&tg).unwrap();
    let with =
        apihub::backup::create_bundle(&s, &apihub::backup::SecretsMode::Passphrase("pass phrase".into())).unwrap();
    let without = apihub::backup::create_bundle(&s, &apihub::backup::SecretsMode::Without).unwrap();
    for bytes in [&with, &without] {
        assert!(!String::from_utf8_lossy(bytes).contains("SECRET-BOT-TOKEN"), "never in clear");
    }
    let other = tempfile::tempdir().unwrap();
    let mut t = Store::open(other.path()).unwrap().store;
    let mode = apihub::backup::RestoreMode::Merge;
    apihub::backup::restore_bundle(&mut t, &without, None, mode).unwrap();
    assert!(t.notify_channels().unwrap().is_empty(), "a bundle without secrets brings no channel");
    let report = apihub::backup::restore_bundle(&mut t, &with, Some("pass phrase"), mode).unwrap();
    assert_eq!(report.preview.notify_channels, ["phone"]);
    let back = t.notify_channel("phone").unwrap().unwrap();
    assert_eq!(back.spec, tg, "restored whole, sealed with the new store's key");
}
