//! Every kiosk screen, in Italian and English, rendered headlessly with Slint's software
//! renderer and compared with the reference PNGs in `tests/screenshots/` (kept in the
//! repository so a reviewer can look at every screen). A screen passes when at most 0.5%
//! of its pixels differ noticeably. After a deliberate UI change, regenerate them with
//! `SPORTELLO_BLESS=1 cargo test --test ui_screenshots` and review the images.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use i_slint_backend_testing::{
    AccessibleRole, ElementQuery, TestingBackend, TestingBackendOptions,
};
use slint::platform::WindowEvent;
use slint::{ComponentHandle, ModelRc, VecModel};
use sportello::catalogue::{Agency as CatAgency, Catalogue};
use sportello::kiosk::staff_code::staff_code;
use sportello::lang::Lang;
use sportello::ui::{
    Agency, ApplicationItem, CertificateItem, CertificateResult, CfProblem, Kiosk, KioskWindow,
    LanguageItem, LoginPhase, LookupProblem, Page, PrintNote, Problem, ServiceItem, Theme,
    TicketView,
};

/// Screens are drawn at half the panel's resolution to keep the PNGs small.
const SCALE: f32 = 0.5;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots")
}

fn services(lang: Lang, agency: CatAgency) -> Vec<ServiceItem> {
    let catalogue = Catalogue::builtin();
    catalogue
        .by_agency(agency)
        .enumerate()
        .map(|(i, s)| ServiceItem {
            code: s.code.as_str().into(),
            prefix: s.prefix.to_string().into(),
            name: s.name(lang).into(),
            description: s.description(lang).into(),
            agency: if agency == CatAgency::Cpi {
                Agency::Cpi
            } else {
                Agency::Inps
            },
            waiting: (i as i32 * 3) % 7,
            eta_minutes: ((i as i32 * 3) % 7) * 9,
            // One service closed, to show how it looks.
            open: s.code != "isee",
        })
        .collect()
}

fn ticket(printed: bool, offline: bool) -> TicketView {
    TicketView {
        number: "N012".into(),
        service: "NASpI e DIS-COLL".into(),
        priority: false,
        position: 4,
        eta_minutes: 25,
        issued_at: "10:42".into(),
        waiting_area: "Sala INPS, piano terra (sportelli 1-4)".into(),
        url: "https://hub.ufficio.local/t/5f0c7b9e".into(),
        qr: sportello::kiosk::qr::image("https://hub.ufficio.local/t/5f0c7b9e-1d2a-4c3b-9e8f"),
        printed,
        offline,
        emergency: false,
        status: "waiting".into(),
        counter: "".into(),
    }
}

/// Puts the window in the state of `screen`.
fn prepare(app: &KioskWindow, screen: &str, lang: Lang) {
    let k = app.global::<Kiosk>();
    let theme = app.global::<Theme>();
    theme.set_high_contrast(false);
    theme.set_large_text(false);
    k.set_idle_warning(false);
    k.set_online(true);
    k.set_figures_age("".into());
    k.set_language(lang.code().into());
    k.set_agency(Agency::Inps);
    k.set_services(ModelRc::new(VecModel::from(services(
        lang,
        CatAgency::Inps,
    ))));
    let naspi = services(lang, CatAgency::Inps).remove(0);
    k.set_selected(naspi);
    k.set_cf_text("".into());
    k.set_cf_problem(CfProblem::None);
    k.set_cf_valid(false);
    k.set_cf_masked("".into());
    k.set_priority(false);
    k.set_busy(false);
    k.set_status_found(false);
    k.set_status_problem(LookupProblem::None);
    k.set_appointment_problem(LookupProblem::None);
    k.set_problem_reference("".into());
    k.set_front_desk("piano terra, a destra dell'ingresso".into());
    k.set_ticket(ticket(true, false));
    k.set_print_note(PrintNote::Printed);
    let page = match screen {
        "welcome" | "welcome-high-contrast" => Page::Welcome,
        "agency" => Page::Agency,
        "services" | "services-offline" | "services-large-text" | "idle-warning" => Page::Services,
        "services-cpi" => Page::Services,
        "identify-typing-error" | "identify-valid" => Page::Identify,
        "priority" => Page::Priority,
        "confirm" => Page::Confirm,
        "printing" => Page::Printing,
        "ticket" | "ticket-paper-out-offline" | "ticket-emergency" => Page::Ticket,
        "status-called" => Page::Status,
        "appointment-not-found" => Page::Appointment,
        "problem-hub-unreachable" | "problem-failed" | "problem-service-closed" => Page::Problem,
        "documents-login" => Page::DocumentsLogin,
        "documents" => Page::Documents,
        "certificate-done" => Page::CertificateDone,
        "out-of-service" => Page::OutOfService,
        other => panic!("unknown screen {other}"),
    };
    match screen {
        "welcome-high-contrast" => theme.set_high_contrast(true),
        "services-large-text" => theme.set_large_text(true),
        "services-offline" => {
            k.set_online(false);
            k.set_figures_age("10:30".into());
        }
        "services-cpi" => {
            k.set_agency(Agency::Cpi);
            k.set_services(ModelRc::new(VecModel::from(services(lang, CatAgency::Cpi))));
        }
        "idle-warning" => {
            k.set_idle_warning(true);
            k.set_idle_seconds_left(25);
        }
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
        "confirm" => {
            k.set_priority(true);
            k.set_cf_masked("RSS************C".into());
        }
        "ticket-paper-out-offline" => {
            k.set_online(false);
            k.set_ticket(ticket(false, true));
            k.set_print_note(PrintNote::PaperOut);
        }
        "ticket-emergency" => {
            k.set_online(false);
            let mut t = ticket(true, true);
            t.number = "N-A01".into();
            t.emergency = true;
            k.set_ticket(t);
        }
        "status-called" => {
            k.set_status_text("N012".into());
            k.set_status_found(true);
            let mut t = ticket(true, false);
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
        "out-of-service" => k.set_problem_reference(staff_code("kiosk_disabled").into()),
        "documents-login" => {
            k.set_login_qr(sportello::kiosk::qr::image(
                "https://hub.ufficio.local/login/5f0c7b9e1d2a4c3b9e8f0a1b2c3d4e5f5f0c7b9e1d2a4c3b9e8f0a1b2c3d4e5f",
            ));
            k.set_login_phase(LoginPhase::Waiting);
            k.set_login_seconds_left(160);
        }
        "documents" => {
            k.set_initials("G.V.".into());
            let (first, second) = match lang {
                Lang::It => (
                    (
                        "Indennità NASpI",
                        "In istruttoria",
                        "Nessuna azione: ti sarà comunicato l'esito.",
                    ),
                    (
                        "Dichiarazione di immediata disponibilità (DID)",
                        "Accolta",
                        "Nessuna azione.",
                    ),
                ),
                Lang::En => (
                    (
                        "NASpI unemployment benefit",
                        "Being examined",
                        "Nothing to do: you will be told the outcome.",
                    ),
                    (
                        "Availability for work declaration (DID)",
                        "Approved",
                        "Nothing to do.",
                    ),
                ),
            };
            let item = |(title, status, next): (&str, &str, &str), date: &str| ApplicationItem {
                title: title.into(),
                status_text: status.into(),
                last_change: date.into(),
                next_step: next.into(),
            };
            k.set_applications(ModelRc::new(VecModel::from(vec![
                item(first, "02/11/2026"),
                item(second, "15/10/2026"),
            ])));
            let title = match lang {
                Lang::It => "Certificato di stato occupazionale",
                Lang::En => "Employment status certificate",
            };
            k.set_certificates(ModelRc::new(VecModel::from(vec![CertificateItem {
                kind: "stato-occupazionale".into(),
                title: title.into(),
            }])));
        }
        "certificate-done" => k.set_certificate_result(CertificateResult::Printed),
        _ => {}
    }
    k.set_page(page);
}

const SCREENS: &[&str] = &[
    "welcome",
    "welcome-high-contrast",
    "agency",
    "services",
    "services-cpi",
    "services-offline",
    "services-large-text",
    "identify-typing-error",
    "identify-valid",
    "priority",
    "confirm",
    "printing",
    "ticket",
    "ticket-paper-out-offline",
    "ticket-emergency",
    "status-called",
    "appointment-not-found",
    "problem-hub-unreachable",
    "problem-failed",
    "problem-service-closed",
    "documents-login",
    "documents",
    "certificate-done",
    "out-of-service",
    "idle-warning",
];

fn differing_share(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    if a.dimensions() != b.dimensions() {
        return 1.0;
    }
    let differing = a
        .pixels()
        .zip(b.pixels())
        .filter(|(p, q)| p.0.iter().zip(q.0.iter()).any(|(x, y)| x.abs_diff(*y) > 24))
        .count();
    differing as f64 / (a.width() * a.height()) as f64
}

#[test]
fn every_screen_matches_its_reference_in_both_languages() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .expect("platform");
    let app = KioskWindow::new().unwrap();
    app.window()
        .dispatch_event(WindowEvent::ScaleFactorChanged {
            scale_factor: SCALE,
        });
    app.window().set_size(slint::PhysicalSize::new(540, 960));
    let k = app.global::<Kiosk>();
    k.set_office_name("Sportello integrato INPS - Centro per l'impiego di Roma Tuscolano".into());
    k.set_clock("10:42".into());
    k.set_languages(ModelRc::new(Rc::new(VecModel::from(
        Lang::ALL
            .iter()
            .map(|l| LanguageItem {
                code: l.code().into(),
                name: l.native_name().into(),
            })
            .collect::<Vec<_>>(),
    ))));
    app.show().unwrap();

    let bless = std::env::var_os("SPORTELLO_BLESS").is_some();
    let dir = reference_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut problems = Vec::new();
    for lang in Lang::ALL {
        slint::select_bundled_translation(lang.code()).unwrap();
        for screen in SCREENS {
            prepare(&app, screen, lang);
            problems.extend(accessibility_problems(&app, screen, lang));
            let shot = app.window().take_snapshot().unwrap();
            let image =
                image::RgbaImage::from_raw(shot.width(), shot.height(), shot.as_bytes().to_vec())
                    .unwrap();
            assert_eq!(
                image.dimensions(),
                ((1080.0 * SCALE) as u32, (1920.0 * SCALE) as u32),
                "rendered size"
            );
            let path = dir.join(format!("{screen}-{}.png", lang.code()));
            if bless || !path.exists() {
                image.save(&path).unwrap();
                if !bless {
                    failures.push(format!("{}: no reference, written now", path.display()));
                }
                continue;
            }
            let reference = image::open(&path).unwrap().to_rgba8();
            let share = differing_share(&image, &reference);
            if share > 0.005 {
                let actual =
                    std::env::temp_dir().join(format!("actual-{screen}-{}.png", lang.code()));
                image.save(&actual).unwrap();
                failures.push(format!(
                    "{}: {:.2}% of pixels differ (actual saved to {})",
                    path.display(),
                    share * 100.0,
                    actual.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "screenshots differ:\n{}",
        failures.join("\n")
    );
    assert!(
        problems.is_empty(),
        "accessibility:\n{}",
        problems.join("\n")
    );
}

/// Every control on the screen is announced with a role and a label, and is a touch
/// target of at least 15 mm on the reference panel (5.56 px/mm).
fn accessibility_problems(app: &KioskWindow, screen: &str, lang: Lang) -> Vec<String> {
    let min = 15.0 * 5.56 - 0.5;
    let mut problems = Vec::new();
    let controls = ElementQuery::from_root(app)
        .match_descendants()
        .match_predicate(|e| {
            matches!(
                e.accessible_role(),
                Some(AccessibleRole::Button | AccessibleRole::Checkbox | AccessibleRole::TextInput)
            )
        })
        .find_all();
    assert!(!controls.is_empty(), "{screen}: no controls found at all");
    for control in controls {
        let label = control.accessible_label().unwrap_or_default();
        let size = control.size();
        let at = format!(
            "{screen} ({}) {:?} {label:?}",
            lang.code(),
            control.accessible_role()
        );
        if label.trim().is_empty() {
            problems.push(format!("{at}: no accessible label"));
        }
        // Hidden elements (zero size, e.g. in a scrolled-out area) are not targets.
        if size.width > 0.0 && (size.width < min || size.height < min) {
            problems.push(format!(
                "{at}: {}x{} px is under 15 mm",
                size.width, size.height
            ));
        }
    }
    problems
}

#[test]
fn a_broken_screen_is_noticed() {
    let a = image::RgbaImage::from_pixel(100, 100, image::Rgba([255, 255, 255, 255]));
    let mut b = a.clone();
    for x in 0..10 {
        b.put_pixel(x, 0, image::Rgba([0, 0, 0, 255]));
    }
    assert!(differing_share(&a, &b) > 0.0009);
    assert_eq!(differing_share(&a, &a), 0.0);
}
