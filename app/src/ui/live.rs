//! Live updates in the browser: an `EventSource` on `/api/v1/events`, opened once the
//! page has hydrated and closed when the page goes away. On the server this does
//! nothing; without JavaScript, pages show the stored state (and the deployment page
//! reloads itself).

/// Calls `on_event(kind, data)` for each server-sent event of `kinds` (of `pipeline`, or
/// of every pipeline), and `on_event("open", "")` each time the stream (re)connects, so
/// the page can reload what changed between its rendering and the stream opening.
/// Call it from an effect that tracks only what selects the stream: the stream is
/// closed when the effect re-runs or its owner goes away.
#[allow(unused_variables)]
pub fn subscribe(
    pipeline: Option<String>,
    kinds: &'static [&'static str],
    on_event: impl Fn(&str, String) + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::prelude::on_cleanup;
        use send_wrapper::SendWrapper;
        use std::rc::Rc;
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;

        let url = match &pipeline {
            Some(p) => format!("/api/v1/events?pipeline={p}"),
            None => "/api/v1/events".to_owned(),
        };
        let Ok(source) = web_sys::EventSource::new(&url) else {
            return;
        };
        let on_event = Rc::new(on_event);
        let mut callbacks = Vec::new();
        for kind in kinds.iter().chain(&["open"]) {
            let f = on_event.clone();
            let cb = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |e: web_sys::MessageEvent| {
                    // Visible to people debugging and to the browser tests: the page is live,
                    // and how many events it has received.
                    if let Some(root) = web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.document_element())
                    {
                        if *kind == "open" {
                            let _ = root.set_attribute("data-live", "open");
                        } else {
                            let n = root
                                .get_attribute("data-live-events")
                                .and_then(|n| n.parse::<u64>().ok())
                                .unwrap_or(0);
                            let _ = root.set_attribute("data-live-events", &(n + 1).to_string());
                        }
                    }
                    f(kind, e.data().as_string().unwrap_or_default());
                },
            );
            let _ = source.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref());
            callbacks.push(cb);
        }
        // Close the stream when the page is hidden (navigation, back-forward cache):
        // browsers allow only six HTTP/1.1 connections per host, and a frozen page's
        // open stream would hold one of them.
        let on_hide = {
            let source = source.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| source.close())
        };
        if let Some(w) = web_sys::window() {
            let _ =
                w.add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
        }
        let held = SendWrapper::new((source, callbacks, on_hide));
        on_cleanup(move || {
            let (source, _callbacks, on_hide) = held.take();
            if let Some(w) = web_sys::window() {
                let _ = w.remove_event_listener_with_callback(
                    "pagehide",
                    on_hide.as_ref().unchecked_ref(),
                );
            }
            source.close();
        });
    }
}

/// Whether someone is filling in a form inside `selector`: a field there has the focus,
/// or holds something other than what the page rendered. A refresh re-renders the
/// forms, and would throw what they typed away. Never on the server.
#[allow(unused_variables)]
pub fn editing(selector: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return false;
        };
        let focused = doc.active_element().is_some_and(|e| {
            matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                && e.closest(selector).ok().flatten().is_some()
        });
        if focused {
            return true;
        }
        let Ok(fields) = doc.query_selector_all(&format!("{selector} input, {selector} textarea"))
        else {
            return false;
        };
        (0..fields.length())
            .filter_map(|i| fields.item(i))
            .any(|node| {
                if let Some(input) = node.dyn_ref::<web_sys::HtmlInputElement>() {
                    input.value() != input.default_value()
                        || input.checked() != input.default_checked()
                } else if let Some(text) = node.dyn_ref::<web_sys::HtmlTextAreaElement>() {
                    text.default_value().is_ok_and(|d| text.value() != d)
                } else {
                    false
                }
            })
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Keeps a page's resource fresh from live events: each call to the returned closure
/// fetches the data again and writes it into `resource`. Calls made while a fetch is in
/// flight are coalesced into one more fetch after it, so the last fetch always starts
/// after the last event and a burst of events (a deploy's queued, running, succeeded…)
/// costs at most two requests.
pub fn refresher<T, F, Fut>(
    resource: leptos::prelude::Resource<T>,
    fetch: F,
) -> impl Fn() + Clone + 'static
where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    use leptos::prelude::{GetValue, SetValue, StoredValue};
    let in_flight = StoredValue::new(false);
    let dirty = StoredValue::new(false);
    move || {
        if in_flight.get_value() {
            dirty.set_value(true);
            return;
        }
        in_flight.set_value(true);
        let fetch = fetch.clone();
        leptos::task::spawn_local(async move {
            use leptos::prelude::Set;
            loop {
                dirty.set_value(false);
                let value = fetch().await;
                resource.set(Some(value));
                if !dirty.get_value() {
                    break;
                }
            }
            in_flight.set_value(false);
        });
    }
}
