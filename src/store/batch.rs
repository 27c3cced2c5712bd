//! Group commit and group lookup. Concurrent calls are handed to one task
//! that runs them as one statement (a multi-row INSERT, a `WHERE key IN`):
//! one pool checkout, one round trip (on SQLite one hop to its worker
//! thread and, for writes, one commit) for the lot. A lone call runs at
//! once: batches form only while a statement is already under way, so
//! under light load nothing waits. Each caller is answered only once its
//! statement has finished, so a write acknowledged is committed.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};

/// Calls waiting for the task; past it callers wait to queue.
const QUEUE: usize = 1024;

type Pending<I, O> = (I, oneshot::Sender<Result<O, DbErr>>);

/// The handle callers go through; the task stops when it is dropped.
pub struct Batcher<I, O> {
    queue: mpsc::Sender<Pending<I, O>>,
}

impl<I, O> std::fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Batcher({} queued)", QUEUE - self.queue.capacity())
    }
}

fn stopped() -> DbErr {
    DbErr::Custom("the batching task has stopped".into())
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts the task on the current tokio runtime: `run` takes up to
    /// `most` inputs and gives each its outcome, in order.
    pub fn start<F, Fut>(most: usize, run: F) -> Batcher<I, O>
    where
        F: Fn(Vec<I>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Result<O, DbErr>>> + Send,
    {
        let (queue, mut waiting) = mpsc::channel::<Pending<I, O>>(QUEUE);
        let most = most.max(1);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(most);
            while waiting.recv_many(&mut batch, most).await > 0 {
                let (inputs, dones): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                // A panic fails this batch's callers, not every later one.
                let ran = AssertUnwindSafe(run(inputs)).catch_unwind().await;
                let mut outcomes = ran.unwrap_or_default().into_iter();
                for done in dones {
                    // A caller that went away no longer wants its answer.
                    let _ = done.send(outcomes.next().unwrap_or_else(|| Err(stopped())));
                }
            }
        });
        Batcher { queue }
    }

    /// Runs `input` with whatever else is waiting.
    pub async fn call(&self, input: I) -> Result<O, DbErr> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send((input, done))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn calls_made_while_one_runs_are_run_together_and_each_gets_its_own_answer() {
        let sizes = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let (gate, opened) = tokio::sync::watch::channel(false);
        let seen = sizes.clone();
        let doubler = Arc::new(Batcher::start(8, move |xs: Vec<u32>| {
            seen.lock().push(xs.len());
            let mut opened = opened.clone();
            async move {
                let _ = opened.wait_for(|open| *open).await;
                xs.into_iter().map(|x| Ok(x * 2)).collect()
            }
        }));
        let call = |x: u32| {
            let d = doubler.clone();
            tokio::spawn(async move { d.call(x).await.unwrap() })
        };
        // The first call runs alone and holds the task at the gate...
        let first = call(0);
        while sizes.lock().is_empty() {
            tokio::task::yield_now().await;
        }
        // ...while eight more queue up.
        let rest: Vec<_> = (1..9).map(call).collect();
        while QUEUE - doubler.queue.capacity() < 8 {
            tokio::task::yield_now().await;
        }
        gate.send(true).unwrap();
        let mut answers = vec![first.await.unwrap()];
        for c in rest {
            answers.push(c.await.unwrap());
        }
        assert_eq!(answers, (0..9).map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(*sizes.lock(), vec![1, 8]);
    }

    #[tokio::test]
    async fn a_run_that_panics_fails_its_callers_and_the_next_run_still_answers() {
        let b = Batcher::start(4, |xs: Vec<u32>| async move {
            assert!(xs[0] != 0, "run panicked");
            xs.into_iter().map(Ok).collect()
        });
        assert!(b.call(0).await.is_err());
        assert_eq!(b.call(5).await.unwrap(), 5);
    }

    #[tokio::test]
    async fn a_run_that_answers_too_few_fails_the_rest_instead_of_hanging() {
        let b = Batcher::start(4, |_xs: Vec<u32>| async {
            Vec::<Result<u32, DbErr>>::new()
        });
        assert!(b.call(1).await.is_err());
    }
}
