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

    /// Parses the identifier written by [`SiteKind::as_str`]; lenient about case and `_`.
    pub fn parse(s: &str) -> Option<SiteKind> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        SiteKind::ALL.into_iter().find(|k| k.as_str() == norm)
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
}
