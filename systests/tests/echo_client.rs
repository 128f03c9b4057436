//! The `echo-client` binary with piped input: one reply line per input line,
//! no prompts.

use std::time::Duration;

use systests::process::run_piped;
use systests::stamp::check_reply;
use systests::{bins, Target, SERVER};

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn piped_lines_come_back_one_stamped_line_each() {
    let client = bins::echo_client().expect("echo-client");
    for target in Target::stamp_targets() {
        let name = target.name();
        let server = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut cmd = server.ns().command(&client);
        cmd.arg(SERVER.to_string());
        let out = run_piped(&mut cmd, b"one\ntwo\n", Duration::from_secs(10)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: echo-client failed ({}): {}{stdout}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = stdout.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2, "{name}: expected exactly two lines, got {stdout:?}");
        assert!(stdout.ends_with('\n'), "{name}: last line not terminated: {stdout:?}");
        for (line, sent) in lines.iter().zip(["one", "two"]) {
            check_reply(line.as_bytes(), sent.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {e} (whole output {stdout:?})"));
        }
    }
}
