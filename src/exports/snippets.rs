//! Copy-as snippets in the shape of the source's protocol: environment variables, a `curl`
//! line, a Python SDK call. They carry the full key (they are for the user's clipboard or
//! terminal, never for logs).

use serde_json::json;

use super::{Protocol, Source};

/// Which shell's syntax for [`env`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shell {
    /// `export K='v'` (sh, bash, zsh).
    #[default]
    Posix,
    /// `$env:K = 'v'`.
    PowerShell,
}

impl Shell {
    /// The shell this platform's users most likely type into.
    pub fn native() -> Shell {
        if cfg!(windows) { Shell::PowerShell } else { Shell::Posix }
    }
}

/// The variables a protocol's SDKs and CLIs read.
pub fn env_pairs(source: &Source, model: Option<&str>) -> Vec<(&'static str, String)> {
    let mut v = match source.protocol {
        Protocol::OpenAi => vec![("OPENAI_BASE_URL", source.v1_url()), ("OPENAI_API_KEY", source.key.clone())],
        Protocol::Anthropic => {
            vec![("ANTHROPIC_BASE_URL", source.base_url.clone()), ("ANTHROPIC_AUTH_TOKEN", source.key.clone())]
        }
        Protocol::Gemini => {
            vec![("GOOGLE_GEMINI_BASE_URL", source.base_url.clone()), ("GEMINI_API_KEY", source.key.clone())]
        }
    };
    if let Some(m) = model {
        match source.protocol {
            Protocol::OpenAi => {}
            Protocol::Anthropic => v.push(("ANTHROPIC_MODEL", m.to_string())),
            Protocol::Gemini => v.push(("GEMINI_MODEL", m.to_string())),
        }
    }
    v
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn ps_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Environment variables, one line each.
pub fn env(source: &Source, model: Option<&str>, shell: Shell) -> String {
    env_pairs(source, model)
        .iter()
        .map(|(k, v)| match shell {
            Shell::Posix => format!("export {k}={}\n", sh_quote(v)),
            Shell::PowerShell => format!("$env:{k} = {}\n", ps_quote(v)),
        })
        .collect()
}

/// One request with `curl` (POSIX shell quoting).
pub fn curl(source: &Source, model: &str) -> String {
    let (url, headers, body) = match source.protocol {
        Protocol::OpenAi => (
            format!("{}/chat/completions", source.v1_url()),
            vec![format!("Authorization: Bearer {}", source.key)],
            json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]}),
        ),
        Protocol::Anthropic => (
            format!("{}/v1/messages", source.base_url),
            vec![format!("x-api-key: {}", source.key), "anthropic-version: 2023-06-01".into()],
            json!({"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}),
        ),
        Protocol::Gemini => (
            format!("{}/v1beta/models/{model}:generateContent", source.base_url),
            vec![format!("x-goog-api-key: {}", source.key)],
            json!({"contents": [{"parts": [{"text": "Hello"}]}]}),
        ),
    };
    let mut out = format!("curl {}", sh_quote(&url));
    for h in headers.iter().chain(std::iter::once(&"Content-Type: application/json".to_string())) {
        out.push_str(&format!(" \\\n  -H {}", sh_quote(h)));
    }
    out.push_str(&format!(" \\\n  -d {}\n", sh_quote(&body.to_string())));
    out
}

/// A Python string literal (JSON string syntax is valid Python).
fn py(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A Python SDK call: `openai`, `anthropic` or `google-genai`.
pub fn python(source: &Source, model: &str) -> String {
    match source.protocol {
        Protocol::OpenAi => format!(
            "from openai import OpenAI\n\nclient = OpenAI(base_url={}, api_key={})\nreply = client.chat.completions.create(\n    model={},\n    messages=[{{\"role\": \"user\", \"content\": \"Hello\"}}],\n)\nprint(reply.choices[0].message.content)\n",
            py(&source.v1_url()),
            py(&source.key),
            py(model)
        ),
        Protocol::Anthropic => format!(
            "import anthropic\n\nclient = anthropic.Anthropic(base_url={}, api_key={})\nmessage = client.messages.create(\n    model={},\n    max_tokens=256,\n    messages=[{{\"role\": \"user\", \"content\": \"Hello\"}}],\n)\nprint(message.content[0].text)\n",
            py(&source.base_url),
            py(&source.key),
            py(model)
        ),
        Protocol::Gemini => format!(
            "from google import genai\n\nclient = genai.Client(api_key={}, http_options={{\"base_url\": {}}})\nreply = client.models.generate_content(model={}, contents=\"Hello\")\nprint(reply.text)\n",
            py(&source.key),
            py(&source.base_url),
            py(model)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_every_shell() {
        let s = Source::new("x", "https://r.example", "sk-a'b", Protocol::OpenAi);
        assert_eq!(
            env(&s, None, Shell::Posix),
            "export OPENAI_BASE_URL='https://r.example/v1'\nexport OPENAI_API_KEY='sk-a'\\''b'\n"
        );
        assert!(env(&s, None, Shell::PowerShell).contains("$env:OPENAI_API_KEY = 'sk-a''b'"));
    }
}
