//! The report as a PDF, written without a browser: `pdf-writer` objects, the
//! standard Helvetica fonts (every reader has them: nothing is embedded),
//! WinAnsi text drawn with real text operators (one text object per line, so
//! the text extracts line by line), and the charts as vector paths laid out
//! by `chart::layout`, the same bars as the e-mail's SVG. A4 pages, as many as
//! the tables need. Characters outside Latin-1 print as `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::chart::{layout, Chart, HEIGHT, WIDTH};
use super::view::{Table, View};

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 40.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// WinAnsi bytes of `text` (Latin-1 for what it shares; `?` for the rest),
/// cut to `max` characters.
fn win_ansi(text: &str, max: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = text
        .chars()
        .take(max)
        .map(|c| match u32::from(c) {
            code @ (0x20..=0x7e | 0xa0..=0xff) => u8::try_from(code).unwrap_or(b'?'),
            _ => b'?',
        })
        .collect();
    if text.chars().count() > max && max > 3 {
        bytes.truncate(max - 3);
        bytes.extend_from_slice(b"...");
    }
    bytes
}

/// `text` in lines of at most `width` characters, broken at spaces where
/// there are any.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// Pages being written, top to bottom.
struct Pages {
    done: Vec<Content>,
    page: Content,
    /// Where the next line goes (from the bottom of the page).
    y: f32,
}

impl Pages {
    fn new() -> Pages {
        Pages {
            done: Vec::new(),
            page: Content::new(),
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    /// Makes room for `height` points, on a new page if this one is full.
    fn room(&mut self, height: f32) {
        if self.y - height < MARGIN {
            let full = std::mem::replace(&mut self.page, Content::new());
            self.done.push(full);
            self.y = PAGE_HEIGHT - MARGIN;
        }
    }

    fn text_at(&mut self, x: f32, y: f32, font: Name<'_>, size: f32, text: &str, max: usize) {
        self.page
            .set_fill_rgb(0.07, 0.07, 0.07)
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&win_ansi(text, max)))
            .end_text();
    }

    /// Text at the left margin, wrapped at spaces to the page's width
    /// (Helvetica averages about half its size a character).
    fn line(&mut self, font: Name<'_>, size: f32, text: &str) {
        let fits = ((PAGE_WIDTH - 2.0 * MARGIN) / (size * 0.5)) as usize;
        for piece in wrap(text, fits) {
            self.room(size + 6.0);
            self.y -= size + 4.0;
            let y = self.y;
            self.text_at(MARGIN, y, font, size, &piece, fits);
        }
    }

    fn table(&mut self, table: &Table) {
        self.room(40.0);
        self.y -= 8.0;
        self.line(BOLD, 12.0, &table.title);
        let width = (PAGE_WIDTH - 2.0 * MARGIN) / table.columns.len().max(1) as f32;
        // Helvetica at 9 pt averages about 5 points a character.
        let fits = ((width - 6.0) / 5.0).max(4.0) as usize;
        let row = |pages: &mut Pages, font: Name<'_>, cells: Vec<&str>| {
            pages.room(14.0);
            pages.y -= 13.0;
            let y = pages.y;
            for (i, cell) in cells.iter().enumerate() {
                pages.text_at(MARGIN + width * i as f32, y, font, 9.0, cell, fits);
            }
        };
        row(self, BOLD, table.columns.clone());
        if table.rows.is_empty() {
            row(self, REGULAR, vec!["(no traffic)"]);
        }
        for cells in &table.rows {
            row(self, REGULAR, cells.iter().map(String::as_str).collect());
        }
    }

    fn chart(&mut self, chart: &Chart) {
        self.room(HEIGHT + 30.0);
        self.y -= 8.0;
        self.line(BOLD, 12.0, &chart.title);
        let top = self.y - 4.0;
        let (bars, labels) = layout(chart);
        let left = MARGIN;
        for (i, (name, colour)) in chart.series.iter().enumerate() {
            let x = left + 150.0 * i as f32;
            self.fill(*colour);
            self.page.rect(x, top - 16.0, 10.0, 10.0).fill_nonzero();
            self.text_at(x + 14.0, top - 15.0, REGULAR, 9.0, name, 40);
        }
        for bar in &bars {
            let colour = chart.series.get(bar.series).map_or([0, 0, 0], |s| s.1);
            self.fill(colour);
            self.page
                .rect(
                    left + bar.x,
                    top - bar.y - bar.height,
                    bar.width,
                    bar.height,
                )
                .fill_nonzero();
        }
        let fits = ((WIDTH / labels.len().max(1) as f32) / 4.0).max(3.0) as usize;
        for label in &labels {
            let x = left + label.x - (label.text.chars().count().min(fits) as f32) * 2.0;
            self.text_at(x, top - label.y, REGULAR, 7.0, &label.text, fits);
        }
        self.y = top - HEIGHT;
    }

    fn fill(&mut self, [r, g, b]: [u8; 3]) {
        let unit = |v: u8| f32::from(v) / 255.0;
        self.page.set_fill_rgb(unit(r), unit(g), unit(b));
    }

    fn finish(mut self) -> Vec<Content> {
        self.done.push(self.page);
        self.done
    }
}

/// The PDF file of `view`.
pub fn pdf(view: &View) -> Vec<u8> {
    let mut pages = Pages::new();
    pages.line(BOLD, 16.0, &view.title);
    pages.line(REGULAR, 10.0, &view.subtitle);
    pages.y -= 6.0;
    // The headline figures, one line each: `Spend (USD): 12.5 (previous ...)`.
    pages.line(BOLD, 12.0, &view.headline.title);
    for row in &view.headline.rows {
        let [label, now, before, change] =
            [0, 1, 2, 3].map(|i| row.get(i).map_or("", String::as_str));
        pages.line(
            REGULAR,
            10.0,
            &format!("{label}: {now}   (previous {before}, change {change})"),
        );
    }
    for chart in &view.charts {
        pages.chart(chart);
    }
    for table in &view.tables {
        pages.table(table);
    }
    pages.y -= 8.0;
    for note in &view.notes {
        pages.line(REGULAR, 8.0, note);
    }
    write(view, pages.finish())
}

fn write(view: &View, contents: Vec<Content>) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    let ids: Vec<(Ref, Ref)> = (0..contents.len())
        .map(|i| {
            let n = 6 + 2 * i32::try_from(i).unwrap_or(0);
            (Ref::new(n), Ref::new(n + 1))
        })
        .collect();
    pdf.pages(tree)
        .kids(ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(ids.len()).unwrap_or(i32::MAX));
    for (font, base) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(font)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(&view.title))
        .producer(TextStr("gateway reports"));
    for ((page_id, content_id), content) in ids.iter().zip(contents) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(tree)
            .contents(*content_id);
        let mut resources = page.resources();
        resources.fonts().pair(REGULAR, regular).pair(BOLD, bold);
        resources.finish();
        page.finish();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_spaces_and_prints_latin_1() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("aaaaaaa b", 3), ["aaaaaaa", "b"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(win_ansi("caf\u{e9} \u{2192} x", 20), b"caf\xe9 ? x");
        assert_eq!(win_ansi("abcdefghij", 6), b"abc...");
    }
}
