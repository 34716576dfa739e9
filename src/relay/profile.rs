//! One data-driven [`Profile`] per [`SiteKind`]: endpoints, page parameters, list
//! shapes, headers and check-in. A new kind is a new profile, not a new branch.

use crate::domain::SiteKind;

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
                ..new_api_like(kind)
            },
            SiteKind::Veloera => Profile { checkin: CheckinSource::Veloera, ..new_api_like(kind) },
            SiteKind::OneHub | SiteKind::DoneHub => one_hub_like(kind),
            SiteKind::Anyrouter => Profile { checkin: CheckinSource::PerformOnly, ..new_api_like(kind) },
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
            },
            SiteKind::NewApi | SiteKind::Voapi | SiteKind::SuperApi | SiteKind::Unknown => new_api_like(kind),
        }
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
