//! The interactive client against a loopback stand-in for the firmware.

mod support;

use std::time::{Duration, Instant};

use support::{assert_one_line_failure, client, closed_port, serve, Echo, STAMP};

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn piped_lines_get_one_stamped_reply_each_and_no_prompt() {
    let addr = serve(Echo::Stamp).to_string();
    let out = client(&[&addr], b"hello\nworld\r\n");
    assert_eq!(stdout(&out), format!("{STAMP}hello\n{STAMP}world\n"));
    assert!(out.stderr.is_empty());
}

#[test]
fn an_empty_line_ends_the_session() {
    let addr = serve(Echo::Stamp).to_string();
    let out = client(&[&addr], b"a\n\nb\n");
    assert_eq!(stdout(&out), format!("{STAMP}a\n"));
}

#[test]
fn a_last_line_without_newline_is_still_sent() {
    let addr = serve(Echo::Stamp).to_string();
    let out = client(&[&addr], b"tail");
    assert_eq!(stdout(&out), format!("{STAMP}tail\n"));
}

#[test]
fn a_long_line_is_collected_whole_without_waiting_for_the_timeout() {
    let addr = serve(Echo::Stamp).to_string();
    let line: String = (0..3000).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let started = Instant::now();
    let out = client(&[&addr, "--reply-timeout", "10"], format!("{line}\nnext\n").as_bytes());
    assert!(started.elapsed() < Duration::from_secs(5), "waited for the reply timeout");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    // At least three stamps for 3000 bytes read 1024 at a time.
    assert!(lines[0].matches(STAMP).count() >= 3);
    assert_eq!(lines[0].replace(STAMP, ""), line);
    assert_eq!(lines[1], format!("{STAMP}next"));
}

#[test]
fn raw_mode_prints_the_bare_echo() {
    let addr = serve(Echo::Raw).to_string();
    let out = client(&[&addr, "--raw"], b"abc\nde\n");
    assert_eq!(stdout(&out), "abc\nde\n");
}

#[test]
fn a_refused_connection_is_one_clear_line_and_status_1() {
    let addr = closed_port().to_string();
    let out = client(&[&addr], b"hello\n");
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains(&format!("cannot connect to {addr}: connection refused")), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_address_is_a_usage_error() {
    let out = client(&["127.0.0.1:notaport"], b"");
    let err = assert_one_line_failure(&out, 2);
    assert!(err.contains("invalid address"), "{err}");
}

#[test]
fn a_server_that_closes_ends_the_session_with_status_1() {
    let addr = serve(Echo::Close).to_string();
    let out = client(&[&addr, "--wait-timeout", "5"], b"hello\nagain\n");
    assert_one_line_failure(&out, 1);
    assert!(out.stdout.is_empty());
}
