//! The local gateway's plain data: the endpoints it serves, one accounting record per
//! upstream attempt, the usage read from a reply, and its settings ([`GatewaySettings`],
//! the `gateway.*` section of [`super::settings::Settings`]).

use serde::{Deserialize, Serialize};

use super::AccountId;
use super::pricing::{BillingType, PriceRow, TOKENS_PER_MILLION};

mod settings;
pub use settings::{
    ACCOUNT_REF_KEYS, AccountRef, AliasTarget, DEFAULT_LISTEN, GatewaySettings, Policy, parse_listen, refs_of, text,
    text_of, valid_route_name,
};

/// A generation endpoint the gateway routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    #[serde(rename = "chat")]
    ChatCompletions,
    /// `POST /v1/completions`.
    Completions,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/messages` (Anthropic).
    Messages,
    /// `POST /v1/messages/count_tokens` (Anthropic).
    CountTokens,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::ChatCompletions,
        Endpoint::Completions,
        Endpoint::Embeddings,
        Endpoint::Responses,
        Endpoint::Messages,
        Endpoint::CountTokens,
    ];

    /// The path clients call.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Completions => "/v1/completions",
            Endpoint::Embeddings => "/v1/embeddings",
            Endpoint::Responses => "/v1/responses",
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
        }
    }

    /// Stable short name (logs, the store, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Responses => "responses",
            Endpoint::Messages => "messages",
            Endpoint::CountTokens => "count_tokens",
        }
    }

    /// Inverse of [`Endpoint::as_str`].
    pub fn parse(s: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// Anthropic's protocol (`x-api-key` upstream, Anthropic error shapes).
    pub fn is_anthropic(self) -> bool {
        matches!(self, Endpoint::Messages | Endpoint::CountTokens)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of endpoints (a bit mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EndpointSet(u8);

impl EndpointSet {
    /// Whether `e` is in the set.
    pub fn contains(self, e: Endpoint) -> bool {
        self.0 & e.bit() != 0
    }

    /// The set with `e` added.
    pub fn with(self, e: Endpoint) -> EndpointSet {
        EndpointSet(self.0 | e.bit())
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set ∩ `other`.
    pub fn intersect(self, other: EndpointSet) -> EndpointSet {
        EndpointSet(self.0 & other.0)
    }

    /// The endpoints in the set, in [`Endpoint::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Endpoint> {
        Endpoint::ALL.into_iter().filter(move |e| self.contains(*e))
    }
}

impl FromIterator<Endpoint> for EndpointSet {
    fn from_iter<I: IntoIterator<Item = Endpoint>>(iter: I) -> Self {
        iter.into_iter().fold(EndpointSet::default(), EndpointSet::with)
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The upstream answered and the reply reached the client.
    Ok,
    /// The upstream failed before any byte reached the client; another candidate was tried
    /// (or none was left).
    Failover,
    /// The upstream said the request is at fault; its answer went to the client unchanged.
    ClientError,
    /// The reply broke after its first bytes (timeout, reset): the stream was closed with an error event.
    StreamError,
    /// The client went away before the reply ended; the upstream request was dropped.
    Cancelled,
    /// The gateway answered itself (unknown model, nothing available); no upstream was asked.
    Rejected,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 6] = [
        Outcome::Ok,
        Outcome::Failover,
        Outcome::ClientError,
        Outcome::StreamError,
        Outcome::Cancelled,
        Outcome::Rejected,
    ];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failover => "failover",
            Outcome::ClientError => "client_error",
            Outcome::StreamError => "stream_error",
            Outcome::Cancelled => "cancelled",
            Outcome::Rejected => "rejected",
        }
    }

    /// Inverse of [`Outcome::as_str`].
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// Tokens from a reply's usage block (any spelling: OpenAI chat, Responses, Anthropic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens (without Anthropic's cache reads and writes).
    pub prompt_tokens: Option<i64>,
    /// Output tokens.
    pub completion_tokens: Option<i64>,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: Option<i64>,
    /// Tokens written to the prompt cache.
    pub cache_write_tokens: Option<i64>,
}

impl Usage {
    /// Whether any figure is known.
    pub fn is_known(&self) -> bool {
        self.prompt_tokens.is_some() || self.completion_tokens.is_some()
    }

    /// Reads one usage object: `prompt_tokens`/`input_tokens`, `completion_tokens`/
    /// `output_tokens`, `cache_read_input_tokens` or `…_details.cached_tokens`,
    /// `cache_creation_input_tokens`.
    pub fn from_json(u: &serde_json::Value) -> Usage {
        let int = |k: &str| u.get(k).and_then(serde_json::Value::as_i64);
        let cached = u
            .get("prompt_tokens_details")
            .or_else(|| u.get("input_tokens_details"))
            .and_then(|d| d.get("cached_tokens"))
            .and_then(serde_json::Value::as_i64);
        Usage {
            prompt_tokens: int("prompt_tokens").or_else(|| int("input_tokens")),
            completion_tokens: int("completion_tokens").or_else(|| int("output_tokens")),
            cache_read_tokens: int("cache_read_input_tokens").or(cached),
            cache_write_tokens: int("cache_creation_input_tokens"),
        }
    }

    /// Takes every figure `other` knows (a later usage block completes an earlier one, as
    /// Anthropic's `message_delta` completes `message_start`).
    pub fn merge(&mut self, other: Usage) {
        let take = |a: &mut Option<i64>, b: Option<i64>| {
            if let Some(v) = b.filter(|v| *v > 0 || a.is_none()) {
                *a = Some(v);
            }
        };
        take(&mut self.prompt_tokens, other.prompt_tokens);
        take(&mut self.completion_tokens, other.completion_tokens);
        take(&mut self.cache_read_tokens, other.cache_read_tokens);
        take(&mut self.cache_write_tokens, other.cache_write_tokens);
    }

    /// What these tokens cost at `price`, in USD: per-token meters (an unknown meter with
    /// tokens makes it unknown; OpenAI's cached tokens are inside the prompt count and are
    /// billed at the cache price when one is given), or the per-call price.
    pub fn cost_usd(&self, price: &PriceRow) -> Option<f64> {
        match price.billing_type()? {
            BillingType::PerCall => price.usd_per_call,
            BillingType::PerToken => {
                let per = |tokens: Option<i64>, usd_1m: Option<f64>| -> Option<f64> {
                    match tokens {
                        None | Some(0) => Some(0.0),
                        Some(t) => Some(t as f64 * usd_1m? / TOKENS_PER_MILLION),
                    }
                };
                if !self.is_known() {
                    return None;
                }
                Some(
                    per(self.prompt_tokens, price.input_usd_per_1m)?
                        + per(self.completion_tokens, price.output_usd_per_1m)?
                        + per(self.cache_read_tokens, price.cache_read_usd_per_1m.or(price.input_usd_per_1m))?
                        + per(self.cache_write_tokens, price.cache_write_usd_per_1m.or(price.input_usd_per_1m))?,
                )
            }
        }
    }
}

/// One upstream attempt (or one request the gateway answered itself), as accounted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// When the request arrived (Unix milliseconds).
    pub at_ms: i64,
    /// The request's id (attempts of one request share it).
    pub request_id: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The model the client asked for.
    pub client_model: String,
    /// The account tried (None when no upstream was asked).
    pub account_id: Option<AccountId>,
    /// The key's id on the site (0 = the account's own key).
    pub key_id: Option<i64>,
    /// The model name sent upstream.
    pub upstream_model: String,
    /// A streamed request.
    pub stream: bool,
    /// The upstream's HTTP status (0 when there was none: connect failure, timeout), or the
    /// gateway's own status for [`Outcome::Rejected`].
    pub status: u16,
    /// How it ended.
    pub outcome: Outcome,
    /// The failure class (`transient`, `rate_limited`, `key_auth`, …), when it failed.
    pub error_class: Option<String>,
    /// One short line (redacted; never a body).
    pub message: String,
    /// From arrival to the end of this attempt.
    pub latency_ms: f64,
    /// From arrival to the attempt's first body bytes.
    pub ttfb_ms: Option<f64>,
    /// Tokens, when the reply carried a usage block.
    pub usage: Usage,
    /// Cost in USD of quota at the candidate's price.
    pub cost_usd: Option<f64>,
    /// Real cost (USD × the account's paid ratio, in the paid currency).
    pub cost_real: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pricing::Billing;
    use serde_json::json;

    fn row(input: f64, output: f64) -> PriceRow {
        PriceRow {
            model: "m".into(),
            vendor: None,
            group: Some("default".into()),
            group_ratio: Some(1.0),
            billing: Billing::Ratio {
                model_ratio: 1.0,
                completion_ratio: Some(1.0),
                cache_read_ratio: None,
                cache_write_ratio: None,
            },
            quota_per_unit: 500_000.0,
            input_usd_per_1m: Some(input),
            output_usd_per_1m: Some(output),
            cache_read_usd_per_1m: None,
            cache_write_usd_per_1m: None,
            usd_per_call: None,
            cheapest_group: true,
        }
    }

    #[test]
    fn usage_reads_every_spelling_and_merges() {
        let chat = Usage::from_json(&json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4}}));
        assert_eq!(
            chat,
            Usage {
                prompt_tokens: Some(10),
                completion_tokens: Some(5),
                cache_read_tokens: Some(4),
                cache_write_tokens: None
            }
        );
        let mut a = Usage::from_json(&json!({"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 3}));
        a.merge(Usage::from_json(&json!({"output_tokens": 40})));
        assert_eq!((a.prompt_tokens, a.completion_tokens, a.cache_read_tokens), (Some(25), Some(40), Some(3)));
        // A later zero does not wipe a known figure.
        a.merge(Usage::from_json(&json!({"input_tokens": 0})));
        assert_eq!(a.prompt_tokens, Some(25));
    }

    #[test]
    fn cost_from_usage() {
        let u = Usage { prompt_tokens: Some(1_000_000), completion_tokens: Some(500_000), ..Usage::default() };
        assert!((u.cost_usd(&row(2.0, 8.0)).unwrap() - 6.0).abs() < 1e-9);
        assert_eq!(Usage::default().cost_usd(&row(2.0, 8.0)), None, "no usage: unknown");
        let mut r = row(2.0, 8.0);
        r.output_usd_per_1m = None;
        assert_eq!(u.cost_usd(&r), None, "a meter with tokens but no price: unknown");
        let mut call = row(0.0, 0.0);
        call.billing = Billing::CallUsd { usd_per_call: 0.04 };
        call.usd_per_call = Some(0.04);
        assert_eq!(u.cost_usd(&call), Some(0.04));
    }

    #[test]
    fn names_round_trip() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::parse(e.as_str()), Some(e));
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        let set: EndpointSet = [Endpoint::Messages, Endpoint::Embeddings].into_iter().collect();
        assert_eq!(set.iter().collect::<Vec<_>>(), [Endpoint::Embeddings, Endpoint::Messages]);
    }
}
