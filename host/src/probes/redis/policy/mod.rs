//! The Redis command policy: a redis grant is data access, not admin over
//! the server. By default a scenario runs data commands on every key; a
//! grant widens or narrows the commands in Redis's ACL vocabulary and may
//! restrict keys to glob patterns. Every path is checked: `command()`,
//! `set`/`get`/`del`, `clear-prefix` and each op of a `run-load` (once, when
//! the load is converted). A refusal names the command or key, the target,
//! the scenario and the grant to add.

pub mod commands;
pub mod glob;
pub mod keyspec;
mod load;
pub mod rules;
pub mod table;

use std::collections::BTreeMap;
use std::sync::Arc;

use commands::Command;
use glob::Glob;
use keyspec::{KeyError, Unlocatable};
pub use rules::Rule;
use rules::{CommandSet, default_refusal};
use table::COMMANDS;

use crate::probes::ProbeError;

/// Most bytes of a guest-chosen name or key quoted in a refusal: enough to
/// recognise it, and a bound on what one refused call makes the host format.
pub const MAX_QUOTED: usize = 100;

/// Longest key matched against a grant's patterns: matching costs up to
/// key length × pattern length, and a guest chooses the key. Redis allows
/// 512 MiB; a scenario confined to patterns has no use for that.
pub const MAX_CHECKED_KEY_LEN: usize = 64 * 1024;

/// Most `commands`, `extra-commands` or `keys` items in one grant: a bound
/// on the catalog's say over per-call work (keys are matched one pattern
/// after another).
pub const MAX_GRANT_ITEMS: usize = 256;

/// What one redis grant allows on its target. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RedisGrant(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    rules: Vec<Rule>,
    allowed: CommandSet,
    /// Lowercase names of commands outside the table (modules, newer
    /// servers) that the grant allows: `json.set`, `client|no-touch`.
    extra: Vec<String>,
    /// `None`: every key.
    keys: Option<Vec<Glob>>,
}

impl Default for RedisGrant {
    fn default() -> Self {
        Self::data_only()
    }
}

impl PartialEq for RedisGrant {
    fn eq(&self, other: &Self) -> bool {
        self.0.rules == other.0.rules
            && self.0.extra == other.0.extra
            && self.0.keys == other.0.keys
    }
}

/// An invalid `extra-commands` or `keys` item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GrantError(pub String);

impl RedisGrant {
    /// The grant `redis = ["target"]`: data commands, every key.
    pub fn data_only() -> Self {
        Self::new(Vec::new(), Vec::new(), None)
    }

    /// A grant from parsed `commands` rules, checked `extra-commands` and
    /// `keys` patterns (see [`RedisGrant::extra_command`],
    /// [`RedisGrant::key_pattern`]).
    pub fn new(rules: Vec<Rule>, extra: Vec<String>, keys: Option<Vec<Glob>>) -> Self {
        RedisGrant(Arc::new(Inner {
            allowed: CommandSet::with_rules(&rules),
            rules,
            extra,
            keys,
        }))
    }

    /// Checks one `extra-commands` item and returns it lowercase. It must
    /// name a command the table does not know (a known one is a rule).
    pub fn extra_command(name: &str) -> Result<String, GrantError> {
        let lower = name.to_ascii_lowercase();
        if lower.is_empty()
            || lower.len() > commands::MAX_NAME_LEN
            || !lower.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(GrantError(format!(
                "`{name}` is not a command name (printable ASCII, at most {} bytes)",
                commands::MAX_NAME_LEN
            )));
        }
        let (top, sub) = match lower.split_once('|') {
            Some((t, s)) => (t, Some(s)),
            None => (lower.as_str(), None),
        };
        let known = commands::by_name(top);
        match (known, sub) {
            (Some(_), None) => Err(GrantError(format!(
                "`{name}` is a known command: allow it in `commands` (`+{lower}`)"
            ))),
            (Some(i), Some(_)) if commands::subcommands(i).is_empty() => Err(GrantError(format!(
                "`{top}` has no subcommands; `{name}` can never be called"
            ))),
            (Some(_), Some(_)) if commands::by_name(&lower).is_some() => Err(GrantError(format!(
                "`{name}` is a known subcommand: allow it in `commands` (`+{lower}`)"
            ))),
            (None, Some(_)) => Err(GrantError(format!(
                "`{name}`: only subcommands of known containers (`client|no-touch`) may be named with `|`"
            ))),
            _ => Ok(lower),
        }
    }

    /// Checks one `keys` pattern.
    pub fn key_pattern(pattern: &str) -> Result<Glob, GrantError> {
        if pattern.is_empty() || pattern.len() > glob::MAX_PATTERN_LEN {
            return Err(GrantError(format!(
                "key pattern `{pattern}` must be 1 to {} bytes",
                glob::MAX_PATTERN_LEN
            )));
        }
        Ok(Glob::new(pattern))
    }

    /// Whether this is the plain `redis = ["target"]` grant.
    pub fn is_data_only(&self) -> bool {
        self.0.rules.is_empty() && self.0.extra.is_empty() && self.0.keys.is_none()
    }

    /// What the grant adds or restricts beyond data commands on every key,
    /// for `rigor list`: `+flushdb -@write keys app:*`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.0.rules.iter().map(|r| r.as_str().into()).collect();
        parts.extend(self.0.extra.iter().map(|e| format!("+{e} (extra)")));
        if let Some(keys) = &self.0.keys {
            let keys: Vec<&str> = keys.iter().map(Glob::as_str).collect();
            parts.push(format!("keys {}", keys.join(" ")));
        }
        parts.join(" ")
    }

    /// The checker for one connection of `scenario` to `target`.
    pub fn guard(&self, scenario: &str, target: &str) -> CommandGuard {
        CommandGuard {
            grant: self.clone(),
            scenario: scenario.into(),
            target: target.into(),
        }
    }

    /// Checks every op of a load once, before it runs: each op's command,
    /// its literal keys, and the key space behind each `{key}`.
    pub fn check_load(
        &self,
        spec: &super::load::LoadSpec,
        scenario: &str,
        target: &str,
    ) -> Result<(), Refused> {
        load::check(&self.at(scenario, target), spec)
    }

    fn at<'a>(&'a self, scenario: &'a str, target: &'a str) -> At<'a> {
        At {
            grant: self,
            scenario,
            target,
        }
    }
}

/// The redis grants of one scenario, by target name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RedisGrants(BTreeMap<String, RedisGrant>);

impl RedisGrants {
    pub fn contains(&self, target: &str) -> bool {
        self.0.contains_key(target)
    }

    pub fn get(&self, target: &str) -> Option<&RedisGrant> {
        self.0.get(target)
    }

    /// Adds a grant; the previous one for the target, if any.
    pub fn insert(&mut self, target: String, grant: RedisGrant) -> Option<RedisGrant> {
        self.0.insert(target, grant)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &RedisGrant)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Data-only grants on these targets (`redis = ["default"]`).
impl FromIterator<String> for RedisGrants {
    fn from_iter<I: IntoIterator<Item = String>>(targets: I) -> Self {
        RedisGrants(
            targets
                .into_iter()
                .map(|t| (t, RedisGrant::data_only()))
                .collect(),
        )
    }
}

impl<const N: usize> From<[String; N]> for RedisGrants {
    fn from(targets: [String; N]) -> Self {
        targets.into_iter().collect()
    }
}

/// A call the grant does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {why}, refused on redis target `{target}` for scenario `{scenario}`: {fix}")]
pub struct Refused {
    /// The command (`FLUSHALL`, `CONFIG SET`) or key (``key `x` of GET``).
    pub what: String,
    /// "is an @admin/@dangerous command", "is outside the granted keys ...".
    pub why: String,
    pub target: String,
    pub scenario: String,
    /// The grant to add, or what else to change.
    pub fix: String,
}

impl From<Refused> for ProbeError {
    fn from(r: Refused) -> Self {
        ProbeError::Denied(r.to_string())
    }
}

/// Checks the calls of one connection.
#[derive(Debug, Clone)]
pub struct CommandGuard {
    grant: RedisGrant,
    scenario: Arc<str>,
    target: Arc<str>,
}

impl CommandGuard {
    /// Whether the call `args` (name first) may run: its command (and
    /// subcommand), and under a `keys` restriction every key it names.
    #[inline]
    pub fn check(&self, args: &[&[u8]]) -> Result<(), Refused> {
        let inner = &*self.grant.0;
        match commands::lookup(args) {
            Some(index) if inner.allowed.contains(index) => match &inner.keys {
                None => Ok(()),
                Some(_) => self.at().check_keys(index, args),
            },
            Some(index) => Err(self.at().command_refused(index, "")),
            None => self.at().check_unknown(args, ""),
        }
    }

    /// Whether `clear-prefix prefix` may run: every key it can remove must
    /// be inside the granted keys.
    pub fn check_prefix(&self, prefix: &str) -> Result<(), Refused> {
        self.at().check_prefix(
            prefix.as_bytes(),
            &format!("clear-prefix `{}`", quote(prefix.as_bytes())),
        )
    }

    fn at(&self) -> At<'_> {
        self.grant.at(&self.scenario, &self.target)
    }
}

/// A grant in the context of a scenario and target, for refusals.
struct At<'a> {
    grant: &'a RedisGrant,
    scenario: &'a str,
    target: &'a str,
}

impl At<'_> {
    fn refused(&self, what: String, why: String, fix: String) -> Refused {
        Refused {
            what,
            why,
            target: self.target.to_owned(),
            scenario: self.scenario.to_owned(),
            fix,
        }
    }

    fn keys(&self) -> &[Glob] {
        self.grant.0.keys.as_deref().unwrap_or(&[])
    }

    fn keys_text(&self) -> String {
        let keys: Vec<String> = self
            .keys()
            .iter()
            .map(|k| format!("`{}`", k.as_str()))
            .collect();
        keys.join(", ")
    }

    /// `add `redis = [{ target = .., commands = [..], .. }]` to its grants`,
    /// the grant as it is with `rule`, `extra` or `key` added.
    fn add(&self, rule: Option<&str>, extra: Option<&str>, key: Option<&str>) -> String {
        let inner = &*self.grant.0;
        let mut fields = vec![format!("target = {}", toml_str(self.target))];
        let mut commands: Vec<&str> = inner.rules.iter().map(Rule::as_str).collect();
        commands.extend(rule);
        if !commands.is_empty() {
            fields.push(format!("commands = {}", toml_list(&commands)));
        }
        let mut extras: Vec<&str> = inner.extra.iter().map(String::as_str).collect();
        extras.extend(extra);
        if !extras.is_empty() {
            fields.push(format!("extra-commands = {}", toml_list(&extras)));
        }
        if let Some(keys) = &inner.keys {
            let mut keys: Vec<&str> = keys.iter().map(Glob::as_str).collect();
            keys.extend(key);
            fields.push(format!("keys = {}", toml_list(&keys)));
        }
        format!("add `redis = [{{ {} }}]` to its grants", fields.join(", "))
    }

    /// `cmd` is not in the allowed set: by default, or by a grant rule.
    /// `context` follows the name (` in run-load op `x``).
    fn command_refused(&self, index: u16, context: &str) -> Refused {
        let cmd = &COMMANDS[usize::from(index)];
        let what = format!("{}{context}", cmd.display());
        let rule = format!("+{}", cmd.name);
        let remover = self
            .grant
            .0
            .rules
            .iter()
            .rev()
            .find(|r| r.covers(usize::from(index)));
        match (remover, default_refusal(cmd)) {
            (Some(r), _) => self.refused(
                what,
                format!("is removed by the grant's rule `{}`", r.as_str()),
                self.add(Some(&rule), None, None),
            ),
            (None, Some(why)) => self.refused(what, why, self.add(Some(&rule), None, None)),
            (None, None) => unreachable!("an entry is refused by default or by a rule"),
        }
    }

    /// A call the table does not know: allowed only by `extra-commands`,
    /// and never under a `keys` restriction (its keys cannot be located).
    fn check_unknown(&self, args: &[&[u8]], context: &str) -> Result<(), Refused> {
        let Some(first) = args.first() else {
            return Err(self.refused(
                format!("an empty command{context}"),
                "names no command".into(),
                "pass the command name first".into(),
            ));
        };
        let top = lower_name(first);
        let name = match commands::lookup(&args[..1]) {
            // A known container with a subcommand the table lacks.
            Some(_) => format!(
                "{top}|{}",
                args.get(1).map_or(String::new(), |a| lower_name(a))
            ),
            None => top,
        };
        let what = format!("{}{context}", name.replace('|', " ").to_ascii_uppercase());
        if self.grant.0.keys.is_some() {
            return Err(self.refused(
                what,
                format!(
                    "is outside rigor's command table (Redis {}), so its keys cannot be located, and the grant restricts keys to {}",
                    table::REDIS_VERSION,
                    self.keys_text()
                ),
                "drop `keys` from its grant and name it in `extra-commands` to allow it".into(),
            ));
        }
        if !self.grant.0.extra.contains(&name) {
            return Err(self.refused(
                what,
                format!(
                    "is not a command of rigor's table (Redis {}; a module command or a newer one)",
                    table::REDIS_VERSION
                ),
                self.add(None, Some(&name), None),
            ));
        }
        Ok(())
    }

    /// Every key of an allowed call must match a granted pattern.
    fn check_keys(&self, index: u16, args: &[&[u8]]) -> Result<(), Refused> {
        let cmd = &COMMANDS[usize::from(index)];
        keyspec::for_each_key(cmd, args, |i| self.check_key(cmd, args[i], "")).map_err(
            |e| match e {
                KeyError::Refused(r) => r,
                KeyError::Unlocatable(why) => self.unlocatable(cmd, why, ""),
            },
        )
    }

    /// One key of `cmd` against the granted patterns.
    fn check_key(&self, cmd: &Command, key: &[u8], context: &str) -> Result<(), Refused> {
        if key.len() > MAX_CHECKED_KEY_LEN {
            return Err(self.refused(
                format!("a key of {}{context}", cmd.display()),
                format!(
                    "is {} bytes, longer than the {MAX_CHECKED_KEY_LEN} bytes checked against the keys granted ({})",
                    key.len(),
                    self.keys_text()
                ),
                "use shorter keys".into(),
            ));
        }
        if self.keys().iter().any(|k| k.matches(key)) {
            return Ok(());
        }
        Err(self.key_refused(cmd, key, context))
    }

    fn key_refused(&self, cmd: &Command, key: &[u8], context: &str) -> Refused {
        let shown = quote(key);
        let pattern = if shown.len() < key.len() {
            format!("{}*", glob::escape(shown.trim_end_matches('…')))
        } else {
            glob::escape(&shown)
        };
        self.refused(
            format!("key `{shown}` of {}{context}", cmd.display()),
            format!("is outside the keys granted ({})", self.keys_text()),
            self.add(None, None, Some(&pattern)),
        )
    }

    fn unlocatable(&self, cmd: &Command, why: Unlocatable, context: &str) -> Refused {
        self.refused(
            format!("{}{context}", cmd.display()),
            format!(
                "cannot have its keys checked ({why}) and the grant restricts keys to {}",
                self.keys_text()
            ),
            "pass its keys where the command's key specification says, or drop `keys` from its grant".into(),
        )
    }

    /// Every key that starts with `prefix` must match a granted pattern.
    fn check_prefix(&self, prefix: &[u8], what: &str) -> Result<(), Refused> {
        if self.grant.0.keys.is_none() || self.keys().iter().any(|k| k.admits_prefix(prefix)) {
            return Ok(());
        }
        let shown = quote(prefix);
        Err(self.refused(
            what.to_owned(),
            format!(
                "reaches keys outside the keys granted ({}): a prefix is inside a pattern of the form `PREFIX*`",
                self.keys_text()
            ),
            self.add(None, None, Some(&format!("{}*", glob::escape(&shown)))),
        ))
    }
}

/// `bytes` as text for a message: lossy UTF-8, control characters as `?`,
/// at most [`MAX_QUOTED`] bytes (then `…`).
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_QUOTED)]);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() || c == '`' { '?' } else { c })
        .collect();
    if bytes.len() > MAX_QUOTED {
        out.push('…');
    }
    out
}

/// A command name as typed, lowercase, quoted for a message.
fn lower_name(bytes: &[u8]) -> String {
    quote(bytes).to_lowercase()
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(|i| toml_str(i)).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests;
