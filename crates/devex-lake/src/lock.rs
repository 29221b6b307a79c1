//! The writer lock: one devex writer at a time per data dir. Delta's commit
//! protocol already makes each commit atomic; the lock keeps two imports from
//! racing through read-validate-merge and fighting over conflicting commits.
//! The OS releases it when the process dies, even by SIGKILL.
//!
//! Object storage has no such lock: there writers run side by side, each
//! commit is a conditional put of the next log entry, and a writer that loses
//! the race re-runs its MERGE on the new version (`writer::staging`); `_state`
//! files are conditional puts too (`state`).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use devex_model::location::Location;

use crate::error::LakeError;

/// Held while writing; dropped (and released) at the end of the run.
#[derive(Debug)]
pub struct WriterLock {
    /// `None` on object storage: concurrency is optimistic there.
    file: Option<File>,
}

impl WriterLock {
    /// The lock file of a data dir.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("_state").join("writer.lock")
    }

    /// Take the lock of a local lake, waiting up to `timeout` for another
    /// writer, calling `on_wait` once with the holder when the lock is busy.
    /// On object storage there is nothing to take (see the module's doc).
    pub fn acquire(lake: &Location, timeout: Duration, on_wait: impl FnOnce(&str)) -> Result<WriterLock, LakeError> {
        match lake {
            Location::Local(dir) => Self::acquire_file(dir, timeout, on_wait),
            Location::Remote(_) => Ok(WriterLock { file: None }),
        }
    }

    fn acquire_file(data_dir: &Path, timeout: Duration, on_wait: impl FnOnce(&str)) -> Result<WriterLock, LakeError> {
        let path = Self::path(data_dir);
        let io = |e| LakeError::Io { file: path.display().to_string(), source: e };
        std::fs::create_dir_all(path.parent().expect("lock has a parent")).map_err(io)?;
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        let start = Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let holder = holder(&mut file);
                    if let Some(f) = on_wait.take() {
                        f(&holder);
                    }
                    if start.elapsed() >= timeout {
                        return Err(LakeError::LockTimeout { holder, waited_secs: timeout.as_secs(), path });
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(WriterLock { file: Some(file) })
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            let _ = file.set_len(0);
            let _ = file.unlock();
        }
    }
}

fn holder(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut s);
    match s.trim().parse::<u32>() {
        Ok(pid) => format!("pid {pid}"),
        Err(_) => "unknown process".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_times_out_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _held = WriterLock::acquire(&Location::Local(dir.path().into()), Duration::ZERO, |_| {}).unwrap();
        let mut seen = String::new();
        let err = WriterLock::acquire(&Location::Local(dir.path().into()), Duration::from_millis(200), |h| {
            seen = h.to_string()
        })
        .unwrap_err();
        let want = format!("pid {}", std::process::id());
        assert_eq!(seen, want);
        assert!(err.to_string().contains(&want), "{err}");
    }

    #[test]
    fn lock_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        drop(WriterLock::acquire(&Location::Local(dir.path().into()), Duration::ZERO, |_| {}).unwrap());
        WriterLock::acquire(&Location::Local(dir.path().into()), Duration::ZERO, |_| {}).unwrap();
    }
}
