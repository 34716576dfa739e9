//! Deep links: Cherry Studio and CC Switch, and the system's URL opener.
//!
//! - Cherry Studio: `cherrystudio://providers/api-keys?v=1&data=<base64(JSON)>`, JSON
//!   `{id, baseUrl, apiKey, name, type}`; standard base64 of the UTF-8 JSON, percent-encoded
//!   as new-api's console does (Cherry maps a raw `+`/`/` itself; encoded ones decode to
//!   the same base64). `baseUrl` is the bare site root, as All API Hub and new-api send.
//! - CC Switch: `ccswitch://v1/import?resource=provider&app=<app>&name&homepage&endpoint&apiKey`
//!   (+ `model`, Claude's `haikuModel`/`sonnetModel`/`opusModel`, `notes`), query built like
//!   `URLSearchParams`. `endpoint` = `homepage` = the site root, except Codex (`<root>/v1`
//!   when the root has no path); Hermes names are slugged (CC Switch derives its id from it).

use base64::Engine;

use super::{ExportError, Protocol, Source};

/// Every app CC Switch imports a provider for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CcApp {
    /// Claude Code.
    Claude,
    /// Codex.
    Codex,
    /// Gemini CLI.
    Gemini,
    /// Grok Build.
    GrokBuild,
    /// OpenCode.
    OpenCode,
    /// OpenClaw.
    OpenClaw,
    /// Hermes.
    Hermes,
}

impl CcApp {
    /// Every app, in CC Switch's order.
    pub const ALL: [CcApp; 7] =
        [CcApp::Claude, CcApp::Codex, CcApp::Gemini, CcApp::GrokBuild, CcApp::OpenCode, CcApp::OpenClaw, CcApp::Hermes];

    /// The `app` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            CcApp::Claude => "claude",
            CcApp::Codex => "codex",
            CcApp::Gemini => "gemini",
            CcApp::GrokBuild => "grokbuild",
            CcApp::OpenCode => "opencode",
            CcApp::OpenClaw => "openclaw",
            CcApp::Hermes => "hermes",
        }
    }

    /// Inverse of [`CcApp::as_str`].
    pub fn parse(s: &str) -> Option<CcApp> {
        CcApp::ALL.into_iter().find(|a| a.as_str() == s.trim())
    }
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$` from any name (`"My Relay!"` → `my-relay`).
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "apihub".into() } else { out }
}

/// The Cherry Studio provider type for a protocol.
fn cherry_type(p: Protocol) -> &'static str {
    match p {
        Protocol::OpenAi => "openai",
        Protocol::Anthropic => "anthropic",
        Protocol::Gemini => "gemini",
    }
}

/// The Cherry Studio link.
pub fn cherry_studio(source: &Source) -> String {
    let data = serde_json::json!({
        "id": format!("{}-{}", source.provider_id, slug(&source.name)),
        "baseUrl": source.base_url,
        "apiKey": source.key,
        "name": source.name,
        "type": cherry_type(source.protocol),
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(data.to_string());
    let enc = percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC);
    format!("cherrystudio://providers/api-keys?v=1&data={enc}")
}

/// The CC Switch link for one app.
pub fn cc_switch(source: &Source, app: CcApp, model: Option<&str>) -> String {
    let name = if app == CcApp::Hermes { slug(&source.name) } else { source.name.clone() };
    let endpoint = match app {
        CcApp::Codex if url::Url::parse(&source.base_url).is_ok_and(|u| u.path().trim_matches('/').is_empty()) => {
            source.v1_url()
        }
        _ => source.base_url.clone(),
    };
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("resource", "provider")
        .append_pair("app", app.as_str())
        .append_pair("name", &name)
        .append_pair("homepage", &source.base_url)
        .append_pair("endpoint", &endpoint)
        .append_pair("apiKey", &source.key);
    if let Some(m) = model {
        q.append_pair("model", m);
        if app == CcApp::Claude {
            for k in ["haikuModel", "sonnetModel", "opusModel"] {
                q.append_pair(k, m);
            }
        }
    }
    q.append_pair("notes", &format!("API Hub Desk: {}", source.label));
    format!("ccswitch://v1/import?{}", q.finish())
}

/// Opens a URL with the system's handler (`xdg-open`, `open`, the Windows URL handler).
pub fn open_url(url: &str) -> Result<(), ExportError> {
    #[cfg(target_os = "macos")]
    let mut cmd = std::process::Command::new("open");
    #[cfg(windows)]
    let mut cmd = {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    };
    #[cfg(not(any(target_os = "macos", windows)))]
    let mut cmd = std::process::Command::new("xdg-open");
    let status = cmd
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| ExportError::Unsupported(format!("cannot start the system URL opener: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(ExportError::Unsupported(format!(
            "the system URL opener failed ({status}): is the app installed? Copy the link instead"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_cc_switch_hermes_rules() {
        assert_eq!(slug("My Relay!  (CN)"), "my-relay-cn");
        assert_eq!(slug("--"), "apihub");
        assert_eq!(slug("中转站"), "apihub");
    }
}
