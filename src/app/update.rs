//! The release check: on start when due (at most once a day, `update.check_on_start`),
//! or when asked (`update:check`); the result and the time of the last check.

use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::state::Severity;
use crate::update::{UpdateCheck, UpdateSettings};

/// Commands of the release check.
#[derive(Debug, Clone)]
pub enum UpdateCmd {
    /// Check for a new release now.
    Check,
    /// Save the update settings.
    SaveSettings(UpdateSettings),
    /// Read when the last check ran; check now when due (start-up).
    Load,
}

/// Messages of the release-check jobs.
pub enum UpdateMsg {
    /// When the last check ran.
    Loaded(Result<Option<i64>, String>),
    /// A check ended.
    Checked(Box<Result<UpdateCheck, String>>),
}

impl From<UpdateMsg> for JobMsg {
    fn from(m: UpdateMsg) -> JobMsg {
        JobMsg::Update(m)
    }
}

/// The release check's state.
#[derive(Debug, Default)]
pub struct Update {
    /// A check is running.
    pub checking: bool,
    /// Result of the last check.
    pub check: Option<Result<UpdateCheck, String>>,
    /// When the last check ran (unix seconds).
    pub last_check: Option<i64>,
}

const CHECK_JOB: &str = "update:check";

impl Update {
    /// Applies a command.
    pub fn apply(&mut self, cmd: UpdateCmd, cx: &mut Cx<'_>) {
        match cmd {
            UpdateCmd::Check => self.check(cx, false),
            UpdateCmd::SaveSettings(settings) => {
                cx.change_settings(|s| s.update = settings);
            }
            UpdateCmd::Load => {
                let store = cx.store.clone();
                cx.start_blocking_quiet(Spec::new("update:load"), move |_| {
                    UpdateMsg::Loaded(store.with(|s| crate::update::last_check(s)).map_err(|e| e.to_string()))
                });
            }
        }
    }

    fn check(&mut self, cx: &mut Cx<'_>, automatic: bool) {
        let url = crate::update::configured_releases_url(&cx.settings.update);
        let channel = cx.settings.update.channel();
        let store = cx.store.clone();
        let job = |_| async move {
            let r = crate::update::check_for_updates(&url, channel).await.map_err(|e| e.to_string());
            let now = crate::domain::time::now_unix();
            if let Err(e) = store.run(move |s| crate::update::record_check(s, now)).await {
                log::warn!("the time of the release check was not saved: {e}");
            }
            UpdateMsg::Checked(Box::new(r))
        };
        let started =
            if automatic { cx.start_quiet(Spec::new(CHECK_JOB), job) } else { cx.start(Spec::new(CHECK_JOB), job) };
        if started {
            self.checking = true;
            self.last_check = Some(crate::domain::time::now_unix());
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: UpdateMsg, cx: &mut Cx<'_>) {
        match msg {
            UpdateMsg::Loaded(Ok(last)) => {
                self.last_check = last;
                if cx.settings.update.due_on_start(last, crate::domain::time::now_unix()) && self.check.is_none() {
                    self.check(cx, true);
                }
            }
            UpdateMsg::Loaded(Err(e)) => log::error!("update settings unreadable: {e}"),
            UpdateMsg::Checked(r) => {
                let r = *r;
                self.checking = false;
                match &r {
                    Ok(c) => {
                        if let Some(offer) = &c.offer {
                            log::info!("a newer version is available: {}", offer.version);
                            cx.say(fill(tr("update.status_available"), &[("version", &offer.version)]), Severity::Info);
                        }
                    }
                    Err(e) => log::warn!("release check failed: {e}"),
                }
                self.check = Some(r);
            }
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        if key == CHECK_JOB {
            self.checking = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;

    #[test]
    fn a_due_start_up_check_runs_and_its_result_is_kept() {
        let mut rig = Rig::new();
        rig.settings.update.check_on_start = false;
        let mut u = Update::default();
        rig.with(|cx| u.on_job(UpdateMsg::Loaded(Ok(None)), cx));
        assert!(!u.checking, "off: no check on start");
        let err: Result<UpdateCheck, String> = Err("offline".into());
        rig.with(|cx| u.on_job(UpdateMsg::Checked(Box::new(err)), cx));
        assert!(matches!(&u.check, Some(Err(e)) if e == "offline"));
        let s = UpdateSettings { include_prerelease: true, ..Default::default() };
        rig.with(|cx| u.apply(UpdateCmd::SaveSettings(s.clone()), cx));
        assert_eq!(rig.settings.update, s);
    }
}
