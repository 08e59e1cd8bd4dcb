//! Whole messages from a WebSocket's frames, each with a deadline.
//!
//! A message may come in many continuation frames, and control frames (the client's pongs)
//! may come between them. actix-ws's own aggregation waits for the last frame however long it
//! takes, while the pongs keep the connection looking alive: a subscribe message fed a byte every
//! few seconds was still accepted after minutes. Here a message that has begun must be whole
//! within the request body's deadline, and no larger than a request body.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_ws::{Item, Message, MessageStream, ProtocolError};
use tokio::time::Instant;

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
    max_size: usize,
    patience: Duration,
    partial: Option<Partial>,
}

impl Messages {
    pub fn new(stream: MessageStream, max_size: usize, patience: Duration) -> Self {
        Self {
            stream: stream.max_frame_size(max_size),
            max_size,
            patience,
            partial: None,
        }
    }

    /// The next whole message; `None` when the client has gone. Safe to cancel (as in
    /// `select!`): a message begun stays begun, with its deadline.
    pub async fn recv(&mut self) -> Option<Result<Whole, Broken>> {
        loop {
            let frame = match self.partial.as_ref().map(|partial| partial.deadline) {
                Some(deadline) => {
                    match tokio::time::timeout_at(deadline, self.stream.recv()).await {
                        Ok(frame) => frame,
                        Err(_) => return Some(Err(Broken::TooSlow)),
                    }
                }
                None => self.stream.recv().await,
            }?;
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
