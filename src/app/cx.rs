//! [`Cx`]: what a controller gets when it applies a command or lands a job's message:
//! the shared services, the job registry, the settings (and their one save path), and
//! an outbox for follow-up commands to other controllers (applied in the same frame).

use std::future::Future;

use super::Refresher;
use super::command::{Command, ShellCmd};
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Jobs, Reporter, Spec};
use super::settings::SettingsSaver;
use super::state::{Severity, StatusLine};
use crate::domain::settings::Settings;
use crate::relay::RelayClient;
use crate::store::SharedStore;

/// A controller's view of the app for one command or message.
pub struct Cx<'a> {
    /// The store (use it only inside jobs).
    pub store: &'a SharedStore,
    /// The relay client every job shares.
    pub relay: &'a RelayClient,
    /// Starts a refresh of accounts (the engine's, or a test's).
    pub refresher: &'a Refresher,
    /// The job registry.
    pub jobs: &'a mut Jobs,
    /// The settings in force (read them here; change them with [`Cx::change_settings`]).
    pub settings: &'a mut Settings,
    pub(crate) saver: &'a mut SettingsSaver,
    pub(crate) out: &'a mut Vec<Command>,
    /// The egui context (repaints, clipboard, URLs).
    pub egui: &'a egui::Context,
}

impl Cx<'_> {
    /// Queues a command for another controller (applied this frame, after this one).
    pub fn send(&mut self, cmd: impl Into<Command>) {
        self.out.push(cmd.into());
    }

    /// Shows a line in the top bar.
    pub fn say(&mut self, text: impl Into<String>, severity: Severity) {
        self.send(ShellCmd::Status(StatusLine { text: text.into(), severity }));
    }

    /// Changes settings; what changed is saved in the background, in order. Returns the
    /// change's number (saved once `SettingsSaver::saved_seq` reaches it).
    pub fn change_settings(&mut self, change: impl FnOnce(&mut Settings)) -> u64 {
        self.saver.change(self.jobs, self.store, self.settings, change)
    }

    fn refused(&mut self, what: &str) {
        log::info!("not started, already running: {what}");
        self.say(fill(tr("jobs.already_running"), &[("job", &what)]), Severity::Info);
    }

    /// Starts an async job the user asked for; a refusal is said in the status line
    /// ("already running"). Returns whether it started.
    pub fn start<M, F>(&mut self, spec: Spec, job: impl FnOnce(Reporter) -> F) -> bool
    where
        M: Into<JobMsg>,
        F: Future<Output = M> + Send + 'static,
    {
        match self.jobs.start(spec, job) {
            Ok(()) => true,
            Err(e) => {
                self.refused(&e.0);
                false
            }
        }
    }

    /// Starts blocking work the user asked for ([`Cx::start`] otherwise).
    pub fn start_blocking<M: Into<JobMsg>>(
        &mut self,
        spec: Spec,
        job: impl FnOnce(&Reporter) -> M + Send + 'static,
    ) -> bool {
        match self.jobs.start_blocking(spec, job) {
            Ok(()) => true,
            Err(e) => {
                self.refused(&e.0);
                false
            }
        }
    }

    /// Starts an automatic job (schedule, start-up, after a change): a refusal is silent.
    pub fn start_quiet<M, F>(&mut self, spec: Spec, job: impl FnOnce(Reporter) -> F) -> bool
    where
        M: Into<JobMsg>,
        F: Future<Output = M> + Send + 'static,
    {
        self.jobs.start(spec, job).is_ok()
    }

    /// Starts automatic blocking work: a refusal is silent.
    pub fn start_blocking_quiet<M: Into<JobMsg>>(
        &mut self,
        spec: Spec,
        job: impl FnOnce(&Reporter) -> M + Send + 'static,
    ) -> bool {
        self.jobs.start_blocking(spec, job).is_ok()
    }
}
