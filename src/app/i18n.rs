//! Translations: one flat JSON map per language under `assets/i18n/`, embedded at
//! build time. Every UI string goes through [`tr`]. A key missing from a language
//! falls back to English, then to the key itself.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

pub use crate::domain::settings::Lang;

/// The system's language (Chinese for any `zh*` locale, else English).
pub fn system_lang() -> Lang {
    sys_locale::get_locale().map(|l| Lang::from_locale(&l)).unwrap_or(Lang::En)
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Sets the language used by [`tr`].
pub fn set_lang(lang: Lang) {
    CURRENT.store(lang as u8, Ordering::Relaxed);
}

/// The language used by [`tr`].
pub fn lang() -> Lang {
    if CURRENT.load(Ordering::Relaxed) == Lang::En as u8 { Lang::En } else { Lang::ZhCn }
}

type Table = HashMap<String, String>;

fn tables() -> &'static (Table, Table) {
    static TABLES: OnceLock<(Table, Table)> = OnceLock::new();
    TABLES.get_or_init(|| {
        let parse = |s: &str, name: &str| {
            serde_json::from_str::<Table>(s).unwrap_or_else(|e| {
                log::error!("translation file {name} is invalid: {e}");
                Table::new()
            })
        };
        (
            parse(include_str!("../../assets/i18n/zh-CN.json"), "zh-CN"),
            parse(include_str!("../../assets/i18n/en.json"), "en"),
        )
    })
}

/// Translates a key into the current language.
pub fn tr(key: &str) -> &str {
    tr_in(lang(), key)
}

/// Translates a key into a given language.
pub fn tr_in(lang: Lang, key: &str) -> &str {
    let (zh, en) = tables();
    let primary = if lang == Lang::ZhCn { zh } else { en };
    primary.get(key).or_else(|| en.get(key)).map(String::as_str).unwrap_or_else(|| {
        // Keys are string literals in the code: leaking is bounded and only on a bug.
        log::debug!("missing translation: {key}");
        missing(key)
    })
}

fn missing(key: &str) -> &str {
    // The key itself, owned by a static cache so the return type stays a borrow.
    static MISSING: OnceLock<std::sync::Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let map = MISSING.get_or_init(Default::default);
    let Ok(mut m) = map.lock() else { return "?" };
    m.entry(key.to_string()).or_insert_with(|| Box::leak(key.to_string().into_boxed_str()))
}

/// Replaces `{name}` placeholders.
pub fn fill(template: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut s = template.to_string();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), &value.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let (zh, en) = tables();
        assert!(!zh.is_empty() && !en.is_empty());
        let mut zk: Vec<_> = zh.keys().collect();
        let mut ek: Vec<_> = en.keys().collect();
        zk.sort();
        ek.sort();
        assert_eq!(zk, ek);
    }

    #[test]
    fn lookup_and_locale_parsing() {
        assert_eq!(tr_in(Lang::ZhCn, "nav.sites"), "站点");
        assert_eq!(tr_in(Lang::En, "nav.sites"), "Sites");
        assert_eq!(tr_in(Lang::En, "no.such.key"), "no.such.key");
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Lang::ZhCn);
        assert_eq!(Lang::from_locale("zh-Hans-CN"), Lang::ZhCn);
        assert_eq!(Lang::from_locale("en-US"), Lang::En);
        assert_eq!(fill("{n} / {total}", &[("n", &3), ("total", &10)]), "3 / 10");
    }
}
