//! Each page as the voice presents it (see [`crate::kiosk::narration`]): the same words as
//! the screen, from the same translations, with the choices in the screen's reading order.

use super::{IssuedTicket, PrintResult, State, TicketLookup};
use crate::kiosk::narration::{Choice, Command, Role, Screen, Sentence};
use crate::kiosk::session::{Problem, Step};
use crate::kiosk::words::{fill, tr};
use crate::lang::Lang;
use crate::protocol::kiosk_api::TicketStatus;
use crate::speech::spell;
use crate::ui::{HomeRow, HomeRowKind, LoginPhase};

/// What a page needs besides the visit: the home page's rows and the bottom bar.
pub(super) struct Extras<'a> {
    pub rows: &'a [HomeRow],
    pub printer_ready: bool,
    pub idle_warning: Option<i32>,
    /// How many applications "My documents" shows on a page.
    pub applications_per_page: usize,
}

/// The current page of `state` as a [`Screen`].
pub(super) fn screen(state: &State, extras: &Extras<'_>) -> Screen {
    let lang = state.visit.lang();
    let t = |msgid: &'static str| tr(lang, msgid);
    if let Some(seconds) = extras.idle_warning {
        return Screen {
            key: "idle-warning".into(),
            intro: vec![
                Sentence::public(t("Do you need more time?")),
                Sentence::public(fill(
                    &t("For your privacy the screen will be cleared in {} seconds."),
                    &[&seconds.to_string()],
                )),
            ],
            help: Vec::new(),
            choices: vec![
                Choice::button(t("More time"), Command::MoreTime),
                Choice::button(t("I have finished"), Command::StartOver),
            ],
        };
    }
    if state.visit.choosing_language() {
        let mut choices: Vec<Choice> = Lang::all()
            .map(|l| Choice::button(l.native_name(), Command::Language(l)))
            .collect();
        choices.push(Choice::button(t("Back"), Command::Back));
        return Screen {
            key: "language".into(),
            intro: vec![Sentence::public(t("Choose your language"))],
            choices,
            ..Screen::default()
        };
    }
    let step = state.visit.step();
    let mut screen = match step {
        Step::Welcome => welcome(lang, extras.rows, state.visit.home_page()),
        Step::Confirm => confirm(state, lang),
        Step::Identify => keyboard_page(
            "identify".into(),
            vec![
                Sentence::public(t("Codice fiscale (optional)")),
                Sentence::public(t(
                    "Hold your health card under the reader, or type your codice fiscale (16 characters). The counter will then have your file ready. It is used only for this ticket.",
                )),
            ],
            // The keys of a codice fiscale are private: the speaker says only "key".
            Keyboard {
                lang,
                dash: false,
                private: true,
            },
            vec![
                Choice::button(t("Continue"), Command::Submit),
                Choice::button(t("Continue without"), Command::SkipIdentification),
            ],
        ),
        Step::Printing => Screen {
            key: "printing".into(),
            intro: vec![Sentence::public(if state.visit.printing_certificate() {
                t("Please wait: your certificate is being printed.")
            } else {
                t("Please wait: your ticket is being printed.")
            })],
            ..Screen::default()
        },
        Step::Ticket => match &state.ticket {
            Some(ticket) => ticket_page(ticket, lang, extras.printer_ready),
            None => Screen::default(),
        },
        Step::Problem(problem) => problem_page(problem, lang),
        Step::OutOfService => Screen {
            key: "out-of-service".into(),
            intro: vec![Sentence::public(t("Out of service"))],
            ..Screen::default()
        },
        Step::Status => {
            let (key, intro) = match &state.status {
                // A ticket found: its state is the page (a called one fills the screen).
                Some(found) => (
                    format!("status-{}-{}", found.number, found.status.as_str()),
                    status_sentences(found, lang),
                ),
                None => (
                    "status".to_string(),
                    vec![
                        Sentence::public(t("Where is my turn?")),
                        Sentence::public(t(
                            "Scan the QR code on your ticket, or type its number: a letter and three digits, for example N012.",
                        )),
                    ],
                ),
            };
            let keys = Keyboard {
                lang,
                dash: true,
                private: false,
            };
            keyboard_page(
                key,
                intro,
                keys,
                vec![Choice::button(t("Check"), Command::Submit)],
            )
        }
        Step::Appointment => keyboard_page(
            "appointment".into(),
            vec![
                Sentence::public(t("Appointment check-in")),
                Sentence::public(t(
                    "Scan the QR code of your booking, or type the booking code.",
                )),
            ],
            Keyboard {
                lang,
                dash: false,
                private: false,
            },
            vec![Choice::button(t("Check in"), Command::Submit)],
        ),
        Step::DocumentsLogin => {
            let mut intro = vec![
                Sentence::public(t("My documents")),
                Sentence::public(t(
                    "To see your applications and print certificates, sign in on your phone with SPID or CIE: scan this code with the phone's camera.",
                )),
            ];
            // The code beside the QR code, digit by digit: it is not personal data (it
            // only proves the phone's owner stands here), so the speaker may say it.
            let showing = matches!(
                state.docs.phase,
                LoginPhase::Waiting | LoginPhase::SigningIn
            );
            if showing && !state.docs.code.is_empty() {
                intro.push(Sentence::public(t("Code to type on your phone")));
                intro.push(Sentence::public(spell(&state.docs.code, lang)));
            }
            intro.push(Sentence::public(t(
                "No SPID or CIE? Ask at the front desk.",
            )));
            Screen {
                key: "documents-login".into(),
                intro,
                choices: way_out(lang),
                ..Screen::default()
            }
        }
        Step::Documents => documents(state, lang, extras.applications_per_page),
        Step::CertificateDone => Screen {
            key: "certificate-done".into(),
            intro: vec![Sentence::public(t("Take your certificate"))],
            choices: vec![Choice::button(t("Done"), Command::StartOver)],
            ..Screen::default()
        },
    };
    // The welcome screen offers every language; other pages end with the bottom bar's
    // language button.
    if step == Step::Welcome {
        for other in Lang::all() {
            screen.choices.push(Choice::button(
                other.native_name(),
                Command::Language(other),
            ));
        }
    } else {
        screen
            .choices
            .push(Choice::button(lang.native_name(), Command::Languages));
    }
    screen
}

/// "Back" and "Start over", as every page with a keyboard ends.
fn way_out(lang: Lang) -> Vec<Choice> {
    vec![
        Choice::button(tr(lang, "Back"), Command::Back),
        Choice::button(tr(lang, "Start over"), Command::StartOver),
    ]
}

/// An on-screen keyboard as ui/widgets/keyboard.slint draws it.
struct Keyboard {
    lang: Lang,
    /// With the dash key (ticket numbers: N-A01).
    dash: bool,
    /// The code is personal (a codice fiscale): the speaker says only "key".
    private: bool,
}

/// A page with a keyboard: its intro, the keys in reading order, the page's own buttons,
/// then "Back" and "Start over".
fn keyboard_page(
    key: String,
    intro: Vec<Sentence>,
    keys: Keyboard,
    buttons: Vec<Choice>,
) -> Screen {
    let lang = keys.lang;
    let mut choices: Vec<Choice> = "1234567890QWERTYUIOPASDFGHJKLZXCVBNM"
        .chars()
        .map(|c| {
            let mut key = Choice::button(c.to_string(), Command::Key(c.to_string()));
            if keys.private {
                key.public_label = Some(tr(lang, "Key"));
            }
            key
        })
        .collect();
    if keys.dash {
        choices.push(Choice::button(tr(lang, "Dash"), Command::Key("-".into())));
    }
    choices.push(Choice::button(
        tr(lang, "Delete the last character"),
        Command::DeleteKey,
    ));
    choices.extend(buttons);
    choices.extend(way_out(lang));
    Screen {
        key,
        intro,
        help: Vec::new(),
        choices,
    }
}

fn welcome(lang: Lang, rows: &[HomeRow], page: usize) -> Screen {
    let t = |msgid: &'static str| tr(lang, msgid);
    let mut choices = Vec::new();
    for row in rows {
        match row.kind {
            HomeRowKind::Service => {
                let s = &row.service;
                let detail = if !s.open {
                    t("Closed today")
                } else if s.waiting == 0 {
                    t("Nobody waiting")
                } else if s.eta_minutes > 0 {
                    fill(&t("about {} minutes"), &[&s.eta_minutes.to_string()])
                } else {
                    String::new()
                };
                choices.push(Choice {
                    label: s.name.to_string(),
                    detail,
                    role: Role::Button,
                    command: Command::Service(s.code.to_string()),
                    public_label: None,
                });
            }
            HomeRowKind::More => choices.push(Choice::button(
                fill(&t("More services ({})"), &[&row.others.to_string()]),
                Command::MoreServices,
            )),
            HomeRowKind::Heading => {}
        }
    }
    choices.push(Choice::button(t("Appointment"), Command::Appointment));
    choices.push(Choice::button(t("My documents"), Command::Documents));
    choices.push(Choice::button(t("My turn"), Command::MyTurn));
    Screen {
        key: format!("welcome-{page}"),
        intro: vec![
            Sentence::public(t("Take a ticket")),
            Sentence::public(t(
                "Touch the service you need, then print your number. It will appear on the screen in the waiting room when it is your turn.",
            )),
        ],
        help: Vec::new(),
        choices,
    }
}

fn confirm(state: &State, lang: Lang) -> Screen {
    let t = |msgid: &'static str| tr(lang, msgid);
    let Some(service) = state.visit.service() else {
        return Screen::default();
    };
    let mut intro = vec![Sentence::public(format!(
        "{} {}",
        t("Your ticket for"),
        service.name(lang)
    ))];
    let mut choices = Vec::new();
    if service.priority {
        intro.push(Sentence::public(t("Priority: pregnancy, disability or reduced mobility (even temporary), a child under one. Proof may be asked at the counter.")));
        let on = state.visit.priority();
        choices.push(Choice {
            label: t("I have the right to priority"),
            detail: String::new(),
            role: Role::Checkbox(on),
            command: Command::Priority(!on),
            public_label: None,
        });
    }
    if service.identification {
        // The codice fiscale itself is private: the button is named without it.
        match state.visit.identified() {
            Some(cf) => {
                let mut choice = Choice::button(
                    fill(&t("Codice fiscale: {}"), &[&cf.masked().to_string()]),
                    Command::Identify,
                );
                choice.public_label = Some(t("Codice fiscale"));
                choices.push(choice);
            }
            None => choices.push(Choice::button(
                t("Add your codice fiscale (optional)"),
                Command::Identify,
            )),
        }
    }
    choices.push(Choice::button(t("Print my ticket"), Command::PrintTicket));
    choices.push(Choice::button(t("Back"), Command::Back));
    choices.push(Choice::button(t("Start over"), Command::StartOver));
    Screen {
        key: format!("confirm-{}", service.code),
        intro,
        help: Vec::new(),
        choices,
    }
}

/// The ticket, spoken in full (EN 301 549 5.1.3.16): the number spelled, the service, the
/// wait and where to go; Repeat says it again.
fn ticket_page(ticket: &IssuedTicket, lang: Lang, printer_ready: bool) -> Screen {
    let t = |msgid: &'static str| tr(lang, msgid);
    let printed = ticket.print == PrintResult::Printed;
    let mut intro = vec![
        Sentence::public(if printed {
            t("Take your ticket from the slot below the screen.")
        } else {
            t("No paper: this screen is your ticket. Note the number or photograph the QR code.")
        }),
        Sentence::public(fill(
            &t("Your number is {}"),
            &[&spell(&ticket.number, lang)],
        )),
        Sentence::public(ticket.service_name.clone()),
    ];
    if let Some(eta) = ticket.eta_minutes.filter(|m| *m > 0) {
        intro.push(Sentence::public(fill(
            &t("about {} minutes"),
            &[&eta.to_string()],
        )));
    }
    if let Some(area) = &ticket.waiting_area {
        intro.push(Sentence::public(fill(&t("Wait in: {}"), &[area])));
    }
    intro.push(Sentence::public(fill(
        &t("Issued at {}, valid today only. Watch the screen for your call."),
        &[&ticket.issued_at.format("%H:%M").to_string()],
    )));
    let mut choices = Vec::new();
    if !printed && printer_ready {
        choices.push(Choice::button(t("Print my ticket now"), Command::Reprint));
    }
    choices.push(Choice::button(
        if printed {
            t("Done")
        } else {
            t("I have noted my number")
        },
        Command::StartOver,
    ));
    Screen {
        key: format!("ticket-{}-{}", ticket.number, printed),
        intro,
        help: Vec::new(),
        choices,
    }
}

/// "My documents": the citizen's applications in the headset only (a name and an
/// application's state are personal), then the certificates to print as choices.
fn documents(state: &State, lang: Lang, per_page: usize) -> Screen {
    let t = |msgid: &'static str| tr(lang, msgid);
    let docs = &state.docs;
    let (shown, others) = super::page_of(&docs.applications, docs.application_page, per_page);
    let mut intro = vec![
        Sentence::private(fill(&t("Hello, {}"), &[&docs.initials])),
        Sentence::public(t("Your applications")),
    ];
    if docs.applications.is_empty() {
        intro.push(Sentence::public(t("No application found.")));
    }
    for application in shown {
        intro.push(Sentence::private(format!(
            "{}. {}. {}",
            application.title,
            fill(
                &t("{} · {}"),
                &[&application.status_text, &application.last_change]
            ),
            application.next_step
        )));
    }
    intro.push(Sentence::public(t("Printing or Finish signs you out.")));
    let mut choices = Vec::new();
    if others > 0 {
        choices.push(Choice::button(
            fill(&t("More applications ({})"), &[&others.to_string()]),
            Command::MoreApplications,
        ));
    }
    if docs.certificates.is_empty() {
        intro.push(Sentence::public(t("No certificate available.")));
    }
    for certificate in &docs.certificates {
        choices.push(Choice::button(
            fill(&t("Print: {}"), &[&certificate.title]),
            Command::PrintCertificate(certificate.kind.to_string()),
        ));
    }
    choices.push(Choice::button(t("Finish"), Command::StartOver));
    Screen {
        key: format!("documents-{}", docs.application_page),
        intro,
        help: Vec::new(),
        choices,
    }
}

/// A looked-up ticket: its number spelled, then where it is.
fn status_sentences(found: &TicketLookup, lang: Lang) -> Vec<Sentence> {
    let t = |msgid: &'static str| tr(lang, msgid);
    let counter = found.counter.clone().unwrap_or_default();
    let state = match found.status {
        TicketStatus::Called => fill(
            &t("It's your turn: {}, go to {}"),
            &[&spell(&found.number, lang), &counter],
        ),
        TicketStatus::Serving => fill(&t("Being served at {}"), &[&counter]),
        TicketStatus::Done => t("Served"),
        TicketStatus::NoShow => t("Called, but nobody came: ask at the front desk"),
        TicketStatus::Cancelled => t("Cancelled"),
        TicketStatus::Waiting => match found.people_ahead {
            Some(0) => t("You are next"),
            _ => t("Waiting"),
        },
    };
    let mut said = vec![Sentence::public(fill(
        &t("Ticket {}"),
        &[&spell(&found.number, lang)],
    ))];
    said.push(Sentence::public(state));
    if found.status == TicketStatus::Waiting
        && let Some(eta) = found.eta_minutes.filter(|m| *m > 0)
    {
        said.push(Sentence::public(fill(
            &t("about {} minutes"),
            &[&eta.to_string()],
        )));
    }
    said
}

/// What is wrong with the codice fiscale typed so far, as the page's message says it;
/// `None` while nothing is wrong yet. It names the typed characters: headset only.
pub(super) fn cf_message(state: &State, lang: Lang) -> Option<String> {
    use crate::identity::codice_fiscale::{CfError, Expected};
    let t = |msgid: &'static str| tr(lang, msgid);
    if state.visit.cf_valid().is_some() {
        return Some(t("Codice fiscale complete and valid."));
    }
    let hint = state
        .visit
        .cf_error()
        .and_then(CfError::hint)
        .map(|h| h.to_string());
    let with_hint = |text: String| match &hint {
        Some(h) => format!("{text} {}", fill(&t("Did you mean {}?"), &[h])),
        None => text,
    };
    Some(match state.visit.cf_error()? {
        CfError::WrongCharacter {
            position,
            found,
            expected,
        } => {
            let (p, f) = (position.to_string(), found.to_string());
            match expected {
                Expected::Digit => {
                    with_hint(fill(&t("Character {} ({}) should be a digit."), &[&p, &f]))
                }
                Expected::Letter => {
                    with_hint(fill(&t("Character {} ({}) should be a letter."), &[&p, &f]))
                }
                Expected::MonthLetter => fill(
                    &t("Character {} ({}) should be a month letter: A B C D E H L M P R S T."),
                    &[&p, &f],
                ),
            }
        }
        CfError::NotAlphanumeric { position, found } => with_hint(fill(
            &t("Character {} ({}) should be a letter."),
            &[&position.to_string(), &found.to_string()],
        )),
        CfError::InvalidDay { .. } => t("Characters 10 and 11 are not a valid day of birth."),
        CfError::CheckLetter => {
            t("The last letter does not match the others: check every character.")
        }
        CfError::Empty | CfError::TooShort { .. } | CfError::TooLong { .. } => return None,
    })
}

fn problem_page(problem: Problem, lang: Lang) -> Screen {
    let t = |msgid: &'static str| tr(lang, msgid);
    let (title, text, action, command) = match problem {
        Problem::HubUnreachable => (
            "We cannot look up your ticket right now",
            "The office system does not answer. Your ticket is still valid: watch the screen in the waiting room.",
            "Try again",
            Command::MyTurn,
        ),
        Problem::ServiceClosed => (
            "This service is closed today",
            "It takes no more tickets today. Choose another service, or ask at the front desk.",
            "Choose another service",
            Command::Home,
        ),
        Problem::TicketNotFound => (
            "We did not find this ticket",
            "Check the number on your ticket. Tickets are valid on the day they are issued.",
            "Type the number again",
            Command::MyTurn,
        ),
        Problem::AppointmentNotFound => (
            "We did not find this booking",
            "Check the code in your booking. Bookings are valid only on their day.",
            "Type the code again",
            Command::Appointment,
        ),
        Problem::Failed => (
            "We could not give you a ticket",
            "Nothing was printed. Please try again; if it happens again, ask at the front desk.",
            "Try again",
            Command::Home,
        ),
    };
    Screen {
        key: format!("problem-{problem:?}"),
        intro: vec![Sentence::public(t(title)), Sentence::public(t(text))],
        help: Vec::new(),
        choices: vec![
            Choice::button(t(action), command),
            Choice::button(t("Start over"), Command::StartOver),
        ],
    }
}
