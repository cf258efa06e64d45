//! The link to the printer: a trait, and the serial port behind it.
//!
//! The job and status logic talk to [`PrinterLink`] only, so they run identically over a
//! real serial port, a pseudo-terminal to the virtual printer, or a test double. The
//! serial implementation sets baud rate and flow control from its settings, bounds every
//! write by a deadline (a printer holding XOFF or CTS must not hang the kiosk) and waits
//! until the bytes have left the output queue, so "written" means "on the wire".

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Why a link operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The port could not be opened or configured.
    #[error("cannot open {path}: {message}")]
    Open {
        /// The device path.
        path: String,
        /// The system's reason.
        message: String,
    },
    /// The bytes did not leave within the deadline (flow control held, cable, baud).
    #[error("write timed out after {0:?} (flow control held or printer busy)")]
    WriteTimeout(Duration),
    /// Another I/O error.
    #[error("serial I/O error: {0}")]
    Io(String),
}

/// A byte link to a printer.
pub trait PrinterLink: Send {
    /// Writes all bytes and waits until they have left the host, within `timeout`.
    fn write_all(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), LinkError>;
    /// Reads what has arrived, waiting up to `timeout`; `Ok(0)` when nothing came.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError>;
    /// Discards bytes received and not yet read (stale or garbage replies).
    fn clear_input(&mut self) -> Result<(), LinkError>;
}

/// Serial flow control, as named in `kiosk.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    /// No flow control: the printer's buffer must never overflow (small jobs, slow baud).
    #[default]
    None,
    /// Hardware RTS/CTS.
    Rtscts,
    /// Software XON/XOFF (status replies can never be XON/XOFF bytes).
    Xonxoff,
}

impl std::str::FromStr for FlowControl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(FlowControl::None),
            "rtscts" => Ok(FlowControl::Rtscts),
            "xonxoff" => Ok(FlowControl::Xonxoff),
            _ => Err(format!(
                "unknown flow control `{s}`: expected none, rtscts or xonxoff"
            )),
        }
    }
}

/// How to open a serial printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    /// Device path, e.g. `/dev/ttyUSB0`, `/dev/serial0` or a `/dev/pts/N`.
    pub path: PathBuf,
    /// Baud rate (8N1).
    pub baud: u32,
    /// Flow control.
    pub flow_control: FlowControl,
    /// Upper bound for one write.
    pub write_timeout: Duration,
}

impl SerialSettings {
    /// 115200 baud, no flow control, 5 s write timeout.
    pub fn new(path: impl AsRef<Path>) -> SerialSettings {
        SerialSettings {
            path: path.as_ref().to_path_buf(),
            baud: 115_200,
            flow_control: FlowControl::None,
            write_timeout: Duration::from_secs(5),
        }
    }
}

/// A printer on a serial port (or a pseudo-terminal that behaves like one).
pub struct SerialLink {
    port: Box<dyn serialport::SerialPort>,
}

fn io_err(e: impl std::fmt::Display) -> LinkError {
    LinkError::Io(e.to_string())
}

impl SerialLink {
    /// Opens and configures the port.
    pub fn open(settings: &SerialSettings) -> Result<SerialLink, LinkError> {
        let path = settings.path.display().to_string();
        let flow = match settings.flow_control {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Rtscts => serialport::FlowControl::Hardware,
            FlowControl::Xonxoff => serialport::FlowControl::Software,
        };
        let port = serialport::new(path.clone(), settings.baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(flow)
            .timeout(settings.write_timeout)
            .open()
            .map_err(|e| LinkError::Open {
                path,
                message: e.to_string(),
            })?;
        Ok(SerialLink { port })
    }

    fn wait_drained(&mut self, deadline: Instant, timeout: Duration) -> Result<(), LinkError> {
        loop {
            match self.port.bytes_to_write() {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                // Some drivers cannot report the queue; the write itself has completed.
                Err(_) => return Ok(()),
            }
            if Instant::now() >= deadline {
                return Err(LinkError::WriteTimeout(timeout));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl PrinterLink for SerialLink {
    fn write_all(&mut self, mut bytes: &[u8], timeout: Duration) -> Result<(), LinkError> {
        let deadline = Instant::now() + timeout;
        while !bytes.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LinkError::WriteTimeout(timeout));
            }
            self.port.set_timeout(left).map_err(io_err)?;
            match self.port.write(bytes) {
                Ok(0) => return Err(LinkError::Io("the port accepted no bytes".into())),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(LinkError::WriteTimeout(timeout));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        self.wait_drained(deadline, timeout)
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        self.port
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(io_err)?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(0),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(io_err(e)),
        }
    }

    fn clear_input(&mut self) -> Result<(), LinkError> {
        self.port
            .clear(serialport::ClearBuffer::Input)
            .map_err(io_err)
    }
}
