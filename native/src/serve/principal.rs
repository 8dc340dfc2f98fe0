//! The principal of a TLS client certificate: its subject as Java's
//! `X500Principal.getName()` writes it (RFC 2253: the last RDN first,
//! `CN=alice,OU=eng,O=Example`), mapped through
//! `ssl.principal.mapping.rules` as Kafka's `SslPrincipalMapper` maps it.
//!
//! The subject is read from the certificate's DER with a small reader of
//! just the fields in front of it (rustls hands over the certificate as
//! DER and has verified it already).

use anyhow::{bail, Context as _, Result};
use regex_lite::Regex;

/// One DER element: its tag and contents, and what follows it.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The subject of an X.509 certificate (DER) in RFC 2253 form; `None`
/// when the DER is not a certificate.
pub(crate) fn subject_dn(cert: &[u8]) -> Option<String> {
    let (0x30, cert, _) = tlv(cert)? else {
        return None;
    };
    let (0x30, mut tbs, _) = tlv(cert)? else {
        return None;
    };
    // [0] version (optional), serial, signature algorithm, issuer,
    // validity, then the subject.
    let (tag, _, rest) = tlv(tbs)?;
    if tag == 0xa0 {
        tbs = rest;
    }
    for _ in 0..4 {
        tbs = tlv(tbs)?.2;
    }
    let (0x30, name, _) = tlv(tbs)? else {
        return None;
    };
    name_rfc2253(name)
}

/// A Name's RDNs, last first, each `type=value` joined by `+`.
fn name_rfc2253(mut name: &[u8]) -> Option<String> {
    let mut rdns = Vec::new();
    while !name.is_empty() {
        let (0x31, mut set, rest) = tlv(name)? else {
            return None;
        };
        name = rest;
        let mut avas = Vec::new();
        while !set.is_empty() {
            let (0x30, ava, rest) = tlv(set)? else {
                return None;
            };
            set = rest;
            let (0x06, oid, value) = tlv(ava)? else {
                return None;
            };
            let oid = oid_string(oid)?;
            let keyword = keyword(&oid);
            let (vtag, vbytes, _) = tlv(value)?;
            let text = match (keyword, string_value(vtag, vbytes)) {
                (Some(k), Some(s)) => format!("{k}={}", escape(&s)),
                // Java writes the types it has no keyword for, and values
                // that are not strings, as the OID and `#` and the hex of
                // the value's DER.
                _ => {
                    let der_len = value.len() - tlv(value)?.2.len();
                    let hex: String = value[..der_len]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    format!("{}=#{hex}", keyword.unwrap_or(&oid))
                }
            };
            avas.push(text);
        }
        rdns.push(avas.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

fn oid_string(b: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    let mut n: u64 = 0;
    for (i, &byte) in b.iter().enumerate() {
        n = n.checked_mul(128)? | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if parts.is_empty() {
                let first = (n / 40).min(2);
                parts.push(first);
                parts.push(n - first * 40);
            } else {
                parts.push(n);
            }
            n = 0;
        } else if i == b.len() - 1 {
            return None;
        }
    }
    (!parts.is_empty()).then(|| {
        parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    })
}

/// Java's RFC 2253 keywords.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn string_value(tag: u8, b: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, VisibleString,
        // NumericString.
        0x0c | 0x13 | 0x16 | 0x1a | 0x12 => String::from_utf8(b.to_vec()).ok(),
        // TeletexString, read as Latin-1.
        0x14 => Some(b.iter().map(|&c| char::from(c)).collect()),
        // BMPString: UTF-16BE.
        0x1e => {
            let units: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString: UTF-32BE.
        0x1c => b
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

/// RFC 2253's escapes, as Java writes them.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One rule of `ssl.principal.mapping.rules`.
#[derive(Debug, Clone)]
enum Rule {
    /// `DEFAULT`: the whole subject.
    Default,
    /// `RULE:pattern/replacement/[LU]`.
    Rule {
        whole: Regex,
        pattern: Regex,
        replacement: String,
        case: Option<char>,
    },
}

/// Kafka's `SslPrincipalMapper`: the first rule whose pattern matches the
/// whole subject names the principal; no rule matching fails the
/// authentication.
#[derive(Debug, Clone)]
pub(crate) struct Mapper {
    rules: Vec<Rule>,
    text: String,
}

/// Reads up to an unescaped `/`, keeping escapes as written (the pattern
/// is a regular expression and the replacement a Java replacement).
fn until_slash(s: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '/' => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

impl Mapper {
    /// Parses the rules (Kafka's default is `DEFAULT`).
    pub fn parse(rules: &str) -> Result<Mapper> {
        let mut out = Vec::new();
        let mut rest = rules.trim();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("DEFAULT") {
                out.push(Rule::Default);
                rest = r;
            } else if let Some(r) = rest.strip_prefix("RULE:") {
                let (pattern, r) =
                    until_slash(r).with_context(|| format!("invalid rule: {rest}"))?;
                let (replacement, r) =
                    until_slash(r).with_context(|| format!("invalid rule: {rest}"))?;
                let (case, r) = match r.chars().next() {
                    Some(c @ ('L' | 'U')) => (Some(c), &r[1..]),
                    _ => (None, r),
                };
                // `\/` is a slash inside the pattern; the regex engine
                // takes it as one either way, but says so plainly here.
                let pattern = pattern.replace("\\/", "/");
                let compiled = Regex::new(&pattern)
                    .with_context(|| format!("rule pattern `{pattern}` is not a regex"))?;
                let whole = Regex::new(&format!("^(?:{pattern})$"))
                    .with_context(|| format!("rule pattern `{pattern}` is not a regex"))?;
                out.push(Rule::Rule {
                    whole,
                    pattern: compiled,
                    replacement: replacement.to_string(),
                    case,
                });
                rest = r;
            } else if rest.starts_with(',') {
                // An empty rule is skipped, as Kafka skips it.
            } else {
                bail!("invalid rule: `{rest}`");
            }
            rest = rest.trim_start();
            match rest.strip_prefix(',') {
                Some(r) => rest = r.trim_start(),
                None if rest.is_empty() => {}
                None => bail!("invalid rule: unmatched `{rest}`"),
            }
        }
        Ok(Mapper {
            rules: out,
            text: rules.trim().to_string(),
        })
    }

    /// The principal name of subject `dn`; an error when no rule applies.
    pub fn name(&self, dn: &str) -> Result<String> {
        for rule in &self.rules {
            match rule {
                Rule::Default => return Ok(dn.to_string()),
                Rule::Rule {
                    whole,
                    pattern,
                    replacement,
                    case,
                } => {
                    if !whole.is_match(dn) {
                        continue;
                    }
                    let groups = pattern.captures_len() - 1;
                    let name = pattern
                        .replace_all(dn, |caps: &regex_lite::Captures<'_>| {
                            java_replacement(replacement, caps, groups)
                        })
                        .into_owned();
                    return Ok(match case {
                        Some('L') => name.to_lowercase(),
                        Some('U') => name.to_uppercase(),
                        _ => name,
                    });
                }
            }
        }
        bail!("no rules apply to {dn}, rules {}", self.text)
    }
}

/// Java's `Matcher.appendReplacement`: `\x` is x, `$n` the group n (the
/// longest number not above the group count; a group beyond it is the
/// literal text, as Kafka escapes such references), `${name}` a named
/// group.
fn java_replacement(r: &str, caps: &regex_lite::Captures<'_>, groups: usize) -> String {
    let mut out = String::new();
    let b = r.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                let c = r[i + 1..].chars().next().unwrap_or('\\');
                out.push(c);
                i += 1 + c.len_utf8();
            }
            b'$' if i + 1 < b.len() && b[i + 1] == b'{' => {
                let end = r[i + 2..].find('}').map(|e| i + 2 + e);
                match end {
                    Some(end) => {
                        let name = &r[i + 2..end];
                        out.push_str(caps.name(name).map_or("", |m| m.as_str()));
                        i = end + 1;
                    }
                    None => {
                        out.push('$');
                        i += 1;
                    }
                }
            }
            b'$' if i + 1 < b.len() && b[i + 1].is_ascii_digit() && b[i + 1] != b'0' => {
                let mut n = usize::from(b[i + 1] - b'0');
                let mut j = i + 2;
                if n > groups {
                    out.push_str(&r[i..j]);
                    i = j;
                    continue;
                }
                while j < b.len() && b[j].is_ascii_digit() {
                    let next = n * 10 + usize::from(b[j] - b'0');
                    if next > groups {
                        break;
                    }
                    n = next;
                    j += 1;
                }
                out.push_str(caps.get(n).map_or("", |m| m.as_str()));
                i = j;
            }
            b'$' if i + 1 < b.len() && b[i + 1] == b'0' => {
                out.push_str(caps.get(0).map_or("", |m| m.as_str()));
                i += 2;
            }
            _ => {
                let c = r[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_documented_rules() {
        let m = Mapper::parse(
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT",
        )
        .unwrap();
        assert_eq!(
            m.name("CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown")
                .unwrap(),
            "serviceuser"
        );
        assert_eq!(
            m.name("CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown")
                .unwrap(),
            "adminuser@admin"
        );
        assert_eq!(m.name("OU=x,cn=Bob.Smith,O=y").unwrap(), "bob.smith");
        assert_eq!(m.name("O=nobody").unwrap(), "O=nobody");
    }

    #[test]
    fn default_is_the_whole_subject_and_no_match_fails() {
        let m = Mapper::parse("DEFAULT").unwrap();
        assert_eq!(
            m.name("CN=alice,OU=eng,O=Example").unwrap(),
            "CN=alice,OU=eng,O=Example"
        );
        let m = Mapper::parse("RULE:^CN=([^,]*),.*$/$1/U").unwrap();
        assert_eq!(m.name("CN=alice,O=Example").unwrap(), "ALICE");
        assert!(m.name("O=Example").is_err());
        // Escaped slashes, a group beyond the count kept literally, and
        // escapes in the replacement.
        let m = Mapper::parse(r"RULE:^CN=([^,]*)\/x$/u-$1-$2-\$/ , DEFAULT").unwrap();
        assert_eq!(m.name("CN=a/x").unwrap(), "u-a-$2-$");
        assert!(Mapper::parse("RULE:a/b").is_err());
        assert!(Mapper::parse("RULE:a/b/Lx").is_err());
        assert!(Mapper::parse("BOGUS").is_err());
        assert!(Mapper::parse("RULE:(/b/").is_err());
        assert!(Mapper::parse("").unwrap().name("CN=x").is_err());
    }

    /// A self-signed certificate made with `openssl req -x509 -subj
    /// "/C=US/O=Example, Inc./OU=eng/CN=alice"` (public; its key was
    /// thrown away), whose subject `openssl x509 -nameopt RFC2253` writes
    /// `CN=alice,OU=eng,O=Example\, Inc.,C=US`.
    const OPENSSL_CERT: &[&str] = &[
        "MIIB2jCCAYGgAwIBAgIUf72pemt/9Fvjt0xUbgTdprgxBQ8wCgYIKoZIzj0EAwIwQzELMAkGA1UE",
        "BhMCVVMxFjAUBgNVBAoMDUV4YW1wbGUsIEluYy4xDDAKBgNVBAsMA2VuZzEOMAwGA1UEAwwFYWxp",
        "Y2UwHhcNMjYxMjA2MjAxMTA5WhcNMzYxMjAzMjAxMTA5WjBDMQswCQYDVQQGEwJVUzEWMBQGA1UE",
        "CgwNRXhhbXBsZSwgSW5jLjEMMAoGA1UECwwDZW5nMQ4wDAYDVQQDDAVhbGljZTBZMBMGByqGSM49",
        "AgEGCCqGSM49AwEHA0IABMlnrFhFyz/8oM+13WTfECzn9RCRu9BPzXc+X8VnBPSvfUoL7FwpKx3T",
        "e7ija0xj3VPVnc8H87cV/DZsIpBY9kWjUzBRMB0GA1UdDgQWBBTZMbSR51J0+HOoJdl5AwqAjHxZ",
        "9DAfBgNVHSMEGDAWgBTZMbSR51J0+HOoJdl5AwqAjHxZ9DAPBgNVHRMBAf8EBTADAQH/MAoGCCqG",
        "SM49BAMCA0cAMEQCIHszh+POxc459g83iutOOWO9AxRcrTJzTn78LMy8Q6wWAiBo5waVNnVoQpgV",
        "ypwEPxDughdgpI86zsi5y+rV1Clchg==",
    ];

    #[test]
    fn the_subject_of_a_certificate_last_rdn_first() {
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(OPENSSL_CERT.concat())
            .unwrap();
        assert_eq!(
            subject_dn(&der).unwrap(),
            "CN=alice,OU=eng,O=Example\\, Inc.,C=US"
        );
        assert_eq!(subject_dn(&der[..40]), None);
        assert_eq!(subject_dn(b"not a certificate"), None);
    }

    #[test]
    fn rfc2253_escapes() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape("#x "), "\\#x\\ ");
        assert_eq!(escape("<\"\\;>"), "\\<\\\"\\\\\\;\\>");
    }

    #[test]
    fn oids() {
        assert_eq!(oid_string(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(
            oid_string(&[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19]).unwrap(),
            "0.9.2342.19200300.100.1.25"
        );
        assert!(oid_string(&[0x80]).is_none());
    }
}
