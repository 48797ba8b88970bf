//! The use cases' own error. It says what went wrong in the study's terms (no such thing, a
//! clash, a broken rule, a limit reached, the store failing and at what) and nothing of HTTP:
//! the web layer maps it to `AppError`, a status and a page, in one `From`.

/// Everything a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// No such thing, or it belongs to someone else.
    #[error("not found")]
    NotFound,
    /// Seen but not allowed; the message says why.
    #[error("{0}")]
    Forbidden(String),
    /// The request clashes with the current state ("already graded").
    #[error("{0}")]
    Conflict(String),
    /// Input that breaks a rule; the message says which.
    #[error("{0}")]
    Validation(String),
    /// A deliberate limit (password hashing, imports) is reached: try again shortly.
    #[error("{message}")]
    Busy {
        /// What is busy.
        message: String,
        /// When to try again.
        retry_after_secs: u64,
    },
    /// Too many attempts.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests {
        /// When to try again.
        retry_after_secs: u64,
    },
    /// An hourly budget is spent (see `auth::quota`); the message says which.
    #[error("{message}")]
    OverBudget {
        /// What is refused, and when to try again.
        message: String,
        /// When to try again.
        retry_after_secs: u64,
    },
    /// The store failed while doing `context`.
    #[error("{context}: {source}")]
    Database {
        /// What the use case was doing.
        context: &'static str,
        /// The store's error.
        #[source]
        source: sqlx::Error,
    },
    /// Anything else unexpected.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StudyError {
    fn from(source: sqlx::Error) -> Self {
        StudyError::Database {
            context: "the database",
            source,
        }
    }
}

/// Names what a use case was doing when the store failed: `.context("recording a grade")`.
pub trait Context<T> {
    /// The error, if any, with `context`.
    fn context(self, context: &'static str) -> Result<T, StudyError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T, StudyError> {
        self.map_err(|source| StudyError::Database { context, source })
    }
}

impl From<crate::domain::Invalid> for StudyError {
    fn from(e: crate::domain::Invalid) -> Self {
        StudyError::Validation(e.0)
    }
}

impl From<crate::auth::password::HashError> for StudyError {
    fn from(e: crate::auth::password::HashError) -> Self {
        match e {
            crate::auth::password::HashError::Busy(busy) => StudyError::Busy {
                message: busy.to_string(),
                retry_after_secs: 2,
            },
            crate::auth::password::HashError::Failed(e) => StudyError::Internal(e),
        }
    }
}

impl From<crate::auth::quota::OverBudget> for StudyError {
    fn from(e: crate::auth::quota::OverBudget) -> Self {
        StudyError::OverBudget {
            message: e.message,
            retry_after_secs: e.retry_after_secs,
        }
    }
}

impl From<crate::import::ImportError> for StudyError {
    fn from(e: crate::import::ImportError) -> Self {
        StudyError::Validation(format!("The file was not imported: {e}."))
    }
}
