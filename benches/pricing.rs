//! Pricing comparison figures: 2,000 models × 50 accounts (two groups each, so 200,000
//! normalised rows, 100,000 shown), drawn by the real Pricing panel in a bare
//! `egui::Context` at 1280×800 (a frame = `run_ui` + tessellation). Prints the one-off derivation time and the mean / p95 / max
//! CPU time per frame over steady frames after warm-up (goal: ≤ 2 ms per frame), then the
//! same while the table scrolls and while the formula panel is open. Asserts nothing.
//!
//!     cargo bench --bench pricing

#[path = "common/frames.rs"]
mod frames;

use std::time::{Duration, Instant};

use frames::report;

use apihub::app::i18n::{Lang, set_lang};
use apihub::app::{AppState, Command, EnvInfo, Loadable};
use apihub::domain::SiteKind;
use apihub::domain::money::{CurrencySettings, DisplayType};
use apihub::domain::pricing::{
    AccountPricing, Billing, CompareOptions, ModelOffer, PricingBook, RefreshState, SitePricing, build_comparison,
    normalise,
};
use apihub::domain::settings::ThemePref;
use apihub::store::{DataDirSource, KeyLocation};
use apihub::ui::pricing::PricingPanel;

const MODELS: usize = 2_000;
const ACCOUNTS: usize = 50;
fn frame(ctx: &egui::Context, panel: &mut PricingPanel, st: &AppState, n: usize, events: Vec<egui::Event>) -> Duration {
    let mut cmds: Vec<Command> = Vec::new();
    frames::timed(ctx, n, events, |ui| panel.ui(ui, st, &mut cmds))
}

const WARMUP_FRAMES: usize = 20;
const FRAMES: usize = 120;

fn book() -> PricingBook {
    let vendors = ["OpenAI", "Anthropic", "Google", "DeepSeek", "Qwen", "Meta", "Mistral", "xAI"];
    let accounts = (0..ACCOUNTS)
        .map(|a| {
            let models = (0..MODELS)
                .map(|m| ModelOffer {
                    model: format!("{}-model-{m:04}", vendors[m % vendors.len()].to_lowercase()),
                    vendor: Some(vendors[m % vendors.len()].to_string()),
                    billing: if m % 10 == 0 {
                        Billing::CallUsd { usd_per_call: 0.01 + (m % 7) as f64 * 0.01 }
                    } else {
                        Billing::Ratio {
                            model_ratio: 0.1 + ((m * 7 + a * 13) % 100) as f64 * 0.05,
                            completion_ratio: Some(4.0),
                            cache_read_ratio: (m % 3 == 0).then_some(0.1),
                            cache_write_ratio: None,
                        }
                    },
                    groups: Some(vec!["default".into(), "vip".into()]),
                })
                .collect();
            let mut site = SitePricing { models, ..Default::default() };
            site.group_ratios.insert("default".into(), apihub::domain::pricing::GroupRatio::Ratio(1.0));
            site.group_ratios
                .insert("vip".into(), apihub::domain::pricing::GroupRatio::Ratio(0.5 + (a % 5) as f64 * 0.1));
            let currency = if a % 3 == 0 {
                CurrencySettings { display: DisplayType::Cny, ..Default::default() }
            } else {
                CurrencySettings::default()
            };
            AccountPricing {
                account_id: a as i64,
                site_name: format!("Relay {a:02}"),
                account_label: format!("user{a}"),
                kind: SiteKind::NewApi,
                rows: normalise(&site, currency.quota_per_unit),
                currency,
                paid_per_usd: Some(1.0 + (a % 7) as f64),
                balance_usd: Some(a as f64),
                fetched_at_unix: Some(1_700_000_000),
                status: RefreshState::Ok,
            }
        })
        .collect();
    PricingBook { accounts, paid_currency: "CNY".into() }
}

fn state(book: PricingBook) -> AppState {
    let env = EnvInfo {
        data_dir: "/tmp/bench".into(),
        data_dir_source: DataDirSource::CommandLine,
        key_location: KeyLocation::Keychain,
        version: "bench",
        commit: "bench",
    };
    let mut s = AppState::new(env, Lang::En, ThemePref::default());
    s.pricing.book = Loadable::ready(book, 1_700_000_000);
    s
}

fn main() {
    set_lang(Lang::En);
    let t = Instant::now();
    let book = book();
    println!(
        "book: {} accounts × {} models = {} rows, normalised in {:.1} ms",
        ACCOUNTS,
        MODELS,
        book.row_count(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let c = build_comparison(&book, &CompareOptions::default());
    println!(
        "build_comparison (filter, effective, cheapest, sort): {} rows in {:.1} ms (once per data/option change)",
        c.rows.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let st = state(book);
    let ctx = egui::Context::default();
    let mut panel = PricingPanel::default();
    let mut n = 0;
    let first = frame(&ctx, &mut panel, &st, n, Vec::new());
    println!("first frame (includes the derivation): {:.1} ms", first.as_secs_f64() * 1e3);
    for _ in 0..WARMUP_FRAMES {
        n += 1;
        frame(&ctx, &mut panel, &st, n, Vec::new());
    }
    let builds = panel.builds();
    let steady: Vec<_> = (0..FRAMES)
        .map(|_| {
            n += 1;
            frame(&ctx, &mut panel, &st, n, Vec::new())
        })
        .collect();
    report("steady frames (2,000 × 50)", steady);
    // Scrolling: a mouse wheel over the table every frame.
    let over = egui::pos2(400.0, 500.0);
    let scrolling: Vec<_> = (0..FRAMES)
        .map(|_| {
            n += 1;
            let ev = frames::wheel(over, -120.0);
            frame(&ctx, &mut panel, &st, n, ev)
        })
        .collect();
    report("scrolling frames", scrolling);
    // Open the formula panel by clicking a row, then measure.
    let row = egui::pos2(150.0, 330.0);
    for (i, ev) in [
        egui::Event::PointerMoved(row),
        egui::Event::PointerButton {
            pos: row,
            button: egui::PointerButton::Primary,
            pressed: true,
            modifiers: Default::default(),
        },
        egui::Event::PointerButton {
            pos: row,
            button: egui::PointerButton::Primary,
            pressed: false,
            modifiers: Default::default(),
        },
    ]
    .into_iter()
    .enumerate()
    {
        frame(&ctx, &mut panel, &st, n + i, vec![ev]);
    }
    n += 3;
    println!("formula panel open: {}", panel.selected().is_some());
    let detail: Vec<_> = (0..FRAMES)
        .map(|_| {
            n += 1;
            frame(&ctx, &mut panel, &st, n, Vec::new())
        })
        .collect();
    report("frames with the formula panel", detail);
    println!(
        "comparison rebuilt {} time(s) during {} steady/scroll/detail frames (goal: 0)",
        panel.builds() - builds,
        FRAMES * 3
    );
}
