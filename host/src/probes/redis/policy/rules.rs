//! Command rules in Redis's ACL vocabulary (`+@category`, `-name`,
//! `+name|sub`), the default a scenario starts from, and the set of allowed
//! table entries they produce.

use super::commands::{self, Command};
use super::table::{CATEGORIES, COMMANDS, COUNT};

/// Commands refused by default whatever their categories say, with every
/// subcommand: what reaches beyond the data (server configuration, users,
/// persistence, replication, other hosts, scripts that could run any
/// command). Most are `@admin`/`@dangerous` too; naming them keeps them
/// refused if a newer Redis files them differently.
pub const REFUSED_BY_NAME: &[&str] = &[
    "acl",
    "bgrewriteaof",
    "bgsave",
    "client|kill",
    "config",
    "debug",
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "failover",
    "fcall",
    "fcall_ro",
    "flushall",
    "flushdb",
    "function",
    "migrate",
    "module",
    "monitor",
    "psync",
    "replconf",
    "replicaof",
    "save",
    "script",
    "shutdown",
    "slaveof",
    "swapdb",
    "sync",
];

/// Categories refused by default. `@scripting` is here because a script
/// runs its commands unchecked.
pub const REFUSED_CATEGORIES: [&str; 3] = ["admin", "dangerous", "scripting"];

const WORDS: usize = COUNT.div_ceil(64);

/// A set of table entries, one bit each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSet([u64; WORDS]);

impl CommandSet {
    fn empty() -> Self {
        CommandSet([0; WORDS])
    }

    #[inline]
    pub fn contains(&self, index: u16) -> bool {
        let i = usize::from(index);
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, index: usize, on: bool) {
        if on {
            self.0[index / 64] |= 1 << (index % 64);
        } else {
            self.0[index / 64] &= !(1 << (index % 64));
        }
    }

    /// What a scenario may run when its grant names no rules: everything
    /// but [`REFUSED_CATEGORIES`] and [`REFUSED_BY_NAME`].
    pub fn data_only() -> Self {
        let mut set = Self::empty();
        for (i, c) in COMMANDS.iter().enumerate() {
            set.set(i, default_refusal(c).is_none());
        }
        set
    }

    /// The default with `rules` applied in order.
    pub fn with_rules(rules: &[Rule]) -> Self {
        let mut set = Self::data_only();
        for rule in rules {
            for i in 0..COMMANDS.len() {
                if rule.covers(i) {
                    set.set(i, rule.allow);
                }
            }
        }
        set
    }
}

/// Why `cmd` is refused by default, as "is ..." text; `None` if allowed.
pub fn default_refusal(cmd: &Command) -> Option<String> {
    let bad: Vec<&str> = ["admin", "dangerous"]
        .into_iter()
        .filter(|c| cmd.in_category(c))
        .collect();
    if !bad.is_empty() {
        let article = if bad[0] == "admin" { "an" } else { "a" };
        return Some(format!("is {article} @{} command", bad.join("/@")));
    }
    if cmd.in_category("scripting") {
        return Some("is a @scripting command (a script runs any command unchecked)".into());
    }
    let by_name = |c: &Command| REFUSED_BY_NAME.contains(&c.name);
    let parent = cmd.parent.map(|p| &COMMANDS[usize::from(p)]);
    if by_name(cmd) || parent.is_some_and(by_name) {
        return Some("is a server-administration command".into());
    }
    None
}

/// What a rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    /// A category without `@`; `all` is every command.
    Category(&'static str),
    /// A table entry; a container includes its subcommands.
    Command(u16),
}

/// One `commands` item of a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    subject: Subject,
    /// As written, with the sign made explicit (`+flushdb`).
    text: String,
}

impl Rule {
    /// Parses `+@category`, `-@category`, `+name`, `-name`, `+name|sub`,
    /// `-name|sub`; without a sign, `+`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let (allow, body) = match text.as_bytes().first() {
            Some(b'+') => (true, &text[1..]),
            Some(b'-') => (false, &text[1..]),
            _ => (true, text),
        };
        let sign = if allow { '+' } else { '-' };
        if body.is_empty() {
            return Err(format!(
                "empty command rule `{text}`: write `+@category`, `-@category`, `+name`, `-name` or `+name|subcommand`"
            ));
        }
        let subject = if let Some(category) = body.strip_prefix('@') {
            let lower = category.to_ascii_lowercase();
            let found: &'static str = CATEGORIES
                .iter()
                .copied()
                .chain(["all"])
                .find(|c| *c == lower)
                .ok_or_else(|| {
                    format!(
                        "unknown ACL category `@{category}` in `{text}` (categories: @all, @{})",
                        CATEGORIES.join(", @")
                    )
                })?;
            Subject::Category(found)
        } else {
            Subject::Command(command_index(body, text)?)
        };
        Ok(Rule {
            allow,
            subject,
            text: format!("{sign}{}", body.to_ascii_lowercase()),
        })
    }

    /// The rule with its sign, lowercase (`-@write`, `+config|get`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the rule sets or clears table entry `index`. A category
    /// covers each command and subcommand by its own categories; a
    /// container command covers its subcommands, as in Redis.
    pub fn covers(&self, index: usize) -> bool {
        let cmd = &COMMANDS[index];
        match self.subject {
            Subject::Category("all") => true,
            Subject::Category(c) => cmd.in_category(c),
            Subject::Command(i) => index == usize::from(i) || cmd.parent == Some(i),
        }
    }
}

/// The table entry a rule names, or why it names none.
fn command_index(body: &str, text: &str) -> Result<u16, String> {
    let (name, sub) = match body.split_once('|') {
        Some((n, s)) => (n, Some(s)),
        None => (body, None),
    };
    let Some(index) = commands::by_name(name) else {
        return Err(format!(
            "unknown Redis command `{name}` in `{text}` (rigor's command table is Redis {}); a module command or a newer one goes in `extra-commands`",
            super::table::REDIS_VERSION
        ));
    };
    let Some(sub) = sub else {
        return Ok(index);
    };
    let subs = commands::subcommands(index);
    if subs.is_empty() {
        return Err(format!("`{name}` has no subcommands (in `{text}`)"));
    }
    commands::by_name(&format!("{name}|{sub}")).ok_or_else(|| {
        let known: Vec<&str> = COMMANDS[subs]
            .iter()
            .filter_map(|c| c.name.split_once('|').map(|(_, s)| s))
            .collect();
        format!(
            "`{name}` has no subcommand `{sub}` (in `{text}`; subcommands: {})",
            known.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(set: &CommandSet, name: &str) -> bool {
        set.contains(commands::by_name(name).unwrap())
    }

    #[test]
    fn the_default_allows_data_commands_only() {
        let set = CommandSet::data_only();
        for data in [
            "get",
            "set",
            "del",
            "expire",
            "ttl",
            "hset",
            "zadd",
            "xadd",
            "ping",
            "incr",
            "mget",
            "scan",
            "client|setname",
            "multi",
            "exec",
            "publish",
        ] {
            assert!(allowed(&set, data), "{data}");
        }
        for refused in [
            "flushall",
            "flushdb",
            "config|set",
            "config|get",
            "config|help",
            "shutdown",
            "migrate",
            "replicaof",
            "slaveof",
            "eval",
            "evalsha",
            "eval_ro",
            "evalsha_ro",
            "fcall",
            "fcall_ro",
            "script|load",
            "function|load",
            "save",
            "bgsave",
            "bgrewriteaof",
            "acl|setuser",
            "acl|whoami",
            "client|kill",
            "monitor",
            "debug",
            "module|load",
            "swapdb",
            "failover",
            "cluster|meet",
            "cluster|reset",
            "keys",
            "info",
            "sort",
            "restore",
            "sync",
            "psync",
        ] {
            assert!(!allowed(&set, refused), "{refused}");
        }
    }

    #[test]
    fn rules_apply_in_order_on_top_of_the_default() {
        let rules = |items: &[&str]| -> Vec<Rule> {
            items.iter().map(|r| Rule::parse(r).unwrap()).collect()
        };
        let set = CommandSet::with_rules(&rules(&["+@scripting", "+FLUSHDB", "-@write"]));
        assert!(allowed(&set, "eval"));
        assert!(allowed(&set, "script|load"));
        assert!(!allowed(&set, "flushdb"), "-@write came after +flushdb");
        assert!(!allowed(&set, "set"));
        assert!(allowed(&set, "get"));

        let set = CommandSet::with_rules(&rules(&["-@all", "+get", "+config|get"]));
        assert!(allowed(&set, "get"));
        assert!(allowed(&set, "config|get"));
        assert!(!allowed(&set, "config|set"));
        assert!(!allowed(&set, "set"));

        let set = CommandSet::with_rules(&rules(&["+config", "-config|set"]));
        assert!(allowed(&set, "config|rewrite"));
        assert!(!allowed(&set, "config|set"));

        // A category covers every command and subcommand in it, as in
        // Redis: CONFIG SET is @slow too.
        let set = CommandSet::with_rules(&rules(&["+@slow"]));
        assert!(allowed(&set, "config|set"));
        let set = CommandSet::with_rules(&rules(&["+@keyspace"]));
        assert!(!allowed(&set, "config|set"));
        assert!(allowed(&set, "flushall"));
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let err = |r: &str| Rule::parse(r).unwrap_err();
        assert!(err("+@adminn").contains("unknown ACL category `@adminn`"));
        assert!(err("+flushdbb").contains("unknown Redis command `flushdbb`"));
        assert!(err("+flushdbb").contains("extra-commands"));
        assert!(err("+get|x").contains("`get` has no subcommands"));
        assert!(
            err("+config|frob").contains("subcommands: get,")
                || err("+config|frob").contains("get")
        );
        assert!(err("+").contains("empty command rule"));
        assert_eq!(Rule::parse("FLUSHDB").unwrap().as_str(), "+flushdb");
        assert_eq!(Rule::parse("-@Write").unwrap().as_str(), "-@write");
    }

    #[test]
    fn every_category_of_the_table_is_known() {
        for c in &COMMANDS {
            for cat in c.categories {
                assert!(CATEGORIES.contains(&&cat[1..]), "{}: {cat}", c.name);
            }
        }
        for name in REFUSED_BY_NAME {
            assert!(
                commands::by_name(name).is_some(),
                "{name} is not in the table"
            );
        }
    }
}
