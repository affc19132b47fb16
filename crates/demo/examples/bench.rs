fn main() {
    for (n, gz) in [(2_000_000u64, false), (2_000_000, true)] {
        let p = std::path::Path::new("/dev/null");
        let t = std::time::Instant::now();
        let b = lasthop_demo::generate_conn_log(p, n, 1, gz).unwrap();
        let e = t.elapsed();
        println!(
            "conn_log {n} gz={gz}: {:?} {} MB, {:.2} M rec/s",
            e,
            b / 1_000_000,
            n as f64 / e.as_secs_f64() / 1e6
        );
    }
}
