//! The mail sender: each app server runs one; together they send every outbox row once.
//!
//! A sender claims a batch of pending rows (`db::outbox::claim`: `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, the write lock on SQLite), sends them one by one, and marks each sent, or
//! pending again after a backoff ([`backoff`]), or failed after [`MAX_ATTEMPTS`] tries or a
//! permanent refusal. A claim holds for [`LEASE`]; a sender that stops after sending and before
//! marking leaves its rows sending, and once the lease has run out another sender (or this
//! one, started again) takes them back and sends them once more: a crash there re-sends a
//! message at most once more, with the same `Message-ID`. Nothing is lost on a restart: the
//! rows wait in the table.

use super::{millis, ms};
use crate::clock::Clock;
use crate::db::{self, Db};
use crate::mail::{Outgoing, Transport};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tries of one message before it fails.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claim holds without the sender marking its rows. A sender starts no send in
/// the second half of its claim (it hands the rest of the batch back), and one send is cut
/// off after [`SEND_TIMEOUT`], so a live sender's rows are never taken back.
pub const LEASE: Duration = Duration::from_secs(600);
/// The longest one send may take, whatever the SMTP server does (`lettre`'s own timeout bounds
/// only the connect, and the transport's bounds of the exchange are its own guesses; this one
/// holds whatever a transport does). A sender starts no send after the first
/// half of its claim, and a send cut off at a quarter of the lease ends by three quarters of
/// it, leaving the last quarter to mark the row: a hung server cannot keep a row past its
/// lease, after which another server would take it back and send it a second time. A send cut
/// off counts as a failed try (retried after its backoff).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(LEASE.as_secs() / 4);
// The last send starts before half the lease and is cut off before its end.
const _: () = assert!(LEASE.as_secs() / 2 + SEND_TIMEOUT.as_secs() < LEASE.as_secs());
/// Rows claimed at once.
pub const BATCH: i64 = 20;
/// How long sent and failed rows are kept.
pub const KEEP: Duration = Duration::from_secs(30 * 86_400);

/// The wait before try `attempt + 1` after try `attempt` failed: 30 s, doubling, at most an
/// hour (eight tries span about two hours).
pub fn backoff(attempt: i64) -> Duration {
    let doublings = u32::try_from((attempt - 1).clamp(0, 7)).unwrap_or(7);
    Duration::from_secs(30 * (1u64 << doublings)).min(Duration::from_secs(3600))
}

/// A server's sender, before it starts.
pub struct Sender {
    db: Db,
    transport: Arc<dyn Transport>,
    instance: String,
    clock: Clock,
    poll: Duration,
    send_timeout: Duration,
}

/// A started sender: stop it as the server stops.
#[derive(Debug)]
pub struct SenderHandle {
    task: tokio::task::JoinHandle<()>,
    db: Db,
    instance: String,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    send_timeout: Duration,
}

/// Asks a sender to stop from elsewhere (the server's signal handler), as
/// [`SenderHandle::begin_stop`].
#[derive(Debug, Clone)]
pub struct StopSender(Arc<tokio::sync::watch::Sender<bool>>);

impl StopSender {
    /// Asks the sender to stop: it finishes the send under way and starts no other.
    pub fn begin_stop(&self) {
        let _ = self.0.send(true);
    }
}

/// How long a stopping sender may take beyond its send timeout to mark its last message and
/// hand back the rest of its batch.
const STOP_MARGIN: Duration = Duration::from_secs(10);

impl Sender {
    /// A sender of `db`'s outbox through `transport`, claiming as server `instance`.
    pub fn new(db: Db, transport: Arc<dyn Transport>, instance: impl Into<String>) -> Self {
        Self {
            db,
            transport,
            instance: instance.into(),
            clock: Clock::system(),
            poll: super::POLL,
            send_timeout: SEND_TIMEOUT,
        }
    }

    /// Gives up a send after `timeout` (tests), never later than [`SEND_TIMEOUT`].
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout.min(SEND_TIMEOUT);
        self
    }

    /// Times read from `clock` (tests move it to run out backoffs and leases).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Looks for messages every `poll`.
    pub fn polling_every(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Starts sending on a task of its own.
    pub fn spawn(self) -> SenderHandle {
        let db = self.db.clone();
        let instance = self.instance.clone();
        let send_timeout = self.send_timeout;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        SenderHandle {
            task: tokio::spawn(self.run(stopping)),
            db,
            instance,
            stop: Arc::new(stop),
            send_timeout,
        }
    }

    async fn run(self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let mut pruned: Option<Instant> = None;
        loop {
            if *stopping.borrow() {
                return;
            }
            if pruned.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                pruned = Some(Instant::now());
                let before = millis(&self.clock) - ms(KEEP);
                if let Err(e) = db::outbox::prune(self.db.writer(), before).await {
                    tracing::warn!("deleting old outbox rows failed: {e}");
                }
            }
            match self.send_batch_until(&|| *stopping.borrow()).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!("sending mail failed: {e}"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.poll) => {}
                changed = stopping.changed() => {
                    // The handle was dropped: nobody can stop it any more, nor wait for it.
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Takes back rows whose lease ran out, claims a batch and sends it. Returns the rows
    /// claimed.
    pub async fn send_batch(&self) -> Result<usize, sqlx::Error> {
        self.send_batch_until(&|| false).await
    }

    /// [`Sender::send_batch`], starting no send once `stopping` says so (the rest of the batch
    /// is handed back; a send under way finishes, within the send timeout).
    async fn send_batch_until(
        &self,
        stopping: &(dyn Fn() -> bool + Sync),
    ) -> Result<usize, sqlx::Error> {
        let now = millis(&self.clock);
        if !db::outbox::any_work(self.db.reader(), now).await? {
            return Ok(0);
        }
        // Its rows and the students' whose reminders fail: the site's shared write lock.
        let mut tx = self.db.begin_write_of(&[]).await?;
        let taken = db::outbox::take_back_expired(&mut tx, now, MAX_ATTEMPTS).await?;
        tx.commit().await?;
        if taken > 0 {
            tracing::warn!(
                messages = taken,
                "messages whose sender stopped answering were taken back; they are sent again"
            );
        }
        let claimed = db::outbox::claim(
            self.db.writer(),
            &self.instance,
            now,
            now + ms(LEASE),
            BATCH,
        )
        .await?;
        let started = Instant::now();
        for (i, message) in claimed.iter().enumerate() {
            if started.elapsed() > LEASE / 2 || stopping() {
                // A slow SMTP server: hand the rest back rather than outlive the claim; or
                // the server is stopping: hand it back for another server, or this one
                // started again.
                for rest in &claimed[i..] {
                    db::outbox::unclaim(self.db.writer(), rest, &self.instance).await?;
                }
                break;
            }
            self.send_one(message).await?;
        }
        Ok(claimed.len())
    }

    async fn send_one(&self, row: &db::outbox::Claimed) -> Result<(), sqlx::Error> {
        let outgoing = Outgoing {
            to: row.to_address.clone(),
            subject: row.subject.clone(),
            text: row.body_text.clone(),
            html: row.body_html.clone(),
            unsubscribe_url: row.unsubscribe_url.clone(),
            message_id: row.message_id.clone(),
            written_at: jiff::Timestamp::from_millisecond(row.created_at)
                .unwrap_or_else(|_| self.clock.now()),
        };
        let result = tokio::time::timeout(self.send_timeout, self.transport.send(&outgoing))
            .await
            .unwrap_or_else(|_| {
                Err(crate::mail::SendError {
                    permanent: false,
                    message: format!(
                        "the mail server did not finish the send within {} s",
                        self.send_timeout.as_secs_f64()
                    ),
                })
            });
        let now = millis(&self.clock);
        let ours = match result {
            Ok(()) => db::outbox::mark_sent(self.db.writer(), row, &self.instance, now).await?,
            Err(e) => {
                let retry = (!e.permanent && row.attempts < MAX_ATTEMPTS)
                    .then(|| now + ms(backoff(row.attempts)));
                tracing::warn!(
                    message = row.id,
                    kind = %row.kind,
                    attempt = row.attempts,
                    retry = retry.is_some(),
                    "sending a message failed: {e}"
                );
                self.mark_failed(row, &e.message, retry).await?
            }
        };
        if !ours {
            tracing::warn!(
                message = row.id,
                "a message was marked after its claim's lease ran out and another server took it"
            );
        }
        Ok(())
    }
}

impl Sender {
    /// Marks a failed try; a reminder that failed for good makes the news it told news again,
    /// in the same transaction (`db::mail::untell_failed`).
    async fn mark_failed(
        &self,
        row: &db::outbox::Claimed,
        error: &str,
        retry: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let student = match (retry, row.kind.as_str(), row.user_id) {
            (None, "reminder", Some(user_id)) => user_id,
            _ => {
                return db::outbox::mark_failed(
                    self.db.writer(),
                    row,
                    &self.instance,
                    error,
                    retry,
                )
                .await;
            }
        };
        let mut tx = self
            .db
            .begin_write_of(&[db::Rows::of_user(student)])
            .await?;
        let ours = db::outbox::mark_failed(&mut *tx, row, &self.instance, error, None).await?;
        if ours {
            db::mail::untell_failed(&mut tx, student).await?;
        }
        tx.commit().await?;
        Ok(ours)
    }
}

impl SenderHandle {
    /// Asks the sender to stop: it finishes the send under way (a message cut off mid-send
    /// would be sent again by whoever takes it back), starts no other, and ends.
    pub fn begin_stop(&self) {
        let _ = self.stop.send(true);
    }

    /// A way to ask it to stop, from another task.
    pub fn stopper(&self) -> StopSender {
        StopSender(self.stop.clone())
    }

    /// Stops sending: lets the send under way finish (within the send timeout, and a margin
    /// to mark it; past that the task is cut off), then puts this server's claimed rows back,
    /// for another server to take at once.
    pub async fn stop(mut self) {
        self.begin_stop();
        let bound = self.send_timeout + STOP_MARGIN;
        if tokio::time::timeout(bound, &mut self.task).await.is_err() {
            tracing::warn!("the mail sender did not stop within {bound:?}; cut off");
            self.task.abort();
            let _ = self.task.await;
        }
        match db::outbox::release(self.db.writer(), &self.instance).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "messages put back as the server stops"),
            Err(e) => tracing::warn!("could not put this server's messages back: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_thirty_seconds_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(60));
        assert_eq!(backoff(5), Duration::from_secs(480));
        assert_eq!(backoff(8), Duration::from_secs(3600));
        assert_eq!(backoff(20), Duration::from_secs(3600));
    }
}

/// How often each server runs the reminders' pass.
pub const REMINDERS_EVERY: Duration = Duration::from_secs(60);

/// Runs the reminders' pass (`study::reminders::pass`) every [`REMINDERS_EVERY`] on a task of
/// its own; every server runs it, and the pass's conditional mark keeps it to one reminder a
/// day per student. Stopped when the handle is dropped.
#[derive(Debug)]
pub struct RemindersHandle(tokio::task::JoinHandle<()>);

impl Drop for RemindersHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the reminders' pass for `db`'s students, reading now from `clock`.
pub fn spawn_reminders(db: Db, site: crate::mail::Site, clock: Clock) -> RemindersHandle {
    RemindersHandle(tokio::spawn(async move {
        loop {
            match crate::study::reminders::pass(&db, &site, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reminders = n, "study reminders written to the outbox"),
                Err(e) => tracing::warn!("the reminders' pass failed: {e}"),
            }
            tokio::time::sleep(REMINDERS_EVERY).await;
        }
    }))
}
