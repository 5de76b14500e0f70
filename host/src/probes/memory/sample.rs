//! Reading a process's memory from `/proc`. RSS comes from
//! `/proc/<pid>/statm` (one short line, ~7 µs a read here); PSS, USS and
//! swap from `/proc/<pid>/smaps_rollup` (precise but slower, walks the page
//! tables). `/proc` is read directly: the `sysinfo` crate reads the same
//! `statm` but lists all of `/proc` on every refresh (≈50 µs a call on the
//! development machine), see docs/probes/memory.md.

use std::io::Read;

/// Memory of one process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Resident set size.
    pub rss: u64,
    /// Proportional set size (shared pages divided among their users).
    pub pss: Option<u64>,
    /// Unique set size: private clean + private dirty pages.
    pub uss: Option<u64>,
    /// Swapped-out anonymous memory.
    pub swap: Option<u64>,
}

/// Why a process's memory could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SampleError {
    #[error("process {pid} does not exist (it exited, or the pid is wrong)")]
    Gone { pid: u32 },
    #[error("cannot read /proc/{pid}/{file}: {message}")]
    Unreadable {
        pid: u32,
        file: &'static str,
        message: String,
    },
}

fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| rustix::param::page_size() as u64)
}

fn read_small(pid: u32, file: &'static str, buf: &mut Vec<u8>) -> Result<(), SampleError> {
    buf.clear();
    let path = format!("/proc/{pid}/{file}");
    let result = std::fs::File::open(&path).and_then(|mut f| f.read_to_end(buf));
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SampleError::Gone { pid }),
        // ESRCH: the process exited between open and read.
        Err(e) if e.raw_os_error() == Some(3) => Err(SampleError::Gone { pid }),
        Err(e) => Err(SampleError::Unreadable {
            pid,
            file,
            message: e.to_string(),
        }),
    }
}

/// Resident set size of `pid`, from `statm`.
pub fn rss(pid: u32) -> Result<u64, SampleError> {
    let mut buf = Vec::with_capacity(64);
    read_small(pid, "statm", &mut buf)?;
    parse_statm(&buf)
        .map(|pages| pages * page_size())
        .ok_or_else(|| SampleError::Unreadable {
            pid,
            file: "statm",
            message: "unexpected format".into(),
        })
}

/// Resident pages (second field of `statm`).
pub fn parse_statm(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text)
        .ok()?
        .split_ascii_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// RSS, PSS, USS and swap of `pid`. Falls back to RSS alone when
/// `smaps_rollup` is missing (kernels before 4.14).
pub fn usage(pid: u32) -> Result<Usage, SampleError> {
    let mut buf = Vec::with_capacity(1024);
    match read_small(pid, "smaps_rollup", &mut buf) {
        Ok(()) => parse_smaps_rollup(&buf).ok_or_else(|| SampleError::Unreadable {
            pid,
            file: "smaps_rollup",
            message: "no `Rss:` line".into(),
        }),
        Err(SampleError::Gone { pid })
            if std::path::Path::new(&format!("/proc/{pid}")).exists() =>
        {
            Ok(Usage {
                rss: rss(pid)?,
                ..Usage::default()
            })
        }
        Err(e) => Err(e),
    }
}

/// Parses `smaps_rollup` (`Key:   123 kB` lines).
pub fn parse_smaps_rollup(text: &[u8]) -> Option<Usage> {
    let text = std::str::from_utf8(text).ok()?;
    let mut rss = None;
    let (mut pss, mut private, mut swap) = (None, 0u64, None);
    let mut saw_private = false;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let Some(kb) = rest
            .split_ascii_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        else {
            continue;
        };
        let bytes = kb * 1024;
        match key {
            "Rss" => rss = Some(bytes),
            "Pss" => pss = Some(bytes),
            "Private_Clean" | "Private_Dirty" => {
                private += bytes;
                saw_private = true;
            }
            "Swap" => swap = Some(bytes),
            _ => {}
        }
    }
    Some(Usage {
        rss: rss?,
        pss,
        uss: saw_private.then_some(private),
        swap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statm_and_smaps_rollup_parse() {
        assert_eq!(parse_statm(b"1000 250 100 1 0 200 0\n"), Some(250));
        assert_eq!(parse_statm(b"garbage"), None);
        let rollup = b"55f-7ff ---p 00000000 00:00 0 [rollup]\nRss:  1744 kB\nPss:  337 kB\nPrivate_Clean:  32 kB\nPrivate_Dirty:  112 kB\nSwap:  0 kB\n";
        let u = parse_smaps_rollup(rollup).unwrap();
        assert_eq!(u.rss, 1744 * 1024);
        assert_eq!(u.pss, Some(337 * 1024));
        assert_eq!(u.uss, Some(144 * 1024));
        assert_eq!(u.swap, Some(0));
    }

    #[test]
    fn the_host_itself_can_be_sampled() {
        let pid = std::process::id();
        let r = rss(pid).unwrap();
        assert!(r > 1024 * 1024, "rss {r}");
        let u = usage(pid).unwrap();
        assert!(u.rss > 0 && u.pss.is_some() && u.uss.is_some(), "{u:?}");
    }

    #[test]
    fn a_missing_process_is_gone() {
        // Pid numbers above pid_max (at most 2^22) never exist.
        assert_eq!(
            rss(u32::MAX - 1),
            Err(SampleError::Gone { pid: u32::MAX - 1 })
        );
    }
}
