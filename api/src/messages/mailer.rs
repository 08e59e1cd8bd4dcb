//! Where messages go: a mail server over SMTP (lettre), or, with none configured, `.eml` files
//! that any mail program opens.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::Mailbox,
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};

use crate::{
    config::{Environment, MessageSettings, SmtpTls},
    private_files,
};

/// Why a message did not go out.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    /// Sending again will not help (the server refused the recipient, say).
    pub permanent: bool,
    /// For the administrator: what the server or the file system said.
    pub reason: String,
    /// For the logs: the SMTP reply code, which names no one.
    pub code: Option<String>,
}

pub enum Mailer {
    /// With the longest a whole conversation may take: lettre's own time-out covers each
    /// step, so a server that stalls between steps would otherwise hold a send forever.
    Smtp(AsyncSmtpTransport<Tokio1Executor>, Duration),
    Files(PathBuf),
}

impl Mailer {
    pub fn from_settings(
        settings: &MessageSettings,
        data_dir: &std::path::Path,
        environment: Environment,
    ) -> anyhow::Result<Self> {
        if let Some(dir) = settings.file_folder(data_dir) {
            anyhow::ensure!(
                environment == Environment::Development || settings.mail_outbox_dir.is_some(),
                "SMTP_HOST is not set: in production, messages go to a mail server (or set \
                 MAIL_OUTBOX_DIR to write them as files on purpose)"
            );
            // Messages written before the service kept its files private become private too.
            if let Ok(entries) = std::fs::read_dir(&dir) {
                let _ = private_files::tighten(&dir);
                for entry in entries.flatten() {
                    let _ = private_files::tighten(&entry.path());
                }
            }
            return Ok(Self::Files(dir));
        }
        let host = settings.smtp_host.as_deref().unwrap_or_default().trim();
        let builder = match settings.smtp_tls {
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).context("SMTP_HOST")?
            }
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).context("SMTP_HOST")?
            }
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(Tls::None)
            }
        };
        let port = settings.smtp_port.unwrap_or(match settings.smtp_tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        });
        let timeout = Duration::from_secs(settings.smtp_timeout_seconds);
        let mut builder = builder.port(port).timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&settings.smtp_username, &settings.smtp_password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        // Checked here so that a bad host name stops the start, not every message.
        if settings.smtp_tls != SmtpTls::None {
            TlsParameters::new(host.to_owned()).context("SMTP_HOST")?;
        }
        Ok(Self::Smtp(builder.build(), timeout))
    }

    /// Where messages go, for the start-up log (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp(..) => "a mail server (SMTP)".into(),
            Self::Files(dir) => format!("files under {}", dir.display()),
        }
    }

    /// Sends one message; `file_name` names it when it is written as a file. Writing the same
    /// message again replaces the file, so a retry never leaves two.
    pub async fn send(&self, message: Message, file_name: &str) -> Result<(), SendError> {
        match self {
            Self::Smtp(transport, timeout) => {
                match tokio::time::timeout(*timeout, transport.send(message)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(smtp_failure(&error)),
                    Err(_) => Err(SendError {
                        permanent: false,
                        code: None,
                        reason: "the mail server did not finish in time".into(),
                    }),
                }
            }
            Self::Files(dir) => {
                private_files::write_atomically(dir, file_name, message.formatted())
                    .await
                    .map_err(|error| SendError {
                        permanent: false,
                        code: None,
                        reason: format!(
                            "could not write the message under {}: {error}",
                            dir.display()
                        ),
                    })
            }
        }
    }
}

impl Mailer {
    /// Removes the files of these outbox events (a person erased since they were written);
    /// those already gone are skipped. A mail server keeps nothing here.
    pub async fn forget(&self, events: &[uuid::Uuid]) -> std::io::Result<usize> {
        let Self::Files(dir) = self else {
            return Ok(0);
        };
        if events.is_empty() {
            return Ok(0);
        }
        let endings: Vec<String> = events.iter().map(|id| format!("-{id}.eml")).collect();
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(error) => return Err(error),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if endings.iter().any(|ending| name.ends_with(ending.as_str())) {
                tokio::fs::remove_file(entry.path()).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// What went wrong, in words of our own: a server's reply often repeats the recipient's
/// address, which does not belong in a record administrators browse.
fn smtp_failure(error: &lettre::transport::smtp::Error) -> SendError {
    let code = error.status().map(|code| code.to_string());
    let reason = match &code {
        Some(code) if error.is_permanent() => {
            format!("the mail server refused the message ({code})")
        }
        Some(code) => format!("the mail server asked to try again later ({code})"),
        None if error.is_timeout() => "the mail server did not answer in time".into(),
        None if error.is_tls() => "no secure connection to the mail server (TLS)".into(),
        None => "could not reach the mail server".into(),
    };
    SendError {
        permanent: error.is_permanent(),
        reason,
        code,
    }
}

/// The sender, checked at the start.
pub fn parse_sender(from: &str) -> anyhow::Result<Mailbox> {
    from.parse::<Mailbox>().with_context(|| {
        format!("MAIL_FROM `{from}` is not an address like `Naam <adres@example.nl>`")
    })
}

#[cfg(test)]
mod tests {
    use lettre::Message;

    use super::*;

    #[test]
    fn a_name_cannot_add_a_recipient_or_a_header() {
        let Ok(address) = "jan@example.nl".parse() else {
            panic!("the test's own setup failed");
        };
        let to = Mailbox::new(
            Some("Jan \"de Baas\" <kwaad@example.org>, Bcc: kwaad@example.org".into()),
            address,
        );
        let Ok(from) = parse_sender("Opleidingen <noreply@example.nl>") else {
            panic!("the test's own setup failed");
        };
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject("Test")
            .body(String::new());
        assert!(message.is_ok());
        let Ok(message) = message else { return };
        let text = String::from_utf8_lossy(&message.formatted()).into_owned();
        let headers = &text[..text.find("\r\n\r\n").unwrap_or(text.len())];
        let to = headers
            .replace("\r\n ", " ")
            .lines()
            .find(|line| line.starts_with("To:"))
            .unwrap_or_default()
            .to_owned();
        assert!(to.ends_with("<jan@example.nl>"), "{to}");
        assert!(!headers.contains("\r\nBcc:"), "{headers}");
        // The name stays one quoted (or encoded) display name.
        assert_eq!(to.matches('<').count(), 1, "{to}");
    }
}
