//! Model prices per site: new-api / Veloera `GET /api/pricing` (with the user's
//! `/api/user/self/groups`), one-hub / done-hub `GET /api/available_model` with
//! `GET /api/user_group_map`; other kinds list their models with prices unknown.

use serde_json::Value;

use super::RelayError;
use super::ctx::Ctx;
use super::profile::ModelsSource;
use crate::domain::pricing::{SitePricing, parse_new_api_pricing, parse_one_hub_pricing, parse_user_groups};

fn malformed(e: impl std::fmt::Display) -> RelayError {
    RelayError::Malformed { message: format!("pricing: {e}") }
}

/// Fetches and parses the site's pricing. `models` is what the snapshot already
/// learned (used for kinds without a pricing endpoint).
pub(crate) async fn fetch_pricing(ctx: &Ctx<'_>, models: &[String]) -> Result<SitePricing, RelayError> {
    match ctx.profile.models {
        ModelsSource::Names("/api/user/models") => {
            let body: Value = ctx.get("/api/pricing").await?;
            let mut site = parse_new_api_pricing(&body).map_err(malformed)?;
            if let Ok(groups) = ctx.get("/api/user/self/groups").await
                && let Ok(g) = parse_user_groups(&groups)
            {
                site = site.with_user_groups(g);
            }
            Ok(site)
        }
        ModelsSource::MapKeys(path) => {
            let available: Value = ctx.get(path).await?;
            let groups = ctx.get("/api/user_group_map").await.ok();
            parse_one_hub_pricing(&available, groups.as_ref()).map_err(malformed)
        }
        _ => Ok(SitePricing::unpriced(models.iter().cloned())),
    }
}
