//! Just enough of the WAV format to join espeak-ng's sentences into one call.
//!
//! espeak-ng writing to a pipe cannot go back to fill in its header, so the sizes there
//! are placeholders (0x7ffff000): a browser would take such a file for hours long. The
//! samples are read from its `data` chunk to the end, and the call is written out again
//! with a header giving the real sizes.

/// Uncompressed samples and their format, without a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm {
    channels: u16,
    sample_rate: u32,
    bits: u16,
    data: Vec<u8>,
}

impl Pcm {
    /// The samples of a PCM WAV file; `None` when it is not one.
    pub fn parse(wav: &[u8]) -> Option<Pcm> {
        if wav.get(0..4)? != b"RIFF" || wav.get(8..12)? != b"WAVE" {
            return None;
        }
        let mut at = 12;
        let mut format = None;
        loop {
            let id = wav.get(at..at + 4)?;
            let size = u32::from_le_bytes(wav.get(at + 4..at + 8)?.try_into().ok()?) as usize;
            let body = at + 8;
            if id == b"data" {
                let (channels, sample_rate, bits) = format?;
                // Up to the end of the file: the size may be a placeholder.
                let end = body.saturating_add(size).min(wav.len());
                let frame = usize::from(channels) * usize::from(bits / 8);
                let mut data = wav.get(body..end)?.to_vec();
                data.truncate(data.len() - data.len() % frame);
                return Some(Pcm {
                    channels,
                    sample_rate,
                    bits,
                    data,
                });
            }
            if id == b"fmt " {
                let fmt = wav.get(body..body + 16)?;
                let tag = u16::from_le_bytes([fmt[0], fmt[1]]);
                let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
                let sample_rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
                let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
                let usable = tag == 1
                    && (1..=2).contains(&channels)
                    && matches!(bits, 8 | 16)
                    && sample_rate > 0;
                if !usable {
                    return None;
                }
                format = Some((channels, sample_rate, bits));
            }
            // Chunks are padded to an even length.
            at = body.checked_add(size)?.checked_add(size % 2)?;
        }
    }

    /// Whether there are no samples at all.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn same_format(&self, other: &Pcm) -> bool {
        (self.channels, self.sample_rate, self.bits)
            == (other.channels, other.sample_rate, other.bits)
    }

    fn silence(&self, millis: u32) -> impl Iterator<Item = u8> {
        let frames = u64::from(self.sample_rate) * u64::from(millis) / 1000;
        let bytes = frames * u64::from(self.channels) * u64::from(self.bits / 8);
        // 8-bit samples are unsigned: their silence is the middle value.
        let zero = if self.bits == 8 { 0x80 } else { 0 };
        std::iter::repeat_n(zero, bytes as usize)
    }
}

/// `parts` one after the other, `pause_ms` of silence between them, as one WAV file with
/// a correct header; `None` when there are none or their formats differ.
pub fn join(parts: &[&Pcm], pause_ms: u32) -> Option<Vec<u8>> {
    let first = *parts.first()?;
    if !parts.iter().all(|p| p.same_format(first)) {
        return None;
    }
    let mut data = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            data.extend(first.silence(pause_ms));
        }
        data.extend_from_slice(&part.data);
    }
    let data_len = u32::try_from(data.len()).ok()?;
    let block_align = first.channels * (first.bits / 8);
    let mut wav = Vec::with_capacity(44 + data.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&first.channels.to_le_bytes());
    wav.extend_from_slice(&first.sample_rate.to_le_bytes());
    wav.extend_from_slice(&(first.sample_rate * u32::from(block_align)).to_le_bytes());
    wav.extend_from_slice(&block_align.to_le_bytes());
    wav.extend_from_slice(&first.bits.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend_from_slice(&data);
    Some(wav)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as espeak-ng writes it to a pipe: 22,050 Hz mono 16-bit, placeholder sizes.
    fn espeak_like(samples: &[u8]) -> Vec<u8> {
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF\x24\xf0\xff\x7fWAVEfmt \x10\0\0\0\x01\0\x01\0");
        wav.extend_from_slice(&22_050u32.to_le_bytes());
        wav.extend_from_slice(&44_100u32.to_le_bytes());
        wav.extend_from_slice(b"\x02\0\x10\0data\0\xf0\xff\x7f");
        wav.extend_from_slice(samples);
        wav
    }

    #[test]
    fn placeholder_sizes_become_the_real_ones() {
        let a = Pcm::parse(&espeak_like(&[1, 0, 2, 0, 3])).unwrap();
        assert_eq!(a.data.len(), 4, "a half sample at the end is dropped");
        let b = Pcm::parse(&espeak_like(&[9, 0])).unwrap();
        let wav = join(&[&a, &b], 10).unwrap();
        // 10 ms at 22,050 Hz is 220 frames of 2 bytes.
        let data_len = 4 + 440 + 2;
        assert_eq!(wav.len(), 44 + data_len);
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(wav[4..8], (36 + data_len as u32).to_le_bytes());
        assert_eq!(&wav[36..40], b"data");
        assert_eq!(wav[40..44], (data_len as u32).to_le_bytes());
        assert_eq!(&wav[44..48], &[1, 0, 2, 0]);
        assert!(wav[48..48 + 440].iter().all(|&b| b == 0));
        assert_eq!(&wav[48 + 440..], &[9, 0]);
        // What we write reads back the same.
        let again = Pcm::parse(&wav).unwrap();
        assert_eq!(again.data.len(), data_len);
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(Pcm::parse(b""), None);
        assert_eq!(Pcm::parse(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(Pcm::parse(&espeak_like(&[])[..30]), None);
        let mut float = espeak_like(&[0, 0]);
        float[20] = 3;
        assert_eq!(Pcm::parse(&float), None, "IEEE float samples");
        let mut no_fmt = b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\0\0".to_vec();
        assert_eq!(Pcm::parse(&no_fmt), None);
        no_fmt[4] = 0xff;
        assert_eq!(Pcm::parse(&no_fmt), None);
        assert_eq!(join(&[], 10), None);
        let mut stereo = espeak_like(&[0, 0, 0, 0]);
        stereo[22] = 2;
        let stereo = Pcm::parse(&stereo).unwrap();
        let mono = Pcm::parse(&espeak_like(&[0, 0])).unwrap();
        assert_eq!(join(&[&mono, &stereo], 10), None, "formats differ");
    }
}
