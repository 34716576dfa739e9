//! `apihub`: the window, or a headless subcommand.

use std::process::ExitCode;
use std::time::Instant;

use std::sync::{Arc, Mutex};

use apihub::app::recovery::{Problem, RecoveryApp, RecoveryDeps, RecoveryOutcome};
use apihub::app::{App, AppDeps, FontSetup};
use apihub::cli::Cli;
use apihub::store::{Quarantined, Store, resolve_data_dir};
use clap::Parser;

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    apihub::logging::init(cli.verbose);
    if cli.command.is_none() {
        apihub::memory::cap_arenas();
    }
    // Hundreds of sites refreshed at once need more sockets than macOS's default 256.
    match rlimit::increase_nofile_limit(8192) {
        Ok(n) => log::debug!("open-files limit: {n}"),
        Err(e) => log::debug!("open-files limit unchanged: {e}"),
    }
    // The blocking pool runs SQLite jobs and DNS look-ups (one per new connection): 64
    // threads, not tokio's 512, bound the start-up refresh burst's threads and arenas.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .max_blocking_threads(64)
        .build()
    {
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

fn window_options(size: [f32; 2], min: [f32; 2]) -> eframe::NativeOptions {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("API Hub Desk")
        .with_app_id("api-hub-desk")
        .with_inner_size(size)
        .with_min_inner_size(min);
    match eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png")) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => log::warn!("app icon unreadable: {e}"),
    }
    eframe::NativeOptions { viewport, ..Default::default() }
}

/// The recovery window for a damaged data file or a key problem. Returns the notice to
/// show in the app when the user fixed it, or the exit code when they quit.
fn run_recovery(
    data_dir: &std::path::Path,
    problem: Problem,
    runtime: tokio::runtime::Handle,
) -> Result<Option<Quarantined>, ExitCode> {
    let code = match problem {
        Problem::Damaged(_) => ExitCode::from(apihub::cli::recover::EXIT_DAMAGED),
        Problem::Key(_) => ExitCode::from(apihub::cli::recover::EXIT_KEY),
    };
    let outcome = Arc::new(Mutex::new(None));
    let out = outcome.clone();
    let dir = data_dir.to_path_buf();
    let run = eframe::run_native(
        "API Hub Desk",
        window_options([860.0, 720.0], [560.0, 420.0]),
        Box::new(move |cc| {
            Ok(Box::new(RecoveryApp::new(
                &cc.egui_ctx,
                RecoveryDeps {
                    runtime,
                    data_dir: dir,
                    problem,
                    lang: apihub::app::i18n::system_lang(),
                    background_fonts: true,
                    view: apihub::ui::recovery::recovery_ui,
                    outcome: out,
                },
            )))
        }),
    );
    if let Err(e) = run {
        eprintln!("error: the window could not be opened: {e}");
        return Err(code);
    }
    match outcome.lock().ok().and_then(|mut o| o.take()) {
        Some(RecoveryOutcome::Continue(notice)) => Ok(notice),
        _ => Err(code),
    }
}

fn run_gui(cli: &Cli, runtime: tokio::runtime::Handle, started: Instant) -> ExitCode {
    let (data_dir, source) = resolve_data_dir(cli.data_dir.as_deref());
    if !data_dir.exists() {
        eprintln!("creating data dir {}", data_dir.display());
    }
    let mut quarantined = None;
    // A damaged data file or a key problem opens the recovery window first; once the
    // user has fixed it, the store opens and the app follows in a new window.
    let store = loop {
        match Store::open_shared(&data_dir) {
            Ok((store, _)) => break store,
            Err(e) => match Problem::of(&e) {
                Some(problem) => {
                    // The terminal gets the same line the CLI prints.
                    let cmd_line = match &e {
                        apihub::store::StoreError::Damaged(d) => apihub::cli::recover::damaged_line(&data_dir, d),
                        apihub::store::StoreError::Key(k) => apihub::cli::recover::key_line(&data_dir, k),
                        other => other.to_string(),
                    };
                    eprintln!("error: {cmd_line}");
                    match run_recovery(&data_dir, problem, runtime.clone()) {
                        Ok(notice) => quarantined = notice.or(quarantined),
                        Err(code) => return code,
                    }
                }
                None => {
                    let msg = format!("API Hub Desk cannot open its data in {}:\n{e}", data_dir.display());
                    eprintln!("error: {msg}");
                    let _ = rfd::MessageDialog::new()
                        .set_title("API Hub Desk")
                        .set_description(&msg)
                        .set_level(rfd::MessageLevel::Error)
                        .show();
                    return ExitCode::from(1);
                }
            },
        }
    };
    log::info!("data dir {} ({source:?})", data_dir.display());
    let options = window_options([1200.0, 760.0], [720.0, 480.0]);
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
        homes: None,
    };
    match eframe::run_native("API Hub Desk", options, Box::new(move |cc| Ok(Box::new(App::new(cc, deps))))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the window could not be opened: {e}");
            ExitCode::from(1)
        }
    }
}
