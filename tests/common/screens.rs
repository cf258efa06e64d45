//! Every screen the kiosk can show, set up on a headless window with realistic data, for
//! the reference screenshots (`ui_screenshots`) and the layout and reach checks
//! (`ui_layout`). The home screen's rows are cut by the same code the kiosk uses, from
//! the number of rows the UI reports.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
use slint::platform::WindowEvent;
use slint::{ComponentHandle, ModelRc, VecModel};
use sportello::catalogue::Catalogue;
use sportello::kiosk::controller::{home_room, home_rows, service_item};
use sportello::kiosk::core::QueueFigures;
use sportello::kiosk::staff_code::staff_code;
use sportello::lang::Lang;
use sportello::protocol::kiosk_api::QueueInfo;
use sportello::ui::{
    ApplicationItem, CertificateItem, CertificateResult, CfProblem, Kiosk, KioskWindow,
    LanguageItem, LoginPhase, LookupProblem, Page, PrintNote, Problem, ServiceItem, Theme,
    TicketView,
};

/// The panel the screens are drawn for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Panel {
    /// Short name used in file names ("21.5in").
    pub name: &'static str,
    /// Logical pixels per millimetre.
    pub px_per_mm: f32,
}

/// The 21.5" FHD portrait panel of the office totems (1080 px across 268 mm).
pub const TOTEM: Panel = Panel {
    name: "21.5in",
    px_per_mm: 1080.0 / 268.0,
};

/// A display mode a citizen can choose in the bottom bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub large_text: bool,
    pub high_contrast: bool,
}

impl Mode {
    pub const NORMAL: Mode = Mode {
        large_text: false,
        high_contrast: false,
    };
    pub const LARGE_TEXT: Mode = Mode {
        large_text: true,
        high_contrast: false,
    };
    pub const HIGH_CONTRAST: Mode = Mode {
        large_text: false,
        high_contrast: true,
    };
    pub const BOTH: Mode = Mode {
        large_text: true,
        high_contrast: true,
    };
    pub const ALL: [Mode; 4] = [
        Mode::NORMAL,
        Mode::LARGE_TEXT,
        Mode::HIGH_CONTRAST,
        Mode::BOTH,
    ];

    /// "", "-large-text", "-high-contrast" or "-large-text-high-contrast".
    pub fn suffix(self) -> &'static str {
        match (self.large_text, self.high_contrast) {
            (false, false) => "",
            (true, false) => "-large-text",
            (false, true) => "-high-contrast",
            (true, true) => "-large-text-high-contrast",
        }
    }
}

/// Every screen a citizen can meet at runtime, by name.
pub const SCREENS: &[&str] = &[
    "welcome",
    "welcome-page-2",
    "welcome-offline",
    "confirm",
    "confirm-chosen",
    "confirm-simple",
    "confirm-paper-out",
    "identify-typing-error",
    "identify-valid",
    "printing",
    "printing-certificate",
    "ticket",
    "ticket-paper-out-offline",
    "ticket-paper-back",
    "ticket-emergency",
    "status",
    "status-waiting",
    "status-called",
    "appointment-not-found",
    "problem-hub-unreachable",
    "problem-failed",
    "problem-service-closed",
    "problem-ticket-not-found",
    "documents-login",
    "documents",
    "certificate-done",
    "certificate-failed",
    "out-of-service",
    "idle-warning",
    "language",
];

/// Queue figures for the screens: a few people waiting, the ISEE desk closed.
pub fn figures(cached_at: Option<&str>) -> QueueFigures {
    let queues = Catalogue::builtin()
        .services()
        .iter()
        .enumerate()
        .map(|(i, s)| QueueInfo {
            service: s.code.clone(),
            waiting: (i as u32 * 3) % 7,
            eta_minutes: ((i as u32 * 3) % 7) * 9,
            average_service_minutes: 9.0,
            counters_open: 2,
            open: s.code != "isee",
        })
        .collect::<Vec<_>>();
    QueueFigures::new(queues, cached_at.map(str::to_string))
}

fn service(code: &str, lang: Lang) -> ServiceItem {
    let catalogue = Catalogue::builtin();
    let s = catalogue.service(code).expect("built-in service");
    service_item(s, lang, &figures(None))
}

fn ticket(printed: bool, offline: bool, lang: Lang) -> TicketView {
    TicketView {
        number: "N012".into(),
        service: service("naspi", lang).name,
        priority: false,
        position: 4,
        eta_minutes: 25,
        issued_at: "10:42".into(),
        waiting_area: sportello::lang::isolate(lang, "Sala INPS, piano terra (sportelli 1-4)")
            .into(),
        url: "https://hub.ufficio.local/t/5f0c7b9e".into(),
        qr: sportello::kiosk::qr::image("https://hub.ufficio.local/t/5f0c7b9e-1d2a-4c3b-9e8f"),
        printed,
        offline,
        emergency: false,
        status: "waiting".into(),
        counter: "".into(),
    }
}

/// A headless window of the 1080 × 1920 kiosk drawn at `scale` of its pixels, showing
/// `panel`'s physical sizes, with the home screen's rows following what the UI reports.
pub struct Screens {
    pub app: KioskWindow,
    home: Rc<RefCell<HomeState>>,
}

#[derive(Default)]
struct HomeState {
    room: f32,
    lang: Option<Lang>,
    page: usize,
    cached_at: Option<String>,
}

impl Screens {
    /// Sets up Slint's testing platform (the first time in a process) and the window.
    pub fn new(panel: Panel, scale: f32) -> Screens {
        // A second window in the same process finds the platform already set.
        let _ =
            slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
                mock_time: true,
                threading: false,
                renderer_name: Some("software".into()),
            })));
        let app = KioskWindow::new().unwrap();
        app.window()
            .dispatch_event(WindowEvent::ScaleFactorChanged {
                scale_factor: scale,
            });
        app.window().set_size(slint::PhysicalSize::new(
            (1080.0 * scale) as u32,
            (1920.0 * scale) as u32,
        ));
        app.global::<Theme>().set_px_per_mm(panel.px_per_mm);
        let k = app.global::<Kiosk>();
        k.set_office_name("INPS e Centro per l'impiego - Roma Tuscolano".into());
        k.set_clock("10:42".into());
        k.set_languages(ModelRc::new(Rc::new(VecModel::from(
            Lang::all()
                .map(|l| LanguageItem {
                    code: l.code().into(),
                    name: l.native_name().into(),
                })
                .collect::<Vec<_>>(),
        ))));
        let home = Rc::new(RefCell::new(HomeState::default()));
        let weak = app.as_weak();
        let state = home.clone();
        k.on_home_room(move |available| {
            if available <= 0.0 {
                return;
            }
            state.borrow_mut().room = available;
            if let Some(app) = weak.upgrade() {
                show_home_rows(&app, &state.borrow());
            }
        });
        app.show().unwrap();
        // The fonts of the scripts the UI lacks, from the machine, as a kiosk loads them.
        sportello::kiosk::fonts::register();
        Screens { app, home }
    }

    /// Puts the window in the state of `screen`, in `lang` and `mode`, and lets the
    /// layout settle (the home screen's rows depend on the space it measures).
    pub fn prepare(&self, screen: &str, lang: Lang, mode: Mode) {
        slint::select_bundled_translation(lang.code()).unwrap();
        let app = &self.app;
        let k = app.global::<Kiosk>();
        let theme = app.global::<Theme>();
        theme.set_high_contrast(mode.high_contrast);
        theme.set_large_text(mode.large_text);
        k.set_idle_warning(false);
        k.set_online(true);
        k.set_figures_age("".into());
        k.set_language(lang.code().into());
        k.set_language_name(lang.native_name().into());
        theme.set_rtl(lang.is_rtl());
        k.set_selected(service("naspi", lang));
        k.set_cf_text("".into());
        k.set_cf_problem(CfProblem::None);
        k.set_cf_valid(false);
        k.set_cf_masked("".into());
        k.set_priority(false);
        k.set_busy(false);
        k.set_printing_certificate(false);
        k.set_printer_stopped(false);
        k.set_printer_ready(false);
        k.set_status_text("".into());
        k.set_status_found(false);
        k.set_status_problem(LookupProblem::None);
        k.set_appointment_text("".into());
        k.set_appointment_problem(LookupProblem::None);
        k.set_problem_reference("".into());
        k.set_front_desk(
            sportello::lang::isolate(lang, "piano terra, a destra dell'ingresso").into(),
        );
        k.set_ticket(ticket(true, false, lang));
        k.set_print_note(PrintNote::Printed);
        k.set_applications_others(0);
        {
            let mut home = self.home.borrow_mut();
            home.lang = Some(lang);
            home.page = 0;
            home.cached_at = None;
        }
        let page = match screen {
            s if s.starts_with("welcome") => Page::Welcome,
            "idle-warning" => Page::Welcome,
            s if s.starts_with("confirm") => Page::Confirm,
            s if s.starts_with("identify") => Page::Identify,
            s if s.starts_with("printing") => Page::Printing,
            s if s.starts_with("ticket") => Page::Ticket,
            s if s.starts_with("status") => Page::Status,
            "appointment-not-found" => Page::Appointment,
            s if s.starts_with("problem") => Page::Problem,
            "documents-login" => Page::DocumentsLogin,
            "documents" => Page::Documents,
            s if s.starts_with("certificate") => Page::CertificateDone,
            "out-of-service" => Page::OutOfService,
            "language" => Page::Language,
            other => panic!("unknown screen {other}"),
        };
        match screen {
            "welcome-page-2" => self.home.borrow_mut().page = 1,
            "welcome-offline" => {
                k.set_online(false);
                k.set_figures_age("10:30".into());
            }
            "idle-warning" => {
                k.set_idle_warning(true);
                k.set_idle_seconds_left(25);
            }
            "confirm-chosen" => {
                k.set_priority(true);
                k.set_cf_masked("RSS************C".into());
            }
            "confirm-simple" => k.set_selected(service("imprese", lang)),
            "confirm-paper-out" => k.set_printer_stopped(true),
            "identify-typing-error" => {
                k.set_cf_text("RSSMRA45C12F2O".into());
                k.set_cf_problem(CfProblem::WantDigit);
                k.set_cf_position(14);
                k.set_cf_found("O".into());
                k.set_cf_hint("0".into());
            }
            "identify-valid" => {
                k.set_cf_text("RSSMRA45C12F205C".into());
                k.set_cf_valid(true);
            }
            "printing-certificate" => k.set_printing_certificate(true),
            "ticket-paper-out-offline" => {
                k.set_online(false);
                k.set_ticket(ticket(false, true, lang));
                k.set_print_note(PrintNote::PaperOut);
            }
            "ticket-paper-back" => {
                k.set_ticket(ticket(false, false, lang));
                k.set_print_note(PrintNote::PaperOut);
                k.set_printer_ready(true);
            }
            "ticket-emergency" => {
                k.set_online(false);
                let mut t = ticket(true, true, lang);
                t.number = "N-A01".into();
                t.emergency = true;
                k.set_ticket(t);
            }
            "status-waiting" => {
                k.set_status_text("N012".into());
                k.set_status_found(true);
                k.set_status_ticket(ticket(true, false, lang));
            }
            "status-called" => {
                k.set_status_text("N012".into());
                k.set_status_found(true);
                let mut t = ticket(true, false, lang);
                t.status = "called".into();
                t.counter = "Sportello 3".into();
                t.position = -1;
                k.set_status_ticket(t);
            }
            "appointment-not-found" => {
                k.set_appointment_text("XK42PQ".into());
                k.set_appointment_problem(LookupProblem::NotFound);
            }
            "problem-hub-unreachable" => {
                k.set_problem(Problem::HubUnreachable);
                k.set_problem_reference(staff_code("hub_unreachable").into());
            }
            "problem-failed" => {
                k.set_problem(Problem::Failed);
                k.set_problem_reference(staff_code("no_offline_number").into());
            }
            "problem-service-closed" => {
                k.set_problem(Problem::ServiceClosed);
                k.set_problem_reference(staff_code("service_closed").into());
            }
            "problem-ticket-not-found" => k.set_problem(Problem::TicketNotFound),
            "out-of-service" => k.set_problem_reference(staff_code("kiosk_disabled").into()),
            "documents-login" => {
                k.set_login_qr(sportello::kiosk::qr::image(
                    "https://hub.ufficio.local/login/5f0c7b9e1d2a4c3b9e8f0a1b2c3d4e5f5f0c7b9e1d2a4c3b9e8f0a1b2c3d4e5f",
                ));
                k.set_login_phase(LoginPhase::Waiting);
                k.set_login_code("4821".into());
                k.set_login_seconds_left(160);
            }
            "documents" => set_documents(&k, lang, mode.large_text),
            "certificate-done" => k.set_certificate_result(CertificateResult::Printed),
            "certificate-failed" => k.set_certificate_result(CertificateResult::PaperOut),
            _ => {}
        }
        if k.get_figures_age() != "" {
            self.home.borrow_mut().cached_at = Some(k.get_figures_age().to_string());
        }
        show_home_rows(app, &self.home.borrow());
        k.set_page(page);
        self.settle();
    }

    /// Runs Slint's pending work until the layout stops changing (the home screen
    /// reports its room, which changes its rows, at most a few times).
    pub fn settle(&self) {
        for _ in 0..4 {
            slint::platform::update_timers_and_animations();
            let _ = self.app.window().take_snapshot();
        }
    }
}

fn show_home_rows(app: &KioskWindow, home: &HomeState) {
    let Some(lang) = home.lang else {
        return;
    };
    let room = home_room(&app.global::<Theme>(), home.room);
    let rows = home_rows(
        &Catalogue::builtin(),
        lang,
        &figures(home.cached_at.as_deref()),
        &room,
        home.page,
    );
    app.global::<Kiosk>()
        .set_home_rows(ModelRc::new(VecModel::from(rows)));
}

/// Five applications, shown as the controller pages them: two a page, one in large text.
fn set_documents(k: &Kiosk<'_>, lang: Lang, large_text: bool) {
    k.set_initials(sportello::lang::isolate(lang, "G.V.").into());
    // The hub's texts for these records, in the visit's language.
    let t = |msgid: &'static str| sportello::lang::tr(lang, msgid);
    let first = (
        t("NASpI unemployment benefit"),
        t("Being examined"),
        t("Nothing to do: you will be told the outcome."),
    );
    let second = (
        t("Availability for work declaration (DID)"),
        t("Approved"),
        t("Nothing to do. Keep your contact details up to date."),
    );
    let item = |(title, status, next): (&str, &str, &str), date: &str| ApplicationItem {
        title: title.into(),
        status_text: status.into(),
        last_change: date.into(),
        next_step: next.into(),
    };
    let mut page = vec![item(first, "02/11/2026"), item(second, "15/10/2026")];
    page.truncate(if large_text { 1 } else { 2 });
    k.set_applications_others(5 - page.len() as i32);
    k.set_applications(ModelRc::new(VecModel::from(page)));
    let title = t("Employment status certificate");
    k.set_certificates(ModelRc::new(VecModel::from(vec![CertificateItem {
        kind: "stato-occupazionale".into(),
        title: title.into(),
    }])));
}
