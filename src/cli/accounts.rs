//! `apihub accounts add`: build the account, verify it against the site, save it.

use std::process::ExitCode;

use clap::Args;

use crate::domain::account::normalize_site_url;
use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use crate::relay::{ClientConfig, RelayClient};
use crate::store::Store;

/// `apihub accounts add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The site's base URL.
    #[arg(long)]
    pub url: String,
    /// Site kind (one-api, new-api, veloera, one-hub, done-hub, voapi, voapi-v2, super-api,
    /// sub2api, anyrouter, unknown). Default: unknown (handled as generic new-api).
    #[arg(long)]
    pub kind: Option<String>,
    /// Display name of the site (default: the site's own name).
    #[arg(long)]
    pub name: Option<String>,
    /// System access token (personal settings → access token).
    #[arg(long, requires = "user_id", conflicts_with_all = ["api_key", "cookie"])]
    pub token: Option<String>,
    /// Numeric user id on the site.
    #[arg(long)]
    pub user_id: Option<String>,
    /// A browser cookie (`session=…; cf_clearance=…`).
    #[arg(long, conflicts_with = "api_key")]
    pub cookie: Option<String>,
    /// The User-Agent the cookie's `cf_clearance` was issued to.
    #[arg(long, requires = "cookie")]
    pub user_agent: Option<String>,
    /// Only an OpenAI-style key (`sk-…`): balance from the billing endpoints.
    #[arg(long)]
    pub api_key: Option<String>,
    /// Save without checking the credentials against the site.
    #[arg(long)]
    pub no_verify: bool,
}

fn parse_kind(kind: Option<&str>) -> anyhow::Result<SiteKind> {
    match kind {
        None => Ok(SiteKind::Unknown),
        Some(k) => SiteKind::parse(k).ok_or_else(|| {
            let all: Vec<&str> = SiteKind::ALL.iter().map(|k| k.as_str()).collect();
            anyhow::anyhow!("unknown kind {k:?}; one of: {}", all.join(", "))
        }),
    }
}

/// Builds the account from the arguments.
fn new_account(args: &AddArgs) -> anyhow::Result<NewAccount> {
    let kind = parse_kind(args.kind.as_deref())?;
    let url = normalize_site_url(&args.url);
    if url::Url::parse(&url).map(|u| u.host().is_none()).unwrap_or(true) {
        anyhow::bail!("{:?} is not a site URL", args.url);
    }
    let (auth, credentials) = if let Some(token) = &args.token {
        (AuthMethod::AccessToken, Credentials { access_token: Some(token.trim().to_string()), ..Default::default() })
    } else if let Some(cookie) = &args.cookie {
        let creds = Credentials {
            cookie: Some(cookie.trim().to_string()),
            user_agent: args.user_agent.clone(),
            ..Default::default()
        };
        (AuthMethod::Cookie, creds)
    } else if let Some(key) = &args.api_key {
        (AuthMethod::ApiKey, Credentials { api_key: Some(key.trim().to_string()), ..Default::default() })
    } else {
        anyhow::bail!("give one sign-in method: --token with --user-id, --cookie, or --api-key");
    };
    Ok(NewAccount {
        site_name: args.name.clone().unwrap_or_default(),
        site_url: url,
        kind,
        user_id: args.user_id.clone().unwrap_or_default().trim().to_string(),
        username: String::new(),
        auth,
        credentials,
    })
}

/// Runs `accounts add`.
pub fn add(store: Store, args: &AddArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let acc = new_account(args)?;
    let client = RelayClient::new(ClientConfig::default())?;
    let shared = std::sync::Arc::new(std::sync::Mutex::new(store));
    let added = rt.block_on(crate::engine::add_account(&client, &shared, acc, !args.no_verify))?;
    if added.state.is_some() {
        println!("account {}: {} on {}", added.id, added.summary(), added.account.site_url);
    } else {
        println!("account {}: saved without verification", added.id);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<AddArgs, clap::Error> {
        #[derive(Parser, Debug)]
        struct T {
            #[command(flatten)]
            a: AddArgs,
        }
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|t| t.a)
    }

    #[test]
    fn token_needs_a_user_id_and_methods_exclude_each_other() {
        assert!(parse(&["--url", "x.com", "--token", "t"]).is_err());
        assert!(parse(&["--url", "x.com", "--token", "t", "--user-id", "1", "--api-key", "sk-1"]).is_err());
        let a = parse(&["--url", "x.com/", "--token", " t ", "--user-id", "1", "--kind", "veloera"]).unwrap();
        let acc = new_account(&a).unwrap();
        assert_eq!(acc.site_url, "https://x.com");
        assert_eq!(acc.kind, SiteKind::Veloera);
        assert_eq!(acc.credentials.access_token.as_deref(), Some("t"));
        assert!(new_account(&parse(&["--url", "x.com", "--kind", "nope", "--api-key", "k"]).unwrap()).is_err());
        assert!(new_account(&parse(&["--url", "x.com"]).unwrap()).is_err());
    }
}
