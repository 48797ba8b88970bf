//! How many connections the server may hold open. Each is a file descriptor; when the
//! process runs out of them, `accept` fails in a loop and, worse, SQLite cannot open its
//! journal or an upload's scratch file. actix's own cap (25,000 per worker) is above the usual
//! limit, so the cap here is computed from the limit itself.

/// Descriptors kept back from connections: the database pools (at most 8 readers and a
/// writer on SQLite, the pool size on PostgreSQL), SQLite's journal and WAL files, each import's
/// scratch collection, the listener, the log, the runtime's own.
pub const RESERVED_FILES: u64 = 256;

/// The figures the cap was computed from, logged at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The process's open-file limit (after raising the soft limit to the hard one).
    pub open_files: u64,
    /// Worker threads serving connections.
    pub workers: usize,
    /// Connections each worker may hold (actix's `max_connections` is per worker).
    pub per_worker: usize,
}

impl ConnectionLimits {
    /// Connections held at most, over all workers.
    pub fn total(&self) -> usize {
        self.per_worker * self.workers
    }
}

/// Files one connection holds: its socket, and the duplicate the connection watchdog keeps
/// (see `conn_watch`).
pub const FILES_PER_CONNECTION: u64 = 2;

/// The cap: `wanted` connections, lowered to what the open-file limit leaves after
/// [`RESERVED_FILES`] at [`FILES_PER_CONNECTION`] each, split between `workers` (each at
/// least one).
pub fn connection_limits(wanted: usize, open_files: u64, workers: usize) -> ConnectionLimits {
    let workers = workers.max(1);
    let room = usize::try_from(open_files.saturating_sub(RESERVED_FILES) / FILES_PER_CONNECTION)
        .unwrap_or(usize::MAX);
    let total = wanted.min(room);
    ConnectionLimits {
        open_files,
        workers,
        per_worker: (total / workers).max(1),
    }
}

/// The open-file limit, raised first from the soft limit to the hard one (as most servers
/// do: the soft limit is often a shell's 1,024). None where it cannot be read.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        if limit.rlim_cur == libc::RLIM_INFINITY {
            return Some(u64::MAX);
        }
        Some(limit.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_database_below_the_file_limit() {
        // The reported case: 20,000 open files and two workers.
        let limits = connection_limits(100_000, 20_000, 2);
        assert_eq!(
            limits.per_worker,
            (20_000 - RESERVED_FILES as usize) / 2 / 2
        );
        assert!((limits.total() as u64) * FILES_PER_CONNECTION <= 20_000 - RESERVED_FILES);
        // A shell's 1,024 leaves 768 files: 384 connections, however many are wanted.
        assert_eq!(connection_limits(4096, 1024, 2).total(), 384);
        // Fewer wanted than the limit allows: as many as wanted.
        assert_eq!(connection_limits(4096, 20_000, 4).total(), 4096);
        // Every worker takes at least one, even on a starved limit.
        assert_eq!(connection_limits(4096, 100, 3).per_worker, 1);
    }

    #[test]
    fn the_open_file_limit_is_read() {
        let limit = open_file_limit().unwrap_or(0);
        assert!(limit > 0);
    }
}
