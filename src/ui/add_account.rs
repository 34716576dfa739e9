//! The add-account dialog: URL → kind → sign-in method → verify (shows the username
//! and balance) → save. Adding the same site + user again updates it.

use crate::app::command::SitesCmd;
use crate::app::i18n::{fill, tr};
use crate::app::{AddStatus, AppState, Command, DetectStatus};
use crate::domain::account::normalize_site_url;
use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

/// View state of the dialog (the form fields).
#[derive(Debug, Default)]
pub struct AddAccountDialog {
    /// Whether the window is shown.
    pub open: bool,
    url: String,
    kind: Option<SiteKind>,
    name: String,
    method: Method,
    token: String,
    user_id: String,
    cookie: String,
    user_agent: String,
    api_key: String,
    username: String,
    password: String,
    code: String,
    mint_token: bool,
    skip_verify: bool,
    /// The detection result already applied to `kind`.
    applied_detection: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Method {
    #[default]
    Token,
    Cookie,
    ApiKey,
    Password,
}

impl AddAccountDialog {
    /// Opens the dialog with an empty form.
    pub fn open(&mut self, cmds: &mut Vec<Command>) {
        *self = AddAccountDialog { open: true, ..Default::default() };
        cmds.push(Command::Sites(SitesCmd::ResetAddAccount));
    }

    /// Opens the dialog on an existing account's site and user, to enter new
    /// credentials (saving updates the same account).
    pub fn open_for(&mut self, account: &crate::domain::Account, cmds: &mut Vec<Command>) {
        self.open(cmds);
        self.url = account.site.url.clone();
        self.kind = Some(account.site.kind);
        self.name = account.site.name.clone();
        self.user_id = account.user_id.clone();
    }

    /// The account the form describes, if it is complete.
    fn account(&self) -> Option<NewAccount> {
        let url = self.url.trim();
        if url.is_empty() {
            return None;
        }
        let (auth, credentials, user_id) = match self.method {
            Method::Token if !self.token.trim().is_empty() && !self.user_id.trim().is_empty() => (
                AuthMethod::AccessToken,
                Credentials { access_token: Some(self.token.trim().into()), ..Default::default() },
                self.user_id.trim().to_string(),
            ),
            Method::Cookie if !self.cookie.trim().is_empty() => (
                AuthMethod::Cookie,
                Credentials {
                    cookie: Some(self.cookie.trim().into()),
                    user_agent: Some(self.user_agent.trim().to_string()).filter(|s| !s.is_empty()),
                    ..Default::default()
                },
                self.user_id.trim().to_string(),
            ),
            Method::Password => return None,
            Method::ApiKey if !self.api_key.trim().is_empty() => (
                AuthMethod::ApiKey,
                Credentials { api_key: Some(self.api_key.trim().into()), ..Default::default() },
                String::new(),
            ),
            _ => return None,
        };
        Some(NewAccount {
            site_url: normalize_site_url(url),
            site_name: self.name.trim().to_string(),
            kind: self.kind.unwrap_or(SiteKind::Unknown),
            user_id,
            username: String::new(),
            auth,
            credentials,
        })
    }

    fn password_sign_in(&self) -> Option<Command> {
        let url = self.url.trim();
        if url.is_empty() || self.username.trim().is_empty() || self.password.is_empty() {
            return None;
        }
        Some(Command::Sites(SitesCmd::AddWithPassword {
            how: crate::engine::PasswordSignIn {
                site_url: normalize_site_url(url),
                kind: self.kind.unwrap_or(SiteKind::Unknown),
                site_name: self.name.trim().to_string(),
                mint_token: self.mint_token,
            },
            username: self.username.trim().to_string(),
            password: self.password.clone(),
        }))
    }

    /// Draws the dialog when open.
    pub fn ui(&mut self, ctx: &egui::Context, state: &AppState, cmds: &mut Vec<Command>) {
        if !self.open {
            return;
        }
        let mut open = self.open;
        egui::Window::new(tr("add.title"))
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(460.0)
            .show(ctx, |ui| self.form_ui(ui, state, cmds));
        if ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            open = false;
        }
        self.open = open;
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        let working = state.sites.add == AddStatus::Working;
        if let DetectStatus::Found { kind, confidence, .. } = &state.sites.detect
            && !self.applied_detection
        {
            self.applied_detection = true;
            if *confidence != "guessed" {
                self.kind = Some(*kind);
            }
        }
        egui::Grid::new("add_account").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
            let l = ui.label(tr("add.url"));
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut self.url).hint_text(tr("add.url_hint")).desired_width(230.0))
                    .labelled_by(l.id);
                let probing = state.sites.detect == DetectStatus::Working;
                if ui
                    .add_enabled(!self.url.trim().is_empty() && !probing, egui::Button::new(tr("add.detect")))
                    .clicked()
                {
                    self.applied_detection = false;
                    cmds.push(Command::Sites(SitesCmd::DetectSite(self.url.trim().to_string())));
                }
            });
            ui.end_row();
            let label = ui.label(tr("add.kind"));
            let selected = self.kind.map(|k| k.as_str().to_string()).unwrap_or_else(|| tr("add.kind_auto").into());
            egui::ComboBox::from_id_salt("kind")
                .selected_text(selected)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.kind, None, tr("add.kind_auto"));
                    for k in SiteKind::ALL.into_iter().filter(|k| *k != SiteKind::Unknown) {
                        ui.selectable_value(&mut self.kind, Some(k), k.as_str());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();
            field(ui, tr("add.name"), &mut self.name, "", false);
            ui.label(tr("add.method"));
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.method, Method::Token, tr("add.method.token"));
                ui.selectable_value(&mut self.method, Method::Cookie, tr("add.method.cookie"));
                ui.selectable_value(&mut self.method, Method::Password, tr("add.method.password"));
                ui.selectable_value(&mut self.method, Method::ApiKey, tr("add.method.api_key"));
            });
            ui.end_row();
            match self.method {
                Method::Token => {
                    field(ui, tr("add.token"), &mut self.token, tr("add.token_hint"), true);
                    field(ui, tr("add.user_id"), &mut self.user_id, "", false);
                }
                Method::Cookie => {
                    field(ui, tr("add.cookie"), &mut self.cookie, tr("add.cookie_hint"), true);
                    field(ui, tr("add.user_id"), &mut self.user_id, "", false);
                    field(ui, tr("add.user_agent"), &mut self.user_agent, "", false);
                }
                Method::ApiKey => field(ui, tr("add.api_key"), &mut self.api_key, "sk-…", true),
                Method::Password => {
                    field(ui, tr("add.username"), &mut self.username, "", false);
                    field(ui, tr("add.password"), &mut self.password, tr("add.password_hint"), true);
                    if state.sites.add == AddStatus::Needs2fa {
                        field(ui, tr("add.code"), &mut self.code, "123456", false);
                    }
                }
            }
        });
        match &state.sites.detect {
            DetectStatus::Working => {
                ui.weak(tr("add.detecting"));
            }
            DetectStatus::Found { kind, confidence, reason } => {
                ui.weak(fill(tr("add.detected"), &[("kind", kind), ("confidence", confidence), ("reason", reason)]));
            }
            DetectStatus::Failed(e) => {
                ui.colored_label(ui.visuals().warn_fg_color, fill(tr("add.detect_failed"), &[("error", e)]));
            }
            DetectStatus::Idle => {}
        }
        if self.method == Method::Password {
            ui.checkbox(&mut self.mint_token, tr("add.mint"));
            if !self.mint_token {
                ui.weak(tr("add.mint_note"));
            }
            if state.sites.add == AddStatus::Needs2fa {
                ui.colored_label(ui.visuals().warn_fg_color, tr("add.needs_2fa"));
            }
        }
        if self.method != Method::Password {
            let mut verify = !self.skip_verify;
            ui.checkbox(&mut verify, tr("add.verify"));
            self.skip_verify = !verify;
        }
        ui.separator();
        let account = self.account();
        let command = if self.method == Method::Password {
            if state.sites.add == AddStatus::Needs2fa {
                Some(Command::Sites(SitesCmd::Submit2fa(self.code.trim().to_string())))
                    .filter(|_| !self.code.trim().is_empty())
            } else {
                self.password_sign_in()
            }
        } else {
            account
                .clone()
                .map(|a| Command::Sites(SitesCmd::AddAccount { account: Box::new(a), verify: !self.skip_verify }))
        };
        ui.horizontal(|ui| {
            let label = match (self.method, &state.sites.add) {
                (Method::Password, AddStatus::Needs2fa) => tr("add.submit_code"),
                (Method::Password, _) => tr("add.save"),
                _ if self.skip_verify => tr("add.save_unverified"),
                _ => tr("add.save"),
            };
            let submit = ui.add_enabled(command.is_some() && !working, egui::Button::new(label)).clicked()
                || (command.is_some() && !working && ui.input(|i| i.key_pressed(egui::Key::Enter)));
            if submit && let Some(c) = command.clone() {
                cmds.push(c);
            }
            if ui.button(tr("common.close")).clicked() {
                self.open = false;
            }
            if working {
                ui.spinner();
                ui.label(tr("add.working"));
            }
        });
        match &state.sites.add {
            AddStatus::Added { summary, .. } => {
                ui.colored_label(egui::Color32::from_rgb(60, 170, 90), fill(tr("add.added"), &[("summary", summary)]));
            }
            AddStatus::Failed(e) => {
                ui.colored_label(ui.visuals().error_fg_color, fill(tr("add.failed"), &[("error", e)]));
            }
            AddStatus::Idle if command.is_none() => {
                ui.weak(tr("add.missing"));
            }
            _ => {}
        }
    }
}

fn field(ui: &mut egui::Ui, label: &str, value: &mut String, hint: &str, secret: bool) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).password(secret).hint_text(hint).desired_width(300.0)).labelled_by(l.id);
    ui.end_row();
}
