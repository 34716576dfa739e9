//! One tolerant pager for every list shape: bare arrays, `{items,total,page}`,
//! one-hub `{data:[…],total_count}`, `list`, `records`, `tokens`. It stops at the
//! total, an empty, short or repeated page (new-api maps p=0 and p=1 alike), and marks
//! the listing partial at the page cap or when a later page fails.

use std::future::Future;

use serde_json::Value;

use super::RelayError;
use super::profile::PageSpec;

/// Hard cap on pages fetched for one listing.
pub const MAX_PAGES: u32 = 100;

/// One parsed page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageItems {
    /// The rows.
    pub items: Vec<Value>,
    /// Total rows, when the server says.
    pub total: Option<u64>,
    /// The page number the server says it served.
    pub page: Option<i64>,
    /// Total pages (sub2api `pages`).
    pub pages: Option<u64>,
}

/// A whole listing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// Every row fetched.
    pub items: Vec<Value>,
    /// Why the listing is incomplete, if it is.
    pub partial: Option<String>,
}

fn as_u64(v: Option<&Value>) -> Option<u64> {
    let v = v?;
    v.as_u64().or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)).or_else(|| v.as_str()?.parse().ok())
}

/// Parses a page `data` value of any known shape; `None` when it is none of them.
pub fn parse_page(data: &Value) -> Option<PageItems> {
    match data {
        Value::Array(a) => Some(PageItems { items: a.clone(), total: None, page: None, pages: None }),
        Value::Object(o) => {
            let items = ["items", "data", "list", "records", "tokens", "keys", "rows"].iter().find_map(|k| match o
                .get(*k)
            {
                Some(Value::Array(a)) => Some(a.clone()),
                Some(Value::Null) => Some(Vec::new()),
                _ => None,
            })?;
            let total = ["total", "total_count", "totalCount", "count"].iter().find_map(|k| as_u64(o.get(*k)));
            let page = o.get("page").and_then(|p| p.as_i64().or_else(|| p.as_str()?.parse().ok()));
            let pages = as_u64(o.get("pages"));
            Some(PageItems { items, total, page, pages })
        }
        Value::Null => Some(PageItems { items: Vec::new(), total: None, page: None, pages: None }),
        _ => None,
    }
}

/// Builds `path?page=N&size=M&extra…`.
pub fn page_url(spec: &PageSpec, page: i64, extra: &[(String, String)]) -> String {
    let mut q: Vec<String> = vec![format!("{}={page}", spec.page_param)];
    if let Some(s) = spec.size_param {
        q.push(format!("{s}={}", spec.page_size));
    }
    for (k, v) in extra {
        q.push(format!("{k}={}", url_encode(v)));
    }
    let sep = if spec.path.contains('?') { '&' } else { '?' };
    format!("{}{sep}{}", spec.path, q.join("&"))
}

fn url_encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Fetches every page. `fetch(path_and_query)` returns the envelope's `data`.
/// Fails only when the first page fails; later failures make the listing partial.
pub async fn fetch_all<F, Fut>(spec: &PageSpec, extra: &[(String, String)], mut fetch: F) -> Result<Listing, RelayError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Value, RelayError>>,
{
    let mut out = Listing::default();
    let mut page_no = i64::from(spec.first_page);
    let mut prev_sig: Option<String> = None;
    let mut pages_done = 0u32;
    loop {
        if pages_done >= MAX_PAGES {
            out.partial = Some(format!("stopped after {MAX_PAGES} pages"));
            break;
        }
        let data = match fetch(page_url(spec, page_no, extra)).await {
            Ok(d) => d,
            Err(e) if pages_done == 0 => return Err(e),
            Err(e) => {
                out.partial = Some(format!("page {page_no} failed: {e}"));
                break;
            }
        };
        let Some(p) = parse_page(&data) else {
            let e = RelayError::malformed(format!("{}: unknown list shape", spec.path));
            if pages_done == 0 {
                return Err(e);
            }
            out.partial = Some(e.to_string());
            break;
        };
        if p.items.is_empty() {
            break;
        }
        let sig = serde_json::to_string(&p.items).unwrap_or_default();
        if prev_sig.as_deref() == Some(sig.as_str()) {
            // The same page again. Asking p=1 after p=0 on a 1-based server that does not
            // echo `page` (p=0 ≡ p=1): skip ahead once. Otherwise the server is stuck.
            if spec.first_page == 0 && page_no == 1 && pages_done == 1 {
                page_no = 2;
                continue;
            }
            if p.total.is_some_and(|t| (out.items.len() as u64) < t) {
                out.partial = Some(format!("page {page_no} repeated the previous page"));
            }
            break;
        }
        prev_sig = Some(sig);
        let n = p.items.len();
        out.items.extend(p.items);
        pages_done += 1;
        let served = p.page.unwrap_or(page_no);
        if let Some(total) = p.total {
            if out.items.len() as u64 >= total {
                break;
            }
        } else if let Some(pages) = p.pages {
            if u64::from(pages_done) >= pages {
                break;
            }
        } else if n < spec.page_size as usize {
            break; // a short page is the last one
        }
        page_no = served + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert_eq!(parse_page(&json!([1, 2])).unwrap().items.len(), 2);
        let p = parse_page(&json!({"items":[1],"total":7,"page":1})).unwrap();
        assert_eq!((p.total, p.page), (Some(7), Some(1)));
        let h = parse_page(&json!({"data":[1,2],"page":1,"size":10,"total_count":2})).unwrap();
        assert_eq!(h.total, Some(2));
        assert!(parse_page(&json!({"list":null})).unwrap().items.is_empty());
        assert!(parse_page(&json!("x")).is_none());
    }

    #[tokio::test]
    async fn one_based_server_without_page_echo_is_fully_listed() {
        let spec = PageSpec { path: "/t/", page_param: "p", first_page: 0, size_param: None, page_size: 2 };
        let l = fetch_all(&spec, &[], |u| {
            let p: i64 = u.split("p=").nth(1).unwrap().parse().unwrap();
            let p = p.max(1);
            let items: Vec<i64> = (0..2).map(|i| (p - 1) * 2 + i).filter(|x| *x < 5).collect();
            async move { Ok(json!({"items": items, "total": 5})) }
        })
        .await
        .unwrap();
        assert_eq!(l.items, (0..5).map(|i| json!(i)).collect::<Vec<_>>());
        assert!(l.partial.is_none());
    }

    #[tokio::test]
    async fn stuck_server_and_page_cap_are_partial() {
        let spec = PageSpec { path: "/t/", page_param: "page", first_page: 1, size_param: None, page_size: 2 };
        let l = fetch_all(&spec, &[], |_| async { Ok(json!({"items": [1, 2], "total": 9})) }).await.unwrap();
        assert_eq!(l.items.len(), 2);
        assert!(l.partial.is_some());
        let mut n = 0;
        let l = fetch_all(&spec, &[], |_| {
            n += 1;
            let v = n;
            async move { Ok(json!({"items": [v, v], "total": 100_000})) }
        })
        .await
        .unwrap();
        assert_eq!(l.items.len(), 2 * MAX_PAGES as usize);
        assert_eq!(l.partial.as_deref(), Some("stopped after 100 pages"));
    }

    #[tokio::test]
    async fn repeated_first_page_stops_and_echoed_page_corrects_base() {
        // new-api ≥ 2025-07: p=0 and p=1 are the same page; pages echo `page`.
        let spec = PageSpec { path: "/api/token/", page_param: "p", first_page: 0, size_param: None, page_size: 2 };
        let mut asked = Vec::new();
        let l = fetch_all(&spec, &[], |u| {
            asked.push(u.clone());
            let p: i64 = u.split("p=").nth(1).and_then(|s| s.split('&').next()).unwrap().parse().unwrap();
            let p = p.max(1);
            let items: Vec<i64> = (0..2).map(|i| (p - 1) * 2 + i).filter(|x| *x < 5).collect();
            async move { Ok(json!({"items": items, "total": 5, "page": p})) }
        })
        .await
        .unwrap();
        assert_eq!(l.items.len(), 5);
        assert_eq!(asked, vec!["/api/token/?p=0", "/api/token/?p=2", "/api/token/?p=3"]);
        assert!(l.partial.is_none());
    }
}
