//! tokio_micro: spawn and switch cost of Tokio tasks (both runtimes) and std
//! threads, written as the JSON of spawn_bench and switch_bench
//! (microbench/SCHEMA.md) so that the micro plots draw it beside the C figures.

mod json;
mod spawn;
mod spawn_points;
mod spawn_report;
mod switch;
mod switch_report;
mod sys;
mod wall;

use std::process::exit;

const PROG: &str = "tokio_micro";

const USAGE: &str =
    "usage: tokio_micro spawn [--kind KIND] (--count N | --counts N1,N2,...) [options]
       tokio_micro switch [--mech LIST | --kind task|thread] [options]
Spawn and switch cost of Tokio tasks and std threads, as spawn_bench's and
switch_bench's JSON (microbench/SCHEMA.md).

spawn: creates N waiting units, holds them, measures memory, tears them down.
  --kind KIND        tokio-timer  a task awaiting tokio::time::sleep 1e6 s away
                     tokio-chan   a task awaiting a oneshot receive that never fires
                     std-thread   a std::thread blocked on a condition variable
                     (default tokio-timer)
  --count N          one N (accepts 10k, 1M)
  --counts LIST      several N, ascending, in one run: memory per unit is the slope
  --state-bytes B    bytes of state each unit writes before its wait and reads
                     after it (inside the task's future; on the thread's stack):
                     0, 64, 128, 256, 512, 1024, 2048, 4096, 8192 or 16384
                     (default 256; 0: the unit holds nothing but its wait)
  --stack-kib K      std-thread stack in KiB (default: Rust's, 2048 or RUST_MIN_STACK)
  --hold-ms MS       hold the units this long at steady state (default 0)
  --until-failure    reaching a thread limit ends the run normally (the wall)
  What an idle unit holds: tokio-timer, its task (header, scheduler links, the
  future: the state and a timer-wheel entry) and a JoinHandle; tokio-chan, its
  task (the state and a oneshot receiver), the oneshot's shared cell, and a
  Sender and a JoinHandle kept by the creator; std-thread, its stack pages, its
  kernel stack and task struct, and a JoinHandle. Threads stop below the
  machine's limits (pid_max, threads-max, RLIMIT_NPROC, the pids cgroup,
  max_map_count at four maps a Rust thread, read at run time, a few percent
  left for everyone else): past max_map_count std aborts the process when a
  new thread cannot map its signal stack. The JSON's wall names the limit.

switch: passes a token around a ring of K units; reports ns per switch, minus
a one-thread baseline making a hop's calls with nobody to switch to.
  --mech LIST        comma list of: tokio-socketpair  tasks, a UnixStream pair each
                                    tokio-chan        tasks, a tokio mpsc channel each
                                    std-thread-socketpair  threads, a socketpair each
                                    std-thread-chan   threads, a std mpsc channel each
                     or all (default: all)
  --kind K           task = the two tokio ones; thread = the two std-thread ones
  --ring LIST        ring sizes K >= 2 (default 2,500)
  --iters N          passes measured per run (default 100000; accepts 10k, 1M)
  --warmup N         passes before measuring (default iters/10, at most 10000)
  --pin CPU          pin the process (every unit, every worker) to this CPU

both:
  --runtime current|multi   the Tokio runtime (default current); multi has one
                     worker per CPU this process may use (--workers N sets it)
  --workers N        worker threads of the multi runtime
  --json FILE        write the results as JSON (atomically)
  -h, --help         this text
Exit: 0 ok, 1 runtime failure (units not created, not torn down, or switches
not verified), 2 usage.
";

fn usage_error(msg: &str) -> ! {
    eprintln!("{PROG}: {msg} (try --help)");
    exit(2);
}

/// A flag's value parsed as T and kept if ok() says so, or a usage error
/// saying `rule`.
fn flag<T: std::str::FromStr>(k: &str, v: &str, ok: impl Fn(&T) -> bool, rule: &str) -> T {
    v.parse::<T>()
        .ok()
        .filter(|x| ok(x))
        .unwrap_or_else(|| usage_error(&format!("--{k}: '{v}' is not {rule}")))
}

/// "1000", "10k", "1M", "1e6", comma separated; each 1..max.
pub fn parse_counts(s: &str, cap: usize, max: u64) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let (num, mult) = match part.chars().last() {
            Some('k') | Some('K') => (&part[..part.len() - 1], 1e3),
            Some('m') | Some('M') => (&part[..part.len() - 1], 1e6),
            _ => (part, 1.0),
        };
        let v = num.parse::<f64>().ok()? * mult;
        if !(1.0..=max as f64).contains(&v) || v.fract() != 0.0 || out.len() == cap {
            return None;
        }
        out.push(v as u64);
    }
    Some(out)
}

pub struct Common {
    pub multi: bool,
    pub workers: usize,
    pub json: Option<String>,
}

impl Common {
    /// The params' "workers": the multi runtime's worker threads when
    /// --workers set them, else null.
    pub fn workers_json(&self) -> json::Json {
        if self.multi && self.workers > 0 {
            json::int(self.workers)
        } else {
            json::Json::Null
        }
    }

    /// The end of a run: doc written where --json asked, the runtime (if
    /// any) stopped. The exit code: 0 when the run was ok and written.
    pub fn finish(&self, doc: &json::Json, rt: Option<tokio::runtime::Runtime>, ok: bool) -> i32 {
        let written = json::write_asked(self.json.as_deref(), doc);
        if let Some(rt) = rt {
            rt.shutdown_background();
        }
        if ok && written {
            0
        } else {
            1
        }
    }
}

/// Flags as (name, value) pairs, `--flag VALUE` or `--flag=VALUE`; switches
/// (no value) listed in `bools`.
fn pairs(args: &[String], bools: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "-h" || a == "--help" {
            print!("{USAGE}");
            exit(0);
        }
        if !a.starts_with("--") {
            usage_error(&format!("unexpected argument '{a}'"));
        }
        let (k, v) = match a.find('=') {
            Some(eq) => (a[2..eq].to_string(), a[eq + 1..].to_string()),
            None if bools.contains(&&a[2..]) => (a[2..].to_string(), String::new()),
            None => {
                i += 1;
                match args.get(i) {
                    Some(v) => (a[2..].to_string(), v.clone()),
                    None => usage_error(&format!("{a} needs a value")),
                }
            }
        };
        out.push((k, v));
        i += 1;
    }
    out
}

fn common(k: &str, v: &str, c: &mut Common) -> bool {
    match k {
        "runtime" => {
            c.multi = match v {
                "current" => false,
                "multi" => true,
                _ => usage_error(&format!("--runtime: '{v}' is neither current nor multi")),
            }
        }
        "workers" => {
            c.workers = match v.parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => n,
                _ => usage_error(&format!(
                    "--workers: '{v}' is not an integer from 1 to 1024"
                )),
            }
        }
        "json" => c.json = Some(v.to_string()),
        _ => return false,
    }
    true
}

/// The Tokio runtime of a run, warmed (its threads made) before any baseline.
pub fn runtime(c: &Common) -> tokio::runtime::Runtime {
    let mut b = if c.multi {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if c.workers > 0 {
            b.worker_threads(c.workers);
        }
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let rt = match b.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{PROG}: cannot start the Tokio runtime: {e}");
            exit(1);
        }
    };
    rt.block_on(async {
        let _ = tokio::spawn(async {}).await;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    });
    rt
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = match args.first().map(String::as_str) {
        Some("-h") | Some("--help") => {
            print!("{USAGE}");
            exit(0);
        }
        Some(c) => c.to_string(),
        None => usage_error("say spawn or switch"),
    };
    let rest = &args[1..];
    let mut c = Common {
        multi: false,
        workers: 0,
        json: None,
    };
    let rc = match cmd.as_str() {
        "spawn" => {
            let mut o = spawn_report::SpawnOpts::default();
            for (k, v) in pairs(rest, &["until-failure"]) {
                if common(&k, &v, &mut c) {
                    continue;
                }
                match k.as_str() {
                    "kind" => {
                        o.kind = spawn::Kind::parse(&v).unwrap_or_else(|| {
                            usage_error(&format!(
                                "--kind: '{v}' is not tokio-timer, tokio-chan or std-thread"
                            ))
                        })
                    }
                    "count" | "counts" => {
                        o.counts = parse_counts(&v, if k == "count" { 1 } else { 16 }, 100_000_000)
                            .unwrap_or_else(|| {
                                usage_error(&format!("bad --{k} '{v}': whole numbers 1..1e8"))
                            })
                    }
                    "state-bytes" => {
                        let rule = format!("one of {:?}", spawn::STATE_SIZES);
                        o.state_bytes = flag(&k, &v, |b| spawn::STATE_SIZES.contains(b), &rule)
                    }
                    "stack-kib" => {
                        let ok = |&s: &usize| s == 0 || (16..=1 << 20).contains(&s);
                        o.stack_kib = flag(&k, &v, ok, "0 or 16..1048576")
                    }
                    "hold-ms" => o.hold_ms = flag(&k, &v, |&h| h <= 3_600_000, "0..3600000"),
                    "until-failure" => o.until_failure = true,
                    _ => usage_error(&format!("spawn: unknown option '--{k}'")),
                }
            }
            if o.counts.is_empty() {
                usage_error("say how many units: --count N or --counts N1,N2,...");
            }
            if o.counts.windows(2).any(|w| w[1] <= w[0]) {
                usage_error("--counts must be ascending");
            }
            spawn_report::spawn(&o, &c)
        }
        "switch" => {
            let mut o = switch_report::SwitchOpts::default();
            for (k, v) in pairs(rest, &[]) {
                if common(&k, &v, &mut c) {
                    continue;
                }
                match k.as_str() {
                    "mech" => {
                        o.mechs.clear();
                        for m in v.split(',') {
                            if m == "all" {
                                o.mechs = switch::ALL.to_vec();
                            } else {
                                o.mechs.push(switch::Mech::parse(m).unwrap_or_else(|| {
                                    usage_error(&format!("unknown mechanism '{m}'"))
                                }));
                            }
                        }
                    }
                    "kind" => {
                        o.mechs = match v.as_str() {
                            "task" => vec![switch::Mech::TokioSocketpair, switch::Mech::TokioChan],
                            "thread" => {
                                vec![switch::Mech::ThreadSocketpair, switch::Mech::ThreadChan]
                            }
                            _ => usage_error(&format!("--kind is task or thread, not '{v}'")),
                        }
                    }
                    "ring" => {
                        o.rings = parse_counts(&v, 8, 10_000)
                            .filter(|r| r.iter().all(|&k| k >= 2))
                            .unwrap_or_else(|| {
                                usage_error(&format!("bad --ring '{v}' (comma list, 2..10000)"))
                            })
                    }
                    "iters" => {
                        o.iters = parse_counts(&v, 1, 1_000_000_000)
                            .map(|x| x[0])
                            .unwrap_or_else(|| usage_error(&format!("bad --iters '{v}' (1..1e9)")))
                    }
                    "warmup" => {
                        o.warmup = Some(if v == "0" {
                            0
                        } else {
                            parse_counts(&v, 1, 1_000_000_000)
                                .map(|x| x[0])
                                .unwrap_or_else(|| {
                                    usage_error(&format!("bad --warmup '{v}' (0..1e9)"))
                                })
                        })
                    }
                    "pin" => {
                        o.pin = Some(
                            v.parse::<usize>()
                                .ok()
                                .filter(|&p| p < 4096)
                                .unwrap_or_else(|| {
                                    usage_error(&format!("bad --pin '{v}' (a CPU number)"))
                                }),
                        )
                    }
                    _ => usage_error(&format!("switch: unknown option '--{k}'")),
                }
            }
            switch_report::switch(&o, &c)
        }
        other => usage_error(&format!("unknown command '{other}': spawn or switch")),
    };
    exit(rc);
}
