//! Speech through espeak-ng (Debian's `espeak-ng`, GPL-3.0-or-later) and ALSA's `aplay`.
//!
//! espeak-ng turns a sentence into a WAV in a few milliseconds; `aplay` plays it on the
//! output's ALSA device. One worker thread takes the queue in order; [`Speech::stop`]
//! kills the playing `aplay` and makes the worker skip everything queued before it, so
//! speech stops at once. The same [`Engine`] renders the hub's spoken calls to files.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{Output, Speech, SpeechError, Utterance, Volume};
use crate::lang::Lang;

/// Words per minute: a little slower than espeak-ng's 175, for elderly listeners.
pub const RATE_WPM: u32 = 150;

/// The espeak-ng voice for each language on screen (EN 301 549 5.1.3.14): the
/// language folder's `voice`, English's for a language espeak-ng cannot say.
pub fn voice(lang: Lang) -> &'static str {
    lang.voice().or_else(|| Lang::EN.voice()).unwrap_or("en-gb")
}

/// The synthesiser: espeak-ng run once per sentence.
#[derive(Debug, Clone)]
pub struct Engine {
    program: String,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            program: "espeak-ng".into(),
        }
    }
}

impl Engine {
    /// An engine running `program` (normally `espeak-ng`).
    pub fn new(program: impl Into<String>) -> Engine {
        Engine {
            program: program.into(),
        }
    }

    /// `text` as a WAV file (mono, 22,050 Hz), at `volume`. The text goes through
    /// standard input, so nothing in it can be taken for an option.
    pub fn synthesize(
        &self,
        text: &str,
        lang: Lang,
        volume: Volume,
    ) -> Result<Vec<u8>, SpeechError> {
        let mut child = Command::new(&self.program)
            .args(["--stdin", "--stdout", "-v", voice(lang)])
            .args(["-a", &volume.amplitude().to_string()])
            .args(["-s", &RATE_WPM.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SpeechError::Start {
                program: self.program.clone(),
                source,
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A sentence is small: the pipe takes it whole before espeak-ng answers.
            let written = stdin.write_all(text.as_bytes());
            drop(stdin);
            if let Err(err) = written {
                let _ = child.kill();
                let _ = child.wait();
                return Err(self.failed(err.to_string()));
            }
        }
        let out = child
            .wait_with_output()
            .map_err(|err| self.failed(err.to_string()))?;
        if !out.status.success() || out.stdout.len() <= 44 {
            let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(self.failed(format!("{} {detail}", out.status)));
        }
        Ok(out.stdout)
    }

    fn failed(&self, detail: String) -> SpeechError {
        SpeechError::Failed {
            program: self.program.clone(),
            detail,
        }
    }
}

/// The ALSA devices of the two outputs (kiosk.toml `[speech]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Devices {
    /// The headset jack's device (a USB audio adapter: `plughw:CARD=Device,DEV=0`).
    pub headset: String,
    /// The loudspeaker's device.
    pub speaker: String,
}

impl Devices {
    fn of(&self, output: Output) -> &str {
        match output {
            Output::Headset => &self.headset,
            Output::Speaker => &self.speaker,
        }
    }
}

struct Job {
    utterance: Utterance,
    generation: u64,
}

#[derive(Default)]
struct Shared {
    /// Raised by every stop: queued jobs of an older generation are skipped.
    generation: AtomicU64,
    volume: AtomicU8,
    playing: Mutex<Option<Child>>,
}

impl Shared {
    fn current(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn kill_playing(&self) {
        let mut playing = self.playing.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = playing.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Speaks through espeak-ng and `aplay`, one sentence after the other.
pub struct EspeakSpeech {
    jobs: Mutex<Sender<Job>>,
    shared: Arc<Shared>,
}

impl EspeakSpeech {
    /// Starts the worker thread that plays on `devices`; fails only when the system
    /// cannot start a thread.
    pub fn start(engine: Engine, devices: Devices) -> std::io::Result<EspeakSpeech> {
        let shared = Arc::new(Shared::default());
        shared
            .volume
            .store(Volume::DEFAULT.step(), Ordering::SeqCst);
        let (tx, rx) = channel();
        let worker = shared.clone();
        std::thread::Builder::new()
            .name("speech".into())
            .spawn(move || play_queue(&engine, &devices, &worker, rx))?;
        Ok(EspeakSpeech {
            jobs: Mutex::new(tx),
            shared,
        })
    }
}

impl Speech for EspeakSpeech {
    fn say(&self, utterance: Utterance) {
        let job = Job {
            utterance,
            generation: self.shared.current(),
        };
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.send(job).is_err() {
            tracing::warn!("the speech thread has stopped");
        }
    }

    fn stop(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        self.shared.kill_playing();
    }

    fn set_volume(&self, volume: Volume) {
        self.shared.volume.store(volume.step(), Ordering::SeqCst);
    }
}

fn play_queue(engine: &Engine, devices: &Devices, shared: &Shared, jobs: Receiver<Job>) {
    for job in jobs {
        if job.generation != shared.current() {
            continue;
        }
        let volume = Volume::from_step(shared.volume.load(Ordering::SeqCst));
        let wav = match engine.synthesize(&job.utterance.text, job.utterance.lang, volume) {
            Ok(wav) => wav,
            Err(err) => {
                tracing::warn!(%err, "speech not produced");
                continue;
            }
        };
        if job.generation != shared.current() {
            continue;
        }
        let device = devices.of(job.utterance.output);
        if let Err(err) = play(&wav, device, shared, job.generation) {
            tracing::warn!(%err, output = ?job.utterance.output, "speech not played");
        }
    }
}

/// Plays `wav` on `device` until it ends or a stop kills the player.
fn play(wav: &[u8], device: &str, shared: &Shared, generation: u64) -> Result<(), SpeechError> {
    let mut child = Command::new("aplay")
        .args(["-q", "-D", device, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| SpeechError::Start {
            program: "aplay".into(),
            source,
        })?;
    let stdin = child.stdin.take();
    *shared
        .playing
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(child);
    if shared.current() != generation {
        // A stop came while the player was starting.
        shared.kill_playing();
        return Ok(());
    }
    if let Some(mut stdin) = stdin {
        // A stop kills the player: the write then ends with a broken pipe, which is fine.
        let _ = stdin.write_all(wav);
    }
    loop {
        let mut playing = shared
            .playing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match playing.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => {}
            Some(Ok(Some(_)) | Err(_)) => {
                *playing = None;
                return Ok(());
            }
            // Stopped: the child was killed and taken.
            None => return Ok(()),
        }
        drop(playing);
        std::thread::sleep(Duration::from_millis(10));
    }
}
