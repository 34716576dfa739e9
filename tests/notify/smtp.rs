//! Email against a real SMTP server in the test: a small loopback server that speaks
//! enough SMTP (EHLO, STARTTLS with the test CA's certificate, AUTH PLAIN/LOGIN, MAIL,
//! RCPT, DATA, QUIT) and keeps what it received.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apihub::domain::notify::{ChannelConfig, ChannelKind, ChannelSpec, Level, Message, SmtpSecurity};
use apihub::domain::settings::Lang;
use apihub::notify::channels;
use apihub::relay::{ClientConfig, ProxySetting, RelayClient};
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One message as the server received it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub rcpt: Vec<String>,
    pub data: String,
    pub user: Option<String>,
    pub tls: bool,
}

pub struct Smtp {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

const USER: &str = "alerts@example.com";
const PASSWORD: &str = "app-password-123";

fn acceptor() -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls;
    let cert = rustls::pki_types::CertificateDer::from(include_bytes!("../fixtures/tls/leaf.der").to_vec());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(include_bytes!("../fixtures/tls/leaf.key.der").to_vec().into());
    // The process's one provider (the tree names exactly one in rustls' features).
    let cfg = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(vec![cert], key).unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

/// Starts a server; `starttls` offers STARTTLS with the test CA's certificate.
pub async fn start(starttls: bool) -> Smtp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let m = mails.clone();
    let tls = starttls.then(acceptor);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (m, tls) = (m.clone(), tls.clone());
            tokio::spawn(async move {
                let _ = session(Box::new(tcp), tls, m).await;
            });
        }
    });
    Smtp { port, mails }
}

async fn reply(io: &mut BufReader<Box<dyn Io>>, text: &str) -> std::io::Result<()> {
    io.get_mut().write_all(text.as_bytes()).await?;
    io.get_mut().flush().await
}

async fn session(
    stream: Box<dyn Io>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mails: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    let mut io = BufReader::new(stream);
    reply(&mut io, "220 fake.test ESMTP ready\r\n").await?;
    let mut mail = Mail::default();
    let mut encrypted = false;
    loop {
        let mut line = String::new();
        if io.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let mut r = String::from("250-fake.test\r\n");
            if tls.is_some() && !encrypted {
                r.push_str("250-STARTTLS\r\n");
            }
            r.push_str("250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
            reply(&mut io, &r).await?;
        } else if upper == "STARTTLS" && !encrypted {
            let Some(acceptor) = tls.clone() else {
                reply(&mut io, "502 no\r\n").await?;
                continue;
            };
            reply(&mut io, "220 2.0.0 Ready to start TLS\r\n").await?;
            let inner = io.into_inner();
            let secured = match acceptor.accept(inner).await {
                Ok(s) => s,
                Err(_) => return Ok(()),
            };
            io = BufReader::new(Box::new(secured));
            encrypted = true;
            mail.tls = true;
        } else if let Some(b64) = cmd.strip_prefix("AUTH PLAIN ") {
            let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).unwrap_or_default();
            let parts: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
            if parts.len() == 3 && parts[1] == USER.as_bytes() && parts[2] == PASSWORD.as_bytes() {
                mail.user = Some(USER.into());
                reply(&mut io, "235 2.7.0 Authentication successful\r\n").await?;
            } else {
                reply(&mut io, "535 5.7.8 Authentication credentials invalid\r\n").await?;
            }
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = cmd[10..].trim().to_string();
            reply(&mut io, "250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            mail.rcpt.push(cmd[8..].trim().to_string());
            reply(&mut io, "250 2.1.5 OK\r\n").await?;
        } else if upper == "DATA" {
            reply(&mut io, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if io.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            mail.data = data;
            mails.lock().unwrap().push(mail.clone());
            reply(&mut io, "250 2.0.0 OK queued\r\n").await?;
        } else if upper == "QUIT" {
            reply(&mut io, "221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            reply(&mut io, "250 OK\r\n").await?;
        } else {
            reply(&mut io, "502 5.5.2 Command not recognized\r\n").await?;
        }
    }
}

fn email(port: u16, security: SmtpSecurity, password: &str) -> ChannelSpec {
    ChannelSpec {
        name: "mail".into(),
        kind: ChannelKind::Email,
        config: ChannelConfig {
            host: "127.0.0.1".into(),
            port,
            security,
            user: USER.into(),
            password: password.into(),
            from: "API Hub Desk <alerts@example.com>".into(),
            to: "ops@example.com, me@example.com".into(),
            ..Default::default()
        },
        events: vec![],
        enabled: true,
    }
}

fn msg() -> Message {
    Message {
        title: "API Hub Desk：余额不足".into(),
        body: "Fake / alice：余额 $7.30 低于 $10.00".into(),
        level: Level::Warning,
    }
}

fn client(ca: bool) -> RelayClient {
    let extra_ca_file = ca.then(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem"));
    RelayClient::new(ClientConfig { proxy: ProxySetting::Direct, extra_ca_file, ..Default::default() }).unwrap()
}

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn email_with_auth_reaches_the_server() {
    let smtp = start(false).await;
    channels::send(&client(false), &email(smtp.port, SmtpSecurity::None, PASSWORD), &msg(), Lang::ZhCn, T)
        .await
        .unwrap();
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.user.as_deref(), Some(USER));
    assert_eq!(m.from, "<alerts@example.com>");
    assert_eq!(m.rcpt, vec!["<ops@example.com>", "<me@example.com>"]);
    let subject = m.data.lines().find(|l| l.starts_with("Subject: ")).unwrap();
    assert!(subject.contains("=?utf-8?b?"), "an encoded UTF-8 subject: {subject}");
    assert!(m.data.contains("Content-Type: text/plain; charset=utf-8"), "{}", m.data);
    assert!(!m.tls);

    // A wrong password: the server's 535, and no password in the error.
    let e = channels::send(&client(false), &email(smtp.port, SmtpSecurity::None, "wrong-pass"), &msg(), Lang::En, T)
        .await
        .unwrap_err();
    assert!(e.0.contains("535") && e.0.starts_with("email:"), "{e}");
    assert!(!e.0.contains("wrong-pass"));
    // Nobody listening: a clear connection error.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let e = channels::send(&client(false), &email(closed, SmtpSecurity::None, PASSWORD), &msg(), Lang::En, T)
        .await
        .unwrap_err();
    assert!(e.0.starts_with("email:"), "{e}");
}

#[tokio::test]
async fn email_over_starttls_checks_the_certificate() {
    let smtp = start(true).await;
    // The test CA is trusted through the extra CA file (network.ca_file), as for relays.
    channels::send(&client(true), &email(smtp.port, SmtpSecurity::Starttls, PASSWORD), &msg(), Lang::En, T)
        .await
        .unwrap();
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls && mails[0].user.as_deref() == Some(USER), "{mails:?}");
    // Without it, the self-signed chain is refused before any password is sent.
    let e = channels::send(&client(false), &email(smtp.port, SmtpSecurity::Starttls, PASSWORD), &msg(), Lang::En, T)
        .await
        .unwrap_err();
    assert!(e.0.to_lowercase().contains("certificate") || e.0.to_lowercase().contains("issuer"), "{e}");
    assert_eq!(smtp.mails.lock().unwrap().len(), 1);
    // A server without STARTTLS while STARTTLS is required: refused, not sent in clear.
    let plain = start(false).await;
    let e = channels::send(&client(true), &email(plain.port, SmtpSecurity::Starttls, PASSWORD), &msg(), Lang::En, T)
        .await
        .unwrap_err();
    assert!(e.0.starts_with("email:"), "{e}");
    assert!(plain.mails.lock().unwrap().is_empty());
}
