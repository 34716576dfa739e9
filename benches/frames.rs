//! Frame CPU time of every panel, measured the same way for all: the real view drawn in a
//! bare `egui::Context` at 1280×800 (a frame = `run_ui` + tessellation, AccessKit off),
//! 20 warm-up frames, then 120 steady frames and 120 frames with a mouse-wheel step each.
//! Prints mean / min / p95 / max per case (goal: p95 ≤ 2 ms, worst ≤ 4 ms). Asserts nothing.
//!
//! - Sites: 1,000 demo accounts (`examples/demo_data.rs`), then with a new state landing
//!   every frame (a refresh of every account running: the landed row is patched), then
//!   with the rows built again every frame (a reload, a sort or a filter click);
//! - Sites search: the rows for each prefix of a search that matches nothing, with 200
//!   models per account, built from all accounts and (as the panel does) narrowed from
//!   the previous keystroke's rows, timed apart; a sort click likewise (rows built
//!   again vs the previous rows re-sorted);
//! - Keys: the same with an account's detail pane open (its keys listed), scrolled there;
//! - Check-in: the "check in all" summary of the 1,000 accounts over the Sites panel;
//! - Pricing: 2,000 models × 50 accounts (200,000 rows, 100,000 shown; the comparison is
//!   computed between frames, as its job would, and timed apart), then with the
//!   formula panel open, then clicking other rows (the formula shows each one's offers);
//! - Logs: 200,000 rows with statistics loaded; the window the table asks for is served
//!   between frames (as the store job would), so scrolling crosses windows.
//!
//!     cargo bench --bench frames -- [ACCOUNTS]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/demo_data.rs"]
mod demo_data;

#[path = "common/frames.rs"]
mod frames;

#[path = "common/log_rows.rs"]
mod log_rows;

use std::time::Duration;

use apihub::app::command::{LogsCmd, PricingCmd};
use apihub::app::i18n::{Lang, set_lang};
use apihub::app::logs::{LogWindow, WINDOW_ROWS};
use apihub::app::{AppState, Command, EnvInfo, Loadable};
use apihub::domain::SiteKind;
use apihub::domain::money::{CurrencySettings, DisplayType};
use apihub::domain::pricing::{
    AccountPricing, Billing, GroupRatio, ModelOffer, PricingBook, RefreshState, SitePricing, normalise,
};
use apihub::domain::settings::ThemePref;
use apihub::domain::usage_log::{Breakdown, LogStats, LogTotals};
use apihub::engine::actions::{CheckinEntry, CheckinStatus, CheckinSummary};
use apihub::store::{DataDirSource, KeyLocation, Store};

const WARMUP_FRAMES: usize = 20;
const FRAMES: usize = 120;
const LOG_ROWS: usize = 200_000;

/// Runs one case: warm-up, steady frames, then frames scrolling over `over`.
/// `between` runs after every frame, outside the timing (a job answering a command).
fn case(
    name: &str,
    ctx: &egui::Context,
    n: &mut usize,
    over: egui::Pos2,
    draw: &mut dyn FnMut(&mut egui::Ui, &mut Vec<Command>),
    between: &mut dyn FnMut(Vec<Command>),
) {
    let mut run = |events: Vec<egui::Event>| -> Duration {
        *n += 1;
        let mut cmds = Vec::new();
        let d = frames::timed(ctx, *n, events, |ui| draw(ui, &mut cmds));
        between(cmds);
        d
    };
    let first = run(Vec::new());
    let second = run(Vec::new());
    for _ in 0..WARMUP_FRAMES {
        run(Vec::new());
    }
    let steady: Vec<_> = (0..FRAMES).map(|_| run(Vec::new())).collect();
    let scrolling: Vec<_> = (0..FRAMES).map(|_| run(frames::wheel(over, -90.0))).collect();
    println!(
        "{name}: first frame {:.2} ms, second {:.2} ms, {} draw calls and {} triangles a frame",
        first.as_secs_f64() * 1e3,
        second.as_secs_f64() * 1e3,
        frames::last_meshes(),
        frames::last_triangles()
    );
    frames::report(&format!("  {name} steady"), steady);
    frames::report(&format!("  {name} scrolling"), scrolling);
}

/// A click at `pos` over three frames.
fn click(ctx: &egui::Context, n: &mut usize, pos: egui::Pos2, draw: &mut dyn FnMut(&mut egui::Ui)) {
    // Move, press, release: the frame after is the next case's first.
    for ev in click_frames(pos).into_iter().take(3) {
        *n += 1;
        frames::timed(ctx, *n, ev, &mut *draw);
    }
}

/// The events of a click at `pos` frame by frame: move there, press, release, and the
/// frame after (where a selection made on release is first drawn).
fn click_frames(pos: egui::Pos2) -> [Vec<egui::Event>; 4] {
    let button = |pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: Default::default(),
    };
    [vec![egui::Event::PointerMoved(pos)], vec![button(true)], vec![button(false)], vec![]]
}

fn env() -> EnvInfo {
    EnvInfo {
        data_dir: "/tmp/bench".into(),
        data_dir_source: DataDirSource::CommandLine,
        key_location: KeyLocation::Keychain,
        version: "bench",
        commit: "bench",
    }
}

fn pricing_book() -> PricingBook {
    let vendors = ["OpenAI", "Anthropic", "Google", "DeepSeek", "Qwen", "Meta", "Mistral", "xAI"];
    let accounts = (0..50)
        .map(|a| {
            let models = (0..2_000)
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
            site.group_ratios.insert("default".into(), GroupRatio::Ratio(1.0));
            site.group_ratios.insert("vip".into(), GroupRatio::Ratio(0.5 + (a % 5) as f64 * 0.1));
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

/// The rows `offset..offset + WINDOW_ROWS` of 200,000 synthetic log rows over `ids`.
fn log_window(offset: usize, ids: &[i64], now: i64, seq: u64) -> LogWindow {
    let rows = (offset..(offset + WINDOW_ROWS).min(LOG_ROWS))
        .map(|i| log_rows::row(i, ids[i % ids.len()], now - i as i64 * 40))
        .collect();
    LogWindow { offset, rows, total: LOG_ROWS, seq }
}

fn log_stats(ids: &[i64]) -> LogStats {
    let b = |key: String| Breakdown { key, totals: LogTotals { requests: 25_000, ..Default::default() } };
    LogStats {
        totals: LogTotals { requests: LOG_ROWS as i64, ..Default::default() },
        by_model: log_rows::MODELS.iter().map(|m| b(m.to_string())).collect(),
        by_account: ids.iter().map(|id| b(id.to_string())).collect(),
        by_day: (0..90).map(|d| b(format!("2026-09-{d:02}"))).collect(),
    }
}

fn main() {
    let n_accounts: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    set_lang(Lang::ZhCn);
    let dir = tempfile::tempdir().unwrap();
    let now = apihub::domain::time::now_unix();
    let (accounts, states) = {
        let mut store = Store::open(dir.path()).unwrap().store;
        demo_data::seed(&mut store, n_accounts, now);
        (store.list_accounts().unwrap(), store.account_states().unwrap())
    };
    let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
    let mut st = AppState::new(env(), Lang::ZhCn, ThemePref::default());
    st.sites.accounts = Loadable::ready(accounts.clone(), now);
    st.sites.states = states;
    let ctx = egui::Context::default();
    ctx.set_fonts(apihub::app::fonts::definitions(None));
    let mut n = 0;
    let table = egui::pos2(500.0, 500.0);
    println!("{n_accounts} accounts, {LOG_ROWS} log rows, 200,000 price rows; 1280×800; goal p95 ≤ 2 ms, max ≤ 4 ms");
    // The reference for the first frames below: the first frame of a new context with the
    // same fonts, drawing what the floor app (benches/floor) draws. A context's first frame
    // builds its font atlas; the later first frames add the glyphs a panel shows first.
    {
        let bare = egui::Context::default();
        bare.set_fonts(apihub::app::fonts::definitions(None));
        let floor_ui = |ui: &mut egui::Ui| {
            ui.heading("Hello");
            ui.label("The floor: eframe with the same features and release profile.");
        };
        let first = frames::timed(&bare, 1, Vec::new(), floor_ui);
        let second = frames::timed(&bare, 2, Vec::new(), floor_ui);
        println!(
            "Floor (a new context, the same fonts, one heading and a label): first frame {:.2} ms, second {:.2} ms",
            first.as_secs_f64() * 1e3,
            second.as_secs_f64() * 1e3
        );
    }

    // Sites.
    let mut sites = apihub::ui::sites::SitesPanel::default();
    case("Sites", &ctx, &mut n, table, &mut |ui, cmds| sites.ui(ui, &st, cmds), &mut |_| {});
    // Sites while a refresh of every account lands: a new state every frame, set the way
    // the controller sets an `AccountDone` event's (`Sites::set_state`), account after account.
    let mut busy = apihub::ui::sites::SitesPanel::default();
    let mut next = 0;
    case(
        "Sites (a state lands every frame)",
        &ctx,
        &mut n,
        table,
        &mut |ui, cmds| {
            let id = ids[next % ids.len()];
            next += 1;
            let state = st.sites.states.get(&id).cloned().unwrap_or_default();
            st.sites.set_state(id, state);
            busy.ui(ui, &st, cmds)
        },
        &mut |_| {},
    );

    // Sites when its rows are built again in the frame: what a reload of the accounts (an
    // add, an edit, another process's write), a sort or a filter click costs in the frame
    // it happens in. Every frame here is such a frame.
    let mut rebuilt = apihub::ui::sites::SitesPanel::default();
    case(
        "Sites (rows rebuilt every frame)",
        &ctx,
        &mut n,
        table,
        &mut |ui, cmds| {
            st.sites.data_version += 1;
            rebuilt.ui(ui, &st, cmds)
        },
        &mut |_| {},
    );

    // Typing in the Sites search box filters the rows again at every keystroke. Worst
    // case: a search that matches no name, URL or account, so every account's models are
    // searched, 200 per account (real sites list hundreds). Times `build_rows` per keystroke.
    {
        let mut wide = st.sites.states.clone();
        for s in wide.values_mut() {
            if let Some(m) = s.snapshot.as_mut().and_then(|s| s.models.value.as_mut()) {
                *m = (0..200).map(|i| format!("Vendor-Model-{i:03}-Preview")).collect();
            }
        }
        use apihub::ui::sites_rows::{RowQuery, build_rows, narrow_rows};
        let typed = "qwen3-coder-plus";
        let query = |n: usize| RowQuery { search: typed[..n].to_uppercase(), ..Default::default() };
        let every: Vec<_> = (1..=typed.len())
            .map(|n| {
                let t = std::time::Instant::now();
                let rows = build_rows(&accounts, &wide, &query(n), &st.settings.alerts, now);
                let d = t.elapsed();
                assert!(rows.is_empty());
                d
            })
            .collect();
        frames::report("Sites search, all rows searched per keystroke (200 models/account)", every);
        // As the panel does it: the rows of the previous keystroke narrowed.
        let mut rows = build_rows(&accounts, &wide, &RowQuery::default(), &st.settings.alerts, now);
        let narrowed: Vec<_> = (1..=typed.len())
            .map(|n| {
                let t = std::time::Instant::now();
                assert!(narrow_rows(&mut rows, &query(n - 1), &query(n), &accounts, &wide));
                t.elapsed()
            })
            .collect();
        assert!(rows.is_empty());
        frames::report("Sites search, previous rows narrowed per keystroke (the panel)", narrowed);
    }

    // A click on a column header: the rows built again for the new sort (before), beside the
    // previous rows re-sorted (the panel since `resort_rows`), over every column and direction.
    {
        use apihub::ui::sites_rows::{RowQuery, SortKey, build_rows, resort_rows};
        let sorts =
            [SortKey::Site, SortKey::Account, SortKey::Balance, SortKey::Today, SortKey::Updated, SortKey::Status];
        let queries: Vec<RowQuery> = sorts
            .iter()
            .flat_map(|&sort| [false, true].map(|descending| RowQuery { sort, descending, ..Default::default() }))
            .collect();
        let rebuilt: Vec<_> = queries
            .iter()
            .map(|q| {
                let t = std::time::Instant::now();
                std::hint::black_box(build_rows(&accounts, &st.sites.states, q, &st.settings.alerts, now));
                t.elapsed()
            })
            .collect();
        frames::report("Sites sort click, rows built again", rebuilt);
        let mut rows = build_rows(&accounts, &st.sites.states, &RowQuery::default(), &st.settings.alerts, now);
        let mut from = RowQuery::default();
        let resorted: Vec<_> = queries
            .iter()
            .map(|q| {
                let t = std::time::Instant::now();
                assert!(resort_rows(&mut rows, &from, q, &accounts));
                let d = t.elapsed();
                from = q.clone();
                d
            })
            .collect();
        frames::report("Sites sort click, rows re-sorted (the panel)", resorted);
    }

    // Keys: an account's detail pane (its keys) beside the table, scrolled there.
    click(&ctx, &mut n, egui::pos2(300.0, 300.0), &mut |ui| sites.ui(ui, &st, &mut Vec::new()));
    case(
        "Keys (detail pane)",
        &ctx,
        &mut n,
        egui::pos2(1100.0, 500.0),
        &mut |ui, cmds| sites.ui(ui, &st, cmds),
        &mut |_| {},
    );
    // Another account's pane opened: what a click on a row costs once the pane's glyphs
    // are in the atlas (the case's first frame above also put them there). Every frame of
    // 12 clicks on different rows is timed, the frame after each release included.
    {
        let (mut times, mut opened) = (Vec::new(), Vec::new());
        for k in 0..12 {
            let pos = egui::pos2(300.0, 200.0 + 30.0 * k as f32); // rows are 29 px apart
            for ev in click_frames(pos) {
                n += 1;
                times.push(frames::timed(&ctx, n, ev, |ui| sites.ui(ui, &st, &mut Vec::new())));
            }
            opened.extend(sites.selected());
        }
        opened.dedup();
        println!("(accounts whose pane the clicks opened, one after another: {})", opened.len());
        frames::report("Keys, another account's pane opened", times);
    }

    // Check-in: the "check in all" summary over the Sites panel.
    let mut sites = apihub::ui::sites::SitesPanel::default();
    let mut checkin_st = AppState::new(env(), Lang::ZhCn, ThemePref::default());
    checkin_st.sites = std::mem::take(&mut st.sites);
    checkin_st.checkin.summary = Some(CheckinSummary {
        entries: accounts
            .iter()
            .enumerate()
            .map(|(i, a)| CheckinEntry {
                account_id: a.id,
                site_name: a.site.name.clone(),
                account: a.username.clone(),
                site_url: a.site.url.clone(),
                status: match i % 4 {
                    0 => CheckinStatus::Done { reward: None, reward_text: Some("$0.50".into()) },
                    1 => CheckinStatus::Already,
                    2 => CheckinStatus::NeedsHuman { message: "Turnstile check".into() },
                    _ => CheckinStatus::Failed { kind: "unavailable".into(), message: "timed out".into() },
                },
            })
            .collect(),
        unsupported: 12,
    });
    let summary = egui::pos2(640.0, 400.0);
    case("Check-in (summary)", &ctx, &mut n, summary, &mut |ui, cmds| sites.ui(ui, &checkin_st, cmds), &mut |_| {});

    // Pricing, then with the formula panel open.
    // The comparison the panel asks for is computed between frames (as the pricing job
    // would, off the UI thread) and timed apart: the first frame shows a spinner, the
    // second the rows.
    let pst = std::cell::RefCell::new(AppState::new(env(), Lang::ZhCn, ThemePref::default()));
    pst.borrow_mut().pricing.book = Loadable::ready(std::sync::Arc::new(pricing_book()), now);
    let mut pricing = apihub::ui::pricing::PricingPanel::default();
    let mut compare = |cmds: Vec<Command>| {
        for c in cmds {
            if let Command::Pricing(PricingCmd::Compare(opts)) = c {
                let t = std::time::Instant::now();
                pst.borrow_mut().pricing.compare_here(opts);
                println!("(comparison job, off the UI thread in the app: {:.1} ms)", t.elapsed().as_secs_f64() * 1e3);
            }
        }
    };
    case("Pricing", &ctx, &mut n, table, &mut |ui, cmds| pricing.ui(ui, &pst.borrow(), cmds), &mut compare);
    click(&ctx, &mut n, egui::pos2(150.0, 330.0), &mut |ui| pricing.ui(ui, &pst.borrow(), &mut Vec::new()));
    println!("(formula panel open: {})", pricing.selected().is_some());
    case("Pricing + formula", &ctx, &mut n, table, &mut |ui, cmds| pricing.ui(ui, &pst.borrow(), cmds), &mut compare);
    // Another row selected: the formula panel shows that model's offers from every account.
    // Each click is three frames (move, press, release); every frame of 20 clicks on
    // different rows is timed.
    {
        let mut times = Vec::new();
        for k in 0..20 {
            let pos = egui::pos2(150.0, 200.0 + 26.0 * (k % 12) as f32);
            for ev in click_frames(pos) {
                n += 1;
                let mut cmds = Vec::new();
                times.push(frames::timed(&ctx, n, ev, |ui| pricing.ui(ui, &pst.borrow(), &mut cmds)));
                compare(cmds);
            }
        }
        println!("(formula panel open after the clicks: {})", pricing.selected().is_some());
        frames::report("Pricing + formula, another row clicked", times);
    }
    // The offers of a selected row's model: every row of the book scanned, beside the index
    // the comparison job builds (what the panel uses), for 20 models.
    {
        use apihub::domain::pricing::compare::{indexed_offers, model_offers, offer_index};
        let p = pst.borrow();
        let book = p.pricing.book.value().unwrap().clone();
        let opts = apihub::domain::pricing::compare::CompareOptions::default();
        let t = std::time::Instant::now();
        let index = offer_index(&book);
        println!("(offer index built in the comparison job: {:.1} ms)", t.elapsed().as_secs_f64() * 1e3);
        let models: Vec<String> = (0..20).map(|i| book.accounts[0].rows[i * 173].model.clone()).collect();
        let time = |f: &dyn Fn(&str) -> usize| -> Vec<Duration> {
            models
                .iter()
                .map(|m| {
                    let t = std::time::Instant::now();
                    assert_eq!(f(m), 50);
                    t.elapsed()
                })
                .collect()
        };
        frames::report("Formula offers, every row scanned", time(&|m| model_offers(&book, m, &opts).len()));
        frames::report(
            "Formula offers, from the index (the panel)",
            time(&|m| indexed_offers(&book, &index, m, &opts).len()),
        );
    }

    // Logs: 200,000 rows; the window the table asks for is served between frames.
    let lst = std::cell::RefCell::new(AppState::new(env(), Lang::ZhCn, ThemePref::default()));
    {
        let mut s = lst.borrow_mut();
        s.sites.accounts = Loadable::ready(accounts.iter().take(10).cloned().collect(), now);
        s.logs.window = Loadable::ready(log_window(0, &ids, now, 1), now);
        s.logs.stats = Loadable::ready(log_stats(&ids[..10.min(ids.len())]), now);
    }
    let mut logs = apihub::ui::logs::LogsPanel::default();
    let mut seq = 1;
    let mut windows = 0;
    case("Logs (200,000 rows)", &ctx, &mut n, table, &mut |ui, cmds| logs.ui(ui, &lst.borrow(), cmds), &mut |cmds| {
        for c in cmds {
            if let Command::Logs(LogsCmd::LoadWindow(offset)) = c {
                seq += 1;
                windows += 1;
                lst.borrow_mut().logs.window = Loadable::ready(log_window(offset, &ids, now, seq), now);
            }
        }
    });
    println!("(log windows served while scrolling: {windows})");
}
