//! The hub's one writer connection on a thread of its own, with group commit.
//!
//! Every state change goes through this thread (SQLite has one writer anyway). Writes
//! that come in bursts, a ticket above all, are *grouped*: each runs in a savepoint of a
//! shared transaction, and everything that queued up while the previous commit was
//! reaching the disk goes into the next transaction, which one fsync makes durable.
//! What this guarantees to each caller:
//!
//! - **Nothing is acknowledged before it is durable**: a grouped write's answer is
//!   handed over only after its transaction committed; if the commit fails, every write
//!   of the group gets an error and none of them happened.
//! - **One write's failure is its own**: a grouped write that returns an error (or
//!   panics) is rolled back to its savepoint; the others of the group still commit.
//! - **Writes apply in arrival order**, one at a time, each seeing the ones before it in
//!   the same group: an op_id sent twice into one group is applied once and the second
//!   copy is a replay.
//!
//! Writes that manage their own transactions (enrolment, clerk actions, imports) run
//! *alone* between groups, with the connection to themselves, as before.
//!
//! On PostgreSQL the connection can be lost (the server restarts, the network drops):
//! the thread then connects again before the next job; while it cannot, every write is
//! answered 503 `database_unavailable` and nothing of it is applied.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::error::ApiError;
use super::sql::{Conn, Sql, SqlError};

/// Opens a new connection when the old one is closed.
pub type Reconnect = Box<dyn Fn() -> Result<Conn, String> + Send>;

/// At most this many writes share one transaction: bounds how long the first of them
/// waits and how much one commit holds.
const MAX_GROUP: usize = 256;

/// What a grouped write hands back once the group's fate is known: `Ok` after the
/// commit, or the commit's error.
type Deliver = Box<dyn FnOnce(Result<(), ApiError>) + Send>;

/// A grouped write, run inside a savepoint: (whether it succeeded, how to deliver).
type Grouped = Box<dyn FnOnce(&Conn) -> (bool, Deliver) + Send>;

/// A write that runs alone with the connection.
type Alone = Box<dyn FnOnce(&mut Conn) + Send>;

enum Job {
    Grouped(Grouped),
    Alone(Alone),
}

/// How many group transactions were committed and how many writes they held.
#[derive(Default)]
pub struct WriterStats {
    group_commits: AtomicU64,
    grouped_writes: AtomicU64,
    /// The database could not be reached at the last attempt: a write dropped unrun is
    /// then answered 503, not 500.
    database_down: AtomicBool,
}

impl WriterStats {
    /// Group transactions committed (each one WAL fsync under `synchronous=FULL`).
    pub fn group_commits(&self) -> u64 {
        self.group_commits.load(Ordering::Relaxed)
    }

    /// Grouped writes run in committed groups, those refused (rolled back to their
    /// savepoint) included.
    pub fn grouped_writes(&self) -> u64 {
        self.grouped_writes.load(Ordering::Relaxed)
    }
}

/// The sending side of the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    stats: Arc<WriterStats>,
}

/// The write's closure was dropped without an answer: it panicked, or its group could
/// not begin (the database is down, or busy beyond its timeout); either way nothing of
/// it was kept.
fn not_applied(stats: &WriterStats) -> ApiError {
    if stats.database_down.load(Ordering::Relaxed) {
        return ApiError::database_unavailable();
    }
    ApiError::internal(
        "database write",
        "the write did not complete and was rolled back",
    )
}

fn writer_gone() -> ApiError {
    ApiError::internal("database writer", "the writer thread has stopped")
}

impl Writer {
    /// Starts the writer thread with its connection and how to open a new one once it
    /// is closed. The thread ends when the last `Writer` is dropped.
    pub fn start(conn: Conn, reconnect: Reconnect) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("hub-db-writer".into())
            .spawn(move || run(conn, &reconnect, &queue, &thread_stats))?;
        Ok(Writer { jobs, stats })
    }

    /// The group-commit figures so far.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Runs `f` inside the next group transaction; answers once that is committed.
    /// `f` must not begin or end transactions itself.
    pub async fn grouped<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&Conn) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Grouped = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |committed| {
                let _ = reply.send(committed.and(result));
            });
            (ok, deliver)
        });
        self.jobs
            .send(Job::Grouped(job))
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| not_applied(&self.stats))?
    }

    /// Runs `f` alone with the connection (it manages its own transactions).
    pub async fn alone<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Alone = Box::new(move |conn| {
            let _ = reply.send(f(conn));
        });
        self.jobs.send(Job::Alone(job)).map_err(|_| writer_gone())?;
        answer.await.map_err(|_| not_applied(&self.stats))?
    }
}

/// Replaces a closed connection with a new one when the database answers again.
/// Returns false while it does not (the connection stays the closed one: anything run on
/// it fails as unavailable).
pub fn revive(conn: &mut Conn, reconnect: &Reconnect, down: &AtomicBool) -> bool {
    if !conn.is_closed() {
        down.store(false, Ordering::Relaxed);
        return true;
    }
    match reconnect() {
        Ok(fresh) => {
            tracing::info!("connected to the database again");
            *conn = fresh;
            down.store(false, Ordering::Relaxed);
            true
        }
        Err(e) => {
            if !down.swap(true, Ordering::Relaxed) {
                tracing::error!(%e, "the database cannot be reached");
            }
            false
        }
    }
}

/// The writer thread: one job, then every grouped job queued behind it, as one group.
fn run(mut conn: Conn, reconnect: &Reconnect, queue: &mpsc::Receiver<Job>, stats: &WriterStats) {
    let mut next = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        if !revive(&mut conn, reconnect, &stats.database_down) {
            // Dropped unrun: its caller gets 503 and may retry.
            continue;
        }
        match job {
            Job::Alone(f) => {
                // A panic unwinds through the job's own transaction guard, which rolls
                // it back; the connection stays usable.
                let _ = catch_unwind(AssertUnwindSafe(|| f(&mut conn)));
            }
            Job::Grouped(first) => {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(Job::Grouped(f)) => group.push(f),
                        Ok(alone) => {
                            next = Some(alone);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                run_group(&conn, group, stats);
            }
        }
    }
}

/// Runs one statement through the statement cache (these run twice per write).
fn run_cached(sql: Sql<'_>, statement: &str) -> Result<(), SqlError> {
    sql.execute(statement, &[]).map(|_| ())
}

/// Runs a group in one transaction, each write in its own savepoint, and delivers.
fn run_group(conn: &Conn, group: Vec<Grouped>, stats: &WriterStats) {
    let count = group.len() as u64;
    let sql = conn.sql();
    // Noted before any closure is dropped unrun, so that its caller hears 503.
    let note = |e: SqlError| {
        if e.is_unavailable() {
            stats.database_down.store(true, Ordering::Relaxed);
        }
        e
    };
    if let Err(e) = sql.begin_write().map_err(note) {
        // Nothing ran: each write is told so. (Their closures are dropped unrun, which
        // drops their reply channels; the callers get an error.)
        tracing::error!(%e, "could not begin a write transaction");
        return;
    }
    let mut delivers = Vec::with_capacity(group.len());
    let mut broken = None;
    for f in group {
        if broken.is_some() {
            // Dropped unrun: its caller gets an error.
            continue;
        }
        if let Err(e) = run_cached(sql, "SAVEPOINT grouped_write").map_err(note) {
            broken = Some(e);
            continue;
        }
        let ok = match catch_unwind(AssertUnwindSafe(|| f(conn))) {
            Ok((ok, deliver)) => {
                delivers.push(deliver);
                ok
            }
            Err(_) => false,
        };
        let end = if ok {
            run_cached(sql, "RELEASE grouped_write")
        } else {
            run_cached(sql, "ROLLBACK TO grouped_write")
                .and_then(|()| run_cached(sql, "RELEASE grouped_write"))
        };
        if let Err(e) = end.map_err(note) {
            broken = Some(e);
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => sql.commit(),
    };
    match outcome {
        Ok(()) => {
            stats.group_commits.fetch_add(1, Ordering::Relaxed);
            stats.grouped_writes.fetch_add(count, Ordering::Relaxed);
            for deliver in delivers {
                deliver(Ok(()));
            }
        }
        Err(e) => {
            // Nothing of the group is durable: roll back (a failed COMMIT may leave the
            // transaction open) and tell every caller.
            tracing::error!(%e, "a group of writes could not be committed; all rolled back");
            let _ = sql.rollback();
            let unavailable = e.is_unavailable();
            for deliver in delivers {
                deliver(Err(if unavailable {
                    ApiError::database_unavailable()
                } else {
                    ApiError::internal("database commit", &e)
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::sql::args;
    use rusqlite::Connection;

    fn writer(dir: &tempfile::TempDir) -> (Writer, std::path::PathBuf) {
        let path = dir.path().join("w.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER);",
        )
        .unwrap();
        let never: Reconnect = Box::new(|| Err("an SQLite file stays open".to_string()));
        (Writer::start(Conn::Sqlite(conn), never).unwrap(), path)
    }

    fn insert(k: &'static str) -> impl FnOnce(&Conn) -> Result<(), ApiError> {
        move |conn| {
            conn.sql()
                .execute("INSERT INTO t (k, v) VALUES (?1, 1)", args![k])?;
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_failing_write_does_not_fail_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        // Many at once so that they share groups; "dup" is inserted twice, the second
        // fails on the primary key, and a third writes then fails (rolled back alone).
        let mut tasks = Vec::new();
        for i in 0..200 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                let key: &'static str = Box::leak(format!("k{i}").into_boxed_str());
                w.grouped(insert(key)).await
            }));
        }
        let dup1 = w.grouped(insert("dup"));
        let dup2 = w.grouped(insert("dup"));
        let half = w.grouped(|conn| -> Result<(), ApiError> {
            conn.sql()
                .execute("INSERT INTO t (k, v) VALUES ('half', 1)", args![])?;
            Err(ApiError::internal("test", "fails after writing"))
        });
        let panics = w.grouped(|conn| -> Result<(), ApiError> {
            conn.sql()
                .execute("INSERT INTO t (k, v) VALUES ('panicked', 1)", args![])?;
            panic!("a bug in one write");
        });
        let after = w.grouped(insert("after"));
        let (d1, d2, h, p, a) = tokio::join!(dup1, dup2, half, panics, after);
        assert!(d1.is_ok() && a.is_ok());
        assert!(d2.is_err() && h.is_err() && p.is_err());
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        let keys: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(keys, 202, "200 + dup + after; not half, not panicked");
        let stats = w.stats();
        assert!(
            stats.group_commits() < stats.grouped_writes(),
            "writes sent together share commits: {} commits for {} writes",
            stats.group_commits(),
            stats.grouped_writes()
        );
    }

    /// An answer means durable: the moment it arrives, another connection sees the row.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_answer_comes_only_after_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        let mut tasks = Vec::new();
        for i in 0..100 {
            let w = w.clone();
            let reader = Connection::open(&path).unwrap();
            tasks.push(tokio::spawn(async move {
                let key: &'static str = Box::leak(format!("k{i}").into_boxed_str());
                w.grouped(insert(key)).await.unwrap();
                let seen: i64 = reader
                    .query_row("SELECT count(*) FROM t WHERE k = ?1", [key], |r| r.get(0))
                    .unwrap();
                assert_eq!(seen, 1, "{key} was answered before it was committed");
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }

    #[tokio::test]
    async fn alone_writes_run_between_groups() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        let grouped = w.grouped(insert("a"));
        let alone = w.alone(|conn| {
            conn.sql().write_transaction(|sql| -> Result<(), ApiError> {
                sql.execute("UPDATE t SET v = v + 1 WHERE k = 'a'", args![])?;
                Ok(())
            })
        });
        let (g, a) = tokio::join!(grouped, alone);
        g.unwrap();
        a.unwrap();
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("SELECT v FROM t WHERE k = 'a'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            v, 2,
            "the alone write saw the grouped one, in arrival order"
        );
    }
}
