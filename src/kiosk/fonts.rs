//! Fonts for the scripts the UI's embedded fonts lack (Arabic, Chinese, and Cyrillic in
//! Noto's design), loaded from the image at start instead of embedded in the binary:
//! Noto Sans CJK alone is 19 MB a weight (BENCHMARKS.md, "Fonts"). Each language
//! folder names its files (`[fonts]` in language.toml); they become the text engine's
//! fallback for that script, so a Text in any page draws them without naming them.
//!
//! A missing file is a warning naming the Debian package, never a failure: the page
//! still works, that script's letters show as boxes, and `sportello doctor` says why.

use std::sync::Arc;

use slint::fontique_011::fontique;

use crate::lang::Lang;

/// A font file a language asks for that is not on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingFont {
    pub lang: Lang,
    pub path: &'static str,
    pub package: &'static str,
}

/// The font files of every shipped language that cannot be read.
pub fn missing() -> Vec<MissingFont> {
    Lang::all()
        .flat_map(|lang| lang.fonts().iter().map(move |path| (lang, *path)))
        .filter(|(_, path)| !std::path::Path::new(path).is_file())
        .map(|(lang, path)| MissingFont {
            lang,
            path,
            package: lang.font_package(),
        })
        .collect()
}

/// The Unicode script property value the text engine's fallback is keyed by: ISO
/// 15924 `Hans`/`Hant` are written in `Hani` characters. `None` for a code that is not
/// four ASCII letters (build.rs refuses those).
fn unicode_script(iso: &str) -> Option<[u8; 4]> {
    let iso = match iso {
        "Hans" | "Hant" => "Hani",
        other => other,
    };
    iso.as_bytes().try_into().ok()
}

/// Registers every language's fonts with Slint as fallbacks for its script, once per
/// process; call after the window exists (Slint's font collection lives with its backend).
pub fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(register_now);
}

fn register_now() {
    let mut collection = slint::fontique_011::shared_collection();
    for lang in Lang::all().filter(|l| !l.fonts().is_empty()) {
        let mut families = Vec::new();
        for path in lang.fonts() {
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(err) => {
                    tracing::warn!(
                        lang = lang.code(),
                        path,
                        package = lang.font_package(),
                        %err,
                        "font missing: that script shows as boxes (install the package)"
                    );
                    continue;
                }
            };
            let registered = collection.register_fonts(fontique::Blob::new(Arc::new(bytes)), None);
            for (family, _) in registered {
                let wanted = lang.font_family().is_empty()
                    || collection.family_name(family) == Some(lang.font_family());
                if wanted && !families.contains(&family) {
                    families.push(family);
                }
            }
        }
        if let Some(script) = unicode_script(lang.script()) {
            let key = fontique::FallbackKey::new(fontique::Script::from_bytes(script), None);
            collection.append_fallbacks(key, families.into_iter());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_falls_back_by_its_unicode_script() {
        assert_eq!(unicode_script("Hans"), Some(*b"Hani"));
        assert_eq!(unicode_script("Arab"), Some(*b"Arab"));
        assert_eq!(unicode_script("Arabic"), None);
    }
}
