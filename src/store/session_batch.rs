//! Group commit for new sessions. Concurrent `session-new`s are written by
//! one task as one multi-row INSERT: one statement, one transaction, one
//! commit (one WAL write on SQLite) for the lot. Each caller is answered
//! only once its row is committed, so nothing acknowledged is lost. A
//! lone request is written at once: batches form only while a write is
//! already under way, so under light load nothing waits.

use sea_orm::{DatabaseConnection, DbErr, EntityTrait, SqlErr};
use tokio::sync::{mpsc, oneshot};

use super::sessions::{Inserted, NewSession, active};

/// Most rows in one INSERT (9 values each: far below every backend's
/// limit on bound values).
const MOST_PER_BATCH: usize = 64;
/// Inserts waiting for the writer; past it callers wait to queue.
const QUEUE: usize = 1024;

struct Pending {
    row: NewSession,
    done: oneshot::Sender<Result<Inserted, DbErr>>,
}

/// The handle callers insert through; the writer task stops when it is
/// dropped.
#[derive(Debug, Clone)]
pub struct SessionBatch {
    queue: mpsc::Sender<Pending>,
}

fn writer_stopped() -> DbErr {
    DbErr::Custom("the session writer has stopped".into())
}

impl SessionBatch {
    /// Starts the writer on the current tokio runtime.
    pub fn start(db: DatabaseConnection) -> SessionBatch {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db, waiting));
        SessionBatch { queue }
    }

    /// Inserts `row` with whatever else is waiting; returns once committed.
    pub async fn insert(&self, row: NewSession) -> Result<Inserted, DbErr> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Pending { row, done })
            .await
            .map_err(|_| writer_stopped())?;
        answer.await.map_err(|_| writer_stopped())?
    }
}

async fn write_batches(db: DatabaseConnection, mut waiting: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MOST_PER_BATCH);
    while waiting.recv_many(&mut batch, MOST_PER_BATCH).await > 0 {
        let (rows, dones): (Vec<_>, Vec<_>) = batch.drain(..).map(|p| (p.row, p.done)).unzip();
        for (done, result) in dones.into_iter().zip(write(&db, rows).await) {
            // A caller that went away no longer wants its answer.
            let _ = done.send(result);
        }
    }
}

/// Every row's outcome, in order.
async fn write(db: &DatabaseConnection, rows: Vec<NewSession>) -> Vec<Result<Inserted, DbErr>> {
    let n = rows.len();
    if n == 1 {
        let mut rows = rows;
        return match rows.pop() {
            Some(row) => vec![super::sessions::insert(db, row).await],
            None => Vec::new(),
        };
    }
    let all = rows.iter().map(active);
    match entity::sessions::Entity::insert_many(all)
        .exec_without_returning(db)
        .await
    {
        Ok(_) => (0..n).map(|_| Ok(Inserted::Done)).collect(),
        // A user deleted meanwhile fails the whole statement: each row
        // again on its own, so only that user's caller hears of it.
        Err(e) if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
            let mut each = Vec::with_capacity(n);
            for row in rows {
                each.push(super::sessions::insert(db, row).await);
            }
            each
        }
        Err(e) => {
            let why = e.to_string();
            (0..n).map(|_| Err(DbErr::Custom(why.clone()))).collect()
        }
    }
}
