//! The window's own state: the panel shown, language, theme, the top bar's status line,
//! start-up notices, the Chinese font and the installation facts.

use super::cx::Cx;
use super::fonts::{CjkFace, FontStatus};
use super::i18n;
use super::jobs::{JobMsg, Spec};
use super::state::{EnvInfo, Panel, StatusLine};
use crate::domain::settings::{Lang, ThemePref};

/// Commands of the shell.
#[derive(Debug, Clone)]
pub enum ShellCmd {
    /// Show another panel.
    ShowPanel(Panel),
    /// Switch the UI language (persisted).
    SetLanguage(Lang),
    /// Switch the theme (persisted).
    SetTheme(ThemePref),
    /// Show a line in the top bar (controllers send it after a job).
    Status(StatusLine),
    /// Clear the top bar's line (a new run started).
    ClearStatus,
    /// Hide a start-up notice.
    DismissNotice(usize),
    /// Open a URL in the system browser.
    OpenUrl(String),
    /// Look up the system's Chinese font and install it when found (start-up).
    LoadFont,
}

/// Messages of the shell's jobs.
pub enum ShellMsg {
    /// The font lookup ended.
    Font(Option<(CjkFace, egui::FontData)>),
    /// Free heap memory was given back to the system (`true`: some was).
    Trimmed(bool),
    /// A test message (the registry's unit tests).
    #[cfg(test)]
    Ping(u32),
}

impl From<ShellMsg> for JobMsg {
    fn from(m: ShellMsg) -> JobMsg {
        JobMsg::Shell(m)
    }
}

/// The window's state.
pub struct Shell {
    /// Current panel.
    pub panel: Panel,
    /// UI language.
    pub lang: Lang,
    /// Theme choice.
    pub theme: ThemePref,
    /// Top-bar status.
    pub status: Option<StatusLine>,
    /// Start-up notices (e.g. a damaged database was moved aside).
    pub notices: Vec<StatusLine>,
    /// The Chinese font.
    pub font: FontStatus,
    /// Installation facts.
    pub env: EnvInfo,
    /// When to give free heap memory back, once no job has reported since ([`Shell::work_landed`]).
    trim_after: Option<std::time::Instant>,
}

const FONT_JOB: &str = "fonts:locate";
const TRIM_JOB: &str = "memory:trim";
/// How long no job must have reported before free heap memory is given back.
const TRIM_AFTER_QUIET: std::time::Duration = std::time::Duration::from_secs(2);

impl Shell {
    /// The shell of a fresh window.
    pub fn new(env: EnvInfo, lang: Lang, theme: ThemePref) -> Shell {
        Shell {
            panel: Panel::Sites,
            lang,
            theme,
            status: None,
            notices: Vec::new(),
            font: FontStatus::Loading,
            env,
            trim_after: None,
        }
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: ShellCmd, cx: &mut Cx<'_>) {
        match cmd {
            ShellCmd::ShowPanel(p) => self.panel = p,
            ShellCmd::SetLanguage(lang) => {
                self.lang = lang;
                i18n::set_lang(lang);
                cx.change_settings(|s| s.ui.lang = Some(lang));
            }
            ShellCmd::SetTheme(pref) => {
                self.theme = pref;
                super::theme::apply(pref, cx.egui);
                cx.change_settings(|s| s.ui.theme = pref);
            }
            ShellCmd::Status(line) => self.status = Some(line),
            ShellCmd::ClearStatus => self.status = None,
            ShellCmd::DismissNotice(i) => {
                if i < self.notices.len() {
                    self.notices.remove(i);
                }
            }
            ShellCmd::OpenUrl(url) => cx.egui.open_url(egui::OpenUrl::new_tab(url)),
            ShellCmd::LoadFont => {
                // The embedded UI subset makes the first frame's Chinese labels render;
                // the system face (for Chinese text from sites) follows when found.
                cx.egui.set_fonts(super::fonts::definitions(None));
                cx.start_blocking_quiet(Spec::new(FONT_JOB), |_| ShellMsg::Font(super::fonts::locate_and_map()));
            }
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: ShellMsg, cx: &mut Cx<'_>) {
        match msg {
            ShellMsg::Font(found) => {
                self.font = match found {
                    Some((face, data)) => {
                        cx.egui.set_fonts(super::fonts::definitions(Some((&face, data))));
                        FontStatus::Loaded(face)
                    }
                    None => {
                        log::warn!("no Simplified Chinese system font found; using the built-in UI subset");
                        FontStatus::EmbeddedOnly
                    }
                };
            }
            ShellMsg::Trimmed(some) => log::debug!("free heap memory given back: {some}"),
            #[cfg(test)]
            ShellMsg::Ping(_) => {}
        }
    }

    /// A job reported (not the trim's own message): the heap is given back once jobs
    /// have been quiet for [`TRIM_AFTER_QUIET`].
    pub fn work_landed(&mut self) {
        self.trim_after = Some(std::time::Instant::now() + TRIM_AFTER_QUIET);
    }

    /// Timed work: gives free heap memory back after a burst of work, on the blocking pool.
    pub fn tick(&mut self, cx: &mut Cx<'_>) {
        let Some(at) = self.trim_after else { return };
        let now = std::time::Instant::now();
        if now < at {
            cx.egui.request_repaint_after(at - now);
            return;
        }
        let started = cx.start_blocking_quiet(Spec::new(TRIM_JOB), {
            let store = cx.store.clone();
            move |_| {
                store.release_cache();
                ShellMsg::Trimmed(crate::memory::release_free_heap())
            }
        });
        if started {
            self.trim_after = None;
            log::debug!("font atlas {:?} px", cx.egui.fonts(|f| f.font_image_size()));
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        if key == FONT_JOB {
            self.font = FontStatus::EmbeddedOnly;
        }
    }

    /// Applies settings read again (language, theme).
    pub fn settings_changed(&mut self, s: &crate::domain::settings::Settings, ctx: &egui::Context) {
        let lang = s.ui.lang.unwrap_or_else(i18n::system_lang);
        if lang != self.lang {
            self.lang = lang;
            i18n::set_lang(lang);
        }
        if s.ui.theme != self.theme {
            self.theme = s.ui.theme;
            super::theme::apply(s.ui.theme, ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;

    #[test]
    fn panel_language_theme_and_notices() {
        let mut rig = Rig::new();
        let mut shell = Shell::new(rig.env(), Lang::En, ThemePref::System);
        shell.notices.push(StatusLine { text: "n".into(), severity: crate::app::Severity::Warning });
        rig.with(|cx| {
            shell.apply(ShellCmd::ShowPanel(Panel::Logs), cx);
            shell.apply(ShellCmd::SetTheme(ThemePref::Dark), cx);
            shell.apply(ShellCmd::DismissNotice(3), cx);
            shell.apply(ShellCmd::DismissNotice(0), cx);
        });
        assert_eq!(shell.panel, Panel::Logs);
        assert_eq!(shell.theme, ThemePref::Dark);
        assert_eq!(rig.settings.ui.theme, ThemePref::Dark, "the choice is a setting");
        assert!(shell.notices.is_empty());
        rig.wait_saved();
        assert_eq!(rig.stored().ui.theme, ThemePref::Dark, "and it was saved");
    }
}
