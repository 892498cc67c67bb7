//! A run of the binary held to a bound, for the suites that assert how a
//! process ended (a signal, a hang, how long a promised wait took) and not
//! only what it printed: hostile mail and reliability. The bound catches a
//! hang; it is never a claim about speed.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a process ended.
#[derive(Debug)]
pub struct Ended {
    /// None when a signal ended it.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// From the spawn to the last of its output.
    pub took: Duration,
}

impl Ended {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32, what: &str) {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: expected exit {code}\nstdout: {}\nstderr: {}",
            self.text(),
            self.stderr
        );
    }
}

/// Runs `cmd` with `stdin`, reading its output; a run longer than `hang`
/// is killed and fails the test.
pub fn run(mut cmd: Command, stdin: &[u8], hang: Duration) -> Ended {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pipedesk");
    let input = stdin.to_vec();
    let mut pipe = child.stdin.take().expect("stdin");
    // A process that dies early stops reading: EPIPE is tolerated here.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let code = wait(&mut child, hang);
    let _ = writer.join();
    Ended {
        code,
        stdout: stdout.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned(),
        took: start.elapsed(),
    }
}

fn reader<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// The exit code (None when a signal ended it); kills the process and
/// fails the test after `hang`.
pub fn wait(child: &mut Child, hang: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if start.elapsed() > hang {
            let _ = child.kill();
            panic!("pipedesk hung for {hang:?}");
        }
        // A poll, not a wait the outcome leans on.
        std::thread::sleep(Duration::from_millis(5));
    }
}
