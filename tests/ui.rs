//! The window, driven through egui_kittest without a GPU.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
/// Demo accounts (mixed kinds, states, errors, keys, prices) for the layout tests.
#[path = "../examples/demo_data.rs"]
mod demo_data;
mod fake_relay;

use fake_relay::{FakeConfig, FakeRelay, Variant};

use common::{app_with, run_until, ui_lock};
use egui_kittest::kittest::Queryable;

/// An app whose store holds one access-token account per `(site URL, site name, username)`,
/// in that order, with the English UI.
fn app_with_sites(sites: &'static [(&'static str, &'static str, &'static str)]) -> common::TestApp {
    use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
    app_with(move |s| {
        s.set_setting("ui.lang", "en").unwrap();
        for (url, name, user) in sites {
            s.upsert_account(&NewAccount {
                site_url: (*url).into(),
                site_name: (*name).into(),
                kind: SiteKind::OneHub,
                user_id: "1".into(),
                username: (*user).into(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
            })
            .unwrap();
        }
    })
}

#[test]
fn starts_on_an_empty_data_dir_and_every_panel_is_reachable() {
    let _l = ui_lock();
    let mut t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    assert!(h.query_by_label("No sites yet").is_some(), "Sites shows its empty state");
    assert!(h.query_by_label_contains("Refresh all").is_some(), "top bar has refresh all");

    for (nav, marker) in [
        ("Pricing", "No pricing data yet"),
        ("Logs", "No usage logs yet"),
        ("Settings", "Appearance"),
        ("Sites", "No sites yet"),
    ] {
        h.get_all_by_label(nav).next().unwrap().click();
        h.run();
        assert!(h.query_by_label(marker).is_some(), "clicking {nav} shows {marker}");
    }
}

#[test]
fn the_language_switch_changes_visible_labels() {
    let _l = ui_lock();
    let mut t = app_with(|s| s.set_setting("ui.lang", "zh-CN").unwrap());
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    assert!(h.query_all_by_label("站点").count() >= 1);
    assert_eq!(h.query_all_by_label("Sites").count(), 0);
    h.get_all_by_label("设置").next().unwrap().click();
    h.run();
    h.get_by_label("English").click();
    h.run();
    assert!(h.query_all_by_label("Sites").count() >= 1, "navigation now in English");
    assert_eq!(h.query_all_by_label("站点").count(), 0);
    assert!(h.query_by_label("Language").is_some());
    // The choice is persisted for the next start.
    let store = apihub::store::Store::open(t.dir.path()).unwrap().store;
    run_until(&mut t.harness, "setting saved", |_| store.setting("ui.lang").ok().flatten().as_deref() == Some("en"));
}

#[test]
fn refresh_all_without_accounts_says_so() {
    let _l = ui_lock();
    let mut t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_by_label_contains("Refresh all").click();
    h.run();
    assert!(h.query_by_label("No accounts to refresh yet").is_some());
}

#[test]
fn stored_accounts_appear_in_the_sites_table_and_search_filters_them() {
    let _l = ui_lock();
    let mut t = app_with_sites(&[("https://alpha.example", "Alpha", "ann"), ("https://beta.example", "Beta", "bob")]);
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    assert!(h.query_by_label("Alpha").is_some());
    assert!(h.query_by_label("Beta").is_some());
    h.get_by_label("Search").click();
    h.run();
    h.get_by_label("Search").type_text("beta");
    h.run();
    assert!(h.query_by_label("Alpha").is_none(), "filtered out");
    assert!(h.query_by_label("Beta").is_some());
    // A letter more narrows the rows shown to none; taking it back shows Beta again (the
    // shorter search is not narrowed from the empty rows: they are built again).
    h.get_by_label("Search").type_text("x");
    h.run();
    assert!(h.query_by_label("Beta").is_none(), "betax matches nothing");
    h.key_press(egui::Key::Backspace);
    h.run();
    assert!(h.query_by_label("Beta").is_some(), "beta again");
    assert!(h.query_by_label("Alpha").is_none());
}

#[test]
fn a_column_header_click_sorts_the_sites_rows_and_a_second_click_reverses_them() {
    let _l = ui_lock();
    // Stored in this order (the manual order): Beta, alpha, Gamma (names sort case-blind).
    let mut t = app_with_sites(&[
        ("https://b.example", "Beta", "u"),
        ("https://a.example", "alpha", "u"),
        ("https://g.example", "Gamma", "u"),
    ]);
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    let order = |h: &egui_kittest::Harness<'_, apihub::app::App>| {
        let mut names = ["Beta", "alpha", "Gamma"].map(|n| (h.get_by_label(n).rect().min.y, n));
        names.sort_by(|a, b| a.0.total_cmp(&b.0));
        names.map(|(_, n)| n)
    };
    assert_eq!(order(h), ["Beta", "alpha", "Gamma"], "the manual order");
    h.get_by_label("Site").click();
    h.run();
    assert_eq!(order(h), ["alpha", "Beta", "Gamma"], "sorted by site, ascending");
    h.get_by_label("Site ^").click();
    h.run();
    assert_eq!(order(h), ["Gamma", "Beta", "alpha"], "the second click reverses");
    // A search after the sort keeps it: the rows shown are the matches, in that order.
    h.get_by_label("Search").click();
    h.run();
    h.get_by_label("Search").type_text("a");
    h.run();
    assert_eq!(order(h), ["Gamma", "Beta", "alpha"]);
}

#[test]
fn refresh_all_updates_rows_and_reports_failures() {
    use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeRelay::start(FakeConfig::new(Variant::NewApiClassic)));
    let cfg = fake.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        // One working site, one where nothing listens.
        for (url, name) in [(fake.url.as_str(), "Working"), ("http://127.0.0.1:9", "Dead")] {
            s.upsert_account(&NewAccount {
                site_url: url.into(),
                site_name: name.into(),
                kind: SiteKind::NewApi,
                user_id: cfg.user_id.to_string(),
                username: String::new(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
            })
            .unwrap();
        }
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    assert_eq!(h.query_all_by_label("never").count(), 2);
    h.get_by_label_contains("Refresh all").click();
    run_until(h, "refresh finished", |h| h.query_by_label_contains("Refresh done").is_some());
    assert!(h.query_by_label("Refresh done: 1 ok, 1 failed, 0 cancelled").is_some());
    assert!(h.query_by_label("$7.30").is_some(), "3,650,000 quota at 500,000 per USD");
    assert!(h.query_by_label_contains("Site unavailable").is_some(), "the failure is shown on its row");
    assert_eq!(h.query_all_by_label("never").count(), 0);
}

#[test]
fn the_add_dialog_verifies_against_the_site_and_saves() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut fc = FakeConfig::new(Variant::Veloera);
    fc.status_extra = serde_json::json!({"system_name": "Velo Test"});
    let fake = rt.block_on(FakeRelay::start(fc));
    let cfg = fake.cfg();
    let mut t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("Add account").next().unwrap().click();
    h.run();
    for (label, text) in [("Site URL", fake.url.clone()), ("Access token", "wrong".into()), ("User id", "42".into())] {
        h.get_by_label(label).click();
        h.run();
        h.get_by_label(label).type_text(&text);
        h.run();
    }
    h.get_by_label("Verify and save").click();
    run_until(h, "verification", |h| h.query_by_label_contains("Not saved").is_some());
    assert!(h.query_by_label_contains("auth").is_some(), "a wrong token is an auth error");
    // Fix the token and try again.
    h.get_by_label("Access token").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Access token").type_text(&cfg.token);
    h.run();
    h.get_by_label("Verify and save").click();
    run_until(h, "saved", |h| h.query_by_label_contains("Added:").is_some());
    assert!(h.query_by_label("Added: alice — $7.30").is_some());
    run_until(h, "row shown", |h| h.query_by_label("Velo Test").is_some());
    let store = apihub::store::Store::open(t.dir.path()).unwrap().store;
    let accounts = store.list_accounts().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].username, "alice");
    assert_eq!(accounts[0].site.name, "Velo Test");
}

/// The add form runs the rules `apihub accounts add` runs (domain::validate) and says
/// what is wrong beside the field, before anything is sent or stored.
#[test]
fn the_add_form_refuses_what_accounts_add_refuses_beside_the_field() {
    use apihub::app::AddStatus;
    let _l = ui_lock();
    let mut t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("Add account").next().unwrap().click();
    h.run();
    h.get_by_label("Verify with the site before saving").click();
    h.run();
    let retype = |h: &mut egui_kittest::Harness<'static, apihub::app::App>, label: &str, text: &str| {
        h.get_by_label(label).click();
        h.run();
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.get_by_label(label).type_text(text);
        h.run();
    };
    retype(h, "Site URL", "ftp://relay.example");
    retype(h, "Access token", "two words");
    retype(h, "User id", "42");
    assert!(h.query_by_label("Not accepted: must start with http:// or https:// (not ftp://)").is_some());
    assert!(h.query_by_label_contains("Not accepted: contains spaces").is_some(), "the token's problem");
    assert!(h.query_by_label_contains("two words").is_none(), "a message never repeats the secret");
    assert!(h.query_by_label("Fill in the site URL and the sign-in details").is_none(), "not 'missing'");
    h.get_by_label("Save").click();
    h.run();
    assert_eq!(h.state().state().sites.add, AddStatus::Idle, "nothing is sent");

    retype(h, "Site URL", "http://user:pw@relay.example");
    assert!(h.query_by_label_contains("must not hold a user name or password").is_some());
    retype(h, "Site URL", "https://relay.example");
    retype(h, "Access token", "tok-1");
    assert_eq!(h.query_all_by_label_contains("Not accepted").count(), 0, "every problem mended");
    h.get_by_label("Save").click();
    run_until(h, "saved", |h| h.query_by_label_contains("Added:").is_some());
    let store = apihub::store::Store::open(t.dir.path()).unwrap().store;
    let accounts = store.list_accounts().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].site.url, "https://relay.example");
}

#[test]
fn auto_refresh_refreshes_due_accounts_without_a_click() {
    use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeRelay::start(FakeConfig::new(Variant::OneHub)));
    let cfg = fake.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.set_setting("refresh.auto", "on").unwrap();
        s.upsert_account(&NewAccount {
            site_url: fake.url.clone(),
            site_name: "Hub".into(),
            kind: SiteKind::OneHub,
            user_id: cfg.user_id.to_string(),
            username: "alice".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
        })
        .unwrap();
    });
    let h = &mut t.harness;
    run_until(h, "the never-refreshed account is refreshed by the schedule", |h| {
        h.state().state().sites.states.values().any(|s| s.snapshot.is_some())
    });
    assert!(h.query_by_label("$7.30").is_some());
    // The next run is scheduled about 30 minutes out.
    run_until(h, "next run shown", |h| h.query_by_label_contains("Next auto refresh").is_some());
    let next = h.state().state().sites.next_auto_refresh_at.unwrap();
    let now = apihub::domain::time::now_unix();
    assert!(next > now + 29 * 60 && next <= now + 34 * 60, "next run {} s away", next - now);
    // Turning it off hides the next run.
    h.get_by_label("Auto refresh").click();
    run_until(h, "auto off", |h| h.query_by_label("Auto refresh off").is_some());
}

#[test]
fn the_add_dialog_detects_the_kind_and_signs_in_with_password_and_2fa() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut fc = FakeConfig::new(Variant::NewApiCurrent);
    fc.totp = Some("654321".into());
    fc.status_extra = serde_json::json!({"quota_display_type": "USD", "checkin_enabled": true});
    let fake = rt.block_on(FakeRelay::start(fc));
    let cfg = fake.cfg();
    let mut t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("Add account").next().unwrap().click();
    h.run();
    h.get_by_label("Site URL").click();
    h.run();
    h.get_by_label("Site URL").type_text(&fake.url);
    h.run();
    h.get_by_label("Detect").click();
    run_until(h, "detected", |h| h.query_by_label_contains("Detected: new-api").is_some());
    h.get_by_label("Username + password").click();
    h.run();
    for (label, text) in [("Username", "alice"), ("Password", cfg.password.as_str())] {
        h.get_by_label(label).click();
        h.run();
        h.get_by_label(label).type_text(text);
        h.run();
    }
    h.get_by_label("Verify and save").click();
    run_until(h, "2FA asked", |h| h.query_by_label_contains("asks for two-step verification").is_some());
    h.get_by_label("Two-step code").click();
    h.run();
    h.get_by_label("Two-step code").type_text("654321");
    h.run();
    h.get_by_label("Submit code").click();
    run_until(h, "saved", |h| h.query_by_label_contains("Added:").is_some());
    assert!(h.query_by_label("Added: alice — $7.30").is_some());
    let store = apihub::store::Store::open(t.dir.path()).unwrap().store;
    let acc = &store.list_accounts().unwrap()[0];
    assert_eq!(acc.site.kind, apihub::domain::SiteKind::NewApi, "the detected kind is stored");
    assert!(store.credentials(acc.id).unwrap().password.is_none(), "the password is never stored");
}

/// Window widths every table must fit.
const WIDTHS: [f32; 3] = [1000.0, 1200.0, 1600.0];

/// An app at `width` px with 24 demo accounts and some usage logs, in English.
fn demo_app(width: f32) -> common::TestApp {
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        demo_data::seed(s, 24, apihub::domain::time::now_unix());
        let id = s.list_accounts().unwrap()[0].id;
        let now = apihub::domain::time::now_unix();
        let rows: Vec<_> = (0..30i64)
            .map(|i| apihub::domain::usage_log::UsageLog {
                account_id: id,
                created_at: now - 600 * i,
                kind: apihub::domain::usage_log::LogKind::Consume,
                raw_type: 2,
                model: "claude-3-5-sonnet-20241022".into(),
                token_name: "key-1".into(),
                quota: 1_000 + i,
                prompt_tokens: 1_234,
                completion_tokens: 567,
                group: "default".into(),
                is_stream: true,
                content_hash: format!("h{i}"),
                ..Default::default()
            })
            .collect();
        s.insert_usage_logs(&rows).unwrap();
    });
    t.harness.set_size(egui::vec2(width, 800.0));
    run_until(&mut t.harness, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    t
}

/// Asserts that every node labelled `label` in the header row of the table `table` lies
/// fully inside the table's rectangle, and returns how many there are.
fn header_count(h: &egui_kittest::Harness<'static, apihub::app::App>, table: &str, label: &str) -> usize {
    let rect = apihub::ui::fit::table_rect(&h.ctx, table).unwrap_or_else(|| panic!("{table} was drawn"));
    count_inside(h, table, label, |r| r.top() >= rect.top() - 0.5 && r.bottom() <= rect.top() + 30.0)
}

/// Asserts that every node labelled `label` that starts inside the table `table` (a cell,
/// not the detail pane beside it) lies fully inside it, and returns how many there are.
fn cell_count(h: &egui_kittest::Harness<'static, apihub::app::App>, table: &str, label: &str) -> usize {
    let rect = apihub::ui::fit::table_rect(&h.ctx, table).unwrap_or_else(|| panic!("{table} was drawn"));
    count_inside(h, table, label, |r| rect.contains(r.left_top()))
}

fn count_inside(
    h: &egui_kittest::Harness<'static, apihub::app::App>,
    table: &str,
    label: &str,
    picked: impl Fn(egui::Rect) -> bool,
) -> usize {
    let rect = apihub::ui::fit::table_rect(&h.ctx, table).unwrap_or_else(|| panic!("{table} was drawn"));
    let width = h.ctx.content_rect().width();
    let mut n = 0;
    for node in h.query_all_by_label(label) {
        let r = node.rect();
        if !picked(r) {
            continue; // elsewhere in the window
        }
        assert!(
            r.left() >= rect.left() - 0.5 && r.right() <= rect.right() + 0.5,
            "at {width} px, '{label}' at {r:?} is cut by the {table} table's {rect:?}"
        );
        n += 1;
    }
    n
}

/// The text shapes of the last frame whose middle lies in the body of the table `table`
/// (below its header row), each as the part of it its clip rectangle lets show.
fn body_texts(h: &egui_kittest::Harness<'static, apihub::app::App>, table: &str) -> Vec<(egui::Rect, String)> {
    fn walk(shape: &egui::Shape, clip: egui::Rect, out: &mut Vec<(egui::Rect, String)>) {
        match shape {
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| walk(s, clip, out)),
            egui::Shape::Text(t) => out.push((t.visual_bounding_rect().intersect(clip), t.galley.text().to_owned())),
            _ => {}
        }
    }
    let rect = apihub::ui::fit::table_rect(&h.ctx, table).unwrap_or_else(|| panic!("{table} was drawn"));
    let body = egui::Rect::from_min_max(egui::pos2(rect.left(), rect.top() + 30.0), rect.max);
    let mut out = Vec::new();
    for clipped in &h.output().shapes {
        walk(&clipped.shape, clipped.clip_rect, &mut out);
    }
    out.retain(|(r, text)| r.is_positive() && !text.trim().is_empty() && body.contains(r.center()));
    out
}

/// Asserts that no two texts in the body of the table `table` overlap (a cell's text
/// runs into the next cell), and returns how many texts there are.
fn assert_no_text_overlaps(h: &egui_kittest::Harness<'static, apihub::app::App>, table: &str) -> usize {
    let width = h.ctx.content_rect().width();
    let texts = body_texts(h, table);
    for (i, (a, ta)) in texts.iter().enumerate() {
        for (b, tb) in &texts[i + 1..] {
            let both = a.intersect(*b);
            assert!(
                !both.is_positive() || both.area() < 1.0,
                "at {width} px in the {table} table, '{ta}' at {a:?} runs into '{tb}' at {b:?}"
            );
        }
    }
    texts.len()
}

/// Asserts that the body of the table `table` is drawn without a cell's text running into
/// another and in fewer than two draw calls a row (a clip rectangle per cell was about
/// one a cell), with at least `min_rows` rows of text.
fn assert_cells_keep_to_their_columns(
    h: &egui_kittest::Harness<'static, apihub::app::App>,
    table: &str,
    min_rows: usize,
) {
    let width = h.ctx.content_rect().width();
    assert_no_text_overlaps(h, table);
    let mut lines: Vec<i32> = body_texts(h, table).iter().map(|(r, _)| r.center().y.round() as i32).collect();
    lines.sort_unstable();
    lines.dedup_by(|a, b| (*a - *b).abs() < 8);
    let rows = lines.len();
    assert!(rows >= min_rows, "at {width} px the {table} table shows {rows} rows of text");
    let calls = draw_calls(h);
    assert!(calls < 2 * rows, "at {width} px: {calls} draw calls for the {rows} rows of the {table} table");
}

/// How many meshes (draw calls) the last frame of the window was painted with.
fn draw_calls(h: &egui_kittest::Harness<'static, apihub::app::App>) -> usize {
    let out = h.output();
    h.ctx.tessellate(out.shapes.clone(), out.pixels_per_point).len()
}

#[test]
fn the_sites_table_fits_at_1000_1200_and_1600_px_with_and_without_the_detail_pane() {
    let _l = ui_lock();
    // Folding columns may be absent on a narrow window; these never are.
    let always = ["Site", "Balance", "Status", "Actions"];
    let folding = ["Account", "Kind", "Today", "Requests", "Tokens", "Keys", "Models", "Updated", "Check-in"];
    for width in WIDTHS {
        let mut t = demo_app(width);
        let h = &mut t.harness;
        for detail in [false, true] {
            if detail {
                common::click_row(h, "Relay 1");
                h.run();
                assert!(h.query_by_label_contains("key-0").is_some(), "the detail pane opened");
            }
            for label in always {
                assert_eq!(header_count(h, "sites", label), 1, "at {width} px (detail {detail}) '{label}' shows");
            }
            let mut shown = 0;
            for label in folding {
                shown += header_count(h, "sites", label);
            }
            if width >= 1600.0 && !detail {
                assert_eq!(shown, folding.len(), "at {width} px every column shows");
            }
            let rows = cell_count(h, "sites", "Refresh");
            assert!(rows >= 10, "every visible row has its refresh button");
            // Every cell keeps to its column without a clip rectangle of its own ...
            assert!(assert_no_text_overlaps(h, "sites") >= rows * 5, "the rows' texts were found");
            // ... so the rows share draw calls: a clip rectangle per cell was ~12 a row.
            let calls = draw_calls(h);
            assert!(calls < 2 * rows, "at {width} px (detail {detail}): {calls} draw calls for {rows} rows");
        }
    }
}

#[test]
fn the_pricing_table_fits_at_1000_1200_and_1600_px() {
    let _l = ui_lock();
    let always = ["Model", "Site", "Input", "Effective"];
    for width in WIDTHS {
        let mut t = demo_app(width);
        let h = &mut t.harness;
        h.get_all_by_label("Pricing").next().unwrap().click();
        run_until(h, "pricing rows", |h| apihub::ui::fit::table_rect(&h.ctx, "pricing").is_some());
        for label in always {
            assert_eq!(header_count(h, "pricing", label), 1, "at {width} px '{label}' shows");
        }
        for label in ["Group", "Output", "Cache read", "Per call", "Real cost"] {
            let n = header_count(h, "pricing", label);
            assert!(n <= 1 && (width < 1600.0 || n == 1), "at {width} px '{label}': {n}");
        }
        assert_cells_keep_to_their_columns(h, "pricing", 10);
    }
}

#[test]
fn the_logs_table_fits_at_1000_1200_and_1600_px() {
    let _l = ui_lock();
    let always = ["Time", "Account", "Model", "Cost"];
    for width in WIDTHS {
        let mut t = demo_app(width);
        let h = &mut t.harness;
        h.get_all_by_label("Logs").next().unwrap().click();
        run_until(h, "log rows", |h| {
            h.state().state().logs.window.value().is_some_and(|w| w.total > 0)
                && apihub::ui::fit::table_rect(&h.ctx, "logs").is_some()
        });
        h.run();
        for label in always {
            assert_eq!(header_count(h, "logs", label), 1, "at {width} px '{label}' shows");
        }
        for label in ["Type", "Key", "Prompt", "Completion", "Real cost", "Duration", "Stream", "Group"] {
            let n = header_count(h, "logs", label);
            assert!(n <= 1 && (width < 1600.0 || n == 1), "at {width} px '{label}': {n}");
        }
        assert!(cell_count(h, "logs", "claude-3-5-sonnet-20241022") >= 10, "rows show");
        assert_cells_keep_to_their_columns(h, "logs", 10);
    }
}

#[test]
fn the_keys_list_fits_in_the_detail_pane_at_1000_1200_and_1600_px() {
    let _l = ui_lock();
    for width in WIDTHS {
        let mut t = demo_app(width);
        let h = &mut t.harness;
        // The second demo account has two keys it manages.
        common::click_row(h, "Relay 1");
        h.run();
        for label in ["key-0", "key-1", "Copy", "Disable", "Edit", "Delete key"] {
            assert!(cell_count(h, "keys", label) >= 1, "at {width} px '{label}' shows in the detail pane");
        }
    }
}

#[test]
fn an_idle_window_sleeps_until_its_timers_are_due() {
    let _l = ui_lock();
    let mut t = app_with_sites(&[("https://a.example", "A", "alice"), ("https://b.example", "B", "bob")]);
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some_and(|a| a.len() == 2));
    // The start-up loads land, the heap is given back once jobs are quiet (2 s), and then
    // nothing happens in the window: it must come to sleep, not keep waking itself (a job
    // that reports every pass, or the heap trim's own message arming the next trim).
    let sleeping = |h: &egui_kittest::Harness<'static, apihub::app::App>| {
        h.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay
            >= apihub::app::IDLE_WAKE - std::time::Duration::from_secs(1)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    while !sleeping(h) && std::time::Instant::now() < deadline {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let delay = h.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay;
    assert!(sleeping(h), "an idle window asks for its next frame in {delay:?}, not before its timers are due");
}

#[test]
fn what_was_logged_is_in_the_activity_log_when_the_window_closes() {
    let _l = ui_lock();
    apihub::logging::init(false);
    let mut t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    // Logged with nothing after it to wake the window (an idle window drains the logger
    // only every IDLE_WAKE), then the window closes.
    log::warn!(target: "apihub::test", "the last words before closing");
    eframe::App::on_exit(h.state_mut(), None);
    let store = apihub::store::Store::open(t.dir.path()).unwrap().store;
    let logged = store.recent_activity(50, apihub::store::Level::Info).unwrap();
    assert!(logged.iter().any(|e| e.message.contains("the last words before closing")), "written on exit: {logged:?}");
}
