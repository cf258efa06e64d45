//! Sentences drawn as 1-bit pictures, for scripts no printer code page holds.
//!
//! A thermal printer's fonts stop at single-byte code pages: Arabic needs each letter in
//! the form its neighbours call for and lines read right to left with numbers and Latin
//! words left to right inside them; Chinese needs thousands of glyphs and breaks lines
//! between any two characters; Cyrillic needs Windows-1251, which cheap printers lack.
//! So those sentences go out as `GS v 0` images: `unicode-bidi` resolves directions and
//! the visual order of runs (UAX #9), `swash::shape` joins and positions the glyphs of
//! each run, `swash::scale` renders their outlines, and a threshold makes the alpha
//! 1-bit. Lines are wrapped to the paper in dots, at spaces and between CJK characters.
//!
//! Fonts come from the image, never from the binary (Noto Sans CJK is 19 MB a weight):
//! [`TextFont::load`] reads the files a language folder names and fails with an error
//! naming the file and its Debian package; layouts take the loaded font, so they stay
//! pure functions.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use swash::scale::{Render, ScaleContext, Source};
use swash::shape::{Direction as ShapeDirection, ShapeContext};
use swash::text::{Codepoint, LineBreak, Script};
use swash::zeno::{Format, Vector};
use swash::{CacheKey, FontDataRef, FontRef, StringId};
use unicode_bidi::{BidiInfo, Level};

use super::escpos::{Align, Bitmap};
use crate::lang::{Direction, Lang};

/// Alpha at or above which a dot is printed black. A little under half: thin strokes of
/// small Arabic and Chinese glyphs survive, and counters do not fill in.
pub const INK_THRESHOLD: u8 = 112;

/// Latin letters inside another script's sentence (office acronyms such as "NASpI",
/// numbers like "N012") come from this face when the language's own font lacks them: Noto
/// Sans, from the same Debian package as Noto Sans Arabic. Optional: if absent, such
/// letters print as the font's empty box.
pub const LATIN_FALLBACK: [&str; 2] = [
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
];

/// The Debian package that installs [`LATIN_FALLBACK`].
pub const LATIN_FALLBACK_PACKAGE: &str = "fonts-noto-core";

/// Why a font cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FontError {
    /// No font file was named (the argument: the package that should have provided one).
    #[error("no font file named (Debian package {0})")]
    NoFile(String),
    /// The file cannot be read (missing, permissions).
    #[error("font file {path} cannot be read ({reason}): install the Debian package {package}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
        /// The package that installs it.
        package: String,
    },
    /// The file is not an OpenType font or collection.
    #[error("font file {path} is not a font (reinstall the Debian package {package})")]
    NotAFont {
        /// The file.
        path: String,
        /// The package that installs it.
        package: String,
    },
    /// A collection without the family asked for.
    #[error("font collection {path} has no family `{family}` (found: {found})")]
    NoFamily {
        /// The file.
        path: String,
        /// The family asked for.
        family: String,
        /// The families in the file.
        found: String,
    },
}

/// One face of a font file, shared cheaply.
#[derive(Clone)]
struct Face {
    data: Arc<[u8]>,
    offset: u32,
    key: CacheKey,
    /// No bold file: bold is drawn by thickening the regular outlines.
    embolden: bool,
}

impl Face {
    fn font(&self) -> FontRef<'_> {
        FontRef {
            data: &self.data,
            offset: self.offset,
            key: self.key,
        }
    }

    fn has(&self, c: char) -> bool {
        self.font().charmap().map(c) != 0
    }
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Face")
            .field("bytes", &self.data.len())
            .field("offset", &self.offset)
            .field("embolden", &self.embolden)
            .finish()
    }
}

/// A loaded font: the language's own faces first, then fallbacks, in regular and bold.
#[derive(Debug, Clone)]
pub struct TextFont {
    regular: Vec<Face>,
    bold: Vec<Face>,
}

/// Reads a font file, or says which package installs it.
fn read(path: &str, package: &str) -> Result<Arc<[u8]>, FontError> {
    std::fs::read(path)
        .map(Arc::from)
        .map_err(|err| FontError::Unreadable {
            path: path.to_string(),
            reason: err.to_string(),
            package: package.to_string(),
        })
}

/// A face's family names (typographic first, then the legacy one), in English.
fn families(font: &FontRef<'_>) -> Vec<String> {
    let strings = font.localized_strings();
    [StringId::TypographicFamily, StringId::Family]
        .into_iter()
        .filter_map(|id| strings.find_by_id(id, Some("en")))
        .map(|s| s.chars().collect::<String>())
        .collect()
}

/// The face of `data` to use: for a collection, the first of family `family` (every
/// face of the file when `family` is empty, so the first); for a plain font file, it.
fn pick_face(data: Arc<[u8]>, path: &str, family: &str, package: &str) -> Result<Face, FontError> {
    let not_a_font = || FontError::NotAFont {
        path: path.to_string(),
        package: package.to_string(),
    };
    let file = FontDataRef::new(&data).ok_or_else(not_a_font)?;
    let mut found = Vec::new();
    let mut chosen = None;
    for font in file.fonts() {
        let names = families(&font);
        if family.is_empty() || names.iter().any(|n| n == family) {
            chosen = Some((font.offset, font.key));
            break;
        }
        found.extend(names.into_iter().take(1));
    }
    let (offset, key) = match chosen {
        Some(face) => face,
        None if file.is_empty() => return Err(not_a_font()),
        None => {
            return Err(FontError::NoFamily {
                path: path.to_string(),
                family: family.to_string(),
                found: found.join(", "),
            });
        }
    };
    Ok(Face {
        data,
        offset,
        key,
        embolden: false,
    })
}

impl TextFont {
    /// Loads `paths` (regular first, then bold if given, as `Lang::fonts` lists them),
    /// taking family `family` from collections (`""`: the first face). Errors name the
    /// file and `package`, the Debian package that installs it.
    pub fn load(paths: &[&str], family: &str, package: &str) -> Result<TextFont, FontError> {
        let Some(regular_path) = paths.first() else {
            return Err(FontError::NoFile(package.to_string()));
        };
        let regular = pick_face(read(regular_path, package)?, regular_path, family, package)?;
        let bold = match paths.get(1) {
            Some(path) => pick_face(read(path, package)?, path, family, package)?,
            None => Face {
                embolden: true,
                ..regular.clone()
            },
        };
        Ok(TextFont {
            regular: vec![regular],
            bold: vec![bold],
        })
    }

    /// Adds faces used for characters the faces before them lack (regular, then bold).
    pub fn with_fallback(mut self, other: &TextFont) -> TextFont {
        self.regular.extend(other.regular.iter().cloned());
        self.bold.extend(other.bold.iter().cloned());
        self
    }

    /// The font for `lang`'s raster text: its folder's files (or the Latin fallback's
    /// when it names none), then the Latin fallback for Latin letters and digits its
    /// own font lacks. Only the language's own files are required.
    pub fn for_lang(lang: Lang) -> Result<TextFont, FontError> {
        let own = if lang.fonts().is_empty() {
            TextFont::load(&LATIN_FALLBACK, "", LATIN_FALLBACK_PACKAGE)?
        } else {
            TextFont::load(lang.fonts(), lang.font_family(), lang.font_package())?
        };
        if lang.fonts().is_empty() || lang.fonts() == LATIN_FALLBACK.as_slice() {
            return Ok(own);
        }
        match TextFont::load(&LATIN_FALLBACK, "", LATIN_FALLBACK_PACKAGE) {
            Ok(latin) => Ok(own.with_fallback(&latin)),
            Err(err) => {
                tracing::warn!(%err, lang = lang.code(), "Latin letters in raster text will print as boxes");
                Ok(own)
            }
        }
    }

    /// [`TextFont::for_lang`], loaded once per process and shared: a kiosk keeps the
    /// faces in memory instead of reading megabytes for every ticket. A failure is not
    /// remembered (the package may be installed meanwhile).
    pub fn shared(lang: Lang) -> Result<Arc<TextFont>, FontError> {
        static CACHE: OnceLock<Mutex<HashMap<Lang, Arc<TextFont>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(font) = cache.lock().ok().and_then(|c| c.get(&lang).cloned()) {
            return Ok(font);
        }
        let font = Arc::new(TextFont::for_lang(lang)?);
        if let Ok(mut c) = cache.lock() {
            c.insert(lang, font.clone());
        }
        Ok(font)
    }

    fn faces(&self, bold: bool) -> &[Face] {
        if bold { &self.bold } else { &self.regular }
    }
}

/// Size and weight of raster text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    /// Pixels (dots) per em.
    pub size: f32,
    /// Bold face (or thickened outlines when the font has no bold file).
    pub bold: bool,
}

impl TextStyle {
    /// Body text: an em of 24 dots, the height of the printer's font A.
    pub const BODY: TextStyle = TextStyle {
        size: 24.0,
        bold: false,
    };
    /// The service name: bold, a third larger.
    pub const TITLE: TextStyle = TextStyle {
        size: 32.0,
        bold: true,
    };
    /// A short word that must stand out (priority): bold, double height of font A.
    pub const BIG: TextStyle = TextStyle {
        size: 44.0,
        bold: true,
    };
}

/// One shaped run: glyphs in visual order, x from the run's start.
struct Shaped {
    face: usize,
    glyphs: Vec<(u16, f32, f32)>,
    advance: f32,
}

/// A line ready to draw: each run with its left edge in dots.
type PlacedLine = Vec<(f32, Shaped)>;

/// A run of one level, face and script: `range` into the paragraph.
struct Run {
    range: Range<usize>,
    face: usize,
    script: Script,
    rtl: bool,
}

fn is_real_script(s: Script) -> bool {
    !matches!(s, Script::Common | Script::Inherited | Script::Unknown)
}

/// Characters that are never drawn: controls become nothing, tabs spaces (no-break
/// spaces stay: lines never break at them).
fn clean(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Whether a line may break between `a` and `b` (`b` starting the new line): after
/// spaces, and around ideographs except before closing punctuation or after opening
/// punctuation (a simplified UAX #14).
fn break_between(a: char, b: char) -> bool {
    use LineBreak::*;
    let (la, lb) = (a.line_break(), b.line_break());
    if lb == SP {
        return false;
    }
    if la == SP {
        return true;
    }
    let ideographic = |l: LineBreak| matches!(l, ID | CJ | H2 | H3 | JL | JV | JT);
    (ideographic(la) || ideographic(lb))
        && !matches!(lb, CL | CP | EX | IS | NS | CM | ZWJ | GL | WJ)
        && !matches!(la, OP | QU | GL | WJ | ZWJ)
        || la == ZW
}

/// Draws sentences in a [`TextFont`]; keeps swash's shaping and scaling caches for the
/// sentences of one job.
pub struct TextPainter<'f> {
    font: &'f TextFont,
    shape: ShapeContext,
    scale: ScaleContext,
}

impl<'f> TextPainter<'f> {
    /// A painter for `font`.
    pub fn new(font: &'f TextFont) -> TextPainter<'f> {
        TextPainter {
            font,
            shape: ShapeContext::new(),
            scale: ScaleContext::new(),
        }
    }

    /// The face drawing `c`: the previous run's if it has it and `c` is common (spaces,
    /// digits, punctuation, marks), else the first face that has it, else the first.
    fn face_for(&self, faces: &[Face], c: char, previous: Option<usize>) -> usize {
        if let Some(p) = previous
            && !is_real_script(c.script())
            && faces.get(p).is_some_and(|f| f.has(c))
        {
            return p;
        }
        faces.iter().position(|f| f.has(c)).unwrap_or(0)
    }

    /// Splits `range` of `text`, all at one bidi level, into runs of one face and script,
    /// in logical order.
    fn runs(&self, text: &str, range: Range<usize>, rtl: bool, style: TextStyle) -> Vec<Run> {
        let faces = self.font.faces(style.bold);
        let mut runs: Vec<Run> = Vec::new();
        let Some(slice) = text.get(range.clone()) else {
            return runs;
        };
        for (i, c) in slice.char_indices() {
            let at = range.start + i;
            let previous = runs.last().map(|r| r.face);
            let face = self.face_for(faces, c, previous);
            let script = c.script();
            if let Some(run) = runs.last_mut() {
                let same_script =
                    !is_real_script(script) || !is_real_script(run.script) || script == run.script;
                if run.face == face && same_script {
                    if !is_real_script(run.script) {
                        run.script = script;
                    }
                    run.range.end = at + c.len_utf8();
                    continue;
                }
            }
            runs.push(Run {
                range: at..at + c.len_utf8(),
                face,
                script,
                rtl,
            });
        }
        runs
    }

    fn shape(&mut self, text: &str, run: &Run, style: TextStyle) -> Shaped {
        let faces = self.font.faces(style.bold);
        let mut shaped = Shaped {
            face: run.face,
            glyphs: Vec::new(),
            advance: 0.0,
        };
        let (Some(face), Some(slice)) = (faces.get(run.face), text.get(run.range.clone())) else {
            return shaped;
        };
        let script = if is_real_script(run.script) {
            run.script
        } else {
            Script::Latin
        };
        let mut shaper = self
            .shape
            .builder(face.font())
            .script(script)
            .direction(if run.rtl {
                ShapeDirection::RightToLeft
            } else {
                ShapeDirection::LeftToRight
            })
            .size(style.size)
            .build();
        shaper.add_str(slice);
        let mut clusters: Vec<Vec<(u16, f32, f32, f32)>> = Vec::new();
        shaper.shape_with(|cluster| {
            clusters.push(
                cluster
                    .glyphs
                    .iter()
                    .map(|g| (g.id, g.x, g.y, g.advance))
                    .collect(),
            );
        });
        // swash gives clusters in logical order: right-to-left runs are drawn reversed.
        if run.rtl {
            clusters.reverse();
        }
        let mut pen = 0.0;
        for cluster in clusters {
            for (id, x, y, advance) in cluster {
                shaped.glyphs.push((id, pen + x, y));
                pen += advance;
            }
        }
        shaped.advance = pen;
        shaped
    }

    /// The line `range` of the paragraph, shaped, runs in visual (left-to-right) order.
    fn line(
        &mut self,
        text: &str,
        bidi: &BidiInfo<'_>,
        range: Range<usize>,
        style: TextStyle,
    ) -> Vec<Shaped> {
        let Some(para) = bidi.paragraphs.first() else {
            return Vec::new();
        };
        if range.is_empty() || range.end > para.range.end {
            return Vec::new();
        }
        let (levels, level_runs) = bidi.visual_runs(para, range);
        let mut out = Vec::new();
        for level_run in level_runs {
            let rtl = levels.get(level_run.start).is_some_and(Level::is_rtl);
            let mut runs = self.runs(text, level_run, rtl, style);
            if rtl {
                runs.reverse();
            }
            for run in runs {
                out.push(self.shape(text, &run, style));
            }
        }
        out
    }

    fn width(
        &mut self,
        text: &str,
        bidi: &BidiInfo<'_>,
        range: Range<usize>,
        style: TextStyle,
    ) -> f32 {
        self.line(text, bidi, range, style)
            .iter()
            .map(|s| s.advance)
            .sum()
    }

    /// Wraps one paragraph (no line breaks inside) into line ranges that fit `width`
    /// dots: greedily at break opportunities, a word wider than the line cut between
    /// characters (never before a combining mark).
    fn wrap(
        &mut self,
        text: &str,
        bidi: &BidiInfo<'_>,
        width: f32,
        style: TextStyle,
    ) -> Vec<Range<usize>> {
        let trim = |r: Range<usize>| -> Range<usize> {
            let s = &text[r.clone()];
            let start = r.start + (s.len() - s.trim_start().len());
            let end = r.start + s.trim_end().len();
            start..end.max(start)
        };
        // Break opportunities: byte offsets where a new line may start.
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut stops: Vec<usize> = chars
            .windows(2)
            .filter(|w| break_between(w[0].1, w[1].1))
            .map(|w| w[1].0)
            .collect();
        stops.push(text.len());
        let mut lines = Vec::new();
        let mut start = 0;
        let mut end = 0;
        let mut i = 0;
        while i < stops.len() {
            let candidate = trim(start..stops[i]);
            if self.width(text, bidi, candidate.clone(), style) <= width {
                end = stops[i];
                i += 1;
                continue;
            }
            if end > start {
                lines.push(trim(start..end));
                start = end;
                continue;
            }
            // One word wider than the line: as many characters as fit, at least one.
            let word = trim(start..stops[i]);
            let mut cut = word.start;
            for (at, c) in text[word.clone()].char_indices().skip(1) {
                if is_mark(c) {
                    continue;
                }
                if self.width(text, bidi, word.start..word.start + at, style) > width {
                    break;
                }
                cut = word.start + at;
            }
            if cut == word.start {
                cut = text[word.clone()]
                    .char_indices()
                    .nth(1)
                    .map_or(word.end, |(at, _)| word.start + at);
            }
            lines.push(word.start..cut);
            start = cut;
            end = cut;
        }
        if end > start {
            lines.push(trim(start..end));
        }
        lines.retain(|r| !r.is_empty());
        lines
    }

    /// The lines `text` wraps to at `width` dots, as text (tests and measurements).
    pub fn wrap_lines(
        &mut self,
        text: &str,
        style: TextStyle,
        direction: Direction,
        width: u16,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for para in paragraphs(text) {
            let bidi = BidiInfo::new(&para, Some(base_level(direction)));
            for range in self.wrap(&para, &bidi, f32::from(width), style) {
                out.push(para[range].to_string());
            }
        }
        out
    }

    /// The advance width of `text` on one line, in dots.
    pub fn measure(&mut self, text: &str, style: TextStyle, direction: Direction) -> f32 {
        let text = clean(text);
        let bidi = BidiInfo::new(&text, Some(base_level(direction)));
        self.width(&text, &bidi, 0..text.len(), style)
    }

    /// `text` wrapped to `width` dots and drawn, each line aligned; `None` when there is
    /// nothing to draw. The image is only as wide as its ink needs (whole bytes), so
    /// centred and left-aligned text sends no white bytes on the right.
    pub fn paragraph(
        &mut self,
        text: &str,
        style: TextStyle,
        direction: Direction,
        width: u16,
        align: Align,
    ) -> Option<Bitmap> {
        let (lines, pitch, baseline) = self.place(text, style, direction, width, align)?;
        let height = (lines.len() as f32 * pitch) as u16;
        let right = lines.iter().map(|l| right_edge(l)).fold(0.0_f32, f32::max);
        let mut bitmap = Bitmap::new(image_width(right, width), height);
        for (i, line) in lines.iter().enumerate() {
            let base_y = i as f32 * pitch + baseline;
            for (x, run) in line {
                self.draw(&mut bitmap, run, style, *x, base_y);
            }
        }
        Some(bitmap)
    }

    /// [`TextPainter::paragraph`] as one image per line, each as wide as its own ink
    /// needs: a short centred line sends fewer bytes than the widest line would.
    /// Stacked, they give the paragraph's picture.
    pub fn line_images(
        &mut self,
        text: &str,
        style: TextStyle,
        direction: Direction,
        width: u16,
        align: Align,
    ) -> Vec<Bitmap> {
        let Some((lines, pitch, baseline)) = self.place(text, style, direction, width, align)
        else {
            return Vec::new();
        };
        let mut images = Vec::with_capacity(lines.len());
        for line in &lines {
            let mut bitmap = Bitmap::new(image_width(right_edge(line), width), pitch as u16);
            for (x, run) in line {
                self.draw(&mut bitmap, run, style, *x, baseline);
            }
            images.push(bitmap);
        }
        images
    }

    /// Wraps and shapes `text`: each line's runs with their left edges in whole dots (a
    /// run draws the same dots wherever it lands, so a Latin run reads the same inside
    /// Arabic), the line pitch and the baseline's distance from a line's top.
    fn place(
        &mut self,
        text: &str,
        style: TextStyle,
        direction: Direction,
        width: u16,
        align: Align,
    ) -> Option<(Vec<PlacedLine>, f32, f32)> {
        let width = width.clamp(8, 2048) / 8 * 8;
        let faces = self.font.faces(style.bold);
        let primary = faces.first()?.font().metrics(&[]).scale(style.size);
        let (ascent, descent) = (primary.ascent.max(1.0), primary.descent.abs());
        let pitch = (ascent + descent).max(style.size * 1.3).ceil();
        let baseline = ((pitch - ascent - descent) / 2.0 + ascent).round();
        let mut placed: Vec<PlacedLine> = Vec::new();
        // Snapping may add up to half a dot per run: keep a little room.
        let room_for = f32::from(width) - 2.0;
        for para in paragraphs(text) {
            let bidi = BidiInfo::new(&para, Some(base_level(direction)));
            for range in self.wrap(&para, &bidi, room_for, style) {
                let runs = self.line(&para, &bidi, range, style);
                let w: f32 = runs.iter().map(|r| r.advance).sum();
                let room = (f32::from(width) - w).max(0.0);
                let mut x = match align {
                    Align::Left => 0.0,
                    Align::Center => (room / 2.0).floor(),
                    Align::Right => room.floor(),
                };
                let mut line = Vec::new();
                for run in runs {
                    let start = x.round();
                    x = start + run.advance;
                    line.push((start, run));
                }
                placed.push(line);
            }
        }
        // A picture at most `u16::MAX` rows tall: absurd text loses its last lines.
        placed.truncate((f32::from(u16::MAX) / pitch) as usize);
        (!placed.is_empty()).then_some((placed, pitch, baseline))
    }

    fn draw(&mut self, bitmap: &mut Bitmap, run: &Shaped, style: TextStyle, x0: f32, base_y: f32) {
        let Some(face) = self.font.faces(style.bold).get(run.face) else {
            return;
        };
        let mut scaler = self
            .scale
            .builder(face.font())
            .size(style.size)
            .hint(true)
            .build();
        let embolden = if face.embolden {
            style.size / 32.0
        } else {
            0.0
        };
        for &(id, gx, gy) in &run.glyphs {
            let x = x0 + gx;
            let Some(image) = Render::new(&[Source::Outline])
                .format(Format::Alpha)
                .offset(Vector::new(x.fract(), 0.0))
                .embolden(embolden)
                .render(&mut scaler, id)
            else {
                continue;
            };
            let p = image.placement;
            let left = x.floor() as i32 + p.left;
            let top = (base_y - gy).round() as i32 - p.top;
            let w = p.width as usize;
            for (i, alpha) in image.data.iter().enumerate().take(w * p.height as usize) {
                if *alpha < INK_THRESHOLD || w == 0 {
                    continue;
                }
                let (px, py) = (left + (i % w) as i32, top + (i / w) as i32);
                if let (Ok(px), Ok(py)) = (u16::try_from(px), u16::try_from(py)) {
                    bitmap.set(px, py);
                }
            }
        }
    }
}

/// Where a placed line's last run ends.
fn right_edge(line: &[(f32, Shaped)]) -> f32 {
    line.iter()
        .map(|(x, run)| x + run.advance)
        .fold(0.0_f32, f32::max)
}

/// Whole bytes up to `right` plus the dot or two ink may overhang, within the paper.
fn image_width(right: f32, paper: u16) -> u16 {
    let paper = paper.clamp(8, 2048) / 8 * 8;
    ((right.ceil().max(0.0) as u16).saturating_add(3).div_ceil(8) * 8).clamp(8, paper)
}

fn base_level(direction: Direction) -> Level {
    match direction {
        Direction::Ltr => Level::ltr(),
        Direction::Rtl => Level::rtl(),
    }
}

/// The paragraphs of `text` (split at line and paragraph separators), cleaned.
fn paragraphs(text: &str) -> Vec<String> {
    text.split([
        '\n', '\r', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2029}', '\u{2028}',
    ])
    .map(clean)
    .filter(|p| !p.trim().is_empty())
    .collect()
}

/// Combining marks stay with the letter before them when a word is cut.
fn is_mark(c: char) -> bool {
    use swash::text::Category::*;
    matches!(
        c.category(),
        Mark | NonspacingMark | SpacingMark | EnclosingMark
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARABIC: [&str; 2] = [
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf",
    ];
    const CJK: [&str; 2] = [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    ];

    /// The font, or `None` with a note when its files are not installed (scripts/test
    /// installs them; only then may a raster test be skipped).
    fn font(paths: &[&str], family: &str, package: &str) -> Option<TextFont> {
        if let Some(missing) = paths.iter().find(|p| !std::path::Path::new(p).is_file()) {
            eprintln!("skipped: {missing} is not installed (Debian package {package})");
            return None;
        }
        Some(TextFont::load(paths, family, package).unwrap())
    }

    fn arabic() -> Option<TextFont> {
        let latin = font(&LATIN_FALLBACK, "", LATIN_FALLBACK_PACKAGE)?;
        Some(font(&ARABIC, "", "fonts-noto-core")?.with_fallback(&latin))
    }

    /// Ink dots per column of the first `rows` rows, blank columns at both ends cut off.
    fn columns(b: &Bitmap, rows: u16) -> Vec<u16> {
        let all: Vec<u16> = (0..b.width())
            .map(|x| (0..rows.min(b.height())).filter(|&y| b.get(x, y)).count() as u16)
            .collect();
        let first = all.iter().position(|&n| n > 0).unwrap_or(0);
        let last = all.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1);
        all[first..last.max(first)].to_vec()
    }

    fn find(hay: &[u16], needle: &[u16]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn a_missing_font_names_the_file_and_the_package() {
        let err = TextFont::load(
            &["/nonexistent/NotoSansArabic-Regular.ttf"],
            "",
            "fonts-noto-core",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/nonexistent/NotoSansArabic-Regular.ttf")
                && text.contains("fonts-noto-core"),
            "{text}"
        );
        assert!(matches!(err, FontError::Unreadable { .. }));
        let garbage =
            std::env::temp_dir().join(format!("sportello-not-a-font-{}.ttf", std::process::id()));
        std::fs::write(&garbage, b"definitely not a font").unwrap();
        let path = garbage.to_string_lossy().into_owned();
        let err = TextFont::load(&[path.as_str()], "", "fonts-x").unwrap_err();
        let _ = std::fs::remove_file(&garbage);
        assert!(matches!(err, FontError::NotAFont { .. }), "{err}");
        assert!(matches!(
            TextFont::load(&[], "", "fonts-x"),
            Err(FontError::NoFile(_))
        ));
    }

    #[test]
    fn the_simplified_chinese_face_is_found_by_its_family() {
        let Some(zh) = font(&CJK, "Noto Sans CJK SC", "fonts-noto-cjk") else {
            return;
        };
        // The face chosen is the collection's SC face, whichever index it has.
        let data = std::fs::read(CJK[0]).unwrap();
        let file = FontDataRef::new(&data).unwrap();
        let faces: Vec<(u32, Vec<String>)> =
            file.fonts().map(|f| (f.offset, families(&f))).collect();
        let sc = faces
            .iter()
            .position(|(_, names)| names.iter().any(|n| n == "Noto Sans CJK SC"))
            .unwrap();
        assert_ne!(
            sc, 0,
            "face 0 is {:?}: the family must be searched",
            faces[0].1
        );
        assert_eq!(zh.regular[0].offset, faces[sc].0);
        // Simplified and Japanese forms of 直 differ: the right face draws it.
        let jp = font(&CJK, "Noto Sans CJK JP", "fonts-noto-cjk").unwrap();
        let draw = |f: &TextFont| {
            TextPainter::new(f)
                .paragraph("直", TextStyle::BIG, Direction::Ltr, 384, Align::Left)
                .unwrap()
        };
        assert_ne!(draw(&zh), draw(&jp));
        let err = TextFont::load(&CJK, "Noto Sans CJK XX", "fonts-noto-cjk").unwrap_err();
        assert!(err.to_string().contains("Noto Sans CJK SC"), "{err}");
    }

    #[test]
    fn arabic_is_shaped_into_joined_forms() {
        let Some(ar) = arabic() else { return };
        let mut p = TextPainter::new(&ar);
        let glyphs = |p: &mut TextPainter<'_>, text: &str| -> Vec<u16> {
            let bidi = BidiInfo::new(text, Some(Level::rtl()));
            p.line(text, &bidi, 0..text.len(), TextStyle::BODY)
                .into_iter()
                .flat_map(|r| r.glyphs.into_iter().map(|g| g.0))
                .collect()
        };
        let isolated = glyphs(&mut p, "ب");
        assert_eq!(isolated.len(), 1);
        // بببب: initial, medial, medial, final forms, none the isolated one.
        let joined = glyphs(&mut p, "بببب");
        assert_eq!(joined.len(), 4);
        assert!(!joined.contains(&isolated[0]), "{joined:?} vs {isolated:?}");
        assert_ne!(joined[0], joined[3]);
        // The joined word is narrower than its letters set apart, and drawn differently.
        let word = p.measure("سلام", TextStyle::BODY, Direction::Rtl);
        let apart = p.measure("س ل ا م", TextStyle::BODY, Direction::Rtl)
            - 3.0 * p.measure(" ", TextStyle::BODY, Direction::Rtl);
        assert!(word < apart, "{word} vs {apart}");
    }

    #[test]
    fn latin_and_digits_stay_left_to_right_inside_arabic() {
        let Some(ar) = arabic() else { return };
        let mut p = TextPainter::new(&ar);
        let draw = |p: &mut TextPainter<'_>, text: &str, dir: Direction| {
            p.paragraph(text, TextStyle::BODY, dir, 576, Align::Left)
                .unwrap()
        };
        let sentence = draw(&mut p, "رقمك N012 على الشاشة", Direction::Rtl);
        let rows = sentence.height();
        let hay = columns(&sentence, rows);
        let number = columns(&draw(&mut p, "N012", Direction::Ltr), rows);
        // N012 appears with its glyph columns in reading order, not mirrored.
        let at = find(&hay, &number).expect("N012 drawn as on its own");
        let mirrored: Vec<u16> = number.iter().rev().copied().collect();
        assert_ne!(mirrored, number);
        assert_eq!(find(&hay, &mirrored), None);
        // Right to left around it: the first word (رقمك) stands to its right and the
        // last two (على الشاشة) to its left, each a space away.
        let space = p.measure(" ", TextStyle::BODY, Direction::Rtl);
        let first = p.measure("رقمك", TextStyle::BODY, Direction::Rtl);
        let rest = p.measure("على الشاشة", TextStyle::BODY, Direction::Rtl);
        let right = (hay.len() - at - number.len()) as f32 - space;
        let left = at as f32 - space;
        assert!((right - first).abs() <= 4.0, "right {right} vs {first}");
        assert!((left - rest).abs() <= 4.0, "left {left} vs {rest}");
        assert!(rest > first + 20.0);
    }

    #[test]
    fn chinese_breaks_between_any_two_characters() {
        let Some(zh) = font(&CJK, "Noto Sans CJK SC", "fonts-noto-cjk") else {
            return;
        };
        let mut p = TextPainter::new(&zh);
        let text = "请等待您的号码出现在屏幕上，然后前往显示的窗口。请保留此票。";
        let lines = p.wrap_lines(text, TextStyle::BODY, Direction::Ltr, 200);
        assert!(lines.len() >= 3, "{lines:?}");
        assert_eq!(lines.concat(), text);
        for line in &lines {
            assert!(
                p.measure(line, TextStyle::BODY, Direction::Ltr) <= 198.0,
                "{line}"
            );
            // Closing punctuation never starts a line.
            assert!(!line.starts_with(['，', '。']), "{lines:?}");
        }
        // With no space at all, each line is full but for the last character or two.
        let first = p.measure(&lines[0], TextStyle::BODY, Direction::Ltr);
        assert!(first > 200.0 - 2.0 * 24.0 - 2.0, "{first}: {lines:?}");
        // Latin words inside are kept whole.
        let mixed = p.wrap_lines(
            "失业津贴 NASpI 和 DIS-COLL",
            TextStyle::TITLE,
            Direction::Ltr,
            220,
        );
        assert!(
            mixed
                .iter()
                .all(|l| !l.ends_with("NAS") && !l.ends_with("DIS-")),
            "{mixed:?}"
        );
    }

    #[test]
    fn images_fit_the_paper_and_odd_input_never_panics() {
        let Some(ar) = arabic() else { return };
        let mut p = TextPainter::new(&ar);
        let long_word = "ب".repeat(200);
        let odd = [
            "",
            "   ",
            "\u{202e}N012\u{202c} \u{2067}abc\u{2069}",
            "\u{0651}\u{0651}",
            "a\x1b@\x1dV\nب\r\u{2029}c",
            long_word.as_str(),
            "\u{fffd}\u{e000}\u{10ffff}",
        ];
        for text in odd {
            for width in [8_u16, 100, 384, 576] {
                if let Some(image) =
                    p.paragraph(text, TextStyle::TITLE, Direction::Rtl, width, Align::Right)
                {
                    assert!(
                        image.width() <= width.max(8) && image.width() % 8 == 0,
                        "{text:?}"
                    );
                }
            }
        }
        assert!(
            p.paragraph("  \n ", TextStyle::BODY, Direction::Ltr, 384, Align::Center)
                .is_none()
        );
        // Pseudo-random code points, all planes.
        let mut seed = 7_u32;
        for _ in 0..30 {
            let text: String = (0..40)
                .filter_map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    char::from_u32((seed >> 8) % 0x3_0000)
                })
                .collect();
            let _ = p.paragraph(&text, TextStyle::BODY, Direction::Rtl, 384, Align::Center);
        }
    }
}
