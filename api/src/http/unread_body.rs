//! A chunked request body nobody read to its end must not hold its connection.
//!
//! actix-http drains a chunked body whose handler has dropped it, to keep the connection alive
//! for the next request, and no deadline runs while it drains: a client trickling a byte every
//! few seconds (after its 408, or after any answer that did not need the body, such as 401, 415
//! or `/healthz`) held its connection for as long as it liked. While the body is still held when
//! the answer is written, actix-http instead answers with `Connection: close`, lingers at most
//! `client_disconnect_timeout` for the client to finish, and closes. So the body is held here,
//! outermost, until the answer's last byte has gone out. A body read to its end changes nothing:
//! the connection stays open for the next request.

use std::{
    cell::RefCell,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

use actix_web::{
    Error, HttpMessage,
    body::{BodySize, BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    middleware::Next,
    web::Bytes,
};
use futures_util::Stream;

type Shared = Rc<RefCell<Payload>>;

pub async fn hold_unread_body(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<HeldBody>, Error> {
    // Bodies with a Content-Length are closed on already; an upgrade carries no body.
    let held = if request.chunked().unwrap_or(false) {
        let shared: Shared = Rc::new(RefCell::new(request.take_payload()));
        request.set_payload(Payload::Stream {
            payload: Box::pin(SharedPayload(shared.clone())),
        });
        Some(shared)
    } else {
        None
    };
    let response = next.call(request).await?;
    Ok(response.map_body(|_, body| HeldBody {
        body: body.boxed(),
        _payload: held,
    }))
}

/// The handler's view of the held body.
struct SharedPayload(Shared);

impl Stream for SharedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.0.try_borrow_mut() {
            Ok(mut payload) => Pin::new(&mut *payload).poll_next(cx),
            // Only the handler polls it, one poll at a time.
            Err(_) => Poll::Ready(None),
        }
    }
}

/// An answer's body that keeps the request's body alive until it has been written.
pub struct HeldBody {
    body: BoxBody,
    _payload: Option<Shared>,
}

impl MessageBody for HeldBody {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }

    /// Only an answer that holds no request body may be taken whole; one that does must stay
    /// alive until the dispatcher has written it to its end.
    fn try_into_bytes(self) -> Result<Bytes, Self> {
        match self._payload {
            None => self.body.try_into_bytes().map_err(|body| Self {
                body,
                _payload: None,
            }),
            held @ Some(_) => Err(Self {
                body: self.body,
                _payload: held,
            }),
        }
    }
}
