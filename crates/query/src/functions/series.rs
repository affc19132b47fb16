//! The series scan's own functions, `_series_order(k1, k2, ts)` and `_series_address(addr)`: the
//! one-integer sort key of [`crate::series::scan`]. Registered by name so that a cluster's
//! executors decode plans holding them; not meant for hand-written queries.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, FixedSizeBinaryArray, StringArray, StringViewArray,
};
use datafusion::arrow::datatypes::ToByteSlice;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, TimestampMicrosecondType};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers `_series_order` and `_series_address`, so that a plan holding them decodes by
/// name (a cluster's executors).
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(SeriesOrder::new()));
    ctx.register_udf(ScalarUDF::from(WideAddress::new()));
}

/// An address as the store keeps it.
pub(crate) const ADDRESS: DataType = DataType::FixedSizeBinary(16);

/// `_series_address(addr)`: an address's 16 bytes as one 128-bit integer (its bytes in memory
/// unchanged), so that the sort moves addresses as primitive values: as fixed-size binary, its
/// merge copied them one at a time (measured: 5 % of the per-pair gap statistics of 10 M
/// connections). Only the scan reads it back, as bytes; the value is not a decimal number and
/// is never shown as one.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct WideAddress {
    signature: Signature,
}

impl WideAddress {
    pub(crate) fn new() -> WideAddress {
        WideAddress { signature: Signature::exact(vec![ADDRESS], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for WideAddress {
    fn name(&self) -> &str {
        "_series_address"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let array = args.args[0].clone().into_array(args.number_rows)?;
        let addresses = array.as_fixed_size_binary();
        let wide: Decimal128Array = (0..addresses.len())
            .map(|row| {
                addresses.is_valid(row).then(|| {
                    i128::from_le_bytes(addresses.value(row).try_into().expect("16 bytes"))
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(wide.with_precision_and_scale(38, 0)?)))
    }
}

/// `_series_order(k1, k2, ts)`: a 62-bit hash of the pair in the high 64 bits, the time (as an
/// unsigned offset, so that order is kept) in the low 64, as one Decimal128 (precision 38: the
/// hash is cut to 62 bits so that every value stays below 10^38).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct SeriesOrder {
    signature: Signature,
}

impl SeriesOrder {
    pub(crate) fn new() -> SeriesOrder {
        SeriesOrder { signature: Signature::any(3, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for SeriesOrder {
    fn name(&self) -> &str {
        "_series_order"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = args
            .args
            .iter()
            .map(|a| a.clone().into_array(args.number_rows))
            .collect::<Result<Vec<_>>>()?;
        let (k1, k2) = (Key::of(&arrays[0])?, Key::of(&arrays[1])?);
        let ts = datafusion::arrow::compute::cast(
            &arrays[2],
            &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
        )?;
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        let order: Decimal128Array = (0..args.number_rows)
            .map(|row| {
                let time = if ts.is_valid(row) { ts.value(row) } else { i64::MIN };
                Some(series_order(pair_hash(k1.bytes(row), k2.bytes(row)), time))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(order.with_precision_and_scale(38, 0)?)))
    }
}

/// The sort key of one contact: pair hash first, then time.
pub(crate) fn series_order(hash: u64, time: i64) -> i128 {
    (i128::from(hash >> 2) << 64) | i128::from((time as u64) ^ (1 << 63))
}

/// The time a sort key holds: the inverse of [`series_order`]'s low half.
pub(crate) fn series_time(order: i128) -> i64 {
    ((order as u64) ^ (1 << 63)) as i64
}

/// A fast, fixed-seed hash of a pair's two keys (collisions cost nothing but a longer run).
pub(crate) fn pair_hash(k1: &[u8], k2: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = 0x243f_6a88_85a3_08d3u64;
    for key in [k1, k2] {
        let mut words = key.chunks_exact(8);
        for word in &mut words {
            let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            h = (h ^ w).wrapping_mul(K).rotate_left(31);
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        h = (h ^ u64::from_le_bytes(tail) ^ ((key.len() as u64) << 56)).wrapping_mul(K);
        h = h.rotate_left(27);
    }
    // splitmix64's finaliser: every input bit reaches the top bits the sort looks at first.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A key column as bytes, whatever string or binary type the plan produced.
pub(crate) enum Key {
    Fixed(FixedSizeBinaryArray),
    /// An address made one integer by `_series_address`.
    Wide(Decimal128Array),
    Utf8(StringArray),
    View(StringViewArray),
}

impl Key {
    pub(crate) fn of(array: &ArrayRef) -> Result<Key> {
        Ok(match array.data_type() {
            DataType::FixedSizeBinary(_) => Key::Fixed(array.as_fixed_size_binary().clone()),
            DataType::Decimal128(..) => Key::Wide(array.as_primitive::<Decimal128Type>().clone()),
            DataType::Utf8 => Key::Utf8(array.as_string::<i32>().clone()),
            DataType::Utf8View => Key::View(array.as_string_view().clone()),
            other => return exec_err!("series key must be an address or text, not {other}"),
        })
    }

    pub(crate) fn bytes(&self, row: usize) -> &[u8] {
        match self {
            Key::Fixed(a) if a.is_valid(row) => a.value(row),
            // Little-endian in memory, as `_series_address` read them: the address's bytes.
            Key::Wide(a) if a.is_valid(row) => a.values()[row..=row].to_byte_slice(),
            Key::Utf8(a) if a.is_valid(row) => a.value(row).as_bytes(),
            Key::View(a) if a.is_valid(row) => a.value(row).as_bytes(),
            _ => &[],
        }
    }
}
