//! One citizen's visit, from the first touch to the ticket in hand.
//!
//! Pure logic: which step is shown, what was chosen and typed, what to ask the core to
//! do next. No UI, no I/O, no clock, so every flow can be tested in microseconds and
//! the UI controller stays a thin translator. A visit is dropped whole when it ends or
//! times out: nothing personal survives it.

use uuid::Uuid;

use crate::catalogue::Service;
use crate::identity::codice_fiscale::{self, check_partial};
use crate::identity::{CfError, CodiceFiscale, parse_health_card_scan};
use crate::lang::Lang;
use crate::protocol::numbers::read_typed_number;

/// Longest ticket number or booking code a citizen can type.
pub const MAX_CODE_LEN: usize = 12;

/// The screen the visit is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Home: the services of both agencies (touch one for a ticket), then check-in,
    /// "my documents" and "where is my turn?".
    Welcome,
    /// The chosen service, the priority choice, optional identification and the print
    /// button: the second and last touch of a walk-in ticket.
    Confirm,
    /// Optional identification by typed codice fiscale, opened from the confirmation
    /// (a health card scan identifies on any ticket screen without it).
    Identify,
    /// Waiting for number and printer.
    Printing,
    /// The ticket on screen.
    Ticket,
    /// "Where is my turn?"
    Status,
    /// Appointment check-in.
    Appointment,
    /// "My documents": the QR code to sign in on the phone.
    DocumentsLogin,
    /// Signed in: applications and certificates to print.
    Documents,
    /// A certificate went to the printer (or could not); the session is over.
    CertificateDone,
    /// Something the citizen must be told, with a way back.
    Problem(Problem),
    /// The kiosk was disabled by the office or cannot work at all.
    OutOfService,
}

/// Problems shown on their own screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The hub cannot be reached for something that needs it (status, check-in).
    HubUnreachable,
    /// The chosen service takes no more tickets today.
    ServiceClosed,
    /// No ticket with that number today.
    TicketNotFound,
    /// No booking with that code today.
    AppointmentNotFound,
    /// Anything else; the detail line says more.
    Failed,
}

/// What the core should do after an input, if anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing beyond showing the new state.
    None,
    /// Issue (number, print, record) this ticket.
    IssueTicket(TicketRequest),
    /// Look up a ticket by display number (`N012`) or by tracking id.
    LookupTicket(String),
    /// Start a sign-in for "my documents" (a new one on every call).
    StartLogin,
    /// Issue and print the certificate of this kind; `op` identifies the attempt.
    PrintCertificate {
        /// Certificate kind offered by the hub.
        kind: String,
        /// This attempt, to match its result.
        op: Uuid,
    },
    /// Check in for the booking with this code.
    CheckIn {
        /// The booking code.
        code: String,
        /// The idempotency key for this check-in.
        op_id: Uuid,
    },
}

/// Everything the core needs to issue a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRequest {
    /// Idempotency key, fixed the moment the citizen confirms.
    pub op_id: Uuid,
    /// Service code from the catalogue.
    pub service: String,
    /// Whether the citizen declared priority.
    pub priority: bool,
    /// The citizen's language, for the printed ticket.
    pub lang: Lang,
    /// The identified codice fiscale, if the citizen chose to identify.
    pub codice_fiscale: Option<CodiceFiscale>,
    /// The code was read from the health card, not typed: only then may the hub match it
    /// against today's bookings (anyone can type someone else's code).
    pub codice_fiscale_from_card: bool,
}

/// A visit in progress.
#[derive(Debug, Clone)]
pub struct Visit {
    lang: Lang,
    step: Step,
    history: Vec<Step>,
    home_page: usize,
    service: Option<Service>,
    cf_text: String,
    cf_error: Option<CfError>,
    identified: Option<CodiceFiscale>,
    /// `identified` came from a health-card scan.
    identified_by_card: bool,
    priority: bool,
    in_flight: Option<Uuid>,
    status_text: String,
    appointment_text: String,
    /// The language page is open over the current step.
    choosing_language: bool,
}

impl Visit {
    /// A fresh visit on the welcome screen, in the kiosk's default language.
    pub fn new(lang: Lang) -> Visit {
        Visit {
            lang,
            step: Step::Welcome,
            history: Vec::new(),
            home_page: 0,
            service: None,
            cf_text: String::new(),
            cf_error: None,
            identified: None,
            identified_by_card: false,
            priority: false,
            in_flight: None,
            status_text: String::new(),
            appointment_text: String::new(),
            choosing_language: false,
        }
    }

    /// A visit that shows only the out-of-service screen.
    pub fn out_of_service(lang: Lang) -> Visit {
        let mut visit = Visit::new(lang);
        visit.step = Step::OutOfService;
        visit
    }

    /// True when nothing has happened yet: welcome screen, default language. Such a
    /// visit has nothing to wipe and needs no idle timer.
    pub fn is_pristine(&self, default_lang: Lang) -> bool {
        self.step == Step::Welcome
            && self.lang == default_lang
            && self.history.is_empty()
            && self.home_page == 0
            && self.identified.is_none()
    }

    /// The current screen.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The language chosen for this visit.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Which page of the home screen's services is shown (0 is the first); the
    /// controller wraps it around the number of pages.
    pub fn home_page(&self) -> usize {
        self.home_page
    }

    /// "More services": the next page of the home screen's services.
    pub fn more_services(&mut self) {
        if self.step == Step::Welcome {
            self.home_page += 1;
        }
    }

    /// The chosen service, once chosen.
    pub fn service(&self) -> Option<&Service> {
        self.service.as_ref()
    }

    /// What has been typed for the codice fiscale.
    pub fn cf_text(&self) -> &str {
        &self.cf_text
    }

    /// What is wrong with the typed codice fiscale so far, if anything.
    pub fn cf_error(&self) -> Option<&CfError> {
        self.cf_error.as_ref()
    }

    /// The typed code when complete and valid.
    pub fn cf_valid(&self) -> Option<CodiceFiscale> {
        if self.cf_text.len() == codice_fiscale::LEN && self.cf_error.is_none() {
            self.cf_text.parse().ok()
        } else {
            None
        }
    }

    /// The codice fiscale the citizen confirmed or scanned.
    pub fn identified(&self) -> Option<CodiceFiscale> {
        self.identified
    }

    /// Whether the citizen declared priority.
    pub fn priority(&self) -> bool {
        self.priority
    }

    /// True while a ticket or check-in is being processed: the buttons that start one
    /// do nothing, so repeated taps never issue two tickets.
    pub fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The ticket number or code typed on the status screen.
    pub fn status_text(&self) -> &str {
        &self.status_text
    }

    /// The booking code typed on the check-in screen.
    pub fn appointment_text(&self) -> &str {
        &self.appointment_text
    }

    /// Switches language; allowed on every screen, keeps everything else.
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
        self.choosing_language = false;
    }

    /// Opens the language page over the current step (the bottom bar's language button).
    pub fn open_languages(&mut self) {
        self.choosing_language = true;
    }

    /// True while the language page is open; `back` or a language closes it.
    pub fn choosing_language(&self) -> bool {
        self.choosing_language
    }

    fn go(&mut self, step: Step) {
        self.choosing_language = false;
        if self.step != step {
            self.history.push(self.step);
            self.step = step;
        }
    }

    /// Goes back one screen. Not from printing, the ticket or a signed-in session, which
    /// are not undone (a session ends with "finish").
    pub fn back(&mut self) {
        if self.choosing_language {
            self.choosing_language = false;
            return;
        }
        if matches!(
            self.step,
            Step::Printing
                | Step::Ticket
                | Step::OutOfService
                | Step::Documents
                | Step::CertificateDone
        ) {
            return;
        }
        if let Some(previous) = self.history.pop() {
            self.step = previous;
        }
    }

    /// Home, after a problem: the language stays, everything chosen or typed goes.
    pub fn go_home(&mut self) {
        if matches!(self.step, Step::Printing | Step::OutOfService) || self.busy() {
            return;
        }
        *self = Visit::new(self.lang);
    }

    /// True while a certificate, not a ticket, is being printed.
    pub fn printing_certificate(&self) -> bool {
        self.step == Step::Printing && self.history.last() == Some(&Step::Documents)
    }

    /// "Where is my turn?" on the welcome screen.
    pub fn open_status(&mut self) {
        self.go(Step::Status);
    }

    /// "I have an appointment" on the welcome screen.
    pub fn open_appointment(&mut self) {
        self.go(Step::Appointment);
    }

    /// "My documents" on the welcome screen: show a sign-in code.
    pub fn open_documents(&mut self) -> Action {
        self.go(Step::DocumentsLogin);
        Action::StartLogin
    }

    /// "Try again" after a sign-in failed or its code expired.
    pub fn retry_login(&mut self) -> Action {
        if self.step == Step::DocumentsLogin {
            Action::StartLogin
        } else {
            Action::None
        }
    }

    /// The phone's sign-in completed and the documents are loaded.
    pub fn signed_in(&mut self) {
        if self.step == Step::DocumentsLogin {
            self.go(Step::Documents);
        }
    }

    /// "Print" on a certificate. Like the ticket button, a second tap does nothing.
    pub fn print_certificate(&mut self, kind: &str) -> Action {
        if self.step != Step::Documents || self.in_flight.is_some() {
            return Action::None;
        }
        let op = Uuid::new_v4();
        self.in_flight = Some(op);
        self.go(Step::Printing);
        Action::PrintCertificate {
            kind: kind.to_string(),
            op,
        }
    }

    /// The certificate attempt `op` is over: printed or not, the session has ended.
    pub fn certificate_finished(&mut self, op: Uuid) {
        if self.in_flight == Some(op) {
            self.in_flight = None;
            self.go(Step::CertificateDone);
        }
    }

    /// A service touched on the home screen; `open` is false when it takes no more
    /// tickets today. A card scanned before stays; the priority choice starts at "no".
    pub fn choose_service(&mut self, service: &Service, open: bool) {
        if !open {
            self.go(Step::Problem(Problem::ServiceClosed));
            return;
        }
        self.service = Some(service.clone());
        self.priority = false;
        self.go(Step::Confirm);
    }

    /// "Add your codice fiscale" on the confirmation, for services that offer it.
    pub fn open_identify(&mut self) {
        let offered = self.service.as_ref().is_some_and(|s| s.identification);
        if self.step == Step::Confirm && offered {
            self.go(Step::Identify);
        }
    }

    /// Back to the confirmation after identifying (or not): the identification screen
    /// leaves the history, so "Back" on the confirmation leads home.
    fn after_identification(&mut self) {
        if self.step == Step::Identify {
            self.back();
        }
    }

    /// A key of the on-screen keyboard on the identification screen.
    pub fn cf_key(&mut self, key: &str) {
        for c in key.chars().filter(char::is_ascii_alphanumeric) {
            if self.cf_text.len() < codice_fiscale::LEN {
                self.cf_text.push(c.to_ascii_uppercase());
            }
        }
        self.revalidate_cf();
    }

    /// The delete key on the identification screen.
    pub fn cf_backspace(&mut self) {
        self.cf_text.pop();
        self.revalidate_cf();
    }

    fn revalidate_cf(&mut self) {
        self.cf_error = match check_partial(&self.cf_text) {
            Err(err) => Some(err),
            Ok(()) if self.cf_text.len() == codice_fiscale::LEN => {
                self.cf_text.parse::<CodiceFiscale>().err()
            }
            Ok(()) => None,
        };
    }

    /// "Continue" with a typed code; ignored unless the code is complete and valid.
    pub fn cf_confirm(&mut self) {
        if let Some(code) = self.cf_valid() {
            self.identified = Some(code);
            self.identified_by_card = false;
            self.after_identification();
        }
    }

    /// "Skip": no identification.
    pub fn skip_identification(&mut self) {
        self.identified = None;
        self.identified_by_card = false;
        self.cf_text.clear();
        self.cf_error = None;
        self.after_identification();
    }

    /// The priority choice on the confirmation, for services that offer priority.
    pub fn set_priority(&mut self, priority: bool) {
        let offered = self.service.as_ref().is_some_and(|s| s.priority);
        if self.step == Step::Confirm && offered {
            self.priority = priority;
        }
    }

    /// "Print my ticket". Returns the request only the first time: a second tap while
    /// the first is in flight, or any tap elsewhere than the confirmation, does nothing.
    pub fn confirm_ticket(&mut self) -> Action {
        if self.step != Step::Confirm || self.in_flight.is_some() {
            return Action::None;
        }
        let Some(service) = &self.service else {
            return Action::None;
        };
        let op_id = Uuid::new_v4();
        self.in_flight = Some(op_id);
        let request = TicketRequest {
            op_id,
            service: service.code.clone(),
            priority: self.priority,
            lang: self.lang,
            codice_fiscale: self.identified,
            codice_fiscale_from_card: self.identified.is_some() && self.identified_by_card,
        };
        self.go(Step::Printing);
        Action::IssueTicket(request)
    }

    /// The core finished the operation `op_id` and the result is on screen.
    pub fn finished(&mut self, op_id: Uuid, outcome: Result<(), Problem>) {
        if self.in_flight != Some(op_id) {
            return;
        }
        self.in_flight = None;
        self.go(match outcome {
            Ok(()) => Step::Ticket,
            Err(problem) => Step::Problem(problem),
        });
    }

    /// The operation `op_id` failed in a way the current screen explains itself (a
    /// booking not found): stay here and allow another attempt.
    pub fn cancel_in_flight(&mut self, op_id: Uuid) {
        if self.in_flight == Some(op_id) {
            self.in_flight = None;
        }
    }

    /// A key on the status screen.
    pub fn status_key(&mut self, key: &str) {
        // A dash is kept here: emergency numbers are written `N-A01`.
        for c in key
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        {
            if self.status_text.len() < MAX_CODE_LEN {
                self.status_text.push(c.to_ascii_uppercase());
            }
        }
    }

    /// The delete key on the status screen.
    pub fn status_backspace(&mut self) {
        self.status_text.pop();
    }

    /// "Check" on the status screen.
    pub fn lookup_status(&mut self) -> Action {
        if self.status_text.is_empty() {
            return Action::None;
        }
        // `N12`, `NO12` and `NA01` are read as the ticket meant (`N012`, `N-A01`); text
        // that cannot be a number goes as typed, and the hub's answer says so.
        let reference =
            read_typed_number(&self.status_text).unwrap_or_else(|| self.status_text.clone());
        Action::LookupTicket(reference)
    }

    /// A key on the check-in screen.
    pub fn appointment_key(&mut self, key: &str) {
        push_code(&mut self.appointment_text, key);
    }

    /// The delete key on the check-in screen.
    pub fn appointment_backspace(&mut self) {
        self.appointment_text.pop();
    }

    /// "Check in". Like the ticket button, a second tap in flight does nothing.
    pub fn check_in(&mut self) -> Action {
        if self.step != Step::Appointment
            || self.appointment_text.is_empty()
            || self.in_flight.is_some()
        {
            return Action::None;
        }
        let op_id = Uuid::new_v4();
        self.in_flight = Some(op_id);
        Action::CheckIn {
            code: self.appointment_text.clone(),
            op_id,
        }
    }

    /// A complete scan from a barcode scanner, handled by what the screen expects:
    /// a health card on the ticket screens (home, confirmation, identification), a
    /// ticket QR on status (or on home), a booking code on check-in. Scans elsewhere are
    /// ignored.
    pub fn scan(&mut self, raw: &str) -> Action {
        if matches!(self.step, Step::Welcome | Step::Confirm)
            && let Ok(code) = parse_health_card_scan(raw)
        {
            // A card works on any ticket screen and is never a required step.
            self.cf_text = code.as_str().to_string();
            self.cf_error = None;
            self.identified = Some(code);
            self.identified_by_card = true;
            return Action::None;
        }
        match self.step {
            Step::Identify => {
                match parse_health_card_scan(raw) {
                    Ok(code) => {
                        self.cf_text = code.as_str().to_string();
                        self.cf_error = None;
                        self.identified = Some(code);
                        self.identified_by_card = true;
                        self.after_identification();
                    }
                    Err(err) => {
                        // Show what went wrong; keep nothing of the scan.
                        self.cf_text.clear();
                        self.cf_error = Some(match err {
                            crate::identity::ScanError::Invalid(e) => e,
                            _ => CfError::Empty,
                        });
                    }
                }
                Action::None
            }
            Step::Status | Step::Welcome => match ticket_reference(raw) {
                Some(reference) => {
                    self.status_text = reference.clone();
                    self.go(Step::Status);
                    Action::LookupTicket(reference)
                }
                None => Action::None,
            },
            Step::Appointment => {
                self.appointment_text.clear();
                push_code(&mut self.appointment_text, &booking_code(raw));
                self.check_in()
            }
            _ => Action::None,
        }
    }
}

fn push_code(text: &mut String, key: &str) {
    for c in key.chars().filter(char::is_ascii_alphanumeric) {
        if text.len() < MAX_CODE_LEN {
            text.push(c.to_ascii_uppercase());
        }
    }
}

/// What a scanned ticket QR refers to: the tracking id at the end of a `/t/<id>` URL,
/// or a display number printed as text.
pub fn ticket_reference(raw: &str) -> Option<String> {
    let text = raw.trim();
    if let Some((_, id)) = text.rsplit_once("/t/") {
        let id: String = id
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        return (!id.is_empty()).then_some(id);
    }
    read_typed_number(text)
}

/// A booking code from a scanned booking QR: the text after the last `/` or `:` when the
/// QR holds a link or a labelled value, else the text itself.
pub fn booking_code(raw: &str) -> String {
    let text = raw.trim();
    let tail = text.rsplit(['/', ':', '=']).next().unwrap_or(text);
    tail.chars().filter(char::is_ascii_alphanumeric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    fn service(code: &str) -> Service {
        Catalogue::builtin().service(code).cloned().unwrap()
    }

    #[test]
    fn a_walk_in_ticket_takes_two_touches() {
        let mut visit = Visit::new(Lang::IT);
        visit.choose_service(&service("naspi"), true);
        assert_eq!(visit.step(), Step::Confirm);
        let Action::IssueTicket(request) = visit.confirm_ticket() else {
            panic!("the second touch issues");
        };
        assert_eq!(request.service, "naspi");
        assert!(!request.priority);
        assert_eq!(request.codice_fiscale, None);
    }

    #[test]
    fn full_ticket_flow_with_identification_and_priority() {
        let mut visit = Visit::new(Lang::IT);
        visit.choose_service(&service("naspi"), true);
        visit.set_priority(true);
        visit.open_identify();
        assert_eq!(visit.step(), Step::Identify);
        visit.cf_key("RSSMRA45C12F2O5");
        assert!(matches!(
            visit.cf_error(),
            Some(CfError::WrongCharacter { position: 14, .. })
        ));
        visit.cf_confirm();
        assert_eq!(
            visit.step(),
            Step::Identify,
            "an invalid code does not continue"
        );
        for _ in 0..2 {
            visit.cf_backspace();
        }
        visit.cf_key("05C");
        assert!(visit.cf_valid().is_some());
        visit.cf_confirm();
        assert_eq!(visit.step(), Step::Confirm, "back to the confirmation");
        assert!(visit.priority(), "the priority choice survives identifying");
        let Action::IssueTicket(request) = visit.confirm_ticket() else {
            panic!("first tap issues");
        };
        assert_eq!(request.service, "naspi");
        assert!(request.priority);
        assert_eq!(
            request.codice_fiscale.map(|c| c.to_string()).as_deref(),
            Some("RSSMRA45C12F205C")
        );
        assert_eq!(visit.step(), Step::Printing);
        assert_eq!(
            visit.confirm_ticket(),
            Action::None,
            "second tap does nothing"
        );
        visit.back();
        assert_eq!(visit.step(), Step::Printing, "no way back while printing");
        visit.finished(request.op_id, Ok(()));
        assert_eq!(visit.step(), Step::Ticket);
        assert!(!visit.busy());
    }

    #[test]
    fn priority_and_identification_only_where_the_service_offers_them() {
        let mut visit = Visit::new(Lang::EN);
        // "Services for employers": no priority question, no identification.
        visit.choose_service(&service("imprese"), true);
        visit.set_priority(true);
        visit.open_identify();
        assert_eq!(visit.step(), Step::Confirm);
        assert!(!visit.priority());
        visit.back();
        assert_eq!(
            visit.step(),
            Step::Welcome,
            "back from the confirmation is home"
        );
    }

    #[test]
    fn closed_service_shows_a_problem() {
        let mut visit = Visit::new(Lang::IT);
        visit.choose_service(&service("isee"), false);
        assert_eq!(visit.step(), Step::Problem(Problem::ServiceClosed));
        visit.back();
        assert_eq!(visit.step(), Step::Welcome);
    }

    #[test]
    fn health_card_scan_identifies_on_any_ticket_screen() {
        let mut visit = Visit::new(Lang::IT);
        visit.choose_service(&service("naspi"), true);
        visit.open_identify();
        assert_eq!(visit.scan("*RSSMRA45C12F205D*\r"), Action::None);
        assert_eq!(visit.cf_error(), Some(&CfError::CheckLetter));
        assert_eq!(visit.step(), Step::Identify);
        visit.scan("*RSSMRA45C12F205C*\r");
        assert_eq!(
            visit.step(),
            Step::Confirm,
            "a valid card moves on by itself"
        );
        assert!(visit.identified().is_some());

        // On home, before any service: the card is kept for the ticket to come.
        let mut visit = Visit::new(Lang::IT);
        visit.scan("*RSSMRA45C12F205C*\r");
        assert_eq!(visit.step(), Step::Welcome);
        assert!(
            !visit.is_pristine(Lang::IT),
            "a scanned card is wiped on idle"
        );
        visit.choose_service(&service("naspi"), true);
        let Action::IssueTicket(request) = visit.confirm_ticket() else {
            panic!()
        };
        assert!(request.codice_fiscale.is_some());
        assert!(request.codice_fiscale_from_card);
    }

    #[test]
    fn a_typed_code_is_never_sent_as_read_from_the_card() {
        let mut visit = Visit::new(Lang::IT);
        visit.choose_service(&service("naspi"), true);
        visit.open_identify();
        visit.cf_key("RSSMRA45C12F205C");
        visit.cf_confirm();
        let Action::IssueTicket(request) = visit.confirm_ticket() else {
            panic!("a confirmed ticket is asked for")
        };
        assert!(request.codice_fiscale.is_some());
        assert!(!request.codice_fiscale_from_card);
    }

    #[test]
    fn skipping_identification_forgets_what_was_typed() {
        let mut visit = Visit::new(Lang::IT);
        visit.choose_service(&service("naspi"), true);
        visit.open_identify();
        visit.cf_key("RSSMRA");
        visit.skip_identification();
        assert_eq!(visit.step(), Step::Confirm);
        assert_eq!(visit.cf_text(), "");
        assert_eq!(visit.identified(), None);
    }

    #[test]
    fn more_services_turns_the_home_page() {
        let mut visit = Visit::new(Lang::IT);
        visit.more_services();
        assert_eq!(visit.home_page(), 1);
        assert!(!visit.is_pristine(Lang::IT));
        visit.open_status();
        visit.more_services();
        assert_eq!(visit.home_page(), 1, "only on the home screen");
    }

    #[test]
    fn failure_is_shown_and_allows_a_new_attempt() {
        let mut visit = Visit::new(Lang::IT);
        visit.choose_service(&service("imprese"), true);
        let Action::IssueTicket(req) = visit.confirm_ticket() else {
            panic!()
        };
        visit.finished(Uuid::new_v4(), Ok(()));
        assert_eq!(visit.step(), Step::Printing, "a stray result is ignored");
        visit.finished(req.op_id, Err(Problem::Failed));
        assert_eq!(visit.step(), Step::Problem(Problem::Failed));
        assert!(!visit.busy());
    }

    #[test]
    fn ticket_qr_on_welcome_opens_status() {
        let mut visit = Visit::new(Lang::IT);
        let action = visit.scan("https://hub.ufficio.local/t/5f0c7b9e-1d2a\r\n");
        assert_eq!(action, Action::LookupTicket("5f0c7b9e-1d2a".into()));
        assert_eq!(visit.step(), Step::Status);
        assert_eq!(visit.scan("n012\n"), Action::LookupTicket("N012".into()));
        assert_eq!(visit.scan("garbage!!"), Action::None);
    }

    #[test]
    fn typed_status_and_appointment_codes() {
        let mut visit = Visit::new(Lang::IT);
        visit.open_status();
        visit.status_key("n");
        visit.status_key("0");
        visit.status_key("12");
        visit.status_backspace();
        visit.status_key("2");
        assert_eq!(visit.lookup_status(), Action::LookupTicket("N012".into()));
        for (typed, meant) in [
            ("n12", "N012"),
            ("NO12", "N012"),
            ("N-A01", "N-A01"),
            ("na01", "N-A01"),
        ] {
            while !visit.status_text().is_empty() {
                visit.status_backspace();
            }
            visit.status_key(typed);
            assert_eq!(
                visit.lookup_status(),
                Action::LookupTicket(meant.into()),
                "{typed}"
            );
        }
        visit.back();
        visit.open_appointment();
        visit.appointment_key("AB12");
        let Action::CheckIn { code, .. } = visit.check_in() else {
            panic!()
        };
        assert_eq!(code, "AB12");
        assert_eq!(
            visit.check_in(),
            Action::None,
            "no second check-in in flight"
        );
    }

    #[test]
    fn documents_flow_prints_once_and_cannot_go_back() {
        let mut visit = Visit::new(Lang::IT);
        assert_eq!(visit.open_documents(), Action::StartLogin);
        assert_eq!(visit.step(), Step::DocumentsLogin);
        assert_eq!(visit.retry_login(), Action::StartLogin);
        assert_eq!(
            visit.print_certificate("did"),
            Action::None,
            "not signed in"
        );
        visit.signed_in();
        assert_eq!(visit.step(), Step::Documents);
        visit.back();
        assert_eq!(
            visit.step(),
            Step::Documents,
            "finish ends a session, not back"
        );
        let Action::PrintCertificate { kind, op } = visit.print_certificate("did") else {
            panic!()
        };
        assert_eq!(kind, "did");
        assert_eq!(visit.print_certificate("did"), Action::None, "second tap");
        visit.certificate_finished(Uuid::new_v4());
        assert_eq!(visit.step(), Step::Printing, "a stray result is ignored");
        visit.certificate_finished(op);
        assert_eq!(visit.step(), Step::CertificateDone);
        assert!(!visit.busy());
    }

    #[test]
    fn booking_qr_payloads() {
        assert_eq!(booking_code("https://cup.example/b/XK42PQ"), "XK42PQ");
        assert_eq!(booking_code("BOOKING:XK42PQ\r\n"), "XK42PQ");
        assert_eq!(booking_code("XK42PQ"), "XK42PQ");
    }
}
