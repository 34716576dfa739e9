//! The one way background work starts. See "Threading contract" in `ARCHITECTURE.md`.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use poll_promise::Promise;

/// Owns the tokio runtime handle and the egui context; every job sends its result
/// through a poll-promise `Sender` and then requests a repaint.
#[derive(Clone)]
pub struct TaskRunner {
    handle: tokio::runtime::Handle,
    ctx: egui::Context,
    active: Arc<Mutex<HashSet<String>>>,
}

/// Removes a job key from the active set when the job ends (even by panic).
struct KeyGuard {
    active: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = self.active.lock() {
            set.remove(&self.key);
        }
    }
}

impl TaskRunner {
    /// A runner on a runtime handle, repainting `ctx` when jobs finish.
    pub fn new(handle: tokio::runtime::Handle, ctx: egui::Context) -> Self {
        TaskRunner { handle, ctx, active: Arc::default() }
    }

    /// Runs an async job; the promise resolves when it ends.
    pub fn spawn<T: Send + 'static>(&self, job: impl Future<Output = T> + Send + 'static) -> Promise<T> {
        let (sender, promise) = Promise::new();
        let ctx = self.ctx.clone();
        self.handle.spawn(async move {
            let r = job.await;
            sender.send(r);
            ctx.request_repaint();
        });
        promise
    }

    /// Runs blocking work (disk, SQLite, hashing) on tokio's blocking pool.
    pub fn spawn_blocking<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Promise<T> {
        let (sender, promise) = Promise::new();
        let ctx = self.ctx.clone();
        self.handle.spawn_blocking(move || {
            sender.send(job());
            ctx.request_repaint();
        });
        promise
    }

    /// Like [`TaskRunner::spawn`] but refuses a second job with the same key while
    /// one runs (one refresh of an account at a time, one backup at a time).
    pub fn spawn_keyed<T: Send + 'static>(
        &self,
        key: impl Into<String>,
        job: impl Future<Output = T> + Send + 'static,
    ) -> Option<Promise<T>> {
        let key = key.into();
        {
            let mut set = self.active.lock().ok()?;
            if !set.insert(key.clone()) {
                return None;
            }
        }
        let guard = KeyGuard { active: self.active.clone(), key };
        Some(self.spawn(async move {
            let _guard = guard;
            job.await
        }))
    }

    /// Whether a keyed job is running.
    pub fn is_running(&self, key: &str) -> bool {
        self.active.lock().map(|s| s.contains(key)).unwrap_or(false)
    }

    /// The runtime handle, for engine calls that need one.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_resolve_and_duplicates_are_refused() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let runner = TaskRunner::new(rt.handle().clone(), egui::Context::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let first = runner.spawn_keyed("refresh:1", async move {
            let _ = rx.await;
            5
        });
        assert!(first.is_some());
        assert!(runner.is_running("refresh:1"));
        assert!(runner.spawn_keyed("refresh:1", async { 6 }).is_none(), "duplicate refused");
        tx.send(()).unwrap();
        assert_eq!(first.unwrap().block_and_take(), 5);
        // The key is released once the job ends.
        for _ in 0..100 {
            if !runner.is_running("refresh:1") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!runner.is_running("refresh:1"));
        assert_eq!(runner.spawn_blocking(|| 2 + 2).block_and_take(), 4);
    }
}
