//! Placing the slip's lines on the page. Coordinates are PDF points in an A5 frame (420 × 595,
//! y downwards as krilla draws); A6 is the same frame scaled, so both print the same slip.

use crate::{Paper, Slip, SlipError};
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

static REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");

const A5: (f32, f32) = (419.53, 595.28);
const A6: (f32, f32) = (297.64, 419.53);
const MARGIN: f32 = 28.0;
const WIDTH: f32 = A5.0 - 2.0 * MARGIN;

pub(crate) struct Fonts {
    pub(crate) regular: Font,
    pub(crate) bold: Font,
    regular_face: rustybuzz::Face<'static>,
    bold_face: rustybuzz::Face<'static>,
}

impl Fonts {
    pub(crate) fn load() -> Fonts {
        Fonts {
            regular: Font::new(REGULAR.into(), 0).expect("the embedded regular font parses"),
            bold: Font::new(BOLD.into(), 0).expect("the embedded bold font parses"),
            regular_face: rustybuzz::Face::from_slice(REGULAR, 0).expect("regular face"),
            bold_face: rustybuzz::Face::from_slice(BOLD, 0).expect("bold face"),
        }
    }

    /// The width of `text` at `size`, as the shaper lays it out.
    pub(crate) fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold {
            &self.bold_face
        } else {
            &self.regular_face
        };
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        let shaped = rustybuzz::shape(face, &[], buffer);
        let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 * size / face.units_per_em() as f32
    }

    /// Splits `text` into lines no wider than `width` (at word boundaries; a word longer than
    /// a line stays whole).
    pub(crate) fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(&candidate, size, bold) > width {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// A cursor down the page.
struct Pen<'a, 'b> {
    surface: &'a mut Surface<'b>,
    fonts: &'a Fonts,
    y: f32,
}

impl Pen<'_, '_> {
    fn text_at(&mut self, x: f32, y: f32, text: &str, size: f32, bold: bool) {
        let font = if bold {
            self.fonts.bold.clone()
        } else {
            self.fonts.regular.clone()
        };
        self.surface.draw_text(
            Point::from_xy(x, y),
            font,
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    /// One or more wrapped lines at the left margin (indented by `indent`), moving down.
    fn para(&mut self, text: &str, size: f32, bold: bool, indent: f32) {
        for line in self.fonts.wrap(text, size, bold, WIDTH - indent) {
            self.y += size * 1.3;
            self.text_at(MARGIN + indent, self.y, &line, size, bold);
        }
    }

    /// "Label: value" with the label in small type above the value.
    fn field(&mut self, label: &str, value: &str, size: f32, bold: bool) {
        if value.trim().is_empty() {
            return;
        }
        self.y += 4.0;
        self.para(label, 8.0, false, 0.0);
        self.para(value, size, bold, 0.0);
    }

    fn rule(&mut self) {
        self.y += 8.0;
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(MARGIN, self.y, WIDTH, 0.8) {
            pb.push_rect(r);
        }
        if let Some(path) = pb.finish() {
            self.surface.draw_path(&path);
        }
        self.y += 4.0;
    }
}

/// Draws the QR code's dark modules as filled squares (a vector QR: sharp at any zoom, and
/// scanners read it from a 300 dpi print or a pdftoppm render).
fn draw_qr(
    surface: &mut Surface<'_>,
    code: &str,
    x: f32,
    y: f32,
    size: f32,
) -> Result<(), SlipError> {
    let qr = qrcode::QrCode::with_error_correction_level(code.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| SlipError::Qr(e.to_string()))?;
    let n = qr.width();
    let quiet = 4.0;
    let module = size / (n as f32 + 2.0 * quiet);
    let colors = qr.to_colors();
    let mut pb = PathBuilder::new();
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (col, row) = ((i % n) as f32, (i / n) as f32);
            if let Some(r) = Rect::from_xywh(
                x + (quiet + col) * module,
                y + (quiet + row) * module,
                module,
                module,
            ) {
                pb.push_rect(r);
            }
        }
    }
    if let Some(path) = pb.finish() {
        surface.draw_path(&path);
    }
    Ok(())
}

fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Sofia)
        .format("%d.%m.%Y %H:%M")
        .to_string()
}

fn draw_slip(surface: &mut Surface<'_>, fonts: &Fonts, slip: &Slip) -> Result<(), SlipError> {
    surface.set_fill(Some(Fill::default()));
    let mut pen = Pen {
        surface,
        fonts,
        y: MARGIN - 4.0,
    };
    // The hub, the cabinet and when.
    pen.para(&slip.hub.name, 12.0, true, 0.0);
    let contact = [slip.hub.address.as_str(), slip.hub.phone.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    if !contact.is_empty() {
        pen.para(&contact, 8.5, false, 0.0);
    }
    pen.para(
        &format!(
            "Мобилен кабинет: {} · {}",
            slip.cabinet,
            local_time(slip.issued_at)
        ),
        8.5,
        false,
        0.0,
    );
    pen.rule();

    // Title, the code large, and its QR on the right.
    let qr_size = 104.0;
    let top = pen.y;
    pen.y += 4.0;
    if slip.emergency {
        // Unmistakable at a glance: what to do before reading anything else.
        pen.para("СПЕШНО — 112", 26.0, true, 0.0);
        pen.para("Незабавна медицинска помощ", 11.0, true, 0.0);
        pen.y += 4.0;
    }
    pen.para("НАПРАВЛЕНИЕ", 17.0, true, 0.0);
    pen.y += 4.0;
    pen.para("Код на направлението:", 8.0, false, 0.0);
    pen.y += 6.0;
    pen.para(&slip.code, 30.0, true, 0.0);
    draw_qr(
        pen.surface,
        &slip.code,
        MARGIN + WIDTH - qr_size,
        top,
        qr_size,
    )?;
    pen.y = pen.y.max(top + qr_size);
    pen.rule();

    // The person.
    pen.field("Име", &slip.person_name, 13.0, true);
    if !slip.person_latin.is_empty() {
        pen.field("Име на латиница", &slip.person_latin, 10.0, false);
    }
    let mut born = format!("Роден(а): {}", slip.birth);
    if let Some(egn) = &slip.egn_masked {
        born.push_str(&format!("   ЕГН: {egn}"));
    }
    pen.y += 4.0;
    pen.para(&born, 10.0, false, 0.0);
    pen.rule();

    // Why, how urgent, where.
    pen.field("Причина", &slip.reason, 11.0, false);
    pen.field("Спешност", &slip.urgency, 11.0, true);
    pen.field("Към", &slip.destination.name, 12.0, true);
    for line in [
        &slip.destination.address,
        &slip.destination.phone,
        &slip.destination.hours,
    ] {
        if !line.is_empty() {
            pen.para(line, 9.5, false, 0.0);
        }
    }
    pen.rule();
    pen.field("Насочил(а)", &slip.specialist, 10.0, false);

    // Footer at the bottom of the page.
    pen.y = pen.y.max(A5.1 - MARGIN - 24.0);
    pen.para(
        "Покажете това направление там, където сте насочени. По кода се вижда, че сте дошли.",
        8.0,
        false,
        0.0,
    );
    Ok(())
}

/// Renders one page per slip into a single PDF.
pub fn render(slips: &[Slip], paper: Paper) -> Result<Vec<u8>, SlipError> {
    let fonts = Fonts::load();
    let mut document = Document::new();
    let (w, h) = match paper {
        Paper::A5 => A5,
        Paper::A6 => A6,
    };
    let scale = w / A5.0;
    for slip in slips {
        let settings =
            PageSettings::from_wh(w, h).ok_or_else(|| SlipError::Pdf("page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        surface.push_transform(&Transform::from_scale(scale, scale));
        draw_slip(&mut surface, &fonts, slip)?;
        surface.pop();
        surface.finish();
        page.finish();
    }
    let title = match slips {
        [one] => format!("Направление {}", one.code),
        _ => format!("Направления ({})", slips.len()),
    };
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(title)
            .language("bg".into())
            .creator("Kabinet".into()),
    );
    document
        .finish()
        .map_err(|e| SlipError::Pdf(format!("{e:?}")))
}
