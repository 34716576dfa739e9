//! The gateway's settings: the `gateway.*` section of [`crate::domain::settings::Settings`].
//! Every field is a plain value (aliases, pins and the order are one line of text each),
//! so each is one dotted settings key (`apihub settings set gateway.policy fastest`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::domain::AccountId;
use crate::domain::pricing::Preset;

/// Where the gateway listens unless told otherwise (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8765";

/// How candidates for a model are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Lowest real cost first (model price × group ratio × the account's paid ratio; see
    /// `gateway::routes` for accounts without a paid ratio).
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

/// Whether `name` can be an alias or a pinned model name (the one-line text form keeps
/// `;`, `=` and `,` as separators).
pub fn valid_route_name(name: &str) -> bool {
    !name.trim().is_empty() && !name.contains([';', '=', ','])
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

    pub(super) fn map_text<T: std::fmt::Display>(m: &BTreeMap<String, Vec<T>>) -> String {
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
    /// The listen address as a socket address.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        parse_listen(&self.listen)
    }

    /// Values serde accepts but the gateway cannot use: `(key, what it takes)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        match parse_listen(&self.listen) {
            Ok(a) if a.ip().is_loopback() => {}
            Ok(_) => p.push((
                "gateway.listen",
                "a loopback address (127.0.0.1:PORT); `apihub serve --listen` may choose another".into(),
            )),
            Err(e) => p.push(("gateway.listen", e)),
        }
        if !(1..=10).contains(&self.max_attempts) {
            p.push(("gateway.max_attempts", "1 to 10".into()));
        }
        for (key, v) in [
            ("gateway.first_byte_timeout_secs", self.first_byte_timeout_secs),
            ("gateway.idle_timeout_secs", self.idle_timeout_secs),
            ("gateway.total_timeout_secs", self.total_timeout_secs),
        ] {
            if !(1..=86_400).contains(&v) {
                p.push((key, "1 to 86400 seconds".into()));
            }
        }
        if self.max_body_bytes < 1024 {
            p.push(("gateway.max_body_bytes", "1024 bytes or more".into()));
        }
        p
    }
}

/// Parses `HOST:PORT` (an IP address, `localhost`, or a bare port meaning 127.0.0.1).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    if let Ok(port) = t.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Some(port) = t.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("`{t}`: bad port"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    t.parse().map_err(|_| format!("`{t}` is not an address such as 127.0.0.1:8765"))
}

/// Settings whose values name accounts by id. Ids belong to one device; sync carries
/// these values with each account as `[site key URL, identity]` ([`refs_of`],
/// [`text_of`]).
pub const ACCOUNT_REF_KEYS: &[&str] = &["gateway.aliases", "gateway.pins", "gateway.order"];

/// An account as every device names it: site key URL, identity.
pub type AccountRef = (String, String);

/// The value of an [`ACCOUNT_REF_KEYS`] setting with accounts as refs (JSON: pins
/// `{"m": [[url, identity], …]}`, order `[[url, identity], …]`, aliases
/// `{"a": [{"model": "m", "account": [url, identity]}, …]}`). Ids `name_of` does not
/// know are left out. `None`: not such a key, or text that does not parse.
pub fn refs_of(key: &str, text: &str, name_of: impl Fn(AccountId) -> Option<AccountRef>) -> Option<serde_json::Value> {
    use serde_json::{Value, json};
    let r = |id: AccountId| name_of(id).map(|(u, i)| json!([u, i]));
    let list = |ids: &[AccountId]| Value::Array(ids.iter().filter_map(|id| r(*id)).collect());
    Some(match key {
        "gateway.pins" => Value::Object(
            text::parse_pins(text)
                .ok()?
                .iter()
                .map(|(m, ids)| (m.clone(), list(ids)))
                .filter(|(_, l)| l != &json!([]))
                .collect(),
        ),
        "gateway.order" => list(&text::parse_order(text).ok()?),
        "gateway.aliases" => Value::Object(
            text::parse_aliases(text)
                .ok()?
                .into_iter()
                .map(|(alias, targets)| {
                    let targets = targets.iter().filter_map(|t| match t.account {
                        None => Some(json!({"model": t.model})),
                        Some(id) => r(id).map(|a| json!({"model": t.model, "account": a})),
                    });
                    (alias, Value::Array(targets.collect()))
                })
                .filter(|(_, l)| l != &json!([]))
                .collect(),
        ),
        _ => return None,
    })
}

/// The inverse of [`refs_of`]: the setting's text with this device's ids (refs `id_of`
/// does not know are left out). `None`: not such a key or not such a value.
pub fn text_of(
    key: &str,
    value: &serde_json::Value,
    id_of: impl Fn(&str, &str) -> Option<AccountId>,
) -> Option<String> {
    use serde_json::Value;
    let id = |v: &Value| match v.as_array().map(Vec::as_slice) {
        Some([Value::String(u), Value::String(i)]) => id_of(u, i),
        _ => None,
    };
    let ids = |v: &Value| v.as_array().map(|l| l.iter().filter_map(id).collect::<Vec<AccountId>>());
    match key {
        "gateway.pins" => {
            let pins: BTreeMap<String, Vec<AccountId>> = value
                .as_object()?
                .iter()
                .filter_map(|(m, l)| ids(l).filter(|l| !l.is_empty()).map(|l| (m.clone(), l)))
                .collect();
            Some(text::map_text(&pins))
        }
        "gateway.order" => Some(ids(value)?.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")),
        "gateway.aliases" => {
            let mut aliases: BTreeMap<String, Vec<AliasTarget>> = BTreeMap::new();
            for (alias, targets) in value.as_object()? {
                let list: Vec<AliasTarget> = targets
                    .as_array()?
                    .iter()
                    .filter_map(|t| {
                        let model = t.get("model")?.as_str()?.to_string();
                        match t.get("account") {
                            None | Some(Value::Null) => Some(AliasTarget { model, account: None }),
                            Some(a) => id(a).map(|id| AliasTarget { model, account: Some(id) }),
                        }
                    })
                    .collect();
                if !list.is_empty() {
                    aliases.insert(alias.clone(), list);
                }
            }
            Some(text::map_text(&aliases))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_travel_as_site_and_identity_and_come_back_as_the_ids_here() {
        let name_of = |id: AccountId| (id < 9).then(|| ("https://x".to_string(), format!("uid:{id}")));
        let v = refs_of("gateway.pins", "gpt-4o=3,9,1; only-gone=9", name_of).unwrap();
        assert_eq!(v, serde_json::json!({"gpt-4o": [["https://x", "uid:3"], ["https://x", "uid:1"]]}));
        // Another device numbers the same accounts differently.
        let id_of =
            |u: &str, i: &str| (u == "https://x").then(|| 100 + i.trim_start_matches("uid:").parse::<i64>().unwrap());
        assert_eq!(text_of("gateway.pins", &v, id_of).unwrap(), "gpt-4o=103,101");
        let a = refs_of("gateway.aliases", "s=m1,m2#3", name_of).unwrap();
        assert_eq!(text_of("gateway.aliases", &a, id_of).unwrap(), "s=m1,m2#103");
        let o = refs_of("gateway.order", "3,1", name_of).unwrap();
        assert_eq!(text_of("gateway.order", &o, id_of).unwrap(), "103,101");
        assert_eq!(refs_of("gateway.policy", "order", name_of), None);
    }

    #[test]
    fn defaults_validate_and_round_trip() {
        let s = GatewaySettings::default();
        assert!(s.problems().is_empty());
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
            s.problems().into_iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")
        };
        assert!(bad(|s| s.listen = "0.0.0.0:8765".into()).contains("gateway.listen: a loopback address"));
        assert!(bad(|s| s.listen = "nope".into()).contains("not an address"));
        assert!(bad(|s| s.max_attempts = 0).contains("gateway.max_attempts: 1 to 10"));
        assert!(bad(|s| s.idle_timeout_secs = 0).contains("gateway.idle_timeout_secs"));
        assert!(bad(|s| s.max_body_bytes = 10).contains("gateway.max_body_bytes"));
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
