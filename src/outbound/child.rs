//! A program run with a time limit, the one way pipedesk runs another
//! program: `sendmail` (SPEC §4, 60 s) and a rule's `exec` hook (SPEC §8,
//! 10 s). It runs in a process group of its own, and at the limit the
//! whole group is killed, so that a shell script's `sleep` (a grandchild
//! holding our pipes) can neither outlive the limit nor hold us past it.
//! Out of our group, it would escape an MTA that kills `deliver`'s group
//! at its own time limit (Postfix's pipe(8) does): on Linux it is
//! therefore killed when we die.

use std::io::{self, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much of each of stdout and stderr is kept: enough for an error
/// message. The rest is read and dropped, so that a chatty program never
/// blocks on a full pipe.
pub const KEEP: usize = 4096;

/// `default`, lowered only by the hidden, test-only environment variable
/// `test_var` (milliseconds), so that a test of a limit takes seconds, not
/// a minute; never documented for admins.
pub fn limit(default: Duration, test_var: &str) -> Duration {
    std::env::var(test_var)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(default, Duration::from_millis)
}

/// How a program ended.
#[derive(Debug)]
pub struct Run {
    /// None: it had not exited at the limit and was killed, its group
    /// with it.
    pub status: Option<ExitStatus>,
    /// The first `KEEP` bytes of its stdout and of its stderr.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Writing its stdin failed: it exited (or closed stdin) before
    /// reading all of it. Whether that matters is the caller's to say.
    pub stdin_error: Option<io::Error>,
}

impl Run {
    /// The start of stderr as one line of text, for an error message.
    pub fn stderr_line(&self) -> String {
        one_line(&self.stderr)
    }
}

/// Bytes from a program as one line: lossy UTF-8, every run of control
/// characters and white space one space, trimmed.
pub fn one_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How often a program that is "busy" (ETXTBSY) is tried again, and how
/// long apart: a script being written as it is started, by an admin's
/// deploy or by a process that forked while the file was open for writing
/// (the child holds the descriptor until it execs).
const BUSY_TRIES: u32 = 5;
const BUSY_PAUSE: Duration = Duration::from_millis(20);

fn spawn(command: &mut Command) -> io::Result<std::process::Child> {
    let mut tries = 1;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < BUSY_TRIES => {
                tries += 1;
                std::thread::sleep(BUSY_PAUSE);
            }
            spawned => return spawned,
        }
    }
}

/// Runs `command` with `input` on its stdin, capturing stdout and stderr.
/// It has finished when it has exited and closed both (a background
/// process it left holding them counts as part of it). Whatever is left
/// of its process group at `limit` is killed. Only a failure to start or
/// to wait for it is an `Err`.
pub fn run(command: &mut Command, input: Vec<u8>, limit: Duration) -> io::Result<Run> {
    use std::os::unix::process::CommandExt;
    let start = Instant::now();
    die_with_us(command);
    command
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(command)?;
    // Each pipe has a thread of its own, so that a program that reads
    // nothing or writes a lot blocks only that thread, never us; each
    // says on `done` when its pipe has closed.
    let (done, finished) = mpsc::channel::<Option<io::Error>>();
    let mut pending = 0;
    if let Some(mut stdin) = child.stdin.take() {
        let done = done.clone();
        pending += 1;
        std::thread::spawn(move || {
            let _ = done.send(stdin.write_all(&input).err());
        });
    }
    let stdout = child.stdout.take().map(|pipe| drain(pipe, &done));
    let stderr = child.stderr.take().map(|pipe| drain(pipe, &done));
    pending += usize::from(stdout.is_some()) + usize::from(stderr.is_some());
    drop(done);

    let deadline = start + limit;
    let mut status = None;
    let mut stdin_error = None;
    let mut pause = Duration::from_millis(1);
    loop {
        if status.is_none() {
            status = match child.try_wait() {
                Ok(status) => status,
                Err(e) => {
                    kill_group(&mut child, true);
                    return Err(e);
                }
            };
        }
        while pending > 0 {
            match finished.try_recv() {
                Ok(error) => {
                    pending -= 1;
                    stdin_error = stdin_error.or(error);
                }
                Err(_) => break,
            }
        }
        if status.is_some() && pending == 0 {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            kill_group(&mut child, status.is_none());
            break;
        }
        if status.is_some() {
            // Exited; its pipes are still open (or not yet read to the end).
            match finished.recv_timeout(deadline - now) {
                Ok(error) => {
                    pending -= 1;
                    stdin_error = stdin_error.or(error);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => pending = 0,
            }
        } else {
            // Polling, because std waits for a child without a timeout:
            // 1 ms first (most programs end at once), at most 10 ms.
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }
    // After a kill the threads still running are left to end with the
    // pipes: what they read so far is what there is.
    let taken = |kept: Option<Arc<Mutex<Vec<u8>>>>| {
        kept.and_then(|k| k.lock().ok().map(|k| k.clone()))
            .unwrap_or_default()
    };
    Ok(Run {
        status,
        stdout: taken(stdout),
        stderr: taken(stderr),
        stdin_error,
    })
}

/// Has the program killed when this process dies, so that the kill of our
/// process group reaches it in its own group. prctl(2)'s parent is the
/// thread that spawned it, and `run` holds that thread until the program
/// has ended, so it never fires early. A grandchild is not covered, nor a
/// set-user-ID program (Exim's sendmail): exec clears the setting there.
#[cfg(target_os = "linux")]
fn die_with_us(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: between fork and exec the closure makes only
    // async-signal-safe calls (prctl, getppid, raise) and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // We died before the prctl: nobody would send the signal.
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_us(_command: &mut Command) {}

/// Reads `pipe` to its end on a thread of its own, keeping the first
/// `KEEP` bytes in what it returns; says on `done` when it is closed.
fn drain(
    mut pipe: impl Read + Send + 'static,
    done: &mpsc::Sender<Option<io::Error>>,
) -> Arc<Mutex<Vec<u8>>> {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let (keep, done) = (Arc::clone(&kept), done.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Ok(mut keep) = keep.lock() {
                        let room = KEEP.saturating_sub(keep.len());
                        keep.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = done.send(None);
    });
    kept
}

/// Kills the child's process group, and the child itself where it is
/// still running (it may have left the group); reaps it.
fn kill_group(child: &mut Child, running: bool) {
    // The group's id is the child's pid (process_group(0)). Where the
    // child has exited, a member of its group still exists if anything
    // holds our pipes, and while it does the id cannot be given to
    // another process.
    if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group
        // only; it touches no memory of ours.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    if running {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    #[test]
    fn gives_stdin_and_keeps_output_and_status() {
        let r = run(
            &mut sh("cat; echo oops >&2; exit 3"),
            b"hello".to_vec(),
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(r.status.and_then(|s| s.code()), Some(3));
        assert_eq!(r.stdout, b"hello");
        assert_eq!(r.stderr_line(), "oops");
        assert!(r.stdin_error.is_none());
    }

    #[test]
    fn keeps_only_the_start_of_a_long_output_and_reads_it_all() {
        // 1 MB: far more than a pipe holds, so a reader that stopped at
        // KEEP would leave the program blocked until the limit.
        let r = run(
            &mut sh("head -c 1048576 /dev/zero"),
            Vec::new(),
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(r.status.is_some_and(|s| s.success()));
        assert_eq!(r.stdout.len(), KEEP);
    }

    #[test]
    fn a_hang_is_killed_with_its_group_at_the_limit() {
        let limit = Duration::from_millis(300);
        let start = Instant::now();
        // `sleep; true`: the shell must wait, so the sleep is a grandchild
        // holding stdout and stderr.
        let r = run(
            &mut sh("echo started >&2; sleep 100; true"),
            Vec::new(),
            limit,
        )
        .unwrap();
        let took = start.elapsed();
        assert!(r.status.is_none());
        assert_eq!(r.stderr_line(), "started");
        // A bound, not a speed test: without the group kill this takes 100 s.
        assert!(took < limit + Duration::from_secs(20), "took {took:?}");
    }

    #[test]
    fn a_background_grandchild_holding_the_pipes_is_killed_at_the_limit() {
        let limit = Duration::from_millis(300);
        let start = Instant::now();
        let r = run(&mut sh("sleep 100 & echo $!; exit 0"), Vec::new(), limit).unwrap();
        assert!(r.status.is_some_and(|s| s.success()), "{r:?}");
        assert!(start.elapsed() < limit + Duration::from_secs(20));
        let pid = one_line(&r.stdout);
        let gone = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map_or(true, |stat| stat.contains(") Z "))
        };
        let waited = Instant::now();
        while !gone() && waited.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(), "the background sleep {pid} still runs");
    }

    #[test]
    fn a_program_that_reads_nothing_is_told_apart() {
        let r = run(
            &mut sh("exit 0"),
            vec![b'x'; 1 << 20],
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(r.status.is_some_and(|s| s.success()));
        assert!(r.stdin_error.is_some());
    }

    #[test]
    fn one_line_joins_lines_and_drops_control_characters() {
        assert_eq!(one_line(b"  a\r\nb\x1b[31m\tc \n"), "a b [31m c");
        assert_eq!(one_line(b"\xff"), "\u{fffd}");
    }
}
