//! The real speech engine: espeak-ng renders a sentence in each shipped language, and sox
//! measures the WAV: not silent, and about as long as the sentence takes to say.
//! (scripts/test installs espeak-ng and sox.)

use std::process::Command;

use sportello::lang::Lang;
use sportello::speech::espeak::Engine;
use sportello::speech::{Volume, spell};

/// sox's `stat` figures of a WAV file: (length in seconds, RMS amplitude).
fn measure(wav: &[u8]) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("said.wav");
    std::fs::write(&path, wav).unwrap();
    let out = Command::new("sox")
        .arg(&path)
        .args(["-n", "stat"])
        .output()
        .expect("sox runs (scripts/test installs it)");
    // `stat` reports on standard error, one "Name:   value" per line.
    let report = String::from_utf8_lossy(&out.stderr).to_string();
    let figure = |name: &str| -> f64 {
        report
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(':').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in sox's report:\n{report}"))
    };
    (figure("Length (seconds)"), figure("RMS     amplitude"))
}

#[test]
fn a_spoken_call_is_real_audio_of_a_plausible_length() {
    let engine = Engine::default();
    for (lang, sentence) in [
        (
            Lang::IT,
            format!("Numero {}, sportello tre", spell("N012", Lang::IT)),
        ),
        (
            Lang::EN,
            format!("Number {}, counter three", spell("N012", Lang::EN)),
        ),
    ] {
        let wav = engine
            .synthesize(&sentence, lang, Volume::DEFAULT)
            .unwrap_or_else(|e| panic!("{lang}: {e}"));
        assert_eq!(&wav[..4], b"RIFF", "a WAV file");
        let (seconds, rms) = measure(&wav);
        // Seven or eight words said slowly: two to six seconds.
        assert!(
            (2.0..6.0).contains(&seconds),
            "{lang}: {seconds} s for {sentence:?}"
        );
        assert!(rms > 0.02, "{lang}: RMS {rms}: silent?");
    }
}

#[test]
fn louder_steps_are_louder_and_the_text_cannot_be_an_option() {
    let engine = Engine::default();
    let quiet = engine.synthesize("Volume", Lang::IT, Volume::MIN).unwrap();
    let loud = engine.synthesize("Volume", Lang::IT, Volume::MAX).unwrap();
    let (_, quiet_rms) = measure(&quiet);
    let (_, loud_rms) = measure(&loud);
    assert!(loud_rms > quiet_rms * 3.0, "{quiet_rms} -> {loud_rms}");
    // Text starting with a dash goes through standard input, never as an option.
    let dash = engine
        .synthesize("--version", Lang::EN, Volume::DEFAULT)
        .unwrap();
    assert!(measure(&dash).0 > 0.3);
}

#[test]
fn a_missing_engine_says_what_to_install() {
    let err = Engine::new("espeak-ng-not-installed")
        .synthesize("x", Lang::IT, Volume::DEFAULT)
        .unwrap_err();
    assert!(err.to_string().contains("espeak-ng package"), "{err}");
}

/// Every shipped language's voice (its folder's `voice`) says that language's sentence:
/// real audio, not espeak-ng's English fallback for an unknown voice nor silence.
#[test]
fn every_shipped_language_has_a_voice_that_speaks() {
    let engine = Engine::default();
    for lang in Lang::all() {
        let voice = lang
            .voice()
            .unwrap_or_else(|| panic!("{lang}: no espeak-ng voice in its language.toml"));
        let listed = Command::new("espeak-ng")
            .args(["--voices"])
            .output()
            .expect("espeak-ng runs (scripts/test installs it)");
        let listing = String::from_utf8_lossy(&listed.stdout).to_string();
        assert!(
            listing
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(voice)),
            "{lang}: espeak-ng has no voice {voice:?}"
        );
        let sentence = sportello::lang::fill(
            sportello::lang::tr(lang, "Your number is {}"),
            &[&spell("N012", lang)],
        );
        let wav = engine
            .synthesize(&sentence, lang, Volume::DEFAULT)
            .unwrap_or_else(|e| panic!("{lang}: {e}"));
        let (seconds, rms) = measure(&wav);
        assert!(
            (1.0..8.0).contains(&seconds),
            "{lang}: {seconds} s for {sentence:?}"
        );
        assert!(rms > 0.02, "{lang}: RMS {rms}: silent?");
    }
}
