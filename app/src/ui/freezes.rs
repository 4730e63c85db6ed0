//! The board's freezes: those in force or to come, and (for ops) the form to declare
//! one and the buttons to end them.

use leptos::prelude::*;
use slipway_model::views::FreezeView;

/// Freezes of a pipeline. Hidden when there are none and the viewer may not declare one.
#[component]
pub(super) fn FreezesPanel(
    freezes: Vec<FreezeView>,
    can_manage: bool,
    pipeline: String,
    stages: Vec<(String, String)>,
    /// The page it is on (`board` or `calendar`): forms come back to it.
    #[prop(default = "board")]
    page: &'static str,
) -> impl IntoView {
    let declare_action = format!("/pipelines/{pipeline}/freezes");
    (can_manage || !freezes.is_empty()).then(|| {
        view! {
            <section class="freezes" aria-label="Freezes" data-testid="freezes">
                <h2>"Freezes"</h2>
                <ul>
                    {freezes
                        .into_iter()
                        .map(|f| {
                            let scope = if f.stages.is_empty() {
                                "every stage".to_owned()
                            } else {
                                f.stages.join(", ")
                            };
                            let when = if f.in_force {
                                format!("in force until {}", f.until)
                            } else {
                                format!("from {} until {}", f.from, f.until)
                            };
                            let text = format!(
                                "{}: {scope}, {when}{}",
                                f.reason,
                                match (&f.by, &f.source) {
                                    (Some(b), _) => format!(" (by {b})"),
                                    (None, Some(s)) => format!(" (calendar {s})"),
                                    (None, None) => " (config)".into(),
                                },
                            );
                            view! {
                                <li>
                                    {text}
                                    {f
                                        .id
                                        .filter(|_| can_manage && f.source.is_none())
                                        .map(|id| {
                                            view! {
                                                <form method="post" action=format!("/freezes/{id}/end") class="inline">
                                                    <button type="submit" class="link" aria-label=format!("End now: freeze #{id}")>
                                                        "End now"
                                                    </button>
                                                </form>
                                            }
                                        })}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                {can_manage
                    .then(|| {
                        // Behind a disclosure: the board is for reading at a glance.
                        view! {
                            <details class="freeze-declare">
                            <summary>"Declare a freeze…"</summary>
                            <form method="post" action=declare_action.clone() class="card-action freeze-form">
                                <input type="hidden" name="from_page" value=page />
                                <input name="reason" required maxlength="500" placeholder="Why (e.g. labs until 19:00)" aria-label="Freeze reason" />
                                <input name="hours" required inputmode="decimal" size="4" placeholder="hours" aria-label="Freeze for how many hours" />
                                {stages
                                    .iter()
                                    .map(|(id, label)| {
                                        view! {
                                            <label>
                                                <input type="checkbox" name="stages" value=id.clone() />
                                                {format!(" {label}")}
                                            </label>
                                        }
                                    })
                                    .collect_view()}
                                <button type="submit">"Freeze (none ticked: all)"</button>
                            </form>
                            </details>
                        }
                    })}
            </section>
        }
    })
}
