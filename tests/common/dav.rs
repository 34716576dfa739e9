//! A real WebDAV server in-process (`dav-server`, memory filesystem) behind an axum
//! handler that can inject faults: Basic auth (401), a status for every request or for
//! PUT only, MOVE refused, Apache-style MOVE (absolute `Destination` only), GET answering
//! garbage, MOVEs held until released; and a TCP proxy that cuts the connection
//! mid-upload. Include with `#[path = "common/dav.rs"] mod dav;`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use dav_server::DavHandler;
use dav_server::memfs::MemFs;
use dav_server::memls::MemLs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Faults the server injects.
#[derive(Clone, Default)]
pub struct Faults {
    /// Basic credentials required on every request.
    pub auth: Option<(String, String)>,
    /// Every request answers this status.
    pub status: Option<u16>,
    /// MOVE answers 405.
    pub refuse_move: bool,
    /// MOVE answers 400 unless `Destination` is an absolute URL (Apache mod_dav).
    pub apache_move: bool,
    /// PUT answers this status.
    pub put_status: Option<u16>,
    /// GET answers other bytes than were stored.
    pub corrupt_get: bool,
    /// The next MOVE waits: `entered` is notified, then it waits for `release`.
    pub hold_move: Option<Hold>,
}

/// A held request: the test learns it arrived, does something, then lets it go on.
#[derive(Clone)]
pub struct Hold {
    /// Notified when the request arrives.
    pub entered: Arc<tokio::sync::Notify>,
    /// The request goes on when this is notified.
    pub release: Arc<tokio::sync::Notify>,
}

/// The running server.
#[derive(Clone)]
pub struct Server {
    /// The WebDAV handler (its memory filesystem).
    pub dav: DavHandler,
    /// Faults, changeable while it runs.
    pub faults: Arc<Mutex<Faults>>,
    /// Methods seen (`PROPFIND depth=1`, `PUT`, …).
    pub methods: Arc<Mutex<Vec<String>>>,
}

async fn handle(State(srv): State<Server>, req: Request) -> Response {
    let f = srv.faults.lock().unwrap().clone();
    let depth = req.headers().get("depth").and_then(|v| v.to_str().ok()).map(|d| format!(" depth={d}"));
    srv.methods.lock().unwrap().push(format!("{}{}", req.method(), depth.unwrap_or_default()));
    if let Some((u, p)) = &f.auth {
        let want = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")));
        let got = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if got != want {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header("WWW-Authenticate", "Basic realm=\"dav\"")
                .body(Body::from("unauthorized"))
                .unwrap();
        }
    }
    if let Some(s) = f.status {
        return StatusCode::from_u16(s).unwrap().into_response();
    }
    let method = req.method().as_str().to_string();
    if method == "MOVE" && f.refuse_move {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    if method == "MOVE" && f.apache_move {
        let dest = req.headers().get("destination").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !dest.starts_with("http://") && !dest.starts_with("https://") {
            return StatusCode::BAD_REQUEST.into_response();
        }
    }
    let held = if method == "MOVE" { srv.faults.lock().unwrap().hold_move.take() } else { None };
    if let Some(hold) = held {
        hold.entered.notify_one();
        hold.release.notified().await;
    }
    if method == "GET" && f.corrupt_get {
        return (StatusCode::OK, "garbage").into_response();
    }
    if method == "PUT"
        && let Some(s) = f.put_status
    {
        return StatusCode::from_u16(s).unwrap().into_response();
    }
    srv.dav.handle(req).await.into_response()
}

/// Starts the server; returns its root URL (`http://127.0.0.1:port/dav`).
pub async fn start(faults: Faults) -> (String, Server) {
    let dav =
        DavHandler::builder().filesystem(MemFs::new()).locksystem(MemLs::new()).strip_prefix("/dav").build_handler();
    let srv = Server { dav, faults: Arc::new(Mutex::new(faults)), methods: Arc::default() };
    let app = axum::Router::new()
        .route("/dav", axum::routing::any(handle))
        .route("/dav/", axum::routing::any(handle))
        .route("/dav/{*path}", axum::routing::any(handle))
        .with_state(srv.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/dav"), srv)
}

/// A TCP proxy that forwards everything but drops the connection as soon as a PUT
/// request starts (the upload is cut mid-way).
pub async fn cutting_proxy(upstream: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else { return };
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let up = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = cr.read(&mut buf).await.unwrap_or(0);
                        if n == 0 || buf[..n].windows(4).any(|w| w == b"PUT ") {
                            return;
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                let down = async {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::select! { _ = up => {}, _ = down => {} }
            });
        }
    });
    addr
}
