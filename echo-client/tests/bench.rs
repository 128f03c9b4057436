//! `echo-client bench` against a loopback stand-in for the firmware.

mod support;

use serde_json::Value;
use support::{assert_one_line_failure, client, closed_port, serve, Echo};

fn bench_json(args: &[&str]) -> Value {
    let mut all = vec!["bench", "--json"];
    all.extend_from_slice(args);
    let out = client(&all, b"");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn num(v: &Value, path: &str) -> f64 {
    v.pointer(path).and_then(Value::as_f64).unwrap_or_else(|| panic!("{path} missing in {v}"))
}

#[test]
fn raw_bench_measures_all_phases_and_reports_json() {
    let addr = serve(Echo::Raw).to_string();
    let v = bench_json(&[&addr, "--mode", "raw", "--conns", "2", "--duration", "1"]);
    assert_eq!(v["mode"], "raw");
    assert_eq!(v["conns"], 2);
    assert_eq!(v["target"], addr);

    assert_eq!(v["stream"]["per_conn"].as_array().unwrap().len(), 2);
    assert!(num(&v, "/stream/tx_mb_per_s") > 0.0);
    assert!(num(&v, "/stream/rx_mb_per_s") > 0.0);
    assert!(num(&v, "/stream/per_conn/1/rx_mb_per_s") > 0.0);
    // Raw: the whole stream came back, drain included.
    assert!(num(&v, "/stream/verified_bytes") >= num(&v, "/stream/rx_bytes"));
    assert!(num(&v, "/stream/verified_bytes") > 0.0);

    assert!(num(&v, "/latency/samples") > 0.0);
    assert_eq!(num(&v, "/latency/size"), 32.0);
    let (p50, p99, p999, max) = (
        num(&v, "/latency/p50_us"),
        num(&v, "/latency/p99_us"),
        num(&v, "/latency/p999_us"),
        num(&v, "/latency/max_us"),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= p999 && p999 <= max);

    assert!(num(&v, "/setup/count") > 0.0);
    assert!(num(&v, "/setup/per_s") > 0.0);
}

#[test]
fn stamp_bench_strips_and_checks_stamps() {
    let addr = serve(Echo::Stamp).to_string();
    let v = bench_json(&[&addr, "--conns", "3", "--duration", "0.5", "--phases", "stream,latency"]);
    assert_eq!(v["mode"], "stamp");
    assert!(v["setup"].is_null());
    let payload = num(&v, "/stream/rx_payload_bytes");
    // Stamps take at least 27 bytes per 1024 echoed.
    assert!(num(&v, "/stream/rx_bytes") >= payload * (1.0 + 27.0 / 1024.0));
    assert!(num(&v, "/stream/verified_bytes") >= payload && payload > 0.0);
    assert!(num(&v, "/latency/samples") > 0.0);
}

#[test]
fn the_summary_table_names_every_phase() {
    let addr = serve(Echo::Raw).to_string();
    let out = client(&["bench", &addr, "--mode", "raw", "--duration", "0.3"], b"");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for phase in ["stream ", "latency ", "setup "] {
        assert!(text.lines().any(|l| l.starts_with(phase)), "{phase} missing:\n{text}");
    }
}

#[test]
fn a_corrupted_byte_fails_with_its_connection_and_offset() {
    let addr = serve(Echo::CorruptAt(100_000)).to_string();
    let out = client(&["bench", &addr, "--mode", "raw", "--conns", "1", "--duration", "2", "--phases", "stream"], b"");
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("connection 0") && err.contains("mismatch at payload offset 100000"), "{err}");
}

#[test]
fn stamp_mode_against_a_raw_server_fails() {
    let addr = serve(Echo::Raw).to_string();
    let out = client(&["bench", &addr, "--duration", "0.3", "--phases", "latency"], b"");
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("stamp"), "{err}");
}

#[test]
fn a_refused_bench_fails_cleanly() {
    let addr = closed_port().to_string();
    let out = client(&["bench", &addr, "--duration", "0.3", "--json"], b"");
    let err = assert_one_line_failure(&out, 1);
    assert!(err.contains("connection refused"), "{err}");
    assert!(out.stdout.is_empty());
}
