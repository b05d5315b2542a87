//! PEM armour (RFC 7468) around the DER of a key, read and written here for both backends, so
//! that they accept the same text and write the same text.
//!
//! Reading is lenient where key files differ harmlessly (CRLF or LF, any line width, blank space
//! around the block) and strict where a difference could hide something: one block, its END label
//! the same as its BEGIN label, nothing after it, no RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`),
//! canonical padded base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

/// Width of a base64 line in what [`encode`] writes, as OpenSSL writes it (RFC 7468 §2).
const LINE_WIDTH: usize = 64;

/// The label of a PEM block (`RSA PUBLIC KEY` in `-----BEGIN RSA PUBLIC KEY-----`), if the text
/// starts with one made only of upper-case letters and spaces. The label is safe to name in an
/// error; nothing else of the input is.
pub(super) fn label(pem: &str) -> Option<&str> {
    let rest = pem.strip_prefix("-----BEGIN ")?;
    let label = &rest[..rest.find("-----")?];
    let plain = label.len() <= 40 && label.bytes().all(|b| b.is_ascii_uppercase() || b == b' ');
    plain.then_some(label)
}

/// The DER inside `pem`, a block labelled `label` with no blank space around it: `None` when the
/// armour or the base64 is broken. The bytes are wiped on drop: they may be a private key.
pub(super) fn decode(pem: &str, label: &str) -> Option<Zeroizing<Vec<u8>>> {
    let body = pem
        .strip_prefix("-----BEGIN ")?
        .strip_prefix(label)?
        .strip_prefix("-----")?
        .strip_suffix("-----")?
        .strip_suffix(label)?
        .strip_suffix("-----END ")?;
    let mut base64 = Zeroizing::new(String::with_capacity(body.len()));
    for c in body.chars() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {}
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' | '=' => base64.push(c),
            // A header line (`Proc-Type: …`), another block, or text that is not base64.
            _ => return None,
        }
    }
    STANDARD.decode(base64.as_bytes()).ok().map(Zeroizing::new)
}

/// `der` as a PEM block labelled `label`: base64 lines of 64 characters, LF line endings, a final
/// LF, as `openssl` writes keys.
pub(super) fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let base64 = Zeroizing::new(STANDARD.encode(der));
    let lines = base64.len().div_ceil(LINE_WIDTH);
    let mut out = Zeroizing::new(String::with_capacity(base64.len() + lines + 2 * (label.len() + 17)));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 is ASCII, so every 64-byte chunk is whole characters.
    for line in base64.as_bytes().chunks(LINE_WIDTH) {
        out.extend(line.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_gives_the_bytes_back_in_64_character_lines() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = encode("PUBLIC KEY", &der);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n") && pem.ends_with("\n-----END PUBLIC KEY-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
        assert_eq!(label(&pem), Some("PUBLIC KEY"));
        assert_eq!(decode(pem.trim(), "PUBLIC KEY").as_deref(), Some(&der));
        assert_eq!(decode(&pem.trim().replace('\n', "\r\n"), "PUBLIC KEY").as_deref(), Some(&der));
        assert_eq!(decode(&pem.trim().replace('\n', ""), "PUBLIC KEY").as_deref(), Some(&der), "one line");
    }

    #[test]
    fn decode_refuses_other_labels_headers_trailing_text_and_bad_base64() {
        let pem = encode("RSA PRIVATE KEY", b"key bytes!"); // 10 bytes: base64 ends in `==`
        let pem = pem.trim();
        assert!(decode(pem, "RSA PRIVATE KEY").is_some());
        assert!(decode(pem, "PRIVATE KEY").is_none());
        assert!(decode(&pem.replace("END RSA PRIVATE", "END PRIVATE"), "RSA PRIVATE KEY").is_none());
        let headers = pem.replacen("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1);
        assert!(decode(&headers, "RSA PRIVATE KEY").is_none());
        assert!(decode(&format!("{pem}\ntrailing"), "RSA PRIVATE KEY").is_none());
        assert!(decode(&pem.replace("=", ""), "RSA PRIVATE KEY").is_none(), "unpadded");
        assert!(decode(&pem.replace('\n', "\\n"), "RSA PRIVATE KEY").is_none(), "escaped line breaks");
    }
}
