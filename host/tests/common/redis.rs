//! A real `redis-server` for the tests of state and push across nodes: started on a free
//! loopback port, stopped, frozen and restarted at will, killed when dropped.

use std::path::PathBuf;
use std::time::Duration;

use super::{eventually_blocking, temp_dir};

/// A real `redis-server` on a free loopback port, killed when dropped.
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    child: Option<std::process::Child>,
    dir: PathBuf,
    /// Persistence: an append-only file fsynced before every reply, kept across restarts.
    durable: bool,
}

impl RedisServer {
    /// Starts one without persistence (fails the test with a clear message when redis-server
    /// is not installed).
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Starts one that persists every write before replying (`appendfsync always`) and reloads
    /// it when restarted: what an operator who needs acknowledged writes to survive runs.
    pub fn start_durable() -> Self {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            port,
            child: None,
            dir: temp_dir("redis"),
            durable,
        };
        server.restart();
        server
    }

    /// SIGSTOP: the process stays, its sockets stay open, nothing answers (a frozen Redis).
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`Self::freeze`].
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it with SIGKILL (Redis "goes away", flushing nothing).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and waits (up to 10 s) until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let persistence: &[&str] = if self.durable {
            &["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            &["--appendonly", "no"]
        };
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(persistence)
            .current_dir(&self.dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is required for these tests (apt-get install redis-server; .ci/run installs it)");
        let child = self.child.insert(child);
        let port = self.port;
        eventually_blocking(
            &format!("redis-server answering on port {port}"),
            Duration::from_secs(10),
            || {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("redis-server on port {port} exited: {status}");
                }
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            },
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
