//! One upgraded connection's loop: the socket, the auth and keep-alive timers, pushes and
//! shutdown, in one `select!`. A pending connection's frames go to [`crate::connect`] until it
//! authenticates; then a resuming client first gets what it missed
//! ([`crate::capabilities::push::resume`]), and live pushes it already got that way are
//! dropped here. What a frame means is [`crate::dispatch`]'s business; this file only moves
//! frames and enforces time: every write has a deadline ([`socket`]), so a client that stops
//! reading cannot pin its connection (or the server's shutdown).

use std::sync::Arc;
use std::time::Instant;

use futures_util::{FutureExt as _, SinkExt, StreamExt};
use tokio::sync::{Notify, watch};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::info;

use crate::capabilities::push::{Mailbox, Pushed};
use crate::config::Timeouts;
use crate::connect::{self, FirstMessage, Pending, Registered};
use crate::dispatch::{Close, Dispatcher, Outcome};
use crate::runtime::Hook;
use crate::shutdown::Shutdown;
use crate::tenants::{ConnectionSlot, Tenant};

mod catch_up;
mod socket;

use socket::{Socket, Ws};

/// An admitted connection: authenticated and registered ([`Registered`]), or waiting for its
/// first-message authentication ([`Pending`]).
pub struct Connection {
    phase: Phase,
    slot: ConnectionSlot,
    /// What to send before anything else (an authenticated connection's resume frames), and
    /// the close after them.
    first: Vec<String>,
    close: Option<Close>,
}

// Inline, not boxed: almost every connection is `Ready` for its whole life, and a box would
// cost each one an allocation.
#[allow(clippy::large_enum_variant)]
enum Phase {
    Pending(Pending),
    Ready(Ready),
    /// Between the two, while a valid `Auth` registers the connection.
    SigningIn(Arc<Tenant>),
}

/// An authenticated, registered connection's parts.
struct Ready {
    dispatcher: Dispatcher,
    /// Pushes for this connection (when the server has push).
    mailbox: Option<Mailbox>,
    /// Live pushes with a `Seq` up to this were replayed or sent already (0: none yet).
    floor: u64,
    /// Wakes up when pushes may have been lost on their way here ([`catch_up`]).
    losses: Option<watch::Receiver<u64>>,
}

impl Connection {
    /// A connection authenticated at the handshake and registered ([`connect::register`]),
    /// holding its tenant's connection slot.
    pub fn registered(registered: Registered, slot: ConnectionSlot) -> Self {
        let mut connection = Self {
            phase: Phase::SigningIn(registered.dispatcher.tenant().clone()),
            slot,
            first: Vec::new(),
            close: None,
        };
        connection.ready(registered);
        connection
    }

    /// Becomes the registered connection: ready, with what it sends first.
    fn ready(&mut self, registered: Registered) {
        let Registered {
            dispatcher,
            mailbox,
            floor,
            first,
            close,
            losses,
        } = registered;
        self.phase = Phase::Ready(Ready {
            dispatcher,
            mailbox,
            floor,
            losses,
        });
        self.first = first;
        self.close = close;
    }

    /// A connection that must authenticate by its first message.
    pub fn pending(pending: Pending, slot: ConnectionSlot) -> Self {
        Self {
            phase: Phase::Pending(pending),
            slot,
            first: Vec::new(),
            close: None,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &Arc<Tenant> {
        match &self.phase {
            Phase::Pending(p) => p.tenant(),
            Phase::Ready(r) => r.dispatcher.tenant(),
            Phase::SigningIn(t) => t,
        }
    }

    fn authenticated(&self) -> bool {
        matches!(self.phase, Phase::Ready(_))
    }

    /// Runs the `on-disconnect` hooks of an authenticated connection.
    pub async fn disconnected(&mut self) {
        if let Phase::Ready(ready) = &mut self.phase {
            Box::pin(ready.dispatcher.run_hooks(Hook::Disconnect)).await;
        }
    }
}

/// Serves an upgraded connection until it closes; runs the `on-disconnect` hooks after.
pub async fn run(
    ws: Ws,
    mut connection: Connection,
    timeouts: &Timeouts,
    shutdown: Shutdown,
) -> Result<(), WsError> {
    let mut socket = Socket { ws, timeouts };
    let result = match serve(&mut socket, &mut connection, shutdown).await {
        // Boxed, like the hooks: the closing handshake's state is needed once, at the end, not
        // in every idle connection's task.
        Ok(Some(close)) => Box::pin(socket.close(close)).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    connection.disconnected().await;
    result
}

/// The loop, after sending what the connection sends first; returns the close to send, or
/// none when the client went away.
async fn serve(
    socket: &mut Socket<'_>,
    connection: &mut Connection,
    mut shutdown: Shutdown,
) -> Result<Option<Close>, WsError> {
    if let Some(close) = send_first(socket, connection).await? {
        return Ok(Some(close));
    }
    let timeouts = socket.timeouts;
    let tenant = connection.tenant().clone();
    let auth_timer = tokio::time::sleep(tenant.auth.first_message_timeout);
    tokio::pin!(auth_timer);
    let mut ping = tokio::time::interval(timeouts.ping_interval);
    ping.reset();
    let mut last_seen = Instant::now();
    // Replies written but not yet flushed: a frame the socket has already read is handled
    // before they go out, so pipelined requests get their replies in one write (one syscall)
    // instead of one each. Flushed before anything waits, and at least every MAX_UNFLUSHED.
    let mut unflushed = 0;
    loop {
        let ready = if unflushed > 0 && unflushed < MAX_UNFLUSHED {
            socket.ws.next().now_or_never()
        } else {
            None
        };
        if ready.is_none() && unflushed > 0 {
            socket.flush().await?;
            unflushed = 0;
        }
        let frame = match ready {
            Some(frame) => frame,
            None => {
                let authenticated = connection.authenticated();
                let (mailbox, losses) = match &mut connection.phase {
                    Phase::Ready(r) => (r.mailbox.as_mut(), r.losses.as_mut()),
                    _ => (None, None),
                };
                let overflow = mailbox.as_ref().map(|m| m.overflowed.clone());
                tokio::select! {
                    frame = socket.ws.next() => frame,
                    () = &mut auth_timer, if !authenticated => return Ok(Some(Close::auth_timed_out())),
                    _ = ping.tick() => {
                        if last_seen.elapsed() >= timeouts.idle {
                            return Ok(Some(Close::idle()));
                        }
                        socket.send(Message::Ping(Vec::new().into())).await?;
                        continue;
                    }
                    () = shutdown.recv() => return Ok(Some(Close::shutting_down())),
                    Some(pushed) = next_push(mailbox) => {
                        if let Some(close) = catch_up::push(socket, connection, pushed, overflow).await? {
                            return Ok(Some(close));
                        }
                        continue;
                    }
                    () = lost(losses) => {
                        catch_up::fill(socket, connection).await?;
                        continue;
                    }
                    () = notified(overflow.clone()) => return Ok(Some(Close::slow_consumer())),
                }
            }
        };
        last_seen = Instant::now();
        let outcome = match on_frame(socket, connection, frame).await? {
            Step::Deliver(outcome) => outcome,
            Step::Next => continue,
            Step::End(close) => return Ok(close),
        };
        if let Some(close) = deliver(socket, outcome, &mut unflushed).await? {
            return Ok(Some(close));
        }
        if let Some(close) = send_first(socket, connection).await? {
            return Ok(Some(close));
        }
    }
}

/// Replies written before a flush, at most (the write deadline still applies to each).
const MAX_UNFLUSHED: usize = 32;

/// What to do after a frame.
enum Step {
    /// Send what it produced.
    Deliver(Outcome),
    /// Nothing to send (a ping, a pong).
    Next,
    /// The connection ends, with this close frame (none: the client went away).
    End(Option<Close>),
}

/// Handles one frame read from the client (`None`: the stream ended).
async fn on_frame(
    socket: &mut Socket<'_>,
    connection: &mut Connection,
    frame: Option<Result<Message, WsError>>,
) -> Result<Step, WsError> {
    Ok(match frame {
        None => Step::End(None),
        // tungstenite has queued the answering close frame: send it (RFC 6455 §5.5.1; `make
        // fuzz` found the socket dropped without it).
        Some(Ok(Message::Close(_))) => {
            let grace = socket.timeouts.close_grace;
            let _ = tokio::time::timeout(grace, socket.ws.flush()).await;
            Step::End(None)
        }
        // Boxed: a call's state (down to the guest's) lives only while it runs, not in every
        // idle connection's task.
        Some(Ok(Message::Text(t))) => match &mut connection.phase {
            Phase::Ready(r) => Step::Deliver(Box::pin(r.dispatcher.on_text(t.as_str())).await),
            Phase::Pending(p) => {
                let first = p.on_text(t.as_str());
                Step::Deliver(Box::pin(sign_in(connection, first)).await)
            }
            Phase::SigningIn(_) => Step::Next,
        },
        Some(Ok(Message::Binary(b))) => match &mut connection.phase {
            Phase::Ready(r) => Step::Deliver(Box::pin(r.dispatcher.on_binary(&b)).await),
            Phase::Pending(p) => {
                let first = p.on_binary(&b);
                Step::Deliver(Box::pin(sign_in(connection, first)).await)
            }
            Phase::SigningIn(_) => Step::Next,
        },
        Some(Ok(_)) => Step::Next,
        Some(Err(WsError::Capacity(e))) => Step::End(Some(Close::too_big(&e.to_string()))),
        Some(Err(WsError::Utf8(_))) => Step::End(Some(Close::not_utf8())),
        Some(Err(WsError::Protocol(e))) => Step::End(Some(Close::protocol_error(&e.to_string()))),
        Some(Err(e)) => return Err(e),
    })
}

/// Writes what a frame produced (counting the replies left unflushed).
async fn deliver(
    socket: &mut Socket<'_>,
    outcome: Outcome,
    unflushed: &mut usize,
) -> Result<Option<Close>, WsError> {
    for reply in outcome.replies {
        socket.feed(Message::text(reply)).await?;
        *unflushed += 1;
    }
    Ok(outcome.close)
}

/// A frame of a pending connection: a refusal as it is, or a valid `Auth` — then the user's
/// own connection limit applies, the connection is registered ([`connect::register`]) and
/// only then is its `AuthResponse` (followed by its resume frames) sent.
async fn sign_in(connection: &mut Connection, first: FirstMessage) -> Outcome {
    let signed_in = match first {
        FirstMessage::Refused(outcome) => return outcome,
        FirstMessage::Authenticated(signed_in) => *signed_in,
    };
    if let Some(id) = signed_in.session.user.as_ref().map(|u| u.id)
        && connection.slot.authenticated(id).is_err()
    {
        return Outcome::close(Close::too_many_for_user());
    }
    let tenant = connection.tenant().clone();
    let signing_in = Phase::SigningIn(tenant.clone());
    let Phase::Pending(pending) = std::mem::replace(&mut connection.phase, signing_in) else {
        unreachable!("sign_in on a pending connection");
    };
    let bucket = pending.into_bucket();
    let registered =
        connect::register(tenant, signed_in.session, signed_in.resume, Some(bucket)).await;
    info!("authenticated");
    connection.ready(registered);
    Outcome::reply(signed_in.response)
}

/// Sends what the connection sends first (a resume's frames) once; its close, if any, is the
/// caller's to send.
async fn send_first(
    socket: &mut Socket<'_>,
    connection: &mut Connection,
) -> Result<Option<Close>, WsError> {
    for frame in std::mem::take(&mut connection.first) {
        socket.send(Message::text(frame)).await?;
    }
    Ok(connection.close.take())
}

/// The next push for this connection; never resolves without a mailbox.
async fn next_push(mailbox: Option<&mut Mailbox>) -> Option<Pushed> {
    match mailbox {
        Some(m) => m.messages.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves when pushes may have been lost; never without a receiver (or once the hub is
/// gone).
async fn lost(losses: Option<&mut watch::Receiver<u64>>) {
    if let Some(l) = losses
        && l.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

/// Resolves when `signal` is notified; never without one.
async fn notified(signal: Option<Arc<Notify>>) {
    match signal {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}
