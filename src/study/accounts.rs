//! Registering, logging in and out, and changing a password.

use super::sso::NO_PASSWORD;
use super::{Context, StudyError};
use super::{Forget, Stale};
use crate::auth::{password, session};
use crate::db;
use crate::db::{Conn, Pool};
use crate::domain::{Password, Role, Username};
use std::net::IpAddr;

use crate::auth::throttle::{self, LoginThrottle};

/// Creates an account with `role` (the very first account of a database is always admin).
pub async fn register(
    pool: &Pool,
    username: &Username,
    password: &Password,
    role: Role,
    now: i64,
) -> Result<i64, StudyError> {
    let hash = password::hash(password.expose().to_owned()).await?;
    // A write transaction, so that of two first registrations at once (on two app servers of
    // one PostgreSQL database, say) exactly one sees no account yet and becomes the admin.
    let mut tx = db::begin_write(pool).await?;
    let id = create_account(&mut tx, username, &hash, role, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Creates the break-glass admin (`studyhall create-admin`): an admin with a password that
/// logs in even when local login is off, and whose role sign-on never changes.
pub async fn create_break_glass_admin(
    pool: &Pool,
    username: &Username,
    password: &Password,
    now: i64,
) -> Result<i64, StudyError> {
    let hash = password::hash(password.expose().to_owned()).await?;
    let mut tx = db::begin_write(pool).await?;
    let id = create_account(&mut tx, username, &hash, Role::Admin, now).await?;
    db::users::mark_break_glass(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts an account whose password is already hashed, in the caller's write transaction;
/// a taken name is a validation error.
pub(super) async fn create_account(
    tx: &mut Conn,
    username: &Username,
    hash: &str,
    role: Role,
    now: i64,
) -> Result<i64, StudyError> {
    db::users::create(&mut *tx, username.as_str(), hash, role.as_str(), now)
        .await
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                StudyError::Validation(format!("The username '{username}' is taken."))
            } else {
                e.into()
            }
        })
}

/// Checks `password_typed` against `hash` (None: an unknown user, checked against a decoy),
/// throttled per client address and per account (see `auth::throttle`): a failure is
/// reserved before hashing and given back only if the password is right or the check never
/// ran.
async fn checked_password<T>(
    pool: &Pool,
    throttle: &LoginThrottle,
    ip: IpAddr,
    username: &str,
    password_typed: &str,
    now: i64,
    lookup: impl Future<Output = Result<(Option<String>, T), StudyError>>,
) -> Result<(bool, T), StudyError> {
    // Reserve first: a throttled request costs neither a database read nor a hash.
    let attempt = throttle
        .begin(ip, username, now)
        .map_err(|retry_after_secs| StudyError::TooManyRequests { retry_after_secs })?;
    let shared = match reserve_shared(pool, ip, username, now).await {
        Ok(shared) => shared,
        Err(e) => {
            throttle.cancel(attempt);
            return Err(e);
        }
    };
    let outcome = match lookup.await {
        Ok((hash, found)) => password::verify(password_typed.to_owned(), hash)
            .await
            .map(|right| (right, found))
            .map_err(StudyError::from),
        Err(e) => Err(e),
    };
    match &outcome {
        Ok((true, _)) => throttle.succeeded(attempt),
        Ok((false, _)) => {}
        Err(_) => throttle.cancel(attempt),
    }
    if let Some(shared) = shared {
        let right = match &outcome {
            Ok((right, _)) => Some(*right),
            Err(_) => None,
        };
        settle_shared(pool, shared, right).await?;
    }
    outcome
}

/// A password check reserved in the store's copy of the throttle (see [`reserve_shared`]).
struct SharedAttempt {
    client: String,
    account: String,
    /// The pair's backoff before this check, to put back if the check never ran.
    previous: Option<(i64, i64, i64)>,
}

/// Where other app servers share the store, each one's in-memory throttle sees only its own
/// requests: the same rule ([`throttle::reserve`]) then runs on the store's copy too, in a
/// write transaction, so that guesses spread over the servers count as one budget. None on a
/// store no other server uses.
async fn reserve_shared(
    pool: &Pool,
    ip: IpAddr,
    username: &str,
    now: i64,
) -> Result<Option<SharedAttempt>, StudyError> {
    if !db::may_be_shared(pool) {
        return Ok(None);
    }
    let client = throttle::client_key(ip);
    let account = throttle::account_key(username);
    // Logins of other accounts from other addresses run beside this one.
    let rows = [db::Rows::named(&client), db::Rows::named(&account)];
    let mut tx = db::begin_write_of(pool, &rows).await?;
    db::throttle::forget_old(
        &mut tx,
        now - throttle::ADDRESS_WINDOW_SECS,
        now - throttle::ACCOUNT_MEMORY_SECS,
    )
    .await?;
    let window = db::throttle::window(&mut *tx, &client)
        .await?
        .map(|(started, used)| throttle::Window {
            started,
            used: u32::try_from(used).unwrap_or(u32::MAX),
        });
    let previous = db::throttle::backoff(&mut *tx, &account, &client).await?;
    let backoff = previous.map(|(failures, next_allowed, last)| throttle::Backoff {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        next_allowed,
        last,
    });
    let (window, backoff) = throttle::reserve(window, backoff, now)
        .map_err(|retry_after_secs| StudyError::TooManyRequests { retry_after_secs })?;
    db::throttle::set_window(&mut *tx, &client, window.started, i64::from(window.used)).await?;
    let stored = (
        i64::from(backoff.failures),
        backoff.next_allowed,
        backoff.last,
    );
    db::throttle::set_backoff(&mut *tx, &account, &client, Some(stored)).await?;
    tx.commit().await?;
    Ok(Some(SharedAttempt {
        client,
        account,
        previous,
    }))
}

/// Settles a shared reservation: a right password gives the check back and starts the pair
/// over, a wrong one leaves it counted, a check that never ran (None) is undone.
async fn settle_shared(
    pool: &Pool,
    shared: SharedAttempt,
    right: Option<bool>,
) -> Result<(), StudyError> {
    if right == Some(false) {
        return Ok(());
    }
    let rows = [
        db::Rows::named(&shared.client),
        db::Rows::named(&shared.account),
    ];
    let mut tx = db::begin_write_of(pool, &rows).await?;
    db::throttle::give_back(&mut *tx, &shared.client).await?;
    let backoff = if right == Some(true) {
        None
    } else {
        shared.previous
    };
    db::throttle::set_backoff(&mut *tx, &shared.account, &shared.client, backoff).await?;
    tx.commit().await?;
    Ok(())
}

/// Checks a login, throttled per client address and per account. Returns the user's id.
/// With `Passwords::BreakGlassOnly` only the break-glass admin's password is checked; every
/// other name gets the decoy and one answer, so the page tells nothing about the account or
/// whether the password was right. An account made by sign-on (no password) is checked
/// against the decoy too, so its answer takes as long as anyone's.
pub async fn authenticate(
    pool: &Pool,
    throttle: &LoginThrottle,
    passwords: Passwords,
    ip: IpAddr,
    username: &str,
    password_typed: &str,
    now: i64,
) -> Result<i64, StudyError> {
    let lookup = async {
        let user = db::users::find_by_username(pool, username.trim()).await?;
        let may_use_password = match (&user, passwords) {
            (None, _) => false,
            (Some(_), Passwords::Everyone) => true,
            (Some(u), Passwords::BreakGlassOnly) => db::users::role_origin(pool, u.id)
                .await?
                .is_some_and(|origin| origin.break_glass),
        };
        // A disabled account's password is checked against the decoy, never its own hash:
        // neither the answer nor the throttle's count (a right password would reset it) may
        // tell whether the password typed was right.
        let hash = user
            .as_ref()
            .filter(|u| !u.disabled && may_use_password && u.password_hash != NO_PASSWORD)
            .map(|u| u.password_hash.clone());
        Ok((hash, user))
    };
    let (ok, user) =
        checked_password(pool, throttle, ip, username, password_typed, now, lookup).await?;
    match user {
        Some(user) if user.disabled => Err(StudyError::Validation(
            "This account is disabled; ask an administrator.".to_owned(),
        )),
        Some(user) if ok => Ok(user.id),
        _ if passwords == Passwords::BreakGlassOnly => Err(StudyError::Validation(
            "Password login is off on this site: sign on with your institution's account."
                .to_owned(),
        )),
        _ => Err(StudyError::Validation(
            "Wrong username or password.".to_owned(),
        )),
    }
}

/// The most sessions one account keeps: a phone, a laptop, a lab machine or two. A new login
/// past it ends the oldest session, so a script logging in without end cannot pile them up.
pub const MAX_SESSIONS_PER_USER: i64 = 10;

/// Starts a session for `user_id` and returns its token, for the web wing to put in the
/// session cookie. Each login mints a new token, so a token planted before login is worthless
/// after it. Sessions past
/// [`MAX_SESSIONS_PER_USER`] end, oldest first.
pub async fn start_session(pool: &Pool, user_id: i64, now: i64) -> Result<String, StudyError> {
    let mut tx = db::begin_write_of(pool, &[db::Rows::of_user(user_id)]).await?;
    let token = open_session(&mut tx, user_id, now).await?;
    tx.commit().await?;
    Ok(token)
}

/// [`start_session`] in the caller's write transaction.
pub(super) async fn open_session(
    tx: &mut Conn,
    user_id: i64,
    now: i64,
) -> Result<String, StudyError> {
    let token = session::random_token();
    let csrf = session::random_token();
    let expires = now + session::SESSION_DAYS * 86_400;
    db::sessions::delete_expired(&mut *tx, now).await?;
    db::sessions::create(
        &mut *tx,
        &session::token_hash(&token),
        user_id,
        &csrf,
        now,
        expires,
    )
    .await
    .context("starting a session")?;
    db::sessions::keep_newest(&mut *tx, user_id, MAX_SESSIONS_PER_USER).await?;
    Ok(token)
}

/// Who may log in with a password (`local_login` in the settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passwords {
    /// Everyone with a password.
    Everyone,
    /// Only the break-glass admin made by `studyhall create-admin`: the others sign on at
    /// their institution's provider.
    BreakGlassOnly,
}

/// Logs a user in: checks the password (see [`authenticate`]) and starts a session, whose
/// token is returned for the cookie. A role a provider's groups gave is taken back (to
/// student) in the same transaction: a password login cannot ask the provider whether the
/// user is still in the group, and a role must not outlive the group (it comes back at the
/// next sign-on there if they still are). A login past [`MAX_SESSIONS_PER_USER`] may have
/// ended the oldest session, so the copies of the user's sessions go stale.
#[allow(clippy::too_many_arguments)]
pub async fn log_in(
    db: &db::Db,
    sessions: &dyn Forget,
    throttle: &LoginThrottle,
    passwords: Passwords,
    ip: IpAddr,
    username: &str,
    password_typed: &str,
    now: i64,
) -> Result<String, StudyError> {
    let user_id = authenticate(
        db.reader(),
        throttle,
        passwords,
        ip,
        username,
        password_typed,
        now,
    )
    .await?;
    let mut tx = db::begin_write_of(db.writer(), &[db::Rows::of_user(user_id)]).await?;
    take_back_provider_role(&mut tx, user_id, |_| true).await?;
    let token = open_session(&mut tx, user_id, now).await?;
    tx.commit().await?;
    sessions.forget(Stale::User(user_id));
    Ok(token)
}

/// Takes back (to student) a role that a provider's groups gave `user_id`, when `from` says so
/// of that provider's key (a login that is not through that provider cannot confirm the group;
/// an unlinked identity no longer vouches for it). Never the break-glass admin's. Returns
/// whether it did.
pub(super) async fn take_back_provider_role(
    tx: &mut Conn,
    user_id: i64,
    from: impl Fn(&str) -> bool,
) -> Result<bool, StudyError> {
    let Some(origin) = db::users::role_origin(&mut *tx, user_id).await? else {
        return Ok(false);
    };
    let Some(source) = origin.role_source.as_deref() else {
        return Ok(false);
    };
    if origin.break_glass || !from(source) || origin.role == Role::Student.as_str() {
        return Ok(false);
    }
    db::users::set_role(&mut *tx, user_id, Role::Student.as_str()).await?;
    tracing::info!(
        user_id,
        from = %origin.role,
        provider = %source,
        "role given by a provider's groups taken back"
    );
    Ok(true)
}

/// Ends the session `session_id` of `user_id` (logging out).
pub async fn log_out(
    pool: &Pool,
    sessions: &dyn Forget,
    user_id: i64,
    session_id: i64,
) -> Result<(), StudyError> {
    db::sessions::delete(pool, session_id)
        .await
        .context("ending a session")?;
    sessions.forget(Stale::User(user_id));
    Ok(())
}

/// Letters and digits a temporary password is drawn from (no look-alikes such as 0/O, 1/l).
const TEMPORARY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Resets a user's password to a random temporary one, returned to show the admin once; the
/// user must choose a new password at next login, and their sessions end now.
pub async fn reset_password(pool: &Pool, user_id: i64) -> Result<String, StudyError> {
    let temporary: String = (0..14)
        .map(|_| {
            let i = rand::Rng::random_range(&mut rand::rng(), 0..TEMPORARY_ALPHABET.len());
            char::from(TEMPORARY_ALPHABET[i])
        })
        .collect();
    let hash = password::hash(temporary.clone()).await?;
    if !db::users::set_password(pool, user_id, &hash, true).await? {
        return Err(StudyError::NotFound);
    }
    db::sessions::delete_all(pool, user_id).await?;
    Ok(temporary)
}

/// The signed-in account a password change is for: whose, under which name, and the session
/// that stays signed in.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn<'a> {
    /// The user.
    pub user_id: i64,
    /// Their login name (what the login throttle counts by).
    pub username: &'a str,
    /// The session making the change.
    pub session_id: i64,
}

/// Sets the new password a user chose after a reset, ending their other sessions.
pub async fn choose_new_password(
    pool: &Pool,
    sessions: &dyn Forget,
    user: SignedIn<'_>,
    new: &Password,
) -> Result<(), StudyError> {
    let hash = password::hash(new.expose().to_owned()).await?;
    db::users::set_password_hash(pool, user.user_id, &hash).await?;
    db::sessions::delete_others(pool, user.user_id, user.session_id).await?;
    sessions.forget(Stale::User(user.user_id));
    Ok(())
}

/// Changes the user's password after checking the current one (throttled like a login, so a
/// stolen session cannot be used to guess the password), and ends their other sessions.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    pool: &Pool,
    sessions: &dyn Forget,
    throttle: &LoginThrottle,
    ip: IpAddr,
    user: SignedIn<'_>,
    current: &str,
    new: &Password,
    now: i64,
) -> Result<(), StudyError> {
    let lookup = async {
        let row = db::users::find(pool, user.user_id)
            .await?
            .ok_or(StudyError::NotFound)?;
        Ok((Some(row.password_hash), ()))
    };
    let (right, ()) =
        checked_password(pool, throttle, ip, user.username, current, now, lookup).await?;
    if !right {
        return Err(StudyError::Validation(
            "The current password is not right.".to_owned(),
        ));
    }
    let hash = password::hash(new.expose().to_owned()).await?;
    db::users::set_password_hash(pool, user.user_id, &hash).await?;
    db::sessions::delete_others(pool, user.user_id, user.session_id).await?;
    sessions.forget(Stale::User(user.user_id));
    Ok(())
}
