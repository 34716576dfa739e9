//! `apihub watch`: the headless schedule for an always-on machine. Every round it
//! refreshes the accounts that are due (`engine::schedule`, the saved interval and each
//! account's override, paused while everything is unreachable), runs the daily
//! check-in when its window is open (`engine::checkin_schedule`), records alerts and the
//! daily summary (`notify::record`) and sends them (`notify::deliver_due`, in its own
//! task so a slow channel never holds up a refresh). Logs go to stderr.
//!
//! One schedule per data dir: the process that holds the `schedule` lease (a row in
//! the store, renewed every 20 s, lapsing 60 s after its holder stops) runs it; another
//! `watch` (or the app) on the same data dir stands by and takes over when the lease
//! lapses. SIGINT / SIGTERM stop it cleanly: a running refresh or check-in finishes the
//! accounts it started, sends in flight finish, the lease is given back.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;

use crate::domain::AccountId;
use crate::engine::checkin_schedule::{Attempt, due_checkins};
use crate::engine::schedule::{OFFLINE_RETRY_SECS, due_accounts, looks_offline};
use crate::engine::{CancelFlag, DEFAULT_MAX_CONCURRENCY, refresh_accounts};
use crate::notify::{DispatchOptions, deliver_due};
use crate::relay::RelayClient;
use crate::store::{Lease, SharedStore, Store};

/// The lease that says who runs the schedule on a data dir.
pub const SCHEDULE_LEASE: &str = "schedule";
/// How long the lease lasts without renewal.
pub const LEASE_TTL_SECS: i64 = 60;
const HEARTBEAT: Duration = Duration::from_secs(20);

/// `apihub watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Longest sleep between two looks at what is due, seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub tick_secs: u64,
}

/// Resolves on SIGINT or SIGTERM (Ctrl+C on Windows).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => log::info!("watch: SIGTERM"),
                    _ = tokio::signal::ctrl_c() => log::info!("watch: SIGINT"),
                }
            }
            Err(e) => {
                log::warn!("watch: SIGTERM cannot be caught ({e}); Ctrl+C still stops");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        log::info!("watch: Ctrl+C");
    }
}

fn flush_activity(store: &SharedStore) {
    let entries = crate::logging::drain();
    if !entries.is_empty()
        && let Err(e) = store.with(|s| s.append_activity(&entries))
    {
        eprintln!("warning: activity log not saved: {e}");
    }
}

/// Runs `apihub watch` until SIGINT / SIGTERM.
pub fn run(store: Store, args: &WatchArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    crate::logging::show_info_on_stderr();
    let client = super::relay_client(&store)?;
    let data_dir = store.data_dir();
    let shared = SharedStore::new(store);
    log::info!("watch: started on {} (pid {})", data_dir.display(), std::process::id());
    let result = rt.block_on(watch(shared.clone(), client, Duration::from_secs(args.tick_secs)));
    log::info!("watch: stopped");
    flush_activity(&shared);
    result.map(|()| ExitCode::SUCCESS)
}

/// Keeps the lease while the watch runs; `mine` says whether it is held.
async fn heartbeat(store: SharedStore, holder: String, mine: Arc<AtomicBool>) {
    let mut last: Option<bool> = None;
    loop {
        let now = crate::domain::time::now_unix();
        let h = holder.clone();
        match store.run(move |s| s.notify_lease(SCHEDULE_LEASE, &h, LEASE_TTL_SECS, now)).await {
            Ok(Lease::Mine) => {
                if last != Some(true) {
                    log::info!("watch: this process runs the schedule on this data dir");
                }
                last = Some(true);
                mine.store(true, Ordering::SeqCst);
            }
            Ok(Lease::Other { holder, expires_at }) => {
                if last != Some(false) {
                    log::info!(
                        "watch: {holder} runs the schedule on this data dir; standing by (lease until {})",
                        crate::domain::time::local_text(expires_at, "%H:%M:%S")
                    );
                }
                last = Some(false);
                mine.store(false, Ordering::SeqCst);
            }
            Err(e) => {
                log::warn!("watch: the schedule lease could not be renewed: {e}");
                mine.store(false, Ordering::SeqCst);
                last = None;
            }
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

async fn watch(store: SharedStore, client: RelayClient, tick: Duration) -> anyhow::Result<()> {
    let holder = format!("apihub-watch pid {} ({:08x})", std::process::id(), rand::random::<u32>());
    let mine = Arc::new(AtomicBool::new(false));
    let beat = tokio::spawn(heartbeat(store.clone(), holder.clone(), mine.clone()));
    let stop = stop_signal();
    tokio::pin!(stop);
    let client = Arc::new(client);
    let mut attempts: HashMap<AccountId, Attempt> = HashMap::new();
    let mut offline_until: Option<i64> = None;
    let mut sending: Option<tokio::task::JoinHandle<()>> = None;
    let mut network = None;
    // The first round waits for the first heartbeat's answer.
    let mut wait = Duration::from_millis(200);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut stop => break,
        }
        wait = tick;
        flush_activity(&store);
        if !mine.load(Ordering::SeqCst) {
            continue;
        }
        let (settings, accounts, states, records) = store
            .run(|s| Ok((s.load_settings()?.settings, s.list_accounts()?, s.account_states()?, s.checkin_records()?)))
            .await?;
        // Network settings changed by the app or `apihub settings`: apply them.
        if network.as_ref() != Some(&settings.network) {
            if network.is_some()
                && let Err(e) = store.with(|s| Ok(crate::engine::network::apply_saved(&client, s)))?
            {
                log::warn!("watch: saved network settings not applied: {e}");
            }
            network = Some(settings.network.clone());
        }
        let now = crate::domain::time::now_unix();
        let mut next: Vec<i64> = Vec::new();

        // 1. Automatic refresh of the accounts that are due.
        let (due, next_refresh) = due_accounts(&accounts, &states, &settings.refresh, now);
        next.extend(next_refresh);
        let paused = offline_until.is_some_and(|t| t > now);
        if paused {
            next.extend(offline_until);
        } else if !due.is_empty() {
            let chosen: Vec<_> = accounts.iter().filter(|a| due.contains(&a.id)).cloned().collect();
            log::info!("watch: refreshing {} account(s)", chosen.len());
            let cancel = CancelFlag::default();
            let run = refresh_accounts(
                client.clone(),
                store.clone(),
                chosen,
                DEFAULT_MAX_CONCURRENCY,
                cancel.clone(),
                |_| {},
            );
            tokio::pin!(run);
            let stopping = tokio::select! {
                _ = &mut run => false,
                _ = &mut stop => true,
            };
            if stopping {
                log::info!("watch: stopping; letting the accounts in flight finish");
                cancel.cancel();
                run.await;
                break;
            }
            let ids = due.clone();
            let after = store.run(|s| s.account_states()).await?;
            if looks_offline(ids.iter().filter_map(|id| after.get(id))) {
                log::warn!("watch: every site was unreachable; refresh paused for 5 minutes");
                offline_until = Some(now + OFFLINE_RETRY_SECS);
            } else {
                offline_until = None;
            }
            wait = Duration::from_millis(200);
        }

        // 2. The daily check-in, inside its window.
        let local = crate::domain::time::local_now();
        let d = due_checkins(&accounts, &states, &records, &attempts, &settings.checkin, local);
        next.extend(d.next_at);
        if !d.run.is_empty() {
            for id in &d.run {
                let day = accounts
                    .iter()
                    .find(|a| a.id == *id)
                    .map(|a| crate::engine::checkin_schedule::checkin_day(a.site.kind, now))
                    .unwrap_or_default();
                let a = attempts.entry(*id).or_default();
                if a.day != day {
                    *a = Attempt { day, ..Attempt::default() };
                }
                a.tries += 1;
                a.last_at = now;
            }
            let chosen: Vec<_> = accounts.iter().filter(|a| d.run.contains(&a.id)).cloned().collect();
            log::info!("watch: daily check-in of {} account(s)", chosen.len());
            let run = crate::engine::actions::checkin_all(&client, &store, chosen, DEFAULT_MAX_CONCURRENCY);
            tokio::pin!(run);
            let stopping = tokio::select! {
                r = &mut run => {
                    if let Err(e) = r {
                        log::warn!("watch: check-in failed: {e}");
                    }
                    false
                }
                _ = &mut stop => true,
            };
            if stopping {
                log::info!("watch: stopping; letting the check-ins in flight finish");
                let _ = run.await;
                break;
            }
        }

        // 3. Alerts and the summary: record, then send in the background.
        let events = store.run(|s| crate::notify::record(s, crate::domain::time::now_unix())).await?;
        next.extend(settings.notify.next_summary_at(local));
        let idle = sending.as_ref().is_none_or(|h| h.is_finished());
        if idle {
            let opts = DispatchOptions::from_settings(&settings);
            let (store2, client2) = (store.clone(), client.clone());
            sending = Some(tokio::spawn(async move {
                if let Err(e) = deliver_due(&store2, &client2, &opts).await {
                    log::warn!("watch: notifications: {e}");
                }
            }));
        }
        if !events.is_empty() {
            log::info!("watch: {} new alert event(s)", events.len());
        }
        next.extend(store.run(|s| s.notify_next_due()).await?);
        if let Some(quiet_end) = settings.notify.quiet_until(local) {
            next.push(quiet_end);
        }
        // Sleep until the next thing is due (at most one tick).
        let soonest = next.into_iter().min().map(|t| (t - crate::domain::time::now_unix()).max(1) as u64);
        if let Some(secs) = soonest {
            wait = wait.min(Duration::from_secs(secs));
        }
    }
    beat.abort();
    if let Some(h) = sending.take()
        && tokio::time::timeout(Duration::from_secs(35), h).await.is_err()
    {
        log::warn!("watch: a send was still running at exit; it stays pending for the next run");
    }
    let h = holder.clone();
    store.run(move |s| s.notify_release(SCHEDULE_LEASE, &h)).await?;
    Ok(())
}
