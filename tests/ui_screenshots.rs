//! Every kiosk screen, in Italian and English, in the normal, large-text and
//! high-contrast modes, rendered headlessly with Slint's software renderer for the 21.5"
//! totem panel and compared with the reference PNGs in `tests/screenshots/` (kept in the
//! repository so a reviewer can look at every screen; kiosk.toml refuses smaller panels, so
//! there is no 15.6" set any more). A screen passes when at most 0.5% of
//! its pixels differ noticeably. After a deliberate UI change, regenerate them with
//! `SPORTELLO_BLESS=1 cargo test --test ui_screenshots` and review the images.

mod common;

use std::path::{Path, PathBuf};

use common::{Mode, Panel, SCREENS, Screens, TOTEM};
use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use slint::ComponentHandle;
use sportello::lang::Lang;
use sportello::ui::KioskWindow;

/// Screens are drawn at half the panel's resolution to keep the PNGs small.
const SCALE: f32 = 0.5;

fn reference_dir(panel: Panel) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots");
    // Another supported panel would keep its own set beside the totem's.
    if panel == TOTEM {
        dir
    } else {
        dir.join(panel.name)
    }
}

/// Writes `image` as a 256-colour PNG: flat UI colours and their anti-aliased edges
/// survive within the comparison's tolerance, at about a third of the size.
fn save_indexed(image: &image::RgbaImage, path: &Path) {
    let quant = color_quant::NeuQuant::new(10, 256, image.as_raw());
    let palette = quant.color_map_rgba();
    let indices: Vec<u8> = image
        .as_raw()
        .chunks_exact(4)
        .map(|px| quant.index_of(px) as u8)
        .collect();
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut encoder = png::Encoder::new(file, image.width(), image.height());
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let rgb: Vec<u8> = palette
        .chunks_exact(4)
        .flat_map(|c| [c[0], c[1], c[2]])
        .collect();
    encoder.set_palette(rgb);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&indices).unwrap();
}

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

// In two halves, each on its own test thread: the two cores share the rendering.
#[test]
fn every_screen_matches_its_reference_in_every_language_first_half() {
    matches_references(0);
}

#[test]
fn every_screen_matches_its_reference_in_every_language_second_half() {
    matches_references(1);
}

/// Renders and compares the half `half` (0 or 1) of the (language, display mode) pairs.
fn matches_references(half: usize) {
    let bless = std::env::var_os("SPORTELLO_BLESS").is_some();
    let mut pair = 0;
    let mut failures = Vec::new();
    let mut problems = Vec::new();
    let sets = [(
        TOTEM,
        vec![Mode::NORMAL, Mode::LARGE_TEXT, Mode::HIGH_CONTRAST],
    )];
    for (panel, modes) in sets {
        let screens = Screens::new(panel, SCALE);
        let dir = reference_dir(panel);
        std::fs::create_dir_all(&dir).unwrap();
        // SPORTELLO_ONLY=welcome,ticket:ar,fr renders just those (to look at or bless a few).
        let only = std::env::var("SPORTELLO_ONLY").unwrap_or_default();
        let (only_screens, only_langs) = only.split_once(':').unwrap_or((only.as_str(), ""));
        let wanted = |list: &str, item: &str| list.is_empty() || list.split(',').any(|x| x == item);
        for lang in Lang::all().filter(|l| wanted(only_langs, l.code())) {
            // Every page in every language; the display modes (which change sizes and
            // colours, not words) in Italian and English.
            let modes = if [Lang::IT, Lang::EN].contains(&lang) {
                modes.clone()
            } else {
                vec![Mode::NORMAL]
            };
            for mode in &modes {
                pair += 1;
                if pair % 2 != half {
                    continue;
                }
                for screen in SCREENS.iter().filter(|s| wanted(only_screens, s)) {
                    screens.prepare(screen, lang, *mode);
                    let name = format!("{screen}{}-{}", mode.suffix(), lang.code());
                    problems.extend(accessibility_problems(&screens.app, &name, panel));
                    let shot = screens.app.window().take_snapshot().unwrap();
                    let image = image::RgbaImage::from_raw(
                        shot.width(),
                        shot.height(),
                        shot.as_bytes().to_vec(),
                    )
                    .unwrap();
                    assert_eq!(
                        image.dimensions(),
                        ((1080.0 * SCALE) as u32, (1920.0 * SCALE) as u32),
                        "rendered size"
                    );
                    let path = dir.join(format!("{name}.png"));
                    if bless || !path.exists() {
                        save_indexed(&image, &path);
                        if !bless {
                            failures.push(format!("{}: no reference, written now", path.display()));
                        }
                        continue;
                    }
                    let reference = image::open(&path).unwrap().to_rgba8();
                    let share = differing_share(&image, &reference);
                    if share > 0.005 {
                        let actual = std::env::temp_dir().join(format!("actual-{name}.png"));
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
/// target of at least 15 mm on the panel.
fn accessibility_problems(app: &KioskWindow, screen: &str, panel: Panel) -> Vec<String> {
    let min = 15.0 * panel.px_per_mm - 0.5;
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
        let at = format!("{screen} {:?} {label:?}", control.accessible_role());
        if label.trim().is_empty() {
            problems.push(format!("{at}: no accessible label"));
        }
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
