//! The only code that exists purely for the browser: the `hydrate()` entry that
//! cargo-leptos compiles to WebAssembly. Everything it renders lives in `slipway-app`.

/// Called by the generated JS loader once the wasm module is instantiated; attaches
/// the reactive app to the HTML the server already rendered.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic (a hydration mismatch, say) leaves the page looking fine but dead. Report
    // it in the console and mark the document, so people and browser tests can see it.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-panic", &info.to_string());
        }
    }));
    leptos::mount::hydrate_body(slipway_app::App);
}
