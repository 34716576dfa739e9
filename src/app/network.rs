//! Network settings: the global ones (proxy, timeouts, extra CA file: the `network`
//! section of the settings) and every site's override (proxy, User-Agent). Both are
//! applied to the shared relay client: on every account reload (`network:load`, so
//! restores and new sites are covered) and when saved (`network:save`,
//! `network:save-site`: checked first, nothing saved when they do not make a client).

use std::collections::HashMap;

use super::command::BackupCmd;
use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use crate::domain::SiteId;
use crate::domain::network::{NetworkSettings, SiteNetwork};

/// Commands of the network settings.
#[derive(Debug, Clone)]
pub enum NetworkCmd {
    /// Check, apply and save the global network settings (proxy, timeouts, extra CA).
    Save(NetworkSettings),
    /// Check, save and apply a site's own proxy override and User-Agent.
    SaveSite {
        /// Which site.
        site: SiteId,
        /// Its base URL.
        site_url: String,
        /// The new settings.
        net: SiteNetwork,
    },
    /// Read every site's settings and apply the saved ones to the relay client.
    Reload,
}

/// Messages of the network jobs.
pub enum NetworkMsg {
    /// Sites' settings read (and what applying the saved ones said).
    Loaded(Result<(HashMap<SiteId, SiteNetwork>, Option<String>), String>),
    /// The global settings were checked and applied (save them now), or why not.
    Applied(Result<NetworkSettings, String>),
    /// A site's settings were saved and applied, or why not.
    SiteSaved(SiteId, Result<SiteNetwork, String>),
}

impl From<NetworkMsg> for JobMsg {
    fn from(m: NetworkMsg) -> JobMsg {
        JobMsg::Network(m)
    }
}

/// What the views read about network settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    /// Each site's own settings.
    pub sites: HashMap<SiteId, SiteNetwork>,
    /// Bumped whenever the settings change, so forms reload.
    pub version: u64,
    /// A save is running.
    pub saving: bool,
    /// The last global save: ok, translated text.
    pub message: Option<(bool, String)>,
    /// The last site save: which site, ok, translated text.
    pub site_message: Option<(SiteId, bool, String)>,
}

const SAVE_JOB: &str = "network:save";

impl Network {
    /// Applies a command.
    pub fn apply(&mut self, cmd: NetworkCmd, cx: &mut Cx<'_>) {
        let (store, relay) = (cx.store.clone(), cx.relay.clone());
        match cmd {
            NetworkCmd::Reload => {
                cx.start_blocking_quiet(Spec::new("network:load").latest_wins(), move |_| {
                    NetworkMsg::Loaded(
                        store
                            .with(|s| {
                                let applied =
                                    crate::engine::network::apply_saved(&relay, s).err().map(|e| e.to_string());
                                let sites = s.site_networks()?.into_iter().map(|(id, _, n)| (id, n)).collect();
                                Ok((sites, applied))
                            })
                            .map_err(|e| e.to_string()),
                    )
                });
            }
            NetworkCmd::Save(n) => {
                // Reading the extra CA file is disk work: off the UI thread.
                if cx.start_blocking(Spec::new(SAVE_JOB), move |_| {
                    NetworkMsg::Applied(
                        crate::engine::network::apply_settings(&relay, &n).map(|()| n).map_err(|e| e.to_string()),
                    )
                }) {
                    self.saving = true;
                }
            }
            NetworkCmd::SaveSite { site, site_url, net } => {
                cx.start_blocking(Spec::new(format!("network:save-site:{site}")), move |_| {
                    let r = store.with(|s| {
                        crate::engine::network::save_site(&relay, s, site, &site_url, &net)
                            .map_err(|e| crate::store::StoreError::Unavailable(e.to_string()))
                    });
                    NetworkMsg::SiteSaved(site, r.map(|_| net).map_err(|e| e.to_string()))
                });
            }
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: NetworkMsg, cx: &mut Cx<'_>) {
        match msg {
            NetworkMsg::Loaded(Ok((sites, applied))) => {
                self.sites = sites;
                self.version += 1;
                if let Some(e) = applied {
                    log::error!("network settings not applied: {e}");
                    self.message = Some((false, fill(tr("net.apply_failed"), &[("e", &e)])));
                }
            }
            NetworkMsg::Loaded(Err(e)) => log::error!("network settings unreadable: {e}"),
            NetworkMsg::Applied(r) => {
                self.saving = false;
                match r {
                    Ok(settings) => {
                        cx.change_settings(|s| s.network = settings);
                        self.version += 1;
                        self.message = Some((true, tr("net.saved").to_string()));
                        cx.send(BackupCmd::Auto);
                    }
                    Err(e) => {
                        log::warn!("network settings not saved: {e}");
                        self.message = Some((false, fill(tr("net.failed"), &[("e", &e)])));
                    }
                }
            }
            NetworkMsg::SiteSaved(site, r) => match r {
                Ok(n) => {
                    self.sites.insert(site, n);
                    self.version += 1;
                    self.site_message = Some((site, true, tr("net.site.saved").to_string()));
                    cx.send(BackupCmd::Auto);
                }
                Err(e) => {
                    log::warn!("site network settings not saved: {e}");
                    self.site_message = Some((site, false, fill(tr("net.failed"), &[("e", &e)])));
                }
            },
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        if key == SAVE_JOB {
            self.saving = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;
    use crate::domain::network::ProxySetting;

    #[test]
    fn a_good_proxy_is_applied_then_saved_and_a_bad_one_is_refused() {
        let mut rig = Rig::new();
        let mut net = Network::default();
        let bad = NetworkSettings { proxy: ProxySetting::Url("ftp://nope".into()), ..Default::default() };
        rig.with(|cx| net.apply(NetworkCmd::Save(bad), cx));
        assert!(net.saving);
        for m in rig.next(1) {
            if let JobMsg::Network(m) = m {
                rig.with(|cx| net.on_job(m, cx));
            }
        }
        assert!(!net.saving);
        assert!(matches!(&net.message, Some((false, _))));
        assert_eq!(rig.settings.network, NetworkSettings::default(), "nothing saved");
        let good = NetworkSettings { proxy: ProxySetting::Url("http://127.0.0.1:3128".into()), ..Default::default() };
        rig.with(|cx| net.apply(NetworkCmd::Save(good.clone()), cx));
        for m in rig.next(1) {
            if let JobMsg::Network(m) = m {
                rig.with(|cx| net.on_job(m, cx));
            }
        }
        assert!(matches!(&net.message, Some((true, _))));
        assert_eq!(rig.settings.network, good);
        assert_eq!(rig.relay.config().proxy, good.proxy, "applied to the shared client");
    }
}
