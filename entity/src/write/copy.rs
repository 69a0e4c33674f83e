//! Rows as the data of PostgreSQL's `COPY … FROM STDIN` in its text format, for the write
//! path's bulk inserts (see `session`).
//!
//! The text format is what the server parses for each column's type: a row per line,
//! values separated by tabs, `\N` for NULL, and a backslash, tab, newline or carriage
//! return in a value escaped with a backslash (PostgreSQL's `COPY` reference, File Formats,
//! Text Format: <https://www.postgresql.org/docs/current/sql-copy.html>). sqlx sends the data
//! (`PgCopyIn`); neither it nor sea-query writes the format.

use sea_orm::sea_query::Value;
use sea_orm::{
    ActiveModelTrait, ActiveValue, DbErr, EntityName, EntityTrait, IdenStatic, Iterable,
};
use std::io::{self, Write};

/// Rows ready to be copied into a table.
#[derive(Debug)]
pub(crate) struct CopyRows {
    /// The table, unqualified: the connection's search path names the schema, as for
    /// every statement sea-orm builds.
    pub(crate) table: String,
    /// The columns every row sets, in the order of each line's values.
    pub(crate) columns: Vec<String>,
    pub(crate) data: Vec<u8>,
}

impl CopyRows {
    /// `COPY table (columns) FROM STDIN` into `table` (this one's or a staging table),
    /// identifiers quoted.
    pub(crate) fn copy_into(&self, table: &str) -> String {
        format!("COPY {} ({}) FROM STDIN", quoted(table), self.column_list())
    }

    /// Whether `other`'s lines can follow these in one `COPY`: same table, same columns.
    pub(crate) fn same_layout(&self, other: &CopyRows) -> Result<(), DbErr> {
        if other.table != self.table || other.columns != self.columns {
            return Err(DbErr::Custom(
                "rows copied together must set the same columns".into(),
            ));
        }
        Ok(())
    }

    /// Adds `more`'s rows after these.
    pub(crate) fn append(&mut self, more: CopyRows) -> Result<(), DbErr> {
        self.same_layout(&more)?;
        self.data.extend_from_slice(&more.data);
        Ok(())
    }

    /// The columns, quoted and separated by commas.
    pub(crate) fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Identifiers come from the entities, never from input; quoting keeps them as declared.
pub(crate) fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// The text of `rows` (none: `None`). Every row must set the same columns: a column that
/// one row leaves to its default cannot be given by another on the same line layout.
pub(crate) fn copy_rows<A: ActiveModelTrait>(rows: Vec<A>) -> Result<Option<CopyRows>, DbErr> {
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter().collect();
    let mut set: Option<Vec<bool>> = None;
    let mut data = Vec::new();
    for mut row in rows {
        let values: Vec<Option<Value>> = columns
            .iter()
            .map(|column| match row.take(*column) {
                ActiveValue::Set(value) | ActiveValue::Unchanged(value) => Some(value),
                ActiveValue::NotSet => None,
            })
            .collect();
        let these: Vec<bool> = values.iter().map(Option::is_some).collect();
        match &set {
            Some(first) if *first != these => {
                return Err(DbErr::Custom(
                    "rows copied together must set the same columns".into(),
                ));
            }
            Some(_) => {}
            None => set = Some(these),
        }
        let mut separator = false;
        for value in values.iter().flatten() {
            if separator {
                data.push(b'\t');
            }
            separator = true;
            write_value(&mut data, value)?;
        }
        data.push(b'\n');
    }
    let Some(set) = set else {
        return Ok(None);
    };
    Ok(Some(CopyRows {
        table: A::Entity::default().table_name().to_owned(),
        columns: columns
            .iter()
            .zip(set)
            .filter(|(_, set)| *set)
            .map(|(column, _)| column.as_str().to_owned())
            .collect(),
        data,
    }))
}

/// One value in the text format. Times are written to the microsecond, dropping the rest,
/// as sqlx binds them: a row copied and a row inserted keep the same instant.
fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), DbErr> {
    let written = match value {
        Value::Bool(Some(b)) => {
            out.push(if *b { b't' } else { b'f' });
            Ok(())
        }
        Value::Int(Some(n)) => write!(out, "{n}"),
        Value::BigInt(Some(n)) => write!(out, "{n}"),
        Value::String(Some(s)) => Escaped(out).write_all(s.as_bytes()),
        Value::Json(Some(json)) => write_json(out, json),
        Value::ChronoDateTimeUtc(Some(at)) => {
            write!(out, "{}", at.format("%Y-%m-%d %H:%M:%S%.6f+00"))
        }
        Value::Bytes(Some(bytes)) => {
            // bytea's hex format, its backslash escaped: `\\x` then two digits a byte.
            out.extend_from_slice(b"\\\\x");
            bytes.iter().try_for_each(|b| write!(out, "{b:02x}"))
        }
        other if *other == other.as_null() => {
            out.extend_from_slice(b"\\N");
            Ok(())
        }
        other => {
            return Err(DbErr::Custom(format!(
                "no COPY text for a value of this type: {other:?}"
            )));
        }
    };
    written.map_err(|e| DbErr::Custom(format!("writing COPY data: {e}")))
}

/// JSON is serialized straight into the line, then escaped only if it holds a reserved byte:
/// through an escaping writer, serde_json's many small writes cost more than the escaping
/// (4.0-4.8 % of a writer's CPU samples in a write of new accounts).
fn write_json(out: &mut Vec<u8>, json: &serde_json::Value) -> io::Result<()> {
    let start = out.len();
    serde_json::to_writer(&mut *out, json)?;
    if out[start..].iter().copied().any(reserved) {
        let text = out.split_off(start);
        Escaped(out).write_all(&text)?;
    }
    Ok(())
}

/// Bytes the text format escapes.
fn reserved(byte: u8) -> bool {
    matches!(byte, b'\\' | b'\n' | b'\r' | b'\t')
}

/// Writes through, escaping what the text format reserves; runs between reserved bytes are
/// copied whole.
struct Escaped<'a>(&'a mut Vec<u8>);

impl Write for Escaped<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = rest.iter().copied().position(reserved) {
            self.0.extend_from_slice(&rest[..at]);
            self.0.extend_from_slice(match rest[at] {
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                _ => b"\\t",
            });
            rest = &rest[at + 1..];
        }
        self.0.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset_change;
    use crate::enums::{AssetType, ChangeKind};
    use chrono::{TimeZone, Utc};
    use sea_orm::ActiveValue::Set;
    use serde_json::json;

    fn change(asset_id: &str, actor: Option<&str>) -> asset_change::ActiveModel {
        asset_change::ActiveModel {
            asset_type: Set(AssetType::CloudAccount),
            asset_id: Set(asset_id.to_owned()),
            run_id: Set(None),
            actor: Set(actor.map(str::to_owned)),
            at: Set(Utc
                .timestamp_opt(1_700_000_000, 123_456_789)
                .single()
                .expect("time")),
            kind: Set(ChangeKind::Created),
            changes: Set(json!({ "path": "C:\\new\ttab" })),
            ..Default::default()
        }
    }

    /// Unset columns (the serial id, the transaction id) are left to their defaults; NULL,
    /// reserved characters, a literal `\N` and sub-microsecond time are written as the text
    /// format wants them.
    #[test]
    fn rows_become_lines_of_tab_separated_escaped_values() {
        let copy = copy_rows(vec![
            change("aws:1\tx\ny\\z", None),
            change("\\N", Some("ana")),
        ])
        .expect("copy")
        .expect("rows");
        assert_eq!(copy.table, "asset_changes");
        assert_eq!(
            copy.columns,
            [
                "asset_type",
                "asset_id",
                "run_id",
                "actor",
                "at",
                "kind",
                "changes"
            ]
        );
        let at = "2023-11-14 22:13:20.123456+00";
        let changes = r#"{"path":"C:\\\\new\\ttab"}"#;
        let expected = format!(
            "cloud_account\taws:1\\tx\\ny\\\\z\t\\N\t\\N\t{at}\tcreated\t{changes}\n\
             cloud_account\t\\\\N\t\\N\tana\t{at}\tcreated\t{changes}\n"
        );
        assert_eq!(String::from_utf8_lossy(&copy.data), expected);
        assert_eq!(
            copy.copy_into("asset_changes_staging"),
            "COPY \"asset_changes_staging\" (\"asset_type\", \"asset_id\", \"run_id\", \
             \"actor\", \"at\", \"kind\", \"changes\") FROM STDIN"
        );
    }

    #[test]
    fn no_rows_is_no_copy() {
        let none: Vec<asset_change::ActiveModel> = Vec::new();
        assert!(copy_rows(none).expect("copy").is_none());
    }

    #[test]
    fn rows_that_set_other_columns_are_refused() {
        let mut other = change("aws:2", None);
        other.run_id = sea_orm::ActiveValue::NotSet;
        assert!(copy_rows(vec![change("aws:1", None), other]).is_err());
    }

    #[test]
    fn bytes_are_hex_and_unknown_types_an_error() {
        let mut out = Vec::new();
        write_value(&mut out, &Value::Bytes(Some(vec![0, 0xab, 0xff]))).expect("bytes");
        assert_eq!(out, b"\\\\x00abff");
        assert!(write_value(&mut Vec::new(), &Value::Double(Some(0.5))).is_err());
        let mut null = Vec::new();
        write_value(&mut null, &Value::Double(None)).expect("a NULL of any type");
        assert_eq!(null, b"\\N");
    }
}
