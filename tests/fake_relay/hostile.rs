//! Hostile servers: one canned reply for every path, and raw-TCP misbehaviour
//! (drip, reset, huge body).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A canned reply.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Canned {
        Canned { status, headers: Vec::new(), body: body.into() }
    }
    pub fn header(mut self, k: &'static str, v: impl Into<String>) -> Canned {
        self.headers.push((k, v.into()));
        self
    }
}

/// A server answering every request with `c`. Returns its base URL.
pub async fn canned(c: Canned) -> String {
    let c = Arc::new(c);
    let app = axum::Router::new().fallback(move || {
        let c = c.clone();
        async move {
            let mut r = Response::new(Body::from(c.body.clone()));
            *r.status_mut() = StatusCode::from_u16(c.status).unwrap();
            for (k, v) in &c.headers {
                r.headers_mut().insert(HeaderName::from_static(k), HeaderValue::from_str(v).unwrap());
            }
            r
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn raw<F, Fut>(f: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let f = Arc::new(f);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let f = f.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                f(s).await;
            });
        }
    });
    format!("http://{addr}")
}

/// Accepts, reads the request, then drops the socket (connection reset / closed).
pub async fn reset() -> String {
    raw(|s| async move {
        drop(s);
    })
    .await
}

/// Sends headers, then one body byte per second.
pub async fn drip() -> String {
    raw(|mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n").await;
        for _ in 0..1000 {
            if s.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    })
    .await
}

/// Sends a body of `total` bytes (valid-looking JSON start), without Content-Length.
pub async fn huge(total: usize) -> String {
    raw(move |mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"success\":true,\"data\":\"").await;
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
            sent += chunk.len();
        }
        let _ = s.write_all(b"\"}").await;
    })
    .await
}
