//! The one command tree: every state change a view (or a controller, or a shortcut) can
//! ask for. [`Command`] has one variant per controller, each wrapping that controller's
//! own enum; `App::apply` routes it with one exhaustive `match` and each controller
//! handles its enum exhaustively (no `_ =>` arm anywhere), so a new command does not
//! compile until it is handled. [`COMMANDS`] is the one table of the commands that have
//! a label and a keyboard shortcut.

pub use super::alerts::AlertsCmd;
pub use super::backup::BackupCmd;
pub use super::checkin::CheckinCmd;
pub use super::exports::ExportsCmd;
pub use super::gateway::GatewayCmd;
pub use super::keys::KeysCmd;
pub use super::logs::LogsCmd;
pub use super::network::NetworkCmd;
pub use super::notify::NotifyCmd;
pub use super::pricing::PricingCmd;
pub use super::shell::ShellCmd;
pub use super::sites::SitesCmd;
use super::state::Panel;
pub use super::sync::SyncCmd;
pub use super::update::UpdateCmd;

/// A request from a view, a shortcut or a controller.
#[derive(Debug, Clone)]
pub enum Command {
    /// Panel, language, theme, status line, notices, links.
    Shell(ShellCmd),
    /// Accounts: refresh, add, edit, delete, order, schedule.
    Sites(SitesCmd),
    /// An account's API keys.
    Keys(KeysCmd),
    /// Check-in (one, all, daily automatic) and redeem codes.
    Checkin(CheckinCmd),
    /// Trying models; the pricing book.
    Pricing(PricingCmd),
    /// Usage logs and the activity log.
    Logs(LogsCmd),
    /// Local backups, restore and import, WebDAV.
    Backup(BackupCmd),
    /// The release check.
    Update(UpdateCmd),
    /// Global and per-site network settings.
    Network(NetworkCmd),
    /// Alert settings and notifications.
    Alerts(AlertsCmd),
    /// "Use in…": preview, write, undo, links, snippets, channels.
    Exports(ExportsCmd),
    /// The local gateway: start, stop, key, policy, aliases, pins.
    Gateway(GatewayCmd),
    /// Notification channels and the event history.
    Notify(NotifyCmd),
    /// Multi-device sync.
    Sync(SyncCmd),
    /// Read the settings from the store again (a restore may have brought others).
    ReloadSettings,
}

macro_rules! wrap {
    ($($cmd:ident => $variant:ident),* $(,)?) => {
        $(impl From<$cmd> for Command {
            fn from(c: $cmd) -> Command {
                Command::$variant(c)
            }
        })*
    };
}

wrap!(
    ShellCmd => Shell,
    SitesCmd => Sites,
    KeysCmd => Keys,
    CheckinCmd => Checkin,
    PricingCmd => Pricing,
    LogsCmd => Logs,
    BackupCmd => Backup,
    UpdateCmd => Update,
    NetworkCmd => Network,
    AlertsCmd => Alerts,
    ExportsCmd => Exports,
    GatewayCmd => Gateway,
    NotifyCmd => Notify,
    SyncCmd => Sync,
);

/// A command with a label and a keyboard shortcut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiCommand {
    /// Show a panel.
    Show(Panel),
    /// Refresh every enabled account.
    RefreshAll,
}

impl UiCommand {
    /// The command it sends.
    pub fn command(self) -> Command {
        match self {
            UiCommand::Show(p) => ShellCmd::ShowPanel(p).into(),
            UiCommand::RefreshAll => SitesCmd::RefreshAll.into(),
        }
    }
}

/// Every labelled command: (command, translation key of its label, shortcut).
pub const COMMANDS: &[(UiCommand, &str, egui::KeyboardShortcut)] = &[
    (UiCommand::Show(Panel::Sites), "nav.sites", shortcut(egui::Modifiers::COMMAND, egui::Key::Num1)),
    (UiCommand::Show(Panel::Pricing), "nav.pricing", shortcut(egui::Modifiers::COMMAND, egui::Key::Num2)),
    (UiCommand::Show(Panel::Logs), "nav.logs", shortcut(egui::Modifiers::COMMAND, egui::Key::Num3)),
    (UiCommand::Show(Panel::Gateway), "nav.gateway", shortcut(egui::Modifiers::COMMAND, egui::Key::Num4)),
    (UiCommand::Show(Panel::Settings), "nav.settings", shortcut(egui::Modifiers::COMMAND, egui::Key::Num5)),
    (UiCommand::RefreshAll, "top.refresh_all", shortcut(egui::Modifiers::NONE, egui::Key::F5)),
];

const fn shortcut(modifiers: egui::Modifiers, key: egui::Key) -> egui::KeyboardShortcut {
    egui::KeyboardShortcut::new(modifiers, key)
}

/// The commands whose shortcut was pressed this frame (the shortcuts are consumed).
pub fn pressed(ctx: &egui::Context) -> Vec<Command> {
    ctx.input_mut(|i| {
        COMMANDS.iter().filter(|(_, _, sc)| i.consume_shortcut(sc)).map(|(c, _, _)| c.command()).collect()
    })
}

/// A shortcut's text for a tooltip (`Ctrl+1`, `F5`).
pub fn shortcut_text(ctx: &egui::Context, cmd: UiCommand) -> Option<String> {
    COMMANDS.iter().find(|(c, _, _)| *c == cmd).map(|(_, _, sc)| ctx.format_shortcut(sc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shortcut_is_distinct_and_every_panel_has_one() {
        for (i, (_, _, a)) in COMMANDS.iter().enumerate() {
            for (_, _, b) in &COMMANDS[i + 1..] {
                assert_ne!(a, b);
            }
        }
        for p in Panel::ALL {
            assert!(COMMANDS.iter().any(|(c, _, _)| *c == UiCommand::Show(p)));
        }
        assert!(matches!(UiCommand::RefreshAll.command(), Command::Sites(SitesCmd::RefreshAll)));
    }
}
