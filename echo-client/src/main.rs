//! `echo-client`: the tutorial's TCP client for the echo firmware (prompt,
//! send a line, print the stamped reply), and `echo-client bench`, which
//! measures the server and verifies every byte it echoes.
//!
//! Exit status: 0 on success, 1 on a network or verification failure, 2 on
//! a usage error. Errors are one line on stderr.

mod addr;
mod bench;
mod interactive;
mod net;
mod reply;

use std::process::ExitCode;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use echo_core::Mode;

use addr::Target;
use bench::Phase;

const ABOUT: &str = "Client for the TCP echo firmware: send lines, print the stamped replies";

const LONG_ABOUT: &str = "\
Client for the TCP echo firmware (and host-sim), after the tutorial's tcpclient.py.

Connects to HOST[:PORT] (default 192.168.69.1:12345), then for each line read from
stdin: sends it without its newline, waits for the reply and prints it on one line.
An empty line or end of input ends the session. The prompt '>' is shown only when
stdin is a terminal, so piped input gives exactly one output line per input line.

The server answers each chunk it reads (at most 1024 bytes) with
'[Www Mmm dd hh:mm:ss yyyy] ' and the chunk, so a line of L bytes comes back as
L + 27 bytes, or more stamps for long lines. The client reads until the whole
line has come back, or until --reply-timeout has passed since the first byte of
the reply; it then prints the bytes as received. With --raw (server in raw
mode) the reply is complete after L bytes.

Exit status: 0 done, 1 network failure (refused, unreachable, timed out, reset,
closed), 2 usage error.";

const EXAMPLES: &str = "\
Examples:
  echo-client                          talk to the firmware at 192.168.69.1:12345
  echo-client 192.168.69.1             host-sim over tap0, or the board (port 12345)
  echo-client '[fdaa::1]:12345'        over IPv6
  printf 'a\\nb\\n' | echo-client        two lines in, two stamped lines out
  echo-client bench --duration 2       measure and verify (see echo-client bench --help)";

const BENCH_LONG_ABOUT: &str = "\
Measures the echo server and verifies every byte it sends back. Phases, in order:

  stream   --conns connections, each with a writer sending a seeded pseudo-random
           stream in --size writes and a reader checking every echoed byte (stamps
           stripped and checked in stamp mode), for --duration; MB/s both ways.
  latency  one connection with TCP_NODELAY, --ping-size messages back and forth
           for --duration: round-trip p50, p99, p99.9 and max.
  setup    connect, echo 16 bytes, close; repeated for --duration: connections/s.

Every phase ends by itself: each wait is bounded by --connect-timeout or
--reply-timeout, streaming echoes may take 5 s to drain after the window.
A mismatched byte (reported with its connection and offset), a refused or reset
connection, or a phase that measured nothing ends the bench with exit status 1.
The firmware serves 5 connections at once, so keep --conns at 5 or less.";

const BENCH_EXAMPLES: &str = "\
Examples:
  echo-client bench                                   firmware, stamp mode, all phases
  echo-client bench 127.0.0.1:12345 --mode raw --conns 2 --duration 1
  echo-client bench --phases latency,setup --json    one JSON object on stdout";

#[derive(Parser, Debug)]
#[command(
    name = "echo-client",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Server: IPv4, [IPv6] or host name, port 12345 unless given
    #[arg(value_name = "HOST[:PORT]")]
    target: Option<String>,

    /// The server echoes without stamps (raw mode): a reply is as long as its line
    #[arg(long)]
    raw: bool,

    /// Seconds to wait for a reply to start; 0 waits forever
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_wait)]
    wait_timeout: f64,

    #[command(flatten)]
    net: NetArgs,
}

/// Timeouts both modes share.
#[derive(Args, Debug)]
struct NetArgs {
    /// Seconds to wait for the connection to be established
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = net::parse_secs)]
    connect_timeout: Duration,

    /// Seconds to keep collecting a reply after its first byte
    /// (bench: to wait for each echo)
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = net::parse_secs)]
    reply_timeout: Duration,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure throughput, latency and connection rate, verifying every byte
    #[command(long_about = BENCH_LONG_ABOUT, after_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Server: IPv4, [IPv6] or host name, port 12345 unless given
    #[arg(value_name = "HOST[:PORT]")]
    target: Option<String>,

    /// Streaming connections
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    conns: u16,

    /// Bytes per write when streaming
    #[arg(long, value_name = "BYTES", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    size: u32,

    /// Seconds each phase runs
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = net::parse_secs)]
    duration: Duration,

    /// How the server echoes: stamp (default) or raw
    #[arg(long, default_value_t = Mode::Stamp, value_parser = bench_mode())]
    mode: Mode,

    /// Phases to run, comma-separated
    #[arg(long, value_enum, value_delimiter = ',',
          default_values_t = [Phase::Stream, Phase::Latency, Phase::Setup])]
    phases: Vec<Phase>,

    /// Bytes per ping in the latency phase
    #[arg(long, value_name = "BYTES", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    ping_size: u32,

    /// Stop the latency phase after this many pings
    #[arg(long, value_name = "N", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_pings: u64,

    /// Idle connections to hold open during the latency phase (each echoes one byte first)
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=60_000))]
    idle_conns: u32,

    /// Stop the setup phase after this many connections
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_setups: u64,

    /// Print one JSON object with all figures (no progress bars)
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    net: NetArgs,
}

/// `--mode`: the modes whose echo the bench can verify, by their protocol names.
fn bench_mode() -> impl TypedValueParser<Value = Mode> {
    let help = |mode| match mode {
        Mode::Stamp => Some("`[ctime] ` before every chunk of at most 1024 bytes (the firmware's default)"),
        Mode::Raw => Some("The bytes alone"),
        // Its stamps follow newlines, which the bench's payload does not have.
        Mode::Line => None,
    };
    let values = Mode::ALL.into_iter().filter_map(move |m| help(m).map(|h| PossibleValue::new(m.name()).help(h)));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<Mode>())
}

/// Like [`net::parse_secs`], but 0 is allowed (wait forever).
fn parse_wait(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds from 0 to 86400")),
    }
}

/// A usage error (status 2) or a failure (status 1).
enum Failure {
    Usage(String),
    Run(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Run(e)
    }
}

fn target(arg: Option<&str>) -> Result<Target, Failure> {
    match arg {
        None => Ok(Target::default()),
        Some(s) => Target::parse(s).map_err(|why| Failure::Usage(format!("invalid address '{s}': {why}"))),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        None => {
            let opts = interactive::Options {
                target: target(cli.target.as_deref())?,
                connect_timeout: cli.net.connect_timeout,
                wait_timeout: (cli.wait_timeout > 0.0).then(|| Duration::from_secs_f64(cli.wait_timeout)),
                reply_timeout: cli.net.reply_timeout,
                raw: cli.raw,
            };
            interactive::run(&opts)?;
        }
        Some(Command::Bench(b)) => {
            use std::io::IsTerminal;
            let cfg = bench::Config {
                target: target(b.target.as_deref())?,
                raw: b.mode == Mode::Raw,
                conns: usize::from(b.conns),
                size: b.size as usize,
                duration: b.duration,
                ping_size: b.ping_size as usize,
                max_pings: b.max_pings,
                idle_conns: b.idle_conns as usize,
                max_setups: b.max_setups,
                connect_timeout: b.net.connect_timeout,
                reply_timeout: b.net.reply_timeout,
                show_progress: !b.json && std::io::stderr().is_terminal(),
            };
            bench::run(&cfg, &b.phases, b.json)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("echo-client: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("echo-client: {e:#}");
            ExitCode::from(1)
        }
    }
}
