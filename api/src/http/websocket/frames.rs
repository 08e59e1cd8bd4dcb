//! Whole messages from a WebSocket's frames, each with a deadline.
//!
//! A message may come in many continuation frames, and control frames (the client's pongs)
//! may come between them. actix-ws's own aggregation waits for the last frame however long it
//! takes, while the pongs keep the connection looking alive: a subscribe message fed a byte every
//! few seconds was still accepted after minutes. Here a message that has begun must be whole
//! within the request body's deadline, and no larger than a request body.
//!
//! One frame is bounded too. actix checks a frame's length only once all of it has arrived, and
//! buffers what comes until then: a frame that declared 4 GB filled memory at network speed. So
//! the bytes that arrived and are not yet a frame are counted as they come (`Counted`), and past
//! a request body they end the connection; bytes waiting to become a frame start the deadline
//! as well.

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use actix_web::{error::PayloadError, web, web::Bytes};
use actix_ws::{Item, Message, MessageStream, ProtocolError};
use futures_util::Stream;
use tokio::time::Instant;

/// A frame's header, at most: what a decoded frame took of the buffer besides its payload.
const FRAME_HEADER: usize = 14;

/// Bytes that arrived and are not a frame yet, and since when some have been waiting.
pub struct Buffered {
    cap: usize,
    state: Mutex<(usize, Option<Instant>)>,
}

impl Buffered {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            state: Mutex::new((0, None)),
        })
    }

    /// Counts bytes that arrived; false when more wait than a frame may hold.
    fn arrived(&self, bytes: usize) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        state.0 = state.0.saturating_add(bytes);
        if state.0 > 0 && state.1.is_none() {
            state.1 = Some(Instant::now());
        }
        state.0 <= self.cap
    }

    /// Counts a frame decoded from the buffer.
    fn decoded(&self, payload: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.0 = state.0.saturating_sub(payload.saturating_add(FRAME_HEADER));
            if state.0 == 0 {
                state.1 = None;
            }
        }
    }

    fn waiting_since(&self) -> Option<Instant> {
        self.state.lock().ok().and_then(|state| state.1)
    }
}

/// The WebSocket's bytes as they arrive, counted.
pub struct Counted {
    inner: web::Payload,
    buffered: Arc<Buffered>,
}

impl Counted {
    pub fn new(inner: web::Payload, buffered: Arc<Buffered>) -> Self {
        Self { inner, buffered }
    }
}

impl Stream for Counted {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) if !self.buffered.arrived(bytes.len()) => {
                Poll::Ready(Some(Err(PayloadError::Overflow)))
            }
            other => other,
        }
    }
}

/// A message as the connection handles it.
pub enum Whole {
    Text(String),
    Binary,
    Ping(Bytes),
    Pong,
    Close,
}

/// Why no message could be had.
pub enum Broken {
    /// Larger than a request body.
    TooLarge,
    /// Begun, and not finished in time.
    TooSlow,
    /// Frames that break the protocol (or text that is not UTF-8).
    Malformed,
}

struct Partial {
    text: bool,
    bytes: Vec<u8>,
    deadline: Instant,
}

pub struct Messages {
    stream: MessageStream,
    buffered: Arc<Buffered>,
    max_size: usize,
    patience: Duration,
    partial: Option<Partial>,
}

impl Messages {
    pub fn new(
        stream: MessageStream,
        buffered: Arc<Buffered>,
        max_size: usize,
        patience: Duration,
    ) -> Self {
        Self {
            stream: stream.max_frame_size(max_size),
            buffered,
            max_size,
            patience,
            partial: None,
        }
    }

    /// When the message under way must be whole: its first frame's deadline, or that of bytes
    /// waiting to become a frame.
    fn deadline(&self) -> Option<Instant> {
        let begun = self.partial.as_ref().map(|partial| partial.deadline);
        let waiting = self
            .buffered
            .waiting_since()
            .map(|since| since + self.patience);
        begun.into_iter().chain(waiting).min()
    }

    /// The next whole message; `None` when the client has gone. Safe to cancel (as in
    /// `select!`): a message begun stays begun, with its deadline.
    pub async fn recv(&mut self) -> Option<Result<Whole, Broken>> {
        loop {
            // Bytes may begin to wait while this waits: look again at least every `patience`.
            let until = self
                .deadline()
                .unwrap_or_else(|| Instant::now() + self.patience);
            let frame = match tokio::time::timeout_at(until, self.stream.recv()).await {
                Ok(frame) => frame,
                Err(_) if self.deadline().is_some_and(|due| due <= Instant::now()) => {
                    return Some(Err(Broken::TooSlow));
                }
                Err(_) => continue,
            }?;
            if let Ok(frame) = &frame {
                self.buffered.decoded(payload_len(frame));
            }
            let frame = match frame {
                Ok(frame) => frame,
                Err(ProtocolError::Overflow | ProtocolError::Io(_)) => {
                    return Some(Err(Broken::TooLarge));
                }
                Err(_) => return Some(Err(Broken::Malformed)),
            };
            let whole = match frame {
                Message::Text(_) | Message::Binary(_) if self.partial.is_some() => {
                    Err(Broken::Malformed)
                }
                Message::Text(text) => Ok(Whole::Text(text.to_string())),
                Message::Binary(_) => Ok(Whole::Binary),
                Message::Ping(bytes) => Ok(Whole::Ping(bytes)),
                Message::Pong(_) => Ok(Whole::Pong),
                Message::Close(_) => Ok(Whole::Close),
                Message::Nop => continue,
                Message::Continuation(item) => match self.continued(item) {
                    Ok(None) => continue,
                    Ok(Some(whole)) => Ok(whole),
                    Err(broken) => Err(broken),
                },
            };
            return Some(whole);
        }
    }

    /// Begins a message, with its deadline; its first frame is added as any other.
    fn begin(&mut self, text: bool, first: Bytes) -> Bytes {
        self.partial = Some(Partial {
            text,
            bytes: Vec::new(),
            deadline: Instant::now() + self.patience,
        });
        first
    }

    /// Adds a frame to the message begun; the message when it is whole.
    fn continued(&mut self, item: Item) -> Result<Option<Whole>, Broken> {
        let (bytes, last) = match item {
            Item::FirstText(_) | Item::FirstBinary(_) if self.partial.is_some() => {
                return Err(Broken::Malformed);
            }
            Item::FirstText(bytes) => (self.begin(true, bytes), false),
            Item::FirstBinary(bytes) => (self.begin(false, bytes), false),
            Item::Continue(bytes) => (bytes, false),
            Item::Last(bytes) => (bytes, true),
        };
        let Some(partial) = self.partial.as_mut() else {
            return Err(Broken::Malformed);
        };
        if partial.bytes.len() + bytes.len() > self.max_size {
            return Err(Broken::TooLarge);
        }
        partial.bytes.extend_from_slice(&bytes);
        if !last {
            return Ok(None);
        }
        let Some(partial) = self.partial.take() else {
            return Err(Broken::Malformed);
        };
        if !partial.text {
            return Ok(Some(Whole::Binary));
        }
        String::from_utf8(partial.bytes)
            .map(|text| Some(Whole::Text(text)))
            .map_err(|_| Broken::Malformed)
    }
}

/// The bytes of a frame's payload.
fn payload_len(frame: &Message) -> usize {
    match frame {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Continuation(
            Item::FirstText(bytes)
            | Item::FirstBinary(bytes)
            | Item::Continue(bytes)
            | Item::Last(bytes),
        ) => bytes.len(),
        Message::Close(reason) => reason
            .as_ref()
            .and_then(|reason| reason.description.as_ref())
            .map_or(2, |description| description.len() + 2),
        Message::Nop => 0,
    }
}
