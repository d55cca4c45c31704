//! In-process servers: a tenant built from components in `target/guests/`, a server started on
//! 127.0.0.1:0 and shut down gracefully.

use std::net::SocketAddr;
use std::time::Duration;

use extws_wasm::auth::AuthPolicy;
use extws_wasm::capabilities::Capabilities;
use extws_wasm::config::{Route, TenantConfig};
use extws_wasm::runtime::{ComponentSpec, Limits};
use extws_wasm::{Config, Prepared};

use super::guest;

/// A tenant named `name` on every path, without auth, serving `components`.
pub fn tenant(name: &str, components: &[&str]) -> TenantConfig {
    TenantConfig {
        name: name.into(),
        route: Route::any(),
        auth: AuthPolicy::disabled(),
        components: components
            .iter()
            .map(|c| ComponentSpec::fresh(guest(c)))
            .collect(),
        capabilities: Capabilities::default(),
        limits: Limits::default(),
        ledger: extws_wasm::capabilities::ledger::Ledger::default(),
        fanout: false,
        static_dir: None,
        quota: extws_wasm::config::DEFAULT_QUOTA,
        updates: None,
        push_history: extws_wasm::capabilities::push::history::DEFAULT_HISTORY,
    }
}

/// A running in-process server.
pub struct TestServer {
    /// Its address.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    /// `ws://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Triggers graceful shutdown and waits for `run` to return.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("server did not shut down")?
    }
}

/// A configuration of `tenant` alone, with the embedded state store in `dir`.
pub fn with_store(tenant: TenantConfig, dir: &std::path::Path) -> Config {
    let mut config = Config::new(vec![tenant]);
    config.state = extws_wasm::config::StateConfig {
        data_dir: Some(dir.to_path_buf()),
        redis: None,
    };
    config
}

/// Starts `config` on 127.0.0.1:0.
pub async fn start(config: Config) -> TestServer {
    try_start(config).await.expect("server failed to start")
}

/// Starts `config`, returning the load error if any.
pub async fn try_start(config: Config) -> anyhow::Result<TestServer> {
    let prepared = Prepared::new(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(extws_wasm::run(listener, prepared, async {
        let _ = stopped.await;
    }));
    Ok(TestServer {
        addr,
        stop: Some(stop),
        task,
    })
}

/// One tenant serving `components` without auth.
pub async fn start_simple(components: &[&str]) -> TestServer {
    start(Config::new(vec![tenant("default", components)])).await
}
