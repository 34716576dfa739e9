//! A [`Cx`] without a window, for the controllers' unit tests: a temporary store, a
//! relay client that reaches nothing, a job registry on its own runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::command::Command;
use super::cx::Cx;
use super::jobs::{JobMsg, Jobs};
use super::settings::SettingsSaver;
use super::state::EnvInfo;
use super::{Refresher, make_refresher};
use crate::domain::settings::Settings;
use crate::domain::{AccountId, AuthMethod, Credentials, NewAccount, SiteKind};
use crate::relay::{ClientConfig, ProxySetting, RelayClient};
use crate::store::{DataDirSource, KeyLocation, SharedStore, Store};

/// Everything a `Cx` borrows.
pub struct Rig {
    /// Keeps the jobs' runtime alive.
    #[allow(dead_code)]
    pub rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    pub store: SharedStore,
    pub relay: RelayClient,
    pub refresher: Refresher,
    pub jobs: Jobs,
    pub settings: Settings,
    pub saver: SettingsSaver,
    /// Commands the controllers sent.
    pub out: Vec<Command>,
    pub ctx: egui::Context,
}

impl Rig {
    /// A rig on an empty data dir.
    pub fn new() -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SharedStore::new(Store::open(dir.path()).unwrap().store);
        let relay = RelayClient::new(ClientConfig {
            proxy: ProxySetting::Direct,
            connect_timeout_secs: 1,
            request_timeout_secs: 2,
            ..ClientConfig::default()
        })
        .unwrap();
        let refresher = make_refresher(store.clone(), Arc::new(relay.clone()), 8);
        let ctx = egui::Context::default();
        let jobs = Jobs::new(rt.handle().clone(), ctx.clone());
        Rig {
            rt,
            dir,
            store,
            relay,
            refresher,
            jobs,
            settings: Settings::default(),
            saver: SettingsSaver::default(),
            out: Vec::new(),
            ctx,
        }
    }

    /// Installation facts for a shell.
    pub fn env(&self) -> EnvInfo {
        EnvInfo {
            data_dir: self.dir.path().to_path_buf(),
            data_dir_source: DataDirSource::CommandLine,
            key_location: KeyLocation::KeyFile(self.dir.path().join("secret.key")),
            version: "0",
            commit: "test",
        }
    }

    /// Runs `f` with a `Cx` over the rig.
    pub fn with<T>(&mut self, f: impl FnOnce(&mut Cx<'_>) -> T) -> T {
        let mut cx = Cx {
            store: &self.store,
            relay: &self.relay,
            refresher: &self.refresher,
            jobs: &mut self.jobs,
            settings: &mut self.settings,
            saver: &mut self.saver,
            out: &mut self.out,
            egui: &self.ctx,
        };
        f(&mut cx)
    }

    /// Waits for job messages until `done` says enough (10 s at most).
    pub fn wait(&mut self, mut done: impl FnMut(&[JobMsg]) -> bool) -> Vec<JobMsg> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut got = Vec::new();
        loop {
            got.extend(self.jobs.poll());
            if done(&got) || std::time::Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// The job messages that arrive within `d` (to show that none do).
    pub fn for_a_while(&mut self, d: std::time::Duration) -> Vec<JobMsg> {
        let deadline = std::time::Instant::now() + d;
        let mut got = Vec::new();
        while std::time::Instant::now() < deadline {
            got.extend(self.jobs.poll());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        got
    }

    /// Waits for the next `n` job messages.
    pub fn next(&mut self, n: usize) -> Vec<JobMsg> {
        let got = self.wait(|m| m.len() >= n);
        assert!(got.len() >= n, "expected {n} job messages, got {}", got.len());
        got
    }

    /// Waits until every settings change is on disk.
    pub fn wait_saved(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.jobs.is_running("settings:save") && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        for m in self.jobs.poll() {
            if let JobMsg::Settings(super::settings::SettingsMsg::Saved(Ok(seq))) = m {
                self.saver.saved(seq);
            }
        }
    }

    /// The settings as stored.
    pub fn stored(&self) -> Settings {
        self.store.lock().unwrap().load_settings().unwrap().settings
    }

    /// Adds an account (not refreshed) and returns its id.
    pub fn account(&self, url: &str, user: &str) -> AccountId {
        self.store
            .lock()
            .unwrap()
            .upsert_account(&NewAccount {
                site_url: url.into(),
                site_name: format!("Site {user}"),
                kind: SiteKind::NewApi,
                user_id: "1".into(),
                username: user.into(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
            })
            .unwrap()
    }

    /// The commands sent so far (taken).
    pub fn sent(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.out)
    }
}
