//! Network settings in the app: the saved global settings and every site's override are
//! loaded into [`NetworkView`] and applied to the shared relay client (with each account
//! reload, so restores and new sites are covered); `Command::SaveNetwork` and
//! `Command::SaveSiteNetwork` check, apply and save them in jobs.

use std::collections::HashMap;

use poll_promise::Promise;

use super::App;
use crate::app::i18n::{fill, tr};
use crate::domain::SiteId;
use crate::domain::network::{NetworkSettings, SiteNetwork};

/// What the views read about network settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkView {
    /// The saved global settings (defaults until loaded or when never saved).
    pub settings: NetworkSettings,
    /// Each site's own settings.
    pub sites: HashMap<SiteId, SiteNetwork>,
    /// Bumped whenever `settings` or `sites` change, so forms reload.
    pub version: u64,
    /// A save is running.
    pub saving: bool,
    /// The last global save: ok, translated text.
    pub message: Option<(bool, String)>,
    /// The last site save: which site, ok, translated text.
    pub site_message: Option<(SiteId, bool, String)>,
}

type Loaded = (HashMap<SiteId, SiteNetwork>, Option<String>);

/// Running network jobs.
#[derive(Default)]
pub(super) struct NetworkJobs {
    load: Option<Promise<Result<Loaded, String>>>,
    save: Option<Promise<Result<NetworkSettings, String>>>,
    save_site: Option<Promise<(SiteId, Result<SiteNetwork, String>)>>,
}

impl App {
    /// Reads the saved settings and applies them to the relay client.
    pub(super) fn reload_network(&mut self) {
        let store = self.store.clone();
        let relay = self.relay.clone();
        self.net_jobs.load = Some(self.runner.spawn_blocking(move || {
            let s = store.lock().map_err(|e| e.to_string())?;
            let applied = crate::engine::network::apply_saved(&relay, &s).err().map(|e| e.to_string());
            let sites = s.site_networks().map_err(|e| e.to_string())?.into_iter().map(|(id, _, n)| (id, n)).collect();
            Ok((sites, applied))
        }));
    }

    /// Checks, applies and saves the global settings.
    pub(super) fn save_network(&mut self, n: NetworkSettings) {
        if self.net_jobs.save.is_some() {
            return;
        }
        let relay = self.relay.clone();
        self.state.network.saving = true;
        // Reading the extra CA file is disk work: off the UI thread.
        self.net_jobs.save = Some(self.runner.spawn_blocking(move || {
            crate::engine::network::apply_settings(&relay, &n).map_err(|e| e.to_string())?;
            Ok(n)
        }));
    }

    /// Checks, saves and applies one site's settings.
    pub(super) fn save_site_network(&mut self, site: SiteId, site_url: String, net: SiteNetwork) {
        if self.net_jobs.save_site.is_some() {
            return;
        }
        let store = self.store.clone();
        let relay = self.relay.clone();
        self.net_jobs.save_site = Some(self.runner.spawn_blocking(move || {
            let r = store.lock().map_err(|e| e.to_string()).and_then(|mut s| {
                crate::engine::network::save_site(&relay, &mut s, site, &site_url, &net).map_err(|e| e.to_string())
            });
            (site, r.map(|_| net))
        }));
    }

    /// Lands finished network jobs in the state.
    pub(super) fn poll_network(&mut self) {
        let net = &mut self.state.network;
        if let Some(job) = &self.net_jobs.load
            && job.ready().is_some()
            && let Some(job) = self.net_jobs.load.take()
        {
            match job.block_and_take() {
                Ok((sites, applied)) => {
                    net.settings = self.settings.current().network.clone();
                    net.sites = sites;
                    net.version += 1;
                    if let Some(e) = applied {
                        log::error!("network settings not applied: {e}");
                        net.message = Some((false, fill(tr("net.apply_failed"), &[("e", &e)])));
                    }
                }
                Err(e) => log::error!("network settings unreadable: {e}"),
            }
        }
        if let Some(job) = &self.net_jobs.save
            && job.ready().is_some()
            && let Some(job) = self.net_jobs.save.take()
        {
            net.saving = false;
            match job.block_and_take() {
                Ok(settings) => {
                    net.settings = settings.clone();
                    net.version += 1;
                    net.message = Some((true, tr("net.saved").to_string()));
                    self.pending.push(super::Command::AutoBackup);
                    self.settings.change(&self.runner, &self.store, |s| s.network = settings);
                }
                Err(e) => {
                    log::warn!("network settings not saved: {e}");
                    net.message = Some((false, fill(tr("net.failed"), &[("e", &e)])));
                }
            }
        }
        if let Some(job) = &self.net_jobs.save_site
            && job.ready().is_some()
            && let Some(job) = self.net_jobs.save_site.take()
        {
            let (site, r) = job.block_and_take();
            match r {
                Ok(n) => {
                    net.sites.insert(site, n);
                    net.version += 1;
                    net.site_message = Some((site, true, tr("net.site.saved").to_string()));
                    self.pending.push(super::Command::AutoBackup);
                }
                Err(e) => {
                    log::warn!("site network settings not saved: {e}");
                    net.site_message = Some((site, false, fill(tr("net.failed"), &[("e", &e)])));
                }
            }
        }
    }
}
