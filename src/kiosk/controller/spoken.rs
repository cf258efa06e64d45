//! Each page as the voice presents it (see [`crate::kiosk::narration`]): the same words as
//! the screen, from the same translations, with the choices in the screen's reading order.

use super::{IssuedTicket, PrintResult, State};
use crate::kiosk::narration::{Choice, Command, Role, Screen, Sentence};
use crate::kiosk::session::{Problem, Step};
use crate::kiosk::words::{fill, tr};
use crate::lang::Lang;
use crate::speech::spell;
use crate::ui::{HomeRow, HomeRowKind};

/// What a page needs besides the visit: the home page's rows and the bottom bar.
pub(super) struct Extras<'a> {
    pub rows: &'a [HomeRow],
    pub printer_ready: bool,
    pub idle_warning: Option<i32>,
}

/// The current page of `state` as a [`Screen`].
pub(super) fn screen(state: &State, extras: &Extras<'_>) -> Screen {
    let lang = state.visit.lang();
    let t = |msgid: &str| tr(lang, msgid);
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
    let step = state.visit.step();
    let mut screen = match step {
        Step::Welcome => welcome(lang, extras.rows, state.visit.home_page()),
        Step::Confirm => confirm(state, lang),
        Step::Identify => {
            // The keys of a codice fiscale are private: the speaker says only "key".
            let mut choices = keyboard(lang, false, true);
            choices.push(Choice::button(t("Continue"), Command::Submit));
            choices.push(Choice::button(
                t("Continue without"),
                Command::SkipIdentification,
            ));
            choices.extend(way_out(lang));
            Screen {
                key: "identify".into(),
                intro: vec![
                    Sentence::public(t("Codice fiscale (optional)")),
                    Sentence::public(t(
                        "Hold your health card under the reader, or type your codice fiscale (16 characters). The counter will then have your file ready. It is used only for this ticket.",
                    )),
                ],
                choices,
                ..Screen::default()
            }
        }
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
        // Pages that need typing, the phone or private data: the title and the way out.
        Step::Status => {
            let mut choices = keyboard(lang, true, false);
            choices.push(Choice::button(t("Check"), Command::Submit));
            choices.extend(way_out(lang));
            Screen {
                key: "status".into(),
                intro: vec![
                    Sentence::public(t("Where is my turn?")),
                    Sentence::public(t(
                        "Scan the QR code on your ticket, or type its number: a letter and three digits, for example N012.",
                    )),
                ],
                choices,
                ..Screen::default()
            }
        }
        Step::Appointment => {
            let mut choices = keyboard(lang, false, false);
            choices.push(Choice::button(t("Check in"), Command::Submit));
            choices.extend(way_out(lang));
            Screen {
                key: "appointment".into(),
                intro: vec![
                    Sentence::public(t("Appointment check-in")),
                    Sentence::public(t(
                        "Scan the QR code of your booking, or type the booking code.",
                    )),
                ],
                choices,
                ..Screen::default()
            }
        }
        Step::DocumentsLogin => titled("documents-login", t("My documents"), lang),
        Step::Documents => Screen {
            key: "documents".into(),
            intro: vec![Sentence::private(fill(
                &t("Hello, {}"),
                &[&state.docs.initials],
            ))],
            choices: vec![Choice::button(t("Finish"), Command::StartOver)],
            ..Screen::default()
        },
        Step::CertificateDone => Screen {
            key: "certificate-done".into(),
            intro: vec![Sentence::public(t("Take your certificate"))],
            choices: vec![Choice::button(t("Done"), Command::StartOver)],
            ..Screen::default()
        },
    };
    // Every page ends with the languages, as the bottom bar does.
    for lang in Lang::ALL {
        screen
            .choices
            .push(Choice::button(lang.native_name(), Command::Language(lang)));
    }
    screen
}

fn titled(key: &str, title: String, lang: Lang) -> Screen {
    Screen {
        key: key.into(),
        intro: vec![Sentence::public(title)],
        choices: way_out(lang),
        ..Screen::default()
    }
}

/// "Back" and "Start over", as every page with a keyboard ends.
fn way_out(lang: Lang) -> Vec<Choice> {
    vec![
        Choice::button(tr(lang, "Back"), Command::Back),
        Choice::button(tr(lang, "Start over"), Command::StartOver),
    ]
}

/// The on-screen keyboard's keys in its reading order (ui/widgets/keyboard.slint).
fn keyboard(lang: Lang, dash: bool, private: bool) -> Vec<Choice> {
    let mut keys: Vec<Choice> = "1234567890QWERTYUIOPASDFGHJKLZXCVBNM"
        .chars()
        .map(|c| {
            let mut key = Choice::button(c.to_string(), Command::Key(c.to_string()));
            if private {
                key.public_label = Some(tr(lang, "Key"));
            }
            key
        })
        .collect();
    if dash {
        keys.push(Choice::button(tr(lang, "Dash"), Command::Key("-".into())));
    }
    keys.push(Choice::button(
        tr(lang, "Delete the last character"),
        Command::DeleteKey,
    ));
    keys
}

fn welcome(lang: Lang, rows: &[HomeRow], page: usize) -> Screen {
    let t = |msgid: &str| tr(lang, msgid);
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
    let t = |msgid: &str| tr(lang, msgid);
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
    let t = |msgid: &str| tr(lang, msgid);
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

fn problem_page(problem: Problem, lang: Lang) -> Screen {
    let t = |msgid: &str| tr(lang, msgid);
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
