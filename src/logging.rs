//! The logger: stderr plus an in-memory queue that the app (or the CLI) drains into
//! the store's activity log. Every message passes through [`redact`] first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::store::{ActivityEntry, Level};

struct Logger {
    queue: Mutex<Vec<ActivityEntry>>,
    /// A `log::LevelFilter` as a number (0 off … 5 trace).
    stderr_level: AtomicUsize,
    /// `APIHUB_LOG` asked for a level: it wins over [`show_info_on_stderr`].
    explicit: bool,
}

fn filter_of(n: usize) -> log::LevelFilter {
    log::LevelFilter::iter().nth(n).unwrap_or(log::LevelFilter::Off)
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Installs the logger once; later calls are ignored. `verbose` prints debug lines to stderr.
pub fn init(verbose: bool) {
    let env = std::env::var("APIHUB_LOG").ok();
    let stderr_level = match env.as_deref() {
        Some("debug") => log::LevelFilter::Debug,
        Some("off") => log::LevelFilter::Off,
        _ if verbose => log::LevelFilter::Debug,
        _ => log::LevelFilter::Warn,
    };
    let explicit = matches!(env.as_deref(), Some("debug" | "off"));
    let logger = LOGGER.get_or_init(|| Logger {
        queue: Mutex::new(Vec::new()),
        stderr_level: AtomicUsize::new(stderr_level as usize),
        explicit,
    });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

/// Long-running headless modes (`apihub watch`) log what they do: info lines go to
/// stderr too (unless `APIHUB_LOG` or `--verbose` chose a level).
pub fn show_info_on_stderr() {
    if let Some(l) = LOGGER.get()
        && !l.explicit
        && filter_of(l.stderr_level.load(Ordering::Relaxed)) < log::LevelFilter::Info
    {
        l.stderr_level.store(log::LevelFilter::Info as usize, Ordering::Relaxed);
    }
}

/// Takes the entries logged since the last call (for persisting to the store).
pub fn drain() -> Vec<ActivityEntry> {
    LOGGER.get().and_then(|l| l.queue.lock().ok().map(|mut q| std::mem::take(&mut *q))).unwrap_or_default()
}

impl log::Log for Logger {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.target().starts_with("apihub") && meta.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = redact(&record.args().to_string());
        if record.level() <= filter_of(self.stderr_level.load(Ordering::Relaxed)) {
            eprintln!("[{}] {}: {}", record.level(), record.target(), message);
        }
        if record.level() <= log::Level::Info
            && let Ok(mut q) = self.queue.lock()
            && q.len() < 10_000
        {
            q.push(ActivityEntry {
                ts: crate::domain::time::now_unix(),
                level: match record.level() {
                    log::Level::Error => Level::Error,
                    log::Level::Warn => Level::Warn,
                    log::Level::Info => Level::Info,
                    _ => Level::Debug,
                },
                target: record.target().trim_start_matches("apihub::").to_string(),
                message,
            });
        }
    }

    fn flush(&self) {}
}

/// Shortens a secret to its first and last few characters: `sk-abc…xyz`.
pub fn mask_secret(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let (head, tail) = if secret.starts_with("sk-") { (6, 3) } else { (3, 3) };
    let head: String = chars[..head].iter().collect();
    let tail: String = chars[chars.len() - tail..].iter().collect();
    format!("{head}…{tail}")
}

/// Removes secrets from a log line: `sk-` keys, bearer tokens, cookie values,
/// `password=`/`token=` pairs and long opaque tokens (≥ 24 alphanumerics).
pub fn redact(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut mask_next = false;
    for word in line.split_inclusive(|c: char| c.is_whitespace() || c == ',' || c == ';') {
        let trimmed = word.trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
        let sep = &word[trimmed.len()..];
        let lower = trimmed.to_ascii_lowercase();
        let masked = if mask_next && !trimmed.is_empty() {
            mask_next = false;
            Some(mask_secret(trimmed))
        } else if let Some(u) = url_without_password(trimmed) {
            Some(u)
        } else if let Some((k, v)) = trimmed.split_once('=').or_else(|| trimmed.split_once(':'))
            && is_secret_name(k)
            && !v.is_empty()
        {
            Some(format!("{k}={}", mask_secret(v.trim_matches('"'))))
        } else if (is_secret_name(lower.trim_end_matches([':', '='])) && trimmed.ends_with([':', '=']))
            || lower == "bearer"
        {
            mask_next = true;
            None
        } else if looks_like_token(trimmed) {
            Some(mask_secret(trimmed))
        } else {
            None
        };
        match masked {
            Some(m) => {
                out.push_str(&m);
                out.push_str(sep);
            }
            None => out.push_str(word),
        }
    }
    out
}

/// `scheme://user:***@host…` for a URL carrying a password (proxy URLs), else `None`.
fn url_without_password(w: &str) -> Option<String> {
    let start = w.find("://")? + 3;
    let rest = &w[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some(format!("{}{}:***{}", &w[..start], &rest[..colon], &rest[at..]))
}

fn is_secret_name(k: &str) -> bool {
    let k = k.trim().trim_matches('"').to_ascii_lowercase();
    [
        "password",
        "passwd",
        "token",
        "access_token",
        "refresh_token",
        "cookie",
        "session",
        "cf_clearance",
        "authorization",
        "api_key",
        "key",
        "secret",
        "new_api_refresh",
    ]
    .contains(&k.as_str())
}

fn looks_like_token(w: &str) -> bool {
    let w = w.trim_matches(|c: char| c == '"' || c == '\'' || c == '(' || c == ')');
    if w.starts_with("sk-") && w.len() > 10 {
        return true;
    }
    w.len() >= 24
        && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_url_passwords_are_masked() {
        let r = redact("network: proxy socks5://bob:s3cret@127.0.0.1:1080 failed");
        assert!(!r.contains("s3cret") && r.contains("socks5://bob:***@127.0.0.1:1080"), "{r}");
        assert_eq!(redact("see https://x.example/a@b"), "see https://x.example/a@b");
    }

    #[test]
    fn secrets_are_redacted() {
        let key = "sk-abcdefghijklmnopqrstuvwxyz0123456789";
        let line = format!(
            "using key {key}, Authorization: Bearer abc123def456ghi789jkl000 cookie=session=xyzxyzxyzxyzxyz password: hunter2hunter2"
        );
        let r = redact(&line);
        assert!(!r.contains("abcdefghijklmnop"), "{r}");
        assert!(!r.contains("abc123def456ghi789"), "{r}");
        assert!(!r.contains("xyzxyzxyz"), "{r}");
        assert!(!r.contains("hunter2"), "{r}");
        assert!(r.contains("sk-abc…789"), "{r}");
        assert!(r.contains("using key"), "{r}");
    }

    #[test]
    fn ordinary_text_is_kept() {
        let line = "refreshed 12 accounts in 3.2 s, 1 failed: https://api.example.com (HTTP 502)";
        assert_eq!(redact(line), line);
    }
}
