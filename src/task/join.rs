//! `JoinHandle`'s `Future` impl: reading the output is a resource operation, charged to the
//! cooperative budget like the others (the type and its protocol are in `task_core`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::scheduler::coop;
use crate::task_core::{JoinError, JoinHandle};

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        coop::poll_budgeted(cx, |cx| this.poll_join(cx))
    }
}
