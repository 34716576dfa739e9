//! `apihub`: the window, or a headless subcommand.

use std::process::ExitCode;
use std::time::Instant;

use apihub::app::{App, AppDeps, FontSetup};
use apihub::cli::Cli;
use apihub::store::{Store, resolve_data_dir};
use clap::Parser;

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    apihub::logging::init(cli.verbose);
    // Hundreds of sites refreshed at once need more sockets than macOS's default 256.
    match rlimit::increase_nofile_limit(8192) {
        Ok(n) => log::debug!("open-files limit: {n}"),
        Err(e) => log::debug!("open-files limit unchanged: {e}"),
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().worker_threads(2).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let _guard = rt.enter();
    match &cli.command {
        Some(cmd) => apihub::cli::run(&cli, cmd, rt.handle()),
        None => run_gui(&cli, rt.handle().clone(), started),
    }
}

fn run_gui(cli: &Cli, runtime: tokio::runtime::Handle, started: Instant) -> ExitCode {
    let (data_dir, source) = resolve_data_dir(cli.data_dir.as_deref());
    let (store, quarantined) = match Store::open_shared(&data_dir) {
        Ok(v) => v,
        Err(e) => {
            let msg = format!("API Hub Desk cannot open its data in {}:\n{e}", data_dir.display());
            eprintln!("error: {msg}");
            let _ = rfd::MessageDialog::new()
                .set_title("API Hub Desk")
                .set_description(&msg)
                .set_level(rfd::MessageLevel::Error)
                .show();
            return ExitCode::from(1);
        }
    };
    log::info!("data dir {} ({source:?})", data_dir.display());
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("API Hub Desk")
        .with_app_id("api-hub-desk")
        .with_inner_size([1200.0, 760.0])
        .with_min_inner_size([720.0, 480.0]);
    match eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png")) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => log::warn!("app icon unreadable: {e}"),
    }
    let options = eframe::NativeOptions { viewport, ..Default::default() };
    // The saved network settings (global proxy, timeouts, extra CA, sites' overrides); if
    // they do not make a working client the defaults are used and the error is logged
    // (Settings shows the saved values for fixing).
    let configured = match store.lock() {
        Ok(s) => apihub::engine::network::client_from_store(&s, apihub::relay::ClientConfig::default())
            .map_err(|e| e.to_string()),
        Err(_) => Err("store lock poisoned".to_string()),
    };
    let client = match configured {
        Ok(c) => c,
        Err(e) => {
            log::error!("network settings not applied: {e}");
            match apihub::relay::RelayClient::new(apihub::relay::ClientConfig::default()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: cannot set up the HTTP client: {e}");
                    return ExitCode::from(1);
                }
            }
        }
    };
    // Settings are read once, before the window opens (not on the UI thread).
    let settings = apihub::app::load_settings(&store);
    let deps = AppDeps {
        view: Box::new(apihub::ui::Panels::default()),
        settings,
        store,
        data_dir,
        data_dir_source: source,
        quarantined,
        runtime,
        fonts: FontSetup::Background,
        bench_startup: cli.bench_startup.then_some(started),
        relay: client,
    };
    match eframe::run_native("API Hub Desk", options, Box::new(move |cc| Ok(Box::new(App::new(cc, deps))))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the window could not be opened: {e}");
            ExitCode::from(1)
        }
    }
}
