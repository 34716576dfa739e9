//! The recovery window's view (state and jobs: `app::recovery`): a damaged data file
//! (restore the newest good backup, salvage, start empty) or a lost or wrong key (locate
//! the key file, restore the credentials from a passphrase backup, reset them).

use crate::app::i18n::{fill, tr};
use crate::app::recovery::{Problem, RecoveryAction, RecoveryCommand, RecoveryState};
use crate::backup::recover::GoodBackup;
use crate::store::{KeyLocation, KeyProblemKind};

/// Draws the recovery window; pushes what the user asks for.
pub fn recovery_ui(ui: &mut egui::Ui, state: &RecoveryState, cmds: &mut Vec<RecoveryCommand>) {
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            ui.set_max_width(760.0);
            ui.add_space(8.0);
            if state.done.is_some() {
                done_ui(ui, state, cmds);
                return;
            }
            match &state.problem {
                Problem::Damaged(d) => {
                    ui.heading(tr("recovery.title.damaged"));
                    ui.add_space(4.0);
                    let kept = d.kept_copy.as_ref().map(|k| k.display().to_string()).unwrap_or_else(|| "-".into());
                    ui.label(fill(
                        tr("recovery.damaged.body"),
                        &[("path", &d.path.display()), ("reason", &d.reason), ("kept", &kept)],
                    ));
                }
                Problem::Key(k) => {
                    ui.heading(tr(match k.kind {
                        KeyProblemKind::Missing => "recovery.title.key_missing",
                        KeyProblemKind::Damaged => "recovery.title.key_damaged",
                        KeyProblemKind::Wrong => "recovery.title.key_wrong",
                    }));
                    ui.add_space(4.0);
                    let place = match &k.location {
                        KeyLocation::Keychain => tr("recovery.key.where_keychain").to_string(),
                        KeyLocation::KeyFile(p) => fill(tr("recovery.key.where_file"), &[("file", &p.display())]),
                    };
                    ui.label(fill(
                        tr("recovery.key.body"),
                        &[("count", &k.account_count), ("path", &k.db_path.display()), ("where", &place)],
                    ));
                }
            }
            ui.add_space(8.0);
            if let Some(e) = &state.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
                ui.add_space(6.0);
            }
            if let Some(action) = state.busy {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(fill(tr("recovery.working"), &[("action", &action_name(action))]));
                });
                ui.add_space(6.0);
            }
            match &state.problem {
                Problem::Damaged(_) => damaged_ui(ui, state, cmds),
                Problem::Key(_) => key_ui(ui, state, cmds),
            }
            ui.add_space(12.0);
            if ui.button(tr("recovery.quit")).clicked() {
                cmds.push(RecoveryCommand::Quit);
            }
        });
    });
}

fn action_name(a: RecoveryAction) -> &'static str {
    tr(match a {
        RecoveryAction::Restore => "recovery.restore.button",
        RecoveryAction::Salvage => "recovery.salvage.button",
        RecoveryAction::StartEmpty => "recovery.empty.button",
        RecoveryAction::LocateKey => "recovery.locate.button",
        RecoveryAction::RestoreCredentials => "recovery.keyrestore.button",
        RecoveryAction::ResetCredentials => "recovery.reset.button",
    })
}

fn section(ui: &mut egui::Ui, title: &str, body: impl FnOnce(&mut egui::Ui)) {
    ui.group(|ui| {
        ui.set_width(ui.available_width());
        ui.strong(title);
        ui.add_space(4.0);
        body(ui);
    });
    ui.add_space(8.0);
}

fn secrets_text(b: &GoodBackup) -> &'static str {
    tr(match b.bundle.secrets.as_str() {
        "passphrase" => "recovery.secrets.passphrase",
        "local-key" => "recovery.secrets.local",
        _ => "recovery.secrets.none",
    })
}

fn backup_line(b: &GoodBackup) -> String {
    let date = Some(crate::domain::time::local_text(b.info.modified_at_unix, "%Y-%m-%d %H:%M"))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| b.bundle.created_at.clone());
    fill(
        tr("recovery.backup.item"),
        &[
            ("date", &date),
            ("accounts", &b.bundle.account_count),
            ("secrets", &secrets_text(b)),
            ("name", &b.info.name),
        ],
    )
}

/// The list of backups to choose from (radio buttons), `only` limiting which show.
fn backups_ui(
    ui: &mut egui::Ui,
    state: &RecoveryState,
    cmds: &mut Vec<RecoveryCommand>,
    only: &[(usize, &GoodBackup)],
) {
    for (i, b) in only {
        if ui.radio(state.selected == *i, backup_line(b)).clicked() {
            cmds.push(RecoveryCommand::SelectBackup(*i));
        }
    }
    if ui.button(tr("recovery.backup.pick")).clicked() {
        cmds.push(RecoveryCommand::BrowseBackup);
    }
}

fn passphrase_ui(ui: &mut egui::Ui, state: &RecoveryState, cmds: &mut Vec<RecoveryCommand>) {
    ui.horizontal(|ui| {
        let l = ui.label(tr("recovery.passphrase"));
        let mut text = state.passphrase.clone();
        let r = ui.add(egui::TextEdit::singleline(&mut text).password(true).desired_width(240.0)).labelled_by(l.id);
        if r.changed() {
            cmds.push(RecoveryCommand::SetPassphrase(text));
        }
    });
}

fn idle(state: &RecoveryState) -> bool {
    state.busy.is_none()
}

fn damaged_ui(ui: &mut egui::Ui, state: &RecoveryState, cmds: &mut Vec<RecoveryCommand>) {
    section(ui, tr("recovery.restore.title"), |ui| match &state.backups {
        None => {
            ui.spinner();
        }
        Some(list) => {
            if list.is_empty() {
                ui.label(fill(tr("recovery.restore.none"), &[("dir", &state.data_dir.join("backups").display())]));
            }
            let all: Vec<(usize, &GoodBackup)> = list.iter().enumerate().collect();
            backups_ui(ui, state, cmds, &all);
            if state.chosen().is_some_and(GoodBackup::needs_passphrase) {
                passphrase_ui(ui, state, cmds);
            }
            let needs = state.chosen().is_some_and(GoodBackup::needs_passphrase);
            let ok = idle(state) && state.chosen().is_some() && !(needs && state.passphrase.is_empty());
            if ui.add_enabled(ok, egui::Button::new(tr("recovery.restore.button"))).clicked() {
                cmds.push(RecoveryCommand::Run(RecoveryAction::Restore));
            }
        }
    });
    section(ui, tr("recovery.salvage.title"), |ui| {
        ui.label(tr("recovery.salvage.body"));
        if ui.add_enabled(idle(state), egui::Button::new(tr("recovery.salvage.button"))).clicked() {
            cmds.push(RecoveryCommand::Run(RecoveryAction::Salvage));
        }
    });
    section(ui, tr("recovery.empty.title"), |ui| {
        let mut v = state.confirm_empty;
        if ui.checkbox(&mut v, tr("recovery.empty.confirm")).changed() {
            cmds.push(RecoveryCommand::Confirm(RecoveryAction::StartEmpty, v));
        }
        if ui.add_enabled(idle(state) && state.confirm_empty, egui::Button::new(tr("recovery.empty.button"))).clicked()
        {
            cmds.push(RecoveryCommand::Run(RecoveryAction::StartEmpty));
        }
    });
}

fn key_ui(ui: &mut egui::Ui, state: &RecoveryState, cmds: &mut Vec<RecoveryCommand>) {
    section(ui, tr("recovery.locate.title"), |ui| {
        ui.label(tr("recovery.locate.body"));
        ui.horizontal(|ui| {
            let l = ui.label(tr("recovery.locate.path"));
            let mut text = state.key_path.clone();
            let r = ui.add(egui::TextEdit::singleline(&mut text).desired_width(380.0)).labelled_by(l.id);
            if r.changed() {
                cmds.push(RecoveryCommand::SetKeyPath(text));
            }
            if ui.button(tr("recovery.browse")).clicked() {
                cmds.push(RecoveryCommand::BrowseKey);
            }
        });
        let ok = idle(state) && !state.key_path.trim().is_empty();
        if ui.add_enabled(ok, egui::Button::new(tr("recovery.locate.button"))).clicked() {
            cmds.push(RecoveryCommand::Run(RecoveryAction::LocateKey));
        }
    });
    section(ui, tr("recovery.keyrestore.title"), |ui| {
        ui.label(tr("recovery.keyrestore.body"));
        match &state.backups {
            None => {
                ui.spinner();
            }
            Some(_) => {
                let usable = state.passphrase_backups();
                if usable.is_empty() {
                    ui.label(fill(
                        tr("recovery.keyrestore.none"),
                        &[("dir", &state.data_dir.join("backups").display())],
                    ));
                }
                backups_ui(ui, state, cmds, &usable);
                passphrase_ui(ui, state, cmds);
                let ok = idle(state)
                    && state.chosen().is_some_and(GoodBackup::needs_passphrase)
                    && !state.passphrase.is_empty();
                if ui.add_enabled(ok, egui::Button::new(tr("recovery.keyrestore.button"))).clicked() {
                    cmds.push(RecoveryCommand::Run(RecoveryAction::RestoreCredentials));
                }
            }
        }
    });
    section(ui, tr("recovery.reset.title"), |ui| {
        ui.label(tr("recovery.reset.body"));
        let mut v = state.confirm_reset;
        if ui.checkbox(&mut v, tr("recovery.reset.confirm")).changed() {
            cmds.push(RecoveryCommand::Confirm(RecoveryAction::ResetCredentials, v));
        }
        if ui.add_enabled(idle(state) && state.confirm_reset, egui::Button::new(tr("recovery.reset.button"))).clicked()
        {
            cmds.push(RecoveryCommand::Run(RecoveryAction::ResetCredentials));
        }
    });
}

fn done_ui(ui: &mut egui::Ui, state: &RecoveryState, cmds: &mut Vec<RecoveryCommand>) {
    let Some((_, r)) = &state.done else { return };
    ui.heading(tr("recovery.done.title"));
    ui.add_space(4.0);
    ui.group(|ui| {
        ui.set_width(ui.available_width());
        ui.label(state.done_text().unwrap_or_default());
        if let Some(s) = &r.salvage {
            egui::Grid::new("salvage_figures").striped(true).show(ui, |ui| {
                for t in &s.tables {
                    ui.label(&t.table);
                    let got = t.recovered - t.orphans_dropped;
                    ui.label(match t.expected {
                        Some(e) => fill(tr("recovery.salvage.row"), &[("got", &got), ("of", &e)]),
                        None => fill(tr("recovery.salvage.row_unknown"), &[("got", &got)]),
                    });
                    ui.end_row();
                }
            });
        }
        if let Some(k) = &r.kept_copy {
            ui.label(fill(tr("recovery.done.kept"), &[("path", &k.display())]));
        }
    });
    ui.add_space(8.0);
    if ui.button(tr("recovery.continue")).clicked() {
        cmds.push(RecoveryCommand::Continue);
    }
}
