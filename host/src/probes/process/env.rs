//! The environment a child starts with. It is empty except for: the safe
//! variables the guest sets ([`SAFE`]), the variables the catalog grants by
//! exact name (`env = ["NAME"]`), and, with `inherit-env = true`, rigor's own
//! environment minus the injection variables ([`injection`]). Anything else
//! the guest sets is `denied` with the grant line to add.
//!
//! Why: a granted program is only as harmless as its environment. With
//! `LD_PRELOAD`, `PYTHONSTARTUP`, `BASH_ENV`, `NODE_OPTIONS` and the like a
//! guest makes `pwd` or `python3` run code it wrote into its scratch
//! directory, as the host's user. `PATH` and `HOME` are in the safe set but
//! may not point into a directory the guest can write (a `#!/usr/bin/env
//! python3` script would run the guest's `python3`; Python loads `.pth`
//! files from `$HOME/.local`).

use std::path::{Component, Path, PathBuf};

use crate::policy::Policy;
use crate::probes::ProbeError;

/// Variables a guest may set without a grant: locale, time zone, terminal,
/// temporary directory, user name, and `PATH`/`HOME` (whose values are
/// checked, see [`check_value`]). None of them names code to load.
pub const SAFE: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "TZ",
    "TERM",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "LC_MONETARY",
    "LC_MESSAGES",
    "USER",
    "LOGNAME",
];

/// Most variables a guest may pass to one command. The kernel refuses an
/// argument and environment block past a quarter of the stack limit anyway;
/// this bound keeps the host's per-spawn copy small and the error clear.
pub const MAX_GUEST_VARS: usize = 256;

/// Name prefixes of injection variables, with what they do.
const INJECTION_PREFIXES: &[(&str, &str)] = &[
    ("LD_", "it makes the dynamic loader load or trace libraries"),
    ("DYLD_", "it makes the dynamic loader load libraries"),
    (
        "MALLOC_",
        "it changes glibc's allocator and can write files",
    ),
    ("BASH_FUNC_", "bash imports it as a function"),
];

/// Injection variables by exact name, with what they do.
const INJECTION_NAMES: &[(&str, &str)] = &[
    ("GLIBC_TUNABLES", "it changes glibc's behaviour"),
    ("GCONV_PATH", "glibc loads character-set modules from it"),
    ("GETCONF_DIR", "glibc runs helper programs from it"),
    ("LOCPATH", "glibc loads locale data from it"),
    ("NLSPATH", "glibc loads message catalogs from it"),
    ("HOSTALIASES", "glibc's resolver reads it"),
    ("RES_OPTIONS", "it changes glibc's resolver"),
    ("LOCALDOMAIN", "it changes glibc's resolver"),
    ("RESOLV_HOST_CONF", "glibc's resolver reads it"),
    ("NIS_PATH", "glibc's NIS client reads it"),
    ("TZDIR", "glibc loads time-zone data from it"),
    ("BASH_ENV", "bash runs the file it names"),
    ("ENV", "sh runs the file it names"),
    ("SHELLOPTS", "it turns on shell options such as xtrace"),
    ("BASHOPTS", "it turns on bash options"),
    (
        "PS4",
        "the shell expands it, running commands, under xtrace",
    ),
    ("PROMPT_COMMAND", "bash runs it"),
    ("IFS", "it changes how the shell splits words"),
    ("PYTHONSTARTUP", "Python runs the file it names"),
    ("PYTHONPATH", "Python imports modules from it"),
    ("PYTHONHOME", "Python loads its standard library from it"),
    (
        "PYTHONUSERBASE",
        "Python imports modules and .pth files from it",
    ),
    ("PYTHONPLATLIBDIR", "Python imports modules from it"),
    (
        "PYTHONEXECUTABLE",
        "it changes which interpreter Python reports",
    ),
    ("PYTHONBREAKPOINT", "Python imports the callable it names"),
    (
        "PYTHONWARNINGS",
        "Python imports the warning categories it names",
    ),
    (
        "NODE_OPTIONS",
        "Node.js takes options such as --require from it",
    ),
    ("NODE_PATH", "Node.js loads modules from it"),
    (
        "NODE_REPL_EXTERNAL_MODULE",
        "Node.js loads the module it names",
    ),
    ("PERL5OPT", "Perl takes options such as -M from it"),
    ("PERL5LIB", "Perl loads modules from it"),
    ("PERLLIB", "Perl loads modules from it"),
    ("PERL5DB", "Perl runs it as its debugger"),
    ("RUBYOPT", "Ruby takes options such as -r from it"),
    ("RUBYLIB", "Ruby loads libraries from it"),
    (
        "JAVA_TOOL_OPTIONS",
        "the JVM takes options such as -javaagent from it",
    ),
    (
        "_JAVA_OPTIONS",
        "the JVM takes options such as -javaagent from it",
    ),
    (
        "JDK_JAVA_OPTIONS",
        "the java launcher takes options from it",
    ),
    ("CLASSPATH", "the JVM loads classes from it"),
    ("LUA_INIT", "Lua runs it"),
    ("LUA_PATH", "Lua loads modules from it"),
    ("LUA_CPATH", "Lua loads native modules from it"),
    (
        "PHPRC",
        "PHP reads its configuration, and extensions, from it",
    ),
    ("PHP_INI_SCAN_DIR", "PHP reads configuration from it"),
    (
        "OPENSSL_CONF",
        "OpenSSL loads engines and providers named there",
    ),
    ("OPENSSL_ENGINES", "OpenSSL loads engines from it"),
    ("OPENSSL_MODULES", "OpenSSL loads providers from it"),
    ("GTK_MODULES", "GTK loads modules it names"),
    ("GIO_EXTRA_MODULES", "GIO loads modules from it"),
    ("QT_PLUGIN_PATH", "Qt loads plugins from it"),
];

/// What an injection variable does, if `name` is one: loader and
/// interpreter variables that make a program load or run code they name.
pub fn injection(name: &str) -> Option<&'static str> {
    INJECTION_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .or_else(|| INJECTION_PREFIXES.iter().find(|(p, _)| name.starts_with(p)))
        .map(|(_, why)| *why)
}

/// Whether `name` is in the safe set.
pub fn is_safe(name: &str) -> bool {
    SAFE.contains(&name)
}

/// Reads one `env` grant of the catalog: a variable name, exactly.
pub fn grant_name(text: &str) -> Result<String, String> {
    if text.is_empty() || text.trim() != text || text.contains(['=', '\0', '*']) {
        return Err(format!(
            "env grant `{text}` is not a variable name; name one variable exactly (`env = [\"APP_ENV\"]`), without `=`, `*` or spaces"
        ));
    }
    Ok(text.to_owned())
}

/// The directories the guest can write: where it could place a program or
/// a library for a path variable to pick up.
#[derive(Debug, Clone, Default)]
pub struct Writable(Vec<PathBuf>);

impl Writable {
    /// The work directory and every directory granted `rw`.
    pub fn of(policy: &Policy, work: &Path) -> Self {
        let mut dirs = vec![work.to_owned()];
        dirs.extend(
            policy
                .grants()
                .dirs
                .iter()
                .filter(|d| d.mode == crate::probes::fs::DirMode::ReadWrite)
                .map(|d| d.path.clone()),
        );
        // The same directories through their symlinks resolved, so an entry
        // spelled either way is caught.
        let resolved: Vec<PathBuf> = dirs
            .iter()
            .filter_map(|d| std::fs::canonicalize(d).ok())
            .collect();
        dirs.extend(resolved);
        Self(dirs)
    }

    /// The writable directory `path` lies in, if any.
    fn containing(&self, path: &Path) -> Option<&Path> {
        let lexical = normalize(path);
        let resolved = std::fs::canonicalize(path).ok();
        self.0
            .iter()
            .find(|dir| {
                lexical.starts_with(dir) || resolved.as_ref().is_some_and(|r| r.starts_with(dir))
            })
            .map(PathBuf::as_path)
    }
}

/// `path` with `.` and `..` applied lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Checks the value of a safe variable: `PATH` entries and `HOME` must be
/// absolute and outside the guest's writable directories. Returns why not.
fn check_value(name: &str, value: &str, writable: &Writable) -> Result<(), String> {
    let entries: Vec<&str> = match name {
        "PATH" => value.split(':').collect(),
        "HOME" => vec![value],
        _ => return Ok(()),
    };
    for entry in entries {
        let path = Path::new(entry);
        if !path.is_absolute() {
            return Err(format!(
                "its entry `{entry}` is not absolute, so it would be looked up in the work directory"
            ));
        }
        if let Some(dir) = writable.containing(path) {
            return Err(format!(
                "its entry `{entry}` is inside `{}`, which the scenario can write, so a program could load code the guest put there",
                dir.display()
            ));
        }
    }
    Ok(())
}

/// Checks the names of the variables the guest passes against the rules
/// and the grants. Needs no work directory, so a denied command creates
/// nothing.
pub fn check_names(policy: &Policy, vars: &[(String, String)]) -> Result<(), ProbeError> {
    if vars.len() > MAX_GUEST_VARS {
        return Err(ProbeError::Invalid(format!(
            "{} environment variables given; the limit is {MAX_GUEST_VARS}",
            vars.len()
        )));
    }
    for (name, value) in vars {
        if name.is_empty() || name.contains(['=', '\0']) {
            return Err(ProbeError::Invalid(format!(
                "environment variable name `{}` is empty or contains `=` or NUL",
                name.escape_debug()
            )));
        }
        if value.contains('\0') {
            return Err(ProbeError::Invalid(format!(
                "the value of environment variable `{name}` contains a NUL byte"
            )));
        }
        if policy.env_granted(name) || is_safe(name) {
            continue;
        }
        let why = match injection(name) {
            Some(does) => format!("{does}, so it can make a granted program run code the scenario chose"),
            None => "only the safe set (PATH, HOME, TMPDIR, TZ, TERM, LANG, LANGUAGE, LC_*, USER, LOGNAME) may be set without a grant".to_owned(),
        };
        policy.check_env(name, &why)?;
    }
    Ok(())
}

/// Checks the values of the safe variables the guest passes (placeholders
/// filled): `PATH` and `HOME` may not point where the guest can write,
/// unless granted by name.
pub fn check_values(
    policy: &Policy,
    writable: &Writable,
    vars: &[(String, String)],
) -> Result<(), ProbeError> {
    for (name, value) in vars {
        if policy.env_granted(name) {
            continue;
        }
        if let Err(why) = check_value(name, value, writable) {
            policy.check_env(name, &why)?;
        }
    }
    Ok(())
}

/// Both checks, for tests and callers that have the work directory.
#[cfg(test)]
fn check_guest(
    policy: &Policy,
    writable: &Writable,
    vars: &[(String, String)],
) -> Result<(), ProbeError> {
    check_names(policy, vars)?;
    check_values(policy, writable, vars)
}

/// The child's whole environment: with `inherit`, rigor's environment minus
/// the injection variables not granted by name; then the guest's variables
/// (already checked by [`check_guest`]), the last value of a name winning.
pub fn build(
    policy: &Policy,
    inherit: bool,
    guest: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = if inherit {
        inherited(|name| policy.env_granted(name))
    } else {
        Vec::new()
    };
    for (name, value) in guest {
        env.retain(|(n, _)| *n != name);
        env.push((name, value));
    }
    env
}

/// rigor's own environment without the injection variables, except those
/// `granted` by name. Variables that are not UTF-8 are left out.
pub fn inherited(granted: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    let host = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    without_injection(host, granted)
}

/// `vars` without the injection variables not `granted` by name.
fn without_injection(
    vars: impl Iterator<Item = (String, String)>,
    granted: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    vars.filter(|(k, _)| injection(k).is_none() || granted(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Grants;

    fn policy(env: &[&str]) -> Policy {
        let grants = Grants {
            env: env.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        Policy::new("env-test", grants)
    }

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn denied(r: Result<(), ProbeError>) -> String {
        match r {
            Err(ProbeError::Denied(m)) => m,
            other => panic!("expected denied, got {other:?}"),
        }
    }

    #[test]
    fn injection_variables_are_known_by_name_and_prefix() {
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "LD_AUDIT",
            "DYLD_INSERT_LIBRARIES",
            "PYTHONSTARTUP",
            "PYTHONPATH",
            "PYTHONHOME",
            "NODE_OPTIONS",
            "PERL5OPT",
            "PERL5LIB",
            "RUBYOPT",
            "BASH_ENV",
            "ENV",
            "GCONV_PATH",
            "MALLOC_CHECK_",
            "GLIBC_TUNABLES",
            "BASH_FUNC_ls%%",
        ] {
            assert!(injection(name).is_some(), "{name}");
        }
        for name in ["PATH", "LANG", "APP_ENV", "PORT", "LD", "ENVIRONMENT"] {
            assert!(injection(name).is_none(), "{name}");
        }
    }

    #[test]
    fn injection_and_unknown_variables_are_denied_with_the_grant_line() {
        let work = tempfile::tempdir().unwrap();
        let w = Writable::of(&policy(&[]), work.path());
        let m = denied(check_guest(
            &policy(&[]),
            &w,
            &vars(&[("LD_PRELOAD", "/tmp/evil.so")]),
        ));
        assert!(m.contains("environment variable `LD_PRELOAD`"), "{m}");
        assert!(m.contains("dynamic loader"), "{m}");
        assert!(m.contains(r#"add `env = ["LD_PRELOAD"]`"#), "{m}");
        let m = denied(check_guest(&policy(&[]), &w, &vars(&[("APP_ENV", "prod")])));
        assert!(m.contains("environment variable `APP_ENV`"), "{m}");
        assert!(m.contains("safe set"), "{m}");
        assert!(m.contains(r#"env = ["APP_ENV"]"#), "{m}");
        // Granted by exact name: any value passes, injection or not.
        let granted = policy(&["LD_PRELOAD", "APP_ENV"]);
        check_guest(
            &granted,
            &w,
            &vars(&[("LD_PRELOAD", "/x.so"), ("APP_ENV", "prod")]),
        )
        .unwrap();
        // A grant names one variable, not a family.
        let m = denied(check_guest(
            &granted,
            &w,
            &vars(&[("LD_LIBRARY_PATH", "/x")]),
        ));
        assert!(m.contains(r#"env = ["LD_LIBRARY_PATH"]"#), "{m}");
    }

    #[test]
    fn safe_variables_pass_unless_a_path_points_where_the_guest_writes() {
        let work = tempfile::tempdir().unwrap();
        let p = policy(&[]);
        let w = Writable::of(&p, work.path());
        check_guest(
            &p,
            &w,
            &vars(&[
                ("TZ", "UTC"),
                ("LANG", "C.UTF-8"),
                ("TERM", "dumb"),
                ("PATH", "/usr/bin:/bin"),
                ("HOME", "/nonexistent"),
                ("TMPDIR", &work.path().display().to_string()),
            ]),
        )
        .unwrap();
        let inside = format!("/usr/bin:{}/bin", work.path().display());
        let m = denied(check_guest(&p, &w, &vars(&[("PATH", &inside)])));
        assert!(m.contains("which the scenario can write"), "{m}");
        assert!(m.contains(r#"env = ["PATH"]"#), "{m}");
        let sneaky = format!("/usr/{}/../..{}", "bin", work.path().display());
        let m = denied(check_guest(&p, &w, &vars(&[("HOME", &sneaky)])));
        assert!(m.contains("`HOME`"), "{m}");
        let m = denied(check_guest(&p, &w, &vars(&[("PATH", "/usr/bin::bin")])));
        assert!(m.contains("not absolute"), "{m}");
        // Granted by name, the value is the catalog author's call.
        check_guest(&policy(&["PATH"]), &w, &vars(&[("PATH", &inside)])).unwrap();
    }

    #[test]
    fn bad_names_values_and_counts_are_invalid() {
        let p = policy(&[]);
        let w = Writable::default();
        for bad in [
            vars(&[("A=B", "1")]),
            vars(&[("", "1")]),
            vars(&[("TZ", "a\0b")]),
        ] {
            assert!(
                matches!(check_guest(&p, &w, &bad), Err(ProbeError::Invalid(_))),
                "{bad:?}"
            );
        }
        let many: Vec<(String, String)> = (0..=MAX_GUEST_VARS)
            .map(|_| ("TZ".to_owned(), "UTC".to_owned()))
            .collect();
        let err = check_guest(&p, &w, &many).unwrap_err();
        assert!(err.to_string().contains("limit is 256"), "{err}");
    }

    #[test]
    fn the_inherited_environment_loses_injection_variables_unless_granted() {
        let host = vars(&[
            ("PATH", "/usr/bin"),
            ("LD_PRELOAD", "/x.so"),
            ("PYTHONPATH", "/y"),
            ("APP_ENV", "dev"),
        ]);
        let keep = |granted: &[&str]| -> Vec<String> {
            without_injection(host.clone().into_iter(), |n| granted.contains(&n))
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        assert_eq!(keep(&[]), ["PATH", "APP_ENV"]);
        assert_eq!(keep(&["PYTHONPATH"]), ["PATH", "PYTHONPATH", "APP_ENV"]);
        // The real environment of this test process goes through the same
        // filter.
        assert!(
            inherited(|_| false)
                .iter()
                .all(|(k, _)| injection(k).is_none())
        );
    }

    #[test]
    fn guest_values_override_inherited_ones() {
        let env = build(&policy(&[]), false, vars(&[("TZ", "UTC"), ("TZ", "CET")]));
        assert_eq!(env, vars(&[("TZ", "CET")]));
    }

    #[test]
    fn env_grants_are_single_names() {
        assert_eq!(grant_name("APP_ENV").unwrap(), "APP_ENV");
        for bad in ["", " A", "A=1", "LD_*"] {
            assert!(grant_name(bad).is_err(), "{bad}");
        }
    }
}
