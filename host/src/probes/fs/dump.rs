//! Structured dumps of a record set as JSON, CSV (RFC 4180) and an aligned
//! text table: the "file dump operations" of a reporting service. Rendering
//! happens before the timed write.

use super::FsError;

/// Most cells one dump may hold: bounds host memory.
pub const MAX_CELLS: usize = 1_000_000;

/// Named columns and rows of text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A dump format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An array of objects, one per row, keyed by column name.
    Json,
    /// RFC 4180: a header line, CRLF line ends, quoted when needed.
    Csv,
    /// A header and rows aligned in columns, for people.
    Text,
}

impl RecordSet {
    fn validate(&self) -> Result<(), FsError> {
        if self.columns.is_empty() {
            return Err(FsError::Invalid(
                "a record set needs at least one column".into(),
            ));
        }
        let cells = self.columns.len().saturating_mul(self.rows.len() + 1);
        if cells > MAX_CELLS {
            return Err(FsError::Invalid(format!(
                "a record set of {cells} cells exceeds the limit of {MAX_CELLS}"
            )));
        }
        for (i, row) in self.rows.iter().enumerate() {
            if row.len() != self.columns.len() {
                return Err(FsError::Invalid(format!(
                    "row {} has {} cells; the record set has {} columns",
                    i + 1,
                    row.len(),
                    self.columns.len()
                )));
            }
        }
        Ok(())
    }
}

/// Renders `set` in `format`.
pub fn render(set: &RecordSet, format: Format) -> Result<Vec<u8>, FsError> {
    set.validate()?;
    Ok(match format {
        Format::Json => json(set),
        Format::Csv => csv(set),
        Format::Text => text(set),
    })
}

fn json(set: &RecordSet) -> Vec<u8> {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = set
        .rows
        .iter()
        .map(|row| {
            set.columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.clone(), serde_json::Value::String(v.clone())))
                .collect()
        })
        .collect();
    let mut out = serde_json::to_vec_pretty(&rows).expect("strings always serialise");
    out.push(b'\n');
    out
}

fn csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) || field.starts_with(' ') || field.ends_with(' ') {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

fn csv(set: &RecordSet) -> Vec<u8> {
    let mut out = String::new();
    for line in std::iter::once(&set.columns).chain(&set.rows) {
        for (i, field) in line.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, field);
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn text(set: &RecordSet) -> Vec<u8> {
    let clean = |s: &str| s.replace(['\n', '\r', '\t'], " ");
    let mut widths: Vec<usize> = set.columns.iter().map(|c| c.chars().count()).collect();
    for row in &set.rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(clean(cell).chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:<w$}", clean(c), w = *w))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&set.columns, &mut out);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&rule, &mut out);
    for row in &set.rows {
        line(row, &mut out);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> RecordSet {
        RecordSet {
            columns: vec!["id".into(), "name".into()],
            rows: vec![
                vec!["1".into(), "plain".into()],
                vec!["2".into(), "has, comma and \"quote\"".into()],
            ],
        }
    }

    #[test]
    fn json_is_an_array_of_objects() {
        let v: serde_json::Value =
            serde_json::from_slice(&render(&set(), Format::Json).unwrap()).unwrap();
        assert_eq!(v[1]["name"], "has, comma and \"quote\"");
        assert_eq!(v.as_array().unwrap().len(), 2);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let out = String::from_utf8(render(&set(), Format::Csv).unwrap()).unwrap();
        assert_eq!(
            out,
            "id,name\r\n1,plain\r\n2,\"has, comma and \"\"quote\"\"\"\r\n"
        );
    }

    #[test]
    fn text_aligns_columns() {
        let out = String::from_utf8(render(&set(), Format::Text).unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "id  name");
        assert_eq!(lines[1], "--  ----------------------");
        assert_eq!(lines[2], "1   plain");
    }

    #[test]
    fn ragged_rows_are_invalid() {
        let mut s = set();
        s.rows.push(vec!["3".into()]);
        let e = render(&s, Format::Csv).unwrap_err();
        assert!(e.to_string().contains("row 3 has 1 cells"), "{e}");
    }
}
