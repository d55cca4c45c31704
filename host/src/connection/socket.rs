//! The connection's socket with a deadline on every write: a client that stops reading cannot
//! pin its connection (or the server's shutdown).

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::debug;

use crate::config::Timeouts;
use crate::dispatch::Close;

/// An upgraded WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// The socket with deadlines on every write.
pub(super) struct Socket<'a> {
    pub(super) ws: Ws,
    pub(super) timeouts: &'a Timeouts,
}

impl Socket<'_> {
    /// Sends one message, or fails once the client has not taken it within the write
    /// deadline.
    pub(super) async fn send(&mut self, message: Message) -> Result<(), WsError> {
        self.within_deadline(|ws| ws.send(message)).await
    }

    /// Writes one message without flushing it (a full write buffer still goes out), under
    /// the same deadline.
    pub(super) async fn feed(&mut self, message: Message) -> Result<(), WsError> {
        self.within_deadline(|ws| ws.feed(message)).await
    }

    /// Flushes what was fed, under the same deadline.
    pub(super) async fn flush(&mut self) -> Result<(), WsError> {
        self.within_deadline(|ws| ws.flush()).await
    }

    async fn within_deadline<'s, F>(
        &'s mut self,
        write: impl FnOnce(&'s mut Ws) -> F,
    ) -> Result<(), WsError>
    where
        F: std::future::Future<Output = Result<(), WsError>> + 's,
    {
        match tokio::time::timeout(self.timeouts.push_send, write(&mut self.ws)).await {
            Ok(sent) => sent,
            Err(_) => {
                debug!("client not reading: dropping the connection");
                Err(WsError::Io(std::io::ErrorKind::TimedOut.into()))
            }
        }
    }

    pub(super) async fn close(&mut self, close: Close) -> Result<(), WsError> {
        debug!(code = close.code, reason = %close.reason, "closing");
        let frame = CloseFrame {
            code: CloseCode::from(close.code),
            reason: close.reason.into(),
        };
        let grace = self.timeouts.close_grace;
        // A client that stopped reading may never take the close frame: don't wait forever.
        match tokio::time::timeout(grace, self.ws.close(Some(frame))).await {
            Ok(Ok(()) | Err(WsError::ConnectionClosed)) | Err(_) => {}
            Ok(Err(e)) => return Err(e),
        }
        // Wait briefly for the client's close reply so the TCP connection ends cleanly.
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(grace, drain).await;
        Ok(())
    }
}
