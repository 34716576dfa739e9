//! Network forms: the Settings panel's global section (proxy, timeouts, extra CA file)
//! and the account detail's per-site section (proxy override, custom User-Agent).

use crate::app::command::NetworkCmd;
use crate::app::i18n::tr;
use crate::app::network::Network as NetworkView;
use crate::app::{AppState, Command};
use crate::domain::Account;
use crate::domain::network::{NetworkSettings, ProxySetting, SiteNetwork, SiteProxy, validate_proxy_url};

/// Which proxy choice a form shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// System (global) or inherit (site).
    #[default]
    Default,
    None,
    Url,
}

/// Radio buttons for the mode and the URL field; returns an error text for a bad URL.
fn proxy_ui(
    ui: &mut egui::Ui,
    label: egui::Id,
    default_label: &str,
    mode: &mut Mode,
    url: &mut String,
) -> Option<String> {
    ui.horizontal_wrapped(|ui| {
        ui.radio_value(mode, Mode::Default, default_label);
        ui.radio_value(mode, Mode::None, tr("net.proxy.none"));
        ui.radio_value(mode, Mode::Url, tr("net.proxy.url"));
    });
    if *mode != Mode::Url {
        return None;
    }
    ui.add(egui::TextEdit::singleline(url).hint_text(tr("net.proxy.hint")).desired_width(320.0)).labelled_by(label);
    validate_proxy_url(url).err()
}

fn message(ui: &mut egui::Ui, ok: bool, text: &str) {
    let color = if ok { ui.visuals().text_color() } else { ui.visuals().error_fg_color };
    ui.colored_label(color, text);
}

/// The Settings panel's network section.
#[derive(Debug, Default)]
pub struct NetworkSection {
    loaded: Option<u64>,
    mode: Mode,
    url: String,
    connect: u64,
    request: u64,
    ca: String,
}

impl NetworkSection {
    fn load(&mut self, v: &NetworkView, n: &crate::domain::network::NetworkSettings) {
        (self.mode, self.url) = match &n.proxy {
            ProxySetting::System => (Mode::Default, String::new()),
            ProxySetting::Direct => (Mode::None, String::new()),
            ProxySetting::Url(u) => (Mode::Url, u.clone()),
        };
        self.connect = n.connect_timeout_secs;
        self.request = n.request_timeout_secs;
        self.ca = n.extra_ca_file.clone();
        self.loaded = Some(v.version);
    }

    /// Draws the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        let v = &state.network;
        if self.loaded != Some(v.version) {
            self.load(v, &state.settings.network);
        }
        let mut bad = None;
        egui::Grid::new("network").num_columns(2).spacing([16.0, 8.0]).show(ui, |ui| {
            let l = ui.label(tr("net.proxy"));
            ui.vertical(|ui| bad = proxy_ui(ui, l.id, tr("net.proxy.system"), &mut self.mode, &mut self.url));
            ui.end_row();
            let l = ui.label(tr("net.connect_timeout"));
            ui.add(egui::DragValue::new(&mut self.connect).range(1..=600)).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(tr("net.request_timeout"));
            ui.add(egui::DragValue::new(&mut self.request).range(1..=600)).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(tr("net.extra_ca"));
            ui.vertical(|ui| {
                ui.add(egui::TextEdit::singleline(&mut self.ca).desired_width(320.0)).labelled_by(l.id);
                ui.weak(tr("net.extra_ca.hint"));
            });
            ui.end_row();
        });
        if let Some(e) = &bad {
            message(ui, false, e);
        }
        ui.horizontal(|ui| {
            let save = egui::Button::new(if v.saving { tr("net.saving") } else { tr("net.save") });
            if ui.add_enabled(bad.is_none() && !v.saving, save).clicked() {
                cmds.push(Command::Network(NetworkCmd::Save(NetworkSettings {
                    proxy: match self.mode {
                        Mode::Default => ProxySetting::System,
                        Mode::None => ProxySetting::Direct,
                        Mode::Url => ProxySetting::Url(self.url.trim().to_string()),
                    },
                    connect_timeout_secs: self.connect,
                    request_timeout_secs: self.request,
                    extra_ca_file: self.ca.trim().to_string(),
                })));
            }
            if let Some((ok, text)) = &v.message {
                message(ui, *ok, text);
            }
        });
    }
}

/// The account detail's site network section (shared by the site's accounts).
#[derive(Debug, Default)]
pub struct SiteNetworkForm {
    loaded: Option<(i64, u64)>,
    mode: Mode,
    url: String,
    user_agent: String,
}

impl SiteNetworkForm {
    /// Draws the section for the account's site.
    pub fn ui(&mut self, ui: &mut egui::Ui, account: &Account, state: &AppState, cmds: &mut Vec<Command>) {
        let v = &state.network;
        let site = account.site.id;
        if self.loaded != Some((site, v.version)) {
            let n = v.sites.get(&site).cloned().unwrap_or_default();
            (self.mode, self.url) = match n.proxy {
                SiteProxy::Inherit => (Mode::Default, String::new()),
                SiteProxy::Direct => (Mode::None, String::new()),
                SiteProxy::Url(u) => (Mode::Url, u),
            };
            self.user_agent = n.user_agent.unwrap_or_default();
            self.loaded = Some((site, v.version));
        }
        ui.strong(tr("net.site"));
        ui.weak(tr("net.site.shared"));
        let mut bad = None;
        egui::Grid::new("site_network").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            let l = ui.label(tr("net.proxy"));
            ui.vertical(|ui| bad = proxy_ui(ui, l.id, tr("net.proxy.inherit"), &mut self.mode, &mut self.url));
            ui.end_row();
            let l = ui.label(tr("net.user_agent"));
            ui.vertical(|ui| {
                ui.add(egui::TextEdit::singleline(&mut self.user_agent).desired_width(320.0)).labelled_by(l.id);
                ui.weak(tr("net.user_agent.hint"));
            });
            ui.end_row();
        });
        if let Some(e) = &bad {
            message(ui, false, e);
        }
        ui.horizontal(|ui| {
            if ui.add_enabled(bad.is_none(), egui::Button::new(tr("net.site.save"))).clicked() {
                let net = SiteNetwork {
                    proxy: match self.mode {
                        Mode::Default => SiteProxy::Inherit,
                        Mode::None => SiteProxy::Direct,
                        Mode::Url => SiteProxy::Url(self.url.trim().to_string()),
                    },
                    user_agent: Some(self.user_agent.trim().to_string()).filter(|u| !u.is_empty()),
                };
                cmds.push(Command::Network(NetworkCmd::SaveSite { site, site_url: account.site.url.clone(), net }));
            }
            if let Some((s, ok, text)) = &v.site_message
                && *s == site
            {
                message(ui, *ok, text);
            }
        });
    }
}
