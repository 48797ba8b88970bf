//! A student registering themselves: the account, its time zone, the class its join code
//! opens and the first session are written in one transaction, so a registration that fails
//! at any step leaves no account behind (a half-made account would hold the name, and its
//! owner could not log in to finish it).

use super::{StudyError, accounts, classes};
use crate::auth::password;
use crate::auth::quota::{Guesser, Quotas};
use crate::auth::throttle::LoginThrottle;
use crate::db;
use crate::db::Pool;
use crate::domain::{Password, Role, TimeZoneName, Username};
use jiff::Timestamp;
use std::net::IpAddr;

/// What a registration form gives, already parsed.
#[derive(Debug)]
pub struct Application<'a> {
    /// The name asked for.
    pub username: &'a Username,
    /// The password chosen.
    pub password: &'a Password,
    /// A class's join code, as typed (None: no class).
    pub code: Option<&'a str>,
    /// The browser's time zone (None: the field was empty, and the account keeps UTC).
    pub time_zone: Option<TimeZoneName>,
}

/// The budgets a registration spends: wrong join codes (`auth::quota`) and password hashes
/// per address (`auth::throttle`).
#[derive(Debug, Clone, Copy)]
pub struct Guards<'a> {
    /// The budgets of wrong join codes.
    pub quotas: &'a Quotas,
    /// The per-address budget of registrations.
    pub throttle: &'a LoginThrottle,
}

/// The account a registration made, signed in.
#[derive(Debug)]
pub struct Registered {
    /// The new user.
    pub user_id: i64,
    /// Their first session's token, for the cookie.
    pub token: String,
    /// The class they joined, if their code opened one.
    pub joined: Option<i64>,
}

/// Registers a student from `ip`. The join code is checked first, within its budget of wrong
/// codes (the caller asks only once the rest of the form is right, so that a form with another
/// mistake uses no attempt); then the password is hashed within the address's budget of
/// registrations; then the account, its time zone, its class and its session are written in
/// one transaction. A wrong code or a taken name is a validation error.
pub async fn register(
    pool: &Pool,
    guards: Guards<'_>,
    ip: IpAddr,
    application: Application<'_>,
    now: Timestamp,
) -> Result<Registered, StudyError> {
    let class = match application.code {
        Some(code) => {
            let guesser = Guesser::Name(application.username.as_str().to_owned());
            Some(classes::class_for_code(pool, guards.quotas, &guesser, ip, code, now).await?)
        }
        None => None,
    };
    let now = now.as_second();
    // Each registration hashes a password: limited per address like logins.
    guards
        .throttle
        .register(ip, now)
        .map_err(|retry_after_secs| StudyError::TooManyRequests { retry_after_secs })?;
    let hash = match password::hash(application.password.expose().to_owned()).await {
        Ok(hash) => hash,
        Err(e) => {
            let e = StudyError::from(e);
            if matches!(e, StudyError::Busy { .. }) {
                // The server was busy, not the address: its attempt is given back.
                guards.throttle.refund_registration(ip);
            }
            return Err(e);
        }
    };
    let mut tx = db::begin_write(pool).await?;
    let user_id =
        accounts::create_account(&mut tx, application.username, &hash, Role::Student, now).await?;
    if let Some(zone) = &application.time_zone {
        db::users::set_time_zone(&mut *tx, user_id, zone.as_str()).await?;
    }
    if let Some(class_id) = class {
        db::classes::join(&mut *tx, class_id, user_id, now).await?;
    }
    let token = accounts::open_session(&mut tx, user_id, now).await?;
    tx.commit().await?;
    Ok(Registered {
        user_id,
        token,
        joined: class,
    })
}
