//! Child processes with bounded waits: nothing a test starts may hang it.

//! (Commands that must simply succeed: [`netlab::run_checked`]; children
//! stopped on drop: [`netlab::ChildGuard`].)

use std::io::{self, Read, Write};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use netlab::wait_timeout;

/// Runs `cmd` with `input` on its stdin (then closed), capturing stdout and
/// stderr. If it has not exited after `timeout` it is killed and the result
/// is a `TimedOut` error showing what it printed so far.
pub fn run_piped(cmd: &mut Command, input: &[u8], timeout: Duration) -> io::Result<Output> {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| io::Error::other("no stdin pipe"))?;
    let input = input.to_vec();
    // A child that stops reading early closes the pipe: not our failure.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = match wait_timeout(&mut child, timeout)? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let status = child.wait()?;
            let (out, err) = (join(stdout), join(stderr));
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{cmd:?} did not exit within {timeout:?} (killed: {status});\nstdout: {:?}\nstderr: {}",
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&err)
                ),
            ));
        }
    };
    let _ = writer.join();
    Ok(Output { status, stdout: join(stdout), stderr: join(stderr) })
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

fn join(reader: thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    reader.join().unwrap_or_default()
}
