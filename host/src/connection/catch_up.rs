//! Live pushes to a connection, with nothing lost on the way and nothing sent twice.
//!
//! A user's pushes carry consecutive `Seq`s (per user, within a history), so a connection
//! knows the next one it should get: `floor + 1`, once it has a floor (its resume, or the
//! first push it got). A push above that means the ones between were lost on their way to this
//! server (a Redis pub/sub blip): they are read from the history and sent first, after a
//! `ResumeGap` if the history no longer has them. When this server's subscription comes back
//! after a drop, the connection catches up the same way without waiting for the next push.
//! A push at or below the floor was replayed already and is dropped. Topic publishes, and the
//! pushes of a tenant that keeps no history, have no `Seq` and pass as they come.

use std::sync::Arc;

use futures_util::SinkExt as _;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::info;

use super::socket::Socket;
use super::{Connection, Phase, notified};
use crate::capabilities::push::Pushed;
use crate::connect;
use crate::dispatch::Close;

/// Sends one live push (after whatever was lost before it); `Some` is the close for a client
/// that does not take it within the push deadline.
pub(super) async fn push(
    socket: &mut Socket<'_>,
    connection: &mut Connection,
    pushed: Pushed,
    overflow: Option<Arc<Notify>>,
) -> Result<Option<Close>, WsError> {
    let Phase::Ready(ready) = &mut connection.phase else {
        return Ok(None);
    };
    if let Some(seq) = pushed.seq {
        if seq <= ready.floor {
            return Ok(None); // replayed already
        }
        if ready.floor > 0 && seq > ready.floor + 1 {
            info!(
                after = ready.floor,
                seq, "pushes lost on the way: catching up from the history"
            );
            fill(socket, connection).await?;
            let Phase::Ready(ready) = &connection.phase else {
                return Ok(None);
            };
            if seq <= ready.floor {
                return Ok(None);
            }
        }
    }
    let timeouts = socket.timeouts;
    tokio::select! {
        sent = socket.ws.send(Message::text(pushed.text)) => sent?,
        () = notified(overflow) => return Ok(Some(Close::slow_consumer())),
        () = tokio::time::sleep(timeouts.push_send) => return Ok(Some(Close::slow_consumer())),
    }
    if let (Phase::Ready(ready), Some(seq)) = (&mut connection.phase, pushed.seq) {
        ready.floor = seq;
    }
    Ok(None)
}

/// Sends what the history holds after the connection's floor and raises the floor; nothing
/// for a connection without a floor yet, a user or a history.
pub(super) async fn fill(
    socket: &mut Socket<'_>,
    connection: &mut Connection,
) -> Result<(), WsError> {
    let Phase::Ready(ready) = &mut connection.phase else {
        return Ok(());
    };
    let user = ready.dispatcher.session().user.as_ref().map(|u| u.id);
    let (Some(user), after) = (user, ready.floor) else {
        return Ok(());
    };
    if after == 0 {
        return Ok(());
    }
    let Some(plan) = connect::catch_up(ready.dispatcher.tenant(), user, after).await else {
        return Ok(());
    };
    for frame in plan.frames {
        socket.send(Message::text(frame)).await?;
    }
    ready.floor = ready.floor.max(plan.floor);
    Ok(())
}
