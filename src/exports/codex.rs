//! OpenAI Codex CLI: a provider table in `$CODEX_HOME/config.toml` (default `~/.codex`),
//! edited with `toml_edit` so the user's comments, order and layout survive.
//!
//! ```toml
//! model_provider = "apihub"
//! model = "<model>"            # with --model
//!
//! [model_providers.apihub]
//! name = "<site>"
//! base_url = "<base>/v1"       # Codex appends /responses
//! wire_api = "responses"       # "chat" is refused by Codex ≥ 0.125
//! experimental_bearer_token = "<key>"
//! ```
//!
//! The key goes into the provider table, not `auth.json`: with `requires_openai_auth`
//! (CC Switch's way) Codex 0.171 sends the ChatGPT access token to the relay whenever
//! `auth.json` holds a ChatGPT login (`auth_mode = "chatgpt"`) — measured against a local
//! fake upstream — and `env_key` needs a variable exported in every shell. The bearer
//! token is used only for this provider. A project `.codex/config.toml` cannot define
//! providers, so only the user scope exists.

use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

use super::text::{Text, with_final_newline};
use super::{ExportError, FileChange, Homes, Options, Preview, Scope, Source};

/// Provider ids Codex reserves for its built-ins.
pub const RESERVED_IDS: [&str; 3] = ["openai", "ollama", "lmstudio"];

/// `config.toml` and its anchor.
pub fn config_path(homes: &Homes) -> (std::path::PathBuf, std::path::PathBuf) {
    let (dir, anchor) = homes.dir_or(&homes.codex_home, ".codex");
    (dir.join("config.toml"), anchor)
}

/// Sets `key` to `v`, keeping the old value's spacing and trailing comment. Returns the
/// old value when it was a string.
fn set_value(t: &mut dyn TableLike, key: &str, v: Value) -> Option<String> {
    match t.get_mut(key) {
        Some(Item::Value(old)) => {
            let prev = old.as_str().map(str::to_string);
            let decor = old.decor().clone();
            *old = v;
            *old.decor_mut() = decor;
            prev
        }
        Some(other) => {
            *other = Item::Value(v);
            None
        }
        None => {
            t.insert(key, Item::Value(v));
            None
        }
    }
}

/// Plans the write.
pub fn plan(source: &Source, opts: &Options, homes: &Homes) -> Result<Preview, ExportError> {
    if opts.scope == Scope::Project {
        return Err(ExportError::Unsupported(
            "codex: a project .codex/config.toml cannot define providers; use --scope user".into(),
        ));
    }
    let id = source.provider_id.as_str();
    if RESERVED_IDS.contains(&id) {
        return Err(ExportError::Invalid(format!("codex: provider id {id} is reserved by Codex")));
    }
    let (path, anchor) = config_path(homes);
    let mut p = Preview::new("codex");
    let before = super::safe_write::read_file(&path, &anchor)?;
    let text = Text::decode(&path, before.as_deref())?;
    let mut doc: DocumentMut = text.body.parse().map_err(|e: toml_edit::TomlError| ExportError::Parse {
        path: path.clone(),
        message: one_line(&e.to_string()),
    })?;
    let shape = |message: String| ExportError::Shape { path: path.clone(), message };

    set_value(doc.as_table_mut(), "model_provider", Value::from(id));
    match &opts.model {
        Some(m) => {
            set_value(doc.as_table_mut(), "model", Value::from(m.as_str()));
        }
        None if doc.get("model").is_none() => {
            p.notes.push(
                "no model set: Codex will ask for its own default model, which the site may not have (pass --model)"
                    .into(),
            );
        }
        None => {}
    }
    if let Some(profile) = doc.get("profile").and_then(Item::as_str) {
        p.notes.push(format!("profile = \"{profile}\" is active: its model_provider/model override these"));
    }

    let providers = doc.entry("model_providers").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let parent_inline = providers.is_inline_table();
    let parent_dotted = providers.as_table().is_some_and(Table::is_dotted);
    let providers = providers.as_table_like_mut().ok_or_else(|| shape("`model_providers` is not a table".into()))?;
    if providers.get(id).is_none() {
        let fresh = if parent_inline {
            Item::Value(Value::InlineTable(InlineTable::new()))
        } else {
            let mut t = Table::new();
            t.set_dotted(parent_dotted);
            Item::Table(t)
        };
        providers.insert(id, fresh);
    }
    let table = providers
        .get_mut(id)
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| shape(format!("`model_providers.{id}` is not a table")))?;
    set_value(table, "name", Value::from(source.name.as_str()));
    set_value(table, "base_url", Value::from(source.v1_url()));
    set_value(table, "wire_api", Value::from("responses"));
    if let Some(old) = set_value(table, "experimental_bearer_token", Value::from(source.key.as_str())) {
        p.secrets.push(old);
    }
    for stale in ["env_key", "requires_openai_auth"] {
        if table.remove(stale).is_some() {
            p.notes.push(format!("removed model_providers.{id}.{stale}: the key is the provider's bearer token now"));
        }
    }

    let out = with_final_newline(doc.to_string());
    // The merged file must parse again before it may be written.
    out.parse::<DocumentMut>().map_err(|e| shape(format!("could not merge safely ({})", one_line(&e.to_string()))))?;
    warn_if_shared(&mut p, &path);
    p.changes.push(FileChange { path, anchor, before, after: Some(text.encode(&out)) });
    Ok(p)
}

/// A note when a file other users can read will hold the key.
pub(crate) fn warn_if_shared(p: &mut Preview, path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path)
            && m.permissions().mode() & 0o077 != 0
        {
            p.notes.push(format!(
                "{} is readable by other users (mode {:o}) and will hold the key; its mode is kept",
                path.display(),
                m.permissions().mode() & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (p, path);
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}
