//! Network settings in the store: the global ones (the `network` section of the settings,
//! the proxy sealed) and each site's own proxy override (sealed) and User-Agent.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::domain::SiteId;
use crate::domain::account::normalize_site_url;
use crate::domain::network::{NetworkSettings, SiteNetwork, SiteProxy};
use crate::domain::time::now_unix;

impl Store {
    /// The global network settings (the `network` section of the settings).
    pub fn network_settings(&self) -> Result<NetworkSettings, StoreError> {
        Ok(self.load_settings()?.settings.network)
    }

    /// Saves the global network settings (through [`Store::save_settings`]).
    pub fn set_network_settings(&mut self, n: &NetworkSettings) -> Result<(), StoreError> {
        self.update_settings(|s| -> Result<(), StoreError> {
            s.network = n.clone();
            Ok(())
        })
        .map(|_| ())
    }

    pub(crate) fn open_site_proxy(&self, stored: &str) -> SiteProxy {
        if stored.is_empty() {
            return SiteProxy::Inherit;
        }
        match self.secrets.open_sealed(stored).ok().and_then(|b| String::from_utf8(b).ok()) {
            Some(p) => SiteProxy::from_stored(&p),
            None => {
                log::warn!("a site's proxy setting could not be read; using the global proxy");
                SiteProxy::Inherit
            }
        }
    }

    pub(crate) fn seal_site_proxy(&self, proxy: &SiteProxy) -> Result<String, StoreError> {
        match proxy {
            SiteProxy::Inherit => Ok(String::new()),
            p => self.secrets.seal(p.to_stored().as_bytes()),
        }
    }

    /// Every site's own network settings with its base URL (sites without any too).
    pub fn site_networks(&self) -> Result<Vec<(SiteId, String, SiteNetwork)>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT id, url, net_proxy, net_user_agent FROM sites ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?)))?
            .collect::<Result<Vec<(i64, String, String, String)>, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(id, url, proxy, ua)| {
                let net = SiteNetwork {
                    proxy: self.open_site_proxy(&proxy),
                    user_agent: Some(ua).filter(|u| !u.trim().is_empty()),
                };
                (id, url, net)
            })
            .collect())
    }

    /// One site's own network settings.
    pub fn site_network(&self, site_id: SiteId) -> Result<SiteNetwork, StoreError> {
        let (proxy, ua): (String, String) = self
            .conn
            .query_row("SELECT net_proxy, net_user_agent FROM sites WHERE id = ?1", [site_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("site {site_id}")))?;
        Ok(SiteNetwork { proxy: self.open_site_proxy(&proxy), user_agent: Some(ua).filter(|u| !u.trim().is_empty()) })
    }

    /// Saves a site's own network settings.
    pub fn set_site_network(&mut self, site_id: SiteId, net: &SiteNetwork) -> Result<(), StoreError> {
        let sealed = self.seal_site_proxy(&net.proxy)?;
        let ua = net.user_agent().unwrap_or_default().to_string();
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE sites SET net_proxy = ?2, net_user_agent = ?3, updated_at = ?4 WHERE id = ?1",
            params![site_id, sealed, ua, now_unix()],
        )?;
        tx.commit()?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("site {site_id}")));
        }
        Ok(())
    }

    /// Saves the network settings of the site with this URL (normalised).
    pub fn set_site_network_by_url(&mut self, site_url: &str, net: &SiteNetwork) -> Result<(), StoreError> {
        let url = normalize_site_url(site_url);
        let id: i64 = self
            .conn
            .query_row("SELECT id FROM sites WHERE url = ?1", [&url], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("site {url}")))?;
        self.set_site_network(id, net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::network::ProxySetting;
    use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

    #[test]
    fn site_networks_are_sealed_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let acc = NewAccount {
            site_url: "https://x.example".into(),
            site_name: "x".into(),
            kind: SiteKind::NewApi,
            user_id: "1".into(),
            username: String::new(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
        };
        let id = s.upsert_account(&acc).unwrap();
        let site = s.account(id).unwrap().site.id;
        assert_eq!(s.site_network(site).unwrap(), SiteNetwork::default());
        let net = SiteNetwork {
            proxy: SiteProxy::Url("socks5://bob:s3cret@127.0.0.1:1080".into()),
            user_agent: Some("UA/1".into()),
        };
        s.set_site_network_by_url("https://x.example/", &net).unwrap();
        assert_eq!(s.site_network(site).unwrap(), net);
        let raw: String = s.conn.query_row("SELECT net_proxy FROM sites", [], |r| r.get(0)).unwrap();
        assert!(!raw.contains("s3cret"), "the proxy password is sealed");
        // Re-adding the account keeps the site's network settings.
        s.upsert_account(&acc).unwrap();
        assert_eq!(s.site_networks().unwrap()[0].2, net);
        let g = NetworkSettings {
            proxy: ProxySetting::Direct,
            connect_timeout_secs: 3,
            request_timeout_secs: 9,
            extra_ca_file: "/etc/ca.pem".into(),
        };
        assert_eq!(s.network_settings().unwrap(), NetworkSettings::default());
        s.set_network_settings(&g).unwrap();
        assert_eq!(s.network_settings().unwrap(), g);
    }
}
