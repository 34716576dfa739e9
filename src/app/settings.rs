//! The app's copy of the [`Settings`] and the one path that saves them: a change edits
//! the copy on the UI thread, the rows that changed go into an outbox, and a job on the
//! blocking pool writes the outbox in one transaction. Writes keep their order (each
//! job holds the outbox while it writes), so the last change always wins on disk.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use poll_promise::Promise;

use super::runner::TaskRunner;
use crate::domain::settings::Settings;
use crate::store::SharedStore;

/// Rows waiting to be written, and the number of the newest change among them.
type Outbox = Arc<Mutex<(BTreeMap<String, Option<String>>, u64)>>;

/// What [`AppSettings::poll`] saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Polled {
    /// Nothing finished (or only saves that worked).
    Nothing,
    /// The settings were read again: apply them.
    Reloaded,
    /// A save failed (the message is logged too).
    SaveFailed(String),
}

/// The settings the app runs with.
pub struct AppSettings {
    current: Settings,
    outbox: Outbox,
    saves: Vec<Promise<Result<u64, String>>>,
    /// Number of the last change (1, 2, …).
    changed_seq: u64,
    /// Every change up to this number is on disk.
    saved_seq: u64,
    reload: Option<Promise<Result<Settings, String>>>,
}

impl AppSettings {
    /// Starts from settings loaded before the window opened.
    pub fn new(current: Settings) -> AppSettings {
        AppSettings { current, outbox: Arc::default(), saves: Vec::new(), changed_seq: 0, saved_seq: 0, reload: None }
    }

    /// The settings in force.
    pub fn current(&self) -> &Settings {
        &self.current
    }

    /// Edits the settings and saves what changed in the background. Returns the
    /// change's number: it is on disk once [`AppSettings::saved_seq`] reaches it.
    pub fn change(&mut self, runner: &TaskRunner, store: &SharedStore, change: impl FnOnce(&mut Settings)) -> u64 {
        let before = self.current.clone();
        change(&mut self.current);
        let rows = self.current.changed_rows(&before);
        if rows.is_empty() {
            return self.changed_seq;
        }
        self.changed_seq += 1;
        if let Ok(mut outbox) = self.outbox.lock() {
            outbox.0.extend(rows);
            outbox.1 = self.changed_seq;
        }
        let (outbox, store) = (self.outbox.clone(), store.clone());
        self.saves.push(runner.spawn_blocking(move || {
            let mut pending = outbox.lock().map_err(|_| "settings outbox unavailable".to_string())?;
            let seq = pending.1;
            if pending.0.is_empty() {
                return Ok(seq); // an earlier job wrote these already
            }
            let rows: Vec<_> = std::mem::take(&mut pending.0).into_iter().collect();
            store.with(|s| s.save_settings(&rows)).map_err(|e| e.to_string())?;
            Ok(seq)
        }));
        self.changed_seq
    }

    /// Every change up to this number is saved.
    pub fn saved_seq(&self) -> u64 {
        self.saved_seq
    }

    /// Reads the settings from the store again (a restore may have brought others).
    pub fn reload(&mut self, runner: &TaskRunner, store: &SharedStore) {
        let store = store.clone();
        self.reload =
            Some(runner.spawn_blocking(move || {
                store.with(|s| s.load_settings()).map(|l| l.settings).map_err(|e| e.to_string())
            }));
    }

    /// Collects finished saves and reloads.
    pub fn poll(&mut self) -> Polled {
        let mut failed = None;
        let mut saved = self.saved_seq;
        self.saves.retain(|p| match p.ready() {
            None => true,
            Some(Ok(seq)) => {
                saved = saved.max(*seq);
                false
            }
            Some(Err(e)) => {
                log::error!("saving settings failed: {e}");
                failed = Some(e.clone());
                false
            }
        });
        self.saved_seq = saved;
        if let Some(e) = failed {
            return Polled::SaveFailed(e);
        }
        if let Some(job) = &self.reload
            && job.ready().is_some()
            && let Some(job) = self.reload.take()
        {
            match job.block_and_take() {
                Ok(s) => {
                    self.current = s;
                    return Polled::Reloaded;
                }
                Err(e) => log::error!("settings unreadable: {e}"),
            }
        }
        Polled::Nothing
    }
}
