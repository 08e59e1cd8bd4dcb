//! Open connections per client address, bounded: one address cannot hold every connection the
//! service can serve (slow bodies, idle WebSockets). Each connection takes a slot when it is
//! accepted and gives it back when it closes; a request on a connection beyond the bound is
//! answered 429 and the connection closed. Trusted proxies are not counted: behind one, every
//! client shares the proxy's address, and the proxy bounds its own connections.

use std::{
    any::Any,
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use actix_web::{
    Error, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{Extensions, ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    rt::net::TcpStream,
};
use serde_json::json;

use super::client_address::{TrustedProxies, limit_key};
use crate::error::code;

/// Open connections by address.
pub struct ConnectionCounts {
    max_per_address: usize,
    trusted: TrustedProxies,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl ConnectionCounts {
    pub fn new(max_per_address: usize, trusted: TrustedProxies) -> Arc<Self> {
        Arc::new(Self {
            max_per_address,
            trusted,
            open: Mutex::default(),
        })
    }

    /// Takes a slot for a new connection from `ip`.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        if self.trusted.trusts(ip) {
            return None;
        }
        let ip = limit_key(ip);
        let mut open = self.open.lock().ok()?;
        let count = open.entry(ip).or_default();
        *count += 1;
        Some(ConnectionSlot {
            counts: self.clone(),
            ip,
            over_limit: *count > self.max_per_address,
        })
    }

    /// For `HttpServer::on_connect`: gives every accepted connection its slot.
    pub fn on_connect(self: &Arc<Self>) -> impl Fn(&dyn Any, &mut Extensions) + use<> {
        let counts = self.clone();
        move |connection, extensions| {
            let peer = connection
                .downcast_ref::<TcpStream>()
                .and_then(|stream| stream.peer_addr().ok());
            if let Some(slot) = peer.and_then(|peer| counts.admit(peer.ip())) {
                extensions.insert(slot);
            }
        }
    }
}

/// A connection's place in the count; dropped with the connection.
pub struct ConnectionSlot {
    counts: Arc<ConnectionCounts>,
    ip: IpAddr,
    over_limit: bool,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.counts.open.lock()
            && let Some(count) = open.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Refuses requests on connections beyond their address's bound, and closes those connections.
pub async fn refuse_crowded(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let crowded = request
        .conn_data::<ConnectionSlot>()
        .is_some_and(|slot| slot.over_limit);
    if !crowded {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    tracing::warn!("refused a request: too many connections from one address");
    let response = HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, "1"))
        .force_close()
        .json(json!({ "errors": [{
            "message": "too many open connections from this address",
            "extensions": { "code": code::TOO_MANY_CONNECTIONS },
        }] }));
    Ok(request.into_response(response).map_into_right_body())
}
