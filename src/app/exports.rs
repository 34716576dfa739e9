//! "Use in…" from the window: an account's key (or the local gateway) into a tool.
//!
//! One dialog at a time. [`ExportsCmd::Open`] (a target chosen in a key's or an account's
//! menu) and [`ExportsCmd::Change`] (another model, scope, app…) start the preview job
//! `exports:preview` (latest wins: a newer request replaces the running one): it resolves
//! the source (a masked key is revealed once through the site), checks the model, and
//! plans what the target would do — the files' side-by-side diff, the deep link, the
//! snippet, or the channel a dry run would create or update. [`ExportsCmd::Apply`] then
//! writes the previewed files (`exports:write`: backup, temp file + rename, refused when a
//! file changed since the preview), opens the link (`exports:open`), copies the snippet,
//! or imports the channel (`exports:channel`). [`ExportsCmd::Undo`] restores the last
//! write from its backups (`exports:undo`). Writes and undos claim `exports:files`, so
//! they never overlap; both use the journal the CLI's `apihub use undo` reads.

use std::path::PathBuf;

use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::loadable::Loadable;
use super::state::Severity;
use crate::domain::AccountId;
use crate::exports::channel::{self, ChannelOptions, ChannelOutcome};
use crate::exports::links::{self, CcApp};
use crate::exports::safe_write::{self, Applied, DiffRow};
use crate::exports::{self, Homes, Options, Preview, Scope, Source, Target, snippets};
use crate::relay::RelayClient;
use crate::store::SharedStore;

/// Job names.
pub const PREVIEW_JOB: &str = "exports:preview";
/// Writing the previewed files.
pub const WRITE_JOB: &str = "exports:write";
/// Undoing the last write.
pub const UNDO_JOB: &str = "exports:undo";
/// Opening a deep link.
pub const OPEN_JOB: &str = "exports:open";
/// Importing a channel.
pub const CHANNEL_JOB: &str = "exports:channel";
/// What writes and undos claim (never two at once).
const FILES_CLAIM: &str = "exports:files";

/// Which key a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    /// The account.
    pub account: AccountId,
    /// The key's site id (None: the first enabled key that may use the model, else the
    /// account's own key).
    pub key: Option<i64>,
}

/// Everything the dialog asks for; a new value is previewed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The key the menu was opened on.
    pub key: KeyRef,
    /// Point the tool at the local gateway instead of the key's site.
    pub gateway: bool,
    /// Where to put it.
    pub target: Target,
    /// The model to set and check (None: leave the tool's model alone).
    pub model: Option<String>,
    /// File targets: the user's config or a project's.
    pub scope: Scope,
    /// The project folder for [`Scope::Project`] (None: the app's current folder).
    pub project_dir: Option<PathBuf>,
    /// CC Switch: the app to import into.
    pub app: CcApp,
    /// Channel import: one of our accounts with admin rights on the relay.
    pub admin_account: Option<AccountId>,
    /// Channel import: the groups that may use the channel.
    pub channel_group: String,
}

impl Request {
    /// A request with the defaults: the user's config, no model, CC Switch's Claude.
    pub fn new(key: KeyRef, target: Target) -> Request {
        Request {
            key,
            gateway: false,
            target,
            model: None,
            scope: Scope::User,
            project_dir: None,
            app: CcApp::Claude,
            admin_account: None,
            channel_group: "default".into(),
        }
    }
}

/// One file of a planned write, for the diff view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The file.
    pub path: PathBuf,
    /// It does not exist yet.
    pub created: bool,
    /// The side-by-side rows (secrets masked).
    pub rows: Vec<DiffRow>,
}

/// What a target would do.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// File targets: the planned write and its diff per changed file.
    Files {
        /// The plan [`ExportsCmd::Apply`] writes.
        preview: Preview,
        /// The changed files.
        files: Vec<FileDiff>,
    },
    /// Cherry Studio, CC Switch: the link (it holds the key: shown shortened).
    Link {
        /// The deep link.
        url: String,
    },
    /// env / curl / python: the text to copy.
    Snippet {
        /// The full text.
        text: String,
        /// The text with the key masked (what the dialog shows).
        shown: String,
    },
    /// Channel import: what a run would do.
    Channel {
        /// The relay.
        site: String,
        /// Create, or update the channel a previous run made.
        outcome: ChannelOutcome,
    },
}

/// A preview's result.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The request it answers.
    pub request: Request,
    /// Where the key is from (site · key name); never the key.
    pub source_label: String,
    /// The models the key may use (the dialog's model choice).
    pub models: Vec<String>,
    /// Why the key may not work with the model, and the target's notes.
    pub warnings: Vec<String>,
    /// What applying would do.
    pub outcome: Outcome,
    /// The source (for applying links, snippets and channels; `Debug` masks the key).
    pub(crate) source: Source,
}

/// The open dialog.
pub struct Dialog {
    /// What is asked.
    pub request: Request,
    /// The preview of `request` (the last good one stays while a new one runs).
    pub preview: Loadable<Planned>,
    /// Applying runs.
    pub applying: bool,
    /// Why the last apply failed.
    pub error: Option<String>,
}

impl std::fmt::Debug for Dialog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialog")
            .field("request", &self.request)
            .field("preview", &self.preview.value())
            .field("loading", &self.preview.is_loading())
            .field("applying", &self.applying)
            .field("error", &self.error)
            .finish()
    }
}

impl Dialog {
    /// The preview of the current request, when ready (never a stale one).
    pub fn current(&self) -> Option<&Planned> {
        self.preview.value().filter(|p| p.request == self.request && !self.preview.is_loading())
    }

    /// Whether Apply can run now.
    pub fn can_apply(&self) -> bool {
        !self.applying
            && self.current().is_some_and(|p| match &p.outcome {
                Outcome::Files { preview, .. } => !preview.is_noop(),
                _ => true,
            })
    }
}

/// The last write, undoable from the status strip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWrite {
    /// The target written.
    pub target: Target,
    /// What was written (paths, backups).
    pub applied: Applied,
}

/// Commands of "Use in…".
#[derive(Debug, Clone)]
pub enum ExportsCmd {
    /// Open the dialog for a target and preview it.
    Open(Box<Request>),
    /// The dialog's options changed: preview again.
    Change(Box<Request>),
    /// Do what the current preview shows.
    Apply,
    /// Close the dialog.
    Close,
    /// Restore the last write's files from their backups.
    Undo,
    /// Hide the last write's strip (the write stays undoable with `apihub use undo`).
    Dismiss,
}

/// Messages of the export jobs.
pub enum ExportsMsg {
    /// A preview ended.
    Planned(Box<Request>, Result<Box<Planned>, String>),
    /// A write ended.
    Written(Target, Result<Applied, String>),
    /// An undo ended.
    Undone(Result<Applied, String>),
    /// The system URL opener ended.
    Opened(Result<(), String>),
    /// A channel import ended.
    Imported(String, Result<ChannelOutcome, String>),
}

impl From<ExportsMsg> for JobMsg {
    fn from(m: ExportsMsg) -> JobMsg {
        JobMsg::Exports(m)
    }
}

/// "Use in…"'s state.
#[derive(Debug, Default)]
pub struct Exports {
    /// The open dialog.
    pub dialog: Option<Dialog>,
    /// The last write (with Undo) until dismissed or undone.
    pub last_write: Option<LastWrite>,
    /// An undo runs.
    pub undoing: bool,
    /// The folders the tools read (None: read from the environment when first needed).
    homes: Option<Homes>,
    /// The journal (`<data dir>/exports/journal.json`).
    journal: PathBuf,
}

impl Exports {
    /// The controller for a data dir; `homes` overrides the environment (tests).
    pub fn new(data_dir: &std::path::Path, homes: Option<Homes>) -> Exports {
        Exports { journal: safe_write::journal_in(data_dir), homes, ..Exports::default() }
    }

    /// The folders the tools read: the override, else the environment (read once).
    pub fn homes(&mut self) -> Result<Homes, String> {
        if let Some(h) = &self.homes {
            return Ok(h.clone());
        }
        let h = Homes::from_env().map_err(|e| e.to_string())?;
        self.homes = Some(h.clone());
        Ok(h)
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: ExportsCmd, cx: &mut Cx<'_>) {
        match cmd {
            ExportsCmd::Open(req) | ExportsCmd::Change(req) => {
                let req = *req;
                match &mut self.dialog {
                    Some(d) if d.request.key == req.key && d.request.target == req.target => {
                        d.request = req.clone();
                        d.error = None;
                    }
                    _ => {
                        self.dialog = Some(Dialog {
                            request: req.clone(),
                            preview: Loadable::default(),
                            applying: false,
                            error: None,
                        })
                    }
                }
                self.start_preview(req, cx);
            }
            ExportsCmd::Apply => self.start_apply(cx),
            ExportsCmd::Close => self.dialog = None,
            ExportsCmd::Undo => {
                let Some(last) = &self.last_write else { return };
                let target = last.target;
                let journal = self.journal.clone();
                if cx.start_blocking(Spec::new(UNDO_JOB).claims([FILES_CLAIM.to_string()]), move |_| {
                    ExportsMsg::Undone(undo(&journal, target))
                }) {
                    self.undoing = true;
                }
            }
            ExportsCmd::Dismiss => self.last_write = None,
        }
    }

    fn start_preview(&mut self, req: Request, cx: &mut Cx<'_>) {
        let homes = self.homes();
        let (relay, store) = (cx.relay.clone(), cx.store.clone());
        if let Some(d) = &mut self.dialog {
            d.preview.start();
        }
        cx.start_quiet(Spec::new(PREVIEW_JOB).latest_wins(), move |_| async move {
            let result = preview(&relay, &store, homes, &req).await.map(Box::new);
            ExportsMsg::Planned(Box::new(req), result)
        });
    }

    fn start_apply(&mut self, cx: &mut Cx<'_>) {
        let Some(d) = &mut self.dialog else { return };
        if !d.can_apply() {
            return;
        }
        let Some(planned) = d.current().cloned() else { return };
        d.error = None;
        let target = planned.request.target;
        let started = match planned.outcome {
            Outcome::Files { preview, .. } => {
                let journal = self.journal.clone();
                cx.start_blocking(Spec::new(WRITE_JOB).claims([FILES_CLAIM.to_string()]), move |_| {
                    let r = safe_write::apply(&preview, Some(&journal)).map_err(|e| e.to_string());
                    ExportsMsg::Written(target, r)
                })
            }
            Outcome::Link { url } => cx.start_blocking(Spec::new(OPEN_JOB), move |_| {
                ExportsMsg::Opened(links::open_url(&url).map_err(|e| e.to_string()))
            }),
            Outcome::Snippet { text, .. } => {
                cx.egui.copy_text(text);
                cx.say(fill(tr("use.copied"), &[("target", &target_label(target))]), Severity::Info);
                self.dialog = None;
                return;
            }
            Outcome::Channel { site, .. } => {
                let (relay, store) = (cx.relay.clone(), cx.store.clone());
                let (req, source) = (planned.request, planned.source);
                cx.start(Spec::new(CHANNEL_JOB), move |_| async move {
                    let r = import_channel(&relay, &store, &req, &source, false).await;
                    ExportsMsg::Imported(site, r.map(|(_, o)| o))
                })
            }
        };
        if started && let Some(d) = &mut self.dialog {
            d.applying = true;
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: ExportsMsg, cx: &mut Cx<'_>) {
        match msg {
            ExportsMsg::Planned(req, result) => {
                if let Some(d) = &mut self.dialog
                    && d.request == *req
                {
                    d.preview.finish(result.map(|b| *b), crate::domain::time::now_unix());
                }
            }
            ExportsMsg::Written(target, result) => match result {
                Ok(applied) => {
                    // The strip with Undo says what was written; without a journal entry
                    // there is nothing to undo, so the status line says it with the warning.
                    if let Some(w) = &applied.journal_warning {
                        let files: Vec<String> = applied.files.iter().map(|w| w.path.display().to_string()).collect();
                        let text =
                            fill(tr("use.written"), &[("target", &target_label(target)), ("files", &files.join(", "))]);
                        cx.say(format!("{text} — {w}"), Severity::Warning);
                    }
                    self.last_write = applied.journal_warning.is_none().then_some(LastWrite { target, applied });
                    self.dialog = None;
                }
                Err(e) => {
                    log::warn!("use in {target}: {e}");
                    let again = self.dialog.as_mut().map(|d| {
                        d.applying = false;
                        d.error = Some(e);
                        d.request.clone()
                    });
                    // The files may have changed: show what they hold now.
                    if let Some(req) = again {
                        self.start_preview(req, cx);
                    }
                }
            },
            ExportsMsg::Undone(result) => {
                self.undoing = false;
                match result {
                    Ok(applied) => {
                        let files: Vec<String> = applied.files.iter().map(|w| w.path.display().to_string()).collect();
                        cx.say(fill(tr("use.undone"), &[("files", &files.join(", "))]), Severity::Info);
                        self.last_write = None;
                    }
                    Err(e) => cx.say(fill(tr("use.undo_failed"), &[("e", &e)]), Severity::Error),
                }
            }
            ExportsMsg::Opened(result) => {
                if let Some(d) = &mut self.dialog {
                    d.applying = false;
                    match result {
                        Ok(()) => {
                            cx.say(tr("use.opened"), Severity::Info);
                            self.dialog = None;
                        }
                        Err(e) => d.error = Some(e),
                    }
                }
            }
            ExportsMsg::Imported(site, result) => {
                if let Some(d) = &mut self.dialog {
                    d.applying = false;
                }
                match result {
                    Ok(outcome) => {
                        let text = match outcome {
                            ChannelOutcome::Created { name } => {
                                fill(tr("use.channel_created"), &[("name", &name), ("site", &site)])
                            }
                            ChannelOutcome::Updated { name, .. } => {
                                fill(tr("use.channel_updated"), &[("name", &name), ("site", &site)])
                            }
                        };
                        cx.say(text, Severity::Info);
                        self.dialog = None;
                    }
                    Err(e) => {
                        if let Some(d) = &mut self.dialog {
                            d.error = Some(e);
                        }
                    }
                }
            }
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        if key == UNDO_JOB {
            self.undoing = false;
        }
        if let Some(d) = &mut self.dialog {
            if key == PREVIEW_JOB {
                d.preview.stop();
            }
            if [WRITE_JOB, OPEN_JOB, CHANNEL_JOB].contains(&key) {
                d.applying = false;
            }
        }
    }
}

/// A target's name in the menu (product names are not translated; copy targets are).
pub fn target_label(t: Target) -> String {
    match t {
        Target::ClaudeCode => "Claude Code".into(),
        Target::Codex => "Codex".into(),
        Target::OpenCode => "OpenCode".into(),
        Target::GeminiCli => "Gemini CLI".into(),
        Target::CherryStudio => "Cherry Studio".into(),
        Target::CcSwitch => "CC Switch".into(),
        Target::NewApiChannel => tr("use.target.channel").into(),
        Target::Env => tr("use.target.env").into(),
        Target::Curl => tr("use.target.curl").into(),
        Target::Python => tr("use.target.python").into(),
    }
}

/// The source a request points at, and the model check's warnings.
async fn resolve(relay: &RelayClient, store: &SharedStore, req: &Request) -> Result<(Source, Vec<String>), String> {
    if req.gateway {
        return gateway_source(store, req.model.clone()).await;
    }
    let r = exports::source::account_source(relay, store, req.key.account, req.key.key, req.model.as_deref(), None)
        .await
        .map_err(|e| e.to_string())?;
    Ok((r.source, r.warnings))
}

/// The local gateway as a source, and a warning when it routes no such model.
async fn gateway_source(store: &SharedStore, model: Option<String>) -> Result<(Source, Vec<String>), String> {
    let (addr, key, models) = store.run(|s| Ok(crate::gateway::client_view(s))).await.map_err(|e| e.to_string())??;
    let warnings = match &model {
        Some(m) if !models.contains(m) => vec![format!("the gateway routes no model named {m}")],
        _ => Vec::new(),
    };
    let source = exports::source::gateway_source(addr, key.expose(), models, model.as_deref(), None);
    Ok((source, warnings))
}

/// The model a snippet uses: the chosen one, else the key's first, else a placeholder.
fn snippet_model(source: &Source, req: &Request) -> String {
    req.model.clone().or_else(|| source.models.first().cloned()).unwrap_or_else(|| "MODEL_NAME".into())
}

/// The preview job: resolve, check, plan (nothing is written or sent).
async fn preview(
    relay: &RelayClient,
    store: &SharedStore,
    homes: Result<Homes, String>,
    req: &Request,
) -> Result<Planned, String> {
    let (source, mut warnings) = resolve(relay, store, req).await?;
    let outcome = match req.target {
        Target::ClaudeCode | Target::Codex | Target::OpenCode | Target::GeminiCli => {
            let mut homes = homes?;
            if let Some(p) = &req.project_dir {
                homes.project_dir = p.clone();
            }
            let opts = Options { model: req.model.clone(), scope: req.scope };
            let (target, src) = (req.target, source.clone());
            let (preview, files) = tokio::task::spawn_blocking(move || {
                let preview = exports::plan(target, &src, &opts, &homes)?;
                let files = preview
                    .changes
                    .iter()
                    .filter(|c| c.is_change())
                    .map(|c| FileDiff {
                        path: c.path.clone(),
                        created: c.before.is_none(),
                        rows: preview.side_by_side(c),
                    })
                    .collect();
                Ok::<_, exports::ExportError>((preview, files))
            })
            .await
            .map_err(|e| format!("preview: {e}"))?
            .map_err(|e| e.to_string())?;
            warnings.extend(preview.notes.iter().map(|n| preview.mask(n)));
            Outcome::Files { preview, files }
        }
        Target::CherryStudio => Outcome::Link { url: links::cherry_studio(&source) },
        Target::CcSwitch => Outcome::Link { url: links::cc_switch(&source, req.app, req.model.as_deref()) },
        Target::Env | Target::Curl | Target::Python => {
            let text = match req.target {
                Target::Env => snippets::env(&source, req.model.as_deref(), snippets::Shell::native()),
                Target::Curl => snippets::curl(&source, &snippet_model(&source, req)),
                _ => snippets::python(&source, &snippet_model(&source, req)),
            };
            let shown = text.replace(&source.key, &crate::logging::mask_secret(&source.key));
            Outcome::Snippet { text, shown }
        }
        Target::NewApiChannel => {
            let (site, outcome) = import_channel(relay, store, req, &source, true).await?;
            Outcome::Channel { site, outcome }
        }
    };
    Ok(Planned {
        request: req.clone(),
        source_label: source.label.clone(),
        models: source.models.clone(),
        warnings,
        outcome,
        source,
    })
}

/// Channel import (`dry_run`: only looks) into the relay of the request's admin account.
async fn import_channel(
    relay: &RelayClient,
    store: &SharedStore,
    req: &Request,
    source: &Source,
    dry_run: bool,
) -> Result<(String, ChannelOutcome), String> {
    let Some(admin_id) = req.admin_account else { return Err(tr("use.channel_pick_admin").to_string()) };
    let (admin, creds, warning) = store
        .run(move |s| Ok(channel::admin_from_store(s, admin_id)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if let Some(w) = warning {
        log::warn!("{w}");
    }
    let group = if req.channel_group.trim().is_empty() { "default".into() } else { req.channel_group.trim().into() };
    let opts = ChannelOptions { group, fallback_model: req.model.clone(), ..ChannelOptions::default() };
    let outcome = channel::import(relay, &admin, &creds, source, &opts, dry_run).await.map_err(|e| e.to_string())?;
    Ok((admin.site_url, outcome))
}

/// Undo of the last write of `target`.
fn undo(journal: &std::path::Path, target: Target) -> Result<Applied, String> {
    let preview = safe_write::plan_undo(journal, Some(target.as_str())).map_err(|e| e.to_string())?;
    safe_write::apply(&preview, Some(journal)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Command;
    use crate::app::command::ShellCmd;
    use crate::app::testing::Rig;
    use crate::domain::snapshot::{AccountState, ApiKey, Part, Snapshot};

    const KEY: &str = "abcdef0123456789abcdef";

    /// A rig with one account holding one full key, and homes under a temp dir with
    /// `CLAUDE_CONFIG_DIR` and `CODEX_HOME` set apart.
    fn setup() -> (Rig, Exports, tempfile::TempDir, AccountId) {
        let rig = Rig::new();
        let id = rig.account("https://relay.example", "ann");
        let state = AccountState {
            snapshot: Some(Box::new(Snapshot {
                keys: Part::complete(vec![ApiKey {
                    id: 7,
                    name: "main".into(),
                    key: KEY.into(),
                    status: 1,
                    ..Default::default()
                }]),
                models: Part::complete(vec!["claude-sonnet-4-5".into(), "gpt-4o".into()]),
                ..Default::default()
            })),
            ..Default::default()
        };
        rig.store.lock().unwrap().save_account_state(id, &state, "2026-12-06").unwrap();
        let home = tempfile::tempdir().unwrap();
        let mut homes = Homes::under(home.path());
        homes.claude_config_dir = Some(home.path().join("claude-dir"));
        homes.codex_home = Some(home.path().join("codex-home"));
        let exports = Exports::new(rig.dir.path(), Some(homes));
        (rig, exports, home, id)
    }

    /// Lands every export message until `done` holds for the controller.
    fn settle(rig: &mut Rig, ex: &mut Exports, done: impl Fn(&Exports) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !done(ex) {
            assert!(std::time::Instant::now() < deadline, "timed out");
            for m in rig.wait(|m| !m.is_empty()) {
                if let JobMsg::Exports(m) = m {
                    rig.with(|cx| ex.on_job(m, cx));
                }
            }
        }
    }

    fn ready(ex: &Exports) -> bool {
        ex.dialog.as_ref().is_some_and(|d| d.current().is_some() || d.preview.error().is_some())
    }

    fn statuses(rig: &mut Rig) -> Vec<String> {
        rig.sent()
            .into_iter()
            .filter_map(|c| match c {
                Command::Shell(ShellCmd::Status(s)) => Some(s.text),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn open_previews_the_diff_apply_writes_and_undo_removes_the_created_file() {
        let (mut rig, mut ex, home, id) = setup();
        let key = KeyRef { account: id, key: Some(7) };
        let mut req = Request::new(key, Target::ClaudeCode);
        req.model = Some("claude-sonnet-4-5".into());
        rig.with(|cx| ex.apply(ExportsCmd::Open(Box::new(req)), cx));
        assert!(ex.dialog.as_ref().is_some_and(|d| d.preview.is_loading()));
        settle(&mut rig, &mut ex, ready);
        let d = ex.dialog.as_ref().unwrap();
        let p = d.current().expect("preview ready");
        let file = home.path().join("claude-dir/settings.json");
        let Outcome::Files { files, .. } = &p.outcome else { panic!("files expected: {:?}", p.outcome) };
        assert_eq!(files.len(), 1);
        assert_eq!((files[0].path.clone(), files[0].created), (file.clone(), true));
        let shown: String =
            files[0].rows.iter().filter_map(|r| r.new.as_ref().map(|(_, t)| t.clone())).collect::<Vec<_>>().join("\n");
        assert!(shown.contains("ANTHROPIC_AUTH_TOKEN"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "the key is masked in the diff: {shown}");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert!(!file.exists(), "a preview writes nothing");

        rig.with(|cx| ex.apply(ExportsCmd::Apply, cx));
        assert!(ex.dialog.as_ref().unwrap().applying);
        settle(&mut rig, &mut ex, |ex| ex.dialog.is_none());
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], format!("sk-{KEY}"));
        assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], "https://relay.example");
        assert_eq!(ex.last_write.as_ref().map(|w| w.target), Some(Target::ClaudeCode));
        assert!(statuses(&mut rig).is_empty(), "the Undo strip says it, not the status line");
        assert!(safe_write::journal_in(rig.dir.path()).exists(), "the journal the CLI's undo reads");

        rig.with(|cx| ex.apply(ExportsCmd::Undo, cx));
        assert!(ex.undoing);
        settle(&mut rig, &mut ex, |ex| !ex.undoing);
        assert!(!file.exists(), "undo removes the file the write created");
        assert!(ex.last_write.is_none());
    }

    #[test]
    fn a_file_changed_after_the_preview_is_refused_untouched_and_previewed_again() {
        let (mut rig, mut ex, home, id) = setup();
        let cfg = home.path().join("codex-home/config.toml");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, "# mine\nmodel = \"o3\"\n").unwrap();
        let req = Request::new(KeyRef { account: id, key: None }, Target::Codex);
        rig.with(|cx| ex.apply(ExportsCmd::Open(Box::new(req)), cx));
        settle(&mut rig, &mut ex, ready);
        assert!(ex.dialog.as_ref().unwrap().can_apply());
        std::fs::write(&cfg, "# mine, edited\nmodel = \"o3\"\n").unwrap();
        rig.with(|cx| ex.apply(ExportsCmd::Apply, cx));
        settle(&mut rig, &mut ex, |ex| ex.dialog.as_ref().is_some_and(|d| d.error.is_some() && ready(ex)));
        let d = ex.dialog.as_ref().unwrap();
        assert!(d.error.as_deref().unwrap().contains("changed since the preview"), "{:?}", d.error);
        assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "# mine, edited\nmodel = \"o3\"\n");
        // The fresh preview is of the edited file; applying it now works and keeps the comment.
        rig.with(|cx| ex.apply(ExportsCmd::Apply, cx));
        settle(&mut rig, &mut ex, |ex| ex.dialog.is_none());
        let text = std::fs::read_to_string(&cfg).unwrap();
        assert!(text.starts_with("# mine, edited\n") && text.contains("wire_api = \"responses\""), "{text}");
    }

    #[test]
    fn a_model_the_key_cannot_use_warns_and_a_snippet_is_copied_without_a_job() {
        let (mut rig, mut ex, _home, id) = setup();
        let mut req = Request::new(KeyRef { account: id, key: Some(7) }, Target::Curl);
        req.model = Some("o9".into());
        rig.with(|cx| ex.apply(ExportsCmd::Open(Box::new(req.clone())), cx));
        settle(&mut rig, &mut ex, ready);
        let p = ex.dialog.as_ref().unwrap().current().unwrap();
        assert!(p.warnings.iter().any(|w| w.contains("does not list o9")), "{:?}", p.warnings);
        let Outcome::Snippet { text, shown } = &p.outcome else { panic!() };
        assert!(text.contains(&format!("sk-{KEY}")) && text.contains("\"o9\""));
        assert!(!shown.contains(KEY), "{shown}");
        // Another model: previewed again, the stale preview never applies.
        req.model = Some("gpt-4o".into());
        rig.with(|cx| ex.apply(ExportsCmd::Change(Box::new(req)), cx));
        assert!(!ex.dialog.as_ref().unwrap().can_apply(), "the shown preview is of the old model");
        settle(&mut rig, &mut ex, ready);
        assert!(ex.dialog.as_ref().unwrap().current().unwrap().warnings.is_empty());
        rig.with(|cx| ex.apply(ExportsCmd::Apply, cx));
        assert!(ex.dialog.is_none(), "copied and closed");
        assert!(statuses(&mut rig).iter().any(|s| s.contains("curl")));
    }

    #[test]
    fn the_gateway_toggle_previews_the_local_gateway_instead_of_the_site() {
        let (mut rig, mut ex, _home, id) = setup();
        let mut req = Request::new(KeyRef { account: id, key: Some(7) }, Target::Env);
        req.model = Some("gpt-4o".into());
        req.gateway = true;
        rig.with(|cx| ex.apply(ExportsCmd::Open(Box::new(req)), cx));
        settle(&mut rig, &mut ex, ready);
        let d = ex.dialog.as_ref().unwrap();
        let p = d.current().unwrap_or_else(|| panic!("{:?}", d.preview.error()));
        let Outcome::Snippet { text, .. } = &p.outcome else { panic!() };
        assert!(text.contains("http://127.0.0.1:8765/v1") && text.contains("sk-local-"), "{text}");
        assert!(!text.contains(KEY), "{text}");
        assert!(p.source_label.contains("gateway"), "{}", p.source_label);
    }

    #[test]
    fn bad_input_is_a_preview_error_and_nothing_is_written() {
        let (mut rig, mut ex, home, id) = setup();
        let f = home.path().join("claude-dir/settings.json");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "{ not json").unwrap();
        let req = Request::new(KeyRef { account: id, key: None }, Target::ClaudeCode);
        rig.with(|cx| ex.apply(ExportsCmd::Open(Box::new(req)), cx));
        settle(&mut rig, &mut ex, ready);
        let d = ex.dialog.as_ref().unwrap();
        assert!(d.preview.error().unwrap().contains("does not parse"), "{:?}", d.preview.error());
        assert!(!d.can_apply());
        rig.with(|cx| ex.apply(ExportsCmd::Apply, cx));
        assert!(!ex.dialog.as_ref().unwrap().applying, "nothing to apply");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "{ not json");
        // No such key; no admin account for a channel.
        let req = Request::new(KeyRef { account: id, key: Some(99) }, Target::Env);
        rig.with(|cx| ex.apply(ExportsCmd::Open(Box::new(req)), cx));
        settle(&mut rig, &mut ex, ready);
        assert!(ex.dialog.as_ref().unwrap().preview.error().unwrap().contains("no key #99"));
        let req = Request::new(KeyRef { account: id, key: None }, Target::NewApiChannel);
        rig.with(|cx| ex.apply(ExportsCmd::Open(Box::new(req)), cx));
        settle(&mut rig, &mut ex, ready);
        assert_eq!(ex.dialog.as_ref().unwrap().preview.error(), Some(tr("use.channel_pick_admin")));
        rig.with(|cx| ex.apply(ExportsCmd::Close, cx));
        assert!(ex.dialog.is_none());
    }
}
