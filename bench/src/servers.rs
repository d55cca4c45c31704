//! Server processes under test: started with stderr piped, ready when they print
//! `listening on ws://ADDR` (extws-wasm, the native and the predecessor baselines all do), and
//! stopped with SIGTERM (then SIGKILL). Children die with the benchmark (PR_SET_PDEATHSIG).

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How to start one server.
#[derive(Debug, Clone)]
pub struct ServerCmd {
    /// Executable.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// CPUs the server may use (`None`: all).
    pub cpus: Option<Vec<usize>>,
}

/// A running server.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id (for /proc).
    pub pid: u32,
    /// The last lines it wrote on stderr.
    log: Arc<Mutex<Vec<String>>>,
}

impl ServerCmd {
    /// Starts the server and waits (up to `timeout`) for its `listening on` line.
    pub fn spawn(&self, timeout: Duration) -> anyhow::Result<Server> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let cpus = self.cpus.clone();
        // SAFETY: only async-signal-safe calls (prctl, sched_setaffinity) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if let Some(cpus) = &cpus {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    for &c in cpus {
                        libc::CPU_SET(c, &mut set);
                    }
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        let pid = child.id();
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<SocketAddr>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line
                        .split("listening on ws://")
                        .nth(1)
                        .and_then(|a| a.trim().parse().ok())
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(addr);
                    }
                    let mut log = log.lock().unwrap();
                    if log.len() >= 40 {
                        log.remove(0);
                    }
                    log.push(line);
                }
            });
        }
        let deadline = Instant::now() + timeout;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => {
                    return Ok(Server {
                        child,
                        addr,
                        pid,
                        log,
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Some(status) = child.try_wait()? {
                        std::thread::sleep(Duration::from_millis(100));
                        bail!(
                            "{} exited ({status}) before listening:\n{}",
                            self.program.display(),
                            log.lock().unwrap().join("\n")
                        );
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!(
                        "{} did not print `listening on` within {timeout:?}:\n{}",
                        self.program.display(),
                        log.lock().unwrap().join("\n")
                    );
                }
            }
        }
    }
}

impl Server {
    /// `ws://ADDR{path_and_query}`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }

    /// The server's last stderr lines.
    pub fn recent_log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, up to 3 s for a graceful exit, then SIGKILL.
    pub fn stop(mut self) {
        // SAFETY: signalling our own child by pid.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
