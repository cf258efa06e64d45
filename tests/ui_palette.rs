//! Text contrast of the kiosk's palette, read from the real UI's `Theme` global, in the
//! normal and the high-contrast mode: every text colour against every background it is
//! drawn on reaches 4.5:1 (WCAG 1.4.3), and control borders 3:1 (WCAG 1.4.11).

use slint::{Color, ComponentHandle};
use sportello::ui::{KioskWindow, Theme};

fn channel(c: u8) -> f64 {
    let c = f64::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn luminance(c: Color) -> f64 {
    0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())
}

fn contrast(a: Color, b: Color) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn contrast_formula_matches_known_values() {
    let black = Color::from_rgb_u8(0, 0, 0);
    let white = Color::from_rgb_u8(255, 255, 255);
    assert!((contrast(black, white) - 21.0).abs() < 0.01);
    let grey = Color::from_rgb_u8(0x76, 0x76, 0x76);
    assert!((contrast(grey, white) - 4.54).abs() < 0.02);
}

#[test]
fn every_text_and_background_pair_reaches_the_minimum() {
    i_slint_backend_testing::init_no_event_loop();
    let app = KioskWindow::new().unwrap();
    let theme = app.global::<Theme>();
    let mut failures = Vec::new();
    for high_contrast in [false, true] {
        theme.set_high_contrast(high_contrast);
        let text_pairs = [
            (
                "text on background",
                theme.get_text(),
                theme.get_background(),
            ),
            ("text on surface", theme.get_text(), theme.get_surface()),
            (
                "muted text on background",
                theme.get_muted_text(),
                theme.get_background(),
            ),
            (
                "muted text on surface",
                theme.get_muted_text(),
                theme.get_surface(),
            ),
            (
                "primary button",
                theme.get_on_primary(),
                theme.get_primary(),
            ),
            ("INPS button", theme.get_on_agency(), theme.get_inps()),
            ("job centre button", theme.get_on_agency(), theme.get_cpi()),
            (
                "secondary button / keys",
                theme.get_on_secondary(),
                theme.get_secondary(),
            ),
            (
                "disabled button",
                theme.get_on_disabled(),
                theme.get_disabled_bg(),
            ),
            ("warning", theme.get_warning_text(), theme.get_warning_bg()),
            (
                "error message",
                theme.get_error_text(),
                theme.get_error_bg(),
            ),
            ("valid message", theme.get_ok_text(), theme.get_background()),
            ("header", theme.get_on_header(), theme.get_header_bg()),
            (
                "selected header button",
                theme.get_header_bg(),
                theme.get_on_header(),
            ),
        ];
        for (what, fg, bg) in text_pairs {
            let ratio = contrast(fg, bg);
            if ratio < 4.5 {
                failures.push(format!(
                    "{what} (high contrast {high_contrast}): {ratio:.2}:1"
                ));
            }
        }
        let borders = [
            (
                "outline on background",
                theme.get_outline(),
                theme.get_background(),
            ),
            (
                "outline on surface",
                theme.get_outline(),
                theme.get_surface(),
            ),
            (
                "valid field border",
                theme.get_ok_text(),
                theme.get_surface(),
            ),
        ];
        for (what, fg, bg) in borders {
            let ratio = contrast(fg, bg);
            if ratio < 3.0 {
                failures.push(format!(
                    "{what} (high contrast {high_contrast}): {ratio:.2}:1"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "contrast too low:\n{}",
        failures.join("\n")
    );
}

#[test]
fn text_and_targets_have_physical_sizes_for_arm_length() {
    i_slint_backend_testing::init_no_event_loop();
    let app = KioskWindow::new().unwrap();
    let theme = app.global::<Theme>();
    // Two panels the screens fit (kiosk.toml refuses smaller ones): the default 21.5"
    // and a 23.8" one, both full HD in portrait.
    for px_per_mm in [1080.0 / 268.0, 1080.0 / 296.0] {
        theme.set_px_per_mm(px_per_mm);
        for large in [false, true] {
            theme.set_large_text(large);
            // Titillium Web capitals are 0.692 em: the capital height in millimetres.
            let cap_mm = |size: f32| size * 0.692 / px_per_mm;
            let body = cap_mm(theme.get_body_size());
            assert!(
                body >= 7.0,
                "body capitals {body:.2} mm at {px_per_mm} px/mm"
            );
            assert!(cap_mm(theme.get_title_size()) > body);
            if large {
                assert!(
                    body >= 9.0,
                    "large text mode is clearly larger: {body:.2} mm"
                );
            }
        }
        let target = theme.get_target() / px_per_mm;
        assert!(target >= 15.0, "touch target {target:.1} mm");
    }
}
