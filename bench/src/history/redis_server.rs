//! The Redis the history run measures against: a `redis-server` of its own, and what it is
//! asked through `redis-cli` (flush, memory used).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` without persistence on a free port, killed on drop.
pub(super) struct RedisProcess {
    port: u16,
    child: Child,
}

impl RedisProcess {
    pub(super) fn start(dir: &Path) -> Option<Self> {
        std::fs::create_dir_all(dir).ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let server = Self { port, child };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub(super) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `FLUSHALL` (via redis-cli).
    pub(super) fn flush_all(&self) {
        let _ = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "flushall"])
            .stdout(Stdio::null())
            .status();
    }

    /// `used_memory` from `INFO memory` (via redis-cli), 0 when unreadable.
    pub(super) fn used_memory(&self) -> u64 {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "info", "memory"])
            .output();
        out.ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .find_map(|l| l.strip_prefix("used_memory:")?.trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
