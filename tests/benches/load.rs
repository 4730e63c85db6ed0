fn main() {
    let _ = slipway_tests::app::site_dir();
}
