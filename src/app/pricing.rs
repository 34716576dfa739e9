//! Pricing and tries: the pricing book (every account's normalised prices, rebuilt off
//! the UI thread whenever accounts or states change while the Pricing panel shows:
//! `pricing:book`, latest wins), the comparison over it for the panel's filter, unit,
//! weights and sort (`pricing:compare`, latest wins: recomputed off the UI thread when the
//! options or the book change; the panel keeps showing the previous one meanwhile), and
//! "try a model" (`try:{account}`: one try per account at a time; the reply streams into
//! [`TryRun::partial`]) with every stored "last verified" result.

use std::sync::{Arc, Mutex};

use super::cx::Cx;
use super::jobs::{JobMsg, Spec};
use super::loadable::Loadable;
use super::sites::Sites;
use crate::domain::AccountId;
use crate::domain::pricing::{CompareOptions, Comparison, LastVerified, PricingBook, VerifiedMap, build_comparison};
use crate::engine::try_model::{TryReport, try_model_live};
use crate::relay::try_model::TryRequest;

/// Commands of pricing and tries.
#[derive(Debug, Clone)]
pub enum PricingCmd {
    /// Send one minimal request to a model with one of the account's keys; store the result.
    TryModel {
        /// Which account.
        account: AccountId,
        /// The exact model name.
        model: String,
        /// Which key.
        key: crate::engine::try_model::KeyChoice,
        /// The one-line prompt (input for embeddings).
        prompt: String,
        /// Most tokens of the reply.
        max_tokens: u32,
        /// Chat or embeddings.
        kind: crate::relay::try_model::TryKind,
    },
    /// Reload every stored "last verified" result.
    ReloadVerified,
    /// The Pricing panel's options changed: compare the book with these (off the UI thread).
    Compare(CompareOptions),
}

/// Messages of the pricing jobs.
pub enum PricingMsg {
    /// The book was rebuilt.
    Book(Result<Arc<PricingBook>, String>),
    /// A comparison was computed.
    Compared(Arc<Compared>),
    /// A try ended.
    Tried { account: AccountId, model: String, result: Box<Result<TryReport, String>> },
    /// The stored results.
    Verified(Result<Vec<LastVerified>, String>),
}

impl From<PricingMsg> for JobMsg {
    fn from(m: PricingMsg) -> JobMsg {
        JobMsg::Pricing(m)
    }
}

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

/// The comparison of one book with one set of options.
#[derive(Debug)]
pub struct Compared {
    /// The book its rows index into: the one it was computed from, even when a newer
    /// book has landed since (the panel draws both together).
    pub book: Arc<PricingBook>,
    /// The options it was computed with.
    pub opts: CompareOptions,
    /// The rows, filtered and sorted, with the vendor and site lists.
    pub comparison: Comparison,
    /// Which computation this is (counts up; the panel drops its formatted cells on a new one).
    pub generation: u64,
    /// Each model's offers in `book` (the formula panel's list for a selected row).
    pub offers: crate::domain::pricing::compare::OfferIndex,
}

impl Compared {
    /// Computes the comparison on the calling thread (the job's body).
    pub fn build(book: Arc<PricingBook>, opts: CompareOptions, generation: u64) -> Compared {
        let comparison = build_comparison(&book, &opts);
        let offers = crate::domain::pricing::compare::offer_index(&book);
        Compared { book, opts, comparison, generation, offers }
    }
}

/// Pricing's state.
pub struct Pricing {
    /// Every account's normalised pricing (read by the Pricing panel; shared with the
    /// comparison job).
    pub book: Loadable<Arc<PricingBook>>,
    /// The comparison the panel shows; while a newer one is computed the previous stays.
    pub comparison: Loadable<Arc<Compared>>,
    /// "Try a model": stored last verifications and the window's run.
    pub tries: TryState,
    /// The sites' `data_version` the book was built from.
    built_from: u64,
    /// The options the panel asked for.
    wanted: Option<CompareOptions>,
    /// The book and options of the latest comparison started (the book is held so that
    /// its identity cannot be reused by a newer one).
    started: Option<(Arc<PricingBook>, CompareOptions)>,
    /// How many comparisons were started.
    comparisons: u64,
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing {
            book: Loadable::default(),
            comparison: Loadable::default(),
            tries: TryState::default(),
            built_from: u64::MAX,
            wanted: None,
            started: None,
            comparisons: 0,
        }
    }
}

const BOOK_JOB: &str = "pricing:book";
const COMPARE_JOB: &str = "pricing:compare";
const VERIFIED_JOB: &str = "pricing:verified";

impl Pricing {
    /// Applies a command.
    pub fn apply(&mut self, cmd: PricingCmd, cx: &mut Cx<'_>, sites: &Sites) {
        match cmd {
            PricingCmd::TryModel { account, model, key, prompt, max_tokens, kind } => {
                let Some(acc) = sites.account(account).cloned() else { return };
                let (relay, store) = (cx.relay.clone(), cx.store.clone());
                let mut req = TryRequest::new(&model);
                req.prompt = prompt;
                req.max_tokens = max_tokens.max(1);
                req.kind = kind;
                let m = model.clone();
                let partial = Arc::new(Mutex::new(String::new()));
                let (sink, repaint) = (partial.clone(), cx.egui.clone());
                if cx.start(Spec::new(format!("try:{account}")), |_| async move {
                    let on_text = move |text: &str| {
                        if let Ok(mut p) = sink.lock() {
                            text.clone_into(&mut p);
                        }
                        repaint.request_repaint();
                    };
                    let result =
                        try_model_live(&relay, &store, &acc, key, req, &on_text).await.map_err(|e| e.to_string());
                    PricingMsg::Tried { account, model: m, result: Box::new(result) }
                }) {
                    self.tries.run = Some(TryRun { account, model, result: None, partial });
                }
            }
            PricingCmd::Compare(opts) => {
                self.wanted = Some(opts);
                self.compare_if_due(cx);
            }
            PricingCmd::ReloadVerified => {
                let store = cx.store.clone();
                cx.start_blocking_quiet(Spec::new(VERIFIED_JOB).latest_wins(), move |_| {
                    PricingMsg::Verified(store.with(|s| s.trials()).map_err(|e| e.to_string()))
                });
            }
        }
    }

    /// Rebuilds the book off the UI thread when accounts or states changed and the book
    /// is `wanted` (the Pricing panel shows): a window that never opens Pricing never
    /// holds every account's normalised prices, nor clones the states at start-up.
    /// A new book is compared again with the panel's options.
    pub fn tick(&mut self, cx: &mut Cx<'_>, sites: &Sites, wanted: bool) {
        if !wanted {
            return;
        }
        self.compare_if_due(cx);
        if self.built_from == sites.data_version || sites.loading() {
            return;
        }
        if sites.accounts.value().is_none() {
            return;
        }
        self.built_from = sites.data_version;
        // From the store, not the Sites states: those hold no price lists (a landed state
        // is saved before its message reaches Sites, so the store is at least as new).
        let store = cx.store.clone();
        self.book.start();
        cx.start_blocking_quiet(Spec::new(BOOK_JOB).latest_wins(), move |_| {
            PricingMsg::Book(
                store
                    .with(|s| Ok(crate::domain::pricing::book_from(&s.list_accounts()?, &s.account_states()?)))
                    .map(Arc::new)
                    .map_err(|e| e.to_string()),
            )
        });
    }

    /// The options the panel last asked for (it asks again when its own differ).
    pub fn wanted(&self) -> Option<&CompareOptions> {
        self.wanted.as_ref()
    }

    /// How many comparisons were started (each change of options or book starts one).
    pub fn comparisons(&self) -> u64 {
        self.comparisons
    }

    /// The book and options of the next comparison, if they differ from the last started.
    fn next_comparison(&mut self) -> Option<(Arc<PricingBook>, CompareOptions, u64)> {
        let (opts, book) = (self.wanted.as_ref()?, self.book.value()?);
        if self.started.as_ref().is_some_and(|(b, o)| Arc::ptr_eq(b, book) && o == opts) {
            return None;
        }
        self.started = Some((book.clone(), opts.clone()));
        self.comparisons += 1;
        Some((book.clone(), opts.clone(), self.comparisons))
    }

    /// Starts the comparison job when the wanted options or the book changed.
    fn compare_if_due(&mut self, cx: &mut Cx<'_>) {
        let Some((book, opts, generation)) = self.next_comparison() else { return };
        self.comparison.start();
        cx.start_blocking_quiet(Spec::new(COMPARE_JOB).latest_wins(), move |_| {
            PricingMsg::Compared(Arc::new(Compared::build(book, opts, generation)))
        });
    }

    /// Compares on the calling thread and lands the result: for a panel drawn without the
    /// app's job registry (panel tests, `benches/frames`, which time the job apart).
    pub fn compare_here(&mut self, opts: CompareOptions) {
        self.wanted = Some(opts);
        if let Some((book, opts, generation)) = self.next_comparison() {
            self.on_job(PricingMsg::Compared(Arc::new(Compared::build(book, opts, generation))));
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: PricingMsg) {
        match msg {
            PricingMsg::Book(result) => self.book.finish(result, crate::domain::time::now_unix()),
            PricingMsg::Compared(c) => self.comparison.finish(Ok(c), crate::domain::time::now_unix()),
            PricingMsg::Tried { account, model, result } => {
                let result = *result;
                match &result {
                    Ok(r) => self.tries.verified.insert(r.verified.clone()),
                    Err(e) => log::warn!("try of {model} not sent: {e}"),
                }
                if let Some(run) = &mut self.tries.run
                    && run.account == account
                    && run.model == model
                {
                    run.result = Some(result);
                }
            }
            PricingMsg::Verified(Ok(rows)) => self.tries.verified = rows.into_iter().collect(),
            PricingMsg::Verified(Err(e)) => log::error!("stored model tries unreadable: {e}"),
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        if key == BOOK_JOB {
            self.book.stop();
        } else if key == COMPARE_JOB {
            self.comparison.stop();
        } else if let Some(run) = &mut self.tries.run
            && key == format!("try:{}", run.account)
        {
            run.result = Some(Err("the try stopped unexpectedly".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;

    #[test]
    fn the_book_is_rebuilt_once_per_data_version_and_a_try_result_lands() {
        let mut rig = Rig::new();
        let mut p = Pricing::default();
        let mut sites = Sites::default();
        sites.accounts.finish(Ok(Vec::new()), 1);
        rig.with(|cx| p.tick(cx, &sites, false));
        assert!(!p.book.is_loading(), "not built while the Pricing panel is not shown");
        rig.with(|cx| p.tick(cx, &sites, true));
        assert!(p.book.is_loading());
        let msgs = rig.next(1);
        for m in msgs {
            if let JobMsg::Pricing(m) = m {
                p.on_job(m);
            }
        }
        assert!(p.book.value().is_some_and(|b| b.accounts.is_empty()));
        assert!(p.comparison.value().is_none() && p.comparisons() == 0, "nothing compared until the panel asks");
        rig.with(|cx| p.tick(cx, &sites, true));
        assert!(!p.book.is_loading(), "same data, no rebuild");

        p.tries.run = Some(TryRun { account: 1, model: "m".into(), result: None, partial: Arc::default() });
        assert!(p.tries.is_running(1, "m"));
        p.on_job(PricingMsg::Tried { account: 1, model: "m".into(), result: Box::new(Err("no key".into())) });
        assert!(!p.tries.is_running(1, "m"));
        assert!(matches!(p.tries.run.as_ref().and_then(|r| r.result.as_ref()), Some(Err(e)) if e == "no key"));
    }

    #[test]
    fn the_sites_states_hold_no_price_lists_and_the_book_reads_them_from_the_store() {
        use crate::app::command::SitesCmd;
        use crate::domain::pricing::{Billing, ModelOffer, SitePricing};
        use crate::domain::snapshot::{AccountState, Part, Snapshot};
        let mut rig = Rig::new();
        let id = rig.account("https://a.example", "ann");
        let offer = |model: &str| ModelOffer {
            model: model.into(),
            vendor: None,
            billing: Billing::Ratio {
                model_ratio: 1.5,
                completion_ratio: None,
                cache_read_ratio: None,
                cache_write_ratio: None,
            },
            groups: None,
        };
        let priced = |models: &[&str]| AccountState {
            snapshot: Some(Box::new(Snapshot {
                pricing: Part::complete(SitePricing {
                    models: models.iter().map(|m| offer(m)).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..Default::default()
        };
        rig.store.lock().unwrap().save_account_state(id, &priced(&["m-1", "m-2"]), "2026-12-07").unwrap();

        // Loaded by the Sites job: the state is there, its price list is not.
        let mut sites = Sites::default();
        rig.with(|cx| sites.apply(SitesCmd::Reload, cx));
        for m in rig.wait(|m| m.iter().any(|m| matches!(m, JobMsg::Sites(_)))) {
            if let JobMsg::Sites(m) = m {
                rig.with(|cx| sites.on_job(m, cx));
            }
        }
        let snap = sites.states.get(&id).and_then(|s| s.snapshot.as_ref()).expect("the stored state is loaded");
        assert!(snap.pricing.value.is_none(), "no price list in the Sites states");

        // The book has it, read from the store.
        let mut p = Pricing::default();
        rig.with(|cx| p.tick(cx, &sites, true));
        land(&mut rig, &mut p);
        let models = |p: &Pricing| -> Vec<String> {
            let book = p.book.value().expect("a book");
            book.accounts.iter().flat_map(|a| a.rows.iter().map(|r| r.model.clone())).collect()
        };
        assert_eq!(models(&p), ["m-1", "m-2"]);

        // A refresh lands (saved first, then set): Sites drops the list, the book is rebuilt
        // from the store with the new one.
        let fresh = priced(&["m-3"]);
        rig.store.lock().unwrap().save_account_state(id, &fresh, "2026-12-07").unwrap();
        sites.set_state(id, fresh);
        assert!(sites.states[&id].snapshot.as_ref().is_some_and(|s| s.pricing.value.is_none()));
        rig.with(|cx| p.tick(cx, &sites, true));
        land(&mut rig, &mut p);
        assert_eq!(models(&p), ["m-3"]);
    }

    fn land(rig: &mut Rig, p: &mut Pricing) {
        for m in rig.next(1) {
            if let JobMsg::Pricing(m) = m {
                p.on_job(m);
            }
        }
    }

    #[test]
    fn the_comparison_is_computed_by_a_job_and_the_previous_one_stays_meanwhile() {
        let mut rig = Rig::new();
        let mut p = Pricing::default();
        let book = crate::domain::pricing::PricingBook::default();
        p.book = Loadable::ready(Arc::new(book), 1);
        let opts = CompareOptions::default();
        rig.with(|cx| p.apply(PricingCmd::Compare(opts.clone()), cx, &Sites::default()));
        assert!(p.comparison.is_loading() && p.comparison.value().is_none(), "computing, nothing to show yet");
        land(&mut rig, &mut p);
        let first = p.comparison.value().cloned().unwrap();
        assert_eq!((first.generation, &first.opts), (1, &opts));
        // The same options and book again: nothing to do.
        rig.with(|cx| p.apply(PricingCmd::Compare(opts.clone()), cx, &Sites::default()));
        assert!(!p.comparison.is_loading() && p.comparisons() == 1);
        // New options: the previous comparison stays visible until the new one lands.
        let mut sorted = opts.clone();
        sorted.descending = true;
        rig.with(|cx| p.apply(PricingCmd::Compare(sorted.clone()), cx, &Sites::default()));
        assert!(p.comparison.is_loading());
        assert_eq!(p.comparison.value().map(|c| c.generation), Some(1), "the previous one stays");
        land(&mut rig, &mut p);
        assert_eq!(p.comparison.value().map(|c| (c.generation, c.opts.descending)), Some((2, true)));
        // A new book is compared again by the tick (while the panel shows).
        p.book = Loadable::ready(Arc::new(crate::domain::pricing::PricingBook::default()), 2);
        let mut sites = Sites::default();
        sites.accounts.finish(Ok(Vec::new()), 1);
        p.built_from = sites.data_version;
        rig.with(|cx| p.tick(cx, &sites, true));
        assert!(p.comparison.is_loading() && p.comparisons() == 3);
        land(&mut rig, &mut p);
        let c = p.comparison.value().unwrap();
        assert!(p.book.value().is_some_and(|b| Arc::ptr_eq(b, &c.book)), "compared over the new book");
    }
}
