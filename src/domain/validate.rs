//! Input validation in one place: site URLs, tokens and the other credentials, WebDAV
//! server URLs. `accounts add`, the importers, the WebDAV settings and the add-account
//! form all run these rules, so a value refused in one place is refused everywhere.
//! Messages never repeat a secret (a URL's password, a token).

use super::account::normalize_site_url;
use super::{Credentials, NewAccount};

/// Longest URL accepted (browsers cope with more; no relay site needs it).
pub const MAX_URL_LEN: usize = 2048;
/// Longest token, key or user id accepted.
pub const MAX_TOKEN_LEN: usize = 8192;
/// Longest cookie header accepted.
pub const MAX_COOKIE_LEN: usize = 16384;

/// Why an input was refused: which field, and a sentence a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The field (`site URL`, `access token`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for InputError {}

fn err(field: &'static str, problem: impl Into<String>) -> InputError {
    InputError { field, problem: problem.into() }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// True when `%XX` escapes decode to a control character (`%00`, `%0a`, `%7f`…).
fn has_encoded_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .is_some_and(|v| v < 0x20 || v == 0x7f)
    })
}

/// An http(s) URL with a host, no user name or password, no control characters, at
/// most [`MAX_URL_LEN`] long. A missing scheme means `https://`. Returns it normalised
/// (no trailing `/`).
fn http_url(field: &'static str, input: &str) -> Result<String, InputError> {
    let t = input.trim();
    if t.is_empty() {
        return Err(err(field, "empty"));
    }
    if t.len() > MAX_URL_LEN {
        return Err(err(field, format!("too long ({} characters; at most {MAX_URL_LEN})", t.len())));
    }
    if has_control(t) || has_encoded_control(t) {
        return Err(err(field, "contains control characters (tab, new line, %00 …)"));
    }
    if t.contains(char::is_whitespace) {
        return Err(err(field, "contains spaces"));
    }
    let normalized = normalize_site_url(t);
    let url = url::Url::parse(&normalized).map_err(|e| err(field, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(field, format!("must start with http:// or https:// (not {}://)", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(err(field, "has no host name"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(field, "must not hold a user name or password (user:password@); enter them separately"));
    }
    Ok(normalized)
}

/// A relay site's base URL (see [`http_url`]'s rules). Returns it normalised.
pub fn site_url(input: &str) -> Result<String, InputError> {
    http_url("site URL", input)
}

/// A WebDAV server URL: the same rules as a site URL; the account goes in the
/// username and password fields.
pub fn webdav_url(input: &str) -> Result<String, InputError> {
    http_url("WebDAV server URL", input)
}

/// A token-like secret (access token, API key, refresh token): not empty, no spaces
/// or control characters, at most [`MAX_TOKEN_LEN`]. Returns it trimmed.
pub fn token(field: &'static str, input: &str) -> Result<String, InputError> {
    let t = input.trim();
    if t.is_empty() {
        return Err(err(field, "empty"));
    }
    if t.len() > MAX_TOKEN_LEN {
        return Err(err(field, format!("too long ({} characters)", t.len())));
    }
    if t.contains(char::is_whitespace) || has_control(t) {
        return Err(err(field, "contains spaces or control characters (was more than the token pasted?)"));
    }
    Ok(t.to_string())
}

/// A cookie header (`session=…; cf_clearance=…`): not empty, one line, at most
/// [`MAX_COOKIE_LEN`]. Spaces are allowed (between pairs).
pub fn cookie(input: &str) -> Result<String, InputError> {
    let t = input.trim();
    if t.is_empty() {
        return Err(err("cookie", "empty"));
    }
    if t.len() > MAX_COOKIE_LEN {
        return Err(err("cookie", format!("too long ({} characters)", t.len())));
    }
    if has_control(t) {
        return Err(err("cookie", "contains control characters (paste one line)"));
    }
    if !t.contains('=') {
        return Err(err("cookie", "has no name=value pair"));
    }
    Ok(t.to_string())
}

/// A password: not empty, no control characters (spaces are fine).
pub fn password(input: &str) -> Result<(), InputError> {
    if input.is_empty() {
        return Err(err("password", "empty"));
    }
    if has_control(input) {
        return Err(err("password", "contains control characters"));
    }
    Ok(())
}

/// A user id or username: may be empty; otherwise no spaces or control characters.
pub fn user_ref(field: &'static str, input: &str) -> Result<String, InputError> {
    let t = input.trim();
    if t.len() > 256 {
        return Err(err(field, "too long"));
    }
    if has_control(t) {
        return Err(err(field, "contains control characters"));
    }
    Ok(t.to_string())
}

fn optional(
    v: &Option<String>,
    check: impl Fn(&str) -> Result<String, InputError>,
) -> Result<Option<String>, InputError> {
    v.as_deref().map(check).transpose()
}

/// Checks every present credential (each one a usable value); returns them trimmed.
pub fn credentials(c: &Credentials) -> Result<Credentials, InputError> {
    if let Some(p) = &c.password {
        password(p)?;
    }
    Ok(Credentials {
        access_token: optional(&c.access_token, |t| token("access token", t))?,
        password: c.password.clone(),
        cookie: optional(&c.cookie, cookie)?,
        api_key: optional(&c.api_key, |t| token("API key", t))?,
        refresh_token: optional(&c.refresh_token, |t| token("refresh token", t))?,
        user_agent: optional(&c.user_agent, |u| {
            if has_control(u) {
                Err(err("User-Agent", "contains control characters"))
            } else {
                Ok(u.trim().to_string())
            }
        })?
        .filter(|u| !u.is_empty()),
    })
}

/// A site's display name: may be empty; at most 512 bytes, no control characters.
/// Returns it trimmed.
pub fn site_name(input: &str) -> Result<String, InputError> {
    if input.len() > 512 || has_control(input) {
        return Err(err("site name", "too long or contains control characters"));
    }
    Ok(input.trim().to_string())
}

/// Checks an account before it is stored: its site URL, names and every credential it
/// carries. Returns it normalised (URL without trailing `/`, values trimmed).
pub fn new_account(acc: &NewAccount) -> Result<NewAccount, InputError> {
    let name = site_name(&acc.site_name)?;
    Ok(NewAccount {
        site_url: site_url(&acc.site_url)?,
        site_name: name,
        kind: acc.kind,
        user_id: user_ref("user id", &acc.user_id)?,
        username: user_ref("username", &acc.username)?,
        auth: acc.auth,
        credentials: credentials(&acc.credentials)?,
    })
}

/// True when the credentials hold what the sign-in method needs.
pub fn usable_for(auth: super::AuthMethod, c: &Credentials) -> bool {
    use super::AuthMethod;
    match auth {
        AuthMethod::AccessToken => c.access_token.is_some() || c.refresh_token.is_some(),
        AuthMethod::Cookie => c.cookie.is_some(),
        AuthMethod::ApiKey => c.api_key.is_some(),
        AuthMethod::Password => c.password.is_some(),
    }
}

/// Like [`new_account`], and the credential its sign-in method needs must be there
/// (adding an account; imports may bring accounts whose credentials need re-entry).
pub fn account_to_add(acc: &NewAccount) -> Result<NewAccount, InputError> {
    let checked = new_account(acc)?;
    if !usable_for(checked.auth, &checked.credentials) {
        let field = match checked.auth {
            super::AuthMethod::AccessToken => "access token",
            super::AuthMethod::Cookie => "cookie",
            super::AuthMethod::ApiKey => "API key",
            super::AuthMethod::Password => "password",
        };
        return Err(err(field, "missing"));
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_urls_must_be_plain_http_or_https_with_a_host() {
        assert_eq!(site_url(" relay.example/ ").as_deref(), Ok("https://relay.example"));
        assert_eq!(site_url("http://127.0.0.1:3000/").as_deref(), Ok("http://127.0.0.1:3000"));
        assert_eq!(site_url("https://x.example/api").as_deref(), Ok("https://x.example/api"));
        for bad in [
            "",
            "ftp://x.example",
            "https://x.example/%00",
            "https://x.example/a%0Ab",
            "https://x.example/a\tb",
            "https://x.example/a b",
            "http://user:pw@host.example",
            "http://user@host.example",
            "https://",
            "file:///etc/passwd",
        ] {
            assert!(site_url(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("https://{}.example", "a".repeat(MAX_URL_LEN));
        assert!(site_url(&long).unwrap_err().problem.contains("too long"));
        let e = site_url("http://user:secretpw@host.example").unwrap_err();
        assert!(!e.to_string().contains("secretpw"), "{e}");
    }

    #[test]
    fn tokens_are_one_word_and_cookies_one_line() {
        assert_eq!(token("access token", "  abc  ").as_deref(), Ok("abc"));
        for bad in ["", "   ", "a b", "a\nb", "a\u{0}b"] {
            assert!(token("access token", bad).is_err(), "{bad:?} accepted");
        }
        assert!(cookie("session=abc; cf_clearance=x").is_ok());
        assert!(cookie("session=abc\nx=1").is_err());
        assert!(cookie("novalue").is_err());
        assert!(password("correct horse").is_ok());
        assert!(password("").is_err());
    }

    #[test]
    fn an_account_is_checked_field_by_field() {
        let acc = NewAccount {
            site_url: "relay.example/".into(),
            site_name: " Relay ".into(),
            kind: crate::domain::SiteKind::NewApi,
            user_id: " 7 ".into(),
            username: String::new(),
            auth: crate::domain::AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(" tok ".into()), ..Default::default() },
        };
        let ok = new_account(&acc).unwrap();
        assert_eq!(
            (ok.site_url.as_str(), ok.site_name.as_str(), ok.user_id.as_str()),
            ("https://relay.example", "Relay", "7")
        );
        assert_eq!(ok.credentials.access_token.as_deref(), Some("tok"));
        let mut bad = acc.clone();
        bad.credentials.access_token = Some(String::new());
        assert_eq!(new_account(&bad).unwrap_err().field, "access token");
    }
}
