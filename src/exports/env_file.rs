//! `.env` merge: an existing `KEY=` line (with or without `export`) gets the new value
//! with its prefix, spacing and trailing comment kept; new keys are appended; every other
//! line (comments, blanks, lines dotenv ignores) stays byte for byte.

/// Sets `pairs` in `.env` text, returning the new text and the previous values replaced.
pub fn merge(body: &str, pairs: &[(&str, &str)]) -> (String, Vec<String>) {
    let mut out: Vec<String> = Vec::new();
    let mut seen = vec![false; pairs.len()];
    let mut old_values = Vec::new();
    for line in body.split_inclusive('\n') {
        let (content, eol) = split_eol(line);
        match parse_line(content) {
            Some(parsed) => match pairs.iter().position(|(k, _)| *k == parsed.key) {
                Some(i) => {
                    seen[i] = true;
                    old_values.push(parsed.value_text.to_string());
                    out.push(format!("{}{}{}{eol}", parsed.head, quote(pairs[i].1), parsed.tail));
                }
                None => out.push(line.to_string()),
            },
            None => out.push(line.to_string()),
        }
    }
    let mut text: String = out.concat();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if !seen[i] {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("{k}={}\n", quote(v)));
        }
    }
    (text, old_values)
}

/// The value of `key` in `.env` text (last occurrence wins, as dotenv reads it), unquoted.
pub fn get(body: &str, key: &str) -> Option<String> {
    body.lines().rev().filter_map(|l| parse_line(split_eol(l).0)).find(|p| p.key == key).map(|p| unquote(p.value_text))
}

fn split_eol(line: &str) -> (&str, &str) {
    if let Some(c) = line.strip_suffix("\r\n") {
        (c, "\r\n")
    } else if let Some(c) = line.strip_suffix('\n') {
        (c, "\n")
    } else {
        (line, "")
    }
}

struct Parsed<'a> {
    /// Everything up to and including `=` and the spaces after it.
    head: &'a str,
    key: &'a str,
    /// The value as written (quotes included).
    value_text: &'a str,
    /// Spaces and a comment after the value.
    tail: &'a str,
}

fn parse_line(line: &str) -> Option<Parsed<'_>> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return None;
    }
    let after_export = trimmed.strip_prefix("export").filter(|r| r.starts_with([' ', '\t'])).map(str::trim_start);
    let rest = after_export.unwrap_or(trimmed);
    let key_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))?;
    let key = &rest[..key_len];
    if key.is_empty() {
        return None;
    }
    let after_key = &rest[key_len..];
    let after_eq = after_key.trim_start().strip_prefix('=')?;
    let value_start_in_after = after_eq.len() - after_eq.trim_start().len();
    let value_and_tail = &after_eq[value_start_in_after..];
    let head_len = line.len() - value_and_tail.len();
    let value_len = value_len(value_and_tail);
    Some(Parsed {
        head: &line[..head_len],
        key,
        value_text: &value_and_tail[..value_len],
        tail: &value_and_tail[value_len..],
    })
}

/// Length of the value at the start of `s`: a quoted string to its closing quote, else up
/// to ` #` (a comment) or the end, trailing spaces excluded.
fn value_len(s: &str) -> usize {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '\'' | '`'))) => {
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    return i + c.len_utf8();
                }
            }
            s.len()
        }
        _ => {
            let end = s.find(" #").or_else(|| s.find("\t#")).unwrap_or(s.len());
            s[..end].trim_end().len()
        }
    }
}

fn quote(v: &str) -> String {
    let plain = !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@+=,~%".contains(c));
    if plain {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
    }
}

fn unquote(v: &str) -> String {
    let t = v.trim();
    for q in ['"', '\'', '`'] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            let inner = &t[1..t.len() - 1];
            return if q == '"' {
                inner.replace("\\\"", "\"").replace("\\n", "\n").replace("\\\\", "\\")
            } else {
                inner.into()
            };
        }
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_lines_keep_prefix_and_comments_new_keys_append() {
        let src = "# my settings\nexport GEMINI_API_KEY=old # personal\r\nOTHER='x y'\n  GOOGLE_GEMINI_BASE_URL = \"http://a\"\nnot a line";
        let (out, old) = merge(
            src,
            &[("GEMINI_API_KEY", "sk-new"), ("GOOGLE_GEMINI_BASE_URL", "http://b"), ("GEMINI_MODEL", "g 1")],
        );
        assert_eq!(
            out,
            "# my settings\nexport GEMINI_API_KEY=sk-new # personal\r\nOTHER='x y'\n  GOOGLE_GEMINI_BASE_URL = http://b\nnot a line\nGEMINI_MODEL=\"g 1\"\n"
        );
        assert_eq!(old, ["old", "\"http://a\""]);
        assert_eq!(get(&out, "GEMINI_MODEL").as_deref(), Some("g 1"));
        assert_eq!(get(&out, "OTHER").as_deref(), Some("x y"));
        assert_eq!(get(&out, "MISSING"), None);
    }

    #[test]
    fn an_empty_file_gets_the_keys() {
        let (out, old) = merge("", &[("A", "1")]);
        assert_eq!(out, "A=1\n");
        assert!(old.is_empty());
    }
}
