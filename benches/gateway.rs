//! The local gateway's overhead, printed beside its references from the same run: the
//! same load straight to an instant local upstream ("direct"), through `apihub serve`
//! (a separate process, accounting on), and through the LiteLLM proxy when
//! `benches/gateway_vs_litellm.sh` starts one (`LITELLM_URL`, `LITELLM_PID`).
//!
//! Loads: non-streaming chat JSON and a 200-chunk SSE stream, each at 1 client (latency
//! p50/p99) and 64 concurrent clients (throughput); then 1,000 idle open streams (RSS
//! per stream of the proxy process). Also the accounting writer's capacity (records/s
//! into SQLite in batches) beside the gateway's throughput.
//!
//! Modes: `cargo bench --bench gateway` runs everything with an in-process upstream;
//! `--upstream HOST:PORT` only serves the fake upstream (for the script, and for trying
//! real SDKs by hand); `--seed DIR URL` makes a data dir with one account on URL and
//! prints the local key. Env: `BENCH_UPSTREAM` (use that upstream), `BENCH_SECS`
//! (seconds per concurrent load, default 3), `BENCH_N` (sequential requests, default 2000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/gateway/rig.rs"]
mod rig;
#[path = "../tests/gateway/upstream.rs"]
mod upstream;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apihub::domain::gateway::{AttemptRecord, Endpoint, Outcome, Usage};
use apihub::store::{GatewayLogQuery, Store};
use serde_json::json;

const CHUNKS: usize = 200;
const CLIENTS: usize = 64;
const IDLE_STREAMS: usize = 1000;

#[derive(Clone)]
struct Target {
    name: &'static str,
    base: String,
    key: String,
    pid: Option<u32>,
}

#[derive(Default, Clone, Copy)]
struct Lat {
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(Default, Clone, Copy)]
struct Row {
    json1: Lat,
    json64_rps: f64,
    json64: Lat,
    sse1: Lat,
    sse64_rps: f64,
    rss_per_stream_kb: Option<f64>,
    /// Idle streams the proxy held open (of IDLE_STREAMS).
    streams_held: usize,
    errors: u64,
}

fn pct(mut v: Vec<f64>) -> Lat {
    if v.is_empty() {
        return Lat::default();
    }
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    Lat { p50_ms: at(0.50), p99_ms: at(0.99) }
}

fn env_num(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

/// One request read to its end (at most 60 s: a proxy that jams counts errors, not forever).
async fn one(http: &reqwest::Client, t: &Target, stream: bool, model: &str) -> Result<f64, String> {
    tokio::time::timeout(Duration::from_secs(60), one_inner(http, t, stream, model))
        .await
        .map_err(|_| "timed out".to_string())?
}

async fn one_inner(http: &reqwest::Client, t: &Target, stream: bool, model: &str) -> Result<f64, String> {
    let body = json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
    let started = Instant::now();
    let r = http
        .post(format!("{}/v1/chat/completions", t.base))
        .bearer_auth(&t.key)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("HTTP {}", r.status()));
    }
    let bytes = r.bytes().await.map_err(|e| e.to_string())?;
    if stream && !bytes.ends_with(b"data: [DONE]\n\n") {
        return Err("stream cut".into());
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

async fn sequential(http: &reqwest::Client, t: &Target, stream: bool, n: usize, errors: &AtomicU64) -> Lat {
    for _ in 0..(n / 10).max(20) {
        let _ = one(http, t, stream, "m").await;
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        match one(http, t, stream, "m").await {
            Ok(ms) => v.push(ms),
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    pct(v)
}

async fn concurrent(
    http: &reqwest::Client,
    t: &Target,
    stream: bool,
    secs: u64,
    errors: &Arc<AtomicU64>,
) -> (f64, Lat) {
    // Warm the pool to 64 connections first.
    let warm: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, t) = (http.clone(), t.clone());
            tokio::spawn(async move { one(&http, &t, stream, "m").await })
        })
        .collect();
    for w in warm {
        let _ = w.await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, t, stop, errors) = (http.clone(), t.clone(), stop.clone(), errors.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match one(&http, &t, stream, "m").await {
                        Ok(ms) => lat.push(ms),
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                lat
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    (all.len() as f64 / elapsed, pct(all))
}

fn rss_kb(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// RSS growth of the proxy process per idle open stream, and how many streams it held
/// open (a proxy may refuse to hold them all: then it is per stream held).
async fn idle_streams(t: &Target) -> Option<(f64, usize)> {
    let pid = t.pid?;
    let http = apihub::tls::client_builder().no_proxy().pool_max_idle_per_host(0).build().unwrap();
    // Warm: a few idle streams opened and closed, so one-off allocations are not counted.
    let mut warm = Vec::new();
    for _ in 0..20 {
        warm.push(open_idle(&http, t).await?);
    }
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kb(pid)?;
    let mut open = Vec::with_capacity(IDLE_STREAMS);
    let mut pending = Vec::new();
    for i in 0..IDLE_STREAMS {
        let (http, t) = (http.clone(), t.clone());
        pending.push(tokio::spawn(async move { open_idle(&http, &t).await }));
        if pending.len() == 100 || i + 1 == IDLE_STREAMS {
            for p in pending.drain(..) {
                if let Some(r) = p.await.unwrap() {
                    open.push(r);
                }
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kb(pid)?;
    let held = open.len();
    drop(open);
    (held > 0).then(|| ((after - before) / held as f64, held))
}

/// How long a proxy may take to pass an idle stream's first event; one that cannot hold
/// more streams (LiteLLM stops at its upstream pool's size) leaves the rest waiting, and
/// those count as not held instead of stalling the run.
const IDLE_OPEN_TIMEOUT: Duration = Duration::from_secs(20);

/// Opens a stream the upstream answers with one event and then keeps silent.
async fn open_idle(http: &reqwest::Client, t: &Target) -> Option<reqwest::Response> {
    let body = json!({"model": "idle", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let open = async {
        let mut r =
            http.post(format!("{}/v1/chat/completions", t.base)).bearer_auth(&t.key).json(&body).send().await.ok()?;
        r.chunk().await.ok()??;
        Some(r)
    };
    tokio::time::timeout(IDLE_OPEN_TIMEOUT, open).await.ok()?
}

async fn measure(t: &Target, n: usize, secs: u64) -> Row {
    let http = apihub::tls::client_builder().no_proxy().tcp_nodelay(true).build().unwrap();
    let errors = Arc::new(AtomicU64::new(0));
    let json1 = sequential(&http, t, false, n, &errors).await;
    let (json64_rps, json64) = concurrent(&http, t, false, secs, &errors).await;
    let sse1 = sequential(&http, t, true, (n / 4).max(50), &errors).await;
    let (sse64_rps, _) = concurrent(&http, t, true, secs, &errors).await;
    let idle = idle_streams(t).await;
    Row {
        json1,
        json64_rps,
        json64,
        sse1,
        sse64_rps,
        rss_per_stream_kb: idle.map(|i| i.0),
        streams_held: idle.map_or(0, |i| i.1),
        errors: errors.load(Ordering::Relaxed),
    }
}

/// Records per second the accounting writer's batch insert sustains (same SQLite settings).
fn accounting_capacity() -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap().store;
    let rec = AttemptRecord {
        at_ms: 1,
        request_id: 1,
        attempt: 1,
        endpoint: Endpoint::ChatCompletions,
        client_model: "gpt-4o-mini".into(),
        account_id: Some(1),
        key_id: Some(1),
        upstream_model: "gpt-4o-mini".into(),
        stream: true,
        status: 200,
        outcome: Outcome::Ok,
        error_class: None,
        message: String::new(),
        latency_ms: 1.0,
        ttfb_ms: Some(0.5),
        usage: Usage { prompt_tokens: Some(10), completion_tokens: Some(5), ..Usage::default() },
        cost_usd: Some(0.00003),
        cost_real: Some(0.0002),
    };
    let batch: Vec<AttemptRecord> = (0..4096).map(|i| AttemptRecord { request_id: i, ..rec.clone() }).collect();
    let started = Instant::now();
    for _ in 0..25 {
        s.insert_gateway_attempts(&batch).unwrap();
    }
    (25 * batch.len()) as f64 / started.elapsed().as_secs_f64()
}

/// The gateway process, killed if the bench ends early.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
    }
}

fn seed(dir: &std::path::Path, url: &str) -> String {
    let mut s = Store::open(dir).unwrap().store;
    rig::seed(&mut s, &rig::Acct::new("bench", url, &["m", "idle", "break"]));
    apihub::gateway::local_key::load_or_create(&mut s).unwrap().expose().to_string()
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn main() {
    let _ = rlimit::increase_nofile_limit(65_536);
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    match args.first().map(String::as_str) {
        Some("--upstream") => {
            let addr = args.get(1).cloned().unwrap_or_else(|| "127.0.0.1:18080".into());
            rt.block_on(async {
                let l = tokio::net::TcpListener::bind(&addr).await.unwrap();
                let up = upstream::start_on("upstream", l).await;
                up.state.record.store(false, Ordering::Relaxed);
                up.state.chunks.store(CHUNKS, Ordering::Relaxed);
                println!("upstream on {}", up.url);
                std::future::pending::<()>().await;
            });
            return;
        }
        Some("--seed") => {
            let (dir, url) = (args.get(1).expect("--seed DIR URL"), args.get(2).expect("--seed DIR URL"));
            println!("{}", seed(std::path::Path::new(dir), url));
            return;
        }
        _ => {}
    }
    let n = env_num("BENCH_N", 2000) as usize;
    let secs = env_num("BENCH_SECS", 3);
    let capacity = accounting_capacity();
    rt.block_on(async move {
        let _local;
        let up_url = match std::env::var("BENCH_UPSTREAM") {
            Ok(u) => u,
            Err(_) => {
                let up = upstream::start("upstream").await;
                up.state.record.store(false, Ordering::Relaxed);
                up.state.chunks.store(CHUNKS, Ordering::Relaxed);
                let url = up.url.clone();
                _local = up;
                url
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let key = seed(dir.path(), &up_url);
        let (child, base) = rig::spawn_serve(dir.path());
        let mut child = KillOnDrop(child);
        let mut targets = vec![
            Target { name: "direct", base: up_url.clone(), key: "sk-bench".into(), pid: None },
            Target { name: "apihub gateway", base, key, pid: Some(child.0.id()) },
        ];
        if let Ok(url) = std::env::var("LITELLM_URL") {
            let pid = std::env::var("LITELLM_PID").ok().and_then(|p| p.parse().ok());
            let key = std::env::var("LITELLM_KEY").unwrap_or_else(|_| "sk-bench".into());
            targets.push(Target { name: "LiteLLM proxy", base: url, key, pid });
        }
        let mut rows = Vec::new();
        for t in &targets {
            // LiteLLM is ~100× slower: fewer sequential requests keep the run short.
            let n = if t.name.starts_with("LiteLLM") { (n / 8).max(100) } else { n };
            eprintln!("measuring {} …", t.name);
            rows.push(measure(t, n, secs).await);
        }
        let _ = Command::new("kill").arg("-TERM").arg(child.0.id().to_string()).status();
        let _ = child.0.wait();
        let rows_written =
            Store::open(dir.path()).unwrap().store.gateway_attempts(&GatewayLogQuery { limit: 10_000_000, ..Default::default() }).unwrap().len();

        let d = rows[0];
        println!();
        println!(
            "gateway benchmark: chat completions against an instant local upstream; JSON = non-streaming, SSE = {CHUNKS}-chunk stream; {CLIENTS} clients for {secs} s; {} cores",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
        );
        println!(
            "| target | JSON p50 @1 (ms) | JSON p99 @1 (ms) | added p50 / p99 (ms) | JSON req/s @64 | p50 @64 (ms) | SSE p50 @1 (ms) | SSE added p50 (ms) | SSE streams/s @64 | RSS per idle stream (KB) | errors |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (t, r) in targets.iter().zip(&rows) {
            let added = if t.name == "direct" {
                "—".to_string()
            } else {
                format!("{} / {}", fmt(r.json1.p50_ms - d.json1.p50_ms), fmt(r.json1.p99_ms - d.json1.p99_ms))
            };
            let sse_added = if t.name == "direct" { "—".to_string() } else { fmt(r.sse1.p50_ms - d.sse1.p50_ms) };
            println!(
                "| {} | {} | {} | {added} | {} | {} | {} | {sse_added} | {} | {} | {} |",
                t.name,
                fmt(r.json1.p50_ms),
                fmt(r.json1.p99_ms),
                fmt(r.json64_rps),
                fmt(r.json64.p50_ms),
                fmt(r.sse1.p50_ms),
                fmt(r.sse64_rps),
                match (r.rss_per_stream_kb, r.streams_held) {
                    (Some(kb), IDLE_STREAMS) => fmt(kb),
                    (Some(kb), held) => format!("{} ({held} held)", fmt(kb)),
                    _ => "—".into(),
                },
                r.errors
            );
        }
        let g = rows[1];
        println!();
        println!(
            "gateway vs direct: added p50 {} ms (target ≤ 0.2), added p99 {} ms (target ≤ 1); JSON throughput {:.0}% of direct (target ≥ 25%), SSE {:.0}% of direct",
            fmt(g.json1.p50_ms - d.json1.p50_ms),
            fmt(g.json1.p99_ms - d.json1.p99_ms),
            100.0 * g.json64_rps / d.json64_rps,
            100.0 * g.sse64_rps / d.sse64_rps
        );
        if let Some(l) = rows.get(2) {
            println!(
                "gateway vs LiteLLM: JSON throughput {:.0}× (target ≥ 100×), SSE {:.0}×; p50 at 1 client {} ms vs {} ms",
                g.json64_rps / l.json64_rps,
                g.sse64_rps / l.sse64_rps,
                fmt(g.json1.p50_ms),
                fmt(l.json1.p50_ms)
            );
        }
        println!(
            "RSS per idle open stream ({IDLE_STREAMS} open): {} KB (target < 50)",
            g.rss_per_stream_kb.map(fmt).unwrap_or_else(|| "—".into())
        );
        println!(
            "accounting: {rows_written} records written by the gateway; the batch writer sustains {:.0} records/s = {:.0}× the gateway's JSON throughput",
            capacity,
            capacity / g.json64_rps
        );
    });
}
