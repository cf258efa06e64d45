//! The idle warning's sound: a timeout must be announced by more than one sense
//! (EN 301 549, timed responses), so the warning on screen comes with a soft two-tone
//! chime on the kiosk's speaker.
//!
//! The chime is generated here as a small WAV and played with ALSA's `aplay` on its own
//! thread; a kiosk without `aplay` or a sound card simply stays silent (logged once).

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// Sample rate of the generated chime.
const RATE: u32 = 16_000;

/// A two-tone chime (E5 then C5, 250 ms each, with soft edges) as a 16-bit mono WAV.
pub fn warning_chime() -> Vec<u8> {
    let mut samples: Vec<i16> = Vec::new();
    for freq in [659.25f32, 523.25] {
        let n = RATE / 4;
        for i in 0..n {
            let t = i as f32 / RATE as f32;
            // Fade in and out over 20 ms so the tone starts and ends without a click.
            let edge = (i.min(n - 1 - i) as f32 / (RATE as f32 * 0.02)).min(1.0);
            let value = (t * freq * std::f32::consts::TAU).sin() * edge * 0.4;
            samples.push((value * f32::from(i16::MAX)) as i16);
        }
    }
    wav(&samples)
}

fn wav(samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

static NO_PLAYER_LOGGED: AtomicBool = AtomicBool::new(false);

/// Plays the warning chime without blocking the caller.
pub fn play_warning() {
    let spawned = std::thread::Builder::new().name("chime".into()).spawn(|| {
        let child = Command::new("aplay")
            .args(["-q", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(mut child) => {
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(&warning_chime());
                }
                let _ = child.wait();
            }
            Err(err) => {
                if !NO_PLAYER_LOGGED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%err, "no sound: aplay is not available");
                }
            }
        }
    });
    if let Err(err) = spawned {
        tracing::warn!(%err, "cannot start the chime thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chime_is_a_well_formed_half_second_wav() {
        let wav = warning_chime();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        let riff_len = u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_len + 8, wav.len());
        let rate = u32::from_le_bytes(wav[24..28].try_into().unwrap());
        let data_len = u32::from_le_bytes(wav[40..44].try_into().unwrap()) as usize;
        assert_eq!(data_len, wav.len() - 44);
        let seconds = data_len as f32 / 2.0 / rate as f32;
        assert!((seconds - 0.5).abs() < 0.01, "{seconds}");
        // Soft edges: the first and last samples are near silence, the middle is not.
        let sample = |i: usize| i16::from_le_bytes([wav[44 + 2 * i], wav[45 + 2 * i]]);
        assert!(sample(0).abs() < 100);
        assert!((0..400).map(|i| sample(2000 + i).abs()).max().unwrap() > 8000);
    }
}
