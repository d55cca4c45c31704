//! `extws-wasm serve` as a real child process: its address once it listens, its memory, its
//! log line by line, and how it ends on SIGTERM.

use std::io::BufRead;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{BIN, poll_blocking};

/// How long a child server may take to print its listening line (it compiles its components
/// first, unoptimized builds are slow and two test binaries may be doing it at once).
const LISTENING_WITHIN: Duration = Duration::from_secs(120);

/// Spawns `command` (an `extws-wasm serve ...`), waits (up to 120 s) for its `listening on
/// ws://ADDR` line and returns the child and ADDR; the rest of its stderr is drained in the
/// background.
pub fn spawn_listening(command: &mut Command) -> (Child, String) {
    let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
    let lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let (tx, listening) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in lines.map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on ws://")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    match listening.recv_timeout(LISTENING_WITHIN) {
        Ok(addr) => (child, addr),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let _ = child.kill();
            panic!("server exited before listening: {:?}", child.wait());
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server not listening within {LISTENING_WITHIN:?}");
        }
    }
}

/// A real `extws-wasm serve` child process on 127.0.0.1:0 (killed when dropped): its address,
/// its memory, and its output (stderr and stdout) line by line.
pub struct ChildServer {
    /// `HOST:PORT` it listens on.
    pub addr: String,
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

impl ChildServer {
    /// Runs `extws-wasm serve --listen 127.0.0.1:0 ARGS` and waits for its listening line.
    pub fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Self::start_with_env(args, std::iter::empty::<(&str, &str)>())
    }

    /// [`ChildServer::start`] with these environment variables set for the child.
    pub fn start_with_env<I, S, E, K, V>(args: I, env: E) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
        E: IntoIterator<Item = (K, V)>,
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        // Both streams, so a test can check everything the binary printed.
        let stdout = child.stdout.take().unwrap();
        let out = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = out.send(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let mut server = Self {
            addr: String::new(),
            child: Some(child),
            lines,
            seen: Vec::new(),
        };
        let line = server.wait_for_line("listening on ws://", LISTENING_WITHIN);
        server.addr = line
            .split_once("listening on ws://")
            .unwrap()
            .1
            .trim()
            .to_string();
        server
    }

    /// `ws://ADDR{rest}`.
    pub fn url(&self, rest: &str) -> String {
        format!("ws://{}{rest}", self.addr)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Its resident memory (`VmRSS` of `/proc/PID/status`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Waits for the next stderr line containing `needle` and returns it (panics, showing the
    /// log, when none comes `within` or the server exits).
    pub fn wait_for_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no log line with {needle:?} within {within:?} ({e}); stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// SIGTERM, then wait up to `within` for the exit: its status, how long it took and its
    /// whole stderr (panics, showing the log, if it is still running then; it is killed).
    pub fn terminate(mut self, within: Duration) -> (ExitStatus, Duration, Vec<String>) {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let signalled = std::time::Instant::now();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let Ok(status) = poll_blocking(within, || child.try_wait().unwrap()) else {
            let _ = child.kill();
            let _ = child.wait();
            while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
                self.seen.push(line);
            }
            panic!(
                "still running {within:?} after SIGTERM; stderr:\n{}",
                self.seen.join("\n")
            );
        };
        let took = signalled.elapsed();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(line);
        }
        (status, took, std::mem::take(&mut self.seen))
    }

    /// SIGTERM, wait for the exit, and return its status and its whole stderr.
    pub fn stop(mut self) -> (ExitStatus, Vec<String>) {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = child.wait().unwrap();
        // The reader thread ends at EOF, which disconnects the channel.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
