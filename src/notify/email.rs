//! Email over SMTP with lettre (rustls): STARTTLS (587), TLS (465) or a plain local
//! relay; optional AUTH with the user and password. The server's certificate is checked
//! against the platform's roots, Mozilla's bundled roots and the user's extra CA file
//! (`network.ca_file`), as every other connection of the app.
//!
//! The TLS crypto provider: lettre is built without one of its own; the program's one
//! provider (`crate::tls`, ring) is installed before the first TLS use.

use std::path::Path;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::channels::SendError;
use crate::domain::notify::{ChannelConfig, Message, SmtpSecurity};

fn tls_parameters(host: &str, extra_ca: Option<&Path>) -> Result<TlsParameters, SendError> {
    crate::tls::install_provider();
    let mut b = TlsParameters::builder(host.to_string());
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        if let Ok(c) = Certificate::from_der(der.as_ref().to_vec()) {
            b = b.add_root_certificate(c);
        }
    }
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path)
            .map_err(|e| SendError(format!("email: extra CA certificate file {}: {e}", path.display())))?;
        let c = Certificate::from_pem(&pem)
            .map_err(|_| SendError(format!("email: extra CA certificate file {}: not a PEM file", path.display())))?;
        b = b.add_root_certificate(c);
    }
    b.build().map_err(|e| SendError(format!("email: TLS setup failed: {e}")))
}

fn mailbox(what: &str, text: &str) -> Result<Mailbox, SendError> {
    text.trim().parse::<Mailbox>().map_err(|e| SendError(format!("email: {what} {text:?} is not an address ({e})")))
}

/// The message as lettre builds it (From, To, Subject, a UTF-8 plain text body).
pub fn build_message(cfg: &ChannelConfig, msg: &Message) -> Result<lettre::Message, SendError> {
    let mut b = lettre::Message::builder().from(mailbox("the sender", &cfg.from)?).subject(msg.title.clone());
    let mut any = false;
    for to in cfg.to.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()) {
        b = b.to(mailbox("the recipient", to)?);
        any = true;
    }
    if !any {
        return Err(SendError("email: no recipient".into()));
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(msg.body.clone())
        .map_err(|e| SendError(format!("email: the message could not be built: {e}")))
}

/// Sends one email. `timeout` bounds each SMTP step.
pub async fn send(
    cfg: &ChannelConfig,
    msg: &Message,
    extra_ca: Option<&Path>,
    timeout: Duration,
) -> Result<(), SendError> {
    let email = build_message(cfg, msg)?;
    let host = cfg.host.trim();
    let tls = match cfg.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(tls_parameters(host, extra_ca)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(host, extra_ca)?),
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(cfg.smtp_port())
        .tls(tls)
        .timeout(Some(timeout));
    if !cfg.user.trim().is_empty() {
        b = b.credentials(Credentials::new(cfg.user.trim().to_string(), cfg.password.clone()));
    }
    let transport = b.build();
    // The whole exchange, not only each step, is bounded.
    let overall = timeout.saturating_mul(4).max(Duration::from_secs(1));
    match tokio::time::timeout(overall, transport.send(email)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(SendError(format!("email: {}", describe(&e)))),
        Err(_) => Err(SendError("email: timed out".into())),
    }
}

/// lettre's error with its cause chain (the server's reply, or the I/O or TLS error);
/// no password ever appears in it.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut out = if e.is_timeout() { "timed out".to_string() } else { e.to_string() };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notify::Level;

    #[test]
    fn the_message_has_its_headers_and_a_utf8_body() {
        let cfg = ChannelConfig {
            from: "API Hub Desk <alerts@example.com>".into(),
            to: "a@example.com, b@example.com".into(),
            ..Default::default()
        };
        let m = Message {
            title: "余额不足".into(),
            body: "Fake / alice：余额 $7.30 低于 $10.00".into(),
            level: Level::Warning,
        };
        let raw = String::from_utf8(build_message(&cfg, &m).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("From: \"API Hub Desk\" <alerts@example.com>")
                || raw.contains("From: API Hub Desk <alerts@example.com>"),
            "{raw}"
        );
        assert!(raw.contains("To: a@example.com, b@example.com"), "{raw}");
        assert!(raw.contains("Subject: =?utf-8?b?"), "an encoded UTF-8 subject: {raw}");
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
        let bad = ChannelConfig { to: "not an address".into(), ..cfg };
        assert!(build_message(&bad, &m).unwrap_err().0.contains("recipient"));
    }
}
