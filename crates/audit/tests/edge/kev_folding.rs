//! KEV's vendor and product strings, folded: measured on the bundled catalogue.

use lasthop_audit::kev::Catalogue;

#[test]
fn the_bundled_catalogue_folds_its_product_strings() {
    let c = Catalogue::bundled();
    let (raw, products) = c.normalisation_summary();
    let folds = c.folds();
    let merged: Vec<_> = folds.iter().filter(|(_, spellings)| spellings.len() > 1).collect();
    eprintln!(
        "KEV {}: {} entries, {raw} distinct vendor/product strings fold into {products} products; {} products were written more than one way",
        c.version,
        c.entries.len(),
        merged.len()
    );
    for ((vendor, product), spellings) in merged.iter().filter(|((v, _), _)| {
        matches!(v.as_str(), "cisco" | "citrix" | "fortinet" | "ivanti" | "paloalto")
    }) {
        eprintln!("  {vendor} {product}: {spellings:?}");
    }
    assert_eq!(c.entries.len(), 1404);
    // Splitting lists ("IOS, XR, and XE") adds keys; folding spellings removes them.
    assert!(raw > 500 && products > 500 && merged.len() > 40, "{raw} {products} {}", merged.len());
    // The spellings that matter for edge devices land on one product each.
    let spellings = |vendor: &str, product: &str| {
        folds.get(&(vendor.to_string(), product.to_string())).map(|s| s.len()).unwrap_or(0)
    };
    assert!(spellings("cisco", "ios") >= 5, "{:?}", folds.get(&("cisco".into(), "ios".into())));
    assert!(
        spellings("cisco", "ios xe") >= 5,
        "{:?}",
        folds.get(&("cisco".into(), "ios xe".into()))
    );
    assert!(
        spellings("citrix", "netscaler adc") >= 3,
        "{:?}",
        folds.get(&("citrix".into(), "netscaler adc".into()))
    );
    assert!(
        spellings("fortinet", "fortios") >= 3,
        "{:?}",
        folds.get(&("fortinet".into(), "fortios".into()))
    );
    assert!(
        spellings("ivanti", "connect secure") >= 3,
        "{:?}",
        folds.get(&("ivanti".into(), "connect secure".into()))
    );
    // No product key keeps a vendor's name or filler words.
    for (vendor, product) in folds.keys() {
        assert!(
            !product.ends_with(" software") && !product.starts_with(&format!("{vendor} ")),
            "{vendor}: {product}"
        );
    }
}
