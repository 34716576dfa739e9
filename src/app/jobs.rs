//! The one job registry. Every piece of background work starts here under a name
//! (`refresh:{account}`, `refresh-all`, `backup:upload`, `logs:sync`, …) and reports
//! through one channel that `App::logic()` drains in one place.
//!
//! - **Names and claims.** A job holds its name, and optionally more names it claims
//!   (refresh-all claims `refresh:{id}` of every account it covers; every backup job
//!   claims `backup`). Starting a job whose name or claims are held is refused with
//!   [`AlreadyRunning`], the same way everywhere; the app shows it in the status line.
//!   A job may release a claim early ([`Reporter::release`]: refresh-all releases an
//!   account as soon as it is done), and a job may wait for a name another job holds
//!   ([`Holds::acquire`]: an account action waits for that account's refresh). Names are
//!   released when the job ends, also when it panics.
//! - **Latest wins.** Reloads (`accounts:load`, `logs:window`) are started with
//!   [`Spec::latest_wins`]: a new one replaces the running one, whose messages are then
//!   dropped.
//! - **Messages.** A job returns one [`JobMsg`] (one variant per controller) and may send
//!   progress messages before it; each message asks egui for a repaint. A job that
//!   panics ends with [`JobMsg::Lost`] carrying its name.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;

/// Every job's messages: one variant per owner, matched exhaustively in `App::dispatch`.
pub enum JobMsg {
    /// The window itself (fonts).
    Shell(super::shell::ShellMsg),
    /// Settings saves and reloads.
    Settings(super::settings::SettingsMsg),
    /// Sites and accounts.
    Sites(super::sites::SitesMsg),
    /// Key management.
    Keys(super::keys::KeysMsg),
    /// Check-in and redeem.
    Checkin(Box<super::checkin::CheckinMsg>),
    /// Pricing and tries.
    Pricing(super::pricing::PricingMsg),
    /// Usage logs and the activity log.
    Logs(super::logs::LogsMsg),
    /// Backups, restore, import, WebDAV.
    Backup(super::backup::BackupMsg),
    /// The release check.
    Update(super::update::UpdateMsg),
    /// Network settings.
    Network(super::network::NetworkMsg),
    /// Alerts.
    Alerts(super::alerts::AlertsMsg),
    /// "Use in…".
    Exports(super::exports::ExportsMsg),
    /// The local gateway.
    Gateway(super::gateway::GatewayMsg),
    /// Notification channels and sending.
    Notify(super::notify::NotifyMsg),
    /// Multi-device sync.
    Sync(super::sync::SyncMsg),
    /// A job ended without its result (it panicked); its owner clears what it waited for.
    Lost(String),
}

/// A registry's message type: what a job that panicked ends with. The app's registry
/// carries [`JobMsg`]; a small window of its own (the recovery window) has its own.
pub trait JobMessage: Send + 'static {
    /// The message of a job that ended without its result.
    fn lost(key: String) -> Self;
}

impl JobMessage for JobMsg {
    fn lost(key: String) -> Self {
        JobMsg::Lost(key)
    }
}

/// Why a job did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("already running: {0}")]
pub struct AlreadyRunning(pub String);

/// How to start a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    key: String,
    claims: Vec<String>,
    latest_wins: bool,
}

impl Spec {
    /// A job named `key` (refused while another job holds that name).
    pub fn new(key: impl Into<String>) -> Spec {
        Spec { key: key.into(), claims: Vec::new(), latest_wins: false }
    }

    /// Also holds these names while it runs (refused if any is held).
    pub fn claims(mut self, claims: impl IntoIterator<Item = String>) -> Spec {
        self.claims.extend(claims);
        self
    }

    /// A reload: replaces a running job of the same name (whose messages are dropped).
    pub fn latest_wins(mut self) -> Spec {
        self.latest_wins = true;
        self
    }

    /// The job's name.
    pub fn key(&self) -> &str {
        &self.key
    }
}

#[derive(Default)]
struct HoldsInner {
    /// Held name → the generation of the job holding it.
    held: Mutex<HashMap<String, u64>>,
    released: tokio::sync::Notify,
}

/// The names held by running jobs, shared with the jobs themselves.
#[derive(Clone, Default)]
pub struct Holds(Arc<HoldsInner>);

/// A name taken with [`Holds::acquire`]; released when dropped.
pub struct HoldGuard {
    holds: Holds,
    name: String,
    generation: u64,
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        self.holds.release(&self.name, self.generation);
    }
}

/// Generations of waiting holders are odd and never collide with the registry's.
static WAITER_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Holds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.0.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a job holds `name`.
    pub fn is_held(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    /// The first of `names` that is held.
    fn first_held<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> Option<String> {
        let held = self.lock();
        names.into_iter().find(|n| held.contains_key(n.as_str())).cloned()
    }

    fn take(&self, names: &[String], generation: u64) {
        let mut held = self.lock();
        for n in names {
            held.insert(n.clone(), generation);
        }
    }

    /// Releases `name` if `generation` still holds it.
    fn release(&self, name: &str, generation: u64) {
        let mut held = self.lock();
        if held.get(name) == Some(&generation) {
            held.remove(name);
            drop(held);
            self.0.released.notify_waiters();
        }
    }

    /// Waits until nobody holds `name`, then holds it until the guard drops. For jobs
    /// that must not overlap another job's work (an account action's refresh waits
    /// for a running refresh of that account).
    pub async fn acquire(&self, name: String) -> HoldGuard {
        let generation = WAITER_GENERATION.fetch_add(2, std::sync::atomic::Ordering::Relaxed) | 1;
        loop {
            let notified = self.0.released.notified();
            {
                let mut held = self.lock();
                if !held.contains_key(&name) {
                    held.insert(name.clone(), generation);
                    return HoldGuard { holds: self.clone(), name, generation };
                }
            }
            notified.await;
        }
    }
}

/// One message from a job.
struct Event<M> {
    key: String,
    generation: u64,
    msg: M,
}

/// What a job gets to report progress and release claims early.
pub struct Reporter<M = JobMsg> {
    key: String,
    generation: u64,
    tx: mpsc::Sender<Event<M>>,
    ctx: egui::Context,
    holds: Holds,
}

impl<M> Clone for Reporter<M> {
    fn clone(&self) -> Self {
        Reporter {
            key: self.key.clone(),
            generation: self.generation,
            tx: self.tx.clone(),
            ctx: self.ctx.clone(),
            holds: self.holds.clone(),
        }
    }
}

impl<M: JobMessage> Reporter<M> {
    /// Sends a progress message (handled like the result, in order).
    pub fn progress(&self, msg: impl Into<M>) {
        self.send(msg.into());
    }

    fn send(&self, msg: M) {
        let _ = self.tx.send(Event { key: self.key.clone(), generation: self.generation, msg });
        self.ctx.request_repaint();
    }

    /// Sends the job's last message (`Lost` if it panicked), then releases its names.
    fn finish<T: Into<M>>(&self, outcome: std::thread::Result<T>, names: Finish) {
        let msg = match outcome {
            Ok(m) => m.into(),
            Err(_) => {
                log::error!("job {} stopped unexpectedly", self.key);
                M::lost(self.key.clone())
            }
        };
        self.send(msg);
        drop(names);
    }

    /// The job's name.
    pub fn key_name(&self) -> &str {
        &self.key
    }

    /// Releases one of the job's claims before the job ends.
    pub fn release(&self, claim: &str) {
        self.holds.release(claim, self.generation);
    }

    /// The registry's names, to wait for one ([`Holds::acquire`]).
    pub fn holds(&self) -> &Holds {
        &self.holds
    }
}

/// Releases a job's names when it ends (also by panic).
struct Finish {
    names: Vec<String>,
    generation: u64,
    holds: Holds,
}

impl Drop for Finish {
    fn drop(&mut self) {
        for n in &self.names {
            self.holds.release(n, self.generation);
        }
    }
}

/// The registry: owns the tokio handle and the egui context (see "Threading contract").
pub struct Jobs<M = JobMsg> {
    handle: tokio::runtime::Handle,
    ctx: egui::Context,
    holds: Holds,
    tx: mpsc::Sender<Event<M>>,
    rx: mpsc::Receiver<Event<M>>,
    /// The newest generation started, per latest-wins name: older ones' messages are
    /// dropped (a handful of names, kept for the app's life).
    current: HashMap<String, u64>,
    next_generation: u64,
}

impl<M: JobMessage> Jobs<M> {
    /// A registry on a runtime handle, repainting `ctx` when a job reports.
    pub fn new(handle: tokio::runtime::Handle, ctx: egui::Context) -> Jobs<M> {
        let (tx, rx) = mpsc::channel();
        Jobs { handle, ctx, holds: Holds::default(), tx, rx, current: HashMap::new(), next_generation: 0 }
    }

    /// Whether a job (or a claim) holds `name`.
    pub fn is_running(&self, name: &str) -> bool {
        self.holds.is_held(name)
    }

    /// Of `names`, those no job holds.
    pub fn free(&self, names: impl IntoIterator<Item = String>) -> Vec<String> {
        let held = self.holds.lock();
        names.into_iter().filter(|n| !held.contains_key(n)).collect()
    }

    /// The names held by running jobs (for jobs that wait on one).
    pub fn holds(&self) -> &Holds {
        &self.holds
    }

    /// Takes the job's names, or says which one is held.
    fn admit(&mut self, spec: &Spec) -> Result<(Reporter<M>, Finish), AlreadyRunning> {
        // Even generations are the registry's; waiting holders use odd ones.
        self.next_generation += 2;
        let generation = self.next_generation;
        let mut names = vec![spec.key.clone()];
        names.extend(spec.claims.iter().cloned());
        if spec.latest_wins {
            self.current.insert(spec.key.clone(), generation);
        } else if let Some(held) = self.holds.first_held(&names) {
            return Err(AlreadyRunning(held));
        }
        self.holds.take(&names, generation);
        let reporter = Reporter {
            key: spec.key.clone(),
            generation,
            tx: self.tx.clone(),
            ctx: self.ctx.clone(),
            holds: self.holds.clone(),
        };
        Ok((reporter, Finish { names, generation, holds: self.holds.clone() }))
    }

    /// Starts an async job: `job` gets a [`Reporter`] and returns the future to run.
    pub fn start<T, F>(&mut self, spec: Spec, job: impl FnOnce(Reporter<M>) -> F) -> Result<(), AlreadyRunning>
    where
        T: Into<M>,
        F: Future<Output = T> + Send + 'static,
    {
        let (reporter, finish) = self.admit(&spec)?;
        let fut = job(reporter.clone());
        // Boxed, so every job is the same task type to tokio: its task code (poll,
        // completion, join handle) is compiled once, not once per kind of job.
        let task: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
            let outcome = AssertUnwindSafe(fut).catch_unwind().await;
            reporter.finish(outcome, finish);
        });
        self.handle.spawn(task);
        Ok(())
    }

    /// Starts blocking work (SQLite, files, hashing) on tokio's blocking pool.
    pub fn start_blocking<T: Into<M>>(
        &mut self,
        spec: Spec,
        job: impl FnOnce(&Reporter<M>) -> T + Send + 'static,
    ) -> Result<(), AlreadyRunning> {
        let (reporter, finish) = self.admit(&spec)?;
        // Boxed for the same reason as in `start`.
        let task: Box<dyn FnOnce() + Send> = Box::new(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| job(&reporter)));
            reporter.finish(outcome, finish);
        });
        self.handle.spawn_blocking(task);
        Ok(())
    }

    /// Every message that arrived, in order (superseded reloads' messages dropped).
    pub fn poll(&mut self) -> Vec<M> {
        let mut out = Vec::new();
        while let Ok(ev) = self.rx.try_recv() {
            if self.current.get(&ev.key).is_some_and(|g| ev.generation < *g) {
                continue; // replaced by a newer reload
            }
            out.push(ev.msg);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::shell::ShellMsg;

    fn registry() -> (tokio::runtime::Runtime, Jobs) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let jobs = Jobs::new(rt.handle().clone(), egui::Context::default());
        (rt, jobs)
    }

    fn wait(jobs: &mut Jobs, n: usize) -> Vec<JobMsg> {
        let mut got = Vec::new();
        for _ in 0..500 {
            got.extend(jobs.poll());
            if got.len() >= n {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        got
    }

    fn ping(n: u32) -> JobMsg {
        JobMsg::Shell(ShellMsg::Ping(n))
    }

    fn pinged(m: &JobMsg) -> Option<u32> {
        match m {
            JobMsg::Shell(ShellMsg::Ping(n)) => Some(*n),
            _ => None,
        }
    }

    #[test]
    fn a_held_name_or_claim_is_refused_until_the_job_ends() {
        let (_rt, mut jobs) = registry();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let spec = Spec::new("refresh-all").claims(["refresh:1".to_string(), "refresh:2".to_string()]);
        jobs.start(spec, |r| async move {
            let _ = rx.await;
            r.release("refresh:1");
            ping(1)
        })
        .unwrap();
        assert_eq!(
            jobs.start(Spec::new("refresh-all"), |_| async { ping(2) }),
            Err(AlreadyRunning("refresh-all".into()))
        );
        assert_eq!(jobs.start(Spec::new("refresh:2"), |_| async { ping(3) }), Err(AlreadyRunning("refresh:2".into())));
        assert_eq!(jobs.free(["refresh:2".to_string(), "refresh:3".to_string()]), vec!["refresh:3".to_string()]);
        tx.send(()).unwrap();
        let got = wait(&mut jobs, 1);
        assert_eq!(got.iter().filter_map(pinged).collect::<Vec<_>>(), [1]);
        for _ in 0..100 {
            if !jobs.is_running("refresh-all") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!jobs.is_running("refresh-all") && !jobs.is_running("refresh:2"), "released at the end");
        assert!(jobs.start(Spec::new("refresh:2"), |_| async { ping(4) }).is_ok());
    }

    #[test]
    fn a_newer_reload_replaces_the_running_one_and_a_panic_is_reported() {
        let (_rt, mut jobs) = registry();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        jobs.start_blocking(Spec::new("accounts:load").latest_wins(), move |_| {
            let _ = rx.recv();
            ping(1)
        })
        .unwrap();
        jobs.start_blocking(Spec::new("accounts:load").latest_wins(), |_| ping(2)).unwrap();
        let first = wait(&mut jobs, 1);
        tx.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let later = jobs.poll();
        let all: Vec<u32> = first.iter().chain(later.iter()).filter_map(pinged).collect();
        assert_eq!(all, [2], "the replaced load's result is dropped");

        #[allow(clippy::panic)]
        jobs.start(Spec::new("boom"), |_| async {
            if true {
                panic!("boom");
            }
            ping(9)
        })
        .unwrap();
        let got = wait(&mut jobs, 1);
        assert!(matches!(got.as_slice(), [JobMsg::Lost(k)] if k == "boom"));
    }

    #[test]
    fn a_waiting_holder_gets_the_name_when_it_is_released() {
        let (rt, mut jobs) = registry();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        jobs.start(Spec::new("refresh:7"), |_| async move {
            let _ = rx.await;
            ping(1)
        })
        .unwrap();
        let holds = jobs.holds().clone();
        let waiter = rt.spawn(async move {
            let _g = holds.acquire("refresh:7".into()).await;
            7
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished(), "waits while the refresh holds the account");
        tx.send(()).unwrap();
        assert_eq!(rt.block_on(waiter).unwrap(), 7);
        assert!(!jobs.is_running("refresh:7"));
    }
}
