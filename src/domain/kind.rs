//! The kinds of relay site the app knows how to talk to.

use serde::{Deserialize, Serialize};

/// A relay server family. Each kind has one profile in `relay/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum SiteKind {
    /// songquanpeng/one-api.
    OneApi,
    /// QuantumNous/new-api (classic and current auth).
    NewApi,
    /// Veloera (new-api fork, `Veloera-User` header).
    Veloera,
    /// MartialBE/one-hub.
    OneHub,
    /// deanxv/done-hub.
    DoneHub,
    /// VoAPI (legacy new-api-like, `voapi-user` header).
    Voapi,
    /// VoAPI v2 (raw JWT, `{code,data,msg}` envelope).
    VoapiV2,
    /// Super-API (new-api-like).
    SuperApi,
    /// sub2api (`/api/v1/*`).
    Sub2api,
    /// AnyRouter (new-api-like, cookie auth).
    Anyrouter,
    /// Not recognised: handled as generic new-api.
    Unknown,
}

impl SiteKind {
    /// Every kind, in display order.
    pub const ALL: [SiteKind; 11] = [
        SiteKind::OneApi,
        SiteKind::NewApi,
        SiteKind::Veloera,
        SiteKind::OneHub,
        SiteKind::DoneHub,
        SiteKind::Voapi,
        SiteKind::VoapiV2,
        SiteKind::SuperApi,
        SiteKind::Sub2api,
        SiteKind::Anyrouter,
        SiteKind::Unknown,
    ];

    /// The stable identifier used in the store, the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::OneApi => "one-api",
            SiteKind::NewApi => "new-api",
            SiteKind::Veloera => "veloera",
            SiteKind::OneHub => "one-hub",
            SiteKind::DoneHub => "done-hub",
            SiteKind::Voapi => "voapi",
            SiteKind::VoapiV2 => "voapi-v2",
            SiteKind::SuperApi => "super-api",
            SiteKind::Sub2api => "sub2api",
            SiteKind::Anyrouter => "anyrouter",
            SiteKind::Unknown => "unknown",
        }
    }

    /// Kinds whose sites report money (an amount in a currency) and no quota: sub2api
    /// and VoAPI v2.
    pub fn is_money_native(self) -> bool {
        matches!(self, SiteKind::Sub2api | SiteKind::VoapiV2)
    }

    /// Parses the identifier written by [`SiteKind::as_str`]; lenient about case and `_`.
    pub fn parse(s: &str) -> Option<SiteKind> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        SiteKind::ALL.into_iter().find(|k| k.as_str() == norm)
    }
}

impl SiteKind {
    /// The web page where a user tops up, relative to the site root (the kind's
    /// profile: new-api family `/console/topup`, Veloera `/app/wallet`, one-api and
    /// VoAPI `/topup`, one-hub and done-hub `/panel/topup`, sub2api `/redeem`, VoAPI v2
    /// its root).
    pub fn topup_path(self) -> &'static str {
        super::profile::Profile::for_kind(self).topup_path
    }

    /// The top-up page URL of a site of this kind.
    pub fn topup_url(self, site_url: &str) -> String {
        super::profile::Profile::page_url(site_url, self.topup_path())
    }
}

impl std::fmt::Display for SiteKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for k in SiteKind::ALL {
            assert_eq!(SiteKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(SiteKind::parse("New_API"), Some(SiteKind::NewApi));
        assert_eq!(SiteKind::parse("nope"), None);
    }

    #[test]
    fn top_up_pages_per_kind() {
        let url = |k: SiteKind| k.topup_url("https://relay.example/");
        assert_eq!(url(SiteKind::NewApi), "https://relay.example/console/topup");
        assert_eq!(url(SiteKind::Anyrouter), "https://relay.example/console/topup");
        assert_eq!(url(SiteKind::SuperApi), "https://relay.example/console/topup");
        assert_eq!(url(SiteKind::Veloera), "https://relay.example/app/wallet");
        assert_eq!(url(SiteKind::OneApi), "https://relay.example/topup");
        assert_eq!(url(SiteKind::Voapi), "https://relay.example/topup");
        assert_eq!(url(SiteKind::OneHub), "https://relay.example/panel/topup");
        assert_eq!(url(SiteKind::DoneHub), "https://relay.example/panel/topup");
        assert_eq!(url(SiteKind::Sub2api), "https://relay.example/redeem");
        assert_eq!(url(SiteKind::VoapiV2), "https://relay.example/");
        assert_eq!(SiteKind::OneHub.topup_url("http://h:3000"), "http://h:3000/panel/topup");
    }
}
