fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    for gzip in [false, true] {
        let dir = out.join(if gzip { "gz" } else { "plain" });
        let cfg = lasthop_demo::DemoConfig { gzip, ..Default::default() };
        let t = std::time::Instant::now();
        let s = lasthop_demo::generate(&dir, &cfg).unwrap();
        println!(
            "generate gzip={gzip}: {:?} files={} records={}",
            t.elapsed(),
            s.files.len(),
            s.records
        );
    }
}
