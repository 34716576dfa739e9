//! An account's API keys: create, edit, enable/disable, delete, reveal (and copy). One
//! action per account at a time (`action:{id}`, shared with check-in and redeem); an
//! action that changes keys then refreshes the account, after waiting for any refresh
//! of that account already running (`refresh:{id}`), so the two never overlap. The
//! user's own notes on keys are kept here (`keys:notes:{id}`, `keys:note`) and synced
//! between devices.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::command::SitesCmd;
use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::sites::{Sites, refresh_key};
use super::state::{ActionKind, ActionMessage, action_key};
use crate::domain::AccountId;
use crate::engine::actions::{self, KeyAction, KeyActionDone};

/// Commands of key management.
#[derive(Debug, Clone)]
pub enum KeysCmd {
    /// Create, edit, enable/disable, delete or reveal (and copy) a key of an account.
    Action {
        /// Which account.
        account: AccountId,
        /// What to do.
        action: KeyAction,
    },
    /// Read the notes on an account's keys.
    LoadNotes(AccountId),
    /// Set (empty: clear) the note on a key.
    SetNote {
        /// Which account.
        account: AccountId,
        /// The key's id on the site.
        key: i64,
        /// The note.
        note: String,
    },
    /// Notes may have changed elsewhere (a sync): read them again when next shown.
    ForgetNotes,
}

/// Messages of the key jobs.
pub enum KeysMsg {
    /// A key action ended.
    Done {
        /// Which account.
        id: AccountId,
        /// It was a reveal (copy the key).
        reveal: bool,
        /// What it did.
        result: Box<Result<KeyActionDone, actions::ActionError>>,
    },
    /// An account's key notes were read (or written, then read).
    Notes(AccountId, Result<BTreeMap<i64, String>, String>),
}

impl From<KeysMsg> for JobMsg {
    fn from(m: KeysMsg) -> JobMsg {
        JobMsg::Keys(m)
    }
}

/// Key management's state.
#[derive(Debug, Default)]
pub struct Keys {
    /// Accounts with a key action running.
    pub busy: HashSet<AccountId>,
    /// The last result per account.
    pub messages: HashMap<AccountId, ActionMessage>,
    /// The notes on each account's keys (key id → note), once read.
    pub notes: HashMap<AccountId, BTreeMap<i64, String>>,
}

impl Keys {
    /// The last key message of an account.
    pub fn message(&self, id: AccountId) -> Option<&ActionMessage> {
        self.messages.get(&id)
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: KeysCmd, cx: &mut Cx<'_>, sites: &Sites) {
        match cmd {
            KeysCmd::Action { account, action } => {
                let Some(acc) = sites.account(account).cloned() else { return };
                let (relay, store) = (cx.relay.clone(), cx.store.clone());
                let reveal = matches!(action, KeyAction::Reveal { .. });
                if cx.start(Spec::new(action_key(account)), |r| {
                    let holds = r.holds().clone();
                    async move {
                        let _refreshing = holds.acquire(refresh_key(acc.id)).await;
                        let result = actions::run_key_action(&relay, &store, &acc, action).await;
                        KeysMsg::Done { id: acc.id, reveal, result: Box::new(result) }
                    }
                }) {
                    self.busy.insert(account);
                }
            }
            KeysCmd::LoadNotes(account) => {
                self.notes.entry(account).or_default();
                let store = cx.store.clone();
                cx.start_blocking_quiet(Spec::new(format!("keys:notes:{account}")).latest_wins(), move |_| {
                    KeysMsg::Notes(account, store.with(|s| s.key_notes(account)).map_err(|e| e.to_string()))
                });
            }
            KeysCmd::SetNote { account, key, note } => {
                self.notes.entry(account).or_default().insert(key, note.trim().to_string());
                let store = cx.store.clone();
                cx.start_blocking_quiet(Spec::new("keys:note"), move |_| {
                    let r = store.with(|s| {
                        s.set_key_note(account, key, &note)?;
                        s.key_notes(account)
                    });
                    KeysMsg::Notes(account, r.map_err(|e| e.to_string()))
                });
                cx.send(super::sync::SyncCmd::Changed);
            }
            KeysCmd::ForgetNotes => self.notes.clear(),
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: KeysMsg, cx: &mut Cx<'_>) {
        match msg {
            KeysMsg::Notes(id, Ok(notes)) => {
                self.notes.insert(id, notes);
            }
            KeysMsg::Notes(id, Err(e)) => {
                log::warn!("key notes of account {id}: {e}");
                let text = fill(tr("keys.failed"), &[("e", &e)]);
                self.messages.insert(id, ActionMessage { kind: ActionKind::Keys, text, ok: false });
            }
            KeysMsg::Done { id, reveal, result } => {
                self.busy.remove(&id);
                let (text, ok) = match *result {
                    Ok(done) => {
                        let text = if reveal {
                            if let Some(k) = &done.full_key {
                                cx.egui.copy_text(k.clone());
                            }
                            tr("keys.copied").to_string()
                        } else if let Some(k) = &done.created {
                            fill(tr("keys.created"), &[("name", &k.name)])
                        } else {
                            tr("keys.saved").to_string()
                        };
                        cx.send(SitesCmd::SetState(id, Box::new(done.state)));
                        (text, true)
                    }
                    Err(e) => {
                        log::warn!("key action failed: {e}");
                        let text = if reveal && e.kind() == "rate_limited" {
                            tr("keys.reveal_rate_limited").to_string()
                        } else {
                            fill(tr("keys.failed"), &[("e", &e)])
                        };
                        (text, false)
                    }
                };
                self.messages.insert(id, ActionMessage { kind: ActionKind::Keys, text, ok });
            }
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        self.busy.retain(|id| action_key(*id) != key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;
    use crate::relay::RelayError;

    #[test]
    fn a_key_action_marks_the_account_busy_and_its_result_lands_as_a_message() {
        let mut rig = Rig::new();
        let mut keys = Keys::default();
        let done = KeyActionDone { state: Default::default(), created: None, full_key: None };
        rig.with(|cx| keys.on_job(KeysMsg::Done { id: 4, reveal: false, result: Box::new(Ok(done)) }, cx));
        assert_eq!(keys.message(4).map(|m| (m.ok, m.text.as_str())), Some((true, tr("keys.saved"))));
        assert!(matches!(rig.sent().as_slice(), [crate::app::Command::Sites(SitesCmd::SetState(4, _))]));
        let e = actions::ActionError::Relay(RelayError::RateLimited { retry_after_secs: None });
        rig.with(|cx| keys.on_job(KeysMsg::Done { id: 4, reveal: true, result: Box::new(Err(e)) }, cx));
        assert_eq!(keys.message(4).map(|m| m.text.as_str()), Some(tr("keys.reveal_rate_limited")));
        assert!(rig.sent().is_empty(), "a failure changes no state");
        // Notes: set, kept, and an automatic sync asked for.
        let id = rig.store.with(|s| {
            s.upsert_account(&crate::domain::NewAccount {
                site_url: "https://x.example".into(),
                site_name: "X".into(),
                kind: crate::domain::SiteKind::NewApi,
                user_id: "1".into(),
                username: "u".into(),
                auth: crate::domain::AuthMethod::AccessToken,
                credentials: Default::default(),
            })
        });
        let id = id.unwrap();
        rig.with(|cx| {
            keys.apply(KeysCmd::SetNote { account: id, key: 7, note: " Cursor ".into() }, cx, &Sites::default())
        });
        assert_eq!(keys.notes[&id][&7], "Cursor", "shown at once");
        assert!(rig.sent().iter().any(|c| matches!(c, crate::app::Command::Sync(_))));
        for _ in 0..200 {
            if rig.store.with(|s| s.key_notes(id)).unwrap().contains_key(&7) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(rig.store.with(|s| s.key_notes(id)).unwrap()[&7], "Cursor");
        rig.with(|cx| keys.apply(KeysCmd::ForgetNotes, cx, &Sites::default()));
        assert!(keys.notes.is_empty());
        // Unknown account: nothing starts.
        let sites = Sites::default();
        rig.with(|cx| keys.apply(KeysCmd::Action { account: 9, action: KeyAction::Delete { id: 1 } }, cx, &sites));
        assert!(keys.busy.is_empty());
    }
}
