//! Java properties files (`--command-config`, as Kafka's tools read them)
//! and JAAS configuration strings (`sasl.jaas.config`).

use anyhow::{anyhow, bail};

/// The `key=value` pairs of a Java properties file, in file order.
///
/// Follows `java.util.Properties.load`: lines starting with `#` or `!`
/// are comments; a key ends at the first unescaped `=`, `:` or
/// whitespace; a line ending in an odd number of backslashes continues on
/// the next (whose leading whitespace is dropped); `\t`, `\n`, `\r`,
/// `\f`, `\uXXXX` are escapes and any other escaped character stands for
/// itself.
pub(crate) fn parse_properties(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(first) = lines.next() {
        let mut logical = first.trim_start().to_string();
        if logical.is_empty() || logical.starts_with('#') || logical.starts_with('!') {
            continue;
        }
        while ends_in_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some(next) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        out.push(split_entry(&logical)?);
    }
    Ok(out)
}

/// Whether a line ends in an odd number of backslashes.
fn ends_in_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Splits one logical line into its unescaped key and value.
fn split_entry(line: &str) -> anyhow::Result<(String, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut key_end = chars.len();
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '=' | ':' => {
                key_end = i;
                break;
            }
            c if c.is_whitespace() => {
                key_end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let key = unescape(&chars[..key_end.min(chars.len())])?;
    // The separator: whitespace, then at most one `=` or `:`, then
    // whitespace.
    let mut j = key_end;
    while j < chars.len() && chars[j].is_whitespace() {
        j += 1;
    }
    if j < chars.len() && (chars[j] == '=' || chars[j] == ':') {
        j += 1;
    }
    while j < chars.len() && chars[j].is_whitespace() {
        j += 1;
    }
    let value = unescape(&chars[j.min(chars.len())..])?;
    Ok((key, value))
}

/// Resolves backslash escapes.
fn unescape(chars: &[char]) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut it = chars.iter().copied();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = it.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .and_then(char::from_u32)
                    .ok_or_else(|| anyhow!("malformed \\uXXXX escape `\\u{hex}`"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// One login module entry of a JAAS configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JaasEntry {
    /// The login module's class name
    /// (`org.apache.kafka.common.security.scram.ScramLoginModule`).
    pub(crate) module: String,
    /// Its options, in order (`username`, `password`, ...).
    pub(crate) options: Vec<(String, String)>,
}

impl JaasEntry {
    /// The value of option `name`.
    pub(crate) fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `sasl.jaas.config`: exactly one entry, `Module flag key=value
/// ... ;`, the flag one of `required`, `requisite`, `sufficient`,
/// `optional`, values bare or in double quotes (with `\"` and `\\`
/// escapes), as Kafka's `JaasConfig` reads it.
pub(crate) fn parse_jaas(text: &str) -> anyhow::Result<JaasEntry> {
    let mut tokens = jaas_tokens(text)?.into_iter().peekable();
    let module = match tokens.next() {
        Some(Token::Word(w)) => w,
        _ => bail!("sasl.jaas.config: expected a login module class name"),
    };
    match tokens.next() {
        Some(Token::Word(f))
            if ["required", "requisite", "sufficient", "optional"]
                .contains(&f.to_ascii_lowercase().as_str()) => {}
        _ => bail!(
            "sasl.jaas.config: expected a control flag (required, requisite, sufficient, \
             optional) after `{module}`"
        ),
    }
    let mut options = Vec::new();
    loop {
        match tokens.next() {
            Some(Token::Semicolon) => break,
            Some(Token::Word(key)) => {
                if tokens.next() != Some(Token::Equals) {
                    bail!("sasl.jaas.config: expected `=` after option `{key}`");
                }
                let value = match tokens.next() {
                    Some(Token::Word(v) | Token::Quoted(v)) => v,
                    _ => bail!("sasl.jaas.config: expected a value for option `{key}`"),
                };
                options.push((key, value));
            }
            _ => bail!("sasl.jaas.config: expected `key=value` options ended by `;`"),
        }
    }
    if tokens.peek().is_some() {
        bail!("sasl.jaas.config: must contain exactly one login module entry");
    }
    Ok(JaasEntry { module, options })
}

/// A lexical token of a JAAS string.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// A bare word (a class name, a flag, a key, an unquoted value).
    Word(String),
    /// A double-quoted string, unescaped.
    Quoted(String),
    /// `=`.
    Equals,
    /// `;`.
    Semicolon,
}

/// Splits a JAAS string into tokens.
fn jaas_tokens(text: &str) -> anyhow::Result<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '=' {
            chars.next();
            out.push(Token::Equals);
        } else if c == ';' {
            chars.next();
            out.push(Token::Semicolon);
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(e) => s.push(e),
                        None => bail!("sasl.jaas.config: unterminated quoted value"),
                    },
                    Some(other) => s.push(other),
                    None => bail!("sasl.jaas.config: unterminated quoted value"),
                }
            }
            out.push(Token::Quoted(s));
        } else {
            let mut s = String::new();
            while let Some(&w) = chars.peek() {
                if w.is_whitespace() || w == '=' || w == ';' || w == '"' {
                    break;
                }
                s.push(w);
                chars.next();
            }
            out.push(Token::Word(s));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn properties_separators_comments_and_escapes() {
        let text = "# a comment\n\
                    ! another\n\
                    \n\
                    security.protocol=SASL_SSL\n\
                    sasl.mechanism : SCRAM-SHA-256\n\
                    ssl.ca.location /etc/ca.pem\n\
                    \x20\x20indented=yes\n\
                    empty=\n\
                    key\\=with\\:seps=v\\tx\\u0041\n";
        assert_eq!(
            parse_properties(text).unwrap(),
            pairs(&[
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "SCRAM-SHA-256"),
                ("ssl.ca.location", "/etc/ca.pem"),
                ("indented", "yes"),
                ("empty", ""),
                ("key=with:seps", "v\txA"),
            ])
        );
    }

    #[test]
    fn properties_continuation_lines() {
        let text = "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \\\n\
                    \x20   required username=\"alice\" \\\n\
                    \x20   password=\"a-secret\";\n\
                    two\\\\\n\
                    next=1\n";
        assert_eq!(
            parse_properties(text).unwrap(),
            pairs(&[
                (
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required \
                     username=\"alice\" password=\"a-secret\";"
                ),
                ("two\\", ""),
                ("next", "1"),
            ])
        );
    }

    #[test]
    fn properties_bad_unicode_escape() {
        assert!(parse_properties("k=\\u12").is_err());
    }

    #[test]
    fn jaas_scram_entry() {
        let e = parse_jaas(
            "org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"alice\" password=\"alice-secret\";",
        )
        .unwrap();
        assert_eq!(
            e.module,
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        );
        assert_eq!(e.option("username"), Some("alice"));
        assert_eq!(e.option("password"), Some("alice-secret"));
        assert_eq!(e.option("other"), None);
    }

    #[test]
    fn jaas_quotes_escapes_and_bare_values() {
        let e = parse_jaas(
            "x.PlainLoginModule  REQUIRED\n username=bob password=\"p \\\"q\\\" ;=\" ;  ",
        )
        .unwrap();
        assert_eq!(e.option("username"), Some("bob"));
        assert_eq!(e.option("password"), Some("p \"q\" ;="));
    }

    #[test]
    fn jaas_errors() {
        for bad in [
            "",
            "Module",
            "Module sometimes username=\"a\";",
            "Module required username=\"a\"",
            "Module required username \"a\";",
            "Module required username=;",
            "Module required password=\"open",
            "A required; B required;",
        ] {
            assert!(parse_jaas(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
