//! Redis glob patterns (`*`, `?`, `[...]`, `\`), matched exactly as Redis's
//! `stringmatchlen` matches key patterns (case-sensitive), and whether every
//! key that starts with a literal prefix matches a pattern.

/// Longest key pattern a grant may hold: patterns come from the catalog, and
/// matching recurses once per `*`.
pub const MAX_PATTERN_LEN: usize = 1024;

/// One pattern element; each but `Star` consumes exactly one byte.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Byte(u8),
    Any,
    /// A `[...]` class: single bytes and inclusive ranges, maybe negated.
    Class {
        negated: bool,
        bytes: Vec<u8>,
        ranges: Vec<(u8, u8)>,
    },
    Star,
}

impl Token {
    fn matches(&self, c: u8) -> bool {
        match self {
            Token::Byte(b) => *b == c,
            Token::Any => true,
            Token::Class {
                negated,
                bytes,
                ranges,
            } => {
                let hit = bytes.contains(&c) || ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                hit != *negated
            }
            Token::Star => true,
        }
    }
}

/// A parsed key pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    tokens: Vec<Token>,
}

impl Glob {
    /// Parses `text` the way `stringmatchlen` reads it, quirks included: an
    /// unterminated `[` runs to the end, `\` escapes inside and outside
    /// classes, `a-z` is a range wherever two bytes follow a byte in a class.
    pub fn new(text: &str) -> Glob {
        let p = text.as_bytes();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < p.len() {
            match p[i] {
                b'*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                b'?' => tokens.push(Token::Any),
                b'[' => {
                    i += 1;
                    let negated = p.get(i) == Some(&b'^');
                    if negated {
                        i += 1;
                    }
                    let (mut bytes, mut ranges) = (Vec::new(), Vec::new());
                    loop {
                        let rest = p.len() - i;
                        if rest >= 2 && p[i] == b'\\' {
                            i += 1;
                            bytes.push(p[i]);
                        } else if rest == 0 {
                            break; // unterminated: the class ends with the pattern
                        } else if p[i] == b']' {
                            break;
                        } else if rest >= 3 && p[i + 1] == b'-' {
                            let (a, b) = (p[i], p[i + 2]);
                            ranges.push((a.min(b), a.max(b)));
                            i += 2;
                        } else {
                            bytes.push(p[i]);
                        }
                        i += 1;
                    }
                    tokens.push(Token::Class {
                        negated,
                        bytes,
                        ranges,
                    });
                }
                b'\\' if i + 1 < p.len() => {
                    i += 1;
                    tokens.push(Token::Byte(p[i]));
                }
                b => tokens.push(Token::Byte(b)),
            }
            i += 1;
        }
        Glob {
            text: text.to_owned(),
            tokens,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `key` matches, as `stringmatchlen(pattern, key, nocase=0)`.
    pub fn matches(&self, key: &[u8]) -> bool {
        let mut give_up = false;
        match_from(&self.tokens, key, &mut give_up)
    }

    /// Whether every key that starts with `prefix` matches. Sound, not
    /// complete: true for patterns of the form `<no star>*` (`app:*` admits
    /// `app:sess:`, `*` admits every prefix), false for anything whose
    /// answer would depend on what follows the prefix.
    pub fn admits_prefix(&self, prefix: &[u8]) -> bool {
        let mut rest = prefix;
        for (i, token) in self.tokens.iter().enumerate() {
            if *token == Token::Star {
                // Whatever follows the prefix matches only if this star ends
                // the pattern (stars are merged when parsed).
                return i + 1 == self.tokens.len();
            }
            match rest.split_first() {
                Some((&c, tail)) if token.matches(c) => rest = tail,
                _ => return false,
            }
        }
        false // no trailing star: only the prefix itself could match
    }
}

/// `stringmatchlen_impl`: `give_up` is its `skipLongerMatches`, which stops
/// an earlier `*` from retrying once a later one failed everywhere.
fn match_from(mut pattern: &[Token], mut key: &[u8], give_up: &mut bool) -> bool {
    while let (Some(token), Some(&c)) = (pattern.first(), key.first()) {
        if *token == Token::Star {
            if pattern.len() == 1 {
                return true;
            }
            while !key.is_empty() {
                if match_from(&pattern[1..], key, give_up) {
                    return true;
                }
                if *give_up {
                    return false;
                }
                key = &key[1..];
            }
            *give_up = true;
            return false;
        }
        if !token.matches(c) {
            return false;
        }
        pattern = &pattern[1..];
        key = &key[1..];
        if key.is_empty() {
            while pattern.first() == Some(&Token::Star) {
                pattern = &pattern[1..];
            }
            break;
        }
    }
    pattern.is_empty() && key.is_empty()
}

/// `key` written as a pattern that matches exactly it.
pub fn escape(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, key: &str) -> bool {
        Glob::new(pattern).matches(key.as_bytes())
    }

    #[test]
    fn matches_like_redis() {
        assert!(m("app:*", "app:1"));
        assert!(m("app:*", "app:"));
        assert!(!m("app:*", "ap"));
        assert!(!m("app:*", "other:app:1"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed ranges are swapped");
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("a[\\]]b", "a]b"));
        assert!(m("*:*:x", "a:b:c:x"));
        assert!(!m("*:*:x", "a:b:c:y"));
        assert!(m("a**b", "ab"));
        // stringmatchlen quirks: an empty key matches nothing, not even `*`;
        // an unterminated class runs to the end; a trailing `\` is literal.
        assert!(!m("*", ""));
        assert!(m("", ""));
        assert!(m("a[bc", "ab"));
        assert!(m("a\\", "a\\"));
        assert!(!m("[]", "x"));
        assert!(m("[a-]", "^"), "`[a-]` is the range ]..a");
        assert!(!m("[a-]", "b"));
    }

    #[test]
    fn many_stars_do_not_backtrack_exponentially() {
        let pattern = "*a".repeat(30) + "b";
        let key = "a".repeat(5000);
        assert!(!m(&pattern, &key));
    }

    #[test]
    fn prefixes_are_admitted_only_when_every_continuation_matches() {
        let g = Glob::new("app:*");
        assert!(g.admits_prefix(b"app:"));
        assert!(g.admits_prefix(b"app:sess:"));
        assert!(!g.admits_prefix(b"app"));
        assert!(!g.admits_prefix(b"ap"));
        assert!(!g.admits_prefix(b"other:"));
        assert!(Glob::new("*").admits_prefix(b"anything"));
        assert!(Glob::new("a?p:*").admits_prefix(b"axp:1"));
        assert!(Glob::new("[ab]:*").admits_prefix(b"b:"));
        // No trailing star, or a star followed by more: refused.
        assert!(!Glob::new("app:1").admits_prefix(b"app:1"));
        assert!(!Glob::new("app:*:x").admits_prefix(b"app:"));
        assert!(!Glob::new("app:*x").admits_prefix(b"app:"));
        assert!(Glob::new("app:**").admits_prefix(b"app:"));
    }

    #[test]
    fn escaped_keys_match_only_themselves() {
        for key in ["a*b", "x[1]?", "back\\slash", "plain"] {
            let g = Glob::new(&escape(key));
            assert!(g.matches(key.as_bytes()), "{key}");
            assert!(!g.matches(b"plain2"), "{key}");
        }
    }
}
