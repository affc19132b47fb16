//! The entry point the fuzz targets and their corpus-replay test share.

use std::path::Path;

use crate::reader::{ReadOptions, read_stream};

/// Reads `data` as a Zeek log named `conn.log` (so that header-less JSON still has a type), with
/// small chunks so that chunk boundaries are exercised too. Panics only on a broken invariant:
/// every data line is either stored or counted as dropped.
pub fn read_bytes(data: &[u8]) {
    let options =
        ReadOptions { threads: 2, chunk_bytes: 256, max_line_bytes: 4096, ..Default::default() };
    let input: Box<dyn std::io::Read + Send> = match data.first() {
        // Let the fuzzer reach the decompressors through the same sniffing as files.
        Some(0x1f) | Some(0x28) => {
            match crate::reader::decompress(std::io::Cursor::new(data.to_vec())) {
                Ok(r) => r,
                Err(_) => return,
            }
        }
        _ => Box::new(std::io::Cursor::new(data.to_vec())),
    };
    let mut rows = 0u64;
    let summary = read_stream(Path::new("fuzz/conn.log"), input, &options, |_, batch| {
        rows += batch.num_rows() as u64;
        Ok::<(), ()>(())
    })
    .expect("the callback never fails");
    assert_eq!(rows, summary.records);
}
