//! One upgraded connection's loop: the socket, the auth and keep-alive timers, pushes and
//! shutdown, in one `select!`. Once authenticated, a resuming client first gets what it missed
//! ([`crate::resume`]); live pushes it already got that way are dropped here. What a frame means is [`crate::dispatch`]'s business; this file
//! only moves frames and enforces time: every write has a deadline, so a client that stops
//! reading cannot pin its connection (or the server's shutdown).

use std::sync::Arc;
use std::time::Instant;

use futures_util::{FutureExt as _, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{debug, info, warn};

use crate::config::Timeouts;
use crate::dispatch::{Close, Dispatcher, Outcome};
use crate::push::{Mailbox, Pushed};
use crate::resume::{self, Plan, Requested, ResumeError};
use crate::runtime::Hook;
use crate::runtime::StateAccess;
use crate::shutdown::Shutdown;
use crate::tenants::{ConnectionSlot, Tenant};

type Ws = WebSocketStream<TcpStream>;

/// An admitted connection, before its socket is upgraded.
pub struct Connection {
    dispatcher: Dispatcher,
    /// Pushes for this connection (registered once authenticated, when the server has state).
    mailbox: Option<Mailbox>,
    slot: ConnectionSlot,
    /// The `Seq` the client resumes after (from the request; an `Auth` message may replace it).
    resume: Requested,
    /// Live pushes with a `Seq` up to this were replayed already.
    floor: u64,
}

/// What an authenticated connection sends first: the resume's frames, then maybe a close.
type Resumed = (Vec<String>, Option<Close>);

impl Connection {
    /// A connection handled by `dispatcher`, holding its tenant's connection slot; `resume`
    /// is what its request asked ([`resume::from_request`]).
    pub fn new(dispatcher: Dispatcher, slot: ConnectionSlot, resume: Requested) -> Self {
        Self {
            dispatcher,
            mailbox: None,
            slot,
            resume,
            floor: 0,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &Arc<Tenant> {
        self.dispatcher.tenant()
    }

    /// Registers for pushes, plans the resume (after registering: a push during the read is
    /// then either in the replay or in the mailbox) and runs the `on-connect` hooks.
    async fn on_authenticated(&mut self) -> Resumed {
        let tenant = self.dispatcher.tenant().clone();
        let mut plan = self.resume.clone().map(|_| Plan::default());
        if let (Some(state), Some(session)) = (&tenant.state, self.dispatcher.session()) {
            let user = session.user.as_ref().map(|u| u.id);
            let mailbox = state.bus.hub().register(tenant.name.clone(), user);
            self.dispatcher.attach(mailbox.id);
            self.mailbox = Some(mailbox);
            if let (Ok(Some(after)), Some(user)) = (&self.resume, user) {
                plan = replay_plan(state, &tenant.name, user, *after).await;
            }
        }
        self.dispatcher.run_hooks(Hook::Connect).await;
        match plan {
            Ok(plan) => {
                self.floor = plan.floor;
                if !plan.frames.is_empty() {
                    debug!(frames = plan.frames.len(), "resumed");
                }
                (plan.frames, None)
            }
            Err(e) => {
                info!(error = %e, "resume refused");
                (vec![e.envelope()], Some(Close::bad_resume(&e.to_string())))
            }
        }
    }
}

/// What a client of `tenant`'s `user` resuming after `after` gets before live pushes.
async fn replay_plan(
    state: &StateAccess,
    tenant: &str,
    user: i64,
    after: u64,
) -> Result<Plan, ResumeError> {
    let policy = state.push_history;
    if !policy.enabled() {
        return Ok(resume::no_history(after));
    }
    match state.history.read(tenant, user, after, policy).await {
        Ok(read) => resume::plan(after, read),
        Err(e) => {
            warn!(error = %e, "resume: history unreachable; the client gets a gap");
            Ok(resume::no_history(after))
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
    let resumed = match connection.dispatcher.session() {
        Some(_) => Box::pin(connection.on_authenticated()).await,
        None => (Vec::new(), None),
    };
    let result = match serve(&mut socket, &mut connection, resumed, shutdown).await {
        // Boxed, like the hooks: the closing handshake's state is needed once, at the end, not
        // in every idle connection's task.
        Ok(Some(close)) => Box::pin(socket.close(close)).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    Box::pin(connection.dispatcher.run_hooks(Hook::Disconnect)).await;
    result
}

/// The socket with deadlines on every write.
struct Socket<'a> {
    ws: Ws,
    timeouts: &'a Timeouts,
}

impl Socket<'_> {
    /// Sends one message, or fails once the client has not taken it within the write
    /// deadline.
    async fn send(&mut self, message: Message) -> Result<(), WsError> {
        self.within_deadline(|ws| ws.send(message)).await
    }

    /// Writes one message without flushing it (a full write buffer still goes out), under
    /// the same deadline.
    async fn feed(&mut self, message: Message) -> Result<(), WsError> {
        self.within_deadline(|ws| ws.feed(message)).await
    }

    /// Flushes what was fed, under the same deadline.
    async fn flush(&mut self) -> Result<(), WsError> {
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

    async fn close(&mut self, close: Close) -> Result<(), WsError> {
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

/// The loop, after sending what the resume produced; returns the close to send, or none when
/// the client went away.
async fn serve(
    socket: &mut Socket<'_>,
    connection: &mut Connection,
    resumed: Resumed,
    mut shutdown: Shutdown,
) -> Result<Option<Close>, WsError> {
    if let Some(close) = send_resumed(socket, resumed).await? {
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
                let overflow = connection.mailbox.as_ref().map(|m| m.overflowed.clone());
                let authenticated = connection.dispatcher.session().is_some();
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
                    Some(Pushed { seq, text }) = next_push(&mut connection.mailbox) => {
                        if seq.is_some_and(|seq| seq <= connection.floor) {
                            continue; // replayed already
                        }
                        tokio::select! {
                            sent = socket.ws.send(Message::text(text)) => sent?,
                            () = notified(overflow) => return Ok(Some(Close::slow_consumer())),
                            () = tokio::time::sleep(timeouts.push_send) => return Ok(Some(Close::slow_consumer())),
                        }
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
        if let Some(close) = deliver(socket, connection, outcome, &mut unflushed).await? {
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
        Some(Ok(Message::Text(t))) => {
            Step::Deliver(Box::pin(connection.dispatcher.on_text(t.as_str())).await)
        }
        Some(Ok(Message::Binary(b))) => {
            Step::Deliver(Box::pin(connection.dispatcher.on_binary(&b)).await)
        }
        Some(Ok(_)) => Step::Next,
        Some(Err(WsError::Capacity(e))) => Step::End(Some(Close::too_big(&e.to_string()))),
        Some(Err(WsError::Utf8(_))) => Step::End(Some(Close::not_utf8())),
        Some(Err(WsError::Protocol(e))) => Step::End(Some(Close::protocol_error(&e.to_string()))),
        Some(Err(e)) => return Err(e),
    })
}

/// Writes what a frame produced (counting the replies left unflushed); registers the
/// connection when it just authenticated.
async fn deliver(
    socket: &mut Socket<'_>,
    connection: &mut Connection,
    outcome: Outcome,
    unflushed: &mut usize,
) -> Result<Option<Close>, WsError> {
    for reply in outcome.replies {
        socket.feed(Message::text(reply)).await?;
        *unflushed += 1;
    }
    if outcome.authenticated {
        // Authenticated after the upgrade: the user's own connection limit applies now.
        let user = connection
            .dispatcher
            .session()
            .and_then(|s| s.user.as_ref());
        if let Some(id) = user.map(|u| u.id)
            && connection.slot.authenticated(id).is_err()
        {
            return Ok(Some(Close::too_many_for_user()));
        }
        if let Some(resume) = outcome.resume {
            connection.resume = resume;
        }
        let resumed = Box::pin(connection.on_authenticated()).await;
        info!("authenticated");
        if let Some(close) = send_resumed(socket, resumed).await? {
            return Ok(Some(close));
        }
    }
    Ok(outcome.close)
}

/// Sends a resume's frames; its close, if any, is the caller's to send.
async fn send_resumed(
    socket: &mut Socket<'_>,
    (frames, close): Resumed,
) -> Result<Option<Close>, WsError> {
    for frame in frames {
        socket.send(Message::text(frame)).await?;
    }
    Ok(close)
}

/// The next push for this connection; never resolves without a mailbox.
async fn next_push(mailbox: &mut Option<Mailbox>) -> Option<Pushed> {
    match mailbox {
        Some(m) => m.messages.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves when `signal` is notified; never without one.
async fn notified(signal: Option<Arc<Notify>>) {
    match signal {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}
