//! The one rendering layer: every command returns a value that knows its table, its CSV and
//! its JSON form, and [`print`] writes the form the command line asked for, once, at the top.
//!
//! The JSON forms are the view structs of this module's children ([`results`], [`cluster`],
//! [`commands`]): explicit shapes, named and versioned, described by the JSON Schemas in
//! `docs/schemas/`, so that scripts can rely on them whatever the internal structures become.
//! A command prints exactly one JSON document on stdout; progress, notices and prompts go to
//! stderr; a command that fails prints nothing on stdout.

pub mod cluster;
pub mod commands;
pub mod results;

use serde::Serialize;
use serde::ser::SerializeMap;

/// The version of every document's shape; a change that could break a reader raises it.
pub const VERSION: u32 = 1;

/// How a command's output is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text.
    Table,
    /// One JSON document on one line.
    Json,
    /// CSV with a header row (results and listings; other commands print their table).
    Csv,
}

/// A command's output in each of its forms.
pub trait Render {
    /// The text for a terminal.
    fn table(&self) -> String;
    /// CSV with a header row; by default the table.
    fn csv(&self) -> String {
        self.table()
    }
    /// One JSON document, without a line break.
    fn json(&self) -> String;
    /// Why the command still ends in failure after printing this (a negative verdict, such
    /// as an audit log that does not verify), if it does.
    fn failure(&self) -> Option<anyhow::Error> {
        None
    }
}

/// One JSON document on one line.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("views serialise")
}

/// Writes a command's output to stdout in `format`. A reader that stops early (`| head`) ends
/// the program quietly with the status a shell reports for a broken pipe, instead of a panic.
pub fn print(output: &dyn Render, format: Format) {
    let mut text = match format {
        Format::Table => output.table(),
        Format::Csv => output.csv(),
        Format::Json => output.json(),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    write_stdout(&text);
}

/// Writes `text` to stdout (see [`print`] for a closed pipe).
pub fn write_stdout(text: &str) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: writing the output: {e}");
        std::process::exit(1);
    }
}

/// Values keyed by name, serialised as a JSON object in their own order (features in the
/// job's order, groups in the schema's).
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed<V>(pub Vec<(String, V)>);

impl<V> Keyed<V> {
    /// Pairs each name with its value.
    pub fn zip<'a>(names: impl IntoIterator<Item = &'a String>, values: impl IntoIterator<Item = V>) -> Self {
        Self(names.into_iter().cloned().zip(values).collect())
    }
}

impl<V: Serialize> Serialize for Keyed<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Validation of views against the schema files, for the unit tests of the views.
#[cfg(test)]
pub(crate) mod schema {
    /// Panics unless `json` is one document that validates against `docs/schemas/<name>`.
    pub fn check(name: &str, json: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas");
        let path = dir.join(name).canonicalize().unwrap_or_else(|e| panic!("{name}: {e}"));
        let value: serde_json::Value = serde_json::from_str(json).expect("one JSON document");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        let url = format!("file://{}", path.display());
        let id = compiler.compile(&url, &mut schemas).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        if let Err(e) = schemas.validate(&value, id) {
            panic!("{name} does not validate {json}:\n{e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_values_keep_their_order() {
        let names = ["zeta".to_string(), "alpha".to_string()];
        assert_eq!(to_json(&Keyed::zip(&names, [1, 2])), r#"{"zeta":1,"alpha":2}"#);
    }
}
