//! Compiles the Slint UI, in kiosk builds only (the hub carries no Slint). Debug info is
//! kept so tests can find elements by their accessible labels; translations are bundled so
//! the language can switch at runtime without gettext or environment variables.

#[cfg(feature = "kiosk")]
fn font_dir() -> std::path::PathBuf {
    println!("cargo:rerun-if-env-changed=SPORTELLO_FONT_DIR");
    std::env::var_os("SPORTELLO_FONT_DIR")
        .map(Into::into)
        .unwrap_or_else(|| "/usr/share/fonts/truetype/dejavu".into())
}

#[cfg(not(feature = "kiosk"))]
fn main() {}

#[cfg(feature = "kiosk")]
fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_style("fluent-light".into())
        // The UI embeds DejaVu Sans (Debian's fonts-dejavu-core, installed by
        // scripts/setup) so every kiosk and every screenshot uses the same font.
        .with_include_paths(vec![font_dir()])
        .with_debug_info(true)
        .with_bundled_translations("ui/translations")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    if let Err(err) = slint_build::compile_with_config("ui/app.slint", config) {
        eprintln!("ui/app.slint: {err}");
        std::process::exit(1);
    }
}
