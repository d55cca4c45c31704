//! A redb database that reopens itself after an I/O error: redb refuses every operation after
//! one (until the database is reopened), so the failed handle is dropped and the next operation
//! opens the file again, at most every [`REOPEN_BACKOFF`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redb::Database;

use super::types::KvError;

/// Least time between two attempts to reopen the database after an I/O error.
pub const REOPEN_BACKOFF: Duration = Duration::from_millis(200);

/// Opens the database at a path (creating it and its tables if needed).
pub type Opener = fn(&Path) -> Result<Database, redb::Error>;

/// A database file, open or waiting to be reopened.
pub struct Reopening {
    path: PathBuf,
    open: Opener,
    handle: Mutex<Handle>,
}

/// The open database, or why there is none and when to try opening it again.
enum Handle {
    Open(Arc<Database>),
    Failed { error: String, retry_at: Instant },
}

/// Why an operation failed: the request (quota, bad value) or the storage.
pub enum Failure {
    /// The request's own error, returned as it is.
    Kv(KvError),
    /// redb's; an I/O error closes the handle.
    Storage(redb::Error),
}

impl From<KvError> for Failure {
    fn from(e: KvError) -> Self {
        Failure::Kv(e)
    }
}

/// A storage error as a [`Failure`] (for `map_err`).
pub fn storage(e: impl Into<redb::Error>) -> Failure {
    Failure::Storage(e.into())
}

impl Reopening {
    /// Opens `path` with `open` now (an error if it cannot be opened).
    pub fn open(path: PathBuf, open: Opener) -> Result<Self, redb::Error> {
        let db = open(&path)?;
        Ok(Self {
            path,
            open,
            handle: Mutex::new(Handle::Open(Arc::new(db))),
        })
    }

    /// Runs `op` on the database, reopening it first if an I/O error closed it; an I/O error
    /// in `op` closes it.
    pub fn with_db<T>(
        &self,
        op: impl FnOnce(&Database) -> Result<T, Failure>,
    ) -> Result<T, KvError> {
        let db = self.current()?;
        match op(&db) {
            Ok(v) => Ok(v),
            Err(Failure::Kv(e)) => Err(e),
            Err(Failure::Storage(e)) => {
                let reason = if matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo) {
                    self.close_after(&db, &e)
                } else {
                    e.to_string()
                };
                Err(KvError::Unavailable(format!("embedded store: {reason}")))
            }
        }
    }

    fn current(&self) -> Result<Arc<Database>, KvError> {
        let mut handle = self.handle.lock().unwrap_or_else(PoisonError::into_inner);
        match &*handle {
            Handle::Open(db) => return Ok(db.clone()),
            Handle::Failed { error, retry_at } if Instant::now() < *retry_at => {
                return Err(KvError::Unavailable(format!("embedded store: {error}")));
            }
            Handle::Failed { .. } => {}
        }
        // Operations still running on the old handle keep the file locked: then this fails
        // and a later operation tries again.
        match (self.open)(&self.path) {
            Ok(db) => {
                tracing::info!("embedded store reopened after an I/O error");
                let db = Arc::new(db);
                *handle = Handle::Open(db.clone());
                Ok(db)
            }
            Err(e) => {
                let error = format!("reopening after an I/O error failed: {e}");
                let retry_at = Instant::now() + REOPEN_BACKOFF;
                *handle = Handle::Failed {
                    error: error.clone(),
                    retry_at,
                };
                Err(KvError::Unavailable(format!("embedded store: {error}")))
            }
        }
    }

    /// Drops `failed` (if it is still the current handle) so that the next operation reopens;
    /// returns what to report. An operation that ran beside the one that hit the I/O error
    /// gets redb's `PreviousIo`; it reports the first error instead (e.g. `No space left on
    /// device`), which says what is wrong.
    fn close_after(&self, failed: &Arc<Database>, e: &redb::Error) -> String {
        let mut handle = self.handle.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = matches!(e, redb::Error::PreviousIo);
        match &mut *handle {
            Handle::Open(db) if Arc::ptr_eq(db, failed) => {
                tracing::error!(error = %e, "embedded store: I/O error; reopening it");
                *handle = Handle::Failed {
                    error: e.to_string(),
                    retry_at: Instant::now(),
                };
                e.to_string()
            }
            Handle::Failed { error, .. } if previous => error.clone(),
            // The operation that hit the error reports after one that only saw `PreviousIo`:
            // keep the telling one for what comes next.
            Handle::Failed { error, .. } if *error == redb::Error::PreviousIo.to_string() => {
                *error = e.to_string();
                e.to_string()
            }
            _ => e.to_string(),
        }
    }
}
