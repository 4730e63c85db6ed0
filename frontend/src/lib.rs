//! The only code that exists purely for the browser: the `hydrate()` entry that
//! cargo-leptos compiles to WebAssembly. Everything it renders lives in `slipway-app`.

/// Called by the generated JS loader once the wasm module is instantiated; attaches
/// the reactive app to the HTML the server already rendered.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(slipway_app::App);
}
