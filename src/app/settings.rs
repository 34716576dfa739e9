//! The one path that saves the [`Settings`]: a change edits the app's copy
//! (`AppState::settings`) on the UI thread, the rows that changed go into an outbox, and
//! a job (`settings:save`) writes the outbox in one transaction. Writes keep their order
//! (a job holds the outbox while it writes), so the last change always wins on disk.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::jobs::{JobMsg, Jobs, Spec};
use crate::domain::settings::Settings;
use crate::store::SharedStore;

/// Rows waiting to be written, and the number of the newest change among them.
type Outbox = Arc<Mutex<(BTreeMap<String, Option<String>>, u64)>>;

/// Messages of the settings jobs.
pub enum SettingsMsg {
    /// A save ended: every change up to this number is on disk, or the error.
    Saved(Result<u64, String>),
    /// The settings were read again.
    Reloaded(Result<Box<Settings>, String>),
}

impl From<SettingsMsg> for JobMsg {
    fn from(m: SettingsMsg) -> JobMsg {
        JobMsg::Settings(m)
    }
}

/// The save path's bookkeeping.
#[derive(Default)]
pub struct SettingsSaver {
    outbox: Outbox,
    /// Number of the last change (1, 2, …).
    changed_seq: u64,
    /// Every change up to this number is on disk.
    saved_seq: u64,
}

const SAVE_JOB: &str = "settings:save";
const RELOAD_JOB: &str = "settings:load";

impl SettingsSaver {
    /// Edits `settings` and saves what changed in the background. Returns the change's
    /// number: it is on disk once [`SettingsSaver::saved_seq`] reaches it.
    pub fn change(
        &mut self,
        jobs: &mut Jobs,
        store: &SharedStore,
        settings: &mut Settings,
        change: impl FnOnce(&mut Settings),
    ) -> u64 {
        let before = settings.clone();
        change(settings);
        let rows = settings.changed_rows(&before);
        if rows.is_empty() {
            return self.changed_seq;
        }
        self.changed_seq += 1;
        if let Ok(mut outbox) = self.outbox.lock() {
            outbox.0.extend(rows);
            outbox.1 = self.changed_seq;
        }
        let (outbox, store) = (self.outbox.clone(), store.clone());
        // Latest wins: a newer save writes whatever the outbox holds by then.
        let started = jobs.start_blocking(Spec::new(SAVE_JOB).latest_wins(), move |_| {
            SettingsMsg::Saved(
                write_outbox(&outbox, &store).inspect_err(|e| log::error!("saving settings failed: {e}")),
            )
        });
        debug_assert!(started.is_ok(), "latest-wins jobs always start");
        self.changed_seq
    }

    /// Every change up to this number is saved.
    pub fn saved_seq(&self) -> u64 {
        self.saved_seq
    }

    /// A save finished.
    pub fn saved(&mut self, seq: u64) {
        self.saved_seq = self.saved_seq.max(seq);
    }

    /// Reads the settings from the store again.
    pub fn reload(&mut self, jobs: &mut Jobs, store: &SharedStore) {
        let store = store.clone();
        let _ = jobs.start_blocking(Spec::new(RELOAD_JOB).latest_wins(), move |_| {
            SettingsMsg::Reloaded(
                store.with(|s| s.load_settings()).map(|l| Box::new(l.settings)).map_err(|e| e.to_string()),
            )
        });
    }
}

fn write_outbox(outbox: &Outbox, store: &SharedStore) -> Result<u64, String> {
    let mut pending = outbox.lock().map_err(|_| "settings outbox unavailable".to_string())?;
    let seq = pending.1;
    if pending.0.is_empty() {
        return Ok(seq); // an earlier job wrote these already
    }
    let rows: Vec<_> = std::mem::take(&mut pending.0).into_iter().collect();
    store.with(|s| s.save_settings(&rows)).map_err(|e| e.to_string())?;
    Ok(seq)
}
