//! What goes on paper: the queue ticket, a generic document, and the test page.
//!
//! Layouts are pure functions from plain data to ESC/POS bytes for one profile, so the
//! kiosk can build a ticket anywhere and tests can pin the bytes (golden files). Text
//! is wrapped to the profile's columns in the form it will print (after code-page
//! fallback), so nothing runs off the paper.
//!
//! The ticket speaks the citizen's language ([`crate::lang::tr`]) in the page the
//! profile chooses for it ([`Profile::text_mode`]), or, for scripts no page holds, as
//! raster text drawn from a [`TextFont`]. What the clerk needs stays legible to an
//! Italian reader whatever the language: the number (large ASCII), the time, the QR,
//! and the service's Italian name.

use chrono::NaiveDateTime;

use super::codepage::CodePage;
use super::escpos::{Align, Cut, Encoder, QrLevel, QrMode, QrOptions};
use super::profile::{Cutter, Profile, TextMode};
use super::raster_text::{TextFont, TextPainter, TextStyle};
use crate::lang::{Lang, fill, tr};

/// Everything a queue ticket shows. Plain data, filled by the kiosk session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketData {
    /// The office, e.g. "Sportello integrato INPS - Centro per l'impiego".
    pub office_name: String,
    /// The service's name in the citizen's language.
    pub service_name: String,
    /// The service's name in Italian, printed small under `service_name` for the clerk
    /// when the ticket is in another language (and as the service name when a raster
    /// language's font is missing). `None` for Italian tickets.
    pub service_name_it: Option<String>,
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

/// The ticket's sentences in one language, each a translation looked up by its English
/// msgid written out in the call, so the translation files can be checked against
/// this file.
struct Texts {
    your_number: &'static str,
    priority: &'static str,
    /// `{}`: people ahead.
    ahead: &'static str,
    /// `{}`: minutes.
    wait: &'static str,
    follow: &'static str,
    instructions: &'static str,
    offline: &'static str,
    wait_in: &'static str,
    valid_today: &'static str,
}

fn texts(lang: Lang) -> Texts {
    Texts {
        your_number: tr(lang, "Your number"),
        priority: tr(lang, "PRIORITY"),
        ahead: tr(lang, "People ahead of you: {}"),
        wait: tr(lang, "Estimated wait: about {} min"),
        follow: tr(lang, "Follow the queue on your phone:"),
        instructions: tr(
            lang,
            "Wait until your number appears on the screen, then go to the counter shown. Keep this ticket.",
        ),
        offline: tr(
            lang,
            "Ticket issued while offline: position and wait are estimates.",
        ),
        wait_in: tr(lang, "Wait in:"),
        valid_today: tr(lang, "Valid today only"),
    }
}

/// The ticket's msgids `lang` has no translation for (none for English, the source):
/// such a ticket prints those sentences in English.
pub fn untranslated_ticket_texts(lang: Lang) -> Vec<&'static str> {
    if lang == Lang::EN {
        return Vec::new();
    }
    let (msgids, own) = (texts(Lang::EN), texts(lang));
    let pairs = [
        (msgids.your_number, own.your_number),
        (msgids.priority, own.priority),
        (msgids.ahead, own.ahead),
        (msgids.wait, own.wait),
        (msgids.follow, own.follow),
        (msgids.instructions, own.instructions),
        (msgids.offline, own.offline),
        (msgids.wait_in, own.wait_in),
        (msgids.valid_today, own.valid_today),
    ];
    pairs
        .into_iter()
        .filter(|(msgid, text)| msgid == text)
        .map(|(msgid, _)| msgid)
        .collect()
}

/// Splits `text` into lines of at most `width` characters, at spaces where possible;
/// never at a no-break space (French puts one before `:`).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let breakable = |c: char| c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{202f}' | '\u{2007}');
    for word in text.split(breakable).filter(|w| !w.is_empty()) {
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

/// How the citizen's sentences are drawn on this ticket.
enum Voice<'f> {
    /// As text in the encoder's page.
    Text,
    /// As raster images, in this direction (the painter holds swash's caches: boxed).
    Raster(Box<TextPainter<'f>>, crate::lang::Direction),
}

struct Page<'p> {
    enc: Encoder,
    profile: &'p Profile,
    voice: Voice<'p>,
}

impl<'p> Page<'p> {
    fn new(profile: &'p Profile) -> Page<'p> {
        Page::in_page(profile, profile.text_page)
    }

    /// A job whose text goes out in `page` (`ESC t` for it at init).
    fn in_page(profile: &'p Profile, page: CodePage) -> Page<'p> {
        let mut enc = Encoder::with_page(profile, page);
        enc.init();
        Page {
            enc,
            profile,
            voice: Voice::Text,
        }
    }

    fn cols(&self, width_mult: u8) -> usize {
        usize::from(self.profile.chars_per_line) / usize::from(width_mult.max(1))
    }

    /// Wrapped paragraph at size `w`×`h`.
    fn para(&mut self, text: &str, w: u8, h: u8) {
        let printable = self.enc.page().printable(text);
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

    /// A sentence in the citizen's language: text at size 1×1, or raster text in
    /// `style` (centred, as the ticket is). Bold follows the encoder's for text.
    fn say(&mut self, text: &str, style: TextStyle) {
        self.say_aligned(text, style, |_| Align::Center);
    }

    /// A paragraph of a document in the citizen's language: wrapped text, or raster text
    /// aligned to the reading side.
    fn say_paragraph(&mut self, text: &str) {
        self.say_aligned(text, TextStyle::BODY, |direction| match direction {
            crate::lang::Direction::Rtl => Align::Right,
            crate::lang::Direction::Ltr => Align::Left,
        });
    }

    /// Text at size 1×1 in the encoder's alignment, or raster text in `style` aligned as
    /// `align` says for the language's direction.
    fn say_aligned(
        &mut self,
        text: &str,
        style: TextStyle,
        align: impl Fn(crate::lang::Direction) -> Align,
    ) {
        match &mut self.voice {
            Voice::Text => self.para(text, 1, 1),
            Voice::Raster(painter, direction) => {
                let images = painter.line_images(
                    text,
                    style,
                    *direction,
                    self.profile.dots_per_line,
                    align(*direction),
                );
                for image in images {
                    if let Err(err) = self.enc.raster_trimmed(&image) {
                        tracing::warn!(%err, "raster text left out");
                    }
                }
            }
        }
    }

    /// A short sentence in the citizen's language as large as fits (text), or in
    /// [`TextStyle::BIG`] (raster).
    fn say_big(&mut self, text: &str, max: u8) {
        match self.voice {
            Voice::Text => self.big(text, max),
            Voice::Raster(..) => self.say(text, TextStyle::BIG),
        }
    }

    /// One short text as large as fits, up to `max`×`max`.
    fn big(&mut self, text: &str, max: u8) {
        let len = self.enc.page().printable(text).chars().count().max(1);
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

/// The queue ticket in the citizen's language, QR native or raster as the profile says,
/// for languages a code page of the profile holds. A language that needs raster text
/// (see [`Profile::text_mode`]) gets the Italian ticket here: use [`queue_ticket_in`]
/// with its font.
pub fn queue_ticket(ticket: &TicketData, profile: &Profile, lang: Lang) -> Vec<u8> {
    queue_ticket_in(ticket, profile, lang, None)
}

/// The queue ticket in the citizen's language with the font its raster text needs
/// ([`TextFont::shared`] / [`TextFont::for_lang`]; `None` for code-page languages).
/// A raster language without a font prints the Italian ticket, with the Italian
/// service name when the ticket has it, rather than boxes or question marks.
pub fn queue_ticket_in(
    ticket: &TicketData,
    profile: &Profile,
    lang: Lang,
    font: Option<&TextFont>,
) -> Vec<u8> {
    queue_ticket_in_with(ticket, profile, lang, font, QrMode::for_profile(profile))
}

/// The queue ticket with the QR mode chosen by the caller (benches compare the two).
pub fn queue_ticket_with(
    ticket: &TicketData,
    profile: &Profile,
    lang: Lang,
    qr: QrMode,
) -> Vec<u8> {
    queue_ticket_in_with(ticket, profile, lang, None, qr)
}

/// [`queue_ticket_in`] with the QR mode chosen by the caller.
pub fn queue_ticket_in_with(
    ticket: &TicketData,
    profile: &Profile,
    lang: Lang,
    font: Option<&TextFont>,
    qr: QrMode,
) -> Vec<u8> {
    let (p, lang) = start(profile, lang, font);
    let t = texts(lang);
    ticket_page(p, ticket, lang, &t, qr)
}

/// The job for a ticket in `lang`: its code page, or raster text with `font`, or the
/// Italian ticket when the font is missing (the language actually used is returned).
fn start<'p>(profile: &'p Profile, lang: Lang, font: Option<&'p TextFont>) -> (Page<'p>, Lang) {
    match (profile.text_mode(lang), font) {
        (TextMode::Page(page), _) => (Page::in_page(profile, page), lang),
        (TextMode::Raster, Some(font)) => {
            let mut page = Page::new(profile);
            page.voice = Voice::Raster(Box::new(TextPainter::new(font)), lang.direction());
            (page, lang)
        }
        (TextMode::Raster, None) => {
            tracing::warn!(
                lang = lang.code(),
                "no font for the ticket's raster text: printing it in Italian"
            );
            (Page::new(profile), Lang::IT)
        }
    }
}

/// The ticket's content on a started job.
fn ticket_page(mut p: Page<'_>, ticket: &TicketData, lang: Lang, t: &Texts, qr: QrMode) -> Vec<u8> {
    let service_name = match (&p.voice, lang) {
        // The Italian fallback of a raster language: its own name would not print.
        (Voice::Text, Lang::IT) => ticket
            .service_name_it
            .as_deref()
            .unwrap_or(&ticket.service_name),
        _ => &ticket.service_name,
    };
    let raster = matches!(p.voice, Voice::Raster(..));
    p.enc.align(Align::Center).bold(true);
    p.para(&ticket.office_name, 1, 1);
    p.enc.bold(false);
    p.rule();
    p.enc.bold(true);
    p.say(service_name, TextStyle::TITLE);
    p.enc.bold(false);
    if lang != Lang::IT
        && let Some(italian) = &ticket.service_name_it
    {
        p.para(italian, 1, 1);
    }
    p.say(t.your_number, TextStyle::BODY);
    p.enc.bold(true);
    p.big(&ticket.display_number, 4);
    if ticket.priority {
        p.say_big(&format!("** {} **", t.priority), 2);
    }
    p.enc.bold(false);
    let issued = ticket.issued_at.format("%d/%m/%Y %H:%M");
    if raster {
        // The time stays ASCII text, for the clerk.
        p.para(&issued.to_string(), 1, 1);
        p.say(t.valid_today, TextStyle::BODY);
    } else {
        p.para(&format!("{issued} - {}", t.valid_today), 1, 1);
    }
    p.say(
        &fill(t.ahead, &[&ticket.position.to_string()]),
        TextStyle::BODY,
    );
    p.say(
        &fill(t.wait, &[&ticket.eta_minutes.to_string()]),
        TextStyle::BODY,
    );
    if ticket.offline {
        p.say(t.offline, TextStyle::BODY);
    }
    if let Some(area) = &ticket.waiting_area {
        p.rule();
        p.say(t.wait_in, TextStyle::BODY);
        p.enc.bold(true);
        p.para(area, 1, 1);
        p.enc.bold(false);
    }
    p.rule();
    p.say(t.follow, TextStyle::BODY);
    p.qr(&ticket.tracking_url, qr);
    p.para(&ticket.tracking_url, 1, 1);
    p.enc.line("");
    p.say(t.instructions, TextStyle::BODY);
    p.end()
}

/// A document in Italian or English (the profile's text page): header, large title,
/// wrapped paragraphs, optional QR, footer.
pub fn document(doc: &DocumentData, profile: &Profile) -> Vec<u8> {
    document_in(doc, profile, Lang::IT, None)
}

/// A document whose texts are in `lang`: through its code page, or as raster text with
/// `font` (Arabic, Chinese). Without the font a raster language's text cannot print:
/// the caller asks for the document in Italian instead ([`needs_font`]).
pub fn document_in(
    doc: &DocumentData,
    profile: &Profile,
    lang: Lang,
    font: Option<&TextFont>,
) -> Vec<u8> {
    let (mut p, _) = start(profile, lang, font);
    p.enc.align(Align::Center);
    for (i, line) in doc.header_lines.iter().enumerate() {
        p.enc.bold(i == 0);
        p.say(
            line,
            if i == 0 {
                TextStyle::TITLE
            } else {
                TextStyle::BODY
            },
        );
    }
    p.enc.bold(false);
    p.rule();
    p.enc.bold(true);
    match p.voice {
        Voice::Text => p.para(&doc.title, 1, 2),
        Voice::Raster(..) => p.say(&doc.title, TextStyle::TITLE),
    }
    p.enc.bold(false).align(Align::Left);
    for paragraph in &doc.paragraphs {
        p.enc.line("");
        p.say_paragraph(paragraph);
    }
    p.enc.line("").align(Align::Center);
    if let Some(payload) = &doc.qr_payload {
        p.qr(payload, QrMode::for_profile(profile));
        p.para(payload, 1, 1);
    }
    p.rule();
    for line in &doc.footer_lines {
        p.say(line, TextStyle::BODY);
    }
    p.end()
}

/// True when text in `lang` prints on this profile only as raster text (a font needed).
pub fn needs_font(profile: &Profile, lang: Lang) -> bool {
    profile.text_mode(lang) == TextMode::Raster
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
            service_name_it: None,
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
        assert_eq!(
            wrap("Retraite\u{a0}: CU", 10),
            vec!["Retraite\u{a0}:", "CU"]
        );
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

    /// A service name in `lang` for tests (the catalogue is not the printer's to read).
    fn sample_service(lang: Lang) -> &'static str {
        match lang.code() {
            "it" => "NASpI e DIS-COLL (indennità di disoccupazione)",
            "fr" => "Allocation chômage NASpI et DIS-COLL",
            "es" => "Prestación por desempleo NASpI y DIS-COLL",
            "ro" => "Indemnizație de șomaj NASpI și DIS-COLL",
            "sq" => "Pagesa e papunësisë NASpI dhe DIS-COLL",
            "uk" => "Допомога з безробіття NASpI і DIS-COLL",
            "ar" => "إعانة البطالة NASpI و DIS-COLL",
            "zh-Hans" => "失业津贴 NASpI 和 DIS-COLL",
            _ => "NASpI and DIS-COLL unemployment benefit",
        }
    }

    /// The ticket's texts in `lang`, or sample translations for Arabic and Chinese while
    /// their folders lack them (so measurements show the real scripts).
    fn texts_or_sample(lang: Lang) -> (Texts, bool) {
        let real = texts(lang);
        let untranslated = !untranslated_ticket_texts(lang).is_empty();
        let sample = match lang.code() {
            "ar" if untranslated => Texts {
                your_number: "رقمك",
                priority: "أولوية",
                ahead: "عدد الأشخاص قبلك: {}",
                wait: "مدة الانتظار المتوقعة: حوالي {} دقيقة",
                follow: "تابع الدور على هاتفك:",
                instructions: "انتظر حتى يظهر رقمك على الشاشة، ثم توجّه إلى الشباك المشار إليه. احتفظ بهذه التذكرة.",
                offline: "تذكرة صادرة دون اتصال: الترتيب ومدة الانتظار تقديرية.",
                wait_in: "انتظر في:",
                valid_today: "صالحة لليوم فقط",
            },
            "zh-Hans" if untranslated => Texts {
                your_number: "您的号码",
                priority: "优先",
                ahead: "您前面的人数：{}",
                wait: "预计等待：约 {} 分钟",
                follow: "用手机查看排队进度：",
                instructions: "请等待您的号码出现在屏幕上，然后前往显示的窗口。请保留此票。",
                offline: "离线状态下发出的号票：位置和等待时间均为估计。",
                wait_in: "请在此等候：",
                valid_today: "仅限当日有效",
            },
            _ => return (real, false),
        };
        (sample, true)
    }

    /// A ticket with every part: priority, offline, waiting area, the Italian name.
    fn full_ticket(lang: Lang) -> TicketData {
        let mut t = TicketData::example(sample_service(lang), "N012");
        t.priority = true;
        t.offline = true;
        t.service_name_it = Some(sample_service(Lang::IT).to_string());
        t
    }

    /// `lang`'s raster font, or `None` with a note when its files are not installed.
    fn font_for(lang: Lang) -> Option<TextFont> {
        match TextFont::for_lang(lang) {
            Ok(font) => Some(font),
            // Only a font not installed skips (scripts/test installs them).
            Err(err @ crate::printer::raster_text::FontError::Unreadable { .. }) => {
                eprintln!("skipped {lang}: {err}");
                None
            }
            Err(err) => panic!("{lang}: {err}"),
        }
    }

    fn starts_with_page(bytes: &[u8], n: u8) -> bool {
        bytes.starts_with(&[0x1B, 0x40, 0x1B, 0x74, n])
    }

    #[test]
    fn native_qr_tickets_in_every_code_page_language_stay_under_one_kilobyte() {
        for name in crate::printer::profile::names() {
            let profile = Profile::named(&name).unwrap();
            for lang in Lang::all() {
                if profile.text_mode(lang) == TextMode::Raster {
                    continue;
                }
                let bytes = queue_ticket_with(&full_ticket(lang), &profile, lang, QrMode::Native);
                assert!(bytes.len() < 1024, "{name} {lang}: {}", bytes.len());
            }
        }
    }

    #[test]
    fn a_ticket_selects_the_page_of_its_language() {
        let t20 = Profile::named("epson-tm-t20iii").unwrap();
        for lang in Lang::all() {
            let TextMode::Page(page) = t20.text_mode(lang) else {
                continue;
            };
            let ticket = full_ticket(lang);
            let bytes = queue_ticket(&ticket, &t20, lang);
            let number = t20.page_number(page).unwrap();
            assert!(starts_with_page(&bytes, number), "{lang}");
            // The service name goes out in that page's bytes, the Italian one too.
            let name = page.encode(&ticket.service_name);
            assert!(bytes.windows(name.len()).any(|w| w == name), "{lang}");
            // Once: as the name (Italian) or under it (other languages).
            let italian = page.encode(ticket.service_name_it.as_deref().unwrap());
            let times = bytes
                .windows(italian.len())
                .filter(|w| *w == italian)
                .count();
            assert_eq!(times, 1, "{lang}");
        }
    }

    #[test]
    fn romanian_prints_cedillas_in_wpc1250_and_ukrainian_in_wpc1251() {
        let t20 = Profile::named("epson-tm-t20iii").unwrap();
        let mut checked = 0;
        for lang in Lang::all() {
            let ticket = full_ticket(lang);
            let bytes = queue_ticket(&ticket, &t20, lang);
            match lang.code() {
                "ro" => {
                    // ESC t 45, then "șomaj și" with ş (0xBA) for ș.
                    assert!(starts_with_page(&bytes, 45));
                    let word = [0xBA, b'o', b'm', b'a', b'j', b' ', b'N'];
                    assert!(bytes.windows(word.len()).any(|w| w == word));
                    checked += 1;
                }
                "uk" => {
                    // ESC t 46, then "Допомога" in Windows-1251.
                    assert!(starts_with_page(&bytes, 46));
                    let word = [0xC4, 0xEE, 0xEF, 0xEE, 0xEC, 0xEE, 0xE3, 0xE0];
                    assert!(bytes.windows(word.len()).any(|w| w == word));
                    assert!(!bytes.windows(3).any(|w| w == b"???"));
                    checked += 1;
                }
                _ => {}
            }
        }
        if checked < 2 {
            eprintln!("note: languages/ro or languages/uk not present yet: {checked} checked");
        }
    }

    #[test]
    fn cyrillic_without_its_page_is_raster_text_never_question_marks() {
        let clone = Profile::named("generic-58").unwrap();
        for lang in Lang::all().filter(|l| l.script() == "Cyrl") {
            assert_eq!(clone.text_mode(lang), TextMode::Raster, "{lang}");
            let ticket = full_ticket(lang);
            // Without the font: the Italian ticket, readable.
            let italian = queue_ticket(&ticket, &clone, lang);
            assert!(!italian.windows(3).any(|w| w == b"???"), "{lang}");
            let Some(font) = font_for(lang) else { continue };
            let bytes = queue_ticket_in(&ticket, &clone, lang, Some(&font));
            assert!(!bytes.windows(3).any(|w| w == b"???"), "{lang}");
            let rasters = bytes
                .windows(3)
                .filter(|w| *w == [0x1D, 0x76, 0x30])
                .count();
            let qr_only = italian
                .windows(3)
                .filter(|w| *w == [0x1D, 0x76, 0x30])
                .count();
            assert!(rasters > qr_only, "{lang}: {rasters} vs {qr_only}");
        }
    }

    /// A certificate in Arabic is drawn, not turned into question marks; in Italian it is
    /// the same bytes as `document`.
    #[test]
    fn a_document_in_a_raster_language_is_drawn() {
        let profile = Profile::named("epson-tm-t20iii").unwrap();
        let doc = DocumentData {
            title: "شهادة الوضع الوظيفي".into(),
            header_lines: vec!["INPS".into(), "Centro per l'impiego".into()],
            paragraphs: vec!["نشهد أن الشخص كان عاطلاً عن العمل في 02/11/2026.".into()],
            footer_lines: vec!["N. 2026-000123".into()],
            qr_payload: Some("https://hub.example/verify?seal=abc".into()),
        };
        assert_eq!(
            document_in(&doc, &profile, Lang::IT, None),
            document(&doc, &profile)
        );
        let Some(arabic) = Lang::all().find(|l| l.is_rtl()) else {
            return;
        };
        assert!(needs_font(&profile, arabic));
        let Some(font) = font_for(arabic) else {
            return;
        };
        let bytes = document_in(&doc, &profile, arabic, Some(&font));
        assert!(
            bytes.windows(3).any(|w| w == [0x1D, 0x76, 0x30]),
            "raster text (GS v 0)"
        );
        assert!(
            !bytes.windows(3).any(|w| w == b"???"),
            "no letter printed as '?'"
        );
    }

    #[test]
    fn a_raster_language_without_its_font_prints_the_italian_ticket() {
        let profile = Profile::named("generic-80").unwrap();
        for lang in Lang::all().filter(|l| profile.text_mode(*l) == TextMode::Raster) {
            let ticket = full_ticket(lang);
            let bytes = queue_ticket(&ticket, &profile, lang);
            let page = profile.text_page;
            assert!(starts_with_page(&bytes, profile.text_page_number()));
            // The Italian service name stands in for the citizen's, once.
            let italian = page.encode(ticket.service_name_it.as_deref().unwrap());
            let times = bytes
                .windows(italian.len())
                .filter(|w| *w == italian)
                .count();
            assert_eq!(times, 1, "{lang}");
            let texts = texts(Lang::IT);
            let your_number = page.encode(texts.your_number);
            assert!(
                bytes.windows(your_number.len()).any(|w| w == your_number),
                "{lang}"
            );
            // Nothing but the native QR: no raster text.
            assert!(!bytes.windows(3).any(|w| w == [0x1D, 0x76, 0x30]), "{lang}");
        }
    }

    #[test]
    fn raster_tickets_keep_number_time_and_italian_name_as_text() {
        let profile = Profile::named("epson-tm-t20iii").unwrap();
        for lang in Lang::all().filter(|l| profile.text_mode(*l) == TextMode::Raster) {
            let Some(font) = font_for(lang) else { continue };
            let ticket = full_ticket(lang);
            let bytes = queue_ticket_in(&ticket, &profile, lang, Some(&font));
            let page = profile.text_page;
            for text in [
                "N012",
                "27/11/2026 10:15",
                ticket.service_name_it.as_deref().unwrap(),
                &ticket.tracking_url,
            ] {
                let encoded = page.encode(text);
                assert!(
                    bytes.windows(encoded.len()).any(|w| w == encoded),
                    "{lang}: {text}"
                );
            }
            assert!(bytes.windows(3).any(|w| w == [0x1D, 0x76, 0x30]), "{lang}");
        }
    }

    /// The figures of BENCHMARKS.md, "Tickets in every language": run with
    /// `cargo test --no-default-features --features kiosk --lib ticket_sizes -- --nocapture`.
    #[test]
    fn ticket_sizes_in_every_language() {
        let wire = |bytes: usize, baud: f64| bytes as f64 * 10.0 / baud * 1000.0;
        println!("| language | profile | text | QR | bytes | wire 115200 | wire 9600 |");
        println!("|---|---|---|---|---|---|---|");
        for name in ["epson-tm-t20iii", "generic-58"] {
            let profile = Profile::named(name).unwrap();
            for lang in Lang::all() {
                let mode = profile.text_mode(lang);
                let font = match mode {
                    TextMode::Raster => match font_for(lang) {
                        Some(font) => Some(font),
                        None => continue,
                    },
                    TextMode::Page(_) => None,
                };
                let (texts, sample) = texts_or_sample(lang);
                let qr = QrMode::for_profile(&profile);
                let (page, used) = start(&profile, lang, font.as_ref());
                let bytes = ticket_page(page, &full_ticket(lang), used, &texts, qr);
                let text = match mode {
                    TextMode::Page(page) => page.name().to_string(),
                    TextMode::Raster if sample => "raster (sample texts)".to_string(),
                    TextMode::Raster => "raster".to_string(),
                };
                println!(
                    "| {lang} | {name} | {text} | {qr:?} | {} | {:.0} ms | {:.0} ms |",
                    bytes.len(),
                    wire(bytes.len(), 115_200.0),
                    wire(bytes.len(), 9_600.0),
                );
                if mode != TextMode::Raster && qr == QrMode::Native {
                    assert!(bytes.len() < 1024, "{name} {lang}: {}", bytes.len());
                }
            }
        }
    }
}
