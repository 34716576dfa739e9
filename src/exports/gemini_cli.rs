//! Gemini CLI: `.gemini/.env` (environment) and `.gemini/settings.json` (auth type).
//!
//! User scope: `$GEMINI_CLI_HOME/.gemini/` (default `~/.gemini/`); project scope:
//! `.gemini/` in the project. `.env` gets `GEMINI_API_KEY`, `GOOGLE_GEMINI_BASE_URL` (the
//! origin: the CLI appends `/v1beta/models/…`) and, with `--model`, `GEMINI_MODEL`;
//! `settings.json` gets `security.auth.selectedType = "gemini-api-key"` and nothing else.
//! The relay must serve Gemini's native routes (new-api does).

use std::path::PathBuf;

use super::json_edit::JsonDoc;
use super::text::Text;
use super::{ExportError, FileChange, Homes, Options, Preview, Scope, Source, env_file};

/// The `.gemini` folder and its anchor.
pub fn gemini_dir(homes: &Homes, scope: Scope) -> (PathBuf, PathBuf) {
    match scope {
        Scope::User => match &homes.gemini_cli_home {
            Some(h) => (h.join(".gemini"), h.clone()),
            None => (homes.home.join(".gemini"), homes.home.clone()),
        },
        Scope::Project => (homes.project_dir.join(".gemini"), homes.project_dir.clone()),
    }
}

/// Plans the write.
pub fn plan(source: &Source, opts: &Options, homes: &Homes) -> Result<Preview, ExportError> {
    let (dir, anchor) = gemini_dir(homes, opts.scope);
    let mut p = Preview::new("gemini-cli");

    let env_path = dir.join(".env");
    let before = super::safe_write::read_file(&env_path, &anchor)?;
    let text = Text::decode(&env_path, before.as_deref())?;
    let mut pairs = vec![("GEMINI_API_KEY", source.key.as_str()), ("GOOGLE_GEMINI_BASE_URL", source.base_url.as_str())];
    if let Some(m) = &opts.model {
        pairs.push(("GEMINI_MODEL", m.as_str()));
    }
    let old_key = env_file::get(&text.body, "GEMINI_API_KEY");
    let (body, _) = env_file::merge(&text.body, &pairs);
    p.secrets.extend(old_key);
    p.changes.push(FileChange { path: env_path, anchor: anchor.clone(), before, after: Some(text.encode(&body)) });

    let settings = dir.join("settings.json");
    let before = super::safe_write::read_file(&settings, &anchor)?;
    let doc = JsonDoc::parse(&settings, before.as_deref())?;
    let auth = doc.object(&doc.object(&doc.root(), "security")?, "auth")?;
    if let Some(old) = doc.set_str(&auth, "selectedType", "gemini-api-key")
        && old != "gemini-api-key"
    {
        p.notes.push(format!("security.auth.selectedType was {old}: Gemini CLI now signs in with the key"));
    }
    p.changes.push(FileChange { path: settings, anchor, before, after: Some(doc.to_bytes()) });
    p.notes.push("Gemini CLI builds before April 2026 may ignore GOOGLE_GEMINI_BASE_URL in some sign-in states".into());
    Ok(p)
}
