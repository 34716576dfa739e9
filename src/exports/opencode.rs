//! OpenCode: a provider in `opencode.json` and its key in `auth.json`.
//!
//! Config: `$XDG_CONFIG_HOME/opencode/opencode.json` (default `~/.config/opencode/`, on
//! every OS: OpenCode uses xdg-basedir), or an existing `opencode.jsonc` there; project
//! scope: `opencode.json` in the project. Credentials: `$XDG_DATA_HOME/opencode/auth.json`
//! (default `~/.local/share/opencode/auth.json`) as `{"<id>": {"type": "api", "key": …}}`,
//! where `/connect` stores them — the config itself holds no key. The provider uses
//! `@ai-sdk/openai-compatible` (Chat Completions, served by every relay) or
//! `@ai-sdk/anthropic` for an Anthropic-protocol source, with `baseURL = <base>/v1`.

use std::path::PathBuf;

use jsonc_parser::cst::CstInputValue;

use super::json_edit::{JsonDoc, object_of};
use super::{ExportError, FileChange, Homes, Options, Preview, Protocol, Scope, Source};

/// The config file and its anchor.
pub fn config_path(homes: &Homes, scope: Scope) -> (PathBuf, PathBuf) {
    let (dir, anchor) = match scope {
        Scope::User => {
            let (cfg, anchor) = homes.dir_or(&homes.xdg_config_home, ".config");
            (cfg.join("opencode"), anchor)
        }
        Scope::Project => (homes.project_dir.clone(), homes.project_dir.clone()),
    };
    let json = dir.join("opencode.json");
    let jsonc = dir.join("opencode.jsonc");
    let path = if !json.exists() && jsonc.exists() { jsonc } else { json };
    (path, anchor)
}

/// `auth.json` and its anchor.
pub fn auth_path(homes: &Homes) -> (PathBuf, PathBuf) {
    let (data, anchor) = homes.dir_or(&homes.xdg_data_home, ".local/share");
    (data.join("opencode").join("auth.json"), anchor)
}

/// The AI SDK package for a protocol.
pub fn npm_package(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Anthropic => "@ai-sdk/anthropic",
        Protocol::OpenAi | Protocol::Gemini => "@ai-sdk/openai-compatible",
    }
}

/// Plans the write.
pub fn plan(source: &Source, opts: &Options, homes: &Homes) -> Result<Preview, ExportError> {
    let id = source.provider_id.as_str();
    let mut p = Preview::new("opencode");

    let (path, anchor) = config_path(homes, opts.scope);
    let before = super::safe_write::read_file(&path, &anchor)?;
    let doc = JsonDoc::parse(&path, before.as_deref())?;
    let root = doc.root();
    if doc.created() {
        doc.set_str(&root, "$schema", "https://opencode.ai/config.json");
    }
    let providers = doc.object(&root, "provider")?;
    let entry = doc.object(&providers, id)?;
    doc.set_str(&entry, "npm", npm_package(source.protocol));
    doc.set_str(&entry, "name", &source.name);
    let options = doc.object(&entry, "options")?;
    doc.set_str(&options, "baseURL", &source.v1_url());
    if let Some(old) = doc.remove(&options, "apiKey") {
        p.secrets.extend(old);
        p.notes.push(format!("removed provider.{id}.options.apiKey: the key is in auth.json"));
    }
    if let Some(m) = &opts.model {
        let models = doc.object(&entry, "models")?;
        if models.get(m).is_none() {
            doc.set(&models, m, object_of(&[("name", CstInputValue::String(m.clone()))]));
        }
        doc.set_str(&root, "model", &format!("{id}/{m}"));
    }
    p.changes.push(FileChange { path, anchor, before, after: Some(doc.to_bytes()) });

    let (auth, auth_anchor) = auth_path(homes);
    let before = super::safe_write::read_file(&auth, &auth_anchor)?;
    let doc = JsonDoc::parse(&auth, before.as_deref())?;
    let root = doc.root();
    if let Some(old) = root.get(id).and_then(|prop| prop.object_value()).and_then(|o| doc.get_str(&o, "key")) {
        p.secrets.push(old);
    }
    doc.set(
        &root,
        id,
        object_of(&[("type", CstInputValue::String("api".into())), ("key", CstInputValue::String(source.key.clone()))]),
    );
    super::codex::warn_if_shared(&mut p, &auth);
    p.changes.push(FileChange { path: auth, anchor: auth_anchor, before, after: Some(doc.to_bytes()) });
    Ok(p)
}
