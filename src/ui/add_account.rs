//! The add-account dialog: URL → kind → sign-in method → verify (shows the username
//! and balance) → save. Adding the same site + user again updates it.

use crate::app::command::SitesCmd;
use crate::app::i18n::{fill, tr};
use crate::app::{AddStatus, AppState, Command, DetectStatus};
use crate::domain::account::normalize_site_url;
use crate::domain::validate::InputError;
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
    /// "user on site" when the dialog was opened to enter an account's credentials again.
    for_account: Option<String>,
}

/// The form's fields that take typed input, for the problem shown beside each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Url,
    Name,
    Token,
    UserId,
    Cookie,
    UserAgent,
    ApiKey,
    Username,
    Password,
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
        self.method = match account.auth {
            AuthMethod::AccessToken => Method::Token,
            AuthMethod::Cookie => Method::Cookie,
            AuthMethod::ApiKey => Method::ApiKey,
            AuthMethod::Password => Method::Password,
        };
        let who = if account.username.is_empty() { &account.user_id } else { &account.username };
        self.for_account = Some(format!("{who} @ {}", account.site.name));
    }

    /// What is wrong with a field's value by the rules `apihub accounts add` and the
    /// importers use ([`crate::domain::validate`]); an empty field is only "missing",
    /// said once under the form.
    fn problem(&self, field: Field) -> Option<InputError> {
        use crate::domain::validate;
        let value = match field {
            Field::Url => &self.url,
            Field::Name => &self.name,
            Field::Token => &self.token,
            Field::UserId => &self.user_id,
            Field::Cookie => &self.cookie,
            Field::UserAgent => &self.user_agent,
            Field::ApiKey => &self.api_key,
            Field::Username => &self.username,
            Field::Password => &self.password,
        };
        if value.trim().is_empty() {
            return None;
        }
        match field {
            Field::Url => validate::site_url(value).err(),
            Field::Name => validate::site_name(value).err(),
            Field::Token => validate::token("access token", value).err(),
            Field::UserId => validate::user_ref("user id", value).err(),
            Field::Cookie => validate::cookie(value).err(),
            Field::UserAgent => {
                validate::credentials(&Credentials { user_agent: Some(value.clone()), ..Default::default() }).err()
            }
            Field::ApiKey => validate::token("API key", value).err(),
            Field::Username => validate::user_ref("username", value).err(),
            Field::Password => validate::password(value).err(),
        }
    }

    /// The fields the chosen sign-in method shows, each with its problem if any.
    fn problems(&self) -> impl Iterator<Item = (Field, InputError)> + '_ {
        let fields: &[Field] = match self.method {
            Method::Token => &[Field::Url, Field::Name, Field::Token, Field::UserId],
            Method::Cookie => &[Field::Url, Field::Name, Field::Cookie, Field::UserId, Field::UserAgent],
            Method::ApiKey => &[Field::Url, Field::Name, Field::ApiKey],
            Method::Password => &[Field::Url, Field::Name, Field::Username, Field::Password],
        };
        fields.iter().filter_map(|f| self.problem(*f).map(|p| (*f, p)))
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
        // The same check `accounts add` runs before anything is sent or stored.
        crate::domain::validate::account_to_add(&NewAccount {
            site_url: normalize_site_url(url),
            site_name: self.name.trim().to_string(),
            kind: self.kind.unwrap_or(SiteKind::Unknown),
            user_id,
            username: String::new(),
            auth,
            credentials,
        })
        .ok()
    }

    fn password_sign_in(&self) -> Option<Command> {
        let url = self.url.trim();
        if url.is_empty() || self.username.trim().is_empty() || self.password.is_empty() {
            return None;
        }
        if self.problems().next().is_some() {
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
        if let Some(who) = &self.for_account {
            ui.label(fill(tr("add.for_account"), &[("account", who)]));
        }
        egui::Grid::new("add_account").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
            let url_problem = self.problem(Field::Url);
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
            problem_row(ui, url_problem);
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
            let p = self.problem(Field::Name);
            field(ui, tr("add.name"), &mut self.name, "", false, p);
            ui.label(tr("add.method"));
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.method, Method::Token, tr("add.method.token"));
                ui.selectable_value(&mut self.method, Method::Cookie, tr("add.method.cookie"));
                ui.selectable_value(&mut self.method, Method::Password, tr("add.method.password"));
                ui.selectable_value(&mut self.method, Method::ApiKey, tr("add.method.api_key"));
            });
            ui.end_row();
            let p = |f| self.problem(f);
            match self.method {
                Method::Token => {
                    let (pt, pu) = (p(Field::Token), p(Field::UserId));
                    field(ui, tr("add.token"), &mut self.token, tr("add.token_hint"), true, pt);
                    field(ui, tr("add.user_id"), &mut self.user_id, "", false, pu);
                }
                Method::Cookie => {
                    let (pc, pu, pa) = (p(Field::Cookie), p(Field::UserId), p(Field::UserAgent));
                    field(ui, tr("add.cookie"), &mut self.cookie, tr("add.cookie_hint"), true, pc);
                    field(ui, tr("add.user_id"), &mut self.user_id, "", false, pu);
                    field(ui, tr("add.user_agent"), &mut self.user_agent, "", false, pa);
                }
                Method::ApiKey => {
                    let pk = p(Field::ApiKey);
                    field(ui, tr("add.api_key"), &mut self.api_key, "sk-…", true, pk);
                }
                Method::Password => {
                    let (pu, pp) = (p(Field::Username), p(Field::Password));
                    field(ui, tr("add.username"), &mut self.username, "", false, pu);
                    field(ui, tr("add.password"), &mut self.password, tr("add.password_hint"), true, pp);
                    if state.sites.add == AddStatus::Needs2fa {
                        field(ui, tr("add.code"), &mut self.code, "123456", false, None);
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
            AddStatus::Idle if command.is_none() && self.problems().next().is_none() => {
                ui.weak(tr("add.missing"));
            }
            _ => {}
        }
    }
}

fn field(ui: &mut egui::Ui, label: &str, value: &mut String, hint: &str, secret: bool, problem: Option<InputError>) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).password(secret).hint_text(hint).desired_width(300.0)).labelled_by(l.id);
    ui.end_row();
    problem_row(ui, problem);
}

/// The problem of the field above, in the row under it (the message never repeats
/// the value: it may be a secret).
fn problem_row(ui: &mut egui::Ui, problem: Option<InputError>) {
    let Some(p) = problem else { return };
    ui.label("");
    let text =
        egui::RichText::new(fill(tr("add.invalid"), &[("problem", &p.problem)])).color(ui.visuals().error_fg_color);
    // Wrapped at the fields' width: a long message must not widen the dialog.
    ui.scope(|ui| {
        ui.set_max_width(300.0);
        ui.add(egui::Label::new(text).wrap());
    });
    ui.end_row();
}
