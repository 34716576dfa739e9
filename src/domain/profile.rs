//! One data-driven [`Profile`] per [`SiteKind`]: everything that differs by kind, in
//! one place: protocol, endpoints, page parameters, list shapes, auth and user-id
//! headers, check-in (source, manual page, the day's time zone), the top-up page, the
//! usage log's window and type numbers. Every layer reads it (`relay` for requests,
//! `engine` for check-in days and log windows, `domain` for log types, `ui` for links).
//!
//! Adding a kind: a `SiteKind` variant (its name in `kind.rs`), its arm in
//! [`Profile::for_kind`] (usually `..new_api_like(kind)` with what differs), and the
//! arms the compiler asks for (detection in `relay/detect.rs`, importers' kind names).

use super::SiteKind;
use super::usage_log::LogKind;

/// Which protocol a kind speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `/api/*` with the `{success, message, data}` envelope (one-api, new-api, forks, one-hub).
    OneApi,
    /// sub2api: `/api/v1/*`, `{code, message, data}`, `Bearer <JWT>`.
    Sub2api,
    /// VoAPI v2: `{code, data, msg}`, raw JWT without `Bearer`.
    VoapiV2,
}

/// How a page is addressed and how big it is.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSpec {
    /// Path with its exact trailing-slash form (`/api/token/`).
    pub path: &'static str,
    /// Page parameter (`p` or `page`).
    pub page_param: &'static str,
    /// The first page number to ask for (0 or 1). A server echoing `page` corrects it.
    pub first_page: u32,
    /// Size parameter (`size`, `page_size`), or `None` when the server ignores it.
    pub size_param: Option<&'static str>,
    /// Rows per page: what we ask for, or the server's fixed size.
    pub page_size: u32,
}

/// Where the user's models come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelsSource {
    /// `data` = array of names at this path.
    Names(&'static str),
    /// `data` = object keyed by model name (one-hub `/api/available_model`).
    MapKeys(&'static str),
    /// Not offered.
    None,
}

/// Where the groups come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupsSource {
    /// new-api / Veloera `/api/user/self/groups`: map name → `{ratio, desc}`.
    RatioDesc(&'static str),
    /// one-hub / done-hub `/api/user_group_map`: map symbol → `{name, ratio, enable, description}`.
    GroupMap(&'static str),
    /// Not offered.
    None,
}

/// Read-only check-in status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckinSource {
    /// new-api `GET /api/user/checkin` → `data.stats.checked_in_today`, when `checkin_enabled`.
    NewApi,
    /// Veloera `GET /api/user/check_in_status` → `data.can_check_in`, when `check_in_enabled`.
    Veloera,
    /// Check-in exists but has no read-only status (AnyRouter `POST /api/user/sign_in`).
    PerformOnly,
    /// VoAPI v2 `GET /api/check_in/stats` → `todaySigned`.
    VoapiV2,
    /// No check-in.
    None,
}

/// How the `Authorization` header carries the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: <token>` (VoAPI v2).
    Raw,
}

/// Everything that differs between kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The kind.
    pub kind: SiteKind,
    /// Protocol family.
    pub protocol: Protocol,
    /// Names of the user-id headers to send (all carrying the numeric id).
    pub user_id_headers: &'static [&'static str],
    /// Authorization style.
    pub auth_style: AuthStyle,
    /// Status endpoint (`/api/status`), if any.
    pub status_path: Option<&'static str>,
    /// Notice endpoint (`/api/notice`), optional.
    pub notice_path: Option<&'static str>,
    /// The user endpoint.
    pub self_path: &'static str,
    /// API keys list.
    pub tokens: PageSpec,
    /// Usage logs list.
    pub logs: PageSpec,
    /// Name of the log type filter (`type` or `log_type`).
    pub log_type_param: &'static str,
    /// Stat endpoint for today's spend.
    pub stat_path: Option<&'static str>,
    /// Models.
    pub models: ModelsSource,
    /// Groups.
    pub groups: GroupsSource,
    /// Check-in status.
    pub checkin: CheckinSource,
    /// Where a human checks in by hand, under the site's URL (`""`: the site itself).
    pub manual_checkin_path: &'static str,
    /// The check-in day is counted in UTC (Veloera), else in local time.
    pub checkin_day_utc: bool,
    /// The top-up page, under the site's URL (`/`: the site itself).
    pub topup_path: &'static str,
    /// The widest time window the usage log list accepts, in days (`None` = no limit).
    pub log_window_max_days: Option<i64>,
    /// What the log type numbers 5, 6 and 7 mean on this kind (1–4 are the same everywhere).
    pub log_types_5_6_7: [LogKind; 3],
}

/// Every user-id header of the new-api family (servers ignore names they don't read).
pub const NEW_API_USER_HEADERS: &[&str] =
    &["New-Api-User", "Veloera-User", "voapi-user", "User-id", "X-Api-User", "Rix-Api-User", "neo-api-user"];

const fn page(path: &'static str, p: &'static str, first: u32, size: Option<&'static str>, n: u32) -> PageSpec {
    PageSpec { path, page_param: p, first_page: first, size_param: size, page_size: n }
}

fn new_api_like(kind: SiteKind) -> Profile {
    Profile {
        kind,
        protocol: Protocol::OneApi,
        user_id_headers: NEW_API_USER_HEADERS,
        auth_style: AuthStyle::Bearer,
        status_path: Some("/api/status"),
        notice_path: Some("/api/notice"),
        self_path: "/api/user/self",
        // 0-based on old builds and forks (bare arrays); 1-based `{items,total,page}` on
        // new-api ≥ 2025-07, which echoes `page` (p=0 ≡ p=1): the pager adapts.
        tokens: page("/api/token/", "p", 0, Some("size"), 100),
        logs: page("/api/log/self", "p", 1, Some("page_size"), 100),
        log_type_param: "type",
        stat_path: Some("/api/log/self/stat"),
        models: ModelsSource::Names("/api/user/models"),
        groups: GroupsSource::RatioDesc("/api/user/self/groups"),
        checkin: CheckinSource::NewApi,
        manual_checkin_path: "/console/personal",
        checkin_day_utc: false,
        topup_path: "/console/topup",
        log_window_max_days: None,
        log_types_5_6_7: [LogKind::Error, LogKind::Refund, LogKind::Login],
    }
}

fn one_hub_like(kind: SiteKind) -> Profile {
    Profile {
        kind,
        protocol: Protocol::OneApi,
        user_id_headers: &[],
        auth_style: AuthStyle::Bearer,
        status_path: Some("/api/status"),
        notice_path: Some("/api/notice"),
        self_path: "/api/user/self",
        tokens: page("/api/token/", "page", 1, Some("size"), 100),
        logs: page("/api/log/self", "page", 1, Some("size"), 100),
        log_type_param: "log_type",
        stat_path: Some("/api/log/self/stat"),
        models: ModelsSource::MapKeys("/api/available_model"),
        groups: GroupsSource::GroupMap("/api/user_group_map"),
        checkin: CheckinSource::None,
        manual_checkin_path: "/console/personal",
        checkin_day_utc: false,
        topup_path: "/panel/topup",
        log_window_max_days: if kind == SiteKind::DoneHub { Some(180) } else { None },
        log_types_5_6_7: [LogKind::Unknown; 3],
    }
}

impl Profile {
    /// The profile of a kind (`Unknown` = generic new-api).
    pub fn for_kind(kind: SiteKind) -> Profile {
        match kind {
            SiteKind::OneApi => Profile {
                user_id_headers: &[],
                // Fixed 10 rows per page, 0-based, bare arrays; size is ignored.
                tokens: page("/api/token/", "p", 0, None, 10),
                logs: page("/api/log/self", "p", 0, None, 10),
                models: ModelsSource::Names("/api/user/available_models"),
                groups: GroupsSource::None,
                checkin: CheckinSource::None,
                topup_path: "/topup",
                log_types_5_6_7: [LogKind::Test, LogKind::Unknown, LogKind::Unknown],
                ..new_api_like(kind)
            },
            SiteKind::Veloera => Profile {
                checkin: CheckinSource::Veloera,
                manual_checkin_path: "/app/me",
                checkin_day_utc: true,
                topup_path: "/app/wallet",
                log_types_5_6_7: [LogKind::CheckIn, LogKind::Error, LogKind::Unknown],
                ..new_api_like(kind)
            },
            SiteKind::OneHub | SiteKind::DoneHub => one_hub_like(kind),
            SiteKind::Anyrouter => Profile {
                checkin: CheckinSource::PerformOnly,
                manual_checkin_path: "/console/topup",
                ..new_api_like(kind)
            },
            SiteKind::Voapi => Profile { topup_path: "/topup", ..new_api_like(kind) },
            SiteKind::Sub2api => Profile {
                kind,
                protocol: Protocol::Sub2api,
                user_id_headers: &[],
                auth_style: AuthStyle::Bearer,
                status_path: None,
                notice_path: None,
                self_path: "/api/v1/auth/me",
                tokens: page("/api/v1/keys", "page", 1, Some("page_size"), 100),
                logs: page("/api/v1/usage", "page", 1, Some("page_size"), 100),
                log_type_param: "type",
                stat_path: Some("/api/v1/usage/stats?period=today"),
                models: ModelsSource::None,
                groups: GroupsSource::None,
                checkin: CheckinSource::None,
                manual_checkin_path: "",
                checkin_day_utc: false,
                topup_path: "/redeem",
                log_window_max_days: None,
                log_types_5_6_7: [LogKind::Error, LogKind::Refund, LogKind::Login],
            },
            SiteKind::VoapiV2 => Profile {
                kind,
                protocol: Protocol::VoapiV2,
                user_id_headers: &[],
                auth_style: AuthStyle::Raw,
                status_path: None,
                notice_path: None,
                self_path: "/api/user/info",
                tokens: page("/api/keys", "page", 1, Some("pageSize"), 100),
                logs: page("/api/logs", "page", 1, Some("pageSize"), 100),
                log_type_param: "type",
                stat_path: None,
                models: ModelsSource::None,
                groups: GroupsSource::None,
                checkin: CheckinSource::VoapiV2,
                manual_checkin_path: "",
                checkin_day_utc: false,
                topup_path: "/",
                log_window_max_days: None,
                log_types_5_6_7: [LogKind::Error, LogKind::Refund, LogKind::Login],
            },
            SiteKind::NewApi | SiteKind::SuperApi | SiteKind::Unknown => new_api_like(kind),
        }
    }

    /// What a raw usage-log type number means on this kind.
    pub fn log_kind(&self, raw: i64) -> LogKind {
        LogKind::from_raw(raw, &self.log_types_5_6_7)
    }

    /// A page of the site: `path` under its URL (`""`: the site itself; `/`: with a slash).
    pub fn page_url(site_url: &str, path: &str) -> String {
        format!("{}{path}", site_url.trim().trim_end_matches('/'))
    }

    /// Whether the kind reports money (USD) rather than quota integers.
    pub fn usd_native(&self) -> bool {
        self.protocol != Protocol::OneApi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_profile_with_sane_lists() {
        for k in SiteKind::ALL {
            let p = Profile::for_kind(k);
            assert_eq!(p.kind, k);
            assert!(p.tokens.page_size > 0 && p.tokens.page_size <= 100);
            if p.protocol == Protocol::OneApi {
                assert_eq!(p.tokens.path, "/api/token/", "always the trailing slash");
            }
        }
        assert!(Profile::for_kind(SiteKind::OneHub).user_id_headers.is_empty());
        assert!(Profile::for_kind(SiteKind::Unknown).user_id_headers.contains(&"Veloera-User"));
        assert_eq!(Profile::for_kind(SiteKind::DoneHub).log_type_param, "log_type");
    }
}
