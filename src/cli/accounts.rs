//! `apihub accounts add`: build the account, verify it against the site, save it.

use std::process::ExitCode;

use clap::Args;

use crate::domain::network::{SiteNetwork, SiteProxy, validate_proxy_url};
use crate::domain::validate;
use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use crate::relay::login::LoginStep;
use crate::relay::{AccountRef, RelayClient};
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
    /// System access token (personal settings → access token); `-` reads it from stdin.
    /// Other users may see command-line arguments: prefer --token-env or `-`.
    #[arg(long, group = "token_src", requires = "user_id", conflicts_with_all = ["key_src", "cookie_src", "username"])]
    pub token: Option<String>,
    /// Read the access token from this environment variable.
    #[arg(long, value_name = "VAR", group = "token_src", requires = "user_id",
          conflicts_with_all = ["key_src", "cookie_src", "username"])]
    pub token_env: Option<String>,
    /// Sign in with a username (and `--password`); add `--mint-token` to keep a long-lived token.
    #[arg(long, requires = "password_src", conflicts_with_all = ["key_src", "cookie_src"])]
    pub username: Option<String>,
    /// The password for `--username` (used once; never stored); `-` reads it from stdin.
    #[arg(long, group = "password_src", requires = "username")]
    pub password: Option<String>,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", group = "password_src", requires = "username")]
    pub password_env: Option<String>,
    /// A two-step verification code (TOTP or backup code) for password sign-in.
    #[arg(long, requires = "username")]
    pub totp: Option<String>,
    /// After a password or cookie sign-in, create a new access token for the account
    /// (this REPLACES the user's existing access token on the site).
    #[arg(long)]
    pub mint_token: bool,
    /// Numeric user id on the site.
    #[arg(long)]
    pub user_id: Option<String>,
    /// A browser cookie (`session=…; cf_clearance=…`); `-` reads it from stdin.
    #[arg(long, group = "cookie_src", conflicts_with = "key_src")]
    pub cookie: Option<String>,
    /// Read the cookie from this environment variable.
    #[arg(long, value_name = "VAR", group = "cookie_src", conflicts_with = "key_src")]
    pub cookie_env: Option<String>,
    /// With `--cookie`: the User-Agent its `cf_clearance` was issued to (sent with it).
    /// Otherwise: the site's own User-Agent for every request.
    #[arg(long)]
    pub user_agent: Option<String>,
    /// The site's own proxy: `http://`, `https://` or `socks5://[user:pass@]host:port`,
    /// or `none` to connect directly whatever the global proxy is.
    #[arg(long, value_name = "URL|none")]
    pub proxy: Option<String>,
    /// Only an OpenAI-style key (`sk-…`): balance from the billing endpoints; `-` reads
    /// it from stdin.
    #[arg(long, group = "key_src")]
    pub api_key: Option<String>,
    /// Read the API key from this environment variable.
    #[arg(long, value_name = "VAR", group = "key_src")]
    pub api_key_env: Option<String>,
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

/// The secrets of `accounts add`, read once from the arguments, the environment or stdin.
#[derive(Default)]
pub struct AddSecrets {
    token: Option<String>,
    password: Option<String>,
    cookie: Option<String>,
    api_key: Option<String>,
}

impl AddSecrets {
    /// Reads each secret from its flag (`-` = one line of stdin) or its `…-env` variable.
    pub fn read(args: &AddArgs) -> anyhow::Result<AddSecrets> {
        let mut stdin_used = None;
        let mut one = |flag: &'static str, value: &Option<String>, env: &Option<String>| {
            super::secret_input(flag, value.as_deref(), env.as_deref(), &mut stdin_used)
        };
        Ok(AddSecrets {
            token: one("--token", &args.token, &args.token_env)?,
            password: one("--password", &args.password, &args.password_env)?,
            cookie: one("--cookie", &args.cookie, &args.cookie_env)?,
            api_key: one("--api-key", &args.api_key, &args.api_key_env)?,
        })
    }
}

/// Builds the account from the arguments, checked by `domain::validate`.
fn new_account(args: &AddArgs, secrets: &AddSecrets) -> anyhow::Result<NewAccount> {
    let kind = parse_kind(args.kind.as_deref())?;
    let (auth, credentials) = if let Some(token) = &secrets.token {
        (AuthMethod::AccessToken, Credentials { access_token: Some(token.clone()), ..Default::default() })
    } else if let Some(cookie) = &secrets.cookie {
        let creds =
            Credentials { cookie: Some(cookie.clone()), user_agent: args.user_agent.clone(), ..Default::default() };
        (AuthMethod::Cookie, creds)
    } else if let Some(key) = &secrets.api_key {
        (AuthMethod::ApiKey, Credentials { api_key: Some(key.clone()), ..Default::default() })
    } else {
        anyhow::bail!(
            "give one sign-in method: --token with --user-id, --username with --password, --cookie, or --api-key"
        );
    };
    Ok(validate::account_to_add(&NewAccount {
        site_name: args.name.clone().unwrap_or_default(),
        site_url: args.url.clone(),
        kind,
        user_id: args.user_id.clone().unwrap_or_default(),
        username: String::new(),
        auth,
        credentials,
    })?)
}

/// Signs in with a password (and 2FA code) and returns the account to store.
async fn password_account(
    client: &RelayClient,
    args: &AddArgs,
    secrets: &AddSecrets,
    kind: SiteKind,
) -> anyhow::Result<NewAccount> {
    let url = validate::site_url(&args.url)?;
    let user = validate::user_ref("username", args.username.as_deref().unwrap_or_default())?;
    let pass = secrets.password.as_deref().unwrap_or_default();
    validate::password(pass)?;
    let user = user.as_str();
    let result = match client.login_password(&url, kind, user, pass).await? {
        LoginStep::Done(r) => r,
        LoginStep::Needs2fa(pending) => match &args.totp {
            Some(code) => client.login_2fa(&pending, code).await?,
            None => anyhow::bail!("this account uses two-step verification: run again with --totp CODE"),
        },
    };
    Ok(NewAccount {
        site_url: url,
        site_name: args.name.clone().unwrap_or_default(),
        kind,
        user_id: result.user_id,
        username: result.username,
        auth: result.auth,
        credentials: result.credentials,
    })
}

/// Replaces a session credential with a newly minted long-lived access token.
async fn mint(client: &RelayClient, acc: &mut NewAccount) -> anyhow::Result<()> {
    let target =
        AccountRef { site_url: acc.site_url.clone(), kind: acc.kind, user_id: acc.user_id.clone(), auth: acc.auth };
    let token = client.mint_access_token(&target, &acc.credentials).await?;
    acc.auth = AuthMethod::AccessToken;
    acc.credentials = Credentials { access_token: Some(token), ..Default::default() };
    eprintln!("note: a new access token was created; the previous one on the site no longer works");
    Ok(())
}

/// Detects the kind unless the user gave one. A guess is used but said so.
async fn resolve_kind(client: &RelayClient, args: &AddArgs) -> anyhow::Result<SiteKind> {
    if args.kind.is_some() {
        return parse_kind(args.kind.as_deref());
    }
    match client.detect(&args.url).await {
        Ok(d) => {
            eprintln!("detected {} ({:?}): {}", d.kind, d.confidence, d.reason);
            Ok(d.kind)
        }
        Err(e) => {
            eprintln!("could not detect the site kind ({e}); using the generic new-api family");
            Ok(SiteKind::Unknown)
        }
    }
}

/// The site's own network settings from `--proxy` and (without `--cookie`) `--user-agent`;
/// `None` when neither was given (the stored ones are then kept).
fn site_network(args: &AddArgs) -> anyhow::Result<Option<SiteNetwork>> {
    let proxy = match args.proxy.as_deref().map(str::trim) {
        None => SiteProxy::Inherit,
        Some("none") => SiteProxy::Direct,
        Some(u) => {
            validate_proxy_url(u).map_err(|e| anyhow::anyhow!("--proxy: {e}"))?;
            SiteProxy::Url(u.to_string())
        }
    };
    let user_agent =
        if args.cookie.is_some() { None } else { args.user_agent.clone().filter(|u| !u.trim().is_empty()) };
    let net = SiteNetwork { proxy, user_agent };
    Ok((!net.is_default()).then_some(net))
}

/// Runs `accounts add`.
pub fn add(store: Store, args: &AddArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let secrets = AddSecrets::read(args)?;
    // Refuse a bad URL or credential before asking the site anything.
    validate::site_url(&args.url)?;
    if args.username.is_none() {
        new_account(args, &secrets)?;
    }
    let client = super::relay_client(&store)?;
    let net = site_network(args)?;
    if let Some(net) = &net {
        client.set_site_network(&args.url, net.clone());
    }
    let acc = rt.block_on(async {
        let kind = resolve_kind(&client, args).await?;
        let mut acc = if args.username.is_some() {
            password_account(&client, args, &secrets, kind).await?
        } else {
            let mut acc = new_account(args, &secrets)?;
            acc.kind = kind;
            acc
        };
        if args.mint_token {
            if acc.auth == AuthMethod::AccessToken || acc.auth == AuthMethod::ApiKey {
                anyhow::bail!("--mint-token only applies to --username/--password or --cookie sign-in");
            }
            mint(&client, &mut acc).await?;
        }
        anyhow::Ok(acc)
    })?;
    let shared = crate::store::SharedStore::new(store);
    let added = rt.block_on(crate::engine::add_account(&client, &shared, acc, !args.no_verify))?;
    if let Some(net) = &net {
        let mut s = shared.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
        s.set_site_network_by_url(&added.account.site_url, net)?;
    }
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
        let acc = new_account(&a, &AddSecrets::read(&a).unwrap()).unwrap();
        assert_eq!(acc.site_url, "https://x.com");
        assert_eq!(acc.kind, SiteKind::Veloera);
        assert_eq!(acc.credentials.access_token.as_deref(), Some("t"));
        let built = |args: &[&str]| {
            let a = parse(args).unwrap();
            new_account(&a, &AddSecrets::read(&a).unwrap())
        };
        assert!(built(&["--url", "x.com", "--kind", "nope", "--api-key", "k"]).is_err());
        assert!(built(&["--url", "x.com"]).is_err());
        assert!(parse(&["--url", "x.com", "--token-env", "T", "--user-id", "1", "--token", "t"]).is_err());
        assert!(parse(&["--url", "x.com", "--token-env", "T"]).is_err(), "a token needs a user id");
        assert!(parse(&["--url", "x.com", "--api-key-env", "K", "--cookie", "c=1"]).is_err());
    }

    #[test]
    fn proxy_and_user_agent_make_the_site_network() {
        let a = parse(&["--url", "x.com", "--api-key", "k", "--proxy", "none", "--user-agent", "UA/2"]).unwrap();
        let net = site_network(&a).unwrap().unwrap();
        assert_eq!(net.proxy, SiteProxy::Direct);
        assert_eq!(net.user_agent.as_deref(), Some("UA/2"));
        // With a cookie the User-Agent belongs to the cookie, not the site.
        let a = parse(&["--url", "x.com", "--cookie", "c=1", "--user-agent", "UA/3"]).unwrap();
        assert_eq!(site_network(&a).unwrap(), None);
        assert_eq!(
            new_account(&a, &AddSecrets::read(&a).unwrap()).unwrap().credentials.user_agent.as_deref(),
            Some("UA/3")
        );
        let a = parse(&["--url", "x.com", "--api-key", "k", "--proxy", "ftp://p"]).unwrap();
        assert!(site_network(&a).is_err());
    }
}
