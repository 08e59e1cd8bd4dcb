//! A real SMTP server on loopback for the tests (mailin-embedded): it speaks SMTP as any mail
//! server does, keeps what it receives, and can refuse a recipient.

use std::{
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use mail_parser::MimeHeaders;
use mailin_embedded::{Handler, Response, Server, response};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a message that parses")
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().expect("a Message-ID").to_owned()
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|text| text.into_owned())
            .unwrap_or_default()
    }

    /// The calendar invites it carries as attachments: (file name, text).
    pub fn invites(&self) -> Vec<(String, String)> {
        let parsed = self.parsed();
        parsed
            .attachments()
            .filter(|part| part.attachment_name().is_some_and(|n| n.ends_with(".ics")))
            .map(|part| {
                (
                    part.attachment_name().unwrap_or_default().to_owned(),
                    String::from_utf8_lossy(part.contents()).into_owned(),
                )
            })
            .collect()
    }
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    /// Recipients whose mailbox "does not exist".
    refused: Arc<Mutex<Vec<String>>>,
    /// How long the server dawdles before it answers the end of a message.
    delay: Arc<Mutex<Duration>>,
}

#[derive(Clone)]
struct Session {
    shared: Shared,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Session {
    fn rcpt(&mut self, to: &str) -> Response {
        let refused = self.shared.refused.lock().unwrap();
        if refused.iter().any(|r| r.eq_ignore_ascii_case(to)) {
            return response::NO_MAILBOX;
        }
        self.to.push(to.to_owned());
        response::OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let delay = *self.shared.delay.lock().unwrap();
        std::thread::sleep(delay);
        self.shared.received.lock().unwrap().push(Received {
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
        });
        response::OK
    }
}

pub struct MailServer {
    pub port: u16,
    shared: Shared,
}

impl MailServer {
    /// A server on a free port.
    pub fn start() -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// A server on the given port (one that was free, for a server that "comes back").
    pub fn start_on(port: u16) -> Self {
        Self::serve(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn serve(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let shared = Shared::default();
        let handler = Session {
            shared: shared.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            // One thread per connection: pooled client connections stay open between messages.
            server
                .with_name("mail.test")
                .with_num_threads(64)
                .with_tcp_listener(listener);
            // Runs until the test process ends.
            let _ = server.serve();
        });
        Self { port, shared }
    }

    /// A port nothing listens on now (and a server may later).
    pub fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    pub fn refuse(&self, address: &str) {
        self.shared
            .refused
            .lock()
            .unwrap()
            .push(format!("<{address}>"));
        self.shared.refused.lock().unwrap().push(address.to_owned());
    }

    /// Makes the server answer each message only after `delay`.
    pub fn dawdle(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    pub fn accept_everyone(&self) {
        self.shared.refused.lock().unwrap().clear();
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` messages have arrived (at most 30 seconds), then returns
    /// all of them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..300 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "expected {count} messages, the mail server has {}",
            self.received().len()
        );
    }
}

/// Settings that send through `port` on loopback, quickly and with quick retries.
pub fn smtp_settings(settings: &mut api::Settings, port: u16) {
    let messages = &mut settings.messages;
    messages.dispatch = true;
    messages.smtp_host = Some("127.0.0.1".into());
    messages.smtp_port = Some(port);
    messages.smtp_tls = api::config::SmtpTls::None;
    messages.smtp_timeout_seconds = 5;
    messages.poll_ms = 50;
    messages.retry_base_ms = 200;
    messages.schedule_every_seconds = 1;
}
