//! A redis grant is data access, not admin over the server: administrative
//! commands through `command()` and raw load ops are refused with `denied`
//! and the grant to add, keys outside a granted pattern are refused on every
//! path, and afterwards the server is exactly as it was. The same calls run
//! once the catalog grants them.

use std::net::TcpListener;

use rigor_tests::{ManagedRedis, process_alive, read_json, redis_cli, run_rigor, scenario};

const CATALOG: &str = "tests/fixtures/catalogs/sandbox-redis.toml";

/// Runs `name` from the sandbox catalog against `url`; the scenario's report.
fn run(name: &str, url: &str, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut args = vec![
        "run",
        "--catalog",
        CATALOG,
        name,
        "--redis",
        url,
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend(extra);
    let run = run_rigor(&args);
    let report = read_json(&json);
    let s = scenario(&report, name).clone();
    assert_eq!(s["status"], "passed", "{}\n{s:#}", run.describe());
    assert_eq!(run.code, 0, "{}", run.describe());
    s
}

/// The detail of check `name`, which must have passed.
fn passed<'a>(s: &'a serde_json::Value, name: &str) -> &'a str {
    let check = s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}`: {s:#}"));
    assert_eq!(check["passed"], true, "{check:#}");
    check["detail"].as_str().unwrap()
}

/// `INFO <section>` field `key`.
fn info(port: u16, section: &str, key: &str) -> String {
    redis_cli(port, &["INFO", section])
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in INFO {section}"))
        .to_owned()
}

/// Keys that must survive every hostile scenario, in two databases.
fn plant_sentinels(port: u16) {
    assert_eq!(redis_cli(port, &["SET", "sandbox:sentinel", "keep"]), "OK");
    assert_eq!(redis_cli(port, &["SET", "other:key", "keep"]), "OK");
    assert_eq!(
        redis_cli(port, &["-n", "1", "SET", "db1:key", "keep"]),
        "OK"
    );
}

fn assert_sentinels(port: u16) {
    assert_eq!(redis_cli(port, &["GET", "sandbox:sentinel"]), "keep");
    assert_eq!(redis_cli(port, &["GET", "other:key"]), "keep");
    assert_eq!(redis_cli(port, &["-n", "1", "GET", "db1:key"]), "keep");
}

/// Each hostile call: check name, the command as refused, why, the rule to add.
const REFUSED: &[(&str, &str, &str, &str)] = &[
    (
        "flushall",
        "FLUSHALL",
        "is a @dangerous command",
        "+flushall",
    ),
    ("flushdb", "FLUSHDB", "is a @dangerous command", "+flushdb"),
    (
        "config-set",
        "CONFIG SET",
        "is an @admin/@dangerous command",
        "+config|set",
    ),
    (
        "shutdown",
        "SHUTDOWN",
        "is an @admin/@dangerous command",
        "+shutdown",
    ),
    ("migrate", "MIGRATE", "is a @dangerous command", "+migrate"),
    (
        "replicaof",
        "REPLICAOF",
        "is an @admin/@dangerous command",
        "+replicaof",
    ),
    ("eval", "EVAL", "is a @scripting command", "+eval"),
    ("save", "SAVE", "is an @admin/@dangerous command", "+save"),
    (
        "debug-sleep",
        "DEBUG",
        "is an @admin/@dangerous command",
        "+debug",
    ),
    (
        "monitor",
        "MONITOR",
        "is an @admin/@dangerous command",
        "+monitor",
    ),
    (
        "client-kill",
        "CLIENT KILL",
        "is an @admin/@dangerous command",
        "+client|kill",
    ),
];

#[test]
fn administration_is_refused_on_every_path_and_the_server_is_untouched() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let port = redis.port();
    plant_sentinels(port);
    // MIGRATE and REPLICAOF would connect here: a host:port no grant allows.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let egress = listener.local_addr().unwrap().port().to_string();
    let dir = redis_cli(port, &["CONFIG", "GET", "dir"]);
    let dump = std::path::Path::new(dir.lines().nth(1).unwrap()).join("dump.rdb");
    let dump_before = dump.exists();
    let last_save = info(port, "persistence", "rdb_last_save_time");

    let port_param = format!("port={egress}");
    let s = run("redis-admin", &redis.url(), &["-p", &port_param]);

    let grant_line = |rule: &str| {
        format!(
            "refused on redis target `default` for scenario `redis-admin`: add `redis = [{{ target = \"default\", commands = [\"{rule}\"] }}]` to its grants"
        )
    };
    for (name, what, why, rule) in REFUSED {
        let detail = passed(&s, &format!("command {name}"));
        assert!(
            detail.starts_with(&format!("{what} {why}")),
            "{name}: {detail}"
        );
        assert!(detail.ends_with(&grant_line(rule)), "{name}: {detail}");
        let detail = passed(&s, &format!("run-load {name}"));
        assert!(
            detail.starts_with(&format!("{what} in run-load op `{name}` {why}")),
            "{name}: {detail}"
        );
        assert!(detail.ends_with(&grant_line(rule)), "{name}: {detail}");
    }
    // The run went on after the refusals.
    passed(&s, "data commands still run");

    // Nothing outside the scenario changed.
    assert!(process_alive(redis.pid()), "the server was shut down");
    assert_eq!(
        redis_cli(port, &["PING"]),
        "PONG",
        "the server is not answering (BUSY?)"
    );
    assert_sentinels(port);
    assert_eq!(
        redis_cli(port, &["CONFIG", "GET", "requirepass"]),
        "requirepass"
    );
    assert_eq!(info(port, "replication", "role"), "master");
    assert_eq!(info(port, "persistence", "rdb_last_save_time"), last_save);
    assert_eq!(
        dump.exists(),
        dump_before,
        "a dump file appeared at {}",
        dump.display()
    );
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the server connected to the test's listener"
    );
    // No load key was written: each load was refused before it ran.
    assert_eq!(redis_cli(port, &["KEYS", "sandbox:load:*"]), "");
}

#[test]
fn granted_administration_runs_and_stays_within_what_was_granted() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let port = redis.port();
    plant_sentinels(port);
    assert_eq!(
        redis_cli(port, &["-n", "3", "SET", "db3:key", "gone"]),
        "OK"
    );
    // Database 3: FLUSHDB empties it and nothing else.
    let s = run("redis-granted", &format!("{}/3", redis.url()), &[]);
    passed(&s, "short EVAL runs when granted");
    passed(&s, "FLUSHDB runs when granted");
    passed(&s, "FLUSHDB emptied the granted database");
    passed(&s, "EVAL runs in a load when granted");
    let flushall = passed(&s, "FLUSHALL is still refused");
    assert!(
        flushall.contains(r#"add `redis = [{ target = "default", commands = ["+flushdb", "+@scripting", "+flushall"] }]`"#),
        "{flushall}"
    );
    assert_sentinels(port);
    assert_eq!(redis_cli(port, &["-n", "3", "DBSIZE"]), "0");
}

#[test]
fn keys_outside_the_granted_pattern_are_refused_on_every_path() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let port = redis.port();
    plant_sentinels(port);
    let s = run("redis-keys", &redis.url(), &[]);
    for inside in [
        "set inside",
        "get inside",
        "command inside",
        "del inside",
        "clear-prefix inside",
        "run-load inside",
    ] {
        passed(&s, inside);
    }
    let tail = "refused on redis target `default` for scenario `redis-keys`: add `redis = [{ target = \"default\", keys = [\"app:*\", ";
    let outside = [
        (
            "set outside",
            "key `sandbox:sentinel` of SET is outside the keys granted (`app:*`)",
            "\"sandbox:sentinel\"] }]`",
        ),
        (
            "get outside",
            "key `sandbox:sentinel` of GET is outside the keys granted (`app:*`)",
            "\"sandbox:sentinel\"] }]`",
        ),
        (
            "del outside",
            "key `sandbox:sentinel` of DEL is outside the keys granted (`app:*`)",
            "\"sandbox:sentinel\"] }]`",
        ),
        (
            "command outside",
            "key `sandbox:sentinel` of MSET is outside the keys granted (`app:*`)",
            "\"sandbox:sentinel\"] }]`",
        ),
        (
            "clear-prefix outside",
            "clear-prefix `sandbox:` reaches keys outside the keys granted (`app:*`)",
            "\"sandbox:*\"] }]`",
        ),
        (
            "clear-prefix wider",
            "clear-prefix `app` reaches keys outside the keys granted (`app:*`)",
            "\"app*\"] }]`",
        ),
        (
            "run-load key space outside",
            "key space `sandbox:` (`{key}`) of DEL in run-load op `del` reaches keys outside the keys granted (`app:*`)",
            "\"sandbox:*\"] }]`",
        ),
        (
            "run-load literal key outside",
            "key `sandbox:sentinel` of COPY in run-load op `copy` is outside the keys granted (`app:*`)",
            "\"sandbox:sentinel\"] }]`",
        ),
    ];
    for (name, start, added) in outside {
        let detail = passed(&s, name);
        assert!(detail.starts_with(start), "{name}: {detail}");
        assert!(
            detail.contains(&format!("{tail}{added}")),
            "{name}: {detail}"
        );
    }
    assert_sentinels(port);
    // The guest cleaned its own keys; nothing of `app:` is left.
    assert_eq!(redis_cli(port, &["KEYS", "app:*"]), "");
}
