//! The policy's checks and the exact words of its refusals.

use std::time::Duration;

use super::*;
use crate::probes::redis::load::{
    self, Amount, Connections, KeyPattern, LoadSpec, MixEntry, Model, Op,
};

fn grant(commands: &[&str], extra: &[&str], keys: Option<&[&str]>) -> RedisGrant {
    RedisGrant::new(
        commands.iter().map(|r| Rule::parse(r).unwrap()).collect(),
        extra
            .iter()
            .map(|e| RedisGrant::extra_command(e).unwrap())
            .collect(),
        keys.map(|k| {
            k.iter()
                .map(|p| RedisGrant::key_pattern(p).unwrap())
                .collect()
        }),
    )
}

fn check(g: &RedisGrant, call: &[&str]) -> Result<(), String> {
    let args: Vec<&[u8]> = call.iter().map(|a| a.as_bytes()).collect();
    g.guard("x", "default")
        .check(&args)
        .map_err(|r| r.to_string())
}

#[test]
fn the_default_refuses_administration_with_the_grant_to_add() {
    let g = RedisGrant::data_only();
    assert_eq!(
        check(&g, &["FLUSHALL"]).unwrap_err(),
        "FLUSHALL is a @dangerous command, refused on redis target `default` for scenario `x`: add `redis = [{ target = \"default\", commands = [\"+flushall\"] }]` to its grants"
    );
    let config = check(&g, &["config", "set", "requirepass", "x"]).unwrap_err();
    assert!(
        config.starts_with(
            "CONFIG SET is an @admin/@dangerous command, refused on redis target `default`"
        ),
        "{config}"
    );
    assert!(config.contains(r#"commands = ["+config|set"]"#), "{config}");
    let eval = check(&g, &["EVAL", "while true do end", "0"]).unwrap_err();
    assert!(eval.starts_with("EVAL is a @scripting command"), "{eval}");
    assert!(eval.contains(r#"commands = ["+eval"]"#), "{eval}");
    let help = check(&g, &["CONFIG", "HELP"]).unwrap_err();
    assert!(
        help.starts_with("CONFIG HELP is a server-administration command"),
        "{help}"
    );
    assert!(
        check(&g, &["CLIENT", "KILL", "ID", "1"])
            .unwrap_err()
            .starts_with("CLIENT KILL is an @admin")
    );
    for data in [
        &["SET", "k", "v", "EX", "10"][..],
        &["get", "k"],
        &["TTL", "k"],
        &["EXPIRE", "k", "10"],
        &["HSET", "h", "f", "v"],
        &["PING"],
        &["CLIENT", "SETNAME", "me"],
        &["CLIENT"],
    ] {
        assert_eq!(check(&g, data), Ok(()), "{data:?}");
    }
}

#[test]
fn grants_widen_and_narrow_in_acl_order() {
    let g = grant(&["+flushdb", "+@scripting", "-@write"], &[], None);
    assert_eq!(check(&g, &["EVAL", "return 1", "0"]), Ok(()));
    let set = check(&g, &["SET", "k", "v"]).unwrap_err();
    assert!(
        set.starts_with("SET is removed by the grant's rule `-@write`, refused"),
        "{set}"
    );
    assert!(
        set.contains(r#"commands = ["+flushdb", "+@scripting", "-@write", "+set"]"#),
        "{set}"
    );
    assert!(check(&g, &["FLUSHDB"]).is_err(), "-@write came last");
    assert_eq!(
        check(&grant(&["+flushdb"], &[], None), &["flushdb"]),
        Ok(())
    );
}

#[test]
fn unknown_commands_are_refused_unless_named_in_extra_commands() {
    let g = RedisGrant::data_only();
    let json = check(&g, &["JSON.SET", "k", "$", "1"]).unwrap_err();
    assert!(
        json.starts_with("JSON.SET is not a command of rigor's table (Redis 7.0.15"),
        "{json}"
    );
    assert!(json.contains(r#"extra-commands = ["json.set"]"#), "{json}");
    let sub = check(&g, &["CLIENT", "NO-TOUCH", "ON"]).unwrap_err();
    assert!(sub.starts_with("CLIENT NO-TOUCH is not a command"), "{sub}");
    let g = grant(&[], &["json.set", "client|no-touch"], None);
    assert_eq!(check(&g, &["json.set", "k", "$", "1"]), Ok(()));
    assert_eq!(check(&g, &["client", "no-touch", "on"]), Ok(()));
    assert!(check(&g, &["json.get", "k"]).is_err());
    // Under a key restriction an unknown command's keys cannot be located.
    let g = grant(&[], &["json.set"], Some(&["app:*"]));
    let err = check(&g, &["json.set", "app:1", "$", "1"]).unwrap_err();
    assert!(err.contains("its keys cannot be located"), "{err}");
    // A guest-chosen name is quoted short and without control characters.
    let long = format!("X\r\n{}", "Y".repeat(500));
    let err = check(&RedisGrant::data_only(), &[&long]).unwrap_err();
    assert!(err.starts_with("X??YYY"), "{err}");
    assert!(err.len() < 600, "{err}");
}

#[test]
fn extra_commands_must_be_unknown_to_the_table() {
    assert!(
        RedisGrant::extra_command("GET")
            .unwrap_err()
            .0
            .contains("`+get`")
    );
    assert!(
        RedisGrant::extra_command("config|get")
            .unwrap_err()
            .0
            .contains("known subcommand")
    );
    assert!(
        RedisGrant::extra_command("get|x")
            .unwrap_err()
            .0
            .contains("no subcommands")
    );
    assert!(RedisGrant::extra_command("a b").is_err());
    assert_eq!(RedisGrant::extra_command("JSON.SET").unwrap(), "json.set");
}

#[test]
fn keys_are_checked_where_the_key_specs_put_them() {
    let g = grant(&["+@scripting"], &[], Some(&["app:*", "shared"]));
    assert_eq!(check(&g, &["SET", "app:1", "v"]), Ok(()));
    assert_eq!(check(&g, &["GET", "shared"]), Ok(()));
    assert_eq!(check(&g, &["MSET", "app:1", "v", "app:2", "w"]), Ok(()));
    assert_eq!(
        check(&g, &["EVAL", "return 1", "1", "app:x", "other:arg"]),
        Ok(())
    );
    assert_eq!(check(&g, &["EVAL", "return 1", "0"]), Ok(()));
    assert_eq!(check(&g, &["PING"]), Ok(()));
    let err = check(&g, &["MSET", "app:1", "v", "other", "w"]).unwrap_err();
    assert_eq!(
        err,
        "key `other` of MSET is outside the keys granted (`app:*`, `shared`), refused on redis target `default` for scenario `x`: add `redis = [{ target = \"default\", commands = [\"+@scripting\"], keys = [\"app:*\", \"shared\", \"other\"] }]` to its grants"
    );
    let err = check(&g, &["EVAL", "return 1", "1", "sessions:1"]).unwrap_err();
    assert!(err.starts_with("key `sessions:1` of EVAL"), "{err}");
    let err = check(&g, &["EVAL", "return 1", "x"]).unwrap_err();
    assert!(
        err.contains("cannot have its keys checked (argument 2 is not a number of keys)"),
        "{err}"
    );
    let err = check(&g, &["XREAD", "STREAMS", "app:s", "other:s", "0", "0"]).unwrap_err();
    assert!(err.starts_with("key `other:s` of XREAD"), "{err}");
    let long = format!("app:{}", "x".repeat(MAX_CHECKED_KEY_LEN));
    let err = check(&g, &["GET", &long]).unwrap_err();
    assert!(
        err.starts_with("a key of GET is 65540 bytes, longer than the 65536"),
        "{err}"
    );
    // Glob characters in a key are escaped in the suggested pattern.
    let err = check(&g, &["GET", "a*b"]).unwrap_err();
    assert!(err.contains(r#""a\\*b""#), "{err}");
}

#[test]
fn clear_prefix_must_lie_inside_a_granted_pattern() {
    let g = grant(&[], &[], Some(&["app:*"]));
    let guard = g.guard("x", "default");
    assert_eq!(guard.check_prefix("app:sess:"), Ok(()));
    assert_eq!(guard.check_prefix("app:"), Ok(()));
    let err = guard.check_prefix("app").unwrap_err().to_string();
    assert!(
        err.starts_with("clear-prefix `app` reaches keys outside the keys granted (`app:*`)"),
        "{err}"
    );
    assert!(err.contains(r#"keys = ["app:*", "app*"]"#), "{err}");
    assert_eq!(
        RedisGrant::data_only().guard("x", "d").check_prefix("any"),
        Ok(())
    );
}

fn spec(mix: Vec<(&str, Op)>, prefix: &str) -> LoadSpec {
    LoadSpec {
        workers: 1,
        amount: Amount::OpsPerWorker(1),
        warmup: Amount::OpsPerWorker(0),
        model: Model::Closed,
        mix: mix
            .into_iter()
            .map(|(name, op)| MixEntry {
                name: name.into(),
                op,
                weight: 1,
            })
            .collect(),
        value: b"v".to_vec(),
        key_prefix: prefix.into(),
        key_count: 10,
        key_pattern: KeyPattern::Uniform,
        pipeline: 1,
        connections: Connections::PerWorker,
        timeout: Duration::from_secs(1),
        threads: 1,
        seed: 1,
        first_worker: 0,
        all_workers: 0,
    }
}

fn raw(args: &[&str]) -> Op {
    Op::Raw(args.iter().map(|a| load::parse_template(a)).collect())
}

fn check_load(g: &RedisGrant, s: &LoadSpec) -> Result<(), String> {
    g.check_load(s, "x", "default").map_err(|r| r.to_string())
}

#[test]
fn load_ops_are_checked_once_like_calls() {
    let g = RedisGrant::data_only();
    let ok = spec(
        vec![
            ("set", Op::Set),
            ("get", Op::Get),
            ("hset", raw(&["HSET", "h:{key}", "f", "{value}"])),
        ],
        "p:",
    );
    assert_eq!(check_load(&g, &ok), Ok(()));
    let err = check_load(&g, &spec(vec![("wipe", raw(&["FLUSHALL"]))], "p:")).unwrap_err();
    assert!(
        err.starts_with("FLUSHALL in run-load op `wipe` is a @dangerous command, refused on redis target `default` for scenario `x`"),
        "{err}"
    );
    let err = check_load(
        &g,
        &spec(
            vec![("cfg", raw(&["config", "set", "requirepass", "x"]))],
            "p:",
        ),
    )
    .unwrap_err();
    assert!(err.starts_with("CONFIG SET in run-load op `cfg`"), "{err}");
    let err = check_load(&g, &spec(vec![("t", raw(&["{key}"]))], "p:")).unwrap_err();
    assert!(err.contains("is a `{key}` template"), "{err}");
    let err = check_load(&g, &spec(vec![("t", raw(&["CONFIG", "{key}"]))], "p:")).unwrap_err();
    assert!(err.starts_with("argument 1 of run-load op `t`"), "{err}");
}

#[test]
fn load_key_spaces_and_literal_keys_must_lie_inside_granted_patterns() {
    let g = grant(&["+@scripting"], &[], Some(&["app:*"]));
    let inside = spec(
        vec![
            ("set", Op::Set),
            ("hset", raw(&["HSET", "{key}:h", "f", "{value}"])),
            ("copy", raw(&["COPY", "{key}", "app:fixed"])),
            ("eval", raw(&["EVAL", "return 1", "1", "{key}"])),
        ],
        "app:load:",
    );
    assert_eq!(check_load(&g, &inside), Ok(()));
    let err = check_load(&g, &spec(vec![("get", Op::Get)], "other:")).unwrap_err();
    assert!(
        err.starts_with("key space `other:` (`{key}`) of GET in run-load op `get` reaches keys outside the keys granted (`app:*`)"),
        "{err}"
    );
    assert!(err.contains(r#"keys = ["app:*", "other:*"]"#), "{err}");
    // A literal prefix before `{key}` counts.
    let err = check_load(
        &g,
        &spec(vec![("h", raw(&["HSET", "x{key}", "f", "v"]))], "app:"),
    )
    .unwrap_err();
    assert!(err.starts_with("key space `xapp:`"), "{err}");
    let err = check_load(
        &g,
        &spec(vec![("c", raw(&["COPY", "{key}", "elsewhere"]))], "app:"),
    )
    .unwrap_err();
    assert!(
        err.starts_with("key `elsewhere` of COPY in run-load op `c`"),
        "{err}"
    );
    // The number of keys may not be a template.
    let err = check_load(
        &g,
        &spec(vec![("e", raw(&["EVAL", "return 1", "{key}"]))], "app:"),
    )
    .unwrap_err();
    assert!(
        err.contains("argument 2 decides where the keys are"),
        "{err}"
    );
}

#[test]
fn describe_lists_what_the_grant_changes() {
    assert!(RedisGrant::data_only().is_data_only());
    let g = grant(&["+flushdb", "-@write"], &["json.set"], Some(&["app:*"]));
    assert_eq!(
        g.describe(),
        "+flushdb -@write +json.set (extra) keys app:*"
    );
}
