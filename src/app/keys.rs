//! An account's API keys: create, edit, enable/disable, delete, reveal (and copy). One
//! action per account at a time (`action:{id}`, shared with check-in and redeem); an
//! action that changes keys then refreshes the account, after waiting for any refresh
//! of that account already running (`refresh:{id}`), so the two never overlap.

use std::collections::{HashMap, HashSet};

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
        result: Result<KeyActionDone, actions::ActionError>,
    },
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
                        KeysMsg::Done { id: acc.id, reveal, result }
                    }
                }) {
                    self.busy.insert(account);
                }
            }
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: KeysMsg, cx: &mut Cx<'_>) {
        match msg {
            KeysMsg::Done { id, reveal, result } => {
                self.busy.remove(&id);
                let (text, ok) = match result {
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
        rig.with(|cx| keys.on_job(KeysMsg::Done { id: 4, reveal: false, result: Ok(done) }, cx));
        assert_eq!(keys.message(4).map(|m| (m.ok, m.text.as_str())), Some((true, tr("keys.saved"))));
        assert!(matches!(rig.sent().as_slice(), [crate::app::Command::Sites(SitesCmd::SetState(4, _))]));
        let e = actions::ActionError::Relay(RelayError::RateLimited { retry_after_secs: None });
        rig.with(|cx| keys.on_job(KeysMsg::Done { id: 4, reveal: true, result: Err(e) }, cx));
        assert_eq!(keys.message(4).map(|m| m.text.as_str()), Some(tr("keys.reveal_rate_limited")));
        assert!(rig.sent().is_empty(), "a failure changes no state");
        // Unknown account: nothing starts.
        let sites = Sites::default();
        rig.with(|cx| keys.apply(KeysCmd::Action { account: 9, action: KeyAction::Delete { id: 1 } }, cx, &sites));
        assert!(keys.busy.is_empty());
    }
}
