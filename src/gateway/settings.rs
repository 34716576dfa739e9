//! The gateway's settings: one serde struct, saved as JSON under one settings key.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::domain::AccountId;
use crate::domain::pricing::Preset;
use crate::store::{Store, StoreError};

/// The settings key the JSON lives under.
pub const KEY: &str = "gateway.settings";
/// Where the gateway listens unless told otherwise (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8765";

/// How candidates for a model are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Lowest real cost first (model price × group ratio × the account's paid ratio; see
    /// [`super::routes`] for accounts without a paid ratio).
    #[default]
    Cheapest,
    /// Most remaining balance first.
    Balance,
    /// Lowest moving average of time to first byte first (unmeasured ones first, to measure them).
    Fastest,
    /// The user's order ([`GatewaySettings::order`], then the Sites table's order).
    Order,
}

impl Policy {
    /// Every policy, in menu order.
    pub const ALL: [Policy; 4] = [Policy::Cheapest, Policy::Balance, Policy::Fastest, Policy::Order];

    /// Stable name for the CLI and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Cheapest => "cheapest",
            Policy::Balance => "balance",
            Policy::Fastest => "fastest",
            Policy::Order => "order",
        }
    }

    /// Inverse of [`Policy::as_str`] (case-insensitive).
    pub fn parse(s: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One site-side name an alias stands for, optionally only on one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    /// The model name on the site.
    pub model: String,
    /// Only this account (None = every account selling `model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
}

impl AliasTarget {
    /// Parses `MODEL` or `MODEL#ACCOUNT_ID` (`#`: model names hold `@`, `/` and `:`).
    pub fn parse(s: &str) -> Result<AliasTarget, String> {
        let s = s.trim();
        let (model, account) = match s.rsplit_once('#') {
            Some((m, id)) => {
                let id: AccountId =
                    id.trim().parse().map_err(|_| format!("`{s}`: the part after # is not an account id"))?;
                (m.trim(), Some(id))
            }
            None => (s, None),
        };
        if model.is_empty() || model.contains([',', ';', '=']) {
            return Err(format!("`{s}`: not a model name"));
        }
        Ok(AliasTarget { model: model.to_string(), account })
    }
}

impl std::fmt::Display for AliasTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.account {
            Some(a) => write!(f, "{}#{a}", self.model),
            None => f.write_str(&self.model),
        }
    }
}

/// Aliases, pins and the account order are kept as one line of text each, so every
/// setting is a plain value (one dotted settings key each):
/// `aliases = "sonnet=claude-sonnet-4-5,claude-4.5-sonnet#3; fast=m1"`,
/// `pins = "gpt-4o=3,1; claude-x=2"`, `order = "3,1,2"`.
pub mod text {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::AliasTarget;
    use crate::domain::AccountId;

    /// `name=a,b; name2=c` with each value parsed by `item`.
    fn parse_map<T>(s: &str, item: impl Fn(&str) -> Result<T, String>) -> Result<BTreeMap<String, Vec<T>>, String> {
        let mut out = BTreeMap::new();
        for entry in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, values) = entry.split_once('=').ok_or_else(|| format!("`{entry}`: expected NAME=VALUE,…"))?;
            let name = name.trim();
            if name.is_empty() {
                return Err(format!("`{entry}`: no name"));
            }
            let values = values
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(&item)
                .collect::<Result<Vec<T>, String>>()?;
            if values.is_empty() {
                return Err(format!("`{entry}`: nothing after ="));
            }
            out.insert(name.to_string(), values);
        }
        Ok(out)
    }

    fn map_text<T: std::fmt::Display>(m: &BTreeMap<String, Vec<T>>) -> String {
        m.iter()
            .map(|(k, v)| format!("{k}={}", v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn account(s: &str) -> Result<AccountId, String> {
        s.parse().map_err(|_| format!("`{s}` is not an account id"))
    }

    /// Parses the aliases' text.
    pub fn parse_aliases(s: &str) -> Result<BTreeMap<String, Vec<AliasTarget>>, String> {
        parse_map(s, AliasTarget::parse)
    }

    /// Parses the pins' text.
    pub fn parse_pins(s: &str) -> Result<BTreeMap<String, Vec<AccountId>>, String> {
        parse_map(s, account)
    }

    /// Parses the order's text.
    pub fn parse_order(s: &str) -> Result<Vec<AccountId>, String> {
        s.split(',').map(str::trim).filter(|v| !v.is_empty()).map(account).collect()
    }

    /// serde: aliases as text.
    pub mod aliases {
        use super::*;
        /// Writes the text.
        pub fn serialize<S: Serializer>(m: &BTreeMap<String, Vec<AliasTarget>>, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&map_text(m))
        }
        /// Reads the text.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<AliasTarget>>, D::Error> {
            parse_aliases(&String::deserialize(d)?).map_err(serde::de::Error::custom)
        }
    }

    /// serde: pins as text.
    pub mod pins {
        use super::*;
        /// Writes the text.
        pub fn serialize<S: Serializer>(m: &BTreeMap<String, Vec<AccountId>>, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&map_text(m))
        }
        /// Reads the text.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<AccountId>>, D::Error> {
            parse_pins(&String::deserialize(d)?).map_err(serde::de::Error::custom)
        }
    }

    /// serde: the order as text.
    pub mod order {
        use super::*;
        /// Writes the text.
        pub fn serialize<S: Serializer>(v: &[AccountId], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&v.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
        }
        /// Reads the text.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AccountId>, D::Error> {
            parse_order(&String::deserialize(d)?).map_err(serde::de::Error::custom)
        }
    }
}

/// Everything the gateway is configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewaySettings {
    /// Loopback address to listen on (`apihub serve --listen` may choose another, with a warning).
    pub listen: String,
    /// Candidate order.
    pub policy: Policy,
    /// Client model name → the site-side names it stands for (tried in the policy's order).
    #[serde(with = "text::aliases")]
    pub aliases: BTreeMap<String, Vec<AliasTarget>>,
    /// Client model name → only these accounts, in this order (the policy is not used).
    #[serde(with = "text::pins")]
    pub pins: BTreeMap<String, Vec<AccountId>>,
    /// The `order` policy's account order (accounts not listed follow in the Sites order).
    #[serde(with = "text::order")]
    pub order: Vec<AccountId>,
    /// Upstream attempts per request (failover stops after this many).
    pub max_attempts: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Wait for an upstream's headers and first body bytes.
    pub first_byte_timeout_secs: u64,
    /// Longest silence between two chunks once a reply has started.
    pub idle_timeout_secs: u64,
    /// Longest whole request, stream included.
    pub total_timeout_secs: u64,
    /// Workload weights for the `cheapest` policy's effective price (input/output mix).
    pub cost_preset: Preset,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            listen: DEFAULT_LISTEN.into(),
            policy: Policy::Cheapest,
            aliases: BTreeMap::new(),
            pins: BTreeMap::new(),
            order: Vec::new(),
            max_attempts: 3,
            max_body_bytes: 32 * 1024 * 1024,
            first_byte_timeout_secs: 300,
            idle_timeout_secs: 120,
            total_timeout_secs: 1800,
            cost_preset: Preset::Chat,
        }
    }
}

impl GatewaySettings {
    /// The saved settings (defaults when none or unreadable; an unreadable value is logged).
    pub fn load(store: &Store) -> Result<GatewaySettings, StoreError> {
        Ok(match store.setting(KEY)? {
            None => GatewaySettings::default(),
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                log::warn!("gateway settings unreadable ({e}); using defaults");
                GatewaySettings::default()
            }),
        })
    }

    /// Checks and saves.
    pub fn save(&self, store: &mut Store) -> Result<(), SettingsError> {
        self.validate()?;
        let json = serde_json::to_string(self).map_err(|e| SettingsError::Invalid(e.to_string()))?;
        store.set_setting(KEY, &json)?;
        Ok(())
    }

    /// Refuses values that cannot work: a non-loopback or unparsable listen address, zero
    /// attempts or timeouts, a body limit under 1 KiB, empty alias or pin lists.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let addr = parse_listen(&self.listen)?;
        if !addr.ip().is_loopback() {
            return Err(SettingsError::Invalid(format!(
                "listen address {addr} is not loopback: only `apihub serve --listen` may choose another"
            )));
        }
        if !(1..=10).contains(&self.max_attempts) {
            return Err(SettingsError::Invalid("max attempts must be 1 to 10".into()));
        }
        if self.first_byte_timeout_secs == 0 || self.idle_timeout_secs == 0 || self.total_timeout_secs == 0 {
            return Err(SettingsError::Invalid("timeouts must be at least 1 second".into()));
        }
        if self.max_body_bytes < 1024 {
            return Err(SettingsError::Invalid("the body limit must be at least 1 KiB".into()));
        }
        let bad_name = |n: &str| n.trim().is_empty() || n.contains([';', '=', ',']);
        if let Some((name, _)) = self.aliases.iter().find(|(n, t)| bad_name(n) || t.is_empty()) {
            return Err(SettingsError::Invalid(format!("alias `{name}` has no name or no target")));
        }
        if let Some((name, _)) = self.pins.iter().find(|(n, a)| bad_name(n) || a.is_empty()) {
            return Err(SettingsError::Invalid(format!("pin `{name}` has no model or no account")));
        }
        Ok(())
    }

    /// The listen address as a socket address.
    pub fn listen_addr(&self) -> Result<SocketAddr, SettingsError> {
        parse_listen(&self.listen)
    }
}

/// Parses `HOST:PORT` (an IP address, `localhost`, or a bare port meaning 127.0.0.1).
pub fn parse_listen(s: &str) -> Result<SocketAddr, SettingsError> {
    let t = s.trim();
    if let Ok(port) = t.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Some(port) = t.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| SettingsError::Invalid(format!("`{t}`: bad port")))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    t.parse().map_err(|_| SettingsError::Invalid(format!("`{t}` is not an address such as 127.0.0.1:8765")))
}

/// Why settings were not saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value that cannot work.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        let s = GatewaySettings::default();
        s.validate().unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<GatewaySettings>(&json).unwrap(), s);
        // Missing fields (an older save) fall back to defaults.
        let old: GatewaySettings = serde_json::from_str(r#"{"policy":"fastest"}"#).unwrap();
        assert_eq!(old.policy, Policy::Fastest);
        assert_eq!(old.max_attempts, 3);
    }

    #[test]
    fn listen_must_be_loopback_and_values_sane() {
        let bad = |f: fn(&mut GatewaySettings)| {
            let mut s = GatewaySettings::default();
            f(&mut s);
            s.validate().unwrap_err().to_string()
        };
        assert!(bad(|s| s.listen = "0.0.0.0:8765".into()).contains("not loopback"));
        assert!(bad(|s| s.listen = "nope".into()).contains("not an address"));
        assert!(bad(|s| s.max_attempts = 0).contains("1 to 10"));
        assert!(bad(|s| s.idle_timeout_secs = 0).contains("timeouts"));
        assert!(
            bad(|s| {
                s.aliases.insert("x".into(), vec![]);
            })
            .contains("alias")
        );
        assert_eq!(parse_listen("9000").unwrap(), "127.0.0.1:9000".parse().unwrap());
        assert_eq!(parse_listen("localhost:9001").unwrap(), "127.0.0.1:9001".parse().unwrap());
        assert!(parse_listen("[::1]:9002").unwrap().ip().is_loopback());
    }

    #[test]
    fn policies_and_alias_targets_parse() {
        for p in Policy::ALL {
            assert_eq!(Policy::parse(p.as_str()), Some(p));
        }
        assert_eq!(Policy::parse(" Balance "), Some(Policy::Balance));
        assert_eq!(Policy::parse("random"), None);
        assert_eq!(AliasTarget::parse("gpt-4o#3").unwrap(), AliasTarget { model: "gpt-4o".into(), account: Some(3) });
        assert_eq!(AliasTarget::parse("claude").unwrap().account, None);
        assert_eq!(AliasTarget::parse("claude-3-5-sonnet@20240620").unwrap().account, None, "@ belongs to the name");
        assert!(AliasTarget::parse("x#y").is_err());
        assert!(AliasTarget::parse("#3").is_err());
        assert_eq!(AliasTarget::parse("m#7").unwrap().to_string(), "m#7");
    }

    #[test]
    fn aliases_pins_and_order_are_one_line_of_text_each() {
        let mut s = GatewaySettings::default();
        s.aliases.insert(
            "sonnet".into(),
            vec![
                AliasTarget { model: "claude-sonnet-4-5".into(), account: None },
                AliasTarget { model: "c@1".into(), account: Some(3) },
            ],
        );
        s.aliases.insert("fast".into(), vec![AliasTarget { model: "m1".into(), account: None }]);
        s.pins.insert("gpt-4o".into(), vec![3, 1]);
        s.order = vec![3, 1, 2];
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["aliases"], "fast=m1; sonnet=claude-sonnet-4-5,c@1#3");
        assert_eq!(v["pins"], "gpt-4o=3,1");
        assert_eq!(v["order"], "3,1,2");
        assert!(v.as_object().unwrap().values().all(|x| !x.is_object() && !x.is_array()), "every field a plain value");
        assert_eq!(serde_json::from_value::<GatewaySettings>(v).unwrap(), s);
        assert_eq!(text::parse_aliases(" a = x , y ;; b=z ").unwrap().len(), 2);
        assert!(text::parse_aliases("a").is_err());
        assert!(text::parse_aliases("a=").is_err());
        assert!(text::parse_pins("m=1,x").is_err());
        assert!(text::parse_order("1, 2,").unwrap() == [1, 2]);
        assert!(serde_json::from_str::<GatewaySettings>(r#"{"pins":"m=oops"}"#).is_err());
    }
}
