//! The request body: read just enough JSON to route it (`model`, `stream`), and swap the
//! model name for the upstream's without re-serialising the rest.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

/// What routing needs from a request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Peek {
    /// The `model` field, when present.
    pub model: Option<String>,
    /// `"stream": true`.
    pub stream: bool,
}

/// Why a body cannot be routed.
#[derive(Debug, Clone, PartialEq)]
pub enum PeekError {
    /// Not a JSON object.
    NotJson(String),
    /// `model` is present but not a string.
    ModelNotString,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    model: Option<serde_json::Value>,
    #[serde(default)]
    stream: Option<serde_json::Value>,
}

/// Reads `model` and `stream` from a JSON object body (other fields are skipped by serde's
/// ignored-field path, never built into values).
pub fn peek(body: &[u8]) -> Result<Peek, PeekError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(PeekError::NotJson("the body is not a JSON object".into()));
    }
    let raw: Raw =
        serde_json::from_slice(body).map_err(|e| PeekError::NotJson(format!("the body is not valid JSON: {e}")))?;
    let model = match raw.model {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => return Err(PeekError::ModelNotString),
    };
    Ok(Peek { model, stream: raw.stream == Some(serde_json::Value::Bool(true)) })
}

/// Skips whitespace from `i`.
fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End (exclusive) of the string starting at the quote `b[i]`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// End (exclusive) of the JSON value starting at `b[i]`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace() {
                j += 1;
            }
            Some(j)
        }
    }
}

/// The byte range of the top-level `"model"` value in a JSON object.
fn model_span(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = ws(b, i);
        match b.get(i)? {
            b'}' => return None,
            b'"' => {}
            _ => return None,
        }
        let key_end = string_end(b, i)?;
        let is_model = &b[i..key_end] == b"\"model\"";
        i = ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        let end = value_end(b, i)?;
        if is_model {
            return Some((i, end));
        }
        i = ws(b, end);
        match b.get(i)? {
            b',' => i += 1,
            _ => return None,
        }
    }
}

/// The body with its top-level `model` replaced by `model` (the rest byte for byte).
pub fn with_model(body: &Bytes, model: &str) -> Bytes {
    let quoted = serde_json::Value::String(model.to_string()).to_string();
    match model_span(body) {
        Some((s, e)) => {
            let mut out = BytesMut::with_capacity(body.len() - (e - s) + quoted.len());
            out.extend_from_slice(&body[..s]);
            out.extend_from_slice(quoted.as_bytes());
            out.extend_from_slice(&body[e..]);
            out.freeze()
        }
        // An escaped key spelling: rebuild the object (rare).
        None => match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body) {
            Ok(mut m) => {
                m.insert("model".into(), serde_json::Value::String(model.to_string()));
                Bytes::from(serde_json::Value::Object(m).to_string())
            }
            Err(_) => body.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeks_model_and_stream() {
        let p = peek(br#"{"messages":[{"role":"user","content":"{\"model\":\"x\"}"}],"model":"gpt-4o","stream":true}"#)
            .unwrap();
        assert_eq!(p, Peek { model: Some("gpt-4o".into()), stream: true });
        assert_eq!(peek(br#" {"model":"m"}"#).unwrap(), Peek { model: Some("m".into()), stream: false });
        assert_eq!(peek(br#"{"stream":"yes"}"#).unwrap(), Peek { model: None, stream: false });
        assert!(matches!(peek(b"<html>"), Err(PeekError::NotJson(_))));
        assert!(matches!(peek(br#"["model","x"]"#), Err(PeekError::NotJson(_))));
        assert!(matches!(peek(br#"{"model":"x""#), Err(PeekError::NotJson(_))));
        assert_eq!(peek(br#"{"model":5}"#), Err(PeekError::ModelNotString));
        assert!(peek(b"").is_err());
    }

    #[test]
    fn model_is_swapped_and_the_rest_kept_byte_for_byte() {
        let body = Bytes::from_static(
            br#"{ "messages" : [{"content":"say \"model\": {no}","x":[1,{"model":"inner"}]}], "model" : "alias", "n": 1 }"#,
        );
        let out = with_model(&body, "real-\"name\"");
        let s = std::str::from_utf8(&out).unwrap();
        assert_eq!(
            s,
            r#"{ "messages" : [{"content":"say \"model\": {no}","x":[1,{"model":"inner"}]}], "model" : "real-\"name\"", "n": 1 }"#
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["model"], "real-\"name\"");
        assert_eq!(v["messages"][0]["x"][1]["model"], "inner");
        // Numbers, literals and nesting before the key are skipped correctly.
        let out = with_model(&Bytes::from_static(br#"{"a":-1.5e3,"b":true,"c":null,"d":{},"model":"m"}"#), "z");
        assert_eq!(&out[..], br#"{"a":-1.5e3,"b":true,"c":null,"d":{},"model":"z"}"#);
        // An escaped key spelling still gets the new model.
        let out = with_model(&Bytes::from_static(br#"{"mod\u0065l":"m"}"#), "z");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&out).unwrap()["model"], "z");
    }
}
