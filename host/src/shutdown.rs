//! Graceful shutdown, as mini-redis does it: every connection holds a [`Shutdown`] listening
//! on one broadcast; the server knows the last connection ended when every clone of the
//! completion sender it handed out has been dropped.

use tokio::sync::broadcast;

/// One connection's view of the server's shutdown signal.
pub struct Shutdown {
    is_shutdown: bool,
    notify: broadcast::Receiver<()>,
}

impl Shutdown {
    /// Listens on `notify`.
    pub fn new(notify: broadcast::Receiver<()>) -> Self {
        Self {
            is_shutdown: false,
            notify,
        }
    }

    /// Waits for the signal (at once if it was already received). The sender being dropped
    /// counts as the signal.
    pub async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        let _ = self.notify.recv().await;
        self.is_shutdown = true;
    }
}
