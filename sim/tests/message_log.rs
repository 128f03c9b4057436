//! A client streaming stamped data gets a sample of its messages logged, ten
//! lines a second, and a summary of the rest: on a board the log goes out on
//! a UART (115 200 baud: ~4 ms a line) or a debug probe's buffer, and one line
//! per echoed chunk would hold the echo up behind it. This binary installs a
//! logger that records what a host-sim user would see (info and above), so it
//! has one test only (the logger is per process).

use std::sync::Mutex;

use echo_core::smoltcp::time::Duration;
use echo_core::Mode;
use echo_sim::World;

const PORT: u16 = echo_core::DEFAULT_PORT;

struct Recording;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for Recording {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            LINES.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static LOGGER: Recording = Recording;

fn lines() -> Vec<String> {
    LINES.lock().unwrap().clone()
}

#[test]
fn a_stream_logs_a_sample_of_its_messages_and_a_summary_of_the_rest() {
    log::set_logger(&LOGGER).expect("no other logger in this binary");
    log::set_max_level(log::LevelFilter::Info);

    let mut w = World::with_mode(Mode::Stamp);
    let c = w.client.connect(PORT);
    w.client.send(c, b"hello\n");
    assert!(w.run_until(Duration::from_secs(2), |w| w.client.conns[c].inbox.ends_with(b"hello\n")));
    assert!(lines().iter().any(|l| l.ends_with(": hello\\n")), "an interactive message is logged: {:?}", lines());

    // 400 lines sent at once: each is a chunk of its own only if it arrives
    // alone, so send them one by one, a few milliseconds apart.
    let before = lines().len();
    let start = w.now;
    let mut sent = 0;
    for i in 0..400 {
        w.client.send(c, format!("line {i}\n").as_bytes());
        sent += 1;
        w.run_for(Duration::from_millis(5));
    }
    assert!(w.run_until(Duration::from_secs(2), |w| w.client.conns[c].inbox.ends_with(b"line 399\n")));
    let elapsed = (w.now - start).secs() + 1;
    let during: Vec<_> = lines()[before..].to_vec();
    let messages = during.iter().filter(|l| l.contains(": line ")).count();
    assert!(messages >= 10, "the first lines of a stream are logged: {messages}");
    assert!(
        messages as u64 <= 10 * (elapsed + 1),
        "{messages} message lines for {sent} messages in {elapsed} s: over the budget"
    );

    // The rest is summed up, with the exact count, once the summary is due.
    w.run_for(Duration::from_secs(6));
    w.client.send(c, b"last\n");
    assert!(w.run_until(Duration::from_secs(2), |w| w.client.conns[c].inbox.ends_with(b"last\n")));
    let unlogged: u64 = lines()[before..]
        .iter()
        .filter_map(|l| {
            l.split_once(" messages (").and_then(|(n, rest)| rest.contains("without a log line").then_some(n))
        })
        .map(|n| n.parse::<u64>().expect("a count"))
        .sum();
    assert_eq!(unlogged as usize + messages, sent, "every message is either logged or counted in a summary");
}
