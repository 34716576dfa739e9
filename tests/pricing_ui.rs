//! The Pricing panel over a synthetic book, driven through egui_kittest without a GPU.
#![allow(clippy::unwrap_used)]

use apihub::app::i18n::{Lang, set_lang};
use std::sync::Arc;

use apihub::app::command::PricingCmd;
use apihub::app::{AppState, Command, EnvInfo, Loadable};
use apihub::domain::SiteKind;
use apihub::domain::money::{CurrencySettings, DisplayType};
use apihub::domain::pricing::{AccountPricing, PricingBook, RefreshState, normalise, parse_new_api_pricing};
use apihub::domain::settings::ThemePref;
use apihub::store::{DataDirSource, KeyLocation};
use apihub::ui::pricing::PricingPanel;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use serde_json::json;

type State = (PricingPanel, AppState, Vec<Command>);

/// The UI language is process-global: these tests take turns.
fn ui_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// One account: `claude-3-opus` (ratio 15, completion 5) and `gpt-4o` (ratio 1.25, completion 4)
/// in a single group with ratio `group`.
fn account(id: i64, site: &str, label: &str, group: f64, currency: CurrencySettings, paid: f64) -> AccountPricing {
    let body = json!({"success":true,
        "data":[{"model_name":"claude-3-opus","quota_type":0,"model_ratio":15,"completion_ratio":5,
                 "owner_by":"Anthropic","enable_groups":["vip"]},
                {"model_name":"gpt-4o","quota_type":0,"model_ratio":1.25,"completion_ratio":4,
                 "owner_by":"OpenAI","enable_groups":["vip"]}],
        "group_ratio":{"vip":group},"usable_group":{"vip":"VIP"}});
    let site_pricing = parse_new_api_pricing(&body).unwrap();
    AccountPricing {
        account_id: id,
        site_name: site.into(),
        account_label: label.into(),
        kind: SiteKind::NewApi,
        rows: normalise(&site_pricing, currency.quota_per_unit),
        currency,
        paid_per_usd: Some(paid),
        balance_usd: Some(id as f64 * 5.0),
        fetched_at_unix: Some(1_000),
        status: if id == 2 { RefreshState::Error("timed out".into()) } else { RefreshState::Ok },
    }
}

/// Alpha (USD site, group 0.9, pays 7 per USD) and Beta (CNY site at 7.3, group 0.5, pays 1).
/// claude-3-opus input: Alpha $27.00, Beta $15.00; effective (chat 85/15): Alpha $43.20, Beta $24.00.
fn book() -> PricingBook {
    let cny = CurrencySettings { display: DisplayType::Cny, usd_exchange_rate: 7.3, ..Default::default() };
    PricingBook {
        accounts: vec![
            account(1, "Alpha", "ann", 0.9, CurrencySettings::default(), 7.0),
            account(2, "Beta", "bob", 0.5, cny, 1.0),
        ],
        paid_currency: "CNY".into(),
    }
}

fn state_with(book: Option<PricingBook>) -> AppState {
    let env = EnvInfo {
        data_dir: "/tmp/x".into(),
        data_dir_source: DataDirSource::CommandLine,
        key_location: KeyLocation::Keychain,
        version: "test",
        commit: "test",
    };
    let mut s = AppState::new(env, Lang::En, ThemePref::default());
    if let Some(b) = book {
        s.pricing.book = Loadable::ready(Arc::new(b), 1_000);
    }
    s
}

/// The panel with its comparisons computed as the pricing job would (on this thread,
/// between frames).
fn harness(book: Option<PricingBook>) -> Harness<'static, State> {
    harness_serving(book, true)
}

fn harness_serving(book: Option<PricingBook>, serve: bool) -> Harness<'static, State> {
    set_lang(Lang::En);
    Harness::builder()
        .with_size(egui::vec2(1200.0, 700.0))
        .with_context_setup(|ctx| {
            apihub::app::fonts::install_blocking(ctx);
        })
        .build_ui_state(
            move |ui, (panel, state, cmds): &mut State| {
                panel.ui(ui, state, cmds);
                if serve {
                    for c in cmds.drain(..) {
                        if let Command::Pricing(PricingCmd::Compare(opts)) = c {
                            state.pricing.compare_here(opts);
                            ui.ctx().request_repaint();
                        }
                    }
                }
            },
            (PricingPanel::default(), state_with(book), Vec::new()),
        )
}

fn y_of<S>(h: &Harness<'_, S>, label: &str) -> f32 {
    h.get_by_label(label).rect().center().y
}

#[test]
fn empty_book_shows_the_helpful_empty_state() {
    let _l = ui_lock();
    let mut h = harness(None);
    h.run();
    assert!(h.query_by_label("No pricing data yet").is_some());
    assert!(h.query_by_label("Filter models").is_none(), "no toolbar without data");
}

#[test]
fn the_filter_narrows_rows() {
    let _l = ui_lock();
    let mut h = harness(Some(book()));
    h.run();
    assert_eq!(h.query_all_by_label("gpt-4o").count(), 2);
    assert_eq!(h.query_all_by_label("claude-3-opus").count(), 2);
    assert!(h.query_by_label("4 rows · 2 models").is_some());
    h.get_by_label("Filter models").click();
    h.run();
    h.get_by_label("Filter models").type_text("claude");
    h.run();
    assert_eq!(h.query_all_by_label("gpt-4o").count(), 0, "filtered out");
    assert_eq!(h.query_all_by_label("claude-3-opus").count(), 2);
    assert!(h.query_by_label("2 rows · 1 models").is_some());
    // A wildcard matches the whole name: `*4o` keeps gpt-4o only.
    for _ in 0.."claude".len() {
        h.key_press(egui::Key::Backspace);
    }
    h.run();
    h.get_by_label("Filter models").type_text("*4o");
    h.run();
    assert_eq!(h.query_all_by_label("claude-3-opus").count(), 0);
    assert_eq!(h.query_all_by_label("gpt-4o").count(), 2);
    // Nothing matches: a helpful message and a way out.
    h.get_by_label("Filter models").type_text("zzz");
    h.run();
    assert!(h.query_by_label("No prices match the filter").is_some());
    h.get_by_label("Clear filter").click();
    h.run();
    assert!(h.query_by_label("4 rows · 2 models").is_some());
}

#[test]
fn sorting_puts_the_cheapest_first() {
    let _l = ui_lock();
    let mut h = harness(Some(book()));
    h.run();
    // Sort by site: Alpha first, although Beta is cheaper.
    h.get_by_role_and_label(Role::Button, "Site").click();
    h.run();
    assert!(y_of(&h, "$43.20") < y_of(&h, "$24.00"), "by site, Alpha's row comes first");
    // Sort by the effective price: the cheapest (Beta, $24.00) moves to the top.
    h.get_by_label("Effective").click();
    h.run();
    assert!(y_of(&h, "$24.00") < y_of(&h, "$43.20"), "cheapest first");
    // gpt-4o on Beta (input $1.25, effective $1.81) is cheaper still.
    assert!(y_of(&h, "$1.25") < y_of(&h, "$24.00"));
    // Clicking again reverses.
    h.get_by_label("Effective").click();
    h.run();
    assert!(y_of(&h, "$43.20") < y_of(&h, "$24.00"), "descending: dearest first");
    // Sorting by input price.
    h.get_by_label("Input").click();
    h.run();
    assert!(y_of(&h, "$1.25") < y_of(&h, "$15.00"));
}

#[test]
fn the_unit_toggle_changes_displayed_values() {
    let _l = ui_lock();
    let mut h = harness(Some(book()));
    h.run();
    // Beta's claude input: 15 × 0.5 × 2 = $15.00 per 1M.
    assert!(h.query_by_label("$15.00").is_some());
    assert!(h.query_by_label("¥109.50").is_none());
    h.get_by_label("Site currency").click();
    h.run();
    assert!(h.query_by_label("$15.00").is_none(), "no longer in USD");
    assert!(h.query_by_label("¥109.50").is_some(), "15 × 7.3 on the CNY site");
    assert!(h.query_by_label("$27.00").is_some(), "Alpha is a USD site: its input stays in USD");
    h.get_by_label("What I pay").click();
    h.run();
    // Alpha pays 7 per USD: $27 input → ¥189.00; Beta pays 1: ¥15.00.
    assert!(h.query_by_label("¥189.00").is_some());
    assert!(h.query_by_label("¥15.00").is_some());
    assert!(h.query_by_label("$27.00").is_none());
}

#[test]
fn clicking_a_price_opens_its_formula_and_the_model_detail() {
    let _l = ui_lock();
    let mut h = harness(Some(book()));
    h.run();
    assert!(h.query_by_label("How this price is made").is_none());
    h.get_by_label("$43.20").click();
    h.run();
    assert!(h.query_by_label("How this price is made").is_some());
    assert!(h.query_by_label("15 × 0.9 × 1000000 / 500000 = $27.00 / 1M").is_some());
    assert!(h.query_by_label("$27.00 × 5 = $135.00 / 1M").is_some());
    assert!(h.query_by_label("27.00 × 85% + 135.00 × 15% = $43.20 / 1M").is_some());
    assert!(h.query_by_label("$43.20 × 7 = ¥302.40").is_some(), "real cost at the paid ratio");
    // Per-model detail: every account offering it, balance and last refresh state.
    assert!(h.query_by_label("Every account offering claude-3-opus").is_some());
    assert!(h.query_by_label("$10.00").is_some(), "Beta's balance");
    assert!(h.query_by_label_contains("Failed: timed out").is_some(), "Beta's last refresh failed");
    h.get_by_label("Close").click();
    h.run();
    assert_eq!(h.state().0.selected(), None);
    assert!(h.query_by_label("How this price is made").is_none());
}

#[test]
fn rows_are_derived_once_not_per_frame() {
    let _l = ui_lock();
    let mut h = harness(Some(book()));
    h.run();
    let before = h.state().1.pricing.comparisons();
    for _ in 0..5 {
        h.step();
    }
    assert_eq!(h.state().1.pricing.comparisons(), before, "no rebuild without a change");
    h.get_by_label("Effective").click();
    h.run();
    assert_eq!(h.state().1.pricing.comparisons(), before + 1, "a sort change rebuilds once");
    // A new book (new fetch) rebuilds.
    h.state_mut().1.pricing.book = Loadable::ready(Arc::new(book()), 2_000);
    let wanted = h.state().1.pricing.wanted().cloned().unwrap();
    h.state_mut().1.pricing.compare_here(wanted); // what the controller's tick does
    h.run();
    assert_eq!(h.state().1.pricing.comparisons(), before + 2);
}

#[test]
fn the_frame_does_not_compare_it_asks_the_controller_and_shows_a_spinner_meanwhile() {
    let _l = ui_lock();
    let mut h = harness_serving(Some(book()), false);
    for _ in 0..3 {
        h.step();
    }
    assert!(h.query_by_label("Comparing prices…").is_some());
    assert_eq!(h.query_all_by_label("gpt-4o").count(), 0, "no rows until the comparison lands");
    assert_eq!(h.state().1.pricing.comparisons(), 0, "the frame computed nothing");
    let asked: Vec<_> = h
        .state()
        .2
        .iter()
        .filter_map(|c| match c {
            Command::Pricing(PricingCmd::Compare(o)) => Some(o.clone()),
            _ => None,
        })
        .collect();
    assert!(!asked.is_empty(), "the panel asked the controller");
    // The job's result lands: rows show, the spinner goes.
    h.state_mut().1.pricing.compare_here(asked[0].clone());
    h.run();
    assert_eq!(h.query_all_by_label("gpt-4o").count(), 2);
    assert!(h.query_by_label("Comparing prices…").is_none());
}

#[test]
fn preset_vendor_and_billing_choices_apply() {
    let _l = ui_lock();
    let mut h = harness(Some(book()));
    h.run();
    // Coding agent (98.7/1.3): Beta's claude 15 × 0.987 + 75 × 0.013 = $15.78 instead of $24.00.
    assert!(h.query_by_label("$15.78").is_none());
    h.get_by_role_and_label(Role::ComboBox, "Workload").click();
    h.run();
    h.get_by_label("Coding agent (98.7/1.3)").click();
    h.run();
    assert!(h.query_by_label("$15.78").is_some());
    assert!(h.query_by_label("$24.00").is_none());
    // Custom weights start from chat's; all on output → Beta's claude effective = its output price.
    h.get_by_role_and_label(Role::ComboBox, "Workload").click();
    h.run();
    h.get_by_label("Custom").click();
    h.run();
    assert!(h.query_by_label("$24.00").is_some(), "custom starts from chat's weights");
    assert_eq!(h.query_all_by_label("$75.00").count(), 1, "only the output column");
    h.get_by_role_and_label(Role::SpinButton, "Input").set_value_accesskit(0.0);
    h.run();
    h.get_by_role_and_label(Role::SpinButton, "Output").set_value_accesskit(100.0);
    h.run();
    assert_eq!(h.query_all_by_label("$75.00").count(), 2, "output column and effective");
    // Vendor: only OpenAI models remain.
    h.get_by_role_and_label(Role::ComboBox, "Vendor").click();
    h.run();
    h.get_by_label("OpenAI").click();
    h.run();
    assert_eq!(h.query_all_by_label("claude-3-opus").count(), 0);
    assert_eq!(h.query_all_by_label("gpt-4o").count(), 2);
    // Billing: the book has no per-call models.
    h.get_by_role_and_label(Role::ComboBox, "Billing").click();
    h.run();
    h.get_by_label("Call-priced").click();
    h.run();
    assert!(h.query_by_label("No prices match the filter").is_some());
}
