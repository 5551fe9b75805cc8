//! Dataset schemas: which columns a CSV has, and how each is encoded.
//!
//! Shared columns are stored in schema order: every numeric feature (fixed point), then every
//! categorical column (the index of its level, as a plain integer). The consent column, if any,
//! decides which records are shared and is never shared itself.

use serde::{Deserialize, Serialize};

/// The declared columns of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Numeric features, in order.
    #[serde(default)]
    pub features: Vec<NumericColumn>,
    /// Categorical columns (for example a protected attribute), in order.
    #[serde(default)]
    pub categorical: Vec<CategoricalColumn>,
    /// Name of the column that says whether a customer consented to the analysis; records that
    /// say no are not shared. Accepted values: yes/no, true/false, 1/0, y/n (any case).
    #[serde(default)]
    pub consent: Option<String>,
}

/// A numeric feature and its declared range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumericColumn {
    /// Column name, as in the CSV header.
    pub name: String,
    /// Smallest accepted value; defaults to the fixed-point range.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest accepted value; defaults to the fixed-point range.
    #[serde(default)]
    pub max: Option<f64>,
}

/// A categorical column and its levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoricalColumn {
    /// Column name, as in the CSV header.
    pub name: String,
    /// The accepted values, in the order that gives their codes (0, 1, ...).
    pub levels: Vec<String>,
}

impl Schema {
    /// Names of the shared columns, in storage order.
    pub fn shared_columns(&self) -> Vec<&str> {
        self.features
            .iter()
            .map(|f| f.name.as_str())
            .chain(self.categorical.iter().map(|c| c.name.as_str()))
            .collect()
    }

    /// Position of a numeric feature in storage order.
    pub fn feature_index(&self, name: &str) -> Option<usize> {
        self.features.iter().position(|f| f.name == name)
    }

    /// Checks the schema itself: names present and unique, ranges ordered, levels present
    /// and unique. Returns the first problem.
    pub fn check(&self) -> Result<(), SchemaError> {
        let mut names: Vec<&str> = self.shared_columns();
        names.extend(self.consent.as_deref());
        if self.features.is_empty() && self.categorical.is_empty() {
            return Err(SchemaError::NoColumns);
        }
        for (i, n) in names.iter().enumerate() {
            if n.trim().is_empty() {
                return Err(SchemaError::EmptyName);
            }
            if names[..i].contains(n) {
                return Err(SchemaError::Twice(n.to_string()));
            }
        }
        for f in &self.features {
            if let (Some(min), Some(max)) = (f.min, f.max)
                && !matches!(
                    min.partial_cmp(&max),
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                )
            {
                return Err(SchemaError::Range { feature: f.name.clone(), min, max });
            }
        }
        for c in &self.categorical {
            if c.levels.is_empty() {
                return Err(SchemaError::NoLevels(c.name.clone()));
            }
            for (i, l) in c.levels.iter().enumerate() {
                if c.levels[..i].contains(l) {
                    return Err(SchemaError::LevelTwice { column: c.name.clone(), level: l.clone() });
                }
            }
        }
        Ok(())
    }

    /// Describes every column in which `other` differs from `self`; empty when they match.
    /// The consent column is private to each owner and is not compared.
    pub fn differences(&self, other: &Schema) -> Vec<String> {
        let mut out = Vec::new();
        let mine = self.shared_columns();
        let theirs = other.shared_columns();
        for n in &mine {
            if !theirs.contains(n) {
                out.push(format!("`{n}` is missing"));
            }
        }
        for n in &theirs {
            if !mine.contains(n) {
                out.push(format!("`{n}` is not in the dataset"));
            }
        }
        if out.is_empty() && mine != theirs {
            out.push(format!(
                "columns are in another order: dataset has {mine:?}, contribution has {theirs:?}"
            ));
        }
        for f in &self.features {
            if let Some(g) = other.features.iter().find(|g| g.name == f.name)
                && (f.min != g.min || f.max != g.max)
            {
                out.push(format!(
                    "`{}` has range {:?}..{:?} in the dataset and {:?}..{:?} in the contribution",
                    f.name, f.min, f.max, g.min, g.max
                ));
            }
            if other.categorical.iter().any(|c| c.name == f.name) {
                out.push(format!(
                    "`{}` is numeric in the dataset and categorical in the contribution",
                    f.name
                ));
            }
        }
        for c in &self.categorical {
            if let Some(d) = other.categorical.iter().find(|d| d.name == c.name)
                && c.levels != d.levels
            {
                out.push(format!(
                    "`{}` has levels {:?} in the dataset and {:?} in the contribution",
                    c.name, c.levels, d.levels
                ));
            }
        }
        out
    }
}

/// What is wrong with a schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    /// Neither a feature nor a categorical column.
    #[error("the schema declares no feature and no categorical column")]
    NoColumns,
    /// A column without a name.
    #[error("a column name is empty")]
    EmptyName,
    /// A column declared twice.
    #[error("column `{0}` is declared twice")]
    Twice(String),
    /// A range whose minimum is above its maximum.
    #[error("feature `{feature}` has min {min} greater than max {max}")]
    Range {
        /// The feature.
        feature: String,
        /// Its minimum.
        min: f64,
        /// Its maximum.
        max: f64,
    },
    /// A categorical column without levels.
    #[error("categorical column `{0}` declares no levels")]
    NoLevels(String),
    /// A level declared twice.
    #[error("categorical column `{column}` declares level `{level}` twice")]
    LevelTwice {
        /// The column.
        column: String,
        /// The level.
        level: String,
    },
}

/// What a consent cell says: `Some(true)` for yes, `Some(false)` for no, `None` for anything
/// else. Surrounding spaces and case do not matter. The one reading of a consent cell, for the
/// owner's ingest and the plaintext mode alike.
pub fn parse_consent(cell: &str) -> Option<bool> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Some(true),
        "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema {
            features: vec![
                NumericColumn { name: "age".into(), min: Some(18.0), max: Some(100.0) },
                NumericColumn { name: "income".into(), min: None, max: None },
            ],
            categorical: vec![CategoricalColumn {
                name: "group".into(),
                levels: vec!["a".into(), "b".into()],
            }],
            consent: Some("consent".into()),
        }
    }

    #[test]
    fn consent_cells_read_the_same_whatever_their_case_and_spaces() {
        for yes in ["yes", " Yes ", "Y", "TRUE", "1", "\ty"] {
            assert_eq!(parse_consent(yes), Some(true), "{yes:?}");
        }
        for no in ["no", "NO ", " n", "False", "0"] {
            assert_eq!(parse_consent(no), Some(false), "{no:?}");
        }
        for neither in ["", " ", "maybe", "2", "yess", "o"] {
            assert_eq!(parse_consent(neither), None, "{neither:?}");
        }
    }

    #[test]
    fn same_schema_has_no_differences_and_consent_is_private() {
        let mut other = schema();
        other.consent = None;
        assert!(schema().differences(&other).is_empty());
        assert_eq!(schema().shared_columns(), vec!["age", "income", "group"]);
    }

    #[test]
    fn differences_name_the_columns() {
        let mut other = schema();
        other.features.remove(1);
        other.categorical[0].levels.push("c".into());
        let d = schema().differences(&other);
        assert!(d.iter().any(|m| m.contains("`income` is missing")), "{d:?}");
        assert!(d.iter().any(|m| m.contains("`group` has levels")), "{d:?}");
    }

    #[test]
    fn schemas_without_optional_fields_survive_the_wire_and_toml() {
        // Postcard is not self-describing: an optional field must never be skipped.
        let bare = Schema {
            features: vec![NumericColumn { name: "x".into(), min: None, max: Some(3.0) }],
            categorical: vec![],
            consent: None,
        };
        let bytes = postcard::to_stdvec(&bare).unwrap();
        assert_eq!(postcard::from_bytes::<Schema>(&bytes).unwrap(), bare);
        let text = toml::to_string(&bare).unwrap();
        assert_eq!(toml::from_str::<Schema>(&text).unwrap(), bare);
    }

    #[test]
    fn check_finds_bad_declarations() {
        assert!(schema().check().is_ok());
        let mut s = schema();
        s.categorical[0].name = "age".into();
        assert!(s.check().unwrap_err().to_string().contains("declared twice"));
        let mut s = schema();
        s.features[0].min = Some(200.0);
        assert!(s.check().unwrap_err().to_string().contains("greater than max"));
    }
}
