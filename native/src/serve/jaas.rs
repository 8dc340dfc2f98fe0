//! Kafka's JAAS config values (`sasl.jaas.config`):
//! `<LoginModule class> <flag> key=value ... ;`, read the way Kafka's
//! `JaasConfig` reads them (Java's `StreamTokenizer`: words, single- or
//! double-quoted values with backslash escapes, `//` and `/* */`
//! comments), one login module per value as a broker requires.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

/// PLAIN's login module, whose `user_<name>="<password>"` options are the
/// users a broker accepts.
pub(crate) const PLAIN_LOGIN_MODULE: &str =
    "org.apache.kafka.common.security.plain.PlainLoginModule";

/// One login module and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginModule {
    /// The class name.
    pub class: String,
    /// `required`, `requisite`, `sufficient` or `optional`, lower-cased.
    pub flag: String,
    /// The options, by key.
    pub options: BTreeMap<String, String>,
}

impl LoginModule {
    /// The `user_<name>` options as name → password.
    pub fn users(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("user_")?.to_string(), v.clone())))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Number,
    Char(char),
}

fn word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '-' | '_' | '$') || c as u32 >= 160
}

fn word_part(c: char) -> bool {
    word_start(c) || c.is_ascii_digit() || c == '.'
}

/// Java's `StreamTokenizer` with Kafka's settings, enough of it for JAAS.
fn tokens(s: &str) -> Result<Vec<Token>> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        if c <= ' ' {
            it.next();
        } else if c == '/' {
            it.next();
            match it.peek() {
                Some('/') => {
                    for c in it.by_ref() {
                        if c == '\n' || c == '\r' {
                            break;
                        }
                    }
                }
                Some('*') => {
                    it.next();
                    let mut prev = ' ';
                    let mut closed = false;
                    for c in it.by_ref() {
                        if prev == '*' && c == '/' {
                            closed = true;
                            break;
                        }
                        prev = c;
                    }
                    if !closed {
                        bail!("a /* comment is not closed");
                    }
                }
                // `/` is a comment character to StreamTokenizer: the rest
                // of the line is skipped.
                _ => {
                    for c in it.by_ref() {
                        if c == '\n' || c == '\r' {
                            break;
                        }
                    }
                }
            }
        } else if c == '"' || c == '\'' {
            it.next();
            out.push(Token::Quoted(quoted(&mut it, c)));
        } else if word_start(c) {
            let mut w = String::new();
            while let Some(&c) = it.peek().filter(|c| word_part(**c)) {
                w.push(c);
                it.next();
            }
            out.push(Token::Word(w));
        } else if c.is_ascii_digit() || c == '.' {
            while it.peek().is_some_and(|c| c.is_ascii_digit() || *c == '.') {
                it.next();
            }
            out.push(Token::Number);
        } else {
            it.next();
            out.push(Token::Char(c));
        }
    }
    Ok(out)
}

/// A quoted value up to its closing quote (or the end of the line), with
/// Java's escapes: `\n`, `\t`..., octal `\NNN`, and `\x` for any other x.
fn quoted(it: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> String {
    let mut v = String::new();
    while let Some(c) = it.next() {
        match c {
            c if c == quote || c == '\n' || c == '\r' => break,
            '\\' => match it.next() {
                Some('a') => v.push('\x07'),
                Some('b') => v.push('\x08'),
                Some('f') => v.push('\x0c'),
                Some('n') => v.push('\n'),
                Some('r') => v.push('\r'),
                Some('t') => v.push('\t'),
                Some('v') => v.push('\x0b'),
                Some(d @ '0'..='7') => {
                    let mut n = d.to_digit(8).unwrap_or(0);
                    // Up to three octal digits, the first at most 3.
                    let max = if d <= '3' { 2 } else { 1 };
                    for _ in 0..max {
                        match it.peek().and_then(|c| c.to_digit(8)) {
                            Some(x) => {
                                n = n * 8 + x;
                                it.next();
                            }
                            None => break,
                        }
                    }
                    v.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                }
                Some(other) => v.push(other),
                None => break,
            },
            c => v.push(c),
        }
    }
    v
}

/// Parses a `sasl.jaas.config` value holding exactly one login module.
pub(crate) fn parse(s: &str) -> Result<LoginModule> {
    let toks = tokens(s)?;
    let mut it = toks.into_iter();
    let mut modules = Vec::new();
    while let Some(t) = it.next() {
        let Token::Word(class) = t else {
            bail!("a JAAS config starts with the login module's class name");
        };
        let flag = match it.next() {
            Some(Token::Word(f)) => f.to_ascii_lowercase(),
            _ => bail!("no login module control flag after {class}"),
        };
        if !matches!(
            flag.as_str(),
            "required" | "requisite" | "sufficient" | "optional"
        ) {
            bail!("invalid login module control flag '{flag}'");
        }
        let mut options = BTreeMap::new();
        let mut terminated = false;
        while let Some(t) = it.next() {
            let key = match t {
                Token::Char(';') => {
                    terminated = true;
                    break;
                }
                Token::Word(k) | Token::Quoted(k) => k,
                _ => bail!("an option without a key in the JAAS config"),
            };
            if it.next() != Some(Token::Char('=')) {
                bail!("value not specified for key '{key}' in the JAAS config");
            }
            match it.next() {
                Some(Token::Word(v) | Token::Quoted(v)) => {
                    options.insert(key, v);
                }
                _ => bail!("value not specified for key '{key}' in the JAAS config"),
            }
        }
        if !terminated {
            bail!("the JAAS config entry is not terminated by a semicolon");
        }
        modules.push(LoginModule {
            class,
            flag,
            options,
        });
    }
    match modules.len() {
        1 => Ok(modules.remove(0)),
        0 => bail!("no login module in the JAAS config"),
        n => bail!("the JAAS config names {n} login modules; a broker's takes one"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kafkas_plain_example() {
        let m = parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#,
        )
        .unwrap();
        assert_eq!(m.class, PLAIN_LOGIN_MODULE);
        assert_eq!(m.flag, "required");
        assert_eq!(m.options["username"], "admin");
        let users = m.users();
        assert_eq!(users.len(), 2);
        assert_eq!(users["admin"], "admin-secret");
        assert_eq!(users["alice"], "alice-secret");
    }

    #[test]
    fn quotes_escapes_comments_and_words() {
        let m = parse(
            "org.Example Required /* a comment */ user_a=\"p\\\"q\\\\r;s\" // rest\n user_b='single' \
             user_c=plain-word_$ user_d=\"\\101\\t\";",
        )
        .unwrap();
        assert_eq!(m.flag, "required");
        let u = m.users();
        assert_eq!(u["a"], "p\"q\\r;s");
        // Two quoted tokens in a row are a value then a key without `=`.
        assert!(parse("A required k='a''b';").is_err());
        assert_eq!(u["b"], "single");
        assert_eq!(u["c"], "plain-word_$");
        assert_eq!(u["d"], "A\t");
    }

    #[test]
    fn refuses_what_kafka_refuses() {
        assert!(parse("").is_err());
        assert!(parse("A;").is_err());
        assert!(parse("A always;").is_err());
        assert!(parse("A required k=;").is_err());
        assert!(parse("A required k=1;").is_err());
        assert!(parse("A required k").is_err());
        assert!(parse("A required k=\"v\"").is_err());
        assert!(parse("A required; B required;").is_err());
        assert!(parse("A required /* open").is_err());
        let m = parse("A optional;").unwrap();
        assert!(m.options.is_empty());
    }
}
