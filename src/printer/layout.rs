//! What goes on paper: the queue ticket, a generic document, and the test page.
//!
//! Layouts are pure functions from plain data to ESC/POS bytes for one profile, so the
//! kiosk can build a ticket anywhere and tests can pin the bytes (golden files). Text
//! is wrapped to the profile's columns in the form it will print (after code-page
//! fallback), so nothing runs off the paper.

use chrono::NaiveDateTime;

use super::escpos::{Align, Cut, Encoder, QrLevel, QrMode, QrOptions};
use super::profile::{Cutter, Profile};
use crate::lang::Lang;

/// Everything a queue ticket shows. Plain data, filled by the kiosk session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketData {
    /// The office, e.g. "Sportello integrato INPS - Centro per l'impiego".
    pub office_name: String,
    /// The service's name in the citizen's language.
    pub service_name: String,
    /// The short number called at the counter, e.g. "N012".
    pub display_number: String,
    /// Priority access declared (INPS message 16868/2011).
    pub priority: bool,
    /// Issue time in the office's local time zone.
    pub issued_at: NaiveDateTime,
    /// People ahead in the queue.
    pub position: u32,
    /// Estimated wait in minutes.
    pub eta_minutes: u32,
    /// The URL the QR code carries: follow the queue on a phone.
    pub tracking_url: String,
    /// Issued while the hub was unreachable (number from a leased band, estimates only).
    pub offline: bool,
    /// Where to wait for this service (the office's `[waiting]` setting), if set.
    pub waiting_area: Option<String>,
}

/// A certificate or other document printed at the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentData {
    /// The document's title, printed large.
    pub title: String,
    /// Agency and office lines at the top, first one in bold.
    pub header_lines: Vec<String>,
    /// Body paragraphs, wrapped to the paper.
    pub paragraphs: Vec<String>,
    /// Lines at the bottom (issue date, legal notes).
    pub footer_lines: Vec<String>,
    /// Optional QR payload (e.g. a verification URL).
    pub qr_payload: Option<String>,
}

struct Texts {
    your_number: &'static str,
    priority: &'static str,
    ahead: &'static str,
    wait: &'static str,
    minutes: &'static str,
    follow: &'static str,
    instructions: &'static str,
    offline: &'static str,
    wait_in: &'static str,
    valid_today: &'static str,
}

fn texts(lang: Lang) -> Texts {
    match lang {
        Lang::IT => Texts {
            your_number: "Il suo numero",
            priority: "PRIORITÀ",
            ahead: "Persone prima di lei",
            wait: "Attesa stimata: circa",
            minutes: "min",
            follow: "Segua la coda dal telefono:",
            instructions: "Attenda che il suo numero compaia sul monitor, poi si rechi allo sportello indicato. Conservi il biglietto.",
            offline: "Biglietto emesso senza collegamento: posizione e attesa sono stime.",
            wait_in: "Attenda in:",
            valid_today: "Valido solo oggi",
        },
        _ => Texts {
            your_number: "Your number",
            priority: "PRIORITY",
            ahead: "People ahead of you",
            wait: "Estimated wait: about",
            minutes: "min",
            follow: "Follow the queue on your phone:",
            instructions: "Wait until your number appears on the screen, then go to the counter shown. Keep this ticket.",
            offline: "Ticket issued while offline: position and wait are estimates.",
            wait_in: "Wait in:",
            valid_today: "Valid today only",
        },
    }
}

/// Splits `text` into lines of at most `width` characters, at spaces where possible.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than the line: break it hard.
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

struct Page<'p> {
    enc: Encoder,
    profile: &'p Profile,
}

impl<'p> Page<'p> {
    fn new(profile: &'p Profile) -> Page<'p> {
        let mut enc = Encoder::new(profile);
        enc.init();
        Page { enc, profile }
    }

    fn cols(&self, width_mult: u8) -> usize {
        usize::from(self.profile.chars_per_line) / usize::from(width_mult.max(1))
    }

    /// Wrapped paragraph at size `w`×`h`.
    fn para(&mut self, text: &str, w: u8, h: u8) {
        let printable = self.profile.text_page.printable(text);
        if (w, h) != (1, 1) {
            self.enc.size(w, h);
        }
        for line in wrap(&printable, self.cols(w)) {
            self.enc.line(&line);
        }
        if (w, h) != (1, 1) {
            self.enc.size(1, 1);
        }
    }

    /// One short text as large as fits, up to `max`×`max`.
    fn big(&mut self, text: &str, max: u8) {
        let len = self
            .profile
            .text_page
            .printable(text)
            .chars()
            .count()
            .max(1);
        let mut w = max;
        while w > 1 && len > self.cols(w) {
            w -= 1;
        }
        self.para(text, w, max);
    }

    fn rule(&mut self) {
        self.enc.line(&"-".repeat(self.cols(1)));
    }

    /// The QR code; if it cannot be encoded (too long), only the text printed after it
    /// carries the data, and the problem is logged.
    fn qr(&mut self, data: &str, mode: QrMode) {
        let module = if self.profile.dots_per_line >= 512 {
            6
        } else {
            5
        };
        let options = QrOptions {
            module,
            level: QrLevel::M,
        };
        if let Err(err) = self.enc.qr(data, options, mode) {
            tracing::warn!(%err, "QR code left out, printing its text only");
        }
    }

    fn end(mut self) -> Vec<u8> {
        match self.profile.cutter {
            Cutter::Full => {
                self.enc.feed(3).cut(Cut::Full);
            }
            Cutter::Partial => {
                self.enc.feed(3).cut(Cut::Partial);
            }
            Cutter::None => {
                self.enc.feed(5);
            }
        }
        if let Some(presenter) = &self.profile.presenter {
            self.enc.raw(&presenter.present);
        }
        self.enc.finish()
    }
}

/// The queue ticket in the citizen's language, QR native or raster as the profile says.
pub fn queue_ticket(ticket: &TicketData, profile: &Profile, lang: Lang) -> Vec<u8> {
    queue_ticket_with(ticket, profile, lang, QrMode::for_profile(profile))
}

/// The queue ticket with the QR mode chosen by the caller (benches compare the two).
pub fn queue_ticket_with(
    ticket: &TicketData,
    profile: &Profile,
    lang: Lang,
    qr: QrMode,
) -> Vec<u8> {
    let t = texts(lang);
    let mut p = Page::new(profile);
    p.enc.align(Align::Center).bold(true);
    p.para(&ticket.office_name, 1, 1);
    p.enc.bold(false);
    p.rule();
    p.enc.bold(true);
    p.para(&ticket.service_name, 1, 1);
    p.enc.bold(false);
    p.para(t.your_number, 1, 1);
    p.enc.bold(true);
    p.big(&ticket.display_number, 4);
    if ticket.priority {
        p.big(&format!("** {} **", t.priority), 2);
    }
    p.enc.bold(false);
    p.para(
        &format!(
            "{} - {}",
            ticket.issued_at.format("%d/%m/%Y %H:%M"),
            t.valid_today
        ),
        1,
        1,
    );
    p.para(&format!("{}: {}", t.ahead, ticket.position), 1, 1);
    p.para(
        &format!("{} {} {}", t.wait, ticket.eta_minutes, t.minutes),
        1,
        1,
    );
    if ticket.offline {
        p.para(t.offline, 1, 1);
    }
    if let Some(area) = &ticket.waiting_area {
        p.rule();
        p.para(t.wait_in, 1, 1);
        p.enc.bold(true);
        p.para(area, 1, 1);
        p.enc.bold(false);
    }
    p.rule();
    p.para(t.follow, 1, 1);
    p.qr(&ticket.tracking_url, qr);
    p.para(&ticket.tracking_url, 1, 1);
    p.enc.line("");
    p.para(t.instructions, 1, 1);
    p.end()
}

/// A document: header, large title, wrapped paragraphs, optional QR, footer.
pub fn document(doc: &DocumentData, profile: &Profile) -> Vec<u8> {
    let mut p = Page::new(profile);
    p.enc.align(Align::Center);
    for (i, line) in doc.header_lines.iter().enumerate() {
        p.enc.bold(i == 0);
        p.para(line, 1, 1);
    }
    p.enc.bold(false);
    p.rule();
    p.enc.bold(true);
    p.para(&doc.title, 1, 2);
    p.enc.bold(false).align(Align::Left);
    for paragraph in &doc.paragraphs {
        p.enc.line("");
        p.para(paragraph, 1, 1);
    }
    p.enc.line("").align(Align::Center);
    if let Some(payload) = &doc.qr_payload {
        p.qr(payload, QrMode::for_profile(profile));
        p.para(payload, 1, 1);
    }
    p.rule();
    for line in &doc.footer_lines {
        p.para(line, 1, 1);
    }
    p.end()
}

/// A test page for real hardware: profile, code page, sizes, QR and Code 128.
pub fn test_page(profile: &Profile) -> Vec<u8> {
    let mut p = Page::new(profile);
    p.enc.align(Align::Center).bold(true);
    p.para("SPORTELLO - TEST", 2, 2);
    p.enc.bold(false);
    p.para(&profile.model, 1, 1);
    p.para(
        &format!(
            "{} dots, {} cols, {} (ESC t {})",
            profile.dots_per_line,
            profile.chars_per_line,
            profile.text_page.name(),
            profile.text_page_number()
        ),
        1,
        1,
    );
    p.rule();
    p.enc.align(Align::Left);
    p.para("àèéìòù ÀÈÉÌÒÙ € «perché» – Città", 1, 1);
    p.enc.bold(true);
    p.para("Bold / grassetto", 1, 1);
    p.enc.bold(false);
    p.para("2x", 2, 2);
    p.enc.align(Align::Right);
    p.para("right / destra", 1, 1);
    p.enc.align(Align::Center);
    p.qr(
        "https://example.invalid/sportello/test",
        QrMode::for_profile(profile),
    );
    if p.enc.code128("SPORTELLO-TEST", 60).is_ok() {
        p.enc.line("");
    }
    p.end()
}

impl TicketData {
    /// A realistic ticket for the sample command, tests, benches and the demo.
    pub fn example(service_name: &str, display_number: &str) -> TicketData {
        TicketData {
            office_name: "Sportello integrato INPS - Centro per l'impiego di Città di Castello"
                .to_string(),
            service_name: service_name.to_string(),
            display_number: display_number.to_string(),
            priority: false,
            issued_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
                .and_then(|d| d.and_hms_opt(10, 15, 0))
                .unwrap_or_default(),
            position: 4,
            eta_minutes: 25,
            tracking_url: format!("https://sportello.example.invalid/t/{display_number}-7f3a"),
            offline: false,
            waiting_area: Some("Sala INPS, piano terra (sportelli 1-4)".to_string()),
        }
    }
}

impl DocumentData {
    /// A sample certificate for the sample command, tests and benches.
    pub fn example() -> DocumentData {
        DocumentData {
            title: "Certificato di stato occupazionale".to_string(),
            header_lines: vec![
                "Centro per l'impiego".to_string(),
                "Regione Umbria - Città di Castello".to_string(),
            ],
            paragraphs: vec![
                "Si certifica che la persona identificata dal codice riportato nel QR risulta \
                 disoccupata ai sensi del D.Lgs. 150/2015, con DID rilasciata il 03/03/2026."
                    .to_string(),
                "Il presente certificato è rilasciato su richiesta dell'interessato per gli usi \
                 consentiti dalla legge."
                    .to_string(),
            ],
            footer_lines: vec!["Rilasciato il 27/11/2026 alle 10:15".to_string()],
            qr_payload: Some("https://sportello.example.invalid/verifica/7f3a-19c2".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_hard_breaks_long_words() {
        assert_eq!(wrap("uno due tre", 7), vec!["uno due", "tre"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("  ", 4), Vec::<String>::new());
    }

    #[test]
    fn document_paragraphs_are_separated_by_a_blank_line() {
        let profile = Profile::named("generic-80").unwrap();
        let bytes = document(&DocumentData::example(), &profile);
        let blank_lines = bytes.windows(2).filter(|w| *w == [0x0A, 0x0A]).count();
        assert!(blank_lines >= 2, "{blank_lines}");
    }

    #[test]
    fn a_qr_too_long_still_prints_its_text() {
        let profile = Profile::named("generic-80").unwrap();
        let mut t = TicketData::example("X", "A001");
        t.tracking_url = format!("https://x.invalid/{}", "a".repeat(8000));
        let bytes = queue_ticket(&t, &profile, Lang::EN);
        assert!(!bytes.windows(3).any(|w| w == [0x1D, 0x28, 0x6B]));
        assert!(bytes.windows(10).any(|w| w == b"aaaaaaaaaa"));
    }

    #[test]
    fn native_qr_ticket_stays_under_one_kilobyte() {
        for name in crate::printer::profile::names() {
            let profile = Profile::named(&name).unwrap();
            let mut t = TicketData::example("NASpI e DIS-COLL", "N012");
            t.priority = true;
            t.offline = true;
            let bytes = queue_ticket_with(&t, &profile, Lang::IT, QrMode::Native);
            assert!(bytes.len() < 1024, "{name}: {}", bytes.len());
        }
    }
}
