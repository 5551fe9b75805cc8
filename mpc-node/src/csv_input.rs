//! Reading an owner's CSV against its schema, all or nothing.
//!
//! Every record is checked before anything is shared: a value that is not a number, outside
//! its declared range, not one of its column's levels, or a row with the wrong number of
//! fields stops the ingest with the file, line and column. So does a header that names a
//! column twice (which of the two would be shared?), and a file that would share no record:
//! one with a header only, or whose every record says no in its consent column (an ingest of
//! nothing is never what an owner means, and it must never stand in for the records shared
//! before). Numbers are encoded in fixed point (see `protocol::fixed`); categorical values
//! become the index of their level.

use protocol::fixed;
use std::path::{Path, PathBuf};
use thiserror::Error;
use wire::schema::Schema;

/// A CSV that cannot be ingested.
#[derive(Debug, Error)]
pub enum CsvError {
    /// The file cannot be opened or read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A value or row is invalid.
    #[error("{path}:{line}:{column}: {message}")]
    Value {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column number.
        column: usize,
        /// What is wrong, naming the column.
        message: String,
    },
}

/// A validated, encoded table, column-major in schema storage order.
#[derive(Debug)]
pub struct EncodedTable {
    /// One vector of ring elements per shared column.
    pub columns: Vec<Vec<u64>>,
    /// Number of records kept.
    pub rows: u64,
    /// Records skipped because their consent column said no.
    pub skipped_no_consent: u64,
}

/// Reads and encodes `path` according to `schema`.
pub fn read_table(path: &Path, schema: &Schema) -> Result<EncodedTable, CsvError> {
    let file_err = |message: String| CsvError::File { path: path.into(), message };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| file_err(e.to_string()))?;
    let headers = reader.headers().map_err(|e| file_err(format!("cannot read the header row: {e}")))?.clone();
    let header_error =
        |column: usize, message: String| CsvError::Value { path: path.into(), line: 1, column, message };
    if headers.iter().all(str::is_empty) {
        return Err(header_error(
            1,
            "the file is empty: it needs a header row naming the columns, then one line per record".into(),
        ));
    }
    for (i, name) in headers.iter().enumerate() {
        if let Some(first) = headers.iter().take(i).position(|h| !name.is_empty() && h == name) {
            return Err(header_error(
                i + 1,
                format!(
                    "the header names `{name}` twice (columns {} and {}): rename or remove one of them",
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    let find = |name: &str| -> Result<usize, CsvError> {
        headers.iter().position(|h| h == name).ok_or_else(|| CsvError::Value {
            path: path.into(),
            line: 1,
            column: headers.len() + 1,
            message: format!(
                "the header has no column `{name}` (it has: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        })
    };
    let feature_idx: Vec<usize> = schema.features.iter().map(|f| find(&f.name)).collect::<Result<_, _>>()?;
    let cat_idx: Vec<usize> = schema.categorical.iter().map(|c| find(&c.name)).collect::<Result<_, _>>()?;
    let consent_idx = schema.consent.as_deref().map(find).transpose()?;

    let width = schema.features.len() + schema.categorical.len();
    let mut columns: Vec<Vec<u64>> = vec![Vec::new(); width];
    let mut skipped = 0u64;
    // Where the first record without consent is, to point at it if no record has consent.
    let mut first_skipped = None;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("expected {expected_len} fields, found {len}")
                    }
                    _ => e.to_string(),
                };
                return Err(CsvError::Value { path: path.into(), line, column: 1, message });
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        let at = |column: usize, message: String| CsvError::Value {
            path: path.into(),
            line,
            column: column + 1,
            message,
        };
        if let Some(ci) = consent_idx {
            let name = schema.consent.as_deref().unwrap_or_default();
            match wire::schema::parse_consent(&record[ci]) {
                Some(true) => {}
                Some(false) => {
                    skipped += 1;
                    first_skipped.get_or_insert(line);
                    continue;
                }
                None => {
                    return Err(at(
                        ci,
                        format!("`{name}`: `{}` is not yes/no, true/false or 1/0", &record[ci]),
                    ));
                }
            }
        }
        for (k, (f, &i)) in schema.features.iter().zip(&feature_idx).enumerate() {
            let raw = &record[i];
            let x: f64 = raw.parse().map_err(|_| at(i, format!("`{}`: `{raw}` is not a number", f.name)))?;
            let lo = f.min.unwrap_or(-fixed::MAX_ABS);
            let hi = f.max.unwrap_or(fixed::MAX_ABS);
            if !(lo..=hi).contains(&x) {
                return Err(at(i, format!("`{}`: {raw} is outside the declared range {lo}..{hi}", f.name)));
            }
            columns[k].push(fixed::encode(x).map_err(|e| at(i, format!("`{}`: {e}", f.name)))?);
        }
        for (k, (c, &i)) in schema.categorical.iter().zip(&cat_idx).enumerate() {
            let raw = &record[i];
            let level = c.levels.iter().position(|l| l == raw).ok_or_else(|| {
                at(i, format!("`{}`: `{raw}` is not one of the declared levels {:?}", c.name, c.levels))
            })?;
            columns[schema.features.len() + k].push(level as u64);
        }
    }
    let rows = columns.first().map_or(0, |c| c.len() as u64);
    if rows == 0 {
        let nothing = "nothing was shared, and what this node shared before is unchanged";
        return Err(match (first_skipped, consent_idx) {
            (Some(line), Some(ci)) => CsvError::Value {
                path: path.into(),
                line,
                column: ci + 1,
                message: format!(
                    "every record ({skipped}) says no in `{}`: there is no record to share; {nothing}",
                    schema.consent.as_deref().unwrap_or_default()
                ),
            },
            _ => CsvError::Value {
                path: path.into(),
                line: 2,
                column: 1,
                message: format!("the file has a header row but no records; {nothing}"),
            },
        });
    }
    Ok(EncodedTable { columns, rows, skipped_no_consent: skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::schema::{CategoricalColumn, NumericColumn};

    fn schema() -> Schema {
        Schema {
            features: vec![
                NumericColumn { name: "age".into(), min: Some(0.0), max: Some(120.0) },
                NumericColumn { name: "spend".into(), min: None, max: None },
            ],
            categorical: vec![CategoricalColumn {
                name: "group".into(),
                levels: vec!["a".into(), "b".into()],
            }],
            consent: Some("consent".into()),
        }
    }

    fn read(text: &str) -> Result<EncodedTable, CsvError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        read_table(&path, &schema())
    }

    #[test]
    fn encodes_columns_and_skips_non_consenting_records() {
        let t = read("id,age,spend,group,consent\n1,30,-2.5,b,yes\n2,40,1,a,no\n3, 50 ,0.25,a,1\n").unwrap();
        assert_eq!((t.rows, t.skipped_no_consent), (2, 1));
        assert_eq!(t.columns[0], vec![fixed::encode(30.0).unwrap(), fixed::encode(50.0).unwrap()]);
        assert_eq!(t.columns[1], vec![fixed::encode(-2.5).unwrap(), fixed::encode(0.25).unwrap()]);
        assert_eq!(t.columns[2], vec![1, 0]);
    }

    #[test]
    fn a_file_with_a_header_only_is_refused_at_line_2() {
        for text in ["age,spend,group,consent\n", "age,spend,group,consent"] {
            let err = read(text).unwrap_err().to_string();
            assert!(
                err.ends_with(
                    "in.csv:2:1: the file has a header row but no records; nothing was shared, and what this \
                 node shared before is unchanged"
                ),
                "{text:?} gave {err}"
            );
        }
    }

    #[test]
    fn an_empty_file_is_refused_at_line_1() {
        let err = read("").unwrap_err().to_string();
        assert!(err.contains("in.csv:1:1: the file is empty"), "{err}");
    }

    #[test]
    fn a_file_whose_every_record_refuses_consent_is_refused_at_the_first_of_them() {
        let err = read("age,spend,group,consent\n1,2,a,no\n3,4,b,n\n").unwrap_err().to_string();
        assert!(err.contains("in.csv:2:4: every record (2) says no in `consent`"), "{err}");
        assert!(err.contains("nothing was shared"), "{err}");
    }

    #[test]
    fn a_column_named_twice_is_refused_at_its_second_place() {
        let err = read("age,spend,age,group,consent\n1,2,3,a,yes\n").unwrap_err().to_string();
        assert!(err.contains("in.csv:1:3: the header names `age` twice (columns 1 and 3)"), "{err}");
        // Even a column the schema does not use: which of the two was meant is unknown.
        let err = read("id,age,spend,group,consent,id\n1,2,3,a,yes,1\n").unwrap_err().to_string();
        assert!(err.contains("in.csv:1:6: the header names `id` twice (columns 1 and 6)"), "{err}");
    }

    #[test]
    fn errors_give_line_and_column() {
        let cases = [
            ("age,spend,group,consent\n1,2,a,yes\n3,x,a,yes\n", ":3:2:", "`spend`"),
            ("age,spend,group,consent\n130,2,a,yes\n", ":2:1:", "outside the declared range"),
            ("age,spend,group,consent\n1,2,c,yes\n", ":2:3:", "not one of the declared levels"),
            ("age,spend,group,consent\n1,2,a,maybe\n", ":2:4:", "`consent`"),
            ("age,spend,group,consent\n1,2,a\n", ":2:1:", "expected 4 fields, found 3"),
            ("age,spend,consent\n1,2,yes\n", ":1:4:", "no column `group`"),
            ("age,spend,group,consent\n1,,a,yes\n", ":2:2:", "is not a number"),
            ("age,spend,group,consent\n1,3e12,a,yes\n", ":2:2:", "range"),
            ("age,spend,group,consent\n1,NaN,a,yes\n", ":2:2:", "range"),
        ];
        for (text, pos, what) in cases {
            let err = read(text).unwrap_err().to_string();
            assert!(err.contains("in.csv") && err.contains(pos) && err.contains(what), "{text:?} gave {err}");
        }
    }

    #[test]
    fn a_missing_file_names_the_file() {
        let err = read_table(Path::new("/nonexistent/x.csv"), &schema()).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/x.csv"), "{err}");
    }
}
