//! race.rs: the first of two futures to finish, the other dropped: what
//! tokio::select! does, without the macros feature (and its proc-macro
//! crates) that the build does not otherwise need; and the wait for a phase
//! of the stop.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::watch;

use proto::stop::Phase;

pub enum Either<A, B> {
    Left(A),
    Right(B),
}

struct Race<A, B> {
    a: A,
    b: B,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for Race<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // a first: a request that is done wins over a stop that came meanwhile
        if let Poll::Ready(v) = Pin::new(&mut self.a).poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = Pin::new(&mut self.b).poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    }
}

/// Runs a and b together until one finishes; the other is dropped (a read,
/// a sleep or a backend exchange is cancelled by dropping it).
pub async fn race<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    tokio::pin!(a);
    tokio::pin!(b);
    Race { a, b }.await
}

/// Returns once the server's phase is `at` or later (at once if it is).
pub async fn reached(stop: &mut watch::Receiver<Phase>, at: Phase) {
    while *stop.borrow() < at {
        if stop.changed().await.is_err() {
            // The sender went with the server: nothing more will change.
            std::future::pending::<()>().await;
        }
    }
}
