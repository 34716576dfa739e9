//! `apihub use TARGET (--account ID [--key KEY_ID] | --gateway) …` and `apihub use undo`:
//! put a key into a tool's config (diff first, backup, atomic write, undo), print a deep
//! link or a snippet, or import the key as a channel on a relay the user administers.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::ValueEnum;

use super::Cli;
use crate::domain::{AuthMethod, Credentials, SiteKind};
use crate::exports::{self, Homes, Options, Protocol, Scope, Source, Target, channel, links, snippets};
use crate::relay::AccountRef;
use crate::store::{SharedStore, resolve_data_dir};

/// `apihub use …`
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct UseArgs {
    /// `undo`: put back what the last write changed.
    #[command(subcommand)]
    pub action: Option<UseAction>,
    /// Where to put the key.
    #[arg(value_enum, value_name = "TARGET")]
    pub target: Option<Target>,
    /// The account whose key to use (see `accounts list`).
    #[arg(long = "account", value_name = "ID", conflicts_with = "gateway")]
    pub account: Option<i64>,
    /// The key's id on the site (see `keys list`); default: the first enabled key that may
    /// use the model, else the account's own key.
    #[arg(long = "key", value_name = "KEY_ID", requires = "account")]
    pub key: Option<i64>,
    /// Point the tool at the local gateway (`apihub serve`) instead of one site.
    #[arg(long)]
    pub gateway: bool,
    /// The model to set (and to check the key against).
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Show what would change (a unified diff, the link, the channel) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// File targets: the user's config (default) or the current project's.
    #[arg(long, value_enum, default_value = "user")]
    pub scope: Scope,
    /// The protocol to use the key with (default: Anthropic for Claude models on sites that
    /// serve /v1/messages, else OpenAI-compatible).
    #[arg(long, value_enum)]
    pub protocol: Option<Protocol>,
    /// cc-switch: the app to import into.
    #[arg(long, value_enum)]
    pub app: Option<links::CcApp>,
    /// new-api-channel: the relay's URL (with --admin-token or --admin-token-env).
    #[arg(long, value_name = "URL", conflicts_with = "admin_account")]
    pub admin_url: Option<String>,
    /// new-api-channel: an admin's system access token (prefer --admin-token-env).
    #[arg(long, value_name = "T", requires = "admin_url", conflicts_with = "admin_token_env")]
    pub admin_token: Option<String>,
    /// new-api-channel: read the admin token from this environment variable.
    #[arg(long, value_name = "VAR", requires = "admin_url")]
    pub admin_token_env: Option<String>,
    /// new-api-channel: the admin's user id (sent as New-Api-User and its kin).
    #[arg(long, value_name = "N", default_value = "1", requires = "admin_url")]
    pub admin_user_id: String,
    /// new-api-channel: the relay's kind (default: detected).
    #[arg(long, value_name = "KIND", requires = "admin_url")]
    pub admin_kind: Option<String>,
    /// new-api-channel: one of our accounts with admin rights on the relay.
    #[arg(long, value_name = "ID")]
    pub admin_account: Option<i64>,
    /// new-api-channel: the groups that may use the channel.
    #[arg(long, value_name = "G", default_value = "default")]
    pub channel_group: String,
    /// env: the shell syntax (default: PowerShell on Windows, else POSIX).
    #[arg(long, value_enum)]
    pub shell: Option<snippets::Shell>,
}

/// `apihub use undo`.
#[derive(Debug, clap::Subcommand)]
pub enum UseAction {
    /// Restore the files of the last write (of TARGET, when given) from its backups.
    Undo {
        /// Only the last write of this target.
        #[arg(value_enum)]
        target: Option<Target>,
        /// Show the diff of the undo and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

// Targets and CC Switch apps are clap values through their own names (`as_str`).
impl ValueEnum for Target {
    fn value_variants<'a>() -> &'a [Self] {
        &Target::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()).help(self.describe()))
    }
}

impl ValueEnum for Protocol {
    fn value_variants<'a>() -> &'a [Self] {
        &[Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl ValueEnum for Scope {
    fn value_variants<'a>() -> &'a [Self] {
        &[Scope::User, Scope::Project]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            Scope::User => "user",
            Scope::Project => "project",
        }))
    }
}

impl ValueEnum for snippets::Shell {
    fn value_variants<'a>() -> &'a [Self] {
        &[snippets::Shell::Posix, snippets::Shell::PowerShell]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            snippets::Shell::Posix => "posix",
            snippets::Shell::PowerShell => "powershell",
        }))
    }
}

impl ValueEnum for links::CcApp {
    fn value_variants<'a>() -> &'a [Self] {
        &links::CcApp::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Where the export journal lives.
pub fn journal_path(cli: &Cli) -> PathBuf {
    let (dir, _) = resolve_data_dir(cli.data_dir.as_deref());
    exports::safe_write::journal_in(&dir)
}

/// Runs `apihub use …`.
pub fn run(cli: &Cli, args: &UseArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    if let Some(UseAction::Undo { target, dry_run }) = &args.action {
        return undo(cli, *target, *dry_run);
    }
    let Some(target) = args.target else {
        bail!("name a target: apihub use TARGET --account ID (targets: {})", target_names());
    };
    check_flags(target, args)?;
    let store = super::open_store(cli)?;
    let client = Arc::new(super::relay_client(&store)?);
    let shared = SharedStore::new(store);
    let protocol = args.protocol;
    let source = if args.gateway {
        gateway_source(&shared, args.model.as_deref(), protocol)?
    } else {
        let Some(account) = args.account else {
            bail!("{target}: say which key: --account ID [--key KEY_ID], or --gateway");
        };
        let r = rt.block_on(exports::source::account_source(
            &client,
            &shared,
            account,
            args.key,
            args.model.as_deref(),
            protocol,
        ))?;
        for w in &r.warnings {
            eprintln!("warning: {w}");
        }
        r.source
    };
    match target {
        Target::ClaudeCode | Target::Codex | Target::OpenCode | Target::GeminiCli => {
            write_files(cli, target, &source, args)
        }
        Target::CherryStudio => link(&links::cherry_studio(&source), "Cherry Studio", args.dry_run),
        Target::CcSwitch => {
            let app = args.app.context("cc-switch: --app is required")?;
            link(&links::cc_switch(&source, app, args.model.as_deref()), "CC Switch", args.dry_run)
        }
        Target::NewApiChannel => import_channel(&client, &shared, &source, args, rt),
        Target::Env => {
            let shell = args.shell.unwrap_or_else(snippets::Shell::native);
            print!("{}", snippets::env(&source, args.model.as_deref(), shell));
            Ok(ExitCode::SUCCESS)
        }
        Target::Curl => {
            print!("{}", snippets::curl(&source, &snippet_model(&source, args)));
            Ok(ExitCode::SUCCESS)
        }
        Target::Python => {
            print!("{}", snippets::python(&source, &snippet_model(&source, args)));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn target_names() -> String {
    Target::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
}

/// Flags that make no sense for the target are refused before anything is read.
fn check_flags(target: Target, args: &UseArgs) -> anyhow::Result<()> {
    if args.app.is_some() && target != Target::CcSwitch {
        bail!("{target}: --app is for cc-switch");
    }
    if target == Target::CcSwitch && args.app.is_none() {
        let apps: Vec<&str> = links::CcApp::ALL.iter().map(|a| a.as_str()).collect();
        bail!("cc-switch: --app is required ({})", apps.join(", "));
    }
    let admin = args.admin_url.is_some() || args.admin_account.is_some();
    if admin && target != Target::NewApiChannel {
        bail!("{target}: --admin-url/--admin-account are for new-api-channel");
    }
    if target == Target::NewApiChannel && !admin {
        bail!("new-api-channel: say where: --admin-url URL --admin-token-env VAR, or --admin-account ID");
    }
    if args.scope == Scope::Project && !target.writes_files() {
        bail!("{target}: --scope is for file targets (claude-code, codex, opencode, gemini-cli)");
    }
    Ok(())
}

fn snippet_model(source: &Source, args: &UseArgs) -> String {
    args.model.clone().or_else(|| source.models.first().cloned()).unwrap_or_else(|| "MODEL_NAME".into())
}

/// The local gateway as a source: its address (`gateway.listen`), its local key (made on
/// first use) and the models it routes; a warning when it routes no `--model`.
fn gateway_source(store: &SharedStore, model: Option<&str>, protocol: Option<Protocol>) -> anyhow::Result<Source> {
    let (addr, key, models) = {
        let mut s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
        crate::gateway::client_view(&mut s).map_err(|e| anyhow::anyhow!("--gateway: {e}"))?
    };
    if let Some(m) = model
        && !models.iter().any(|x| x == m)
    {
        eprintln!(
            "warning: the gateway routes no model named {m} (start it with apihub serve; see apihub gateway candidates)"
        );
    }
    Ok(exports::source::gateway_source(addr, key.expose(), models, model, protocol))
}

fn write_files(cli: &Cli, target: Target, source: &Source, args: &UseArgs) -> anyhow::Result<ExitCode> {
    let homes = Homes::from_env()?;
    let opts = Options { model: args.model.clone(), scope: args.scope };
    let preview = exports::plan(target, source, &opts, &homes)?;
    for n in &preview.notes {
        eprintln!("note: {}", preview.mask(n));
    }
    if preview.is_noop() {
        println!("{target}: already up to date, nothing to write");
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", preview.unified_diff());
    if args.dry_run {
        eprintln!("dry run: nothing written");
        return Ok(ExitCode::SUCCESS);
    }
    let applied = exports::safe_write::apply(&preview, Some(&journal_path(cli)))?;
    for w in &applied.files {
        match &w.backup {
            Some(b) => println!("wrote {} (backup: {})", w.path.display(), b.display()),
            None => println!("wrote {} (new file)", w.path.display()),
        }
    }
    if let Some(w) = &applied.journal_warning {
        eprintln!("warning: {w}");
    }
    println!("undo with: apihub use undo {target}");
    Ok(ExitCode::SUCCESS)
}

fn link(url: &str, app: &str, dry_run: bool) -> anyhow::Result<ExitCode> {
    if dry_run {
        println!("{url}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(e) = links::open_url(url) {
        println!("{url}");
        bail!("{app}: {e}");
    }
    eprintln!("opened the {app} link; it asks before importing");
    Ok(ExitCode::SUCCESS)
}

fn import_channel(
    client: &crate::relay::RelayClient,
    store: &SharedStore,
    source: &Source,
    args: &UseArgs,
    rt: &tokio::runtime::Handle,
) -> anyhow::Result<ExitCode> {
    let (admin, creds) = match (args.admin_account, &args.admin_url) {
        (Some(id), _) => {
            let s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
            let (admin, creds, warning) =
                channel::admin_from_store(&s, id).map_err(|e| anyhow::anyhow!("--admin-account: {e}"))?;
            if let Some(w) = warning {
                eprintln!("warning: {w}");
            }
            (admin, creds)
        }
        (None, Some(url)) => {
            let token = match (&args.admin_token, &args.admin_token_env) {
                (Some(t), _) => t.clone(),
                (None, Some(var)) => {
                    std::env::var(var).with_context(|| format!("--admin-token-env: {var} is not set"))?
                }
                (None, None) => bail!("new-api-channel: --admin-url needs --admin-token or --admin-token-env"),
            };
            let site_url = crate::domain::account::normalize_site_url(url);
            let kind = match &args.admin_kind {
                Some(k) => SiteKind::parse(k).with_context(|| format!("--admin-kind: unknown kind {k}"))?,
                None => {
                    rt.block_on(client.detect(&site_url))
                        .with_context(|| format!("{site_url}: detecting the kind"))?
                        .kind
                }
            };
            let admin = AccountRef {
                site_url,
                kind,
                user_id: args.admin_user_id.trim().to_string(),
                auth: AuthMethod::AccessToken,
            };
            (admin, Credentials { access_token: Some(token), ..Credentials::default() })
        }
        (None, None) => bail!("new-api-channel: --admin-url or --admin-account is required"),
    };
    let opts = channel::ChannelOptions {
        group: args.channel_group.clone(),
        fallback_model: args.model.clone(),
        ..channel::ChannelOptions::default()
    };
    let outcome = rt.block_on(channel::import(client, &admin, &creds, source, &opts, args.dry_run))?;
    let verb = if args.dry_run { "would" } else { "did" };
    match outcome {
        channel::ChannelOutcome::Created { name } => {
            println!("{}: {verb} create channel \"{name}\"", admin.site_url);
        }
        channel::ChannelOutcome::Updated { id, name } => {
            println!("{}: {verb} update channel {id} \"{name}\"", admin.site_url);
        }
    }
    if args.dry_run {
        eprintln!("dry run: nothing sent");
    }
    Ok(ExitCode::SUCCESS)
}

fn undo(cli: &Cli, target: Option<Target>, dry_run: bool) -> anyhow::Result<ExitCode> {
    let journal = journal_path(cli);
    let name = target.map(Target::as_str);
    let preview = exports::safe_write::plan_undo(&journal, name)?;
    print!("{}", preview.unified_diff());
    if dry_run {
        eprintln!("dry run: nothing restored");
        return Ok(ExitCode::SUCCESS);
    }
    let applied = exports::safe_write::apply(&preview, Some(&journal))?;
    for w in &applied.files {
        if w.removed {
            println!("removed {} (the write had created it)", w.path.display());
        } else {
            println!("restored {}", w.path.display());
        }
    }
    if let Some(w) = &applied.journal_warning {
        eprintln!("warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}
