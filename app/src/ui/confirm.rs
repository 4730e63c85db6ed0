//! Confirming a promotion into production. Without JavaScript a card's production
//! forms GET `/pipelines/:p/stages/:s/confirm` (this page), whose form posts the
//! promotion with `confirmed`; with it the same forms open a `<dialog>` on the board
//! that shows the same panel. The server refuses an unconfirmed form promotion into
//! production, so neither path can be skipped.

use super::card::{Checklist, DriftAck, MigrationsAck};
use super::common::{ErrorPanel, Layout, ShaChip};
use crate::server_fns::get_confirmation;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use slipway_model::error::AppError;
use slipway_model::views::{ConfirmView, PromoteMode};

/// The confirmation page.
#[component]
pub fn ConfirmPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let (p, q) = (params.read(), query.read());
        (
            p.get("pipeline").unwrap_or_default(),
            p.get("stage").unwrap_or_default(),
            q.get("sha").unwrap_or_default(),
            q.get("mode").unwrap_or_default(),
        )
    };
    let data = Resource::new(key, |(p, s, sha, mode)| get_confirmation(p, s, sha, mode));
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => {
                            view! {
                                <Title text=format!("Confirm {} to {} · Slipway", v.commit.short, v.stage_label) />
                                <h1 class="production-title">"Confirm a production deployment"</h1>
                                <ConfirmPanel view=v in_dialog=false />
                            }
                                .into_any()
                        }
                        Err(e) => {
                            view! {
                                <Title text="Confirm a promotion · Slipway" />
                                <h1>"Confirm a promotion"</h1>
                                <ErrorPanel error=e />
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </Layout>
    }
}

/// What goes out and the form that sends it: the page's body and the dialog's.
#[component]
fn ConfirmPanel(view: ConfirmView, in_dialog: bool) -> impl IntoView {
    let v = view;
    let short = v.commit.short.clone();
    let board = format!("/pipelines/{}", v.pipeline);
    let title_id = format!("confirm-title-{short}");
    let labelled_by = title_id.clone();
    let heading = match v.mode {
        PromoteMode::Now => format!("Deploy {short} to {}?", v.stage_label),
        PromoteMode::WhenArtifactIsThere => {
            format!(
                "Deploy {short} to {} when its artifact is there?",
                v.stage_label
            )
        }
        PromoteMode::EmergencyOverride => {
            format!("Emergency: deploy {short} to {} now?", v.stage_label)
        }
    };
    let out = match (v.commit_count, v.count_truncated) {
        (None, _) => format!(
            "Nothing runs on {} yet: this is its first deployment.",
            v.stage_label
        ),
        (Some(n), truncated) => format!(
            "{}{n} commit{} go{} out",
            if truncated { "at least " } else { "" },
            if n == 1 { "" } else { "s" },
            if n == 1 { "es" } else { "" },
        ),
    };
    let what = format!("{short} to {}", v.stage_label);
    let button = match v.mode {
        PromoteMode::Now => format!("Deploy {short} to {} of {}", v.stage_label, v.pipeline_name),
        PromoteMode::WhenArtifactIsThere => format!("Queue {short} for {}", v.stage_label),
        PromoteMode::EmergencyOverride => {
            format!("Override and deploy {short} to {}", v.stage_label)
        }
    };
    let compare = v
        .current
        .clone()
        .filter(|c| *c != v.commit.sha)
        .map(|from| {
            format!(
                "/pipelines/{}/compare?from={from}&to={}",
                v.pipeline, v.commit.sha
            )
        });
    view! {
        <section class="confirm production-confirm" aria-labelledby=labelled_by data-testid="confirm">
            <h2 id=title_id>
                <span class="badge prod">"PRODUCTION"</span>
                " "
                {heading}
            </h2>
            <dl class="facts">
                <dt>"Service"</dt>
                <dd data-testid="confirm-service">{v.pipeline_name.clone()}</dd>
                <dt>"Environment"</dt>
                <dd data-testid="confirm-environment">{v.stage_label.clone()}</dd>
                <dt>"Commit"</dt>
                <dd data-testid="confirm-commit">
                    <ShaChip sha=v.commit.sha.clone() short=short.clone() />
                    " "
                    <span class="subject">{v.commit.subject.clone()}</span>
                    <span class="muted">{format!(" — {} · {}", v.commit.author, v.commit.age)}</span>
                </dd>
                <dt>"Replaces"</dt>
                <dd>
                    {v.current.clone().map(|c| c.get(..7).unwrap_or_default().to_owned()).unwrap_or_else(|| "nothing".into())}
                </dd>
                <dt>"What goes out"</dt>
                <dd data-testid="confirm-count">
                    {out}
                    {compare.map(|href| view! { " · " <a href=href>"every commit and file"</a> })}
                </dd>
                <dt>"Migrations"</dt>
                <dd data-testid="confirm-migrations">
                    {if v.migrations.is_empty() { "none".to_owned() } else { format!("{} file(s): acknowledge below", v.migrations.len()) }}
                </dd>
            </dl>
            {(!v.descends)
                .then(|| {
                    view! {
                        <p class="panel error" role="alert">
                            {format!("{short} does not descend from what {} runs: deploying it drops commits.", v.stage_label)}
                        </p>
                    }
                })}
            {(!v.commits.is_empty())
                .then(|| {
                    view! {
                        <ol class="confirm-commits" aria-label="Newest commits that go out">
                            {v.commits.iter().map(|c| view! { <li><code>{c.short.clone()}</code>" "{c.subject.clone()}</li> }).collect_view()}
                        </ol>
                    }
                })}
            {(!v.open_gates.is_empty())
                .then(|| {
                    view! {
                        <ul class="gates" aria-label="Gates that do not pass">
                            {v.open_gates.iter().map(|g| view! {
                                <li class=format!("gate {}", g.status) data-gate=g.gate.clone()>
                                    <span class="gate-status">{g.status.clone()}</span>" "{format!("{}: {}", g.label, g.reason)}
                                </li>
                            }).collect_view()}
                        </ul>
                    }
                })}
            <p class="hint">{format!("{} gate(s) pass.", v.passing_gates)}</p>
            <form method="post" action=format!("/pipelines/{}/promote", v.pipeline) class="stack confirm-form">
                <input type="hidden" name="sha" value=v.commit.sha.clone() />
                <input type="hidden" name="stage" value=v.stage.clone() />
                <input type="hidden" name="confirmed" value="true" />
                {(v.mode == PromoteMode::WhenArtifactIsThere)
                    .then(|| view! { <input type="hidden" name="wait_for_artifact" value="true" /> })}
                <Checklist items=v.checklist.clone() stage=v.stage_label.clone() />
                <MigrationsAck files=v.migrations.clone() what=what.clone() />
                <DriftAck drift=v.drift.clone() what=what.clone() />
                {v.queue_replaces
                    .clone()
                    .map(|other| {
                        view! {
                            <label>
                                <input type="checkbox" name="replace_queued" value="true" required />
                                {format!(" Replace the queued promotion of {other}")}
                            </label>
                        }
                    })}
                {(v.mode == PromoteMode::EmergencyOverride)
                    .then(|| {
                        view! {
                            <label for=format!("emergency-reason-{short}")>"Why it cannot wait (required)"</label>
                            <input id=format!("emergency-reason-{short}") name="emergency_reason" required maxlength="500" />
                        }
                    })}
                <div class="confirm-actions">
                    <button type="submit" class="danger" disabled=!v.allowed data-testid="confirm-deploy">
                        {button}
                    </button>
                    {if in_dialog {
                        // A `method="dialog"` form closes its dialog without any script.
                        view! { <button type="submit" formmethod="dialog" formnovalidate=true>"Cancel"</button> }.into_any()
                    } else {
                        view! { <a href=board.clone()>{format!("Cancel: back to the {} board", v.pipeline_name)}</a> }.into_any()
                    }}
                </div>
            </form>
        </section>
    }
}

/// The board's confirmation dialog: every production promote form of a card opens it
/// (with JavaScript) instead of loading the confirmation page. The board page provides
/// it as context and renders it once, outside the cards.
#[derive(Clone, Copy)]
pub(super) struct ConfirmDialog {
    dialog: NodeRef<leptos::html::Dialog>,
    shown: RwSignal<Option<Result<ConfirmView, AppError>>>,
}

impl ConfirmDialog {
    pub(super) fn new() -> Self {
        ConfirmDialog {
            dialog: NodeRef::new(),
            shown: RwSignal::new(None),
        }
    }

    /// Shows the dialog and loads the confirmation of `sha` into `stage` in `mode`.
    fn open(self, pipeline: String, stage: String, sha: String, mode: PromoteMode) {
        self.shown.set(None);
        if let Some(d) = self.dialog.get() {
            // Only fails when the dialog is already open or detached: nothing to do.
            let _ = d.show_modal();
        }
        leptos::task::spawn_local(async move {
            let v = get_confirmation(pipeline, stage, sha, mode.as_str().to_owned()).await;
            self.shown.set(Some(v));
        });
    }

    /// The `<dialog>` itself, closed until a form opens it.
    pub(super) fn view(self) -> impl IntoView {
        view! {
            <dialog node_ref=self.dialog class="confirm-dialog" aria-label="Confirm the production deployment">
                {move || match self.shown.get() {
                    None => view! { <p role="status">"Loading what goes out…"</p> }.into_any(),
                    Some(Ok(v)) => view! { <ConfirmPanel view=v in_dialog=true /> }.into_any(),
                    Some(Err(e)) => {
                        view! {
                            <ErrorPanel error=e />
                            <form method="dialog">
                                <button type="submit">"Close"</button>
                            </form>
                        }
                            .into_any()
                    }
                }}
            </dialog>
        }
    }
}

/// One of a card's ways into production: a form that GETs the confirmation page, or
/// with JavaScript opens the card's dialog.
#[component]
pub(super) fn ConfirmOpener(
    /// The page's dialog; without one the form loads the confirmation page.
    dialog: Option<ConfirmDialog>,
    pipeline: String,
    stage: String,
    sha: String,
    mode: PromoteMode,
    /// The button's text and class, whether it is enabled, and its label for screen readers.
    text: String,
    class: &'static str,
    enabled: bool,
    aria: String,
) -> impl IntoView {
    let action = format!("/pipelines/{pipeline}/stages/{stage}/confirm");
    let (p, s, h) = (pipeline.clone(), stage.clone(), sha.clone());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if let Some(dialog) = dialog {
            ev.prevent_default();
            dialog.open(p.clone(), s.clone(), h.clone(), mode);
        }
    };
    view! {
        <form method="get" action=action on:submit=on_submit data-confirm=mode.as_str()>
            <input type="hidden" name="sha" value=sha />
            <input type="hidden" name="mode" value=mode.as_str() />
            <button type="submit" class=class disabled=!enabled aria-label=aria aria-haspopup="dialog">
                {text}
            </button>
        </form>
    }
}
