//! CSV answers (RFC 4180): a header of column names, one line per record, CRLF
//! line ends, a field quoted when it holds a comma, a quote, CR or LF (quotes
//! doubled). Cells are the JSON answer's cells: numbers and amounts as the same
//! text, `null` as an empty field, booleans as `true`/`false`.
//!
//! Names that came from outside (models a client asked for, key ids, teams) and
//! begin with `=`, `+`, `-`, `@`, tab or CR get a leading `'`, so a spreadsheet
//! opening the file shows them instead of running them as formulas (OWASP,
//! "CSV injection"). Amounts are never altered: a negative saving stays `-0.5`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::figures::{Cell, Record};

/// A table: the column names (used when there are no rows) and the rows.
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Record>,
}

/// The CSV text of `table`.
pub fn render(table: &Table) -> String {
    let mut out = String::new();
    line(&mut out, table.columns.iter().map(|name| field(name)));
    for record in &table.rows {
        line(&mut out, record.0.iter().map(|(_, value)| cell(value)));
    }
    out
}

/// An attachment named `<name>.csv`.
pub fn response(name: &str, table: &Table) -> Response {
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    let mut response = render(table).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    for (i, value) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&value);
    }
    out.push_str("\r\n");
}

fn cell(value: &Cell) -> String {
    match value {
        Cell::Int(value) => value.to_string(),
        Cell::Bool(value) => value.to_string(),
        Cell::Text(text) => field(text),
        Cell::Label(text) => {
            let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
            if risky {
                field(&format!("'{text}"))
            } else {
                field(text)
            }
        }
        Cell::Null => String::new(),
    }
}

/// One field, quoted if it must be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_must_be_quoted() {
        let mut record = Record::default();
        record.push("model", Cell::Label("a,\"b\"\nc".into()));
        record.push("spend_usd", Cell::Text("-0.5".into()));
        record.push("formula", Cell::Label("=cmd()".into()));
        record.push("none", Cell::Null);
        record.push("n", Cell::Int(-3));
        record.push("flag", Cell::Bool(true));
        let table = Table {
            columns: record.names(),
            rows: vec![record],
        };
        assert_eq!(
            render(&table),
            "model,spend_usd,formula,none,n,flag\r\n\"a,\"\"b\"\"\nc\",-0.5,'=cmd(),,-3,true\r\n"
        );
        let empty = Table {
            columns: vec!["a", "b"],
            rows: Vec::new(),
        };
        assert_eq!(render(&empty), "a,b\r\n");
    }
}
