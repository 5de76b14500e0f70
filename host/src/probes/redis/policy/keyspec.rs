//! Which arguments of a call are keys, read from the command's key
//! specifications (redis.io, "Command key specifications") the way Redis's
//! `getKeysUsingKeySpecs` reads them, and stricter wherever Redis would hand
//! the question to the command's own code: such calls are "unlocatable".

use std::borrow::Cow;
use std::fmt;

use super::commands::{BeginSearch, Command, FindKeys, ks};

/// Most occurrences of a begin-search keyword followed in one call. Each
/// occurrence may name every later argument as a key, so the bound keeps a
/// call of many repeated keywords (`XREAD STREAMS STREAMS ...`) from costing
/// the square of its length; real calls have one.
pub const MAX_KEYWORD_OCCURRENCES: usize = 8;

/// The arguments of a call (the command name is argument 0).
pub trait CallArgs {
    fn count(&self) -> usize;
    /// The bytes of argument `i`, or `None` when they are only known when
    /// the call is made (a `{key}` template of a load).
    fn known(&self, i: usize) -> Option<Cow<'_, [u8]>>;
}

impl<T: AsRef<[u8]>> CallArgs for [T] {
    fn count(&self) -> usize {
        self.len()
    }

    fn known(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        self.get(i).map(|a| Cow::Borrowed(a.as_ref()))
    }
}

/// Why the keys of a call cannot be told from its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlocatable {
    /// A spec is marked incomplete (MIGRATE's `KEYS`).
    Incomplete,
    /// A spec's positions depend on data, not arguments (SORT's `BY`/`GET`).
    Undescribed,
    /// Movable keys and no specs to find them.
    NoSpecs,
    /// Argument `index` decides where the keys are, but is a `{key}` template.
    Templated { index: usize },
    /// Argument `index` should hold a number of keys and does not.
    BadKeyCount { index: usize },
    /// The specs point past the arguments (too few for the command).
    OutOfRange,
    /// A begin-search keyword occurs more than [`MAX_KEYWORD_OCCURRENCES`] times.
    TooManyKeywords { keyword: &'static str },
}

impl fmt::Display for Unlocatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unlocatable::Incomplete => write!(f, "its key specification is incomplete"),
            Unlocatable::Undescribed => {
                write!(
                    f,
                    "where its keys are depends on data, not on its arguments"
                )
            }
            Unlocatable::NoSpecs => write!(f, "it has movable keys and no key specification"),
            Unlocatable::Templated { index } => write!(
                f,
                "argument {index} decides where the keys are but is a `{{key}}` template"
            ),
            Unlocatable::BadKeyCount { index } => {
                write!(f, "argument {index} is not a number of keys")
            }
            Unlocatable::OutOfRange => write!(f, "it has too few arguments for its keys"),
            Unlocatable::TooManyKeywords { keyword } => write!(
                f,
                "`{keyword}` occurs more than {MAX_KEYWORD_OCCURRENCES} times"
            ),
        }
    }
}

/// A refusal while visiting keys: the keys cannot be located, or the
/// visitor refused one.
#[derive(Debug)]
pub enum KeyError<E> {
    Unlocatable(Unlocatable),
    Refused(E),
}

/// Calls `visit` with the index of every key argument of a call to `cmd`.
///
/// Follows `getKeysUsingKeySpecs` with three differences, each toward
/// checking more: every occurrence of a begin-search keyword counts (Redis
/// takes the first; GEORADIUS's own parser takes the last `STORE`); an
/// incomplete or undescribed spec is refused rather than handed to the
/// command's code; a spec that points past the arguments is refused rather
/// than skipped.
pub fn for_each_key<A: CallArgs + ?Sized, E>(
    cmd: &Command,
    args: &A,
    mut visit: impl FnMut(usize) -> Result<(), E>,
) -> Result<(), KeyError<E>> {
    if cmd.key_specs.is_empty() && cmd.has_flag("movablekeys") {
        return Err(KeyError::Unlocatable(Unlocatable::NoSpecs));
    }
    let argc = args.count() as i64;
    for spec in cmd.key_specs {
        if spec.flags & ks::NOT_KEY != 0 {
            continue;
        }
        if spec.flags & ks::INCOMPLETE != 0 {
            return Err(KeyError::Unlocatable(Unlocatable::Incomplete));
        }
        match spec.begin {
            BeginSearch::Index(pos) => keys_from(spec.find, i64::from(pos), args, &mut visit)?,
            BeginSearch::Keyword { keyword, startfrom } => {
                let startfrom = i64::from(startfrom);
                let (mut i, step) = if startfrom > 0 {
                    (startfrom, 1)
                } else {
                    (argc + startfrom, -1)
                };
                let mut occurrences = 0;
                while (1..argc).contains(&i) {
                    let index = i as usize;
                    let arg = args
                        .known(index)
                        .ok_or(KeyError::Unlocatable(Unlocatable::Templated { index }))?;
                    if arg.eq_ignore_ascii_case(keyword.as_bytes()) {
                        occurrences += 1;
                        if occurrences > MAX_KEYWORD_OCCURRENCES {
                            return Err(KeyError::Unlocatable(Unlocatable::TooManyKeywords {
                                keyword,
                            }));
                        }
                        keys_from(spec.find, i + 1, args, &mut visit)?;
                    }
                    i += step;
                }
            }
            BeginSearch::Unknown => return Err(KeyError::Unlocatable(Unlocatable::Undescribed)),
        }
    }
    Ok(())
}

/// The keys of one spec whose first key is at `first`.
fn keys_from<A: CallArgs + ?Sized, E>(
    find: FindKeys,
    first: i64,
    args: &A,
    visit: &mut impl FnMut(usize) -> Result<(), E>,
) -> Result<(), KeyError<E>> {
    let out_of_range = KeyError::Unlocatable(Unlocatable::OutOfRange);
    let argc = args.count() as i64;
    let (first, last, step) = match find {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => {
            let (lastkey, limit) = (i64::from(lastkey), i64::from(limit));
            let last = if lastkey >= 0 {
                first + lastkey
            } else if limit == 0 {
                argc + lastkey
            } else {
                first + ((argc - first) / limit + lastkey)
            };
            (first, last, i64::from(keystep))
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            let at = first + i64::from(keynumidx);
            if !(0..argc).contains(&at) {
                return Err(out_of_range);
            }
            let index = at as usize;
            let text = args
                .known(index)
                .ok_or(KeyError::Unlocatable(Unlocatable::Templated { index }))?;
            let numkeys = std::str::from_utf8(&text)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or(KeyError::Unlocatable(Unlocatable::BadKeyCount { index }))?;
            if numkeys == 0 {
                // Redis's spec walk calls this invalid and the command's code
                // finds no keys: EVAL "..." 0.
                return Ok(());
            }
            let first = first + i64::from(firstkey);
            let last = first.checked_add(numkeys - 1).ok_or(out_of_range)?;
            (first, last, i64::from(keystep))
        }
        FindKeys::Unknown => return Err(KeyError::Unlocatable(Unlocatable::Undescribed)),
    };
    if last >= argc || last < first || first >= argc || first < 1 || step < 1 {
        return Err(KeyError::Unlocatable(Unlocatable::OutOfRange));
    }
    let mut i = first;
    while i <= last {
        visit(i as usize).map_err(KeyError::Refused)?;
        i += step;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::redis::policy::commands::lookup;
    use crate::probes::redis::policy::table::COMMANDS;

    /// The key arguments of a call, or why they cannot be located.
    fn keys(call: &[&str]) -> Result<Vec<String>, Unlocatable> {
        let cmd = &COMMANDS[usize::from(lookup(call).expect("known command"))];
        let mut found = Vec::new();
        match for_each_key::<_, ()>(cmd, call, |i| {
            found.push(call[i].to_owned());
            Ok(())
        }) {
            Ok(()) => Ok(found),
            Err(KeyError::Unlocatable(u)) => Err(u),
            Err(KeyError::Refused(())) => unreachable!(),
        }
    }

    fn ok(call: &[&str]) -> Vec<String> {
        keys(call).unwrap_or_else(|e| panic!("{call:?}: {e}"))
    }

    #[test]
    fn index_and_range_specs() {
        assert_eq!(ok(&["GET", "a"]), ["a"]);
        assert_eq!(ok(&["SET", "a", "v", "EX", "10"]), ["a"]);
        assert_eq!(ok(&["DEL", "a", "b", "c"]), ["a", "b", "c"]);
        assert_eq!(ok(&["MSET", "a", "1", "b", "2"]), ["a", "b"]);
        assert_eq!(ok(&["RENAME", "a", "b"]), ["a", "b"]);
        assert_eq!(ok(&["OBJECT", "ENCODING", "a"]), ["a"]);
        assert_eq!(ok(&["PING"]), Vec::<String>::new());
        assert_eq!(keys(&["GET"]), Err(Unlocatable::OutOfRange));
    }

    #[test]
    fn keynum_specs() {
        assert_eq!(ok(&["EVAL", "return 1", "2", "a", "b", "x"]), ["a", "b"]);
        assert_eq!(ok(&["EVAL", "return 1", "0"]), Vec::<String>::new());
        assert_eq!(
            ok(&["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]),
            ["d", "a", "b"]
        );
        assert_eq!(ok(&["LMPOP", "2", "a", "b", "LEFT"]), ["a", "b"]);
        assert_eq!(
            keys(&["EVAL", "return 1", "x", "a"]),
            Err(Unlocatable::BadKeyCount { index: 2 })
        );
        assert_eq!(
            keys(&["EVAL", "return 1", "-1", "a"]),
            Err(Unlocatable::BadKeyCount { index: 2 })
        );
        assert_eq!(
            keys(&["EVAL", "return 1", "5", "a"]),
            Err(Unlocatable::OutOfRange)
        );
        assert_eq!(
            keys(&["EVAL", "return 1", "99999999999999999", "a"]),
            Err(Unlocatable::OutOfRange)
        );
    }

    #[test]
    fn keyword_specs_count_every_occurrence() {
        assert_eq!(
            ok(&["XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"]),
            ["a", "b"]
        );
        assert_eq!(
            ok(&["GEORADIUS", "src", "0", "0", "1", "km", "STORE", "d"]),
            ["src", "d"]
        );
        // GEORADIUS's parser stores into the last STORE: both are keys here.
        assert_eq!(
            ok(&[
                "GEORADIUS",
                "src",
                "0",
                "0",
                "1",
                "km",
                "STORE",
                "a",
                "STORE",
                "b"
            ]),
            ["src", "a", "b"]
        );
        assert_eq!(ok(&["GEORADIUS", "src", "0", "0", "1", "km"]), ["src"]);
        assert_eq!(keys(&["XREAD", "STREAMS"]), Err(Unlocatable::OutOfRange));
        let mut many = vec!["XREAD"];
        many.extend(["STREAMS"; 20_000]);
        assert_eq!(
            keys(&many),
            Err(Unlocatable::TooManyKeywords { keyword: "STREAMS" })
        );
    }

    #[test]
    fn incomplete_undescribed_and_not_key_specs() {
        assert_eq!(
            keys(&["MIGRATE", "h", "1", "", "0", "5", "KEYS", "a"]),
            Err(Unlocatable::Incomplete)
        );
        assert_eq!(
            keys(&["SORT", "a", "BY", "w_*"]),
            Err(Unlocatable::Undescribed)
        );
        // A shard channel is not a key.
        assert_eq!(ok(&["SPUBLISH", "chan", "msg"]), Vec::<String>::new());
        // Every spec in the table is one this module can read.
        for c in &COMMANDS {
            for s in c.key_specs {
                let readable = !matches!(s.begin, BeginSearch::Unknown)
                    && !matches!(s.find, FindKeys::Unknown);
                assert!(
                    readable || matches!(c.name, "sort" | "sort_ro"),
                    "{}: {s:?}",
                    c.name
                );
            }
        }
    }
}
