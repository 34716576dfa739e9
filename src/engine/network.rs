//! Network settings between the store and the relay client: the client the app and the
//! CLI use is configured from the saved global settings and every site's own override.

use crate::domain::network::NetworkSettings;
use crate::relay::{ClientConfig, RelayClient, RelayError};
use crate::store::{Store, StoreError};

/// Why the saved network settings could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// Reading the store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The settings do not make a working client (bad proxy URL, unreadable CA file).
    #[error("{}", config_message(.0))]
    Relay(#[from] RelayError),
    /// A value is out of range or not a proxy URL.
    #[error("{0}")]
    Invalid(String),
}

/// A configuration error's own words (without "site unavailable").
fn config_message(e: &RelayError) -> String {
    match e {
        RelayError::Unavailable { message } => message.clone(),
        other => other.to_string(),
    }
}

/// The saved global network settings, or `None` when the user never saved any (then a
/// caller's own configuration stays as it is).
pub fn saved_settings(store: &Store) -> Result<Option<NetworkSettings>, StoreError> {
    let loaded = store.load_settings()?;
    Ok(loaded.section_stored("network").then_some(loaded.settings.network))
}

/// A client from `base` with the saved global settings and every site's override.
pub fn client_from_store(store: &Store, base: ClientConfig) -> Result<RelayClient, NetworkError> {
    let cfg = match saved_settings(store)? {
        Some(n) => base.with_network(&n),
        None => base,
    };
    let client = RelayClient::new(cfg)?;
    client.set_site_networks(store.site_networks()?.into_iter().map(|(_, url, net)| (url, net)));
    Ok(client)
}

/// Applies the saved settings to a running client (every clone sees them). The sites'
/// overrides are set even when the global settings fail.
pub fn apply_saved(relay: &RelayClient, store: &Store) -> Result<(), NetworkError> {
    relay.set_site_networks(store.site_networks()?.into_iter().map(|(_, url, net)| (url, net)));
    if let Some(n) = saved_settings(store)? {
        relay.reconfigure(relay.config().with_network(&n))?;
    }
    Ok(())
}

/// Checks new global settings and applies them to the client (every clone sees them);
/// the caller saves them when this succeeds. An error leaves the client unchanged: the
/// settings do not make a working client (bad proxy, unreadable CA file, bad timeout).
pub fn apply_settings(relay: &RelayClient, n: &NetworkSettings) -> Result<(), NetworkError> {
    n.validate().map_err(NetworkError::Invalid)?;
    relay.reconfigure(relay.config().with_network(n))?;
    log::info!(
        "network settings applied: proxy {}, timeouts {}s/{}s, extra CA {}",
        match &n.proxy {
            crate::domain::network::ProxySetting::Url(u) => crate::domain::network::redact_proxy_url(u),
            other => other.to_stored(),
        },
        n.connect_timeout_secs,
        n.request_timeout_secs,
        if n.extra_ca_file.trim().is_empty() { "none" } else { n.extra_ca_file.trim() }
    );
    Ok(())
}

/// Checks and saves a site's own network settings and applies them to the client.
pub fn save_site(
    relay: &RelayClient,
    store: &mut Store,
    site_id: crate::domain::SiteId,
    site_url: &str,
    net: &crate::domain::network::SiteNetwork,
) -> Result<(), NetworkError> {
    if let crate::domain::network::SiteProxy::Url(u) = &net.proxy {
        crate::domain::network::validate_proxy_url(u).map_err(NetworkError::Invalid)?;
    }
    store.set_site_network(site_id, net)?;
    relay.set_site_network(site_url, net.clone());
    log::info!("network settings of {site_url} saved");
    Ok(())
}
