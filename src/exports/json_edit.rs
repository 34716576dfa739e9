//! Format-preserving JSON edits: the file is parsed into a concrete syntax tree
//! (`jsonc-parser`'s CST), only the values we set change, and everything else — the
//! user's keys and their order, comments, indentation, blank lines, line endings — is
//! written back as it was. JSONC (comments, trailing commas) is accepted because Gemini CLI
//! and OpenCode allow it; anything looser (missing commas, single quotes, hex numbers) is a
//! parse error, so a broken file is refused rather than "repaired".

use std::path::{Path, PathBuf};

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};

use super::ExportError;
use super::text::{Text, with_final_newline};

fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// A JSON(C) file being edited.
pub struct JsonDoc {
    path: PathBuf,
    text: Text,
    root: CstRootNode,
    created: bool,
}

impl JsonDoc {
    /// Parses the file's bytes (None: missing → a new empty object). Whitespace-only files
    /// count as empty. The top level must be an object.
    pub fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<JsonDoc, ExportError> {
        let text = Text::decode(path, bytes)?;
        let created = text.body.trim().is_empty();
        let source = if created { "{\n}\n" } else { text.body.as_str() };
        let root = CstRootNode::parse(source, &options())
            .map_err(|e| ExportError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        match root.value() {
            Some(v) if v.as_object().is_some() => {}
            Some(_) => {
                return Err(ExportError::Shape {
                    path: path.to_path_buf(),
                    message: "the top level is not a JSON object".into(),
                });
            }
            None => {
                return Err(ExportError::Parse { path: path.to_path_buf(), message: "no JSON value".into() });
            }
        }
        Ok(JsonDoc { path: path.to_path_buf(), text, root, created })
    }

    /// The top-level object.
    pub fn root(&self) -> CstObject {
        self.root.object_value_or_set()
    }

    /// The object at `key` in `parent`, created (appended) when missing. A value of another
    /// type is refused: replacing it would lose what the user put there.
    pub fn object(&self, parent: &CstObject, key: &str) -> Result<CstObject, ExportError> {
        match parent.get(key) {
            None => Ok(parent.object_value_or_set(key)),
            Some(prop) => prop.object_value().ok_or_else(|| ExportError::Shape {
                path: self.path.clone(),
                message: format!("`{key}` is not an object"),
            }),
        }
    }

    /// The string at `key`, when it is one.
    pub fn get_str(&self, obj: &CstObject, key: &str) -> Option<String> {
        let v = obj.get(key)?.value()?;
        v.as_string_lit()?.decoded_value().ok()
    }

    /// Sets `key` to a string: in place when present (its position kept), else appended.
    /// Returns the previous string value, if it was one.
    pub fn set_str(&self, obj: &CstObject, key: &str, value: &str) -> Option<String> {
        self.set(obj, key, CstInputValue::String(value.to_string()))
    }

    /// Sets `key` to any value: in place when present, else appended. Returns the previous
    /// value when it was a string.
    pub fn set(&self, obj: &CstObject, key: &str, value: CstInputValue) -> Option<String> {
        let old = self.get_str(obj, key);
        match obj.get(key) {
            Some(prop) => prop.set_value(value),
            None => {
                obj.append(key, value);
            }
        }
        old
    }

    /// Removes `key`; returns its string value when it was one (None when absent).
    pub fn remove(&self, obj: &CstObject, key: &str) -> Option<Option<String>> {
        let prop = obj.get(key)?;
        let old = self.get_str(obj, key);
        prop.remove();
        Some(old)
    }

    /// Whether the file did not exist (or was empty).
    pub fn created(&self) -> bool {
        self.created
    }

    /// The bytes to write: BOM and line endings as the file had them, a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.text.encode(&with_final_newline(self.root.to_string()))
    }
}

/// A JSON object value for [`JsonDoc::set`] from string pairs.
pub fn object_of(pairs: &[(&str, CstInputValue)]) -> CstInputValue {
    CstInputValue::Object(pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(src: &str, f: impl FnOnce(&JsonDoc)) -> String {
        let doc = JsonDoc::parse(Path::new("s.json"), Some(src.as_bytes())).unwrap();
        f(&doc);
        String::from_utf8(doc.to_bytes()).unwrap()
    }

    #[test]
    fn comments_order_and_odd_indentation_survive() {
        let src = "{\n    // mine\n    \"zeta\": 1,\n    \"env\": {\n        \"A\": \"x\" /* keep */\n    },\n    \"alpha\": [1,2]\n}\n";
        let out = edit(src, |d| {
            let env = d.object(&d.root(), "env").unwrap();
            assert_eq!(d.set_str(&env, "A", "y"), Some("x".into()));
            d.set_str(&env, "B", "z\"q");
        });
        assert!(out.contains("// mine"), "{out}");
        assert!(out.contains("/* keep */"), "{out}");
        assert!(out.find("zeta").unwrap() < out.find("env").unwrap(), "order kept: {out}");
        assert!(out.contains("\"alpha\": [1,2]"), "{out}");
        assert!(out.contains("        \"B\": \"z\\\"q\""), "indent and escaping: {out}");
        let v: serde_json::Value = serde_json::from_str(&out.replace("// mine", "").replace("/* keep */", "")).unwrap();
        assert_eq!(v["env"]["A"], "y");
    }

    #[test]
    fn a_missing_file_becomes_an_object() {
        let doc = JsonDoc::parse(Path::new("s.json"), None).unwrap();
        assert!(doc.created());
        let env = doc.object(&doc.root(), "env").unwrap();
        doc.set_str(&env, "K", "v");
        let out = String::from_utf8(doc.to_bytes()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, serde_json::json!({"env": {"K": "v"}}));
        assert!(out.ends_with("}\n"), "{out:?}");
    }

    #[test]
    fn broken_and_odd_files_are_refused() {
        for bad in ["{\"a\": 1 \"b\": 2}", "{'a': 1}", "{\"a\": }", "{", "[1]"] {
            assert!(JsonDoc::parse(Path::new("s.json"), Some(bad.as_bytes())).is_err(), "{bad}");
        }
        let e = JsonDoc::parse(Path::new("s.json"), Some(b"{\n  \"a\": 1,\n  \"b\" 2\n}")).err().unwrap();
        assert!(e.to_string().contains("line 3"), "{e}");
        let doc = JsonDoc::parse(Path::new("s.json"), Some(b"{\"env\": \"x\"}")).unwrap();
        assert!(doc.object(&doc.root(), "env").is_err(), "a string env is not replaced");
    }
}
