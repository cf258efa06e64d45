//! The controller between the Slint UI and the kiosk: callbacks in, properties out.
//!
//! It runs on the UI thread and never blocks it (invariant 6): anything that touches the
//! network, the disk or the printer goes to the core on the tokio runtime, and the result
//! comes back through `slint::spawn_local` awaiting a oneshot channel. After every input
//! the whole view is rendered again from the visit; the UI is small enough for that to be
//! the simplest correct thing.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::core::{
    IssuedTicket, KioskCore, LookupError, PrintResult, QueueFigures, TicketLookup, TicketProblem,
};
use super::documents::{DocumentsError, LoginStarted};
use super::home;
use super::idle::{IdleState, IdleTimer};
use super::pictogram;
use super::qr;
use super::scanner::KeyboardScans;
use super::session::{Action, Problem, Step, Visit};
use super::staff_code::staff_code;
use crate::catalogue::{Agency, Service};
use crate::identity::CfError;
use crate::identity::codice_fiscale::Expected;
use crate::lang::Lang;
use crate::printer::status::PrinterState;
use crate::protocol::LoginState;
use crate::ui::{
    Activity, Agency as UiAgency, ApplicationItem, CertificateItem, CertificateResult, CfProblem,
    HomeRow, HomeRowKind, Kiosk, KioskWindow, LanguageItem, LoginPhase, LookupProblem, Page,
    PrintNote, Problem as UiProblem, ServiceItem, Theme, TicketView,
};

mod spoken;

use super::keypad::{self, CentreKey, KeypadCommand};
use super::narration::{Command, Narrator};
use crate::speech::Speech;

/// What the controller needs to know about this kiosk's screen and policies.
#[derive(Debug, Clone)]
pub struct UiSettings {
    /// The language each visit starts in.
    pub default_lang: Lang,
    /// Inactivity before the "more time?" warning.
    pub idle_after: Duration,
    /// How long the warning stays before the visit is wiped.
    pub warn_for: Duration,
    /// Logical pixels per millimetre of the real panel.
    pub px_per_mm: f32,
    /// Whether the idle warning also sounds a chime.
    pub warning_sound: bool,
    /// Where the front desk is (`[help] front_desk`), for the problem pages.
    pub front_desk: String,
    /// Height of the panel's lower edge above the floor (`[display] lower_edge_mm`).
    pub lower_edge_mm: f32,
    /// The office's logo for the header (`[display] logo`), if any.
    pub logo: Option<std::path::PathBuf>,
}

/// The code being typed on the current page's keyboard.
fn typed_text(visit: &Visit) -> String {
    match visit.step() {
        Step::Identify => visit.cf_text().to_string(),
        Step::Status => visit.status_text().to_string(),
        Step::Appointment => visit.appointment_text().to_string(),
        _ => String::new(),
    }
}

/// Applications on one page of "My documents" with the certificates below them: two
/// fit, one in large text.
fn applications_per_page(large_text: bool) -> usize {
    if large_text { 1 } else { 2 }
}

/// The items on `page` (counted round, so a page past the end is the first again) of
/// `per_page` each, and how many are on the other pages.
fn page_of<T>(items: &[T], page: usize, per_page: usize) -> (&[T], usize) {
    let pages = items.len().div_ceil(per_page.max(1)).max(1);
    let start = (page % pages) * per_page;
    let shown = &items[start.min(items.len())..(start + per_page).min(items.len())];
    (shown, items.len() - shown.len())
}

/// "My documents" data of the current visit; dropped with the visit.
struct Docs {
    session_id: Option<uuid::Uuid>,
    link: String,
    qr: slint::Image,
    /// The code the citizen types on the phone, shown beside the QR code.
    code: String,
    phase: LoginPhase,
    initials: String,
    applications: Vec<ApplicationItem>,
    /// Which page of applications is on show (see [`applications_per_page`]).
    application_page: usize,
    certificates: Vec<CertificateItem>,
    result: CertificateResult,
    polling: bool,
    loading: bool,
    /// Until when the sign-in code works: the idle timer waits while the citizen signs in
    /// on the phone (a SPID login takes minutes), never longer.
    valid_until: Option<Instant>,
}

impl Default for Docs {
    fn default() -> Self {
        Docs {
            session_id: None,
            link: String::new(),
            qr: slint::Image::default(),
            code: String::new(),
            phase: LoginPhase::Starting,
            initials: String::new(),
            applications: Vec::new(),
            application_page: 0,
            certificates: Vec::new(),
            result: CertificateResult::Printed,
            polling: false,
            loading: false,
            valid_until: None,
        }
    }
}

struct State {
    visit: Visit,
    docs: Docs,
    ticks: u64,
    idle: IdleTimer,
    scans: KeyboardScans,
    ticket: Option<IssuedTicket>,
    status: Option<TicketLookup>,
    status_problem: LookupProblem,
    appointment_problem: LookupProblem,
    problem_reference: String,
    /// The height of the home screen list's reachable part (the UI measures it).
    home_room: f32,
    /// When a ticket that exists only on screen (no paper) was shown.
    screen_ticket_at: Option<Instant>,
    /// A screen-only ticket is being printed again.
    reprinting: bool,
}

impl State {
    fn new(settings: &UiSettings) -> State {
        State {
            visit: Visit::new(settings.default_lang),
            docs: Docs::default(),
            ticks: 0,
            idle: IdleTimer::new(settings.idle_after, settings.warn_for, Instant::now()),
            scans: KeyboardScans::default(),
            ticket: None,
            status: None,
            status_problem: LookupProblem::None,
            appointment_problem: LookupProblem::None,
            problem_reference: String::new(),
            home_room: 0.0,
            screen_ticket_at: None,
            reprinting: false,
        }
    }
}

/// Binds a [`KioskWindow`] to a [`KioskCore`].
pub struct Controller {
    window: slint::Weak<KioskWindow>,
    core: Arc<KioskCore>,
    runtime: Handle,
    settings: UiSettings,
    state: RefCell<State>,
    /// Speech mode, the keypad's focus and the volume of the visit.
    narrator: RefCell<Narrator>,
    centre_key: RefCell<CentreKey>,
    /// A long press on the screen, timed like the centre key.
    screen_press: RefCell<CentreKey>,
    timer: slint::Timer,
    rendered_figures: std::cell::Cell<u64>,
}

impl Controller {
    /// Wires every callback of `app` and starts the once-a-second clock and idle check.
    pub fn attach(
        app: &KioskWindow,
        core: Arc<KioskCore>,
        runtime: Handle,
        settings: UiSettings,
        speech: Arc<dyn Speech>,
    ) -> Rc<Controller> {
        let controller = Rc::new(Controller {
            window: app.as_weak(),
            state: RefCell::new(State::new(&settings)),
            core,
            runtime,
            settings,
            narrator: RefCell::new(Narrator::new(speech)),
            centre_key: RefCell::new(CentreKey::default()),
            screen_press: RefCell::new(CentreKey::default()),
            timer: slint::Timer::default(),
            rendered_figures: std::cell::Cell::new(u64::MAX),
        });
        controller.wire(app);
        super::fonts::register();
        let theme = app.global::<Theme>();
        theme.set_px_per_mm(controller.settings.px_per_mm);
        theme.set_lower_edge_mm(controller.settings.lower_edge_mm);
        if let Some(path) = &controller.settings.logo {
            // A missing or broken logo leaves the office's name alone on its line.
            match slint::Image::load_from_path(path) {
                Ok(logo) => app.global::<Kiosk>().set_logo(logo),
                Err(_) => tracing::warn!(path = %path.display(), "logo cannot be loaded"),
            }
        }
        let languages: Vec<LanguageItem> = Lang::all()
            .map(|l| LanguageItem {
                code: l.code().into(),
                name: l.native_name().into(),
            })
            .collect();
        app.global::<Kiosk>()
            .set_languages(ModelRc::new(VecModel::from(languages)));
        let ticking = Rc::downgrade(&controller);
        controller.timer.start(
            slint::TimerMode::Repeated,
            Duration::from_secs(1),
            move || {
                if let Some(c) = ticking.upgrade() {
                    c.tick(Instant::now());
                }
            },
        );
        controller.refresh_figures();
        controller.tick(Instant::now());
        controller.render();
        controller
    }

    fn wire(self: &Rc<Self>, app: &KioskWindow) {
        let kiosk = app.global::<Kiosk>();
        let on = |f: fn(&Rc<Controller>)| {
            let me = Rc::downgrade(self);
            move || {
                if let Some(c) = me.upgrade() {
                    f(&c);
                }
            }
        };
        app.global::<Activity>().on_touched(on(|c| c.activity()));
        kiosk.on_go_home(on(|c| c.touch(Command::Home)));
        kiosk.on_more_services(on(|c| c.touch(Command::MoreServices)));
        kiosk.on_open_identify(on(|c| c.touch(Command::Identify)));
        let me = Rc::downgrade(self);
        kiosk.on_home_room(move |available| {
            // A list not laid out yet (or leaving the screen) measures nothing: keep the
            // last real room.
            if let (Some(c), true) = (me.upgrade(), available > 0.0) {
                // Also called when the rows' heights change with the text size.
                c.state.borrow_mut().home_room = available;
                c.render();
            }
        });
        let me = Rc::downgrade(self);
        kiosk.on_set_priority(move |yes| {
            if let Some(c) = me.upgrade() {
                c.touch(Command::Priority(yes));
            }
        });
        kiosk.on_open_status(on(|c| c.touch(Command::MyTurn)));
        kiosk.on_open_languages(on(|c| c.touch(Command::Languages)));
        kiosk.on_open_appointment(on(|c| c.touch(Command::Appointment)));
        kiosk.on_back(on(|c| c.touch(Command::Back)));
        kiosk.on_start_over(on(|c| c.touch(Command::StartOver)));
        kiosk.on_cf_backspace(on(|c| c.touch(Command::DeleteKey)));
        kiosk.on_cf_confirm(on(|c| c.touch(Command::Submit)));
        kiosk.on_identify_skip(on(|c| c.touch(Command::SkipIdentification)));
        kiosk.on_confirm_ticket(on(|c| c.touch(Command::PrintTicket)));
        kiosk.on_status_backspace(on(|c| c.touch(Command::DeleteKey)));
        kiosk.on_status_lookup(on(|c| c.touch(Command::Submit)));
        kiosk.on_appointment_backspace(on(|c| c.touch(Command::DeleteKey)));
        kiosk.on_appointment_check_in(on(|c| c.touch(Command::Submit)));
        kiosk.on_more_applications(on(|c| c.touch(Command::MoreApplications)));
        kiosk.on_large_text_changed(on(|c| c.render()));
        kiosk.on_reprint_ticket(on(|c| c.touch(Command::Reprint)));
        kiosk.on_more_time(on(|c| c.touch(Command::MoreTime)));
        kiosk.on_open_documents(on(|c| c.touch(Command::Documents)));
        kiosk.on_login_retry(on(|c| {
            let action = c.state.borrow_mut().visit.retry_login();
            c.dispatch(action);
        }));
        let me = Rc::downgrade(self);
        kiosk.on_print_certificate(move |kind| {
            if let Some(c) = me.upgrade() {
                c.touch(Command::PrintCertificate(kind.to_string()));
            }
        });

        let me = Rc::downgrade(self);
        kiosk.on_choose_language(move |code| {
            if let (Some(c), Ok(lang)) = (me.upgrade(), code.parse::<Lang>()) {
                c.touch(Command::Language(lang));
            }
        });
        let me = Rc::downgrade(self);
        kiosk.on_choose_service(move |code| {
            if let Some(c) = me.upgrade() {
                c.touch(Command::Service(code.to_string()));
            }
        });
        for set in [
            Kiosk::on_cf_key,
            Kiosk::on_status_key,
            Kiosk::on_appointment_key,
        ] {
            let me = Rc::downgrade(self);
            set(&kiosk, move |key: SharedString| {
                if let Some(c) = me.upgrade() {
                    c.touch(Command::Key(key.to_string()));
                }
            });
        }
        let me = Rc::downgrade(self);
        kiosk.on_key_input(move |text| {
            if let Some(c) = me.upgrade() {
                c.key_input(&text, Instant::now());
            }
        });
        let me = Rc::downgrade(self);
        kiosk.on_key_pressed(move |text, repeat| {
            if let Some(c) = me.upgrade() {
                c.key_pressed(&text, repeat, Instant::now());
            }
        });
        let me = Rc::downgrade(self);
        kiosk.on_screen_held(move |down| {
            if let Some(c) = me.upgrade() {
                c.screen_held(down, Instant::now());
            }
        });
        let me = Rc::downgrade(self);
        kiosk.on_key_released(move |text| {
            if let Some(c) = me.upgrade() {
                c.key_released(&text, Instant::now());
            }
        });
    }

    /// A touch on a control: in speech mode the first touch says what it is and the
    /// second does it ("touch to hear, confirm to select"); otherwise it is done at once.
    fn touch(self: &Rc<Self>, command: Command) {
        let go = self.narrator.borrow_mut().touched(&command);
        if go {
            self.execute(command);
        } else {
            self.activity();
            self.show_focus();
        }
    }

    /// Does what a control does, whether touched or confirmed on the keypad.
    fn execute(self: &Rc<Self>, command: Command) {
        match command {
            Command::Service(code) => {
                let catalogue = self.core.catalogue();
                if let Some(service) = catalogue.service(&code) {
                    let open = self.core.queue_figures().is_open(&service.code);
                    self.update(|v| v.choose_service(service, open));
                }
            }
            Command::Home => {
                self.update(Visit::go_home);
                self.refresh_figures();
            }
            Command::MoreServices => self.update(Visit::more_services),
            Command::Appointment => self.update(Visit::open_appointment),
            Command::Documents => {
                let action = self.state.borrow_mut().visit.open_documents();
                self.dispatch(action);
            }
            Command::MyTurn => self.update(Visit::open_status),
            Command::Language(lang) => self.update(|v| v.set_lang(lang)),
            Command::Languages => self.update(Visit::open_languages),
            Command::Priority(yes) => self.update(|v| v.set_priority(yes)),
            Command::Identify => self.update(Visit::open_identify),
            Command::SkipIdentification => self.update(Visit::skip_identification),
            Command::PrintTicket => {
                let action = self.state.borrow_mut().visit.confirm_ticket();
                self.dispatch(action);
            }
            Command::Reprint => self.reprint_ticket(),
            Command::MoreApplications => {
                // page_of counts pages round: the last page's button leads back to the first.
                self.state.borrow_mut().docs.application_page += 1;
                self.activity();
                self.render();
            }
            Command::PrintCertificate(kind) => {
                let action = self.state.borrow_mut().visit.print_certificate(&kind);
                self.dispatch(action);
            }
            Command::Back => self.update(Visit::back),
            Command::StartOver => self.wipe(),
            Command::Key(key) => {
                let (step, before) = {
                    let state = self.state.borrow();
                    (state.visit.step(), typed_text(&state.visit))
                };
                match step {
                    Step::Identify => self.update(|v| v.cf_key(&key)),
                    Step::Status => self.update(|v| v.status_key(&key)),
                    Step::Appointment => self.update(|v| v.appointment_key(&key)),
                    _ => return,
                }
                let (mut typed, after) = {
                    let state = self.state.borrow();
                    let lang = state.visit.lang();
                    (crate::speech::spell(&key, lang), typed_text(&state.visit))
                };
                if step == Step::Identify {
                    // What the message under the field now says (EN 301 549 5.1.3.15).
                    let state = self.state.borrow();
                    if let Some(message) = spoken::cf_message(&state, state.visit.lang()) {
                        typed = format!("{typed}. {message}");
                    }
                }
                let mut narrator = self.narrator.borrow_mut();
                // A full field takes nothing: then nothing is said to have been entered.
                if narrator.is_on() && after != before {
                    narrator.echo(typed, step == Step::Identify);
                }
            }
            Command::DeleteKey => {
                let step = self.state.borrow().visit.step();
                match step {
                    Step::Identify => self.update(Visit::cf_backspace),
                    Step::Status => self.update(Visit::status_backspace),
                    Step::Appointment => self.update(Visit::appointment_backspace),
                    _ => {}
                }
            }
            Command::Submit => {
                let step = self.state.borrow().visit.step();
                match step {
                    Step::Identify => self.update(Visit::cf_confirm),
                    Step::Status => {
                        let action = self.state.borrow_mut().visit.lookup_status();
                        self.dispatch(action);
                    }
                    Step::Appointment => {
                        let action = self.state.borrow_mut().visit.check_in();
                        self.dispatch(action);
                    }
                    _ => {}
                }
            }
            Command::MoreTime => {
                self.activity();
                if let Some(app) = self.window.upgrade() {
                    app.global::<Kiosk>().set_idle_warning(false);
                }
                self.render();
            }
        }
    }

    /// A key went down: the keypad's keys act here; anything else is a scanner's typing.
    pub fn key_pressed(self: &Rc<Self>, text: &str, repeat: bool, now: Instant) {
        if keypad::is_enter(text) && !self.state.borrow().scans.collecting(now) {
            self.centre_key.borrow_mut().pressed(repeat, now);
            return;
        }
        if let Some(command) = keypad::command(text) {
            if !repeat {
                self.keypad(command);
            }
            return;
        }
        self.key_input(text, now);
    }

    /// A key came up: the centre key acts on release (tap: confirm; hold: speech).
    pub fn key_released(self: &Rc<Self>, text: &str, now: Instant) {
        if keypad::is_enter(text) {
            let command = self.centre_key.borrow_mut().released(now);
            if let Some(command) = command {
                self.keypad(command);
            }
        }
    }

    /// A finger on the screen outside the controls: held long enough, the voice starts
    /// (EN 301 549 5.2: no need to see a control to find it).
    pub fn screen_held(self: &Rc<Self>, down: bool, now: Instant) {
        if down {
            self.screen_press.borrow_mut().pressed(false, now);
            return;
        }
        let press = self.screen_press.borrow_mut().released(now);
        if press == Some(KeypadCommand::StartSpeech) {
            self.keypad(KeypadCommand::StartSpeech);
        }
    }

    fn keypad(self: &Rc<Self>, command: KeypadCommand) {
        self.activity();
        match command {
            KeypadCommand::Activate => {
                let chosen = self.narrator.borrow().activate();
                if let Some(chosen) = chosen {
                    self.execute(chosen);
                }
            }
            KeypadCommand::Back => self.execute(Command::Back),
            KeypadCommand::Previous => self.narrator.borrow_mut().previous(),
            KeypadCommand::Next => self.narrator.borrow_mut().next(),
            KeypadCommand::StartSpeech => self.narrator.borrow_mut().start(),
            KeypadCommand::Help => self.narrator.borrow_mut().help(),
            KeypadCommand::Repeat => self.narrator.borrow_mut().repeat(),
            KeypadCommand::VolumeUp => self.narrator.borrow_mut().change_volume(true),
            KeypadCommand::VolumeDown => self.narrator.borrow_mut().change_volume(false),
        }
        self.show_focus();
    }

    /// Frames the focused control on screen.
    fn show_focus(&self) {
        if let Some(app) = self.window.upgrade() {
            let label = self
                .narrator
                .borrow()
                .focused()
                .map(|c| c.label.clone())
                .unwrap_or_default();
            app.global::<Kiosk>().set_focused(label.into());
        }
    }

    /// Whether speech mode is on (for tests and the demo).
    pub fn speaking(&self) -> bool {
        self.narrator.borrow().is_on()
    }

    /// Applies a change to the visit, counts it as activity and shows the result.
    fn update(&self, change: impl FnOnce(&mut Visit)) {
        {
            let mut state = self.state.borrow_mut();
            change(&mut state.visit);
            state.status_problem = LookupProblem::None;
            state.appointment_problem = LookupProblem::None;
            state.idle.activity(Instant::now());
        }
        self.render();
    }

    fn activity(&self) {
        self.state.borrow_mut().idle.activity(Instant::now());
        if let Some(app) = self.window.upgrade() {
            app.global::<Kiosk>().set_idle_warning(false);
        }
        self.render();
    }

    /// A key typed into the window: only barcode scanners type on a kiosk.
    pub fn key_input(self: &Rc<Self>, text: &str, now: Instant) {
        let scan = self.state.borrow_mut().scans.key(text, now);
        if let Some(scan) = scan {
            self.scan(&scan);
        }
    }

    /// A complete scan, from the keyboard-wedge or the serial scanner.
    pub fn scan(self: &Rc<Self>, raw: &str) {
        let action = {
            let mut state = self.state.borrow_mut();
            state.idle.activity(Instant::now());
            state.visit.scan(raw)
        };
        self.dispatch(action);
        self.render();
    }

    fn dispatch(self: &Rc<Self>, action: Action) {
        match action {
            Action::None => {}
            Action::IssueTicket(request) => {
                let op_id = request.op_id;
                let core = self.core.clone();
                self.run(
                    async move { core.issue_ticket(request).await },
                    move |c, result| c.ticket_result(op_id, result),
                );
            }
            Action::CheckIn { code, op_id } => {
                let core = self.core.clone();
                let lang = self.state.borrow().visit.lang();
                self.run(
                    async move { core.check_in(op_id, code, lang).await },
                    move |c, result| c.check_in_result(op_id, result),
                );
            }
            Action::StartLogin => {
                self.end_documents_session();
                self.state.borrow_mut().docs = Docs::default();
                let core = self.core.clone();
                let lang = self.state.borrow().visit.lang();
                self.run(async move { core.start_login(lang).await }, |c, result| {
                    c.login_started(result)
                });
            }
            Action::PrintCertificate { kind, op } => {
                let session = self.state.borrow().docs.session_id;
                let core = self.core.clone();
                let lang = self.state.borrow().visit.lang();
                self.run(
                    async move {
                        match session {
                            Some(id) => core.print_certificate(id, kind, lang).await,
                            None => Err(DocumentsError::Ended),
                        }
                    },
                    move |c, result| c.certificate_result(op, result),
                );
            }
            Action::LookupTicket(reference) => {
                let core = self.core.clone();
                self.run(
                    async move { core.lookup_ticket(&reference).await },
                    |c, result| c.lookup_result(result),
                );
            }
        }
        self.render();
    }

    /// Runs `work` on the tokio runtime and `done` with its result on the UI thread.
    fn run<T: Send + 'static>(
        self: &Rc<Self>,
        work: impl Future<Output = T> + Send + 'static,
        done: impl FnOnce(&Rc<Controller>, T) + 'static,
    ) {
        let (tx, rx) = oneshot::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        let me = Rc::downgrade(self);
        let spawned = slint::spawn_local(async move {
            if let (Ok(result), Some(c)) = (rx.await, me.upgrade()) {
                done(&c, result);
            }
        });
        if let Err(err) = spawned {
            tracing::error!(%err, "cannot schedule a result on the UI thread");
        }
    }

    fn ticket_result(
        self: &Rc<Self>,
        op_id: uuid::Uuid,
        result: Result<IssuedTicket, TicketProblem>,
    ) {
        {
            let mut state = self.state.borrow_mut();
            match result {
                Ok(ticket) => {
                    if ticket.print != PrintResult::Printed {
                        state.screen_ticket_at = Some(Instant::now());
                    }
                    state.ticket = Some(ticket);
                    state.visit.finished(op_id, Ok(()));
                }
                Err(problem) => {
                    state.problem_reference = staff_code(problem.reference()).to_string();
                    let shown = match problem {
                        TicketProblem::ServiceClosed | TicketProblem::NoNumbersLeft => {
                            Problem::ServiceClosed
                        }
                        TicketProblem::Disabled => {
                            state.visit.finished(op_id, Err(Problem::Failed));
                            drop(state);
                            self.out_of_service();
                            return;
                        }
                        _ => Problem::Failed,
                    };
                    state.visit.finished(op_id, Err(shown));
                }
            }
            state.idle.activity(Instant::now());
        }
        self.render();
    }

    /// Prints the screen-only ticket on show, once; the page offers it when the printer is
    /// ready again.
    fn reprint_ticket(self: &Rc<Self>) {
        let ticket = {
            let mut state = self.state.borrow_mut();
            let printable = state.visit.step() == Step::Ticket && !state.reprinting;
            match state.ticket.clone() {
                Some(ticket) if printable && ticket.print != PrintResult::Printed => {
                    state.reprinting = true;
                    ticket
                }
                _ => return,
            }
        };
        let core = self.core.clone();
        let lang = self.state.borrow().visit.lang();
        let op_id = ticket.op_id;
        self.run(
            async move { core.reprint_ticket(ticket, lang).await },
            move |c, reprinted| {
                {
                    let mut state = c.state.borrow_mut();
                    state.reprinting = false;
                    // The visit may have ended meanwhile: then there is nothing to update.
                    if state.ticket.as_ref().is_some_and(|t| t.op_id == op_id) {
                        if reprinted.print == PrintResult::Printed {
                            state.screen_ticket_at = None;
                        }
                        state.ticket = Some(reprinted);
                    }
                    state.idle.activity(Instant::now());
                }
                c.render();
            },
        );
        self.render();
    }

    fn check_in_result(&self, op_id: uuid::Uuid, result: Result<IssuedTicket, LookupError>) {
        {
            let mut state = self.state.borrow_mut();
            match result {
                Ok(ticket) => {
                    if ticket.print != PrintResult::Printed {
                        state.screen_ticket_at = Some(Instant::now());
                    }
                    state.ticket = Some(ticket);
                    state.visit.finished(op_id, Ok(()));
                }
                Err(err) => {
                    state.visit.cancel_in_flight(op_id);
                    state.appointment_problem = lookup_problem(err);
                }
            }
        }
        self.render();
    }

    fn lookup_result(&self, result: Result<TicketLookup, LookupError>) {
        {
            let mut state = self.state.borrow_mut();
            match result {
                Ok(found) => {
                    state.status = Some(found);
                    state.status_problem = LookupProblem::None;
                }
                Err(err) => {
                    state.status = None;
                    state.status_problem = lookup_problem(err);
                }
            }
        }
        self.render();
    }

    fn login_started(&self, result: Result<LoginStarted, DocumentsError>) {
        {
            let mut state = self.state.borrow_mut();
            if state.visit.step() != Step::DocumentsLogin {
                // The visit moved on meanwhile: do not leave a session open.
                if let Ok(started) = result {
                    let core = self.core.clone();
                    self.runtime
                        .spawn(async move { core.end_login(started.session_id).await });
                }
                return;
            }
            match result {
                Ok(started) => {
                    state.docs.valid_until = Some(self.instant_of(started.expires_at));
                    state.docs.session_id = Some(started.session_id);
                    state.docs.qr = qr::image(&started.url);
                    state.docs.link = started.url;
                    state.docs.code = started.code;
                    state.docs.phase = LoginPhase::Waiting;
                }
                Err(DocumentsError::TooMany) => state.docs.phase = LoginPhase::TooMany,
                Err(_) => state.docs.phase = LoginPhase::Unavailable,
            }
        }
        self.render();
    }

    /// Asks the hub where the sign-in is (every other tick while on a documents page).
    fn poll_login(self: &Rc<Self>) {
        let session = {
            let mut state = self.state.borrow_mut();
            let on_documents = matches!(state.visit.step(), Step::DocumentsLogin | Step::Documents);
            state.ticks += 1;
            match state.docs.session_id {
                Some(id)
                    if on_documents && !state.docs.polling && state.ticks.is_multiple_of(2) =>
                {
                    state.docs.polling = true;
                    id
                }
                _ => return,
            }
        };
        let core = self.core.clone();
        self.run(
            async move { core.login_status(session).await },
            move |c, status| c.login_update(session, status),
        );
    }

    fn login_update(
        self: &Rc<Self>,
        session: uuid::Uuid,
        status: Result<crate::protocol::LoginSessionStatus, DocumentsError>,
    ) {
        let step = {
            let mut state = self.state.borrow_mut();
            state.docs.polling = false;
            if state.docs.session_id != Some(session) {
                return;
            }
            state.visit.step()
        };
        let Ok(status) = status else {
            return;
        };
        if matches!(status.state, LoginState::Pending | LoginState::SigningIn) {
            self.state.borrow_mut().docs.valid_until = Some(self.instant_of(status.expires_at));
        }
        match (status.state, step) {
            (LoginState::Pending, _) => self.state.borrow_mut().docs.phase = LoginPhase::Waiting,
            (LoginState::SigningIn, _) => {
                self.state.borrow_mut().docs.phase = LoginPhase::SigningIn
            }
            (LoginState::Failed, Step::DocumentsLogin) => {
                self.state.borrow_mut().docs.phase = LoginPhase::Failed
            }
            (LoginState::Expired | LoginState::Ended, Step::DocumentsLogin) => {
                self.state.borrow_mut().docs.phase = LoginPhase::Expired
            }
            // The signed-in session ran out while the documents were shown: sign out.
            (LoginState::Expired | LoginState::Ended | LoginState::Failed, _) => {
                self.wipe();
                return;
            }
            (LoginState::Authenticated, Step::DocumentsLogin) => {
                let lang = {
                    let mut state = self.state.borrow_mut();
                    if state.docs.loading {
                        return;
                    }
                    state.docs.loading = true;
                    state.docs.initials = status.initials.unwrap_or_default();
                    state.visit.lang()
                };
                let core = self.core.clone();
                self.run(
                    async move { core.my_documents(session, lang).await },
                    |c, documents| c.documents_loaded(documents),
                );
            }
            (LoginState::Authenticated, _) => {}
        }
        self.render();
    }

    fn documents_loaded(
        &self,
        documents: Result<
            (
                Vec<crate::protocol::ApplicationStatus>,
                Vec<crate::protocol::CertificateOffer>,
            ),
            DocumentsError,
        >,
    ) {
        {
            let mut state = self.state.borrow_mut();
            state.docs.loading = false;
            match documents {
                Ok((applications, certificates)) => {
                    state.docs.application_page = 0;
                    state.docs.applications = applications
                        .into_iter()
                        .map(|a| ApplicationItem {
                            title: a.title.into(),
                            status_text: a.status_text.into(),
                            last_change: a.last_change.format("%d/%m/%Y").to_string().into(),
                            next_step: a.next_step.into(),
                        })
                        .collect();
                    state.docs.certificates = certificates
                        .into_iter()
                        .map(|c| CertificateItem {
                            kind: c.kind.into(),
                            title: c.title.into(),
                        })
                        .collect();
                    state.visit.signed_in();
                    state.idle.activity(Instant::now());
                }
                Err(DocumentsError::Ended) => state.docs.phase = LoginPhase::Expired,
                Err(_) => state.docs.phase = LoginPhase::Unavailable,
            }
        }
        self.render();
    }

    fn certificate_result(&self, op: uuid::Uuid, result: Result<PrintResult, DocumentsError>) {
        {
            let mut state = self.state.borrow_mut();
            state.docs.result = match result {
                Ok(PrintResult::Printed) => CertificateResult::Printed,
                Ok(PrintResult::PaperOut) => CertificateResult::PaperOut,
                Ok(PrintResult::Fault) => CertificateResult::PrinterFault,
                Err(DocumentsError::PrinterUnavailable) => CertificateResult::PrinterUnavailable,
                Err(DocumentsError::NotAvailable) => CertificateResult::NotAvailable,
                Err(_) => CertificateResult::Failed,
            };
            // The core ended the session after printing; forget everything personal now.
            state.docs.session_id = None;
            state.docs.applications.clear();
            state.docs.certificates.clear();
            state.docs.initials.clear();
            state.visit.certificate_finished(op);
            state.idle.activity(Instant::now());
        }
        self.render();
    }

    /// Ends an open "my documents" session at the hub, without waiting.
    fn end_documents_session(&self) {
        if let Some(id) = self.state.borrow_mut().docs.session_id.take() {
            let core = self.core.clone();
            self.runtime.spawn(async move { core.end_login(id).await });
        }
    }

    /// Shows the out-of-service screen until the core says the kiosk may work again.
    pub fn out_of_service(self: &Rc<Self>) {
        self.state.borrow_mut().visit = Visit::out_of_service(self.settings.default_lang);
        self.render();
    }

    /// Ends the visit: every trace of it leaves memory and screen, and a signed-in
    /// session at the hub ends too.
    pub fn wipe(self: &Rc<Self>) {
        self.end_documents_session();
        self.narrator.borrow_mut().end_visit();
        {
            let mut state = self.state.borrow_mut();
            let room = state.home_room;
            *state = State::new(&self.settings);
            // The screen did not change size: the UI will not report it again.
            state.home_room = room;
        }
        if let Some(app) = self.window.upgrade() {
            let theme = app.global::<Theme>();
            theme.set_large_text(false);
            theme.set_high_contrast(false);
            app.global::<Kiosk>().set_idle_warning(false);
        }
        self.refresh_figures();
        self.render();
    }

    /// The local instant of a hub time (read on the kiosk's trusted clock), at most 15
    /// minutes ahead.
    fn instant_of(&self, at: chrono::DateTime<chrono::Utc>) -> Instant {
        let ahead = (at - self.core.clock().display_now())
            .to_std()
            .unwrap_or_default()
            .min(Duration::from_secs(15 * 60));
        Instant::now() + ahead
    }

    /// Seconds the sign-in code still works while the citizen is signing in; `None`
    /// otherwise.
    fn signing_in_for(&self, now: Instant) -> Option<Duration> {
        let state = self.state.borrow();
        let signing_in = state.visit.step() == Step::DocumentsLogin
            && matches!(
                state.docs.phase,
                LoginPhase::Waiting | LoginPhase::SigningIn
            );
        let until = state.docs.valid_until?;
        (signing_in && until > now).then(|| until - now)
    }

    /// Once a second: the clock, the kiosk's enabled state, and the idle timeout.
    pub fn tick(self: &Rc<Self>, now: Instant) {
        let Some(app) = self.window.upgrade() else {
            return;
        };
        let kiosk = app.global::<Kiosk>();
        kiosk.set_clock(self.core.clock_text().into());
        kiosk.set_online(self.core.is_online());
        kiosk.set_office_name(self.core.office_name().into());
        let disabled = self.core.is_disabled();
        let on_oos = self.state.borrow().visit.step() == Step::OutOfService;
        if disabled && !on_oos {
            self.out_of_service();
            if self.core.store_failed() {
                self.state.borrow_mut().problem_reference =
                    staff_code(super::core::TicketProblem::Store.reference()).into();
                self.render();
            }
            return;
        }
        if !disabled && on_oos {
            self.wipe();
            return;
        }
        let theme = app.global::<Theme>();
        let pristine = self
            .state
            .borrow()
            .visit
            .is_pristine(self.settings.default_lang)
            && !theme.get_large_text()
            && !theme.get_high_contrast();
        // An update's restart waits for the welcome screen.
        self.core.set_in_visit(!pristine);
        let signing_in = self.signing_in_for(now);
        kiosk.set_login_seconds_left(signing_in.map_or(0, |d| d.as_secs() as i32));
        let holding = {
            let state = self.state.borrow();
            state.visit.step() == Step::Ticket
                && super::idle::holds_screen_ticket(state.screen_ticket_at, now)
        };
        if pristine || signing_in.is_some() || holding {
            self.state.borrow_mut().idle.activity(now);
        }
        let idle = self.state.borrow().idle.state(now);
        match idle {
            IdleState::Expired => {
                tracing::info!("visit wiped after inactivity");
                self.wipe();
            }
            IdleState::Warning { seconds_left } => {
                let starting = !kiosk.get_idle_warning();
                if starting && self.settings.warning_sound {
                    super::sound::play_warning();
                }
                let changed = kiosk.get_idle_seconds_left() != seconds_left as i32;
                kiosk.set_idle_warning(true);
                kiosk.set_idle_seconds_left(seconds_left as i32);
                if starting {
                    // The voice says the warning too (EN 301 549 5.1.3.1).
                    self.render();
                } else if changed && seconds_left > 0 && seconds_left % 10 == 0 {
                    // And the countdown, every ten seconds.
                    self.narrator.borrow_mut().announce_countdown(seconds_left);
                }
            }
            IdleState::Active => {
                if kiosk.get_idle_warning() {
                    kiosk.set_idle_warning(false);
                    self.render();
                }
            }
        }
        kiosk.set_printer_stopped(self.printer_stopped());
        kiosk.set_printer_ready(self.printer_ready());
        if let Some(plugged) = self.core.headset_plugged() {
            // Plugging a headset in starts speech mode (EN 301 549 5.2).
            self.narrator.borrow_mut().set_headset(plugged);
            self.show_focus();
        }
        if self.core.figures_version() != self.rendered_figures.get() {
            self.render();
        }
        self.poll_login();
    }

    /// Whether the printer is known not to print now (no paper, cover open). An unknown
    /// state (not answering yet) is not announced: the print attempt will tell.
    fn printer_stopped(&self) -> bool {
        let (state, _) = self.core.printer().last_state();
        matches!(state, PrinterState::PaperOut | PrinterState::CoverOpen)
    }

    /// Whether the printer last said it can print (ready, or paper near its end).
    fn printer_ready(&self) -> bool {
        let (state, _) = self.core.printer().last_state();
        matches!(state, PrinterState::Ready | PrinterState::PaperNearEnd)
    }

    fn refresh_figures(self: &Rc<Self>) {
        let core = self.core.clone();
        self.run(
            async move { core.refresh_queue_figures().await },
            |c, ()| c.render(),
        );
    }

    /// Pushes the whole visit into the UI's properties.
    pub fn render(&self) {
        let Some(app) = self.window.upgrade() else {
            return;
        };
        let state = self.state.borrow();
        let visit = &state.visit;
        let lang = visit.lang();
        if let Err(err) = slint::select_bundled_translation(lang.code()) {
            tracing::warn!(?err, lang = lang.code(), "no bundled translation");
        }
        let kiosk = app.global::<Kiosk>();
        kiosk.set_language(lang.code().into());
        kiosk.set_language_name(lang.native_name().into());
        // The office's own words, set apart in a right-to-left sentence.
        kiosk.set_front_desk(crate::lang::isolate(lang, &self.settings.front_desk).into());
        app.global::<Theme>().set_rtl(lang.is_rtl());
        kiosk.set_online(self.core.is_online());
        let (page, problem) = match visit.step() {
            Step::Welcome => (Page::Welcome, None),
            Step::Identify => (Page::Identify, None),
            Step::Confirm => (Page::Confirm, None),
            Step::Printing => (Page::Printing, None),
            Step::Ticket => (Page::Ticket, None),
            Step::Status => (Page::Status, None),
            Step::Appointment => (Page::Appointment, None),
            Step::DocumentsLogin => (Page::DocumentsLogin, None),
            Step::Documents => (Page::Documents, None),
            Step::CertificateDone => (Page::CertificateDone, None),
            Step::Problem(p) => (Page::Problem, Some(p)),
            Step::OutOfService => (Page::OutOfService, None),
        };
        let page = if visit.choosing_language() {
            Page::Language
        } else {
            page
        };
        kiosk.set_page(page);
        if let Some(p) = problem {
            kiosk.set_problem(match p {
                Problem::HubUnreachable => UiProblem::HubUnreachable,
                Problem::ServiceClosed => UiProblem::ServiceClosed,
                Problem::TicketNotFound => UiProblem::TicketNotFound,
                Problem::AppointmentNotFound => UiProblem::AppointmentNotFound,
                Problem::Failed => UiProblem::Failed,
            });
        }
        // A service found closed on the kiosk itself has the same code as the hub's refusal.
        let reference = match problem {
            Some(Problem::ServiceClosed) if state.problem_reference.is_empty() => {
                staff_code(crate::protocol::errors::SERVICE_CLOSED)
            }
            _ => state.problem_reference.as_str(),
        };
        kiosk.set_problem_reference(reference.into());

        self.rendered_figures.set(self.core.figures_version());
        let figures = self.core.queue_figures();
        let catalogue = self.core.catalogue();
        let room = home_room(&app.global::<Theme>(), state.home_room);
        let rows = home_rows(&catalogue, lang, &figures, &room, visit.home_page());
        let extras = spoken::Extras {
            rows: &rows,
            printer_ready: self.printer_ready(),
            idle_warning: kiosk
                .get_idle_warning()
                .then(|| kiosk.get_idle_seconds_left()),
            applications_per_page: applications_per_page(app.global::<Theme>().get_large_text()),
        };
        let screen = spoken::screen(&state, &extras);
        self.narrator.borrow_mut().show(screen, lang);
        self.show_focus();
        kiosk.set_home_rows(ModelRc::new(VecModel::from(rows)));
        kiosk.set_figures_age(figures.cached_at.clone().unwrap_or_default().into());
        if let Some(service) = visit.service() {
            kiosk.set_selected(service_item(service, lang, &figures));
        }

        kiosk.set_cf_text(visit.cf_text().into());
        let (cf_problem, position, found) = cf_problem(visit.cf_error());
        kiosk.set_cf_problem(cf_problem);
        kiosk.set_cf_position(position);
        kiosk.set_cf_found(found.into());
        kiosk.set_cf_hint(
            visit
                .cf_error()
                .and_then(CfError::hint)
                .map(|h| h.to_string())
                .unwrap_or_default()
                .into(),
        );
        kiosk.set_cf_valid(visit.cf_valid().is_some());
        kiosk.set_cf_masked(
            visit
                .identified()
                .map(|c| c.masked().to_string())
                .unwrap_or_default()
                .into(),
        );
        kiosk.set_priority(visit.priority());
        kiosk.set_busy(visit.busy());
        kiosk.set_printer_stopped(self.printer_stopped());
        kiosk.set_printer_ready(self.printer_ready());
        kiosk.set_reprinting(state.reprinting);
        kiosk.set_printing_certificate(visit.printing_certificate());

        if let Some(ticket) = &state.ticket {
            kiosk.set_ticket(ticket_view(ticket, lang));
            kiosk.set_print_note(match ticket.print {
                PrintResult::Printed => PrintNote::Printed,
                PrintResult::PaperOut => PrintNote::PaperOut,
                PrintResult::Fault => PrintNote::PrinterFault,
            });
        } else {
            kiosk.set_ticket(TicketView::default());
        }

        kiosk.set_status_text(visit.status_text().into());
        kiosk.set_status_problem(state.status_problem);
        kiosk.set_status_found(state.status.is_some());
        kiosk.set_status_ticket(
            state
                .status
                .as_ref()
                .map(|s| lookup_view(s, &catalogue, lang))
                .unwrap_or_default(),
        );
        let docs = &state.docs;
        kiosk.set_login_qr(docs.qr.clone());
        kiosk.set_login_link(docs.link.as_str().into());
        kiosk.set_login_code(docs.code.as_str().into());
        kiosk.set_login_phase(docs.phase);
        kiosk.set_initials(crate::lang::isolate(lang, &docs.initials).into());
        let large_text = app.global::<Theme>().get_large_text();
        let per_page = applications_per_page(large_text);
        let (shown, others) = page_of(&docs.applications, docs.application_page, per_page);
        kiosk.set_applications(ModelRc::new(VecModel::from(shown.to_vec())));
        kiosk.set_applications_others(others as i32);
        kiosk.set_certificates(ModelRc::new(VecModel::from(docs.certificates.clone())));
        kiosk.set_certificate_result(docs.result);
        kiosk.set_appointment_text(visit.appointment_text().into());
        kiosk.set_appointment_problem(state.appointment_problem);
    }
}

fn lookup_problem(err: LookupError) -> LookupProblem {
    match err {
        LookupError::NotFound => LookupProblem::NotFound,
        LookupError::Unreachable => LookupProblem::Unreachable,
    }
}

fn cf_problem(err: Option<&CfError>) -> (CfProblem, i32, String) {
    match err {
        None | Some(CfError::Empty | CfError::TooShort { .. } | CfError::TooLong { .. }) => {
            (CfProblem::None, 0, String::new())
        }
        Some(CfError::WrongCharacter {
            position,
            found,
            expected,
        }) => (
            match expected {
                Expected::Digit => CfProblem::WantDigit,
                Expected::Letter => CfProblem::WantLetter,
                Expected::MonthLetter => CfProblem::WantMonth,
            },
            *position as i32,
            found.to_string(),
        ),
        Some(CfError::NotAlphanumeric { position, found }) => {
            (CfProblem::WantLetter, *position as i32, found.to_string())
        }
        Some(CfError::InvalidDay { .. }) => (CfProblem::BadDay, 10, String::new()),
        Some(CfError::CheckLetter) => (CfProblem::CheckLetter, 16, String::new()),
    }
}

/// The room of the home screen's list (`available`, as the UI measured it) with the
/// heights of its rows in the current display mode.
pub fn home_room(theme: &Theme<'_>, available: f32) -> home::Room {
    home::Room {
        available,
        heading: theme.get_heading_height(),
        service: theme.get_tile_height(),
        more: theme.get_more_height(),
        gap: theme.get_gap(),
    }
}

/// The home screen's rows: page `page` (wrapping around) of the INPS and job-centre
/// services, cut to fit `room`.
pub fn home_rows(
    catalogue: &crate::catalogue::Catalogue,
    lang: Lang,
    figures: &QueueFigures,
    room: &home::Room,
    page: usize,
) -> Vec<HomeRow> {
    let services: Vec<&Service> = [Agency::Inps, Agency::Cpi]
        .into_iter()
        .flat_map(|a| catalogue.by_agency(a))
        .collect();
    let agencies: Vec<Agency> = services.iter().map(|s| s.agency).collect();
    let pages = home::pages(&agencies, room);
    let Some(rows) = pages.get(page % pages.len().max(1)) else {
        return Vec::new();
    };
    rows.iter()
        .map(|row| match *row {
            home::HomeRow::Heading(agency) => HomeRow {
                kind: HomeRowKind::Heading,
                agency: ui_agency(agency),
                ..HomeRow::default()
            },
            home::HomeRow::Service(i) => HomeRow {
                kind: HomeRowKind::Service,
                agency: ui_agency(services[i].agency),
                service: service_item(services[i], lang, figures),
                ..HomeRow::default()
            },
            home::HomeRow::More { others } => HomeRow {
                kind: HomeRowKind::More,
                others: others as i32,
                ..HomeRow::default()
            },
        })
        .collect()
}

fn ui_agency(agency: Agency) -> UiAgency {
    match agency {
        Agency::Inps => UiAgency::Inps,
        Agency::Cpi => UiAgency::Cpi,
        Agency::Office => UiAgency::Office,
    }
}

/// A service as the UI shows it: names in `lang`, its queue from `figures`.
pub fn service_item(service: &Service, lang: Lang, figures: &QueueFigures) -> ServiceItem {
    let queue = figures.queue(&service.code);
    ServiceItem {
        code: service.code.as_str().into(),
        prefix: service.prefix.to_string().into(),
        name: service.name(lang).into(),
        description: service.description(lang).into(),
        agency: ui_agency(service.agency),
        waiting: queue.map_or(-1, |q| q.waiting as i32),
        eta_minutes: queue.map_or(0, |q| q.eta_minutes as i32),
        open: figures.is_open(&service.code),
        icon: pictogram::glyph(service.pictogram).to_string().into(),
        priority_offered: service.priority,
        identification_offered: service.identification,
    }
}

fn ticket_view(ticket: &IssuedTicket, lang: Lang) -> TicketView {
    TicketView {
        number: ticket.number.as_str().into(),
        service: ticket.service_name.as_str().into(),
        priority: ticket.priority,
        position: ticket.people_ahead.map_or(-1, |p| p as i32),
        eta_minutes: ticket.eta_minutes.map_or(0, |e| e as i32),
        issued_at: ticket.issued_at.format("%H:%M").to_string().into(),
        waiting_area: crate::lang::isolate(
            lang,
            ticket.waiting_area.as_deref().unwrap_or_default(),
        )
        .into(),
        url: ticket.url.as_str().into(),
        qr: qr::image(&ticket.url),
        printed: ticket.print == PrintResult::Printed,
        offline: ticket.offline,
        emergency: ticket.emergency,
        status: "waiting".into(),
        counter: SharedString::new(),
    }
}

fn lookup_view(
    found: &TicketLookup,
    catalogue: &crate::catalogue::Catalogue,
    lang: Lang,
) -> TicketView {
    TicketView {
        number: found.number.as_str().into(),
        service: catalogue
            .service(&found.service)
            .map(|s| s.name(lang).to_string())
            .unwrap_or_default()
            .into(),
        priority: found.priority,
        position: found.people_ahead.map_or(-1, |p| p as i32),
        eta_minutes: found.eta_minutes.map_or(0, |e| e as i32),
        status: found.status.as_str().into(),
        counter: found.counter.clone().unwrap_or_default().into(),
        ..TicketView::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_come_a_page_at_a_time_and_none_is_lost() {
        let five = [1, 2, 3, 4, 5];
        assert_eq!(page_of(&five, 0, 2), (&five[..2], 3));
        assert_eq!(page_of(&five, 1, 2), (&five[2..4], 3));
        assert_eq!(page_of(&five, 2, 2), (&five[4..], 4));
        assert_eq!(
            page_of(&five, 3, 2),
            (&five[..2], 3),
            "then the first again"
        );
        assert_eq!(
            page_of(&five, 4, 1),
            (&five[4..], 4),
            "one a page in large text"
        );
        assert_eq!(
            page_of(&five[..2], 0, 2),
            (&five[..2], 0),
            "no button for two"
        );
        assert_eq!(page_of::<u8>(&[], 0, 2), (&[][..], 0));
        assert_eq!(applications_per_page(false), 2);
        assert_eq!(applications_per_page(true), 1);
        for per_page in 1..4 {
            let mut seen: Vec<i32> = (0..5)
                .flat_map(|p| page_of(&five, p, per_page).0.to_vec())
                .collect();
            seen.truncate(5);
            assert_eq!(seen, five, "every application, in order, {per_page} a page");
        }
    }
}
