//! The programme report's one page (issue #19): A4, the headline numbers of each group in two
//! columns, with the same fonts and text as slips, so pdftotext and a screen reader read it.
//! What the numbers are is the caller's (`kabinet-service`'s report); here they are placed.

use crate::SlipError;
use crate::layout::Fonts;
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::surface::Surface;
use krilla::text::TextDirection;

const A4: (f32, f32) = (595.28, 841.89);
const MARGIN: f32 = 40.0;
const GUTTER: f32 = 20.0;
const COLUMN: f32 = (A4.0 - 2.0 * MARGIN - GUTTER) / 2.0;
/// Room at the right of a column for the value.
const VALUE_WIDTH: f32 = 58.0;
const SIZE: f32 = 8.5;

/// One page of a report, as its lines are to be printed.
#[derive(Debug, Clone, Default)]
pub struct ReportPage {
    pub title: String,
    /// The period, the cabinet, the day it was made.
    pub subtitle: String,
    pub sections: Vec<ReportSection>,
    /// Under the columns: what "<5" means.
    pub note: String,
}

#[derive(Debug, Clone, Default)]
pub struct ReportSection {
    pub heading: String,
    /// An indicator's name and its value as a table shows it.
    pub lines: Vec<(String, String)>,
}

struct Columns<'a, 'b> {
    surface: &'a mut Surface<'b>,
    fonts: &'a Fonts,
    column: usize,
    y: f32,
    top: f32,
    bottom: f32,
}

impl Columns<'_, '_> {
    fn x(&self) -> f32 {
        MARGIN + self.column as f32 * (COLUMN + GUTTER)
    }

    /// Moves down by `height`, to the next column when this one is full (a second column
    /// full too: the rest goes on past the page's foot, which two columns of the definitions
    /// never reach).
    fn down(&mut self, height: f32) {
        if self.y + height > self.bottom && self.column == 0 {
            self.column = 1;
            self.y = self.top;
        }
        self.y += height;
    }

    fn text(&mut self, x: f32, text: &str, size: f32, bold: bool) {
        let font = match bold {
            true => self.fonts.bold.clone(),
            false => self.fonts.regular.clone(),
        };
        self.surface.draw_text(
            Point::from_xy(x, self.y),
            font,
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    fn heading(&mut self, text: &str) {
        self.down(SIZE * 2.4);
        let x = self.x();
        self.text(x, text, SIZE + 1.5, true);
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(x, self.y + 3.0, COLUMN, 0.6) {
            pb.push_rect(r);
        }
        if let Some(path) = pb.finish() {
            self.surface.draw_path(&path);
        }
        self.y += 3.0;
    }

    fn line(&mut self, name: &str, value: &str) {
        let lines = self.fonts.wrap(name, SIZE, false, COLUMN - VALUE_WIDTH);
        self.down(SIZE * 1.45);
        let x = self.x();
        let right = x + COLUMN - self.fonts.width(value, SIZE, true);
        self.text(right, value, SIZE, true);
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                self.down(SIZE * 1.3);
            }
            self.text(x, l, SIZE, false);
        }
    }
}

/// The report's page as a PDF.
pub fn render_report(page: &ReportPage) -> Result<Vec<u8>, SlipError> {
    let fonts = Fonts::load();
    let mut document = Document::new();
    let settings =
        PageSettings::from_wh(A4.0, A4.1).ok_or_else(|| SlipError::Pdf("page size".into()))?;
    let mut pdf_page = document.start_page_with(settings);
    let mut surface = pdf_page.surface();
    let mut y = MARGIN + 14.0;
    surface.draw_text(
        Point::from_xy(MARGIN, y),
        fonts.bold.clone(),
        14.0,
        &page.title,
        false,
        TextDirection::Auto,
    );
    for line in fonts.wrap(&page.subtitle, 9.5, false, A4.0 - 2.0 * MARGIN) {
        y += 13.0;
        surface.draw_text(
            Point::from_xy(MARGIN, y),
            fonts.regular.clone(),
            9.5,
            &line,
            false,
            TextDirection::Auto,
        );
    }
    let top = y + 4.0;
    let bottom = A4.1 - MARGIN - 30.0;
    let mut columns = Columns {
        surface: &mut surface,
        fonts: &fonts,
        column: 0,
        y: top,
        top,
        bottom,
    };
    for section in &page.sections {
        columns.heading(&section.heading);
        for (name, value) in &section.lines {
            columns.line(name, value);
        }
    }
    let mut y = A4.1 - MARGIN - 18.0;
    for line in fonts.wrap(&page.note, 7.5, false, A4.0 - 2.0 * MARGIN) {
        surface.draw_text(
            Point::from_xy(MARGIN, y),
            fonts.regular.clone(),
            7.5,
            &line,
            false,
            TextDirection::Auto,
        );
        y += 9.5;
    }
    surface.finish();
    pdf_page.finish();
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(page.title.clone())
            .language("bg".into())
            .creator("Kabinet".into()),
    );
    document
        .finish()
        .map_err(|e| SlipError::Pdf(format!("{e:?}")))
}
