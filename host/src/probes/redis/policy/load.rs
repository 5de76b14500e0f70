//! A `run-load` spec checked once, when it is converted, never per request:
//! each op's command (and subcommand), its literal keys, and the key space
//! behind each `{key}` (`keys.prefix` followed by an index).

use std::borrow::Cow;

use super::At;
use super::Refused;
use super::commands;
use super::keyspec::{self, CallArgs, KeyError};
use super::table::COMMANDS;
use crate::probes::redis::load::{LoadSpec, Op, Segment};

/// An op's arguments as templates, with the load's value.
struct Template<'a> {
    args: Cow<'a, [Vec<Segment>]>,
    value: &'a [u8],
}

impl CallArgs for Template<'_> {
    fn count(&self) -> usize {
        self.args.len()
    }

    /// Known unless it holds `{key}`; `{value}` is the same in every request.
    fn known(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        let arg = self.args.get(i)?;
        if arg.contains(&Segment::Key) {
            return None;
        }
        match arg.as_slice() {
            [Segment::Literal(b)] => Some(Cow::Borrowed(b)),
            [Segment::Value] => Some(Cow::Borrowed(self.value)),
            segments => Some(Cow::Owned(
                segments
                    .iter()
                    .flat_map(|s| match s {
                        Segment::Literal(b) => b.as_slice(),
                        Segment::Value => self.value,
                        Segment::Key => &[],
                    })
                    .copied()
                    .collect(),
            )),
        }
    }
}

impl Template<'_> {
    /// What every generated value of argument `i` starts with: its text up
    /// to the first `{key}`, then the key prefix.
    fn fixed_start(&self, i: usize, key_prefix: &str) -> Vec<u8> {
        let mut start = Vec::new();
        for s in &self.args[i] {
            match s {
                Segment::Literal(b) => start.extend_from_slice(b),
                Segment::Value => start.extend_from_slice(self.value),
                Segment::Key => break,
            }
        }
        start.extend_from_slice(key_prefix.as_bytes());
        start
    }
}

fn lit(text: &str) -> Vec<Segment> {
    vec![Segment::Literal(text.as_bytes().to_vec())]
}

/// The arguments an op sends, as templates.
fn template(op: &Op) -> Cow<'_, [Vec<Segment>]> {
    let key = || vec![Segment::Key];
    Cow::Owned(match op {
        Op::Set => vec![lit("SET"), key(), vec![Segment::Value]],
        Op::Get => vec![lit("GET"), key()],
        Op::Del => vec![lit("DEL"), key()],
        Op::Incr => vec![lit("INCR"), key()],
        Op::Expire(s) => vec![lit("EXPIRE"), key(), lit(&s.to_string())],
        Op::Raw(args) => return Cow::Borrowed(args),
    })
}

pub(super) fn check(at: &At<'_>, spec: &LoadSpec) -> Result<(), Refused> {
    for entry in &spec.mix {
        let t = Template {
            args: template(&entry.op),
            value: &spec.value,
        };
        let context = format!(" in run-load op `{}`", entry.name);
        let templated = |index: usize| {
            at.refused(
                format!("argument {index} of run-load op `{}`", entry.name),
                "names the command but is a `{key}` template".into(),
                "write the command name (and subcommand) literally".into(),
            )
        };
        let name = t.known(0).ok_or_else(|| templated(0))?;
        let mut head: Vec<Cow<'_, [u8]>> = vec![name];
        let index = match commands::lookup(&head) {
            Some(i) if COMMANDS[usize::from(i)].subcommands > 0 && t.count() >= 2 => {
                head.push(t.known(1).ok_or_else(|| templated(1))?);
                commands::lookup(&head)
            }
            other => other,
        };
        let Some(index) = index else {
            let head: Vec<&[u8]> = head.iter().map(AsRef::as_ref).collect();
            at.check_unknown(&head, &context)?;
            continue;
        };
        if !at.grant.0.allowed.contains(index) {
            return Err(at.command_refused(index, &context));
        }
        if at.grant.0.keys.is_none() {
            continue;
        }
        let cmd = &COMMANDS[usize::from(index)];
        keyspec::for_each_key(cmd, &t, |i| match t.known(i) {
            Some(key) => at.check_key(cmd, &key, &context),
            None => {
                let start = t.fixed_start(i, &spec.key_prefix);
                let what = format!(
                    "key space `{}` (`{{key}}`) of {}{context}",
                    super::quote(&start),
                    cmd.display()
                );
                at.check_prefix(&start, &what)
            }
        })
        .map_err(|e| match e {
            KeyError::Refused(r) => r,
            KeyError::Unlocatable(why) => at.unlocatable(cmd, why, &context),
        })?;
    }
    Ok(())
}
