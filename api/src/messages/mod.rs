//! Telling people: the outbox's events become Dutch e-mail with calendar invites, sent through
//! a mail server or written as files; reminders and feedback requests are scheduled once.
//!
//! A change writes its outbox event in its own transaction (see `db::outbox`), so a change that
//! rolls back tells no one and a committed one is never forgotten. The dispatcher delivers each
//! event at least once and, short of a process dying between sending and recording, exactly
//! once; a resent message carries the same Message-ID, so mail programs show it once.

pub mod calendar;
mod dispatcher;
mod mailer;
pub mod notice;
mod render;
mod schedule;

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;

use crate::{config::Settings, metrics::Metrics};
pub use dispatcher::backoff;
use dispatcher::{DispatchSettings, Dispatcher};

/// Checks the mail settings and, unless this process does not dispatch, starts the dispatcher.
/// A setting that cannot work stops the start.
pub fn start(
    db: DatabaseConnection,
    settings: &Settings,
    metrics: Arc<Metrics>,
    shutdown: &crate::shutdown::Shutdown,
) -> anyhow::Result<()> {
    let messages = &settings.messages;
    let sender = mailer::parse_sender(&messages.mail_from)?;
    let renderer = render::Renderer::new()?;
    if !messages.dispatch {
        tracing::info!("this process does not send messages (DISPATCH_MESSAGES=false)");
        return Ok(());
    }
    let mailer = mailer::Mailer::from_settings(
        messages,
        &settings.auth.data_dir,
        settings.auth.environment,
    )?;
    tracing::info!(to = %mailer.describe(), "sending messages");
    let smtp_timeout = Duration::from_secs(messages.smtp_timeout_seconds);
    let (db_for_webhooks, metrics_for_webhooks) = (db.clone(), metrics.clone());
    let dispatcher = Dispatcher {
        db,
        mailer,
        composer: notice::Composer::new(renderer, sender),
        admin_email: settings.webhooks.admin_alert_email.clone(),
        metrics,
        shutdown: shutdown.clone(),
        settings: DispatchSettings {
            poll: Duration::from_millis(messages.poll_ms),
            max_attempts: messages.max_attempts,
            retry_base: Duration::from_millis(messages.retry_base_ms),
            // A send that lasts this long has certainly failed: the lease outlives any attempt.
            lease: chrono::Duration::from_std(smtp_timeout * 4)
                .unwrap_or(chrono::Duration::minutes(5))
                .max(chrono::Duration::minutes(1)),
            reminder_days: messages.reminder_days_before,
            schedule_every: Duration::from_secs(messages.schedule_every_seconds),
        },
    };
    shutdown.spawn_worker(Arc::new(dispatcher).run());
    start_webhooks(db_for_webhooks, settings, metrics_for_webhooks, shutdown)?;
    Ok(())
}

/// The webhook dispatcher, beside the mail dispatcher: a receiver that fails never holds back
/// anyone's e-mail.
fn start_webhooks(
    db: DatabaseConnection,
    settings: &Settings,
    metrics: Arc<Metrics>,
    shutdown: &crate::shutdown::Shutdown,
) -> anyhow::Result<()> {
    use crate::sync::webhooks::{addresses::AllowList, dispatcher};
    let webhooks = &settings.webhooks;
    let dispatcher = dispatcher::WebhookDispatcher::new(
        db,
        dispatcher::WebhookSettings {
            poll: Duration::from_millis(settings.messages.poll_ms),
            max_attempts: webhooks.webhook_max_attempts,
            retry_base: Duration::from_millis(webhooks.webhook_retry_base_ms),
            timeout: Duration::from_secs(webhooks.webhook_timeout_seconds),
            disable_after: chrono::Duration::hours(i64::from(webhooks.webhook_disable_after_hours)),
            allow: Arc::new(AllowList::parse(&webhooks.webhook_allowed_hosts)?),
            admin_email: webhooks.admin_alert_email.clone(),
        },
        metrics,
        shutdown.clone(),
    )?;
    shutdown.spawn_worker(Arc::new(dispatcher).run());
    Ok(())
}
