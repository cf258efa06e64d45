use slint::ComponentHandle;
use sportello::*;
fn main() {
    slint::platform::set_platform(Box::new(i_slint_backend_testing::TestingBackend::new(
        i_slint_backend_testing::TestingBackendOptions { mock_time: true, threading: false, renderer_name: Some("software".into()) },
    ))).unwrap();
    let app = KioskWindow::new().unwrap();
    app.window().set_size(slint::PhysicalSize::new(1080, 1920));
    let k = app.global::<Kiosk>();
    k.set_office_name("Sportello integrato INPS - CPI Roma Tuscolano".into());
    k.set_clock("10:42".into());
    k.set_languages(std::rc::Rc::new(slint::VecModel::from(vec![LanguageItem{code:"it".into(), name:"Italiano".into()}, LanguageItem{code:"en".into(), name:"English".into()}])).into());
    let page = std::env::args().nth(1).unwrap_or("welcome".into());
    k.set_page(match page.as_str() { "identify" => Page::Identify, "agency" => Page::Agency, "priority"=>Page::Priority, _ => Page::Welcome });
    k.set_cf_text("RSSMRA45C12F2O".into());
    k.set_cf_message("il carattere 14 ('O') deve essere una cifra (forse '0'?)".into());
    app.show().unwrap();
    let t = std::time::Instant::now();
    let snap = app.window().take_snapshot().unwrap();
    eprintln!("render {:?}", t.elapsed());
    image::save_buffer("/tmp/peek.png", snap.as_bytes(), snap.width(), snap.height(), image::ExtendedColorType::Rgba8).unwrap();
}
