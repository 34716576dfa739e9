//! Case-insensitive search over names, the way the search boxes match.

/// Whether `hay` contains `needle_lower` (already lowercased) ignoring case: what
/// `hay.to_lowercase().contains(needle_lower)` answers, without making a lowercase copy
/// of an ASCII `hay` (model names, URLs), which a search box does for thousands of names
/// a keystroke.
pub fn contains_folded(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    if !hay.is_ascii() {
        return hay.to_lowercase().contains(needle_lower);
    }
    // An ASCII hay lowercases to ASCII, so a needle with other characters cannot match.
    let (h, n) = (hay.as_bytes(), needle_lower.as_bytes());
    if !needle_lower.is_ascii() || h.len() < n.len() {
        return false;
    }
    // Where the needle's first letter starts, in either case, the rest is compared.
    let first = n[0];
    memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), &h[..=h.len() - n.len()])
        .any(|i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::contains_folded;

    #[test]
    fn answers_as_a_lowercase_copy_would() {
        let hays = ["GPT-4o-Mini", "claude-3-5-sonnet", "公益站 API", "", "Straße", "KELVIN \u{212A}", "gpt"];
        let needles = ["", "gpt", "4O-M", "mini", "公益", "api", "ss", "straße", "k", "gpt-4o-mini-x", "é"];
        for hay in hays {
            for needle in needles {
                let needle = needle.to_lowercase();
                assert_eq!(contains_folded(hay, &needle), hay.to_lowercase().contains(&needle), "{hay:?} / {needle:?}");
            }
        }
    }
}
