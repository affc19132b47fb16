//! Running a query and reading its rows: the one way the rest of lasthop asks DataFusion
//! something.
//!
//! - **Values never become SQL text.** A value a query needs (an address, a domain, a path
//!   from a log, a time) is a parameter, `$1`…, bound with [`Query::text`], [`Query::int`] or
//!   [`Query::texts`] (a list, for `IN (…)`), or rows of a table registered for the query
//!   alone ([`Query::table`]). DataFusion replaces each parameter with a literal before it
//!   analyses and optimises the plan, so the plan is the one a literal would have given.
//! - **Rows are read by column name and type.** A column the result lacks is an error naming
//!   the query and the columns it has; a column of another type is an error; counts stay
//!   integers. NULL is a value (`Ok(None)`), so each caller's default is written where it
//!   applies.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimeUnit, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, ParamValues, Result, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::prelude::{DataFrame, SessionContext};
use serde_json::Value;

/// The values a query is run with: its parameters and the tables it alone reads. Each binder
/// returns the placeholder to write in the SQL (`$3`), so the SQL is built from placeholders
/// only.
pub struct Query {
    label: &'static str,
    params: Vec<ScalarValue>,
    tables: Vec<(&'static str, Arc<dyn TableProvider>)>,
}

impl Query {
    /// A query named `label` (errors name it).
    pub fn new(label: &'static str) -> Query {
        Query { label, params: Vec::new(), tables: Vec::new() }
    }

    fn bind(&mut self, value: ScalarValue) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    /// Binds a text; returns its placeholder.
    pub fn text(&mut self, value: &str) -> String {
        self.bind(ScalarValue::Utf8(Some(value.to_string())))
    }

    /// Binds an integer; returns its placeholder.
    pub fn int(&mut self, value: i64) -> String {
        self.bind(ScalarValue::Int64(Some(value)))
    }

    /// Binds one parameter per text; returns their placeholders (`$3, $4, $5`) to put inside
    /// `IN (…)`. An empty list binds one empty text, so that `IN (…)` stays valid SQL.
    pub fn texts<'s>(&mut self, values: impl IntoIterator<Item = &'s str>) -> String {
        let mut placeholders: Vec<String> = values.into_iter().map(|v| self.text(v)).collect();
        if placeholders.is_empty() {
            placeholders.push(self.text(""));
        }
        placeholders.join(", ")
    }

    /// Registers `table` as `name` while this query runs.
    pub fn table(&mut self, name: &'static str, table: MemTable) {
        self.tables.push((name, Arc::new(table)));
    }

    /// The DataFrame of `sql` with the bound parameters, for plans built further by hand (the
    /// series scan). Tables cannot be bound this way: nothing would deregister them.
    pub async fn frame(self, ctx: &SessionContext, sql: &str) -> Result<DataFrame> {
        if !self.tables.is_empty() {
            return Err(DataFusionError::Internal(format!(
                "query `{}`: a frame cannot carry tables",
                self.label
            )));
        }
        let frame = ctx.sql(sql).await?;
        if self.params.is_empty() {
            return Ok(frame);
        }
        frame
            .with_param_values(ParamValues::List(self.params.into_iter().map(Into::into).collect()))
    }

    /// Runs `sql` with the bound values and collects its batches.
    pub async fn batches(self, ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
        for (name, table) in &self.tables {
            ctx.deregister_table(*name)?;
            ctx.register_table(*name, table.clone())?;
        }
        let result = async {
            let mut frame = ctx.sql(sql).await?;
            if !self.params.is_empty() {
                frame = frame.with_param_values(ParamValues::List(
                    self.params.iter().cloned().map(Into::into).collect(),
                ))?;
            }
            frame.collect().await
        }
        .await;
        for (name, _) in &self.tables {
            ctx.deregister_table(*name)?;
        }
        result.map_err(|e| e.context(format!("query `{}`", self.label)))
    }

    /// Runs `sql` with the bound values and returns its rows.
    pub async fn rows(self, ctx: &SessionContext, sql: &str) -> Result<Rows> {
        let label = self.label;
        Ok(Rows { label, batches: self.batches(ctx, sql).await? })
    }
}

/// Runs `sql`, which needs no values, and returns its rows.
pub async fn rows(ctx: &SessionContext, label: &'static str, sql: &str) -> Result<Rows> {
    Query::new(label).rows(ctx, sql).await
}

/// A query's result, read row by row.
pub struct Rows {
    label: &'static str,
    batches: Vec<RecordBatch>,
}

impl Rows {
    /// Rows over batches already collected, named `label` in errors.
    pub fn of(label: &'static str, batches: Vec<RecordBatch>) -> Rows {
        Rows { label, batches }
    }

    pub fn len(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.batches.iter().flat_map(move |batch| {
            (0..batch.num_rows()).map(move |row| Row { rows: self, batch, row })
        })
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    /// The integer in `column` of the first row (a `count(…) AS n` query), 0 when there is no
    /// row or it is NULL.
    pub fn single_u64(&self, column: &str) -> Result<u64> {
        Ok(match self.first() {
            Some(row) => row.u64(column)?.unwrap_or(0),
            None => 0,
        })
    }
}

/// One row of a result.
#[derive(Clone, Copy)]
pub struct Row<'r> {
    rows: &'r Rows,
    batch: &'r RecordBatch,
    row: usize,
}

impl<'r> Row<'r> {
    fn column(&self, name: &str) -> Result<&'r ArrayRef> {
        let batch: &'r RecordBatch = self.batch;
        match batch.schema_ref().index_of(name) {
            Ok(i) => Ok(batch.column(i)),
            Err(_) => {
                let schema = batch.schema();
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                Err(DataFusionError::Plan(format!(
                    "query `{}` has no column `{name}` (it has: {})",
                    self.rows.label,
                    names.join(", ")
                )))
            }
        }
    }

    /// The column's value unless it is NULL.
    fn value(&self, name: &str) -> Result<Option<&'r ArrayRef>> {
        let column = self.column(name)?;
        // Logical nulls: a column of type Null (`NULL AS uid`) has no validity buffer.
        let valid = column.logical_nulls().is_none_or(|nulls| nulls.is_valid(self.row));
        Ok(valid.then_some(column))
    }

    fn wrong_type(&self, name: &str, data_type: &DataType, wanted: &str) -> DataFusionError {
        DataFusionError::Execution(format!(
            "query `{}`: column `{name}` is {data_type}, not {wanted}",
            self.rows.label
        ))
    }

    /// A text column (`Utf8`, `LargeUtf8`, `Utf8View`).
    pub fn str(&self, name: &str) -> Result<Option<&'r str>> {
        let Some(column) = self.value(name)? else { return Ok(None) };
        let row = self.row;
        Ok(Some(match column.data_type() {
            DataType::Utf8 => column.as_string::<i32>().value(row),
            DataType::LargeUtf8 => column.as_string::<i64>().value(row),
            DataType::Utf8View => column.as_string_view().value(row),
            other => return Err(self.wrong_type(name, other, "text")),
        }))
    }

    /// A text column, NULL as the empty text.
    pub fn text(&self, name: &str) -> Result<String> {
        Ok(self.str(name)?.unwrap_or_default().to_string())
    }

    /// A signed integer column, or a timestamp in microseconds as its integer.
    pub fn i64(&self, name: &str) -> Result<Option<i64>> {
        let Some(column) = self.value(name)? else { return Ok(None) };
        let row = self.row;
        let out_of_range = || {
            DataFusionError::Execution(format!(
                "query `{}`: column `{name}` does not fit a signed 64-bit integer",
                self.rows.label
            ))
        };
        Ok(Some(match column.data_type() {
            DataType::Int8 => column.as_primitive::<Int8Type>().value(row).into(),
            DataType::Int16 => column.as_primitive::<Int16Type>().value(row).into(),
            DataType::Int32 => column.as_primitive::<Int32Type>().value(row).into(),
            DataType::Int64 => column.as_primitive::<Int64Type>().value(row),
            DataType::UInt8 => column.as_primitive::<UInt8Type>().value(row).into(),
            DataType::UInt16 => column.as_primitive::<UInt16Type>().value(row).into(),
            DataType::UInt32 => column.as_primitive::<UInt32Type>().value(row).into(),
            DataType::UInt64 => i64::try_from(column.as_primitive::<UInt64Type>().value(row))
                .map_err(|_| out_of_range())?,
            DataType::Decimal128(_, 0) => {
                i64::try_from(column.as_primitive::<Decimal128Type>().value(row))
                    .map_err(|_| out_of_range())?
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                column.as_primitive::<TimestampMicrosecondType>().value(row)
            }
            other => return Err(self.wrong_type(name, other, "an integer")),
        }))
    }

    /// A count: an integer column that is not negative.
    pub fn u64(&self, name: &str) -> Result<Option<u64>> {
        let Some(column) = self.value(name)? else { return Ok(None) };
        if let DataType::UInt64 = column.data_type() {
            return Ok(Some(column.as_primitive::<UInt64Type>().value(self.row)));
        }
        if let DataType::Decimal128(_, 0) = column.data_type() {
            let v = column.as_primitive::<Decimal128Type>().value(self.row);
            return u64::try_from(v).map(Some).map_err(|_| self.negative(name));
        }
        match self.i64(name)? {
            Some(v) => u64::try_from(v).map(Some).map_err(|_| self.negative(name)),
            None => Ok(None),
        }
    }

    fn negative(&self, name: &str) -> DataFusionError {
        DataFusionError::Execution(format!(
            "query `{}`: column `{name}` is not a count (negative or too large)",
            self.rows.label
        ))
    }

    /// A number column: floats, integers and whole decimals.
    pub fn f64(&self, name: &str) -> Result<Option<f64>> {
        let Some(column) = self.value(name)? else { return Ok(None) };
        let row = self.row;
        Ok(Some(match column.data_type() {
            DataType::Float64 => column.as_primitive::<Float64Type>().value(row),
            DataType::Float32 => column.as_primitive::<Float32Type>().value(row).into(),
            DataType::UInt64 => column.as_primitive::<UInt64Type>().value(row) as f64,
            DataType::Decimal128(_, scale) => {
                let v = column.as_primitive::<Decimal128Type>().value(row);
                v as f64 / 10f64.powi(i32::from(*scale))
            }
            _ => match self.i64(name) {
                Ok(v) => v.unwrap_or_default() as f64,
                Err(_) => return Err(self.wrong_type(name, column.data_type(), "a number")),
            },
        }))
    }

    /// The column's value as lasthop shows it in evidence (addresses as text, times as
    /// ISO 8601): `lasthop_normalise::cell_to_json`.
    pub fn json(&self, name: &str) -> Result<Value> {
        Ok(lasthop_normalise::cell_to_json(self.column(name)?, self.row))
    }

    /// Every column of the row as [`Self::json`] gives it.
    pub fn to_json_map(&self) -> serde_json::Map<String, Value> {
        let schema = self.batch.schema();
        schema
            .fields()
            .iter()
            .zip(self.batch.columns())
            .map(|(f, c)| (f.name().clone(), lasthop_normalise::cell_to_json(c, self.row)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray, UInt64Array};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn session() -> SessionContext {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("n", DataType::UInt64, true),
            Field::new("delta", DataType::Int64, true),
            Field::new("share", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("a'b"), None, Some("c")])),
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), Some(2), None])),
                Arc::new(Int64Array::from(vec![Some(-1), Some(2), Some(3)])),
                Arc::new(Float64Array::from(vec![Some(0.5), None, Some(1.0)])),
            ],
        )
        .unwrap();
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()))
            .unwrap();
        ctx
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn columns_are_read_by_name_and_type_and_counts_stay_exact() {
        let ctx = session();
        let rows = block_on(rows(&ctx, "sample", "SELECT * FROM t")).unwrap();
        assert_eq!(rows.len(), 3);
        let first = rows.first().unwrap();
        assert_eq!(first.str("name").unwrap(), Some("a'b"));
        assert_eq!(first.u64("n").unwrap(), Some(u64::MAX), "no trip through f64");
        assert_eq!(first.i64("delta").unwrap(), Some(-1));
        assert_eq!(first.f64("share").unwrap(), Some(0.5));
        assert_eq!(first.json("n").unwrap(), serde_json::json!(u64::MAX));
        let typed_null =
            block_on(super::rows(&ctx, "null", "SELECT NULL AS uid, CAST(NULL AS BIGINT) AS n"))
                .unwrap();
        let row = typed_null.first().unwrap();
        assert_eq!(row.str("uid").unwrap(), None, "a column of type Null reads as NULL");
        assert_eq!(row.u64("n").unwrap(), None);
        let second = rows.iter().nth(1).unwrap();
        assert_eq!(second.str("name").unwrap(), None, "NULL is a value");
        assert_eq!(second.text("name").unwrap(), "");
        assert_eq!(second.f64("share").unwrap(), None);
    }

    #[test]
    fn a_missing_column_or_a_wrong_type_is_an_error_naming_the_query() {
        let ctx = session();
        let rows = block_on(rows(&ctx, "sample", "SELECT * FROM t")).unwrap();
        let row = rows.first().unwrap();
        let missing = row.str("nmae").unwrap_err().to_string();
        assert!(missing.contains("`sample`") && missing.contains("`nmae`"), "{missing}");
        assert!(missing.contains("name, n, delta, share"), "{missing}");
        let wrong = row.u64("name").unwrap_err().to_string();
        assert!(wrong.contains("`name`") && wrong.contains("Utf8"), "{wrong}");
        assert!(row.u64("delta").is_err(), "a negative count is an error");
        assert!(row.str("n").is_err());
    }

    #[test]
    fn parameters_and_lists_are_data_not_sql() {
        let ctx = session();
        let mut query = Query::new("one");
        let name = query.text("a'b");
        let sql = format!("SELECT name FROM t WHERE name = {name}");
        assert_eq!(block_on(query.rows(&ctx, &sql)).unwrap().len(), 1);

        let mut query = Query::new("list");
        let list = query.texts(["c", "a'b", "x') OR ('1'='1"]);
        assert_eq!(list, "$1, $2, $3");
        let zero = query.int(0);
        let sql = format!("SELECT name FROM t WHERE name IN ({list}) AND delta > {zero}");
        let rows = block_on(query.rows(&ctx, &sql)).unwrap();
        let names: Vec<_> = rows.iter().map(|r| r.text("name").unwrap()).collect();
        assert_eq!(names, ["c"], "delta > 0 leaves c; a'b has delta -1");

        let mut query = Query::new("empty");
        let list = query.texts([]);
        assert_eq!(list, "$1");
        let sql = format!("SELECT count(*) AS n FROM t WHERE name IN ({list})");
        assert_eq!(block_on(query.rows(&ctx, &sql)).unwrap().single_u64("n").unwrap(), 0);
    }

    #[test]
    fn a_table_lives_for_its_query_only() {
        let ctx = session();
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Utf8, false)]));
        let keys = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["c", "zz"])) as ArrayRef],
        )
        .unwrap();
        let table = MemTable::try_new(schema, vec![vec![keys]]).unwrap();
        let mut query = Query::new("join");
        query.table("keys", table);
        let sql = "SELECT t.name FROM t JOIN keys ON t.name = keys.k";
        let rows = block_on(query.rows(&ctx, sql)).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(!ctx.table_exist("keys").unwrap(), "deregistered after the query");
    }
}
