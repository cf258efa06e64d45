//! A full partition, for the process that calls it: no file may grow past its size now.

use std::path::Path;

/// From now on no file of this process may grow beyond the larger of `db` and its WAL,
/// plus a page: writes past that fail as on a full disk (`RLIMIT_FSIZE`, with `SIGXFSZ`
/// ignored so the write returns an error instead of killing the process). Call it only in
/// a child process of its own: the limit holds for the whole process.
pub fn fill_disk_after(db: &Path) {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let limit = size(db).max(size(Path::new(&wal))) + 4096;
    // SAFETY: plain libc calls on this process's own signal disposition and limits.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let rl = libc::rlimit {
            rlim_cur: limit,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &rl), 0);
    }
}
