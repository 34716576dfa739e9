//! Engine actions against the fake relays: check in all over mixed kinds (done,
//! already, needs a human, failed, no check-in, disabled), the stored per-day state
//! (Veloera in UTC), and key/redeem actions that refresh the account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use apihub::domain::money::Amount;
use apihub::domain::{Account, AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::engine::actions::{self, CheckinStatus, KeyAction};
use apihub::relay::keys::KeySpec;
use apihub::relay::{ClientConfig, OriginLimits, ProxySetting, RelayClient};
use apihub::store::{AccountMeta, CheckinRecordOutcome, SharedStore, Store};
use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::json;

fn client() -> RelayClient {
    RelayClient::new(ClientConfig {
        proxy: ProxySetting::Direct,
        connect_timeout_secs: 2,
        request_timeout_secs: 5,
        per_origin: OriginLimits { per_sec: 1000.0, burst: 100, ..OriginLimits::default() },
        ..ClientConfig::default()
    })
    .unwrap()
}

fn add(store: &SharedStore, url: &str, name: &str, kind: SiteKind, cfg: &FakeConfig) -> i64 {
    store
        .lock()
        .unwrap()
        .upsert_account(&NewAccount {
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

fn account(store: &SharedStore, id: i64) -> Account {
    store.lock().unwrap().account(id).unwrap()
}

fn fake_cfg(v: Variant, extra: serde_json::Value) -> FakeConfig {
    let mut c = FakeConfig::new(v);
    c.status_extra = extra;
    c.key_count = 2;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_in_all_over_mixed_kinds_and_days() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open_shared(dir.path()).unwrap();
    let newapi = FakeRelay::start(fake_cfg(Variant::NewApiClassic, json!({"checkin_enabled": true}))).await;
    let mut vc = fake_cfg(Variant::Veloera, json!({"check_in_enabled": true}));
    vc.checked_in_today = true;
    let velo = FakeRelay::start(vc).await;
    let human =
        FakeRelay::start(fake_cfg(Variant::NewApiClassic, json!({"checkin_enabled": true, "turnstile_check": true})))
            .await;
    let off = FakeRelay::start(fake_cfg(Variant::NewApiClassic, json!({}))).await;
    let hub = FakeRelay::start(fake_cfg(Variant::OneHub, json!({}))).await;
    let disabled = FakeRelay::start(fake_cfg(Variant::NewApiClassic, json!({"checkin_enabled": true}))).await;

    let a_new = add(&store, &newapi.url, "A new-api", SiteKind::NewApi, &newapi.cfg());
    let a_velo = add(&store, &velo.url, "B veloera", SiteKind::Veloera, &velo.cfg());
    let a_human = add(&store, &human.url, "C turnstile", SiteKind::NewApi, &human.cfg());
    let a_off = add(&store, &off.url, "D flag off", SiteKind::NewApi, &off.cfg());
    let _a_hub = add(&store, &hub.url, "E one-hub", SiteKind::OneHub, &hub.cfg());
    let a_dead = add(&store, "http://127.0.0.1:9", "F dead", SiteKind::Veloera, &newapi.cfg());
    let a_dis = add(&store, &disabled.url, "G disabled", SiteKind::NewApi, &disabled.cfg());
    let mut meta = AccountMeta::of(&account(&store, a_dis));
    meta.disabled = true;
    store.lock().unwrap().update_account_meta(a_dis, &meta).unwrap();

    // A refresh learns the status flags (never checks in).
    let relay = client();
    for id in [a_new, a_velo, a_human, a_off] {
        apihub::engine::refresh_one(&relay, &store, &account(&store, id)).await.unwrap();
    }
    assert!(!newapi.cfg().checked_in_today, "refresh never checks in");

    let accounts = store.lock().unwrap().list_accounts().unwrap();
    let s = actions::checkin_all(&relay, &store, accounts.clone(), 8).await.unwrap();
    assert_eq!(s.counts(), (1, 1, 1, 1), "{s:#?}");
    assert_eq!(s.unsupported, 2, "flag off + one-hub");
    let by = |id| s.entries.iter().find(|e| e.account_id == id).map(|e| e.status.clone());
    assert_eq!(
        by(a_new),
        Some(CheckinStatus::Done { reward: Some(Amount::Quota(4321)), reward_text: Some("$0.01".into()) })
    );
    assert_eq!(by(a_velo), Some(CheckinStatus::Already));
    assert!(matches!(by(a_human), Some(CheckinStatus::NeedsHuman { .. })));
    assert!(matches!(by(a_dead), Some(CheckinStatus::Failed { ref kind, .. }) if kind == "unavailable"));
    assert_eq!(by(a_dis), None, "disabled accounts are skipped");
    assert_eq!(disabled.requests(), 0);
    assert!(hub.paths().iter().all(|p| !p.contains("check")), "no check-in call to one-hub");
    assert!(off.paths().iter().all(|p| !p.starts_with("/api/user/checkin")), "flag off: never asked");
    assert!(!off.cfg().checked_in_today);

    // The store remembers the day in each site's boundary: Veloera in UTC.
    let recs = store.lock().unwrap().checkin_records().unwrap();
    let utc_today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let local_today = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert_eq!(recs[&a_velo].day, utc_today);
    assert_eq!(recs[&a_velo].outcome, CheckinRecordOutcome::Already);
    assert_eq!(recs[&a_new].day, local_today);
    assert_eq!(recs[&a_new].reward, Some(Amount::Quota(4321)));
    // The table's state shows the check-in at once.
    let st = store.lock().unwrap().account_state(a_new).unwrap();
    assert_eq!(st.snapshot.unwrap().checkin.value.unwrap().checked_in_today, Some(true));

    // A second run skips what is done today without asking the site again.
    let before = (newapi.requests(), velo.requests());
    let again = actions::checkin_all(&relay, &store, accounts, 8).await.unwrap();
    assert_eq!(by_status(&again, a_new), Some(CheckinStatus::Already));
    assert_eq!(by_status(&again, a_velo), Some(CheckinStatus::Already));
    assert_eq!((newapi.requests(), velo.requests()), before, "no request for accounts done today");
    assert!(matches!(by_status(&again, a_human), Some(CheckinStatus::NeedsHuman { .. })), "not done: tried again");
}

fn by_status(s: &actions::CheckinSummary, id: i64) -> Option<CheckinStatus> {
    s.entries.iter().find(|e| e.account_id == id).map(|e| e.status.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_actions_and_redeem_refresh_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _): (SharedStore, _) = Store::open_shared(dir.path()).unwrap();
    let mut cfg = fake_cfg(Variant::NewApiCurrent, json!({}));
    cfg.redeem_codes = vec![("GIFT".into(), 2_500_000)];
    let f = FakeRelay::start(cfg).await;
    let id = add(&store, &f.url, "Cur", SiteKind::NewApi, &f.cfg());
    let acc = account(&store, id);
    let relay = client();
    apihub::engine::refresh_one(&relay, &store, &acc).await.unwrap();

    let spec = KeySpec { name: "desk".into(), unlimited_quota: true, expired_time: -1, ..KeySpec::default() };
    let done = actions::run_key_action(&relay, &store, &acc, KeyAction::Create(spec)).await.unwrap();
    let created = done.created.unwrap();
    assert!(created.masked, "current new-api lists masked keys");
    let keys = done.state.snapshot.as_ref().unwrap().keys.value.clone().unwrap();
    assert!(keys.iter().any(|k| k.name == "desk"), "the refreshed state lists the new key");

    // Copy = reveal through the site; the full key is stored and survives a refresh.
    let revealed = actions::run_key_action(&relay, &store, &acc, KeyAction::Reveal { id: created.id }).await.unwrap();
    let full = revealed.full_key.unwrap();
    assert_eq!(full, format!("sk-{:n>48}", "new3z"));
    apihub::engine::refresh_one(&relay, &store, &acc).await.unwrap();
    let st = store.lock().unwrap().account_state(id).unwrap();
    let k = st.snapshot.unwrap().keys.value.unwrap().into_iter().find(|k| k.id == created.id).unwrap();
    assert_eq!((k.key.as_str(), k.masked), (full.as_str(), false));

    let off = actions::run_key_action(&relay, &store, &acc, KeyAction::SetEnabled { id: created.id, enabled: false })
        .await
        .unwrap();
    let k = off.state.snapshot.unwrap().keys.value.unwrap().into_iter().find(|k| k.id == created.id).unwrap();
    assert_eq!(k.status, 2);
    let gone = actions::run_key_action(&relay, &store, &acc, KeyAction::Delete { id: created.id }).await.unwrap();
    assert!(gone.state.snapshot.unwrap().keys.value.unwrap().iter().all(|k| k.id != created.id));

    let r = actions::redeem(&relay, &store, &acc, "GIFT").await.unwrap();
    assert_eq!((r.quota, r.amount_text.as_str()), (2_500_000, "$5.00"));
    assert_eq!(r.state.snapshot.unwrap().user.value.unwrap().balance, Amount::Quota(3_650_000 + 2_500_000));
    let e = actions::redeem(&relay, &store, &acc, "GIFT").await.unwrap_err();
    assert_eq!(e.kind(), "server");
}
