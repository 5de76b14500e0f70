//! The shape of the generated command table (`table.rs`) and how a call's
//! arguments find their entry, the way Redis's own command lookup does.

use super::table::{self, COMMANDS};

/// Key-specification flags (Redis's `CMD_KEY_*`), as bits.
pub mod ks {
    pub const RO: u16 = 1 << 0;
    pub const RW: u16 = 1 << 1;
    pub const OW: u16 = 1 << 2;
    pub const RM: u16 = 1 << 3;
    pub const ACCESS: u16 = 1 << 4;
    pub const UPDATE: u16 = 1 << 5;
    pub const INSERT: u16 = 1 << 6;
    pub const DELETE: u16 = 1 << 7;
    /// The "key" is not a key (a shard channel): never checked against keys.
    pub const NOT_KEY: u16 = 1 << 8;
    /// The spec may miss keys; Redis then asks the command's own code.
    pub const INCOMPLETE: u16 = 1 << 9;
    /// The access flags depend on the arguments; the positions do not.
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    /// Names as `COMMAND` spells them, for comparing with a live server.
    pub const NAMES: [(u16, &str); 11] = [
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Where the search for a spec's first key starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginSearch {
    /// At this argument index.
    Index(i32),
    /// After `keyword`, searched from `startfrom` (negative: from the end,
    /// backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    /// Not describable: the command's own code finds the keys.
    Unknown,
}

/// Which arguments after the first one are keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindKeys {
    /// Keys up to `lastkey` (relative to the first; negative: from the end),
    /// every `keystep`; with `limit` > 0 only `1/limit` of the rest.
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` (relative to the first) holds the number
    /// of keys, which start at `firstkey` (relative), every `keystep`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    /// Not describable.
    Unknown,
}

/// One key specification (redis.io, "Command key specifications").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// [`ks`] bits.
    pub flags: u16,
    pub begin: BeginSearch,
    pub find: FindKeys,
}

/// One command or subcommand of the table.
#[derive(Debug)]
pub struct Command {
    /// Lowercase; a subcommand is `container|sub` (`config|get`).
    pub name: &'static str,
    /// Redis's arity: exact argument count (name included), or at least
    /// `-arity` when negative.
    pub arity: i32,
    pub flags: &'static [&'static str],
    /// ACL categories with their `@`.
    pub categories: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
    /// The container of a subcommand (index into `COMMANDS`).
    pub parent: Option<u16>,
    /// How many subcommands follow this entry in `COMMANDS`.
    pub subcommands: u16,
}

impl Command {
    pub fn in_category(&self, category: &str) -> bool {
        self.categories
            .iter()
            .any(|c| c.strip_prefix('@') == Some(category))
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// `CONFIG SET`, as a person writes it.
    pub fn display(&self) -> String {
        self.name.replace('|', " ").to_ascii_uppercase()
    }
}

/// Longest name the lookup considers: longer than every name in the table
/// (`cluster|count-failure-reports` is 29 bytes), so a longer one is unknown
/// without copying it.
pub const MAX_NAME_LEN: usize = 64;

/// The table entry a call runs, found as Redis finds it: the name
/// case-insensitively, and for a container called with an argument, the
/// subcommand named by that argument. `None`: the server does not know it
/// (or rigor's table does not).
pub fn lookup(args: &[impl AsRef<[u8]>]) -> Option<u16> {
    let name = args.first()?.as_ref();
    let mut buf = [0u8; MAX_NAME_LEN];
    let len = lower_into(&mut buf, 0, name)?;
    let index = table::lookup(&buf[..len])?;
    if COMMANDS[usize::from(index)].subcommands == 0 || args.len() < 2 {
        return Some(index);
    }
    buf[len] = b'|';
    let full = lower_into(&mut buf, len + 1, args[1].as_ref())?;
    table::lookup(&buf[..full])
}

/// Writes `bytes` lowercased into `buf` at `at`; the end, or `None` when it
/// does not fit.
fn lower_into(buf: &mut [u8; MAX_NAME_LEN], at: usize, bytes: &[u8]) -> Option<usize> {
    let end = at.checked_add(bytes.len()).filter(|&e| e <= MAX_NAME_LEN)?;
    for (slot, b) in buf[at..end].iter_mut().zip(bytes) {
        *slot = b.to_ascii_lowercase();
    }
    Some(end)
}

/// The table entry named `name` (`get`, `config|get`), any case.
pub fn by_name(name: &str) -> Option<u16> {
    let lower = name.to_ascii_lowercase();
    table::lookup(lower.as_bytes())
}

/// The subcommands of container `index`.
pub fn subcommands(index: u16) -> std::ops::Range<usize> {
    let start = usize::from(index) + 1;
    start..start + usize::from(COMMANDS[usize::from(index)].subcommands)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::redis::resp::Reply;
    use crate::probes::redis::{Client, RedisUrl};
    use crate::services::redis_server::ManagedRedis;

    fn name(index: Option<u16>) -> Option<&'static str> {
        index.map(|i| COMMANDS[usize::from(i)].name)
    }

    #[test]
    fn lookup_is_case_insensitive_and_resolves_subcommands() {
        assert_eq!(name(lookup(&["GeT", "k"])), Some("get"));
        assert_eq!(
            name(lookup(&["config", "SET", "x", "y"])),
            Some("config|set")
        );
        assert_eq!(
            name(lookup(&["CLIENT", "kill", "id", "1"])),
            Some("client|kill")
        );
        // A container alone is the container (Redis answers with an arity error).
        assert_eq!(name(lookup(&["config"])), Some("config"));
        // Unknown subcommands, commands, and names too long to be commands.
        assert_eq!(lookup(&["config", "frobnicate"]), None);
        assert_eq!(lookup(&["json.set", "k", "$", "1"]), None);
        assert_eq!(lookup(&["x".repeat(100)]), None);
        assert_eq!(lookup(&["config", "x".repeat(100).as_str()]), None);
        // Non-ASCII bytes never match (Redis folds ASCII only).
        assert_eq!(lookup(&["G\u{c9}T"]), None);
        assert_eq!(lookup(&[] as &[&str]), None);
    }

    #[test]
    fn containers_are_followed_by_their_subcommands() {
        for (i, c) in COMMANDS.iter().enumerate() {
            for s in subcommands(i as u16) {
                assert_eq!(COMMANDS[s].parent, Some(i as u16), "{}", COMMANDS[s].name);
                assert!(COMMANDS[s].name.starts_with(&format!("{}|", c.name)));
            }
            assert!(c.name.len() < MAX_NAME_LEN);
            assert_eq!(table::lookup(c.name.as_bytes()), Some(i as u16));
        }
    }

    /// The text of a bulk or status reply.
    fn text(r: &Reply) -> String {
        match r {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Reply::Status(s) => s.clone(),
            other => panic!("expected a string, got {other:?}"),
        }
    }

    fn int(r: &Reply) -> i64 {
        match r {
            Reply::Integer(i) => *i,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    fn items(r: &Reply) -> &[Reply] {
        match r {
            Reply::Array(items) => items,
            other => panic!("expected an array, got {other:?}"),
        }
    }

    /// A RESP2 flattened map as (key, value) pairs.
    fn pairs(r: &Reply) -> Vec<(String, &Reply)> {
        items(r)
            .chunks(2)
            .map(|kv| (text(&kv[0]), &kv[1]))
            .collect()
    }

    fn field<'a>(r: &'a Reply, key: &str) -> &'a Reply {
        pairs(r)
            .into_iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("no `{key}` in {r:?}"))
            .1
    }

    fn live_spec(r: &Reply) -> KeySpec {
        let mut flags = 0;
        for f in items(field(r, "flags")) {
            let f = text(f);
            flags |= ks::NAMES
                .iter()
                .find(|(_, n)| *n == f)
                .unwrap_or_else(|| panic!("unknown key-spec flag {f}"))
                .0;
        }
        let bs = field(r, "begin_search");
        let bs_spec = field(bs, "spec");
        let begin = match text(field(bs, "type")).as_str() {
            "index" => BeginSearch::Index(int(field(bs_spec, "index")) as i32),
            "keyword" => {
                let kw = text(field(bs_spec, "keyword"));
                let keyword: &'static str = Box::leak(kw.into_boxed_str());
                BeginSearch::Keyword {
                    keyword,
                    startfrom: int(field(bs_spec, "startfrom")) as i32,
                }
            }
            _ => BeginSearch::Unknown,
        };
        let fk = field(r, "find_keys");
        let fk_spec = field(fk, "spec");
        let find = match text(field(fk, "type")).as_str() {
            "range" => FindKeys::Range {
                lastkey: int(field(fk_spec, "lastkey")) as i32,
                keystep: int(field(fk_spec, "keystep")) as i32,
                limit: int(field(fk_spec, "limit")) as i32,
            },
            "keynum" => FindKeys::Keynum {
                keynumidx: int(field(fk_spec, "keynumidx")) as i32,
                firstkey: int(field(fk_spec, "firstkey")) as i32,
                keystep: int(field(fk_spec, "keystep")) as i32,
            },
            _ => FindKeys::Unknown,
        };
        KeySpec { flags, begin, find }
    }

    /// Compares one `COMMAND INFO` entry with the table, subcommands too.
    fn compare(live: &Reply) {
        let fields = items(live);
        let name = text(&fields[0]);
        let index = table::lookup(name.as_bytes())
            .unwrap_or_else(|| panic!("the live server knows `{name}`, the table does not"));
        let ours = &COMMANDS[usize::from(index)];
        let what = format!(
            "`{name}` differs from the live server: regenerate the table with `python3 scripts/gen-redis-commands.py`"
        );
        assert_eq!(int(&fields[1]), i64::from(ours.arity), "arity of {what}");
        let flags: Vec<String> = items(&fields[2]).iter().map(text).collect();
        assert_eq!(flags, ours.flags, "flags of {what}");
        let categories: Vec<String> = items(&fields[6]).iter().map(text).collect();
        assert_eq!(categories, ours.categories, "categories of {what}");
        let specs: Vec<KeySpec> = items(&fields[8]).iter().map(live_spec).collect();
        assert_eq!(specs, ours.key_specs, "key specs of {what}");
        let subs = items(&fields[9]);
        assert_eq!(
            subs.len(),
            usize::from(ours.subcommands),
            "subcommands of {what}"
        );
        for sub in subs {
            compare(sub);
        }
    }

    #[tokio::test]
    async fn table_matches_the_live_server() {
        let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
        let url = RedisUrl::parse(&redis.url()).unwrap();
        let mut client = Client::connect(&url, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        let info = client.request(&[b"INFO", b"server"]).await.unwrap();
        let version = text(&info)
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_owned())
            .unwrap();
        assert_eq!(
            version,
            table::REDIS_VERSION,
            "the installed redis-server is not the version the table was generated from: regenerate it with `python3 scripts/gen-redis-commands.py`"
        );
        // Data commands of each key-spec shape, the containers with admin
        // subcommands, and the commands the policy refuses by name.
        let sample: [&[u8]; 22] = [
            b"get",
            b"set",
            b"del",
            b"mset",
            b"expire",
            b"eval",
            b"fcall",
            b"zunionstore",
            b"xread",
            b"xreadgroup",
            b"georadius",
            b"sort",
            b"migrate",
            b"lmpop",
            b"bitfield",
            b"spublish",
            b"config",
            b"client",
            b"cluster",
            b"flushall",
            b"shutdown",
            b"object",
        ];
        let mut args: Vec<&[u8]> = vec![b"COMMAND", b"INFO"];
        args.extend(sample);
        let reply = client.request(&args).await.unwrap();
        let entries = items(&reply);
        assert_eq!(entries.len(), sample.len());
        for entry in entries {
            compare(entry);
        }
        let categories = client.request(&[b"ACL", b"CAT"]).await.unwrap();
        let mut live: Vec<String> = items(&categories).iter().map(text).collect();
        live.sort();
        assert_eq!(
            live,
            table::CATEGORIES,
            "ACL categories differ: regenerate the table"
        );
        let count = client.request(&[b"COMMAND", b"COUNT"]).await.unwrap();
        let top_level = COMMANDS.iter().filter(|c| c.parent.is_none()).count();
        assert_eq!(
            int(&count) as usize,
            top_level,
            "command count differs: regenerate the table"
        );
    }
}
