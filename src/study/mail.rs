//! Mail's use cases (issue 27): a student's address, confirmed by a link before anything else
//! is sent to it, and the password reset by e-mail. Each writes its message into the outbox
//! in the same transaction as the change it announces; `jobs::mail` sends it.
//!
//! Tokens are 256 random bits, sent in the link and stored only as their SHA-256, single-use.
//! A reset token holds for an hour, and is void once used, once a newer one is asked for, and
//! once the account's password changes by any route (it carries a digest of the password hash
//! it was issued under).

use super::{Forget, Stale, StudyError};
use crate::auth::throttle::LoginThrottle;
use crate::auth::{password, session};
use crate::db::{self, Db, Pool};
use crate::domain::{EmailAddress, Password};
use crate::mail::{Site, compose};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// How long a confirmation link holds.
pub const CONFIRM_SECS: i64 = 86_400;
/// How long a reset link holds.
pub const RESET_SECS: i64 = 3600;
/// Confirmation messages one account may cause an hour.
pub const CONFIRMS_PER_HOUR: i64 = 5;
/// Reset messages one account may be sent an hour (further requests send nothing, and say
/// the same as always).
pub const RESETS_PER_HOUR: i64 = 3;

/// A student's address as their account page shows it.
#[derive(Debug, Clone)]
pub struct Address {
    /// The address.
    pub address: String,
    /// Whether its link was followed.
    pub confirmed: bool,
}

/// The address of `user_id`, if they gave one.
pub async fn address_of(pool: &Pool, user_id: i64) -> Result<Option<Address>, StudyError> {
    Ok(db::mail::address_of(pool, user_id)
        .await?
        .map(|row| Address {
            address: row.address,
            confirmed: row.confirmed_at.is_some(),
        }))
}

fn token_hash(token: &str) -> String {
    hex::encode(session::token_hash(token))
}

/// What a reset token remembers of the password it was issued under.
fn password_stamp(password_hash: &str) -> String {
    hex::encode(Sha256::digest(password_hash.as_bytes()))
}

/// Sets the address of `user_id` (unconfirmed) and sends it a confirmation link, in one
/// transaction.
pub async fn set_address(
    db: &Db,
    site: &Site,
    user_id: i64,
    address: &EmailAddress,
    now: jiff::Timestamp,
) -> Result<(), StudyError> {
    let (secs, ms) = (now.as_second(), now.as_millisecond());
    let mut tx = db.begin_write().await?;
    let recent = db::outbox::count_recent(&mut *tx, user_id, "confirm", ms - 3_600_000).await?;
    if recent >= CONFIRMS_PER_HOUR {
        return Err(StudyError::Validation(format!(
            "{CONFIRMS_PER_HOUR} confirmation messages were sent in the last hour; try again \
             later."
        )));
    }
    let user = db::users::find(&mut *tx, user_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    db::mail::set_address(&mut tx, user_id, address.as_str(), secs).await?;
    let token = session::random_token();
    let hash = token_hash(&token);
    db::mail::add_token(
        &mut tx,
        &db::mail::NewToken {
            hash: &hash,
            user_id,
            purpose: "confirm",
            address: address.as_str(),
            password_stamp: "",
            created_at: secs,
            expires_at: secs + CONFIRM_SECS,
        },
    )
    .await?;
    let link = site.link(&format!("/account/email/confirm?token={token}"));
    let message = compose::confirm(&user.username, &link);
    db::outbox::add(
        &mut *tx,
        &db::outbox::NewMessage {
            user_id: Some(user_id),
            kind: "confirm",
            to: address.as_str(),
            subject: &message.subject,
            text: &message.text,
            html: &message.html,
            unsubscribe_url: None,
        },
        &site.message_id(),
        ms,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a confirmation link is live (unknown, used or expired: false). A read: opening the
/// link changes nothing (mail programs' link checkers open links); its page's button confirms.
pub async fn confirmation_is_live(db: &Db, token: &str, now: i64) -> Result<bool, StudyError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(false);
    }
    let Some(row) = db::mail::live_token(db.reader(), &token_hash(token), "confirm", now).await?
    else {
        return Ok(false);
    };
    // A link to an address the account has since changed would offer a button that fails.
    Ok(db::mail::address_of(db.reader(), row.user_id)
        .await?
        .is_some_and(|current| current.address == row.address))
}

/// Confirms the address a link was sent to. False when the link is unknown, used, expired,
/// or for an address the account no longer has.
pub async fn confirm_address(db: &Db, token: &str, now: i64) -> Result<bool, StudyError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(false);
    }
    let hash = token_hash(token);
    // Read first, so that an unknown link (anyone may send one) writes nothing and takes no
    // lock; the student's own rows then, beside other students' writes.
    let Some(row) = db::mail::live_token(db.reader(), &hash, "confirm", now).await? else {
        return Ok(false);
    };
    let mut tx = db.begin_write_of(&[db::Rows::of_user(row.user_id)]).await?;
    if !db::mail::use_token(&mut *tx, &hash, now).await? {
        return Ok(false);
    }
    let confirmed = db::mail::confirm_address(&mut *tx, row.user_id, &row.address, now).await?;
    tx.commit().await?;
    Ok(confirmed)
}

/// Removes the address of `user_id`: nothing more is sent to it.
pub async fn remove_address(db: &Db, user_id: i64, now: i64) -> Result<(), StudyError> {
    let mut tx = db.begin_write().await?;
    db::mail::remove_address(&mut tx, user_id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Reset requests waiting for their worker at most; one more (a flood the throttle let
/// through) is dropped, with the same answer as always.
pub const RESET_QUEUE: usize = 1024;

/// The per-account work of password reset requests (finding the account, writing its token
/// and its message), done by a worker of its own in the order asked, off the request: the
/// answer to a request takes the same path, and so the same time, whether or not the account
/// exists (docs/security.md). A request still queued when the server stops is dropped (the
/// student asks again); one the worker took is written whole or not at all.
#[derive(Debug, Clone)]
pub struct ResetQueue {
    tx: tokio::sync::mpsc::Sender<ResetRequest>,
    /// Requests dropped on a full queue since the last warning, and when that was: one
    /// warning a minute at most, with the count, however hard a flood.
    dropped: std::sync::Arc<std::sync::Mutex<(u64, Option<std::time::Instant>)>>,
}

/// The least time between two warnings of a full reset queue.
const FULL_WARNING_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug)]
struct ResetRequest {
    typed: String,
    admins_only: bool,
    now: jiff::Timestamp,
}

impl ResetQueue {
    /// Starts the worker, which stops once every handle is dropped.
    pub fn spawn(db: Db, site: Site) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ResetRequest>(RESET_QUEUE);
        tokio::spawn(async move {
            while let Some(request) = rx.recv().await {
                let sent =
                    send_reset(&db, &site, &request.typed, request.admins_only, request.now).await;
                if let Err(e) = sent {
                    tracing::warn!("writing a password reset failed: {e}");
                }
            }
        });
        Self {
            tx,
            dropped: Default::default(),
        }
    }

    /// Queues `request`; a full queue drops it (warned once a minute with the count), and a
    /// worker that ended (it never should) is an error in the log.
    fn push(&self, request: ResetRequest) {
        use tokio::sync::mpsc::error::TrySendError;
        match self.tx.try_send(request) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let mut dropped = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
                dropped.0 += 1;
                if dropped
                    .1
                    .is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY)
                {
                    tracing::warn!(
                        dropped = dropped.0,
                        "the password reset queue is full ({RESET_QUEUE} requests): requests \
                         were dropped"
                    );
                    *dropped = (0, Some(std::time::Instant::now()));
                }
            }
            Err(TrySendError::Closed(_)) => tracing::error!(
                "the password reset worker has ended: a reset request was dropped (restart \
                 the server)"
            ),
        }
    }
}

/// Asks for a password reset for the account named `typed` (its login name or its confirmed
/// address). Answers the same whether or not such an account exists, and in the same time:
/// the lookup and the writes are queued for [`ResetQueue`]'s worker, after the checks that do
/// not depend on the account. Throttled per client address and per typed name like a login
/// (every request counts), and at most [`RESETS_PER_HOUR`] messages an hour reach one
/// account.
pub fn request_reset(
    queue: &ResetQueue,
    throttle: &LoginThrottle,
    ip: IpAddr,
    typed: &str,
    admins_only: bool,
    now: jiff::Timestamp,
) -> Result<(), StudyError> {
    let typed = typed.trim();
    // Counted as a failed check that is never given back.
    let _counted = throttle
        .begin(ip, &format!("reset:{typed}"), now.as_second())
        .map_err(|retry_after_secs| StudyError::TooManyRequests { retry_after_secs })?;
    if typed.is_empty() || typed.len() > 254 {
        return Ok(());
    }
    let request = ResetRequest {
        typed: typed.to_owned(),
        admins_only,
        now,
    };
    queue.push(request);
    Ok(())
}

/// The work of one reset request: for each account `typed` names, a token and its message, in
/// one transaction.
async fn send_reset(
    db: &Db,
    site: &Site,
    typed: &str,
    admins_only: bool,
    now: jiff::Timestamp,
) -> Result<(), StudyError> {
    let (secs, ms) = (now.as_second(), now.as_millisecond());
    // An account made by sign-on has no password to reset: a reset would give it one and a
    // way in past the provider (and its roles). With local passwords off (`local_login`),
    // only admins keep theirs.
    let targets = db::mail::reset_targets(db.reader(), typed, super::sso::NO_PASSWORD).await?;
    for target in targets
        .into_iter()
        .filter(|t| !admins_only || t.break_glass)
    {
        let mut tx = db.begin_write().await?;
        let recent =
            db::outbox::count_recent(&mut *tx, target.user_id, "reset", ms - 3_600_000).await?;
        if recent >= RESETS_PER_HOUR {
            continue;
        }
        let token = session::random_token();
        let hash = token_hash(&token);
        let stamp = password_stamp(&target.password_hash);
        db::mail::add_token(
            &mut tx,
            &db::mail::NewToken {
                hash: &hash,
                user_id: target.user_id,
                purpose: "reset",
                address: &target.address,
                password_stamp: &stamp,
                created_at: secs,
                expires_at: secs + RESET_SECS,
            },
        )
        .await?;
        let link = site.link(&format!("/password/reset?token={token}"));
        let message = compose::reset(&target.username, &link);
        db::outbox::add(
            &mut *tx,
            &db::outbox::NewMessage {
                user_id: Some(target.user_id),
                kind: "reset",
                to: &target.address,
                subject: &message.subject,
                text: &message.text,
                html: &message.html,
                unsubscribe_url: None,
            },
            &site.message_id(),
            ms,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The login name a live reset link is for (None: unknown, used, expired or void).
pub async fn reset_for(db: &Db, token: &str, now: i64) -> Result<Option<String>, StudyError> {
    let hash = token_hash(token);
    let Some(row) = db::mail::live_token(db.reader(), &hash, "reset", now).await? else {
        return Ok(None);
    };
    if row.password_stamp != password_stamp(&row.password_hash) {
        return Ok(None);
    }
    let user = db::users::find(db.reader(), row.user_id).await?;
    Ok(user.map(|u| u.username))
}

/// Sets a new password through a reset link, uses the link up, and ends every session of the
/// account. False when the link is not live (see [`reset_for`]).
pub async fn complete_reset(
    db: &Db,
    sessions: &dyn Forget,
    token: &str,
    new: &Password,
    now: i64,
) -> Result<bool, StudyError> {
    let hash = token_hash(token);
    let new_hash = password::hash(new.expose().to_owned()).await?;
    let mut tx = db.begin_write().await?;
    let Some(row) = db::mail::live_token(&mut *tx, &hash, "reset", now).await? else {
        return Ok(false);
    };
    if row.password_stamp != password_stamp(&row.password_hash)
        || !db::mail::use_token(&mut *tx, &hash, now).await?
    {
        return Ok(false);
    }
    db::users::set_password_hash(&mut *tx, row.user_id, &new_hash).await?;
    db::sessions::delete_all(&mut *tx, row.user_id).await?;
    tx.commit().await?;
    sessions.forget(Stale::User(row.user_id));
    Ok(true)
}
