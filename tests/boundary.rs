//! The JavaScript façade reads the codes and names it shares with the wasm layer from
//! `js/boundary.js`, generated from `workbus::boundary`; this keeps the two the same.

use workbus::boundary;

/// `WORKBUS_UPDATE_BOUNDARY=1 cargo test --test boundary` rewrites `js/boundary.js`.
#[test]
fn the_javascript_boundary_constants_are_generated_from_the_engine() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/js/boundary.js");
    let expected = format!(
        "// Generated from the engine's side of the wasm boundary (src/boundary.rs) by\n// `WORKBUS_UPDATE_BOUNDARY=1 cargo test --test boundary`; tests/boundary.rs checks it is up to date. Do not edit.\nexport default {};\n",
        boundary::boundary_text()
    );
    if std::env::var("WORKBUS_UPDATE_BOUNDARY").is_ok_and(|v| v == "1") {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(actual == expected, "js/boundary.js is out of date: run WORKBUS_UPDATE_BOUNDARY=1 cargo test --test boundary");
}
