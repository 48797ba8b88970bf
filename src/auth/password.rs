//! argon2id password hashes (the argon2 crate's defaults: 19 MiB, 2 passes, OWASP's minimum).
//!
//! One hash takes tens of milliseconds of CPU and 19 MiB of memory, so hashing is the cheapest
//! way to take the site down: a burst of logins on Tokio's blocking pool (up to 512 threads)
//! once took the server from 186 MiB to 3.2 GB. Hashing therefore runs on its own small pool
//! of threads, one per core, with a short bounded queue in front: a request that finds the
//! queue full gets [`Busy`] at once (the web layer answers 503 with Retry-After) and costs
//! nothing. Memory for hashing is bounded by the pool's size, and dedicated threads keep
//! the allocator from spreading the 19 MiB blocks over many per-thread arenas.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex};

/// Hashes waiting for a thread, beyond those running, before new ones are turned away.
pub const QUEUE_PER_THREAD: usize = 8;
/// The most hashing threads, whatever the core count.
const MAX_THREADS: usize = 4;

/// The hashing pool is full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy checking passwords; try again in a moment")]
pub struct Busy;

/// Why a hash could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The pool is full.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// Anything else.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// The most memory a stored hash may ask for (64 MiB); a larger cost never matches.
const MAX_MEMORY_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// argon2's 19 MiB working memory, kept per thread and reused: allocating it for every
    /// hash let glibc's per-thread arenas keep several copies each (seen: 330 MiB after a
    /// burst of 200 registrations).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 with `argon2`'s parameters into `out`, in this thread's reusable memory.
fn argon2_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    let blocks = argon2.params().block_count();
    anyhow::ensure!(
        blocks <= MAX_MEMORY_BLOCKS,
        "the hash asks for too much memory"
    );
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
    })
}

/// Hashes a password into a PHC string.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let fail = |e: argon2::password_hash::Error| anyhow::anyhow!("encoding a hash failed: {e}");
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(fail)?;
    let argon2 = Argon2::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon2, password.as_bytes(), &salt_bytes, &mut out)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(fail)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(fail)?),
    };
    Ok(hash.to_string())
}

/// Checks a password against a PHC string; a malformed hash never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    let check = || -> Option<bool> {
        let parsed = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed
            .version
            .map_or(Some(Version::default()), |v| Version::try_from(v).ok())?;
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let mut out = vec![0u8; expected.len()];
        argon2_into(
            &Argon2::new(algorithm, version, params),
            password.as_bytes(),
            salt,
            &mut out,
        )
        .ok()?;
        // `Output`'s equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

/// A hash to verify against when the username does not exist, so that a login for an unknown
/// name takes as long as one for a known name and does not reveal which names exist.
static DECOY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("decoy password for unknown users").unwrap_or_default());

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads fed through a bounded queue.
struct Pool {
    sender: SyncSender<Job>,
}

impl Pool {
    fn start() -> Self {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_THREADS);
        let (sender, receiver) = sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let receiver: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard = receiver.lock().unwrap_or_else(|e| e.into_inner());
                            guard.recv()
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self { sender }
    }

    /// Runs `work` on the pool, or `Busy` at once when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The asker may have gone (the client hung up): nothing to do then.
            let _ = tx.send(work());
        });
        match self.sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Busy.into()),
            Err(TrySendError::Disconnected(_)) => {
                return Err(anyhow::anyhow!("the password hashing threads have stopped").into());
            }
        }
        rx.await
            .map_err(|_| anyhow::anyhow!("a password hashing thread failed").into())
    }
}

static POOL: LazyLock<Pool> = LazyLock::new(Pool::start);

/// Hashes on the hashing pool.
pub async fn hash(password: String) -> Result<String, HashError> {
    Ok(POOL.run(move || hash_blocking(&password)).await??)
}

/// Verifies on the hashing pool; `None` as hash runs a decoy check and returns false.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, HashError> {
    POOL.run(move || match hash {
        Some(hash) => verify_blocking(&password, &hash),
        None => {
            verify_blocking(&password, &DECOY_HASH);
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_blocking("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_blocking("correct horse battery", &hash));
        assert!(!verify_blocking("correct horse batterY", &hash));
        assert!(!verify_blocking("anything", "not a hash"));
        // Hashes made by the crate's own PHC path verify too (older accounts).
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"older account", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking("older account", &theirs));
        assert!(!verify_blocking("older accounT", &theirs));
        assert_eq!(
            PasswordHash::new(&hash).unwrap().params,
            PasswordHash::new(&theirs).unwrap().params
        );
    }

    #[tokio::test]
    async fn a_burst_beyond_the_queue_is_turned_away_at_once() {
        let hash = hash_blocking("pw").unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|_| tokio::spawn(verify("pw".to_owned(), Some(hash.clone()))))
            .collect();
        let (mut ok, mut busy) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(true) => ok += 1,
                Err(HashError::Busy(_)) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(busy > 0, "some of 200 concurrent hashes are refused");
        assert!(ok >= QUEUE_PER_THREAD, "the queue's worth is served: {ok}");
        // Once the burst is over, hashing works again.
        assert!(verify("pw".to_owned(), Some(hash)).await.unwrap());
    }
}
