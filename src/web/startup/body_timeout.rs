//! A deadline for request bodies. actix-web times out a connection's first request headers and
//! its idle keep-alive, but once a request's headers are in, it waits for the body for ever: a
//! client that declares `Content-Length: 100` and sends nothing held its connection (and a
//! worker's slot) until it hung up. Here every body is read through a stream that gives up
//! after a pause between pieces or after a whole-body deadline; the request is then answered
//! 408 and its connection closed.
//!
//! The stream also keeps the connection's own body reader alive until the response is
//! written, whether or not the handler read the body: actix drains an unread *chunked* body
//! with no deadline when its reader was dropped, but closes the connection (after the
//! disconnect timeout) when it is still held.

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use actix_web::{HttpMessage, HttpResponse, web::Bytes};
use futures_util::Stream;
use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

/// The two limits of a body's arrival.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadlines {
    /// The longest pause before the first piece and between two pieces.
    pub idle: Duration,
    /// The whole body.
    pub total: Duration,
}

/// What the timed stream and the middleware share about one request's body.
struct Shared {
    /// The connection's body reader.
    payload: RefCell<Payload>,
    /// Whether the body ran out of time.
    timed_out: Cell<bool>,
    /// Whether the body was read to its end (or failed for a reason of its own).
    finished: Cell<bool>,
}

/// The body as the handler sees it: the connection's pieces, each awaited no longer than the
/// idle limit and none after the total deadline.
struct TimedBody {
    shared: Rc<Shared>,
    idle: Duration,
    deadline: Instant,
    timer: Pin<Box<Sleep>>,
}

impl TimedBody {
    fn next_wake(&self) -> Instant {
        (Instant::now() + self.idle).min(self.deadline)
    }
}

impl Stream for TimedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.shared.timed_out.get() || self.shared.finished.get() {
            return Poll::Ready(None);
        }
        let polled = {
            let mut payload = self.shared.payload.borrow_mut();
            Pin::new(&mut *payload).poll_next(cx)
        };
        match polled {
            Poll::Ready(Some(Ok(piece))) => {
                let wake = self.next_wake();
                self.timer.as_mut().reset(wake);
                Poll::Ready(Some(Ok(piece)))
            }
            Poll::Ready(other) => {
                self.shared.finished.set(true);
                Poll::Ready(other)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.shared.timed_out.set(true);
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// `response` with its body holding `shared`.
fn holding(response: ServiceResponse<BoxBody>, shared: Rc<Shared>) -> ServiceResponse<BoxBody> {
    response.map_body(|_, body| super::held_body::HeldBody::boxed(body, shared))
}

/// One request's body watch, from before the handler runs to its response.
pub struct Watch {
    shared: Option<Rc<Shared>>,
}

/// Replaces the request's body (if it has one) by the timed stream.
pub fn watch(req: &mut ServiceRequest, deadlines: BodyDeadlines) -> Watch {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        return Watch { shared: None };
    }
    let shared = Rc::new(Shared {
        payload: RefCell::new(payload),
        timed_out: Cell::new(false),
        finished: Cell::new(false),
    });
    let now = Instant::now();
    let deadline = now + deadlines.total;
    let timed = TimedBody {
        shared: shared.clone(),
        idle: deadlines.idle,
        deadline,
        timer: Box::pin(sleep_until((now + deadlines.idle).min(deadline))),
    };
    req.set_payload(Payload::from(
        Box::pin(timed) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    Watch {
        shared: Some(shared),
    }
}

impl Watch {
    /// The handler's response, or 408 with `Connection: close` when the body ran out of time
    /// (whatever the handler made of the error it was given).
    pub fn finish(
        self,
        result: Result<ServiceResponse<BoxBody>, actix_web::Error>,
    ) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
        let Some(shared) = self.shared else {
            return result;
        };
        // An error (rather than an error page) is answered by actix, and the connection is
        // closed all the same since its body was not read to the end.
        let response = result?;
        if shared.timed_out.get() {
            let request = response.request().clone();
            tracing::debug!(path = %request.path(), "a request body did not arrive in time");
            let timed_out = HttpResponse::build(StatusCode::REQUEST_TIMEOUT)
                .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
                .insert_header((CONNECTION, HeaderValue::from_static("close")))
                .body("The request body did not arrive in time.\n");
            return Ok(holding(ServiceResponse::new(request, timed_out), shared));
        }
        if shared.finished.get() {
            return Ok(response);
        }
        Ok(holding(response, shared))
    }
}
