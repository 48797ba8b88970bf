//! The outbox and its senders (`studyhall::jobs::mail`) on the store itself: every message is
//! sent once however many senders share the store, a failed send is retried with a backoff and
//! then marked failed, a sender that stopped after sending and before marking re-sends at most
//! once more, and a transport that is down for a while loses nothing. The transports here
//! count instead of sending (the real SMTP server's tests are in `mail.rs`).

use crate::helpers::{fresh_store, new_postgres_database, require_postgres};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use studyhall::clock::Clock;
use studyhall::db::outbox::{self, NewMessage};
use studyhall::db::{Db, Location};
use studyhall::jobs::mail::{MAX_ATTEMPTS, Sender, backoff};
use studyhall::mail::{Outgoing, SendError, Transport};

const POLL: Duration = Duration::from_millis(10);

/// Deliveries by recipient; fails the first `fail_first` sends (transiently) when set.
#[derive(Default)]
struct Counting {
    sent: Mutex<HashMap<String, usize>>,
    fail_first: AtomicUsize,
    permanent: bool,
    tries: AtomicUsize,
}

impl Transport for Counting {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            self.tries.fetch_add(1, Ordering::SeqCst);
            let failing = self
                .fail_first
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                return Err(SendError {
                    permanent: self.permanent,
                    message: "the SMTP server is down".to_owned(),
                });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            *self
                .sent
                .lock()
                .unwrap()
                .entry(message.to.clone())
                .or_default() += 1;
            Ok(())
        })
    }
}

impl Counting {
    fn counts(&self) -> HashMap<String, usize> {
        self.sent.lock().unwrap().clone()
    }
}

async fn add(db: &Db, n: usize, now_ms: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let to = format!("student{i}@example.org");
        let message = NewMessage {
            user_id: None,
            kind: "test",
            to: &to,
            subject: "Hello",
            text: "Hello",
            html: "<p>Hello</p>",
            unsubscribe_url: None,
        };
        let mut tx = db.begin_write().await.unwrap();
        ids.push(
            outbox::add(&mut *tx, &message, &format!("<{i}@test>"), now_ms)
                .await
                .unwrap(),
        );
        tx.commit().await.unwrap();
    }
    ids
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db.reader())
        .await
        .unwrap()
}

async fn until<F: Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    for _ in 0..1500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

/// Two servers' senders (each its own pool on the store) and sixty messages: each is sent
/// once and marked sent once.
async fn two_senders_send_each_message_once(location: Location) {
    let a = Db::open(location.clone()).await.unwrap();
    let b = Db::open(location).await.unwrap();
    let n = 60;
    add(&a, n, jiff::Timestamp::now().as_millisecond()).await;
    let transport = Arc::new(Counting::default());
    let first = Sender::new(a.clone(), transport.clone(), "server-a")
        .polling_every(POLL)
        .spawn();
    let second = Sender::new(b.clone(), transport.clone(), "server-b")
        .polling_every(POLL)
        .spawn();
    until("every message is sent", || async {
        count(&a, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'").await == n as i64
    })
    .await;
    first.stop().await;
    second.stop().await;
    let counts = transport.counts();
    assert_eq!(counts.len(), n, "{counts:?}");
    assert!(
        counts.values().all(|&c| c == 1),
        "each sent once: {counts:?}"
    );
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM outbox WHERE attempts = 1").await,
        n as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_on_one_sqlite_file_send_each_of_sixty_messages_once() {
    let dir = tempfile::tempdir().unwrap();
    two_senders_send_each_message_once(Location::File(dir.path().join("site.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn two_senders_on_one_postgres_database_send_each_of_sixty_messages_once() {
    let server = require_postgres();
    let url = new_postgres_database(&server).await;
    two_senders_send_each_message_once(Location::Postgres(url)).await;
}

async fn store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(fresh_store(&dir).await).await.unwrap();
    (dir, db)
}

/// A claim takes at most its limit of rows, the oldest first, and a second claim the next ones
/// (on PostgreSQL a pick written inside `id IN (...)` was run again for every row and took
/// them all), and the jobs table's claim, which shares it, takes one job at a time.
#[tokio::test]
async fn a_claim_takes_at_most_its_limit_of_rows_and_a_job_claim_one_job() {
    let (_dir, db) = store().await;
    let now = Clock::system().now().as_millisecond();
    let ids = add(&db, 5, now).await;
    let first = outbox::claim(db.writer(), "a", now, now + 60_000, 2)
        .await
        .unwrap();
    assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..2]);
    let second = outbox::claim(db.writer(), "b", now, now + 60_000, 2)
        .await
        .unwrap();
    assert_eq!(second.iter().map(|m| m.id).collect::<Vec<_>>(), ids[2..4]);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await,
        1
    );
    for key in ["x", "y", "z"] {
        studyhall::db::jobs::enqueue(db.writer(), "count", key, "{}", now)
            .await
            .unwrap();
    }
    for key in ["x", "y", "z"] {
        let job = studyhall::db::jobs::claim(db.writer(), "a", ",count,", now, now + 60_000)
            .await
            .unwrap()
            .expect("a job");
        assert_eq!(job.key, key);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM jobs WHERE state = 'running'").await,
            i64::from(key.as_bytes()[0] - b'x' + 1),
            "one job a claim"
        );
    }
    // Released as the server stops: back to waiting, for another server at once.
    assert_eq!(outbox::release(db.writer(), "a").await.unwrap(), 2);
    assert_eq!(
        studyhall::db::jobs::release(db.writer(), "a")
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await,
        3
    );
}

#[tokio::test]
async fn a_failing_send_is_retried_after_a_growing_wait_then_marked_failed() {
    let (_dir, db) = store().await;
    let clock = Clock::system();
    let ids = add(&db, 1, clock.now().as_millisecond()).await;
    let transport = Arc::new(Counting {
        fail_first: AtomicUsize::new(usize::MAX),
        ..Counting::default()
    });
    let sender = Sender::new(db.clone(), transport.clone(), "only").with_clock(clock.clone());
    for attempt in 1..=MAX_ATTEMPTS {
        assert_eq!(sender.send_batch().await.unwrap(), 1, "try {attempt}");
        // Not again before its backoff has passed.
        assert_eq!(sender.send_batch().await.unwrap(), 0);
        let (state, attempts, error) = outbox::state_of(db.reader(), ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(attempts, attempt);
        assert_eq!(error.as_deref(), Some("the SMTP server is down"));
        if attempt < MAX_ATTEMPTS {
            assert_eq!(state, "pending");
            clock.advance(i64::try_from(backoff(attempt).as_secs()).unwrap() - 2);
            assert_eq!(sender.send_batch().await.unwrap(), 0, "still waiting");
            clock.advance(3);
        } else {
            assert_eq!(state, "failed");
        }
    }
    clock.advance(86_400);
    assert_eq!(
        sender.send_batch().await.unwrap(),
        0,
        "a failed message rests"
    );
    assert_eq!(
        transport.tries.load(Ordering::SeqCst),
        usize::try_from(MAX_ATTEMPTS).unwrap()
    );
    assert!(transport.counts().is_empty());
}

#[tokio::test]
async fn a_permanent_refusal_fails_at_once() {
    let (_dir, db) = store().await;
    let ids = add(&db, 1, jiff::Timestamp::now().as_millisecond()).await;
    let transport = Arc::new(Counting {
        fail_first: AtomicUsize::new(1),
        permanent: true,
        ..Counting::default()
    });
    let sender = Sender::new(db.clone(), transport.clone(), "only");
    assert_eq!(sender.send_batch().await.unwrap(), 1);
    let (state, attempts, _) = outbox::state_of(db.reader(), ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("failed", 1));
}

/// A transport that tells when a send has started and finishes it only when released.
#[derive(Default)]
struct Held {
    started: tokio::sync::Notify,
    release: tokio::sync::Notify,
    sent: Mutex<Vec<String>>,
}

impl Transport for Held {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            self.started.notify_one();
            self.release.notified().await;
            self.sent.lock().unwrap().push(message.to.clone());
            Ok(())
        })
    }
}

/// A sender whose handle was dropped ends (nobody can stop it any more): it neither spins on
/// its closed stop channel nor sends what is written after.
#[tokio::test]
async fn a_sender_whose_handle_is_dropped_ends() {
    let (_dir, db) = store().await;
    let transport = Arc::new(Counting::default());
    let sender = Sender::new(db.clone(), transport.clone(), "dropped")
        .polling_every(Duration::from_secs(3600))
        .spawn();
    // Its first look found nothing; it waits an hour for the next.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(sender);
    tokio::time::sleep(Duration::from_millis(50)).await;
    add(&db, 1, Clock::system().now().as_millisecond()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(transport.tries.load(Ordering::SeqCst), 0);
}

/// A server that stops while a message is being sent lets that send finish and marks it sent
/// (it had been cut off, and left for another server to send again), starts no other, and
/// hands the rest of its batch back at once.
#[tokio::test]
async fn a_stopping_sender_finishes_the_send_under_way_and_hands_back_the_rest() {
    let (_dir, db) = store().await;
    let now = Clock::system().now().as_millisecond();
    let ids = add(&db, 3, now).await;
    let transport = Arc::new(Held::default());
    let sender = Sender::new(db.clone(), transport.clone(), "stopping")
        .polling_every(POLL)
        .spawn();
    transport.started.notified().await;
    // The first message is being sent: the server stops, then the SMTP server answers.
    sender.begin_stop();
    transport.release.notify_one();
    sender.stop().await;
    assert_eq!(
        *transport.sent.lock().unwrap(),
        ["student0@example.org"],
        "the send under way finished, and no other started"
    );
    let (state, attempts, _) = outbox::state_of(db.reader(), ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("sent", 1));
    for id in &ids[1..] {
        let (state, ..) = outbox::state_of(db.reader(), *id).await.unwrap().unwrap();
        assert_eq!(state, "pending", "handed back for another server");
    }
    // Another server sends the other two, once each.
    let counting = Arc::new(Counting::default());
    let next = Sender::new(db.clone(), counting.clone(), "next");
    assert_eq!(next.send_batch().await.unwrap(), 2);
    assert_eq!(counting.counts().len(), 2);
    assert!(!counting.counts().contains_key("student0@example.org"));
}

#[tokio::test]
async fn a_sender_that_stopped_after_sending_and_before_marking_sends_once_more() {
    let (_dir, db) = store().await;
    let clock = Clock::system();
    let now = clock.now().as_millisecond();
    let ids = add(&db, 3, now).await;
    // A server claims the three, sends them (say) and stops before marking them.
    let lease = i64::try_from(studyhall::jobs::mail::LEASE.as_millis()).unwrap();
    let dead = outbox::claim(db.writer(), "dead", now, now + lease, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 3);
    let transport = Arc::new(Counting::default());
    let alive = Sender::new(db.clone(), transport.clone(), "alive").with_clock(clock.clone());
    assert_eq!(alive.send_batch().await.unwrap(), 0, "the lease holds");
    clock.advance(studyhall::jobs::mail::LEASE.as_secs() as i64 + 1);
    assert_eq!(alive.send_batch().await.unwrap(), 3);
    assert_eq!(transport.counts().len(), 3);
    assert!(transport.counts().values().all(|&n| n == 1));
    for id in &ids {
        let (state, attempts, _) = outbox::state_of(db.reader(), *id).await.unwrap().unwrap();
        assert_eq!((state.as_str(), attempts), ("sent", 2));
    }
    // The stopped server, back, changes nothing, and nothing is sent a third time.
    let later = clock.now().as_millisecond();
    assert!(
        !outbox::mark_sent(db.writer(), &dead[0], "dead", later)
            .await
            .unwrap()
    );
    clock.advance(86_400);
    assert_eq!(alive.send_batch().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_smtp_server_is_down_nothing_is_lost_and_once_back_each_arrives_once() {
    let (_dir, db) = store().await;
    let clock = Clock::system();
    add(&db, 10, clock.now().as_millisecond()).await;
    // Down for the first 25 tries (every message's first two, and some third).
    let transport = Arc::new(Counting {
        fail_first: AtomicUsize::new(25),
        ..Counting::default()
    });
    let sender = Sender::new(db.clone(), transport.clone(), "only").with_clock(clock.clone());
    for _ in 0..10 {
        sender.send_batch().await.unwrap();
        clock.advance(3600);
    }
    let counts = transport.counts();
    assert_eq!(counts.len(), 10, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'").await,
        10
    );
}

/// An SMTP server that accepts connections and never says a word (a real socket on the
/// loopback, through the real SMTP transport): each send is cut off at the sender's timeout,
/// long before its claim's lease (and before the transport's own 60 s for the exchange; the
/// greeting is not bounded by `lettre`'s timeout, which covers only the connect), and counts as a
/// failed try: the row is pending again with its error, retried only after its backoff, and
/// never left `sending` for another server to take back and send twice.
#[tokio::test]
async fn a_send_to_a_server_that_never_answers_is_cut_off_and_retried_after_its_backoff() {
    let (_dir, db) = store().await;
    let clock = Clock::system();
    let ids = add(&db, 2, clock.now().as_millisecond()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        let mut open = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            // Held open, never read or written: no greeting, ever.
            open.push(socket);
        }
    });
    let settings = studyhall::mail::MailSettings {
        host: "127.0.0.1".to_owned(),
        port,
        tls: studyhall::mail::Tls::None,
        user: None,
        password: None,
        from: "studyhall <noreply@studyhall.test>".to_owned(),
        public_url: "http://studyhall.test".to_owned(),
        ca_file: None,
    };
    let transport = Arc::new(studyhall::mail::smtp::Smtp::new(&settings).unwrap());
    let timeout = Duration::from_millis(800);
    let sender = Sender::new(db.clone(), transport, "only")
        .with_clock(clock.clone())
        .with_send_timeout(timeout);
    for attempt in 1..=2 {
        let started = std::time::Instant::now();
        assert_eq!(sender.send_batch().await.unwrap(), 2, "try {attempt}");
        let took = started.elapsed();
        assert!(
            took >= timeout * 2,
            "each send waited for its timeout: {took:?}"
        );
        assert!(
            took < Duration::from_secs(8),
            "each send cut off at its timeout: {took:?}"
        );
        for id in &ids {
            let (state, attempts, error) =
                outbox::state_of(db.reader(), *id).await.unwrap().unwrap();
            assert_eq!((state.as_str(), attempts), ("pending", attempt));
            let error = error.unwrap_or_default();
            assert!(error.contains("did not finish the send within"), "{error}");
        }
        assert_eq!(
            sender.send_batch().await.unwrap(),
            0,
            "not again before its backoff"
        );
        clock.advance(i64::try_from(backoff(attempt).as_secs()).unwrap() + 1);
    }
    assert!(
        accepted.load(Ordering::SeqCst) >= 2,
        "the sends reached the silent server"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox WHERE state = 'sending'").await,
        0
    );
    server.abort();
}

/// How the scripted SMTP server below answers.
#[derive(Clone, Copy)]
struct Script {
    auth: &'static str,
    mail: &'static str,
    rcpt: &'static str,
    /// Never answers QUIT (holds the connection open).
    stall_quit: bool,
}

const ANSWERS: Script = Script {
    auth: "235 2.7.0 welcome",
    mail: "250 2.1.0 ok",
    rcpt: "250 2.1.5 ok",
    stall_quit: false,
};

/// A loopback SMTP server that speaks just enough SMTP, as `script` says; counts the messages
/// it accepted (a 250 after the data's closing dot).
async fn scripted_smtp(script: Script) -> (u16, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let counter = counter.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let say = async |w: &mut tokio::net::tcp::OwnedWriteHalf, s: &str| {
                    w.write_all(format!("{s}\r\n").as_bytes()).await.is_ok()
                };
                say(&mut write, "220 scripted ESMTP").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let answer = match verb.as_str() {
                        "EHLO" => "250-scripted\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME",
                        "AUTH" => script.auth,
                        "MAIL" => script.mail,
                        "RCPT" => script.rcpt,
                        "DATA" => {
                            say(&mut write, "354 go on").await;
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                            }
                            counter.fetch_add(1, Ordering::SeqCst);
                            "250 2.0.0 queued"
                        }
                        "QUIT" if script.stall_quit => {
                            // Holds the connection, never answering.
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        }
                        "QUIT" => {
                            say(&mut write, "221 bye").await;
                            return;
                        }
                        _ => "250 ok",
                    };
                    if !say(&mut write, answer).await {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted, server)
}

fn scripted_settings(port: u16, user: Option<&str>) -> studyhall::mail::MailSettings {
    studyhall::mail::MailSettings {
        host: "127.0.0.1".to_owned(),
        port,
        tls: studyhall::mail::Tls::None,
        user: user.map(str::to_owned),
        password: user.map(|_| "wrong".to_owned().into()),
        from: "studyhall <noreply@studyhall.test>".to_owned(),
        public_url: "http://studyhall.test".to_owned(),
        ca_file: None,
    }
}

/// A relay that accepts the message (250 after the data) and then never answers QUIT: the
/// message is delivered, so the row ends `sent` after a short wait for the goodbye, and is
/// never sent again (the goodbye had shared the exchange's timeout, and the sender's cut-off
/// turned a delivered message into a retried one).
#[tokio::test]
async fn a_relay_that_stalls_after_accepting_the_message_leaves_it_sent_once() {
    let (_dir, db) = store().await;
    let clock = Clock::system();
    let ids = add(&db, 1, clock.now().as_millisecond()).await;
    let (port, accepted, server) = scripted_smtp(Script {
        stall_quit: true,
        ..ANSWERS
    })
    .await;
    let transport =
        Arc::new(studyhall::mail::smtp::Smtp::new(&scripted_settings(port, None)).unwrap());
    let sender = Sender::new(db.clone(), transport, "only")
        .with_clock(clock.clone())
        .with_send_timeout(Duration::from_secs(6));
    assert_eq!(sender.send_batch().await.unwrap(), 1);
    let (state, attempts, error) = outbox::state_of(db.reader(), ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("sent", 1), "{error:?}");
    clock.advance(86_400);
    assert_eq!(sender.send_batch().await.unwrap(), 0);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    server.abort();
}

/// A refused login (535) or sender (550 to MAIL FROM) is the configuration's fault: the row
/// is retried after its backoff, not failed at once (which had failed the whole outbox for a
/// wrong password); a refused recipient is still final.
#[tokio::test]
async fn a_refused_login_or_sender_is_retried_and_a_refused_recipient_is_final() {
    let cases = [
        (
            Script {
                auth: "535 5.7.8 authentication failed",
                ..ANSWERS
            },
            Some("studyhall"),
            "pending",
        ),
        (
            Script {
                mail: "550 5.7.1 sender not allowed",
                ..ANSWERS
            },
            None,
            "pending",
        ),
        (
            Script {
                mail: "530 5.7.0 authentication required",
                ..ANSWERS
            },
            None,
            "pending",
        ),
        (
            Script {
                rcpt: "550 5.1.1 no such user",
                ..ANSWERS
            },
            None,
            "failed",
        ),
    ];
    for (script, user, expected) in cases {
        let (_dir, db) = store().await;
        let ids = add(&db, 1, jiff::Timestamp::now().as_millisecond()).await;
        let (port, accepted, server) = scripted_smtp(script).await;
        let transport =
            Arc::new(studyhall::mail::smtp::Smtp::new(&scripted_settings(port, user)).unwrap());
        let sender =
            Sender::new(db.clone(), transport, "only").with_send_timeout(Duration::from_secs(10));
        assert_eq!(sender.send_batch().await.unwrap(), 1);
        let (state, attempts, error) = outbox::state_of(db.reader(), ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (state.as_str(), attempts),
            (expected, 1),
            "{}: {error:?}",
            script.auth
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
        server.abort();
    }
}
