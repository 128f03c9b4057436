//! The tutorial's client (ported to Python 3, tools/tcpclient.py) against the
//! server, with its output checked here in Rust.

use std::time::Duration;

use systests::process::run_piped;
use systests::stamp::check_reply;
use systests::{bins, Target, DEVICE_IP, PORT};

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn the_tutorial_client_prints_stamped_replies() {
    for target in Target::stamp_targets() {
        let name = target.name();
        let server = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut cmd = server.ns().command("python3");
        cmd.arg(bins::python_client()).arg(DEVICE_IP.to_string()).arg(PORT.to_string());
        // The empty line ends the session: the last line must never be sent.
        let out = run_piped(&mut cmd, b"hello\nworld\n\nnot sent\n", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: client failed ({}): {}{stdout}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        // input('>') prints its prompt without a newline: `>reply\n` per line,
        // then the prompt that read the empty line.
        let replies: Vec<&str> = stdout
            .strip_suffix('>')
            .unwrap_or_else(|| panic!("{name}: output does not end with the last prompt: {stdout:?}"))
            .split_terminator('\n')
            .map(|line| line.strip_prefix('>').unwrap_or_else(|| panic!("{name}: line without prompt: {line:?}")))
            .collect();
        assert_eq!(replies.len(), 2, "{name}: expected two replies, got {stdout:?}");
        for (reply, sent) in replies.iter().zip(["hello", "world"]) {
            check_reply(reply.as_bytes(), sent.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
