//! A kiosk for UI flow tests: the real core, store and sync worker, a virtual printer on a
//! pseudo-terminal, a simulated board, enrolled to a real hub on loopback; the Slint
//! window under the headless testing backend.

use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::{ElementHandle, ElementQuery};
use slint::ComponentHandle;
use sportello::config::kiosk::{KioskConfig, SystemClockTrust};
use sportello::hub::admin;
use sportello::kiosk::controller::{Controller, UiSettings};
use sportello::kiosk::run::{self, RunningKiosk};
use sportello::lang::Lang;
use sportello::speech::recording::RecordingSpeech;
use sportello::sync::worker::Intervals;
use sportello::ui::{Kiosk, KioskWindow, Page};

/// Worker intervals short enough for tests.
pub fn fast_intervals() -> Intervals {
    Intervals {
        heartbeat: Duration::from_millis(500),
        queues: Duration::from_millis(500),
        bands: Duration::from_millis(500),
        purge: Duration::from_secs(3600),
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(800),
    }
}

/// A kiosk config in `dir`, enrolled to the hub at `url` with a fresh token from `db`.
pub fn kiosk_config(dir: &std::path::Path, url: &str, hub_db: &std::path::Path) -> KioskConfig {
    let token = admin::create_enrollment_token(hub_db).expect("enrollment token");
    let mut config = KioskConfig {
        kiosk_id: "test-kiosk".into(),
        data_dir: dir.to_path_buf(),
        ..KioskConfig::default()
    };
    config.hub.url = url.to_string();
    config.hub.enrollment_token = Some(token);
    config.clock.trust_system = SystemClockTrust::Always;
    config
}

/// The window and the parts behind it.
pub struct UiKiosk {
    pub kiosk: RunningKiosk,
    pub app: KioskWindow,
    pub controller: Rc<Controller>,
    pub data_dir: PathBuf,
    /// Everything the kiosk was asked to say.
    pub speech: RecordingSpeech,
}

/// Starts the kiosk's parts and its window (shown), with the given idle timings.
pub fn start_ui(config: KioskConfig, idle_after: Duration, warn_for: Duration) -> UiKiosk {
    let data_dir = config.data_dir.clone();
    let kiosk = run::start(config, fast_intervals()).expect("kiosk starts");
    let app = KioskWindow::new().expect("window");
    let speech = RecordingSpeech::new();
    app.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    let controller = Controller::attach(
        &app,
        kiosk.core.clone(),
        kiosk.runtime.handle().clone(),
        UiSettings {
            default_lang: Lang::IT,
            idle_after,
            warn_for,
            px_per_mm: 1080.0 / 268.0,
            warning_sound: false,
            front_desk: "piano terra, a destra dell'ingresso".into(),
            lower_edge_mm: 1000.0,
            logo: None,
        },
        std::sync::Arc::new(speech.clone()),
    );
    app.show().expect("show");
    UiKiosk {
        kiosk,
        app,
        controller,
        data_dir,
        speech,
    }
}

/// Sleeps on the Slint event loop (timers and results keep running meanwhile).
pub async fn sleep(duration: Duration) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    slint::Timer::single_shot(duration, move || {
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// Waits until `condition` holds, polling every 20 ms; panics with `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        sleep(Duration::from_millis(20)).await;
    }
}

/// Today's office day in Rome.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Rome)
        .date_naive()
}

impl UiKiosk {
    /// A second connection to the kiosk's store, to check what it recorded.
    pub fn store(&self) -> sportello::store::Store {
        sportello::store::Store::open(&self.data_dir.join("kiosk.sqlite")).unwrap()
    }

    /// Whether the kiosk has enrolled at its hub (it holds a token).
    pub fn enrolled(&self) -> bool {
        self.store().meta("hub_token").ok().flatten().is_some()
    }

    /// The `Kiosk` global.
    pub fn kiosk(&self) -> Kiosk<'_> {
        self.app.global::<Kiosk>()
    }

    /// The page shown.
    pub fn page(&self) -> Page {
        self.kiosk().get_page()
    }

    /// Activates the element with this accessible label, as a screen reader or a touch
    /// would; fails if there is none or it is disabled.
    pub fn press(&self, label: &str) {
        let found: Vec<ElementHandle> =
            ElementHandle::find_by_accessible_label(&self.app, label).collect();
        let element = found
            .iter()
            .find(|e| e.accessible_enabled() != Some(false))
            .unwrap_or_else(|| {
                panic!("no enabled element labelled {label:?} on {:?}", self.page())
            });
        element.invoke_accessible_default_action();
    }

    /// Whether some element has exactly this accessible label.
    pub fn shows(&self, label: &str) -> bool {
        ElementHandle::find_by_accessible_label(&self.app, label)
            .next()
            .is_some()
    }

    /// Whether some element's accessible label contains `text`.
    pub fn shows_text(&self, text: &str) -> bool {
        let text = text.to_string();
        ElementQuery::from_root(&self.app)
            .match_descendants()
            .match_predicate(move |e| e.accessible_label().is_some_and(|l| l.contains(&text)))
            .find_first()
            .is_some()
    }

    /// Touches the tile of service `name` on the home screen, turning its pages with
    /// "More services" until it shows; returns how many touches that took.
    pub async fn press_service(&self, name: &str) -> usize {
        for touches in 1..=6 {
            if self.shows(name) {
                self.press(name);
                return touches;
            }
            let more = ElementQuery::from_root(&self.app)
                .match_descendants()
                .match_predicate(|e| {
                    e.accessible_label().is_some_and(|l| {
                        l.starts_with("More services") || l.starts_with("Altri servizi")
                    })
                })
                .find_first()
                .unwrap_or_else(|| panic!("{name:?} not on the home screen and no more pages"));
            more.invoke_accessible_default_action();
            sleep(Duration::from_millis(50)).await;
        }
        panic!("{name:?} not found on any page of the home screen");
    }

    /// Types `text` on the on-screen keyboard, key by key.
    pub fn type_keys(&self, text: &str) {
        for c in text.chars() {
            self.press(&c.to_string());
        }
    }

    /// Delivers a barcode scan as a keyboard-wedge scanner types it.
    pub fn scan(&self, text: &str) {
        self.kiosk().invoke_key_input(format!("{text}\n").into());
    }

    /// A tap on a keypad key (`sportello::kiosk::keypad::sent`): pressed and released.
    pub fn key(&self, text: &str) {
        use slint::platform::WindowEvent;
        let text: slint::SharedString = text.into();
        let window = self.app.window();
        window.dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
        window.dispatch_event(WindowEvent::KeyReleased { text });
    }

    /// Holds a keypad key down for `held` (with auto-repeat, as a keyboard sends), then
    /// releases it.
    pub async fn hold(&self, text: &str, held: Duration) {
        use slint::platform::WindowEvent;
        let text: slint::SharedString = text.into();
        self.app
            .window()
            .dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
        let start = Instant::now();
        while start.elapsed() < held {
            sleep(Duration::from_millis(100)).await;
            self.app
                .window()
                .dispatch_event(WindowEvent::KeyPressRepeated { text: text.clone() });
        }
        self.app
            .window()
            .dispatch_event(WindowEvent::KeyReleased { text });
    }

    /// A finger held on the screen at (`x`, `y`) logical pixels for `held`.
    pub async fn press_screen(&self, x: f32, y: f32, held: Duration) {
        use slint::platform::{PointerEventButton, WindowEvent};
        let position = slint::LogicalPosition::new(x, y);
        let window = self.app.window();
        window.dispatch_event(WindowEvent::PointerMoved { position });
        window.dispatch_event(WindowEvent::PointerPressed {
            position,
            button: PointerEventButton::Left,
        });
        sleep(held).await;
        self.app
            .window()
            .dispatch_event(WindowEvent::PointerReleased {
                position,
                button: PointerEventButton::Left,
            });
    }

    /// Waits for `page`.
    pub async fn wait_page(&self, page: Page, limit: Duration) {
        wait_until(&format!("page {page:?}"), limit, || self.page() == page).await;
    }
}

/// Runs `flow` inside the Slint event loop of this (one-test) process and fails the test
/// if it panics.
pub fn run_flow<F: Future<Output = ()> + 'static>(flow: F) {
    let outcome = Rc::new(std::cell::RefCell::new(None::<bool>));
    let done = outcome.clone();
    slint::spawn_local(async move {
        let result =
            futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(flow)).await;
        *done.borrow_mut() = Some(result.is_ok());
        let _ = slint::quit_event_loop();
    })
    .expect("spawn flow");
    slint::run_event_loop_until_quit().expect("event loop");
    assert_eq!(
        *outcome.borrow(),
        Some(true),
        "the flow failed (see the panic above)"
    );
}

/// Stops a test hub's server but keeps its database and port for `restart`.
pub async fn pause_hub(hub: &mut super::TestHub) {
    if let Some(running) = hub.hub.take() {
        hub.config.listen = running.addr;
        running.shutdown().await;
    }
}
