//! A response body that holds something until it is written (or dropped): the body-timeout
//! middleware holds the connection's body reader, the connection watchdog its busy mark.

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::web::Bytes;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `body`, holding `held` for as long as the body lives.
pub struct HeldBody<T> {
    body: BoxBody,
    _held: T,
}

impl<T: Unpin + 'static> HeldBody<T> {
    /// `body` holding `held`, boxed again for the response.
    pub fn boxed(body: BoxBody, held: T) -> BoxBody {
        BoxBody::new(Self { body, _held: held })
    }
}

impl<T: Unpin> MessageBody for HeldBody<T> {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}
