//! Reordering the Sites table by dragging a row's handle onto another row (the same
//! move the buttons make), and the detail's top-up link.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use common::{app_with, run_until, ui_lock};
use egui_kittest::kittest::Queryable;

fn names(h: &egui_kittest::Harness<'static, apihub::app::App>) -> Vec<String> {
    h.state().state().sites.accounts.value().unwrap().iter().map(|a| a.site.name.clone()).collect()
}

#[test]
fn dragging_a_handle_onto_another_row_moves_the_account_there() {
    let _l = ui_lock();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        for (i, name) in ["Alpha", "Bravo", "Charlie"].into_iter().enumerate() {
            s.upsert_account(&NewAccount {
                site_url: format!("http://127.0.0.1:9/{i}"),
                site_name: name.into(),
                kind: SiteKind::NewApi,
                user_id: i.to_string(),
                username: "u".into(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
            })
            .unwrap();
        }
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.query_by_label("Charlie").is_some());
    assert_eq!(names(h), ["Alpha", "Bravo", "Charlie"]);
    let handle = h.get_all_by_label("≡").map(|n| n.rect()).min_by(|a, b| a.top().total_cmp(&b.top())).unwrap();
    let target = h.get_by_label("Charlie").rect();
    let from = handle.center();
    let to = egui::pos2(target.right() + 30.0, target.center().y);
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    h.event(egui::Event::PointerMoved(from));
    h.step();
    h.event(button(from, true));
    h.step();
    for i in 1..=10 {
        h.event(egui::Event::PointerMoved(from.lerp(to, i as f32 / 10.0)));
        h.step();
    }
    assert!(egui::DragAndDrop::has_any_payload(&h.ctx), "dragging the handle carries the account");
    h.event(button(to, false));
    h.step();
    run_until(h, "reordered", |h| names(h) == ["Bravo", "Charlie", "Alpha"]);

    // The detail offers the top-up page beside the site link.
    let r = h.get_by_label("Bravo").rect();
    let pos = egui::pos2(r.right() + 30.0, r.center().y);
    h.event(egui::Event::PointerMoved(pos));
    h.event(button(pos, true));
    h.event(button(pos, false));
    run_until(h, "detail open", |h| h.query_by_label("Open top-up page").is_some());
    assert!(h.query_by_label("Open site in browser").is_some());
}
