//! What a citizen cannot see or reach, found in the rendered layout of a screen.
//!
//! Nothing scrolls on the kiosk and nothing elides, so a text that does not fit pushes
//! its layout past its box: that shows as an element outside the window, outside the
//! control it belongs to, or on top of another. The reach check turns each control's
//! place on the panel into a height above the floor.

use std::ops::ControlFlow;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use slint::ComponentHandle;
use sportello::ui::KioskWindow;

/// Half a logical pixel: layouts round, neighbours may touch.
const SLACK: f32 = 0.5;

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

impl Rect {
    fn of(e: &ElementHandle) -> Rect {
        let p = e.absolute_position();
        let s = e.size();
        Rect {
            x: p.x,
            y: p.y,
            w: s.width,
            h: s.height,
        }
    }

    fn is_empty(&self) -> bool {
        self.w <= 0.0 || self.h <= 0.0
    }

    fn contains(&self, inner: &Rect) -> bool {
        inner.x >= self.x - SLACK
            && inner.y >= self.y - SLACK
            && inner.x + inner.w <= self.x + self.w + SLACK
            && inner.y + inner.h <= self.y + self.h + SLACK
    }

    fn overlaps(&self, other: &Rect) -> bool {
        self.x + SLACK < other.x + other.w
            && other.x + SLACK < self.x + self.w
            && self.y + SLACK < other.y + other.h
            && other.y + SLACK < self.y + self.h
    }
}

fn describe(e: &ElementHandle) -> String {
    let r = Rect::of(e);
    let name = e
        .accessible_label()
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l:?}"))
        .or_else(|| e.id().map(|i| i.to_string()))
        .unwrap_or_default();
    format!(
        "{} {name} at ({:.0}, {:.0}) {:.0}x{:.0}",
        e.type_name().unwrap_or_default(),
        r.x,
        r.y,
        r.w,
        r.h
    )
}

fn is_control(e: &ElementHandle) -> bool {
    matches!(
        e.accessible_role(),
        Some(AccessibleRole::Button | AccessibleRole::Checkbox)
    )
}

/// The part of the screen a citizen is looking at: the idle warning when it is up (it
/// covers the page on purpose), else the whole window.
fn scope(app: &KioskWindow) -> ElementHandle {
    ElementQuery::from_root(app)
        .match_descendants()
        .match_type_name("IdleWarning")
        .find_first()
        .unwrap_or_else(|| {
            ElementQuery::from_root(app)
                .find_first()
                .expect("the window's root element")
        })
}

fn visible_descendants(root: &ElementHandle) -> Vec<ElementHandle> {
    let mut all = Vec::new();
    root.visit_descendants(|e| {
        if !Rect::of(&e).is_empty() {
            all.push(e);
        }
        ControlFlow::<()>::Continue(())
    });
    all
}

/// Everything hidden, cut or covered on the current screen: elements outside the window,
/// texts and icons outside the control they belong to, texts or controls on top of each
/// other, scrolling areas, and elided text.
pub fn layout_problems(app: &KioskWindow) -> Vec<String> {
    let size = app.window().size().to_logical(app.window().scale_factor());
    let window = Rect {
        x: 0.0,
        y: 0.0,
        w: size.width,
        h: size.height,
    };
    let root = scope(app);
    let elements = visible_descendants(&root);
    let mut problems = Vec::new();
    for e in &elements {
        // What a citizen would miss: a text, a picture or a control (their frames and
        // layouts follow them).
        let matters = is_control(e) || matches!(e.type_name().as_deref(), Some("Text" | "Image"));
        if matters && !window.contains(&Rect::of(e)) {
            problems.push(format!("outside the screen: {}", describe(e)));
        }
        if matches!(
            e.type_name().as_deref(),
            Some("Flickable" | "ScrollView" | "ListView")
        ) {
            problems.push(format!(
                "a scrolling area hides what does not fit without a cue: {}",
                describe(e)
            ));
        }
    }
    // What is inside a control stays inside it.
    let controls: Vec<&ElementHandle> = elements.iter().filter(|e| is_control(e)).collect();
    for control in &controls {
        let outer = Rect::of(control);
        for inner in visible_descendants(control) {
            if !outer.contains(&Rect::of(&inner)) {
                problems.push(format!(
                    "sticks out of {}: {}",
                    describe(control),
                    describe(&inner)
                ));
            }
        }
    }
    // Texts never cover texts; controls never cover controls.
    let texts: Vec<&ElementHandle> = elements
        .iter()
        .filter(|e| matches!(e.type_name().as_deref(), Some("Text" | "Image")))
        .collect();
    for group in [&texts, &controls] {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                if Rect::of(a).overlaps(&Rect::of(b)) {
                    problems.push(format!("{} overlaps {}", describe(a), describe(b)));
                }
            }
        }
    }
    problems
}

/// Texts in the UI sources that would elide (`…`) instead of wrapping.
pub fn elided_texts(ui_dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![ui_dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "slint") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    if line.contains("overflow: elide") || line.contains("TextOverflow.elide") {
                        found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    found
}

/// Controls whose centre lies outside 800-1220 mm above the floor, for a panel whose
/// lower edge is `lower_edge_mm` above the floor and `px_per_mm` logical pixels per mm.
pub fn reach_problems(app: &KioskWindow, lower_edge_mm: f32, px_per_mm: f32) -> Vec<String> {
    let size = app.window().size().to_logical(app.window().scale_factor());
    let root = scope(app);
    let mut problems = Vec::new();
    for control in visible_descendants(&root).iter().filter(|e| is_control(e)) {
        let r = Rect::of(control);
        let centre = r.y + r.h / 2.0;
        let above_floor = lower_edge_mm + (size.height - centre) / px_per_mm;
        if !(800.0..=1220.0).contains(&above_floor) {
            problems.push(format!(
                "{:.0} mm above the floor: {}",
                above_floor,
                describe(control)
            ));
        }
    }
    problems
}
