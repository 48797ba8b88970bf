//! A watchdog for connections between requests. actix times the headers of a connection's
//! first request and closes a kept-alive connection that stays silent, but once a byte of the
//! next request arrives neither timer runs: a client that trickled the next request's headers
//! a byte at a time held its connection for as long as it liked, and enough such clients
//! would fill the connection cap.
//!
//! Each connection is registered when it opens; the middleware marks it busy while a request
//! is being answered (until the response body is written) and idle after. A sweeper shuts
//! down any connection that has been idle longer than the keep-alive timeout and a header
//! timeout together: by then actix would have closed a silent one, so it is halfway through
//! headers that never end. A request in progress is never touched (its body has deadlines of
//! its own, see `body_timeout`).
//!
//! The watch holds a duplicate of the socket's descriptor: `shutdown` acts on the socket, and
//! the duplicate keeps the number from being reused by another connection while it is held.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// One open connection as the sweeper sees it.
#[derive(Debug)]
pub struct Watched {
    socket: OwnedFd,
    /// Requests being answered on it now.
    busy: AtomicU32,
    /// When it last became idle, in milliseconds since the watchdog started.
    idle_since_ms: AtomicU64,
}

/// The handle a connection's data carries (actix's `on_connect` extensions).
#[derive(Debug, Clone)]
pub struct Handle(Arc<Watched>);

/// Every open connection, and how long one may sit idle.
#[derive(Debug)]
pub struct Watchdog {
    started: Instant,
    idle_limit: Duration,
    open: Mutex<Vec<Weak<Watched>>>,
}

impl Watchdog {
    /// A watchdog that closes connections idle past `idle_limit`, swept on a thread of its
    /// own a few times per limit.
    pub fn spawn(idle_limit: Duration) -> Arc<Self> {
        let dog = Arc::new(Self {
            started: Instant::now(),
            idle_limit,
            open: Mutex::new(Vec::new()),
        });
        let weak = Arc::downgrade(&dog);
        let every = (idle_limit / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
        let spawned = std::thread::Builder::new()
            .name("conn-watchdog".to_owned())
            .spawn(move || {
                while let Some(dog) = weak.upgrade() {
                    dog.sweep();
                    drop(dog);
                    std::thread::sleep(every);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the connection watchdog could not start");
        }
        dog
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a new connection from actix's `on_connect` (a TCP stream); other kinds of
    /// connection are not watched.
    pub fn register(&self, connection: &dyn std::any::Any) -> Option<Handle> {
        let stream = connection.downcast_ref::<actix_web::rt::net::TcpStream>()?;
        let socket = stream.as_fd().try_clone_to_owned().ok()?;
        let watched = Arc::new(Watched {
            socket,
            busy: AtomicU32::new(0),
            idle_since_ms: AtomicU64::new(self.now_ms()),
        });
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.push(Arc::downgrade(&watched));
        Some(Handle(watched))
    }

    /// Marks `handle`'s connection busy until the returned guard is dropped.
    pub fn busy(self: &Arc<Self>, handle: &Handle) -> Busy {
        handle.0.busy.fetch_add(1, Ordering::SeqCst);
        Busy {
            watched: handle.0.clone(),
            dog: self.clone(),
        }
    }

    /// Forgets closed connections and shuts down those idle past the limit. Returns how many
    /// it shut down.
    pub fn sweep(&self) -> usize {
        let now = self.now_ms();
        let limit = u64::try_from(self.idle_limit.as_millis()).unwrap_or(u64::MAX);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut shut = 0;
        open.retain(|weak| {
            let Some(watched) = weak.upgrade() else {
                return false;
            };
            let idle_for = now.saturating_sub(watched.idle_since_ms.load(Ordering::SeqCst));
            if watched.busy.load(Ordering::SeqCst) == 0 && idle_for > limit {
                if unsent(&watched.socket) > 0 {
                    // A response actix has handed to the kernel is still on its way to a
                    // slow reader (a large export): that is a download, not an idle wait.
                    watched.idle_since_ms.store(now, Ordering::SeqCst);
                    return true;
                }
                // SAFETY: shutdown(2) on `socket`, an open descriptor `watched` owns (a
                // duplicate of the connection's) and holds for this call; the connection's
                // own reads then end and actix closes it.
                unsafe {
                    libc::shutdown(watched.socket.as_raw_fd(), libc::SHUT_RDWR);
                }
                shut += 1;
                return false;
            }
            true
        });
        shut
    }
}

/// Bytes the kernel has yet to send on `socket` (Linux's `TIOCOUTQ`; 0 where unknown).
fn unsent(socket: &OwnedFd) -> i32 {
    #[cfg(target_os = "linux")]
    {
        let mut queued: libc::c_int = 0;
        // SAFETY: TIOCOUTQ writes one int through the pointer, to a local that outlives the
        // call; `socket` is an open descriptor.
        if unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut queued) } == 0 {
            return queued;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
    0
}

/// A connection's mark of being busy: idle again, from now, when dropped.
#[derive(Debug)]
pub struct Busy {
    watched: Arc<Watched>,
    dog: Arc<Watchdog>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.watched
            .idle_since_ms
            .store(self.dog.now_ms(), Ordering::SeqCst);
        self.watched.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_connection_past_the_limit_is_shut_and_a_busy_one_never() {
        let dog = Watchdog::spawn(Duration::from_secs(3600));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(address).unwrap();
        let (server, _) = listener.accept().unwrap();
        let watched = Arc::new(Watched {
            socket: server.as_fd().try_clone_to_owned().unwrap(),
            busy: AtomicU32::new(0),
            idle_since_ms: AtomicU64::new(0),
        });
        dog.open.lock().unwrap().push(Arc::downgrade(&watched));
        assert_eq!(dog.sweep(), 0, "idle, but not for an hour");
        let handle = Handle(watched.clone());
        let busy = dog.busy(&handle);
        let dog_past = Watchdog {
            started: dog.started,
            idle_limit: Duration::ZERO,
            open: Mutex::new(vec![Arc::downgrade(&watched)]),
        };
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(dog_past.sweep(), 0, "busy: never shut");
        drop(busy);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(dog_past.sweep(), 1, "idle past the limit: shut");
        let mut byte = [0u8; 1];
        use std::io::Read;
        assert_eq!(
            (&client).read(&mut byte).unwrap(),
            0,
            "the client sees the end"
        );
        drop(watched);
        assert_eq!(dog_past.sweep(), 0);
        assert!(
            dog_past.open.lock().unwrap().is_empty(),
            "closed ones are forgotten"
        );
    }
}
