//! A scenario's `redis = [...]` grants resolved into command policies, each
//! problem located at its item.

use std::collections::BTreeMap;

use toml::Spanned;

use super::DEFAULT_REDIS_TARGET;
use super::manifest::RedisGrantDecl;
use crate::probes::redis::policy::{MAX_GRANT_ITEMS, RedisGrant, RedisGrants, Rule};

/// A problem at a byte offset of the catalog file.
pub(super) type Located = (usize, String);

/// Resolves `decls` of scenario `name`; `targets` are the declared ones.
pub(super) fn resolve(
    name: &str,
    decls: &[Spanned<RedisGrantDecl>],
    targets: &BTreeMap<String, String>,
) -> Result<RedisGrants, Located> {
    let mut grants = RedisGrants::default();
    for decl in decls {
        let (target, at, grant) = match decl.get_ref() {
            RedisGrantDecl::Target(t) => (t, decl.span().start, RedisGrant::data_only()),
            RedisGrantDecl::Table(table) => {
                let mut rules = Vec::new();
                for rule in bounded(&table.commands, "commands", decl)? {
                    rules.push(
                        Rule::parse(rule.get_ref())
                            .map_err(|e| (rule.span().start, format!("scenario `{name}`: {e}")))?,
                    );
                }
                let mut extra = Vec::new();
                for item in bounded(&table.extra_commands, "extra-commands", decl)? {
                    extra.push(
                        RedisGrant::extra_command(item.get_ref())
                            .map_err(|e| (item.span().start, format!("scenario `{name}`: {e}")))?,
                    );
                }
                let keys = match &table.keys {
                    Some(_) if !extra.is_empty() => {
                        return Err((
                            table.extra_commands[0].span().start,
                            format!(
                                "scenario `{name}`: `extra-commands` cannot be used with `keys`: the keys of a command outside rigor's table cannot be located, so every call of it would be refused"
                            ),
                        ));
                    }
                    None => None,
                    Some(items) if items.is_empty() => {
                        return Err((
                            decl.span().start,
                            format!(
                                "scenario `{name}`: `keys = []` would refuse every key; list patterns (`app:*`), or drop `keys` to allow every key"
                            ),
                        ));
                    }
                    Some(items) => {
                        let mut keys = Vec::new();
                        for item in bounded(items, "keys", decl)? {
                            keys.push(RedisGrant::key_pattern(item.get_ref()).map_err(|e| {
                                (item.span().start, format!("scenario `{name}`: {e}"))
                            })?);
                        }
                        Some(keys)
                    }
                };
                (
                    table.target.get_ref(),
                    table.target.span().start,
                    RedisGrant::new(rules, extra, keys),
                )
            }
        };
        if target != DEFAULT_REDIS_TARGET && !targets.contains_key(target) {
            let known: Vec<&str> = std::iter::once(DEFAULT_REDIS_TARGET)
                .chain(targets.keys().map(String::as_str))
                .collect();
            return Err((
                at,
                format!(
                    "scenario `{name}` is granted unknown redis target `{target}`; known targets: {} (declare it under [targets.redis])",
                    known.join(", ")
                ),
            ));
        }
        if grants.insert(target.clone(), grant).is_some() {
            return Err((
                at,
                format!(
                    "scenario `{name}` is granted redis target `{target}` twice; merge the two into one entry"
                ),
            ));
        }
    }
    Ok(grants)
}

fn bounded<'a, T>(
    items: &'a [Spanned<T>],
    field: &str,
    decl: &Spanned<RedisGrantDecl>,
) -> Result<&'a [Spanned<T>], Located> {
    if items.len() > MAX_GRANT_ITEMS {
        return Err((
            decl.span().start,
            format!(
                "`{field}` has {} items; at most {MAX_GRANT_ITEMS}",
                items.len()
            ),
        ));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::catalog::Catalog;

    fn parse(grants: &str) -> Result<Catalog, String> {
        let text = format!(
            "[targets.redis]\ncache = \"redis://127.0.0.1:1\"\n[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[scenario.grants]\n{grants}\n"
        );
        Catalog::parse(Path::new("/nonexistent/catalog.toml"), &text).map_err(|e| e.to_string())
    }

    #[test]
    fn names_and_tables_mix_in_one_list() {
        let c = parse(
            r#"redis = ["cache", { target = "default", commands = ["+@scripting", "FLUSHDB", "-@write"], extra-commands = ["json.get"] }]"#,
        )
        .unwrap();
        let g = &c.scenarios[0].grants;
        assert!(g.redis.get("cache").unwrap().is_data_only());
        let default = g.redis.get("default").unwrap();
        assert_eq!(
            default.describe(),
            "+@scripting +flushdb -@write +json.get (extra)"
        );
        assert!(g.describe().contains(&"redis:cache".to_owned()));
        let c = parse(r#"redis = [{ target = "default", keys = ["app:*", "s?[ab]"] }]"#).unwrap();
        let g = &c.scenarios[0].grants;
        assert_eq!(
            g.describe(),
            ["redis:default(keys app:* s?[ab])".to_owned()]
        );
    }

    #[test]
    fn bad_items_are_located_at_the_item() {
        let at = |grants: &str, place: &str, words: &str| {
            let err = parse(grants).unwrap_err();
            assert!(
                err.starts_with(&format!("/nonexistent/catalog.toml:{place}:")),
                "{err}"
            );
            assert!(err.contains(words), "{err}");
        };
        at(
            r#"redis = [{ target = "default", commands = ["+get", "+@adminn"] }]"#,
            "7:52",
            "unknown ACL category `@adminn`",
        );
        at(
            r#"redis = [{ target = "default", commands = ["+flushdbb"] }]"#,
            "7:44",
            "unknown Redis command `flushdbb`",
        );
        at(
            r#"redis = [{ target = "default", extra-commands = ["get"] }]"#,
            "7:50",
            "`get` is a known command",
        );
        at(
            r#"redis = [{ target = "nope" }]"#,
            "7:21",
            "unknown redis target `nope`",
        );
        at(
            r#"redis = ["default", { target = "default" }]"#,
            "7:32",
            "twice",
        );
        at(
            r#"redis = [{ target = "default", keys = [] }]"#,
            "7:10",
            "would refuse every key",
        );
        at(
            r#"redis = [{ target = "default", command = ["+get"] }]"#,
            "7:10",
            "unknown field `command`",
        );
        at(
            r#"redis = [{ commands = ["+get"] }]"#,
            "7:10",
            "missing field `target`",
        );
        at(r#"redis = [42]"#, "7:10", "a redis target name, or a table");
        at(
            r#"redis = [{ target = "default", extra-commands = ["json.get"], keys = ["a:*"] }]"#,
            "7:50",
            "`extra-commands` cannot be used with `keys`",
        );
    }
}
