//! Splits an ESC/POS byte stream into whole commands.
//!
//! Two users need to know where one command ends and the next begins: the job, which
//! may only poll status (`DLE EOT`) *between* commands (inside raster or QR data those
//! three bytes would be taken as data), and the emulator's parser. Unknown commands are
//! skipped by their known length, or by their first two bytes when the length is
//! unknown; a declared length that is out of range makes the header alone unknown, so
//! garbage cannot make the reader swallow kilobytes. Nothing here panics on any input.

/// One command (or run of text) at the head of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// Printable bytes in the current code page.
    Text(&'a [u8]),
    /// `LF`: print the line and advance.
    LineFeed,
    /// `ESC @`.
    Init,
    /// `ESC t n`.
    CodePage(u8),
    /// `ESC E n`.
    Bold(bool),
    /// `ESC ! n`: bit 3 bold, bit 4 double height, bit 5 double width.
    PrintMode(u8),
    /// `GS ! n`: high nibble width−1, low nibble height−1.
    Size(u8),
    /// `ESC a n`: 0 left, 1 centre, 2 right (also `'0'..'2'`).
    Align(u8),
    /// `ESC d n`: print and feed n lines.
    FeedLines(u8),
    /// `ESC J n`: print and feed n dots.
    FeedDots(u8),
    /// `GS V`: cut (`partial`), after feeding `feed` dots.
    Cut {
        /// Partial rather than full.
        partial: bool,
        /// Dots fed before the cut.
        feed: u8,
    },
    /// `GS ( k` QR function 167: module size.
    QrModule(u8),
    /// `GS ( k` QR function 169: error level byte.
    QrLevel(u8),
    /// `GS ( k` QR function 180: store data.
    QrStore(&'a [u8]),
    /// `GS ( k` QR function 181: print the stored symbol.
    QrPrint,
    /// `GS v 0`: raster image.
    Raster {
        /// Bytes per row.
        width_bytes: u16,
        /// Rows.
        height: u16,
        /// `width_bytes * height` bytes.
        data: &'a [u8],
    },
    /// `GS h n`: barcode height in dots.
    BarcodeHeight(u8),
    /// `GS k`: a barcode of `system` (73 = Code 128) with its data bytes.
    Barcode {
        /// The symbology byte.
        system: u8,
        /// The data as sent.
        data: &'a [u8],
    },
    /// `DLE EOT n`: real-time status request.
    Status(u8),
    /// A command understood but without effect on the rendering, or not understood.
    Other(&'a [u8]),
}

/// The result of reading one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<'a> {
    /// A whole command and how many bytes it took.
    Token(Token<'a>, usize),
    /// The buffer ends inside a command; more bytes are needed.
    Incomplete,
    /// The buffer is empty.
    Empty,
}

/// Largest raster accepted: rows per `GS v 0`. Larger declared sizes are garbage.
pub const MAX_RASTER_ROWS: u16 = 4095;

/// Reads the command at the head of `buf`. `max_width_bytes` bounds a raster row
/// (the paper's dots / 8); a larger one is treated as garbage.
pub fn next(buf: &[u8], max_width_bytes: u16) -> Next<'_> {
    let Some(&first) = buf.first() else {
        return Next::Empty;
    };
    let need = |n: usize| buf.len() < n;
    match first {
        0x0A => Next::Token(Token::LineFeed, 1),
        0x1B => {
            let Some(&c) = buf.get(1) else {
                return Next::Incomplete;
            };
            // Commands with a fixed number of parameter bytes after ESC c.
            let params: Option<usize> = match c {
                b'@' | b'2' | b'i' | b'm' | b'<' | b'L' | b'S' | b'F' => Some(0),
                b't' | b'E' | b'!' | b'a' | b'd' | b'J' | b'-' | b'M' | b'G' | b'V' | b'{'
                | b'R' | b'3' | b' ' | b'%' | b'=' | b'U' | b'r' | b'T' | b'e' | b'K' | b'I'
                | b'?' => Some(1),
                b'$' | b'\\' => Some(2),
                b'c' | b'p' => Some(if c == b'c' { 2 } else { 3 }),
                b'W' => Some(8),
                _ => None,
            };
            match (c, params) {
                (b'*', _) => {
                    // ESC * m nL nH d…: bit image, 1 or 3 bytes per column.
                    if need(5) {
                        return Next::Incomplete;
                    }
                    let cols = usize::from(u16::from_le_bytes([buf[3], buf[4]]));
                    let per = match buf[2] {
                        0 | 1 => 1,
                        32 | 33 => 3,
                        _ => return Next::Token(Token::Other(&buf[..2]), 2),
                    };
                    if cols > usize::from(max_width_bytes) * 8 {
                        return Next::Token(Token::Other(&buf[..2]), 2);
                    }
                    let n = 5 + cols * per;
                    if need(n) {
                        Next::Incomplete
                    } else {
                        Next::Token(Token::Other(&buf[..n]), n)
                    }
                }
                (_, Some(p)) => {
                    if need(2 + p) {
                        return Next::Incomplete;
                    }
                    let arg = buf.get(2).copied().unwrap_or(0);
                    let t = match c {
                        b'@' => Token::Init,
                        b't' => Token::CodePage(arg),
                        b'E' => Token::Bold(arg & 1 == 1),
                        b'!' => Token::PrintMode(arg),
                        b'a' => Token::Align(arg),
                        b'd' => Token::FeedLines(arg),
                        b'J' => Token::FeedDots(arg),
                        _ => Token::Other(&buf[..2 + p]),
                    };
                    Next::Token(t, 2 + p)
                }
                _ => Next::Token(Token::Other(&buf[..2]), 2),
            }
        }
        0x1D => gs(buf, max_width_bytes),
        0x10 => {
            let Some(&c) = buf.get(1) else {
                return Next::Incomplete;
            };
            match c {
                0x04 | 0x05 => match buf.get(2) {
                    None => Next::Incomplete,
                    Some(&n) if c == 0x04 => Next::Token(Token::Status(n), 3),
                    Some(_) => Next::Token(Token::Other(&buf[..3]), 3),
                },
                0x14 => {
                    if need(5) {
                        Next::Incomplete
                    } else {
                        Next::Token(Token::Other(&buf[..5]), 5)
                    }
                }
                _ => Next::Token(Token::Other(&buf[..1]), 1),
            }
        }
        0x1C => {
            if need(2) {
                Next::Incomplete
            } else {
                Next::Token(Token::Other(&buf[..2]), 2)
            }
        }
        b if b < 0x20 => Next::Token(Token::Other(&buf[..1]), 1),
        _ => {
            let n = buf.iter().position(|&b| b < 0x20).unwrap_or(buf.len());
            Next::Token(Token::Text(&buf[..n]), n)
        }
    }
}

fn gs(buf: &[u8], max_width_bytes: u16) -> Next<'_> {
    let Some(&c) = buf.get(1) else {
        return Next::Incomplete;
    };
    let need = |n: usize| buf.len() < n;
    let arg = |i: usize| buf.get(i).copied();
    match c {
        b'!' | b'h' | b'w' | b'H' | b'f' | b'B' | b'b' | b'a' | b'r' | b'I' | b'E' | b'/' => {
            match arg(2) {
                None => Next::Incomplete,
                Some(n) => Next::Token(
                    match c {
                        b'!' => Token::Size(n),
                        b'h' => Token::BarcodeHeight(n),
                        _ => Token::Other(&buf[..3]),
                    },
                    3,
                ),
            }
        }
        b'L' | b'W' | b'P' | b'$' | b'\\' => {
            if need(4) {
                Next::Incomplete
            } else {
                Next::Token(Token::Other(&buf[..4]), 4)
            }
        }
        b'V' => match arg(2) {
            None => Next::Incomplete,
            Some(m @ (0 | 1 | 48 | 49)) => Next::Token(
                Token::Cut {
                    partial: m & 1 == 1,
                    feed: 0,
                },
                3,
            ),
            Some(m @ (65 | 66 | 97 | 98 | 103 | 104)) => match arg(3) {
                None => Next::Incomplete,
                Some(feed) => Next::Token(
                    Token::Cut {
                        partial: m & 1 == 0,
                        feed,
                    },
                    4,
                ),
            },
            Some(_) => Next::Token(Token::Other(&buf[..3]), 3),
        },
        b'(' => {
            // GS ( fn pL pH data: every GS ( function carries its length.
            if need(5) {
                return Next::Incomplete;
            }
            let len = usize::from(u16::from_le_bytes([buf[3], buf[4]]));
            let n = 5 + len;
            if need(n) {
                return Next::Incomplete;
            }
            let body = &buf[5..n];
            let t = match (buf[2], body) {
                (b'k', [0x31, 0x43, m]) => Token::QrModule(*m),
                (b'k', [0x31, 0x45, l]) => Token::QrLevel(*l),
                (b'k', [0x31, 0x50, 0x30, data @ ..]) => Token::QrStore(data),
                (b'k', [0x31, 0x51, 0x30]) => Token::QrPrint,
                _ => Token::Other(&buf[..n]),
            };
            Next::Token(t, n)
        }
        b'v' => {
            if need(8) {
                return Next::Incomplete;
            }
            let width_bytes = u16::from_le_bytes([buf[4], buf[5]]);
            let height = u16::from_le_bytes([buf[6], buf[7]]);
            let sane = buf[2] == b'0'
                && buf[3] <= 3
                && width_bytes > 0
                && width_bytes <= max_width_bytes
                && height > 0
                && height <= MAX_RASTER_ROWS;
            if !sane {
                return Next::Token(Token::Other(&buf[..2]), 2);
            }
            let n = 8 + usize::from(width_bytes) * usize::from(height);
            if need(n) {
                return Next::Incomplete;
            }
            Next::Token(
                Token::Raster {
                    width_bytes,
                    height,
                    data: &buf[8..n],
                },
                n,
            )
        }
        b'k' => {
            let Some(system) = arg(2) else {
                return Next::Incomplete;
            };
            if system <= 6 {
                // Data up to NUL; a barcode longer than 255 bytes is garbage.
                match buf[3..].iter().take(256).position(|&b| b == 0) {
                    Some(end) => Next::Token(
                        Token::Barcode {
                            system,
                            data: &buf[3..3 + end],
                        },
                        4 + end,
                    ),
                    None if buf.len() < 3 + 256 => Next::Incomplete,
                    None => Next::Token(Token::Other(&buf[..3]), 3),
                }
            } else if (65..=79).contains(&system) {
                let Some(len) = arg(3) else {
                    return Next::Incomplete;
                };
                let n = 4 + usize::from(len);
                if need(n) {
                    Next::Incomplete
                } else {
                    Next::Token(
                        Token::Barcode {
                            system,
                            data: &buf[4..n],
                        },
                        n,
                    )
                }
            } else {
                Next::Token(Token::Other(&buf[..3]), 3)
            }
        }
        b'e' => {
            // Presenter (GS e n [m]): n = 3 and 32 carry a parameter.
            match arg(2) {
                None => Next::Incomplete,
                Some(3 | 32) => {
                    if need(4) {
                        Next::Incomplete
                    } else {
                        Next::Token(Token::Other(&buf[..4]), 4)
                    }
                }
                Some(_) => Next::Token(Token::Other(&buf[..3]), 3),
            }
        }
        _ => Next::Token(Token::Other(&buf[..2]), 2),
    }
}

/// Offsets just after each whole command: the points where a job may pause and poll
/// status. The last entry is the buffer's length (an incomplete tail is sent whole).
pub fn boundaries(buf: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        match next(&buf[at..], u16::MAX) {
            Next::Token(_, n) => at += n.max(1),
            Next::Incomplete | Next::Empty => at = buf.len(),
        }
        out.push(at);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands_and_text() {
        let buf = b"\x1b@\x1bt\x13Ciao\n\x1dV\x42\x00\x10\x04\x04";
        let mut at = 0;
        let mut seen = Vec::new();
        while let Next::Token(t, n) = next(&buf[at..], 72) {
            seen.push(t);
            at += n;
        }
        assert_eq!(
            seen,
            vec![
                Token::Init,
                Token::CodePage(19),
                Token::Text(b"Ciao"),
                Token::LineFeed,
                Token::Cut {
                    partial: true,
                    feed: 0
                },
                Token::Status(4),
            ]
        );
        assert_eq!(next(b"\x1d(k\x05\x00\x31\x50\x30A", 72), Next::Incomplete);
    }

    #[test]
    fn absurd_raster_header_is_not_trusted() {
        let buf = b"\x1dv0\x00\xff\xff\xff\xffabc";
        assert_eq!(next(buf, 72), Next::Token(Token::Other(b"\x1dv"), 2));
    }

    #[test]
    fn boundaries_never_split_qr_data() {
        let data = b"\x1d(k\x06\x00\x31\x50\x30\x10\x04\x01\n";
        assert_eq!(boundaries(data), vec![11, 12]);
    }

    #[test]
    fn any_bytes_are_consumed_without_panic() {
        let mut seed = 7u32;
        let mut buf = Vec::new();
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            buf.push((seed >> 16) as u8);
        }
        let mut at = 0;
        while let Next::Token(_, n) = next(&buf[at..], 72) {
            assert!(n > 0);
            at += n;
        }
        assert!(at <= buf.len());
    }
}
