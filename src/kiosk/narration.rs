//! The non-visual mode: what the kiosk says, and the focus the keypad moves.
//!
//! The controller describes each page as a [`Screen`]: sentences to say on arrival, the
//! page's help, and its operable [`Choice`]s in reading order, labelled with the same
//! words as the screen. The [`Narrator`] speaks them while speech mode is on: a new page
//! cuts off whatever was being said and announces itself; a new focus cuts off and says
//! the choice with its role, state and position; Help, Repeat and the volume keys do what
//! they say. Private sentences go to the headset only ([`crate::speech::route`]). The
//! focus works without speech too, as a visible frame, for citizens who use the keypad
//! because they cannot reach or touch the screen. Speech mode and volume end with the visit.

use std::sync::Arc;

use super::words::{fill, tr};
use crate::lang::Lang;
use crate::speech::{Speech, Utterance, Volume, route};

/// What confirming a choice does: the same as touching it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A service tile on the home page.
    Service(String),
    /// Back to the home page, keeping the language ("Choose another service").
    Home,
    /// "More services (N)".
    MoreServices,
    /// "Appointment".
    Appointment,
    /// "My documents".
    Documents,
    /// "My turn".
    MyTurn,
    /// A language in the bottom bar.
    Language(Lang),
    /// Open the language page.
    Languages,
    /// The priority checkbox, set to this value.
    Priority(bool),
    /// "Add your codice fiscale (optional)".
    Identify,
    /// "Continue without" (identification skipped).
    SkipIdentification,
    /// "Print my ticket".
    PrintTicket,
    /// "More applications (N)" in "My documents".
    MoreApplications,
    /// "Print: …" a certificate of this kind.
    PrintCertificate(String),
    /// "Print my ticket now" (a screen-only ticket, paper back).
    Reprint,
    /// "Back".
    Back,
    /// "Start over", "Done", "I have noted my number", "Finish", "I have finished".
    StartOver,
    /// "More time" on the idle warning.
    MoreTime,
    /// A key of the on-screen keyboard (a character of a code).
    Key(String),
    /// "Delete the last character".
    DeleteKey,
    /// The page's confirm button under a keyboard: "Continue", "Check", "Check in".
    Submit,
}

/// How a choice behaves, said after its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Does something when confirmed.
    Button,
    /// Toggles; its state is said.
    Checkbox(bool),
}

/// One operable element of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The element's label, as on screen (and its accessible label).
    pub label: String,
    /// More to say after the label (a service's wait), or empty.
    pub detail: String,
    /// Its role.
    pub role: Role,
    /// What confirming it does.
    pub command: Command,
    /// When the label carries personal data (a masked codice fiscale): what the speaker
    /// may say instead; the full label is said in the headset only.
    pub public_label: Option<String>,
}

impl Choice {
    /// A button labelled `label`.
    pub fn button(label: impl Into<String>, command: Command) -> Choice {
        Choice {
            label: label.into(),
            detail: String::new(),
            role: Role::Button,
            command,
            public_label: None,
        }
    }
}

/// A sentence, and whether it carries personal data (headset only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// What to say.
    pub text: String,
    /// A codice fiscale, a name, an application's state: never on the speaker.
    pub private: bool,
    /// Said in this language's voice instead of the visit's: a language's own name.
    pub lang: Option<Lang>,
}

impl Sentence {
    /// A sentence anyone nearby may hear.
    pub fn public(text: impl Into<String>) -> Sentence {
        Sentence {
            text: text.into(),
            private: false,
            lang: None,
        }
    }

    /// A sentence for the headset only.
    pub fn private(text: impl Into<String>) -> Sentence {
        Sentence {
            text: text.into(),
            private: true,
            lang: None,
        }
    }
}

/// A page as the voice presents it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Screen {
    /// Identifies the page and what it is about: a new key is a new page to announce.
    pub key: String,
    /// Said on arrival: the title, what the page says, then how many choices.
    pub intro: Vec<Sentence>,
    /// Said on Help, after the intro.
    pub help: Vec<Sentence>,
    /// The operable elements in reading order.
    pub choices: Vec<Choice>,
}

/// Speech mode, the focus and the volume of one visit.
pub struct Narrator {
    speech: Arc<dyn Speech>,
    lang: Lang,
    on: bool,
    headset: bool,
    volume: Volume,
    screen: Screen,
    focus: Option<usize>,
    last: Vec<Sentence>,
}

impl Narrator {
    /// Silent, with nothing on show yet.
    pub fn new(speech: Arc<dyn Speech>) -> Narrator {
        Narrator {
            speech,
            lang: Lang::default(),
            on: false,
            headset: false,
            volume: Volume::DEFAULT,
            screen: Screen::default(),
            focus: None,
            last: Vec::new(),
        }
    }

    /// Whether speech mode is on.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The current volume step.
    pub fn volume(&self) -> Volume {
        self.volume
    }

    /// The focused choice, if any.
    pub fn focused(&self) -> Option<&Choice> {
        self.focus.and_then(|i| self.screen.choices.get(i))
    }

    /// Starts speech mode (a held centre key, a plugged headset) and presents the page.
    pub fn start(&mut self) {
        if self.on {
            return;
        }
        self.on = true;
        tracing::info!(headset = self.headset, "speech mode on");
        self.speech.stop();
        self.speech.set_volume(self.volume);
        let mut said = vec![Sentence::public(tr(
            self.lang,
            "Voice guide on. Arrows move, the centre key confirms, F1 explains the page.",
        ))];
        said.extend(self.arrival());
        self.say(said);
    }

    /// The headset jack changed: plugging one in starts speech mode.
    pub fn set_headset(&mut self, plugged: bool) {
        if plugged == self.headset {
            return;
        }
        self.headset = plugged;
        if plugged && self.on {
            // Already speaking on the speaker: the page again, now in the headset.
            let said = self.arrival();
            self.say(said);
        } else if plugged {
            self.start();
        }
    }

    /// The visit ended: silence, speech mode off, the volume back to its default.
    pub fn end_visit(&mut self) {
        self.speech.stop();
        self.volume = Volume::DEFAULT;
        self.speech.set_volume(self.volume);
        self.on = false;
        self.focus = None;
        self.last.clear();
        self.screen = Screen::default();
    }

    /// Shows `screen`: a new page is announced (cutting off what was said); the same page
    /// keeps its focus on the same choice and says only a changed state of it.
    pub fn show(&mut self, screen: Screen, lang: Lang) {
        let new_page = screen.key != self.screen.key || lang != self.lang;
        self.lang = lang;
        let before = self.focused().cloned();
        self.screen = screen;
        if new_page {
            self.focus = None;
            if self.on {
                let said = self.arrival();
                self.say(said);
            }
            return;
        }
        // Keep the focus on the same element (its state may have changed).
        self.focus = before.as_ref().and_then(|b| {
            self.screen
                .choices
                .iter()
                .position(|c| c.label == b.label || c.command == b.command)
        });
        if let (Some(before), Some(now)) = (before, self.focused().cloned())
            && before.role != now.role
            && self.on
        {
            let said = vec![Sentence::public(self.describe_role(&now))];
            self.say(said);
        }
    }

    /// Moves the focus to the next choice (round, no trap) and says it.
    pub fn next(&mut self) {
        let n = self.screen.choices.len();
        if n > 0 {
            self.focus = Some(self.focus.map_or(0, |i| (i + 1) % n));
        }
        self.say_focus();
    }

    /// Moves the focus to the previous choice (round) and says it.
    pub fn previous(&mut self) {
        let n = self.screen.choices.len();
        if n > 0 {
            self.focus = Some(self.focus.map_or(n - 1, |i| (i + n - 1) % n));
        }
        self.say_focus();
    }

    /// Touch to hear: in speech mode a touch on an element not focused focuses and says
    /// it, and returns false; a touch on the focused element (or any touch without
    /// speech) returns true: do it.
    pub fn touched(&mut self, command: &Command) -> bool {
        if !self.on || self.focused().is_some_and(|c| &c.command == command) {
            return true;
        }
        match self
            .screen
            .choices
            .iter()
            .position(|c| &c.command == command)
        {
            Some(i) => {
                self.focus = Some(i);
                self.say_focus();
                false
            }
            None => true,
        }
    }

    /// The focused choice's command, to carry out.
    pub fn activate(&self) -> Option<Command> {
        self.focused().map(|c| c.command.clone())
    }

    /// Says the page's intro and help again.
    pub fn help(&mut self) {
        let mut said = self.screen.intro.clone();
        said.extend(self.screen.help.iter().cloned());
        said.push(Sentence::public(tr(
            self.lang,
            "Arrows move, the centre key confirms, Back goes back, F2 repeats, F3 and F4 change the volume.",
        )));
        self.say(said);
    }

    /// Says the last sentences again.
    pub fn repeat(&mut self) {
        let again = self.last.clone();
        self.say(again);
    }

    /// One step louder (or quieter) and says the step, so it can be heard.
    pub fn change_volume(&mut self, louder: bool) {
        self.volume = if louder {
            self.volume.up()
        } else {
            self.volume.down()
        };
        self.speech.set_volume(self.volume);
        let text = fill(
            &tr(self.lang, "Volume {} of {}"),
            &[
                &self.volume.step().to_string(),
                &Volume::MAX.step().to_string(),
            ],
        );
        self.say(vec![Sentence::public(text)]);
    }

    /// Says a character just typed: in the headset when it belongs to private data (a
    /// codice fiscale), and then on the speaker only that a character was entered
    /// (EN 301 549 5.1.3.8, masked entry).
    pub fn echo(&mut self, typed: String, private: bool) {
        let sentence = if private && !self.headset {
            Sentence::public(tr(self.lang, "Character entered"))
        } else {
            Sentence {
                text: typed,
                private,
                lang: None,
            }
        };
        self.say(vec![sentence]);
    }

    /// Says how many seconds the idle warning has left (cutting off what was said).
    pub fn announce_countdown(&mut self, seconds: u32) {
        let text = fill(&tr(self.lang, "{} seconds left"), &[&seconds.to_string()]);
        self.say(vec![Sentence::public(text)]);
    }

    fn arrival(&self) -> Vec<Sentence> {
        let mut said = self.screen.intro.clone();
        let n = self.screen.choices.len();
        if n > 0 {
            let count = if n == 1 {
                tr(self.lang, "One choice: press the down arrow to hear it.")
            } else {
                fill(
                    &tr(self.lang, "{} choices: press the down arrow to hear them."),
                    &[&n.to_string()],
                )
            };
            said.push(Sentence::public(count));
        }
        said
    }

    fn say_focus(&mut self) {
        let Some(mut choice) = self.focused().cloned() else {
            return;
        };
        // A label with personal data: in full in the headset, its public form on the speaker.
        let private = choice.public_label.is_some() && self.headset;
        if let Some(public) = choice.public_label.take().filter(|_| !self.headset) {
            choice.label = public;
        }
        let mut parts = vec![self.describe_role(&choice)];
        if !choice.detail.is_empty() {
            parts.push(choice.detail.clone());
        }
        let (i, n) = (self.focus.unwrap_or(0) + 1, self.screen.choices.len());
        parts.push(fill(
            &tr(self.lang, "{} of {}"),
            &[&i.to_string(), &n.to_string()],
        ));
        // A language's name is said by its own voice ("Українська" in Ukrainian), the
        // rest in the visit's.
        let mut sentences = Vec::new();
        if let Command::Language(own) = choice.command
            && own != self.lang
        {
            sentences.push(Sentence {
                text: choice.label.clone(),
                private: false,
                lang: Some(own),
            });
            let unnamed = Choice {
                label: String::new(),
                ..choice.clone()
            };
            // "{}, button" without its name: "button".
            parts[0] = self
                .describe_role(&unnamed)
                .trim_start_matches([',', ' '])
                .to_string();
        }
        let text = parts.join(". ");
        sentences.push(Sentence {
            text,
            private,
            lang: None,
        });
        self.say(sentences);
    }

    fn describe_role(&self, choice: &Choice) -> String {
        let template = match choice.role {
            Role::Button => tr(self.lang, "{}, button"),
            Role::Checkbox(true) => tr(self.lang, "{}, checkbox, checked"),
            Role::Checkbox(false) => tr(self.lang, "{}, checkbox, not checked"),
        };
        fill(&template, &[&choice.label])
    }

    /// Interrupts and says `sentences`, remembering them for Repeat; does nothing while
    /// speech mode is off.
    fn say(&mut self, sentences: Vec<Sentence>) {
        if !self.on {
            return;
        }
        self.speech.stop();
        for sentence in &sentences {
            if let Some(output) = route(sentence.private, self.headset) {
                self.speech.say(Utterance {
                    text: sentence.text.clone(),
                    lang: sentence.lang.unwrap_or(self.lang),
                    output,
                });
            }
        }
        self.last = sentences;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::Output;
    use crate::speech::recording::{Event, RecordingSpeech};

    fn page(private_intro: bool) -> Screen {
        Screen {
            key: "page".into(),
            intro: vec![if private_intro {
                Sentence::private("Hello, G.V.")
            } else {
                Sentence::public("Take a ticket")
            }],
            help: Vec::new(),
            choices: vec![
                Choice::button("One", Command::Back),
                Choice::button("Two", Command::StartOver),
            ],
        }
    }

    #[test]
    fn silent_until_started_then_the_page_its_choices_and_a_round_focus() {
        let speech = RecordingSpeech::new();
        let mut narrator = Narrator::new(Arc::new(speech.clone()));
        narrator.show(page(false), Lang::EN);
        narrator.next();
        assert!(speech.said().is_empty(), "speech mode is off");
        assert_eq!(narrator.focused().map(|c| c.label.as_str()), Some("One"));
        narrator.start();
        let said: Vec<String> = speech.said().into_iter().map(|u| u.text).collect();
        assert_eq!(
            said[1..],
            [
                "Take a ticket",
                "2 choices: press the down arrow to hear them."
            ]
        );
        narrator.next();
        narrator.next();
        assert_eq!(
            speech.said().last().unwrap().text,
            "One, button. 1 of 2",
            "round, no trap"
        );
        narrator.previous();
        assert_eq!(speech.said().last().unwrap().text, "Two, button. 2 of 2");
        narrator.announce_countdown(20);
        assert_eq!(speech.said().last().unwrap().text, "20 seconds left");
    }

    /// On the language page a blind Ukrainian hears "Українська" in the Ukrainian voice;
    /// "button, 2 of 2" stays in the visit's language.
    #[test]
    fn a_language_is_named_by_its_own_voice() {
        let speech = RecordingSpeech::new();
        let mut narrator = Narrator::new(Arc::new(speech.clone()));
        let other = Lang::all().find(|l| *l != Lang::IT).unwrap_or(Lang::EN);
        let screen = Screen {
            key: "language".into(),
            intro: vec![Sentence::public("Scegli la lingua")],
            choices: vec![
                Choice::button(Lang::IT.native_name(), Command::Language(Lang::IT)),
                Choice::button(other.native_name(), Command::Language(other)),
            ],
            ..Screen::default()
        };
        narrator.show(screen, Lang::IT);
        narrator.start();
        narrator.next();
        let own = speech.said().last().cloned().unwrap();
        assert_eq!(
            (own.text.as_str(), own.lang),
            ("Italiano, pulsante. 1 di 2", Lang::IT)
        );
        narrator.next();
        let said = speech.said();
        let (name, rest) = (&said[said.len() - 2], &said[said.len() - 1]);
        assert_eq!(
            (name.text.as_str(), name.lang),
            (other.native_name(), other)
        );
        assert_eq!(rest.lang, Lang::IT);
        assert!(rest.text.starts_with("pulsante"), "{}", rest.text);
        assert!(!rest.text.contains(other.native_name()), "{}", rest.text);
        assert!(rest.text.ends_with("2 di 2"), "{}", rest.text);
    }

    #[test]
    fn private_sentences_never_reach_the_speaker_and_the_visit_resets_everything() {
        let speech = RecordingSpeech::new();
        let mut narrator = Narrator::new(Arc::new(speech.clone()));
        narrator.show(page(true), Lang::EN);
        narrator.start();
        assert!(
            speech.said().iter().all(|u| u.text != "Hello, G.V."),
            "no headset"
        );
        narrator.set_headset(true);
        let last = speech
            .said()
            .into_iter()
            .find(|u| u.text == "Hello, G.V.")
            .unwrap();
        assert_eq!(last.output, Output::Headset);
        narrator.change_volume(true);
        assert_eq!(narrator.volume(), Volume::DEFAULT.up());
        speech.clear();
        narrator.end_visit();
        assert_eq!(
            speech.events(),
            [Event::Stopped, Event::Volume(Volume::DEFAULT)]
        );
        assert!(!narrator.is_on() && narrator.focused().is_none());
    }
}
