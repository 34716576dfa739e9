//! "Try a model" in the app: `Command::TryModel` starts a job (one try per account at a
//! time) through the `TaskRunner`; `Command::ReloadVerified` reads every stored "last
//! verified" result. Results land in [`TryState`], which the Pricing panel reads.

use std::sync::{Arc, Mutex};

use poll_promise::Promise;

use super::{App, Command};
use crate::domain::AccountId;
use crate::domain::pricing::{LastVerified, VerifiedMap};
use crate::engine::try_model::{TryReport, try_model_live};
use crate::relay::try_model::TryRequest;

/// The last try started from the window: which one, the reply so far, and how it ended.
#[derive(Debug, Clone)]
pub struct TryRun {
    /// Which account.
    pub account: AccountId,
    /// Which model.
    pub model: String,
    /// `None` while running; `Err` when nothing could be sent (no key, reveal refused).
    pub result: Option<Result<TryReport, String>>,
    /// The streamed reply so far (written by the job, read by the window while it runs).
    pub partial: Arc<Mutex<String>>,
}

impl TryRun {
    /// The streamed reply so far.
    pub fn partial_text(&self) -> String {
        self.partial.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// What the views read about tries.
#[derive(Debug, Default)]
pub struct TryState {
    /// Every stored last verification, by account and model.
    pub verified: VerifiedMap,
    /// The window's run (the latest one started).
    pub run: Option<TryRun>,
}

impl TryState {
    /// The stored result of `model` on `account`.
    pub fn verified(&self, account: AccountId, model: &str) -> Option<&LastVerified> {
        self.verified.get(account, model)
    }

    /// Whether a try of `model` on `account` is running.
    pub fn is_running(&self, account: AccountId, model: &str) -> bool {
        self.run.as_ref().is_some_and(|r| r.account == account && r.model == model && r.result.is_none())
    }
}

pub(crate) enum TryDone {
    Run { account: AccountId, model: String, result: Box<Result<TryReport, String>> },
    Verified(Result<Vec<LastVerified>, String>),
}

/// Running try jobs.
#[derive(Default)]
pub(crate) struct TryJobs {
    jobs: Vec<Promise<TryDone>>,
}

impl App {
    /// Applies `TryModel` and `ReloadVerified`.
    pub(crate) fn apply_try(&mut self, cmd: Command, ctx: &egui::Context) {
        match cmd {
            Command::TryModel { account, model, key, prompt, max_tokens, kind } => {
                let Some(acc) = self.state.accounts.value().and_then(|a| a.iter().find(|a| a.id == account).cloned())
                else {
                    return;
                };
                let relay = self.relay.clone();
                let store = self.store.clone();
                let mut req = TryRequest::new(&model);
                req.prompt = prompt;
                req.max_tokens = max_tokens.max(1);
                req.kind = kind;
                let m = model.clone();
                let partial = Arc::new(Mutex::new(String::new()));
                let (sink, repaint) = (partial.clone(), ctx.clone());
                let job = async move {
                    let on_text = move |text: &str| {
                        if let Ok(mut p) = sink.lock() {
                            text.clone_into(&mut p);
                        }
                        repaint.request_repaint();
                    };
                    let result =
                        try_model_live(&relay, &store, &acc, key, req, &on_text).await.map_err(|e| e.to_string());
                    TryDone::Run { account, model: m, result: Box::new(result) }
                };
                if let Some(p) = self.runner.spawn_keyed(format!("try:{account}"), job) {
                    self.try_jobs.jobs.push(p);
                    self.state.tries.run = Some(TryRun { account, model, result: None, partial });
                }
            }
            Command::ReloadVerified => {
                let store = self.store.clone();
                let p = self.runner.spawn_blocking(move || {
                    TryDone::Verified(
                        store.lock().map_err(|e| e.to_string()).and_then(|s| s.trials().map_err(|e| e.to_string())),
                    )
                });
                self.try_jobs.jobs.push(p);
            }
            _ => {}
        }
    }

    /// Collects finished try jobs.
    pub(crate) fn poll_tries(&mut self) {
        let mut i = 0;
        while i < self.try_jobs.jobs.len() {
            if self.try_jobs.jobs[i].ready().is_none() {
                i += 1;
                continue;
            }
            match self.try_jobs.jobs.swap_remove(i).block_and_take() {
                TryDone::Run { account, model, result } => {
                    let result = *result;
                    if let Ok(r) = &result {
                        self.state.tries.verified.insert(r.verified.clone());
                    }
                    if let Err(e) = &result {
                        log::warn!("try of {model} not sent: {e}");
                    }
                    if let Some(run) = &mut self.state.tries.run
                        && run.account == account
                        && run.model == model
                    {
                        run.result = Some(result);
                    }
                }
                TryDone::Verified(Ok(rows)) => {
                    self.state.tries.verified = rows.into_iter().collect();
                }
                TryDone::Verified(Err(e)) => log::error!("stored model tries unreadable: {e}"),
            }
        }
    }
}
