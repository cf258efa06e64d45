//! The virtual printer on a pseudo-terminal, in a background thread.
//!
//! The kiosk (or `sportello printer test`) opens the pty's path like a serial port.
//! The emulator keeps the slave side open itself so the master never sees a hang-up
//! between clients, puts it in raw mode (no echo, no CR/LF translation), and can pace
//! its reading to a baud rate so that a job takes as long as on a real line.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, poll};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

use super::{Receipt, Sheet, VirtualPrinter, VirtualState, render_receipt};
use crate::printer::profile::Profile;

/// How the emulated line behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmulatorOptions {
    /// Read no faster than this many baud (8N1); `None` reads as fast as bytes come.
    pub baud: Option<u32>,
}

/// A command that stays incomplete this long with no new byte is garbage: it is
/// dropped so the reader resynchronises.
const STALL: Duration = Duration::from_millis(500);

/// A printer without a cutter ends a receipt after this long without a byte.
const TEAR_OFF: Duration = Duration::from_millis(700);

struct Shared {
    printer: Mutex<VirtualPrinter>,
    changed: Condvar,
    to_host: Mutex<Vec<u8>>,
}

/// A running virtual printer on a pseudo-terminal. Dropping it stops the thread.
pub struct Emulator {
    path: PathBuf,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _slave: OwnedFd,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in the emulator thread must not take the kiosk or a test down with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Emulator {
    /// Starts a virtual printer with `profile`'s paper, saving PNGs into `out_dir`.
    pub fn spawn(profile: &Profile, out_dir: &Path) -> std::io::Result<Emulator> {
        Emulator::spawn_with(profile, Some(out_dir), EmulatorOptions::default())
    }

    /// Starts a virtual printer; `out_dir` `None` keeps receipts in memory only.
    pub fn spawn_with(
        profile: &Profile,
        out_dir: Option<&Path>,
        options: EmulatorOptions,
    ) -> std::io::Result<Emulator> {
        if let Some(dir) = out_dir {
            std::fs::create_dir_all(dir)?;
        }
        let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
        let mut termios = tcgetattr(&pty.slave).map_err(std::io::Error::from)?;
        cfmakeraw(&mut termios);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).map_err(std::io::Error::from)?;
        let path = nix::unistd::ttyname(&pty.slave).map_err(std::io::Error::from)?;
        let shared = Arc::new(Shared {
            printer: Mutex::new(VirtualPrinter::new(profile, out_dir)),
            changed: Condvar::new(),
            to_host: Mutex::new(Vec::new()),
        });
        lock(&shared.printer).defer_rendering(true);
        let stop = Arc::new(AtomicBool::new(false));
        let master = File::from(pty.master);
        let (sheets, to_render) = std::sync::mpsc::channel::<(usize, Sheet)>();
        {
            let shared = Arc::clone(&shared);
            let out_dir = out_dir.map(Path::to_path_buf);
            std::thread::Builder::new()
                .name("virtual-printer-render".into())
                .spawn(move || {
                    // Ends when the line thread drops its sender.
                    for (number, sheet) in to_render {
                        let receipt = render_receipt(number, sheet, out_dir.as_deref());
                        lock(&shared.printer).add_receipt(receipt);
                        shared.changed.notify_all();
                    }
                })?;
        }
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("virtual-printer".into())
                .spawn(move || run(master, &shared, &stop, options, &sheets))?
        };
        Ok(Emulator {
            path,
            shared,
            stop,
            thread: Some(thread),
            _slave: pty.slave,
        })
    }

    /// The device path to open as the printer's serial port.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state the printer reports now.
    pub fn state(&self) -> VirtualState {
        lock(&self.shared.printer).state()
    }

    /// Changes the state now.
    pub fn set_state(&self, state: VirtualState) {
        lock(&self.shared.printer).set_state(state);
    }

    /// Changes the state once `after` more bytes have arrived (a fault mid-job).
    pub fn set_state_after_bytes(&self, after: usize, state: VirtualState) {
        lock(&self.shared.printer).set_state_after_bytes(after, state);
    }

    /// Puts bytes on the line towards the host, as line noise would.
    pub fn send_garbage(&self, bytes: &[u8]) {
        lock(&self.shared.to_host).extend_from_slice(bytes);
    }

    /// Bytes received since start.
    pub fn bytes_received(&self) -> usize {
        lock(&self.shared.printer).bytes_received()
    }

    /// Receipts cut so far.
    pub fn receipts(&self) -> Vec<Receipt> {
        lock(&self.shared.printer).receipts().to_vec()
    }

    /// When the state last changed (directly or by a byte-count trigger).
    pub fn state_changed_at(&self) -> Option<Instant> {
        lock(&self.shared.printer).state_changed_at()
    }

    /// Receipts spoiled because the printer could not print.
    pub fn spoiled_count(&self) -> usize {
        lock(&self.shared.printer).spoiled_count()
    }

    /// Waits until at least `count` receipts exist, or `timeout` passes.
    pub fn wait_receipts(&self, count: usize, timeout: Duration) -> Vec<Receipt> {
        let deadline = Instant::now() + timeout;
        let mut printer = lock(&self.shared.printer);
        while printer.receipts().len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            printer = match self.shared.changed.wait_timeout(printer, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        printer.receipts().to_vec()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    mut master: File,
    shared: &Shared,
    stop: &AtomicBool,
    options: EmulatorOptions,
    sheets: &std::sync::mpsc::Sender<(usize, Sheet)>,
) {
    let tick = Duration::from_millis(10);
    // Bytes per 10 ms tick at the emulated baud rate (8N1).
    let per_tick = options
        .baud
        .map_or(4096, |baud| (baud as usize / 10 / 100).max(1));
    let mut buf = vec![0u8; per_tick];
    let mut last_byte = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let noise = std::mem::take(&mut *lock(&shared.to_host));
        if !noise.is_empty() && master.write_all(&noise).is_err() {
            tracing::warn!("virtual printer: cannot write to the pty");
        }
        let ready = {
            let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, 20u16) {
                Ok(n) => {
                    n > 0
                        && fds[0]
                            .revents()
                            .is_some_and(|r| r.contains(PollFlags::POLLIN))
                }
                Err(_) => false,
            }
        };
        if !ready {
            let mut printer = lock(&shared.printer);
            if printer.has_pending() && last_byte.elapsed() > STALL {
                printer.drop_stalled();
                last_byte = Instant::now();
            }
            if printer.awaits_tear_off() && last_byte.elapsed() > TEAR_OFF {
                printer.tear_off();
            }
            for sheet in printer.take_deferred() {
                let _ = sheets.send(sheet);
            }
            continue;
        }
        let started = Instant::now();
        let n = match master.read(&mut buf) {
            Ok(n) => n,
            Err(_) => {
                std::thread::sleep(tick);
                continue;
            }
        };
        last_byte = Instant::now();
        let (replies, finished) = {
            let mut printer = lock(&shared.printer);
            (printer.feed(&buf[..n]), printer.take_deferred())
        };
        if !replies.is_empty() && master.write_all(&replies).is_err() {
            tracing::warn!("virtual printer: cannot answer on the pty");
        }
        for sheet in finished {
            let _ = sheets.send(sheet);
        }
        if options.baud.is_some() {
            // Pace: n bytes take n/per_tick ticks on the wire.
            let wire = tick * u32::try_from(n.div_ceil(per_tick)).unwrap_or(1);
            if let Some(rest) = wire.checked_sub(started.elapsed()) {
                std::thread::sleep(rest);
            }
        }
    }
}
