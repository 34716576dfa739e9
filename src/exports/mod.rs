//! "Use in…": put a key (or the local gateway) into the tools people use.
//!
//! Every target takes one [`Source`] — a base URL, a key and a protocol — so an account's
//! key and the local gateway are the same thing to a target. File targets build a
//! [`Preview`] (the files' bytes before and after, a unified diff) that the one safe writer
//! ([`safe_write::apply`]) commits: backup first, temp file + rename, mode kept, symlinks
//! and files changed since the preview refused, the write journaled for
//! [`safe_write::plan_undo`]. Nothing here reads the process environment except
//! [`Homes::from_env`]: callers pass the folders in.
//!
//! | file | what |
//! | --- | --- |
//! | `safe_write.rs` | preview, backup, atomic write, journal, undo |
//! | `json_edit.rs`, `env_file.rs`, `text.rs` | format-preserving JSONC edits (comments, order, indentation kept), `.env` merge, BOM and line endings |
//! | `claude_code.rs`, `codex.rs`, `opencode.rs`, `gemini_cli.rs` | the file targets |
//! | `links.rs` | Cherry Studio and CC Switch deep links, the system URL opener |
//! | `snippets.rs` | env / curl / python in the protocol's shape |
//! | `channel.rs` | channel import into a self-hosted New API / one-api / done-hub |
//! | `source.rs` | an account's key as a [`Source`] (masked keys revealed), the model check |

pub mod channel;
pub mod claude_code;
pub mod codex;
pub mod env_file;
pub mod gemini_cli;
pub mod json_edit;
pub mod links;
pub mod opencode;
pub mod safe_write;
pub mod snippets;
pub mod source;
pub mod text;

use std::path::{Path, PathBuf};

pub use safe_write::{FileChange, Preview};

/// The wire protocol a source is used with (decides env names, paths and SDKs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// OpenAI-compatible: `/v1/chat/completions`, `/v1/responses`, `Authorization: Bearer`.
    #[default]
    OpenAi,
    /// Anthropic Messages: `/v1/messages`.
    Anthropic,
    /// Gemini native: `/v1beta/models/{model}:generateContent`.
    Gemini,
}

impl Protocol {
    /// Stable name (CLI value).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Anthropic => "anthropic",
            Protocol::Gemini => "gemini",
        }
    }

    /// Inverse of [`Protocol::as_str`].
    pub fn parse(s: &str) -> Option<Protocol> {
        [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini].into_iter().find(|p| p.as_str() == s.trim())
    }
}

/// What a target points at: a relay site's key or the local gateway.
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    /// Short display name for the provider entry ("relay.example", "API Hub gateway").
    pub name: String,
    /// Longer label for notes and logs ("relay.example · my key"); never the key.
    pub label: String,
    /// The site root: no trailing `/`, no `/v1` (targets add what they need).
    pub base_url: String,
    /// The full key, with `sk-` where the site kind wants it.
    pub key: String,
    /// The protocol the key is used with.
    pub protocol: Protocol,
    /// Models this key may use, when known (channel import, defaults).
    pub models: Vec<String>,
    /// The key's group ("" when unknown).
    pub group: String,
    /// Provider id written into tool configs (`apihub`, `apihub-gateway`).
    pub provider_id: String,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("key", &crate::logging::mask_secret(&self.key))
            .field("protocol", &self.protocol)
            .field("provider_id", &self.provider_id)
            .finish()
    }
}

impl Source {
    /// A source from the three things every target needs (the gateway uses this).
    pub fn new(name: &str, base_url: &str, key: &str, protocol: Protocol) -> Source {
        Source {
            name: name.to_string(),
            label: name.to_string(),
            base_url: root_url(base_url),
            key: key.trim().to_string(),
            protocol,
            models: Vec::new(),
            group: String::new(),
            provider_id: "apihub".into(),
        }
    }

    /// `<base>/v1`: what OpenAI SDKs, Codex and OpenCode want.
    pub fn v1_url(&self) -> String {
        format!("{}/v1", self.base_url)
    }
}

/// The site root of a URL: trailing `/` and a trailing `/v1` removed.
pub fn root_url(url: &str) -> String {
    let t = url.trim().trim_end_matches('/');
    let t = t.strip_suffix("/v1").unwrap_or(t);
    t.trim_end_matches('/').to_string()
}

/// Every target `apihub use` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Claude Code `settings.json` `env` block.
    ClaudeCode,
    /// Codex `config.toml` provider + `auth.json`.
    Codex,
    /// OpenCode `opencode.json` provider + `auth.json`.
    OpenCode,
    /// Gemini CLI `.env` + `settings.json` auth type.
    GeminiCli,
    /// Cherry Studio deep link.
    CherryStudio,
    /// CC Switch deep link (one per app).
    CcSwitch,
    /// A channel in a self-hosted New API / one-api / done-hub.
    NewApiChannel,
    /// Environment variables.
    Env,
    /// A `curl` line.
    Curl,
    /// A Python SDK snippet.
    Python,
}

impl Target {
    /// Every target, in menu order.
    pub const ALL: [Target; 10] = [
        Target::ClaudeCode,
        Target::Codex,
        Target::OpenCode,
        Target::GeminiCli,
        Target::CherryStudio,
        Target::CcSwitch,
        Target::NewApiChannel,
        Target::Env,
        Target::Curl,
        Target::Python,
    ];

    /// The CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::ClaudeCode => "claude-code",
            Target::Codex => "codex",
            Target::OpenCode => "opencode",
            Target::GeminiCli => "gemini-cli",
            Target::CherryStudio => "cherry-studio",
            Target::CcSwitch => "cc-switch",
            Target::NewApiChannel => "new-api-channel",
            Target::Env => "env",
            Target::Curl => "curl",
            Target::Python => "python",
        }
    }

    /// Inverse of [`Target::as_str`].
    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.as_str() == s.trim())
    }

    /// One line saying what the target does (CLI help).
    pub fn describe(self) -> &'static str {
        match self {
            Target::ClaudeCode => "Claude Code settings.json env block",
            Target::Codex => "Codex config.toml provider",
            Target::OpenCode => "OpenCode opencode.json provider + auth.json",
            Target::GeminiCli => "Gemini CLI .env + settings.json",
            Target::CherryStudio => "Cherry Studio deep link",
            Target::CcSwitch => "CC Switch deep link (--app)",
            Target::NewApiChannel => "a channel on a New API / one-api / done-hub you administer",
            Target::Env => "environment variables",
            Target::Curl => "a curl line",
            Target::Python => "a Python SDK snippet",
        }
    }

    /// Whether the target writes files (previewed, backed up, undoable).
    pub fn writes_files(self) -> bool {
        matches!(self, Target::ClaudeCode | Target::Codex | Target::OpenCode | Target::GeminiCli)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a file target writes: the user's own config or the current project's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The user's config folder (default).
    #[default]
    User,
    /// The project folder (the current directory).
    Project,
}

/// The folders the tools read, resolved once ([`Homes::from_env`]) or given by a test.
/// `None` means "not set": the tool's default under `home` applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Homes {
    /// The user's home (`HOME`, `%USERPROFILE%`).
    pub home: PathBuf,
    /// `CLAUDE_CONFIG_DIR` (Claude Code's user folder, default `~/.claude`).
    pub claude_config_dir: Option<PathBuf>,
    /// `CODEX_HOME` (default `~/.codex`).
    pub codex_home: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` (OpenCode reads it on every OS; default `~/.config`).
    pub xdg_config_home: Option<PathBuf>,
    /// `XDG_DATA_HOME` (OpenCode's `auth.json`; default `~/.local/share`).
    pub xdg_data_home: Option<PathBuf>,
    /// `GEMINI_CLI_HOME` (Gemini CLI's home: `.gemini` goes under it).
    pub gemini_cli_home: Option<PathBuf>,
    /// The project folder for `--scope project`.
    pub project_dir: PathBuf,
}

impl Homes {
    /// Every folder under one home, no overrides (tests, and the defaults).
    pub fn under(home: &Path) -> Homes {
        Homes {
            home: home.to_path_buf(),
            claude_config_dir: None,
            codex_home: None,
            xdg_config_home: None,
            xdg_data_home: None,
            gemini_cli_home: None,
            project_dir: home.to_path_buf(),
        }
    }

    /// Reads `HOME` (via the platform), `CLAUDE_CONFIG_DIR`, `CODEX_HOME`, `XDG_CONFIG_HOME`,
    /// `XDG_DATA_HOME`, `GEMINI_CLI_HOME` and the current directory. Empty variables count
    /// as unset, as the tools treat them.
    pub fn from_env() -> Result<Homes, ExportError> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = directories::BaseDirs::new()
            .map(|b| b.home_dir().to_path_buf())
            .ok_or_else(|| ExportError::Invalid("cannot find the home folder (HOME is not set)".into()))?;
        let project_dir = std::env::current_dir()
            .map_err(|e| ExportError::Invalid(format!("cannot read the current folder: {e}")))?;
        Ok(Homes {
            home,
            claude_config_dir: var("CLAUDE_CONFIG_DIR"),
            codex_home: var("CODEX_HOME"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            xdg_data_home: var("XDG_DATA_HOME"),
            gemini_cli_home: var("GEMINI_CLI_HOME"),
            project_dir,
        })
    }

    /// `dir` when set, else `home/default`; with the folder symlink checks stop at
    /// (the anchor): an override is the user's explicit choice, the home is trusted.
    fn dir_or(&self, dir: &Option<PathBuf>, default: &str) -> (PathBuf, PathBuf) {
        match dir {
            Some(d) => (d.clone(), d.clone()),
            None => (self.home.join(default), self.home.clone()),
        }
    }
}

/// What a file target is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// The model to set (None: leave the tool's model alone).
    pub model: Option<String>,
    /// User or project config.
    pub scope: Scope,
}

/// Why an export did not happen. Every variant names the path or input at fault; the
/// files involved are unchanged whenever one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Bad input: unknown target, no such account or key, a missing option.
    #[error("{0}")]
    Invalid(String),
    /// The target cannot do this (e.g. Codex providers in a project file).
    #[error("{0}")]
    Unsupported(String),
    /// A symbolic link in the path.
    #[error(
        "{path}: a symbolic link is in the way; refusing to write through it (edit the real file by hand, or replace the link with a file)"
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// The path is a folder or something else than a regular file.
    #[error("{path}: not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The existing file does not parse; it is left untouched.
    #[error("{path}: does not parse ({message}); left untouched — fix it or move it away, then try again")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message with line and column.
        message: String,
    },
    /// The file parses but a value we must change has an unexpected type.
    #[error("{path}: {message}; left untouched")]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The file changed between the preview and the write.
    #[error("{path}: changed since the preview; nothing written — preview again")]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A file or folder could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What we tried ("write", "read", "back up").
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Undo found nothing to undo.
    #[error("nothing to undo{0}")]
    NothingToUndo(String),
    /// Undo: the file changed after our write.
    #[error("{path}: changed after the write being undone; not restored (the earlier content is in {backup})")]
    UndoConflict {
        /// The file.
        path: PathBuf,
        /// Where the earlier content is, for restoring by hand.
        backup: String,
    },
    /// The site or admin API failed (channel import, key reveal).
    #[error("{0}")]
    Remote(String),
}

impl ExportError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> ExportError {
        ExportError::Io { action, path: path.to_path_buf(), source }
    }
}

/// Plans a file target: the files it would write, with their content now and after, and
/// notes for the user (a stale variable kept, a model the key cannot use…). Reads files;
/// writes nothing.
pub fn plan(target: Target, source: &Source, opts: &Options, homes: &Homes) -> Result<Preview, ExportError> {
    let mut preview = match target {
        Target::ClaudeCode => claude_code::plan(source, opts, homes)?,
        Target::Codex => codex::plan(source, opts, homes)?,
        Target::OpenCode => opencode::plan(source, opts, homes)?,
        Target::GeminiCli => gemini_cli::plan(source, opts, homes)?,
        other => {
            return Err(ExportError::Invalid(format!("{other} does not write files")));
        }
    };
    preview.secrets.push(source.key.clone());
    Ok(preview)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_url_drops_slashes_and_v1() {
        assert_eq!(root_url("https://r.example/v1/"), "https://r.example");
        assert_eq!(root_url(" https://r.example// "), "https://r.example");
        assert_eq!(root_url("https://r.example/api"), "https://r.example/api");
    }

    #[test]
    fn targets_round_trip_their_names() {
        for t in Target::ALL {
            assert_eq!(Target::parse(t.as_str()), Some(t));
        }
        assert_eq!(Target::parse("vim"), None);
    }

    #[test]
    fn source_debug_masks_the_key() {
        let s = Source::new("x", "https://r.example/v1", "sk-abcdefghijklmnop", Protocol::OpenAi);
        assert!(!format!("{s:?}").contains("abcdefghijklmnop"));
        assert_eq!(s.v1_url(), "https://r.example/v1");
    }
}
