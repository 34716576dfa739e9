//! Check-in and redeem in the account detail, the "check in all" summary window, and
//! the daily automatic check-in settings.

use crate::app::checkin::checkin_text;
use crate::app::command::CheckinCmd;
use crate::app::i18n::{fill, tr};
use crate::app::state::ActionKind;
use crate::app::{AppState, Command};
use crate::domain::Account;
use crate::domain::snapshot::AccountState;
use crate::engine::actions::{CheckinEntry, CheckinStatus, CheckinSummary, checkin_day, checkin_eligible};

/// Today's check-in line for an account ("done today +$0.01"), from the stored record
/// in the site's day boundary; `None` when the site has no check-in.
pub fn today_text(account: &Account, st: Option<&AccountState>, app: &AppState) -> Option<String> {
    if !checkin_eligible(account, st) {
        return None;
    }
    let today = checkin_day(account.site.kind, crate::domain::time::now_unix());
    let rec = app.checkin.records.get(&account.id).filter(|r| r.day == today);
    let cs = st.and_then(|s| s.snapshot.as_ref()).map(|s| s.currency.clone()).unwrap_or_default();
    let from_site =
        st.and_then(|s| s.snapshot.as_ref()).and_then(|s| s.checkin.value.as_ref()).and_then(|c| c.checked_in_today);
    Some(match rec {
        Some(r) if r.outcome == crate::store::CheckinRecordOutcome::Manual => tr("checkin.today_manual").to_string(),
        Some(r) if r.outcome.is_done() => match &r.reward {
            Some(a) => fill(tr("checkin.today_reward"), &[("reward", &a.text(&cs))]),
            None => tr("checkin.today_done").to_string(),
        },
        Some(r) if r.outcome == crate::store::CheckinRecordOutcome::NeedsHuman => tr("checkin.today_human").to_string(),
        Some(_) => tr("checkin.today_failed").to_string(),
        None if from_site == Some(true) => tr("checkin.today_done").to_string(),
        None => tr("checkin.today_open").to_string(),
    })
}

/// Whether today's check-in of an account needs a hand (the site wanted a human, or
/// it failed): then "mark done" is offered.
fn needs_hand(account: &Account, app: &AppState) -> bool {
    let today = checkin_day(account.site.kind, crate::domain::time::now_unix());
    app.checkin.records.get(&account.id).is_some_and(|r| {
        r.day == today
            && matches!(
                r.outcome,
                crate::store::CheckinRecordOutcome::NeedsHuman | crate::store::CheckinRecordOutcome::Failed
            )
    })
}

/// The check-in button and the redeem box of the detail panel.
pub fn account_actions_ui(
    ui: &mut egui::Ui,
    account: &Account,
    st: Option<&AccountState>,
    app: &AppState,
    redeem_code: &mut String,
    cmds: &mut Vec<Command>,
) {
    let busy = app.action_busy(account.id);
    if let Some(today) = today_text(account, st, app) {
        ui.horizontal(|ui| {
            ui.label(today);
            if ui.add_enabled(!busy, egui::Button::new(tr("checkin.button"))).clicked() {
                cmds.push(Command::Checkin(CheckinCmd::CheckIn(account.id)));
            }
            if needs_hand(account, app)
                && ui
                    .add_enabled(!busy, egui::Button::new(tr("checkin.mark_done")))
                    .on_hover_text(tr("checkin.mark_done_hint"))
                    .clicked()
            {
                cmds.push(Command::Checkin(CheckinCmd::MarkDone(account.id)));
            }
        });
        if let Some(m) = app.checkin.message(account.id, ActionKind::Checkin) {
            let color = if m.ok { ui.visuals().text_color() } else { ui.visuals().warn_fg_color };
            ui.colored_label(color, &m.text);
        }
    }
    ui.horizontal(|ui| {
        let l = ui.label(tr("redeem.code"));
        ui.add(egui::TextEdit::singleline(redeem_code).desired_width(140.0)).labelled_by(l.id);
        let ok = !redeem_code.trim().is_empty() && !busy;
        if ui.add_enabled(ok, egui::Button::new(tr("redeem.button"))).on_hover_text(tr("redeem.hint")).clicked() {
            cmds.push(Command::Checkin(CheckinCmd::Redeem {
                account: account.id,
                code: redeem_code.trim().to_string(),
            }));
            redeem_code.clear();
        }
        if busy {
            ui.spinner();
        }
    });
    if let Some(m) = app.checkin.message(account.id, ActionKind::Redeem) {
        let color = if m.ok { ui.visuals().text_color() } else { ui.visuals().warn_fg_color };
        ui.colored_label(color, &m.text);
    }
}

/// The summary window of the last "check in all", until closed.
pub fn summary_window(ctx: &egui::Context, app: &AppState, cmds: &mut Vec<Command>) {
    let Some(summary) = &app.checkin.summary else { return };
    let mut open = true;
    egui::Window::new(tr("checkin.summary_title"))
        .collapsible(false)
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| summary_ui(ui, summary, cmds));
    if !open {
        cmds.push(Command::Checkin(CheckinCmd::DismissSummary));
    }
}

fn summary_ui(ui: &mut egui::Ui, s: &CheckinSummary, cmds: &mut Vec<Command>) {
    let (done, already, human, failed) = s.counts();
    ui.label(fill(
        tr("checkin.summary_counts"),
        &[("done", &done), ("already", &already), ("human", &human), ("failed", &failed), ("skipped", &s.unsupported)],
    ));
    if s.entries.is_empty() {
        ui.weak(tr("checkin.summary_none"));
    }
    // One line per entry under its section's title; only the visible lines are laid out
    // (a summary of a thousand accounts stays a cheap frame).
    let section = |e: &CheckinEntry| match e.status {
        CheckinStatus::Done { .. } => 0,
        CheckinStatus::Already | CheckinStatus::Manual => 1,
        CheckinStatus::NeedsHuman { .. } => 2,
        CheckinStatus::Failed { .. } => 3,
    };
    let titles = ["checkin.section_done", "checkin.section_already", "checkin.section_human", "checkin.section_failed"];
    let mut lines: Vec<Result<&CheckinEntry, (usize, usize)>> = Vec::with_capacity(s.entries.len() + titles.len());
    for pick in 0..titles.len() {
        let start = lines.len();
        lines.push(Err((pick, 0)));
        lines.extend(s.entries.iter().filter(|e| section(e) == pick).map(Ok));
        match lines.len() - start - 1 {
            0 => lines.truncate(start),
            n => lines[start] = Err((pick, n)),
        }
    }
    let row_height = ui.spacing().interact_size.y;
    egui::ScrollArea::vertical().max_height(420.0).show_rows(ui, row_height, lines.len(), |ui, range| {
        for line in &lines[range] {
            let e = match line {
                Err((pick, n)) => {
                    ui.strong(fill(tr(titles[*pick]), &[("n", n)]));
                    continue;
                }
                Ok(e) => e,
            };
            ui.horizontal(|ui| {
                ui.label(format!("{} / {}", e.site_name, e.account));
                let (text, _) = checkin_text(&e.status);
                match &e.status {
                    CheckinStatus::NeedsHuman { .. } | CheckinStatus::Failed { .. } => {
                        ui.colored_label(ui.visuals().warn_fg_color, text);
                    }
                    CheckinStatus::Manual => {
                        ui.colored_label(ui.visuals().hyperlink_color, text);
                    }
                    _ => {
                        ui.label(text);
                    }
                }
                if matches!(e.status, CheckinStatus::NeedsHuman { .. }) {
                    ui.hyperlink_to(tr("checkin.open_site"), &e.site_url);
                }
                if matches!(e.status, CheckinStatus::NeedsHuman { .. } | CheckinStatus::Failed { .. })
                    && ui.button(tr("checkin.mark_done")).on_hover_text(tr("checkin.mark_done_hint")).clicked()
                {
                    cmds.push(Command::Checkin(CheckinCmd::MarkDone(e.account_id)));
                }
            });
        }
    });
    ui.separator();
    if ui.button(tr("common.close")).clicked() {
        cmds.push(Command::Checkin(CheckinCmd::DismissSummary));
    }
}

/// The daily automatic check-in settings: on/off and the local time window (half-hour
/// steps), with when it next runs.
pub fn auto_settings_ui(ui: &mut egui::Ui, app: &AppState, cmds: &mut Vec<Command>) {
    use crate::engine::checkin_schedule::{MAX_TRIES, RETRY_SECS, format_hhmm};
    let mut auto = app.settings.checkin;
    ui.checkbox(&mut auto.enabled, tr("checkin.auto_enable"));
    ui.horizontal(|ui| {
        for (key, id, value) in [
            ("checkin.auto_from", "auto_checkin_from", &mut auto.start_min),
            ("checkin.auto_to", "auto_checkin_to", &mut auto.end_min),
        ] {
            let label = ui.label(tr(key));
            ui.add_enabled_ui(auto.enabled, |ui| {
                egui::ComboBox::from_id_salt(id)
                    .selected_text(format_hhmm(*value))
                    .width(70.0)
                    .show_ui(ui, |ui| {
                        for slot in (0..48).map(|i| i * 30) {
                            ui.selectable_value(value, slot, format_hhmm(slot));
                        }
                    })
                    .response
                    .labelled_by(label.id);
            });
        }
    });
    ui.weak(fill(tr("checkin.auto_hint"), &[("mins", &(RETRY_SECS / 60)), ("tries", &MAX_TRIES)]));
    if app.checkin.auto_running {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(tr("checkin.auto_running"));
        });
    } else if let Some(at) = app.checkin.auto_next.filter(|_| auto.enabled) {
        let when = crate::domain::time::local_text(at, "%m-%d %H:%M");
        ui.label(fill(tr("checkin.auto_next"), &[("when", &when)]));
    }
    if auto != app.settings.checkin {
        cmds.push(Command::Checkin(CheckinCmd::SetAuto(auto)));
    }
}
