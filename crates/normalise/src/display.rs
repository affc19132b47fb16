//! Turning stored values back into text for people and JSON for tools: 16-byte addresses as IP
//! text, timestamps as ISO 8601 UTC.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use serde_json::Value;

use crate::ip::format_ip;

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), by Howard Hinnant's civil_from_days.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn civil_from_days(day: i64) -> (i64, i64, i64) {
    let z = day + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// ISO 8601 UTC with microseconds, e.g. `2024-04-19T00:00:01.123456Z`.
pub fn format_timestamp(micros: i64) -> String {
    let day = micros.div_euclid(86_400_000_000);
    let rem = micros.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(day);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn timestamp_micros(value: i64, unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => value.saturating_mul(1_000_000),
        TimeUnit::Millisecond => value.saturating_mul(1000),
        TimeUnit::Microsecond => value,
        TimeUnit::Nanosecond => value / 1000,
    }
}

/// One cell as JSON. Addresses become IP text and timestamps ISO 8601; types without a natural
/// JSON form fall back to Arrow's own display.
pub fn cell_to_json(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Utf8 => Value::from(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Value::from(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Value::from(array.as_string_view().value(row)),
        DataType::Boolean => Value::from(array.as_boolean().value(row)),
        DataType::Int8 => Value::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => Value::from(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Value::from(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => Value::from(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => Value::from(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => Value::from(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => float(array.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::FixedSizeBinary(16) => {
            Value::from(format_ip(array.as_fixed_size_binary().value(row)))
        }
        DataType::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            Value::from(format_timestamp(timestamp_micros(v, unit)))
        }
        // Whole decimals (what SQL makes of sums mixing signed and unsigned counts) stay numbers
        // while they fit; others keep their exact text.
        DataType::Decimal128(_, 0) => {
            let v = array.as_primitive::<Decimal128Type>().value(row);
            match (i64::try_from(v), u64::try_from(v)) {
                (Ok(i), _) => Value::from(i),
                (_, Ok(u)) => Value::from(u),
                _ => Value::from(v.to_string()),
            }
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>().value(row);
            Value::Array((0..list.len()).map(|i| cell_to_json(&list, i)).collect())
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>().value(row);
            Value::Array((0..list.len()).map(|i| cell_to_json(&list, i)).collect())
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let keys = entries.column(0);
            let values = entries.column(1);
            let mut object = serde_json::Map::new();
            for i in 0..entries.len() {
                let key = match cell_to_json(keys, i) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                object.insert(key, cell_to_json(values, i));
            }
            Value::Object(object)
        }
        _ => {
            let options = arrow_cast::display::FormatOptions::default();
            match arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &options) {
                Ok(f) => Value::from(f.value(row).to_string()),
                Err(_) => Value::Null,
            }
        }
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

/// One cell as text for tables and CSV: strings bare, everything else as in JSON.
pub fn cell_to_text(array: &ArrayRef, row: usize) -> String {
    match cell_to_json(array, row) {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{FixedSizeBinaryArray, TimestampMicrosecondArray};

    use super::*;
    use crate::ip::parse_ip;

    #[test]
    fn formats_days_and_timestamps() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(19_832), "2024-04-19");
        assert_eq!(format_day(-1), "1969-12-31");
        assert_eq!(format_timestamp(1_713_484_795_943_239), "2024-04-18T23:59:55.943239Z");
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn addresses_and_times_become_text() {
        let ips: ArrayRef = Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                [Some(parse_ip("10.0.0.1").unwrap()), None].into_iter(),
                16,
            )
            .unwrap(),
        );
        assert_eq!(cell_to_json(&ips, 0), Value::from("10.0.0.1"));
        assert_eq!(cell_to_json(&ips, 1), Value::Null);
        let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![0]).with_timezone("UTC"));
        assert_eq!(cell_to_text(&ts, 0), "1970-01-01T00:00:00.000000Z");
    }
}
