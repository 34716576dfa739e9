//! Text details every file edit shares: a UTF-8 byte-order mark kept as it was, new lines
//! written in the file's own line ending.

use std::path::Path;

use super::ExportError;

const BOM: &str = "\u{feff}";

/// A text file's content without its BOM, and how to put it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The content (no BOM).
    pub body: String,
    /// Whether the file started with a UTF-8 BOM.
    pub bom: bool,
    /// Whether the file uses CRLF line endings.
    pub crlf: bool,
}

impl Text {
    /// Decodes `bytes` (None: the file is missing → empty, LF, no BOM). A file that is not
    /// UTF-8 is a parse error.
    pub fn decode(path: &Path, bytes: Option<&[u8]>) -> Result<Text, ExportError> {
        let Some(bytes) = bytes else {
            return Ok(Text { body: String::new(), bom: false, crlf: false });
        };
        let s = std::str::from_utf8(bytes).map_err(|e| ExportError::Parse {
            path: path.to_path_buf(),
            message: format!("not UTF-8 text (byte {})", e.valid_up_to()),
        })?;
        let (bom, body) = match s.strip_prefix(BOM) {
            Some(rest) => (true, rest.to_string()),
            None => (false, s.to_string()),
        };
        let crlf = body.contains("\r\n");
        Ok(Text { body, bom, crlf })
    }

    /// The bytes to write for `new_body`: the BOM restored, lone `\n` turned into `\r\n`
    /// in a CRLF file (lines an editor kept as CRLF stay CRLF).
    pub fn encode(&self, new_body: &str) -> Vec<u8> {
        let mut out = String::with_capacity(new_body.len() + 8);
        if self.bom {
            out.push_str(BOM);
        }
        if self.crlf {
            let mut prev = '\0';
            for c in new_body.chars() {
                if c == '\n' && prev != '\r' {
                    out.push('\r');
                }
                out.push(c);
                prev = c;
            }
        } else {
            out.push_str(new_body);
        }
        out.into_bytes()
    }
}

/// `s` with a final newline.
pub fn with_final_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_and_crlf_survive_a_round_trip() {
        let p = Path::new("x");
        let t = Text::decode(p, Some("\u{feff}a = 1\r\nb = 2\r\n".as_bytes())).unwrap();
        assert!(t.bom && t.crlf);
        assert_eq!(t.body, "a = 1\r\nb = 2\r\n");
        let out = t.encode("a = 1\r\nb = 2\r\nc = 3\n");
        assert_eq!(out, "\u{feff}a = 1\r\nb = 2\r\nc = 3\r\n".as_bytes());
    }

    #[test]
    fn non_utf8_is_a_parse_error() {
        let e = Text::decode(Path::new("f.json"), Some(&[0x7b, 0xff, 0x7d])).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }
}
