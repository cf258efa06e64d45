//! The waiting room hears the calls: "Numero N, zero, uno, due, Sportello 3", rendered on
//! the hub by the kiosk's espeak-ng engine, so every board sounds the same and no
//! internet voice is needed.
//!
//! `GET /display/calls/{number}.wav` says only calls that happened: the number must be
//! among today's latest [`AUDIBLE_CALLS`] calls, and the phrase is built here from the
//! database (number and counter, nothing personal), never from the request. Each phrase
//! is kept in memory per language ([`CACHE_ENTRIES`] at most, least recently used out),
//! which holds every audible call, so an anonymous client can make espeak-ng run at most
//! once per real call and language; at most [`PARALLEL_SYNTHESES`] run at a time, on the
//! blocking pool.
//!
//! Written for both engines (`hub::sql`).

mod wav;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use self::wav::Pcm;
use super::error::ApiError;
use super::sql::{Sql, args};
use super::state::AppState;
use crate::lang::{Lang, fill, tr};
use crate::protocol::numbers::{parse_emergency, parse_number};
use crate::speech::espeak::Engine;
use crate::speech::{SpeechError, Volume, spell};

/// How many of today's latest calls can be heard (a board plays them as they come; this
/// leaves room for a burst of calls queued on a slow board).
pub const AUDIBLE_CALLS: usize = 40;

/// Phrases kept, counting each language apart: every audible call in both languages, with
/// room to spare (about 200 KB each, so some 25 MB at most).
pub const CACHE_ENTRIES: usize = 128;

/// espeak-ng processes running at once.
pub const PARALLEL_SYNTHESES: usize = 2;

/// Silence between the languages of one call.
const PAUSE_MS: u32 = 700;

/// What is said for a call of `number` to `counter` in `lang`: the number spelled
/// character by character, the counter's name as configured.
pub fn phrase(number: &str, counter: &str, lang: Lang) -> String {
    fill(
        tr(lang, "Number {}, {}"),
        &[&spell(number, lang), counter.trim()],
    )
}

/// Phrases already rendered, by (language, text); the least recently used goes first.
#[derive(Default)]
struct Cache {
    entries: HashMap<(Lang, String), (Arc<Pcm>, u64)>,
    tick: u64,
}

impl Cache {
    fn get(&mut self, key: &(Lang, String)) -> Option<Arc<Pcm>> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(key).map(|(pcm, used)| {
            *used = tick;
            pcm.clone()
        })
    }

    fn insert(&mut self, key: (Lang, String), pcm: Arc<Pcm>) {
        self.tick += 1;
        while self.entries.len() >= CACHE_ENTRIES && !self.entries.contains_key(&key) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.entries.remove(&k),
                None => break,
            };
        }
        self.entries.insert(key, (pcm, self.tick));
    }
}

/// The calls' voice: the engine, the board's languages and the rendered phrases.
pub struct CallAudio {
    engine: Engine,
    languages: Vec<Lang>,
    cache: Mutex<Cache>,
    running: Semaphore,
    syntheses: AtomicU64,
    failure_logged: AtomicBool,
}

impl CallAudio {
    /// Calls said in `languages`, one after the other, by `engine`.
    pub fn new(engine: Engine, languages: Vec<Lang>) -> CallAudio {
        CallAudio {
            engine,
            languages,
            cache: Mutex::default(),
            running: Semaphore::new(PARALLEL_SYNTHESES),
            syntheses: AtomicU64::new(0),
            failure_logged: AtomicBool::new(false),
        }
    }

    /// How many times espeak-ng was run (a phrase found in the cache does not count).
    pub fn syntheses(&self) -> u64 {
        self.syntheses.load(Ordering::SeqCst)
    }

    /// How many phrases the cache holds.
    pub fn cached(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The call said in every language, as one WAV file.
    pub async fn call(&self, number: &str, counter: &str) -> Result<Vec<u8>, ApiError> {
        let mut parts = Vec::with_capacity(self.languages.len());
        for &lang in &self.languages {
            parts.push(self.rendered(phrase(number, counter, lang), lang).await?);
        }
        let parts: Vec<&Pcm> = parts.iter().map(Arc::as_ref).collect();
        wav::join(&parts, PAUSE_MS).ok_or_else(|| {
            self.unavailable(SpeechError::Failed {
                program: "espeak-ng".into(),
                detail: "its voices gave WAV files of different formats".into(),
            })
        })
    }

    /// One phrase from the cache, or from espeak-ng (then kept).
    async fn rendered(&self, text: String, lang: Lang) -> Result<Arc<Pcm>, ApiError> {
        let key = (lang, text);
        if let Some(pcm) = self.lock().get(&key) {
            return Ok(pcm);
        }
        let _permit = self
            .running
            .acquire()
            .await
            .map_err(|e| ApiError::internal("speech", e))?;
        // Another request may have rendered it while this one waited.
        if let Some(pcm) = self.lock().get(&key) {
            return Ok(pcm);
        }
        let engine = self.engine.clone();
        let text = key.1.clone();
        self.syntheses.fetch_add(1, Ordering::SeqCst);
        let wav =
            tokio::task::spawn_blocking(move || engine.synthesize(&text, lang, Volume::DEFAULT))
                .await
                .map_err(|e| ApiError::internal("speech", e))?
                .map_err(|e| self.unavailable(e))?;
        let pcm = Pcm::parse(&wav).filter(|p| !p.is_empty()).ok_or_else(|| {
            self.unavailable(SpeechError::Failed {
                program: "espeak-ng".into(),
                detail: "its output is not a PCM WAV file".into(),
            })
        })?;
        let pcm = Arc::new(pcm);
        self.lock().insert(key, pcm.clone());
        Ok(pcm)
    }

    /// 503 saying what to do; logged the first time only (a board asks at every call).
    fn unavailable(&self, err: SpeechError) -> ApiError {
        if !self.failure_logged.swap(true, Ordering::SeqCst) {
            tracing::warn!(%err, "the display boards cannot say the calls (chime only)");
        } else {
            tracing::debug!(%err, "call not spoken");
        }
        let message = match err {
            SpeechError::Start { .. } => {
                "the hub cannot say the calls: install espeak-ng on the hub (Debian package `espeak-ng`)"
                    .to_string()
            }
            SpeechError::Failed { .. } => format!(
                "the hub cannot say the calls: {err}; check the espeak-ng installation (Debian package `espeak-ng`)"
            ),
        };
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "speech_unavailable",
            message,
        )
    }
}

/// `GET /display/calls/{number}.wav`: today's call of `number`, said in the board's
/// languages. 404 when calls are not spoken or `number` is not among today's latest
/// calls; 503 when espeak-ng is missing or fails.
pub async fn call_wav(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(query): Query<super::display::OfficeQuery>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found("unknown_call", "no such call today");
    if !state.config.display.speak_calls {
        return Err(ApiError::not_found(
            "speech_off",
            "this hub does not say the calls (`display.speak_calls`)",
        ));
    }
    let number = file
        .strip_suffix(".wav")
        .filter(|n| parse_number(n).is_some() || parse_emergency(n).is_some())
        .ok_or_else(unknown)?
        .to_string();
    let day = state
        .office_named(query.office.as_deref())
        .await?
        .day_at(state.now());
    let wanted = number.clone();
    let counter: Option<String> = state
        .db
        .read(move |conn| {
            // The subquery is named: PostgreSQL before 16 refuses one without a name.
            Ok(Sql::from(&*conn)
                .query_opt(
                    "SELECT counter FROM (
                         SELECT number, counter FROM tickets
                         WHERE office_id = ?4 AND day = ?1 AND called_at IS NOT NULL
                           AND counter IS NOT NULL
                         ORDER BY called_at DESC LIMIT ?3) AS recent
                     WHERE number = ?2",
                    args![day.text(), wanted, AUDIBLE_CALLS, day.office],
                )?
                .map(|r| r.get(0))
                .transpose()?)
        })
        .await?;
    let counter = counter.ok_or_else(unknown)?;
    let wav = state.call_audio.call(&number, &counter).await?;
    Ok((
        [(CONTENT_TYPE, "audio/wav"), (CACHE_CONTROL, "no-store")],
        wav,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_is_spelled_and_the_counter_said_as_configured() {
        assert_eq!(
            phrase("N012", "Sportello 3", Lang::IT),
            "Numero N, zero, uno, due, Sportello 3"
        );
        assert_eq!(
            phrase("N012", "Sportello 3", Lang::EN),
            "Number N, zero, one, two, Sportello 3"
        );
        assert_eq!(
            phrase("N-A01", " Sportello 1 ", Lang::IT),
            "Numero N, trattino, A, zero, uno, Sportello 1"
        );
    }

    fn espeak_installed() -> bool {
        std::process::Command::new("espeak-ng")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    #[tokio::test]
    async fn a_phrase_is_rendered_once_then_comes_from_the_cache() {
        assert!(
            espeak_installed(),
            "espeak-ng is missing: run `scripts/setup espeak-ng`"
        );
        let audio = CallAudio::new(Engine::default(), vec![Lang::IT, Lang::EN]);
        let first = audio.call("N012", "Sportello 3").await.unwrap();
        assert_eq!(&first[0..4], b"RIFF");
        assert_eq!(&first[8..12], b"WAVE");
        assert_eq!(audio.syntheses(), 2, "one per language");
        assert_eq!(audio.cached(), 2);
        let again = audio.call("N012", "Sportello 3").await.unwrap();
        assert_eq!(again, first, "the same bytes");
        assert_eq!(audio.syntheses(), 2, "espeak-ng did not run again");
        // Two languages with a pause: longer than the Italian alone.
        let italian = CallAudio::new(Engine::default(), vec![Lang::IT]);
        let alone = italian.call("N012", "Sportello 3").await.unwrap();
        assert!(first.len() > alone.len() + 22_050 * 2 * PAUSE_MS as usize / 1000);
        // The header gives the real sizes.
        let data = u32::from_le_bytes(alone[40..44].try_into().unwrap()) as usize;
        assert_eq!(data + 44, alone.len());
    }

    #[tokio::test]
    async fn without_espeak_the_answer_says_to_install_it() {
        let audio = CallAudio::new(Engine::new("/nonexistent/espeak-ng"), vec![Lang::IT]);
        for _ in 0..2 {
            let err = audio.call("N001", "Sportello 1").await.unwrap_err();
            assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(err.code, "speech_unavailable");
            assert!(err.message.contains("install espeak-ng"), "{}", err.message);
        }
        assert_eq!(audio.cached(), 0, "failures are not kept");
    }

    #[test]
    fn the_cache_forgets_the_least_recently_used() {
        let tiny = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x22\x56\0\0\x44\xac\0\0\x02\0\x10\0data\x02\0\0\0\0\0";
        let pcm = Arc::new(Pcm::parse(tiny).unwrap());
        let mut cache = Cache::default();
        let key = |n: usize| (Lang::IT, format!("phrase {n}"));
        for n in 0..CACHE_ENTRIES {
            cache.insert(key(n), pcm.clone());
        }
        assert!(cache.get(&key(0)).is_some(), "0 is now the most recent");
        cache.insert(key(CACHE_ENTRIES), pcm.clone());
        assert_eq!(cache.entries.len(), CACHE_ENTRIES);
        assert!(
            cache.get(&key(1)).is_none(),
            "1 was the least recently used"
        );
        assert!(cache.get(&key(0)).is_some());
        assert!(cache.get(&key(CACHE_ENTRIES)).is_some());
    }
}
