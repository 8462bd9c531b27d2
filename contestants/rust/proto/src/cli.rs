//! cli.rs: the command line every Rust contestant shares, parsed one way, with
//! the flags and defaults of common/server_opts.c plus the io kinds' flags.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::workload::{
    self, Io, State, Workload, BYTES_MAX, FILE_KIB_RULE, SHARE_US_DEFAULT, SHARE_US_MAX,
    WAIT_US_MAX, WORK_US_MAX,
};

pub const BACKLOG_DEFAULT: u32 = 4096; // SERVER_BACKLOG_DEFAULT
pub const IDLE_TIMEOUT_DEFAULT: u32 = 60_000; // ms, SERVER_IDLE_TIMEOUT_DEFAULT
pub const UPSTREAM_TIMEOUT_DEFAULT: u32 = 5000; // ms
pub const GRACE_MS_DEFAULT: u32 = 5000; // --grace-ms: a stop's wait for requests in flight
pub const GRACE_MS_MAX: u32 = 600_000; // 10 min
pub const WORKERS_MAX: u32 = 1024;
/// rust_thread_server's smallest --stack-kib: the connection's own state
/// takes ~8 KiB, std the rest.
pub const STACK_KIB_MIN: u32 = 32;

/// The Tokio runtime flavour (tokio_server only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    Current,
    Multi,
}

/// The backend of io=net: where to connect and what to send as Host.
#[derive(Clone, Debug)]
pub struct Upstream {
    pub addr: SocketAddr,
    pub host_header: String, // HOST:PORT as given
}

#[derive(Clone, Debug)]
pub struct Opts {
    pub host: String,
    pub port: u16, // 0: the kernel picks one
    pub defaults: Workload,
    pub backlog: u32,
    pub idle_timeout_ms: u32, // 0: never
    pub workers: u32,         // 0: not given; what it means is each server's own
    pub stack_kib: u32,       // rust_thread_server; 0: Rust's default
    pub runtime: Runtime,     // tokio_server
    pub upstream: Option<Upstream>,
    pub upstream_timeout_ms: u32,
    pub data_file: Option<String>,
    pub grace_ms: u32, // at SIGTERM: how long requests in flight get to finish
}

/// Which of the flags only some servers take this program accepts.
pub struct Extra {
    pub stack_kib: bool,
    pub runtime: bool,
}

pub enum Parsed {
    Run(Opts),
    Help,
    Error(String), // names the bad flag; exit 2
}

/// The lines of --help every contestant shares (after its own description).
pub fn common_usage() -> String {
    format!(
        "  --host ADDR            address to bind (default 127.0.0.1)
  --port N               port; 0 lets the kernel pick (default 0)
  --wait-us N            default wait per request, 0..{WAIT_US_MAX} (default 0)
  --work-us N            default CPU per request, 0..{WORK_US_MAX} (default 0)
  --bytes N              default body length, 0..{BYTES_MAX} (default 64)
  --backlog N            listen backlog (default {BACKLOG_DEFAULT}; capped by somaxconn)
  --idle-timeout-ms N    close a connection that sends no whole request this
                         long; 0 never (default {IDLE_TIMEOUT_DEFAULT})
  --io timer|net|file    default wait kind (query key io=; default timer):
                         timer  wait_us on a timer
                         net    GET /?wait_us=W&work_us=0&bytes=0 to --upstream,
                                answered once the backend's whole answer is in;
                                one keep-alive backend connection per client
                                connection, opened at its first io=net request
                         file   file_kib KiB read with O_DIRECT at a random 4 KiB
                                aligned offset of --data-file (wait_us unused)
  --upstream HOST:PORT   the io=net backend (loopback only, unless --allow-remote)
  --allow-remote         allow an --upstream that is not a loopback address
  --upstream-timeout-ms N  connect + answer bound of a backend request; past it
                         502 (default {UPSTREAM_TIMEOUT_DEFAULT})
  --data-file PATH       the io=file data file: a regular file of at least
                         1024 KiB on a filesystem that supports O_DIRECT
  --file-kib K           default KiB per io=file read, {FILE_KIB_RULE} (default 4;
                         query key file_kib=)
  --state none|shared    shared: each request updates the table every connection
                         of the process shares, under key=KEY (1..32 of A-Z a-z
                         0-9 _ . -; default -), and its answer says the key's
                         count (X-Shared-Count); a full table (1024 keys)
                         answers 503 (query key state=; default none)
  --share-us N           CPU spent inside each update, between reading the key's
                         count and writing it back, 0..{SHARE_US_MAX} (query key
                         share_us=; default {SHARE_US_DEFAULT})
  --grace-ms MS          at SIGTERM/SIGINT: how long requests in flight get to be
                         answered before they are cut, 0..{GRACE_MS_MAX} (default {GRACE_MS_DEFAULT})
"
    )
}

fn number(flag: &str, value: &str, min: u32, max: u32) -> Result<u32, String> {
    match workload::parse_u32(value, max) {
        Some(v) if v >= min => Ok(v),
        _ => Err(format!(
            "--{flag}: '{value}' is not an integer from {min} to {max}"
        )),
    }
}

/// "127.0.0.1:8080", "localhost:80", "[::1]:80": resolved now, loopback only
/// unless allow_remote.
pub fn parse_upstream(value: &str, allow_remote: bool) -> Result<Upstream, String> {
    let colon = value
        .rfind(':')
        .filter(|&i| i > 0 && i + 1 < value.len())
        .ok_or_else(|| {
            format!("--upstream: '{value}' is not HOST:PORT (for example 127.0.0.1:8081)")
        })?;
    let port = match workload::parse_u32(&value[colon + 1..], 65535) {
        Some(p) if p > 0 => p as u16,
        _ => {
            return Err(format!(
                "--upstream: '{value}' needs a port from 1 to 65535"
            ))
        }
    };
    let host = value[..colon].trim_start_matches('[').trim_end_matches(']');
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("--upstream: cannot resolve '{host}': {e}"))?
        .next()
        .ok_or_else(|| format!("--upstream: '{host}' has no address"))?;
    if !allow_remote && !addr.ip().is_loopback() {
        return Err(format!(
            "--upstream {value} is {}, not a loopback address: the suite's load stays on \
             this machine (add --allow-remote to use another host)",
            addr.ip()
        ));
    }
    Ok(Upstream {
        addr,
        host_header: value.to_string(),
    })
}

/// Parses argv (without the program name). Flags take `--flag VALUE` or
/// `--flag=VALUE`.
pub fn parse(args: &[String], extra: &Extra) -> Parsed {
    match parse_inner(args, extra) {
        Ok(Some(o)) => Parsed::Run(o),
        Ok(None) => Parsed::Help,
        Err(e) => Parsed::Error(e),
    }
}

fn parse_inner(args: &[String], extra: &Extra) -> Result<Option<Opts>, String> {
    let mut o = Opts {
        host: "127.0.0.1".to_string(),
        port: 0,
        defaults: Workload::default(),
        backlog: BACKLOG_DEFAULT,
        idle_timeout_ms: IDLE_TIMEOUT_DEFAULT,
        workers: 0,
        stack_kib: 0,
        runtime: Runtime::Current,
        upstream: None,
        upstream_timeout_ms: UPSTREAM_TIMEOUT_DEFAULT,
        data_file: None,
        grace_ms: GRACE_MS_DEFAULT,
    };
    let mut upstream_arg: Option<String> = None;
    let mut allow_remote = false;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        if arg == "--allow-remote" {
            allow_remote = true;
            i += 1;
            continue;
        }
        if !arg.starts_with("--") || arg.len() == 2 {
            return Err(format!("unexpected argument '{arg}' (try --help)"));
        }
        let (flag, value) = match arg.find('=') {
            Some(eq) => (arg[2..eq].to_string(), arg[eq + 1..].to_string()),
            None => {
                i += 1;
                match args.get(i) {
                    Some(v) => (arg[2..].to_string(), v.clone()),
                    None => return Err(format!("{arg} needs a value (try --help)")),
                }
            }
        };
        let f = flag.as_str();
        match f {
            "host" => o.host = value,
            "port" => o.port = number(f, &value, 0, 65535)? as u16,
            "wait-us" => o.defaults.wait_us = number(f, &value, 0, WAIT_US_MAX)?,
            "work-us" => o.defaults.work_us = number(f, &value, 0, WORK_US_MAX)?,
            "bytes" => o.defaults.bytes = number(f, &value, 0, BYTES_MAX)?,
            "backlog" => o.backlog = number(f, &value, 0, 1 << 20)?,
            "idle-timeout-ms" => o.idle_timeout_ms = number(f, &value, 0, 24 * 3600 * 1000)?,
            "workers" => o.workers = number(f, &value, 1, WORKERS_MAX)?,
            "stack-kib" if extra.stack_kib => {
                o.stack_kib = number(f, &value, 0, 1 << 20)?;
                if o.stack_kib > 0 && o.stack_kib < STACK_KIB_MIN {
                    return Err(format!(
                        "--stack-kib {} is below {STACK_KIB_MIN} KiB, too small for a connection \
                         thread (use 0 for Rust's default)",
                        o.stack_kib
                    ));
                }
            }
            "runtime" if extra.runtime => {
                o.runtime = match value.as_str() {
                    "current" => Runtime::Current,
                    "multi" => Runtime::Multi,
                    _ => return Err(format!("--runtime: '{value}' is neither current nor multi")),
                }
            }
            "io" => {
                o.defaults.io = Io::parse(&value)
                    .ok_or_else(|| format!("--io: '{value}' is not timer, net or file"))?
            }
            "state" => {
                o.defaults.state = State::parse(&value)
                    .ok_or_else(|| format!("--state: '{value}' is neither none nor shared"))?
            }
            "share-us" => o.defaults.share_us = number(f, &value, 0, SHARE_US_MAX)?,
            "grace-ms" => o.grace_ms = number(f, &value, 0, GRACE_MS_MAX)?,
            "upstream" => upstream_arg = Some(value),
            "upstream-timeout-ms" => o.upstream_timeout_ms = number(f, &value, 1, 3_600_000)?,
            "data-file" => {
                if value.is_empty() {
                    return Err("--data-file needs a path".to_string());
                }
                o.data_file = Some(value)
            }
            "file-kib" => {
                o.defaults.file_kib = match workload::parse_u32(&value, u32::MAX) {
                    Some(v) if workload::file_kib_ok(v) => v,
                    _ => return Err(format!("--file-kib: '{value}' is not {FILE_KIB_RULE}")),
                }
            }
            _ => return Err(format!("unknown option '--{flag}' (try --help)")),
        }
        i += 1;
    }
    if let Some(u) = upstream_arg {
        o.upstream = Some(parse_upstream(&u, allow_remote)?);
    }
    if o.defaults.io == Io::Net && o.upstream.is_none() {
        return Err("--io net needs --upstream HOST:PORT (the backend to ask)".to_string());
    }
    if o.defaults.io == Io::File && o.data_file.is_none() {
        return Err("--io file needs --data-file PATH (the file to read)".to_string());
    }
    Ok(Some(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Extra = Extra {
        stack_kib: true,
        runtime: true,
    };

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn err(s: &str, extra: &Extra) -> String {
        match parse(&args(s), extra) {
            Parsed::Error(e) => e,
            _ => panic!("'{}' parsed", s),
        }
    }

    #[test]
    fn flags() {
        let o = match parse(
            &args(
                "--port=9 --io file --data-file /x --file-kib 8 --upstream 127.0.0.1:5 --workers 3 \
                 --state shared --share-us 0 --grace-ms 600000",
            ),
            &ALL,
        ) {
            Parsed::Run(o) => o,
            _ => panic!(),
        };
        assert_eq!(
            (o.port, o.defaults.io, o.defaults.file_kib, o.workers),
            (9, Io::File, 8, 3)
        );
        assert_eq!(o.upstream.unwrap().addr.port(), 5);
        assert_eq!(o.idle_timeout_ms, IDLE_TIMEOUT_DEFAULT);
        assert_eq!(
            (o.defaults.state, o.defaults.share_us, o.grace_ms),
            (State::Shared, 0, 600_000)
        );
    }

    #[test]
    fn refusals() {
        const NONE: Extra = Extra {
            stack_kib: false,
            runtime: false,
        };
        // (command line, flags taken, what the message must say)
        let cases: [(&str, &Extra, &str); 19] = [
            // a flag of another server
            ("--stack-kib 64", &NONE, "unknown option"),
            ("--runtime multi", &NONE, "unknown option"),
            // too small a thread stack, 0 excepted
            ("--stack-kib 16", &ALL, "below 32 KiB"),
            // file_kib: a multiple of 4 from 4 to 1024
            ("--file-kib 6", &ALL, "multiple of 4"),
            ("--file-kib 2048", &ALL, "multiple of 4"),
            // an io kind unknown, or without what it needs
            ("--io disk", &ALL, "--io"),
            ("--io net", &ALL, "--upstream"),
            ("--io file", &ALL, "--data-file"),
            // upstream: HOST:PORT, a port, loopback unless --allow-remote
            ("--upstream 127.0.0.1", &ALL, "HOST:PORT"),
            ("--upstream 127.0.0.1:0", &ALL, "port"),
            ("--upstream 192.0.2.1:80", &ALL, "--allow-remote"),
            // the shared state's and the stop's flags, out of range: never clamped
            ("--state global", &ALL, "--state"),
            ("--share-us 1000001", &ALL, "--share-us"),
            ("--grace-ms 600001", &ALL, "--grace-ms"),
            ("--grace-ms -1", &ALL, "--grace-ms"),
            // out of range, or no value
            ("--workers 0", &ALL, "--workers"),
            ("--port", &ALL, "needs a value"),
            ("--backlog -1", &ALL, "--backlog"),
            ("stray", &ALL, "unexpected argument"),
        ];
        for (line, extra, want) in cases {
            let e = err(line, extra);
            assert!(e.contains(want), "'{line}': '{e}' does not say '{want}'");
        }
        for ok in [
            "--upstream 192.0.2.1:80 --allow-remote",
            "--stack-kib 0",
            "--stack-kib 32",
        ] {
            assert!(
                matches!(parse(&args(ok), &ALL), Parsed::Run(_)),
                "'{ok}' refused"
            );
        }
        assert!(matches!(parse(&args("--help"), &ALL), Parsed::Help));
    }
}
