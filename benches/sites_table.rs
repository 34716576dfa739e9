//! Sites table figures: N accounts (default 1,000) of mixed kinds, currencies, states and
//! errors (the demo data of `examples/demo_data.rs`), drawn by the real Sites panel in a
//! bare `egui::Context` at 1280×800 (a frame = `run_ui` + tessellation). Prints the mean /
//! min / p95 / max CPU time per steady frame after warm-up (goal: ≤ 2 ms) and while
//! scrolling. Asserts nothing.
//!
//!     cargo bench --bench sites_table -- [N]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/demo_data.rs"]
mod demo_data;

#[path = "common/frames.rs"]
mod frames;

use std::time::Duration;

use frames::report;

use apihub::app::i18n::{Lang, set_lang};
use apihub::app::{AppState, Command, EnvInfo, Loadable};
use apihub::domain::settings::ThemePref;
use apihub::store::{DataDirSource, KeyLocation, Store};
use apihub::ui::sites::SitesPanel;

fn frame(ctx: &egui::Context, panel: &mut SitesPanel, st: &AppState, n: usize, events: Vec<egui::Event>) -> Duration {
    let mut cmds: Vec<Command> = Vec::new();
    frames::timed(ctx, n, events, |ui| panel.ui(ui, st, &mut cmds))
}

const WARMUP_FRAMES: usize = 20;
const FRAMES: usize = 120;

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    set_lang(Lang::ZhCn);
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (accounts, states) = {
        let mut store = Store::open(dir.path()).unwrap().store;
        demo_data::seed(&mut store, n, now);
        (store.list_accounts().unwrap(), store.account_states().unwrap())
    };
    let env = EnvInfo {
        data_dir: dir.path().to_path_buf(),
        data_dir_source: DataDirSource::CommandLine,
        key_location: KeyLocation::Keychain,
        version: "bench",
        commit: "bench",
    };
    let mut st = AppState::new(env, Lang::ZhCn, ThemePref::default());
    st.sites.accounts = Loadable::ready(accounts, now);
    st.sites.states = states;
    let ctx = egui::Context::default();
    ctx.set_fonts(apihub::app::fonts::definitions(None));
    let mut panel = SitesPanel::default();
    let mut i = 0;
    let first = frame(&ctx, &mut panel, &st, i, Vec::new());
    println!("accounts={n}; first frame (builds the rows): {:.1} ms", first.as_secs_f64() * 1e3);
    for _ in 0..WARMUP_FRAMES {
        i += 1;
        frame(&ctx, &mut panel, &st, i, Vec::new());
    }
    let steady: Vec<_> = (0..FRAMES)
        .map(|_| {
            i += 1;
            frame(&ctx, &mut panel, &st, i, Vec::new())
        })
        .collect();
    report(&format!("steady frames ({n} accounts)"), steady);
    let over = egui::pos2(600.0, 500.0);
    let scrolling: Vec<_> = (0..FRAMES)
        .map(|_| {
            i += 1;
            let ev = frames::wheel(over, -90.0);
            frame(&ctx, &mut panel, &st, i, ev)
        })
        .collect();
    report("scrolling frames", scrolling);
}
