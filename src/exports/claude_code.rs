//! Claude Code: the `env` block of `settings.json`.
//!
//! User scope writes `$CLAUDE_CONFIG_DIR/settings.json` (default `~/.claude/settings.json`);
//! project scope writes `.claude/settings.local.json` in the project (Claude Code's
//! personal, not-committed project file — never put a key in the shared one). Claude Code
//! appends `/v1/messages` to `ANTHROPIC_BASE_URL`, so the base is the site root.
//! `ANTHROPIC_AUTH_TOKEN` is sent as `Authorization: Bearer`; a stale `ANTHROPIC_API_KEY`
//! would add a second `X-Api-Key` header with another key, so it is removed (the diff
//! shows it). With `--model`, `ANTHROPIC_MODEL` and the three `ANTHROPIC_DEFAULT_*_MODEL`
//! are set to it, so background (haiku) calls use a model the key has.

use std::path::PathBuf;

use super::json_edit::JsonDoc;
use super::{ExportError, Homes, Options, Preview, Scope, Source};

/// The settings file and its anchor for a scope.
pub fn settings_path(homes: &Homes, scope: Scope) -> (PathBuf, PathBuf) {
    match scope {
        Scope::User => {
            let (dir, anchor) = homes.dir_or(&homes.claude_config_dir, ".claude");
            (dir.join("settings.json"), anchor)
        }
        Scope::Project => (homes.project_dir.join(".claude").join("settings.local.json"), homes.project_dir.clone()),
    }
}

/// The model variables set with `--model`.
pub const MODEL_VARS: [&str; 4] = [
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
];

/// Plans the write.
pub fn plan(source: &Source, opts: &Options, homes: &Homes) -> Result<Preview, ExportError> {
    let (path, anchor) = settings_path(homes, opts.scope);
    let mut p = Preview::new("claude-code");
    let before = super::safe_write::read_file(&path, &anchor)?;
    let doc = JsonDoc::parse(&path, before.as_deref())?;
    let env = doc.object(&doc.root(), "env")?;
    for (k, v) in [("ANTHROPIC_BASE_URL", source.base_url.as_str()), ("ANTHROPIC_AUTH_TOKEN", source.key.as_str())] {
        if let Some(old) = doc.set_str(&env, k, v) {
            p.secrets.push(old);
        }
    }
    if let Some(old) = doc.remove(&env, "ANTHROPIC_API_KEY") {
        p.secrets.extend(old);
        p.notes.push("removed env.ANTHROPIC_API_KEY: it would send a second, older key as X-Api-Key".into());
    }
    match &opts.model {
        Some(m) => {
            for k in MODEL_VARS {
                doc.set_str(&env, k, m);
            }
        }
        None => {
            if let Some(m) = doc.get_str(&env, "ANTHROPIC_MODEL") {
                p.notes.push(format!("keeps env.ANTHROPIC_MODEL = {m} (pass --model to change it)"));
            }
        }
    }
    if opts.scope == Scope::Project {
        p.notes.push(format!("{} holds a key: keep it out of version control", path.display()));
    }
    p.changes.push(super::FileChange { path, anchor, before, after: Some(doc.to_bytes()) });
    Ok(p)
}
