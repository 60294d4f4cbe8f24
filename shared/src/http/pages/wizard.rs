//! The onboarding wizard: connect a shop, choose the warehouse (and a conversion rate
//! where a shop's currency differs from the store's), create the default profile,
//! choose the default configuration. Every reached step is a link back to it.

use maud::{Markup, html};

use super::catalog::{CategoryPicker, category_picker, category_select};
use super::{Frame, Section, check, form, layout};
use crate::accounts::{OnboardingStep, ShopStatus};

/// The steps with their `?step=` key and label.
pub const STEPS: [(OnboardingStep, &str, &str); 4] = [
    (OnboardingStep::ConnectShop, "connect", "Connect TikTok Shop"),
    (OnboardingStep::ChooseWarehouse, "warehouse", "Warehouse"),
    (OnboardingStep::DefaultProfile, "profile", "Default profile"),
    (OnboardingStep::Configuration, "configuration", "Configuration"),
];

/// The step a `?step=` key names.
pub fn step_named(key: &str) -> Option<OnboardingStep> {
    STEPS.iter().find(|(_, k, _)| *k == key).map(|(step, _, _)| *step)
}

/// What the default-profile step shows.
pub struct ProfileStep<'a> {
    /// The category picker (the recommendation pre-selected).
    pub picker: CategoryPicker<'a>,
    /// Products imported so far (all of them fall under the default profile).
    pub products: usize,
    /// Whether the import is still running.
    pub importing: bool,
}

fn step_list(shown: OnboardingStep, reached: OnboardingStep) -> Markup {
    html! {
        ol.steps aria-label="Setup steps" {
            @for (step, key, label) in STEPS {
                li.now[step == shown].done[step < reached && step != shown] {
                    @if step <= reached {
                        a href=(format!("/settings?step={key}")) aria-current=[(step == shown).then_some("step")] { (label) }
                    } @else {
                        span { (label) }
                    }
                }
            }
            li { span { "Dashboard" } }
        }
    }
}

/// The wizard at `shown` (a step the store has reached), with `error` next to the form.
pub fn wizard(
    frame: &Frame,
    shown: OnboardingStep,
    profile: Option<&ProfileStep>,
    csrf: &str,
    error: Option<&str>,
) -> Markup {
    let store = frame.store;
    let active: Vec<_> = frame
        .shops
        .iter()
        .filter(|s| s.status != ShopStatus::Disconnected)
        .collect();
    let content = match shown {
        OnboardingStep::ConnectShop | OnboardingStep::Done => html! {
            div.card {
                h2 { "Connect your TikTok Shop" }
                p { "You will approve the connection in TikTok Seller Center and come back here." }
                @for shop in &active { p { "Connected: " strong { (shop.name) } " (" (shop.region) ", " (shop.currency) ")" } }
                p { a.button href="/tiktok/connect" target="_blank" rel="noopener" { @if active.is_empty() { "Connect TikTok Shop" } @else { "Connect another shop" } } }
            }
        },
        OnboardingStep::ChooseWarehouse => html! {
            div.card {
                h2 { "Choose the warehouse stock ships from" }
                (form("/settings/wizard/warehouse", csrf, html! {
                    @for shop in &active {
                        fieldset {
                            legend { (shop.name) " (" (shop.region) ")" }
                            @for (i, w) in shop.warehouses.iter().enumerate() {
                                @let chosen = shop.default_warehouse_id.as_deref().map_or(i == 0, |id| id == w.id);
                                label { input type="radio" name=(format!("warehouse:{}", shop.shop_id)) value=(w.id) checked[chosen]; " " (w.name) " " span.muted { "(" (w.id) ")" } }
                            }
                            @if shop.currency != store.currency {
                                label {
                                    "Conversion rate: 1 " (store.currency) " = ? " (shop.currency) " "
                                    input type="text" inputmode="decimal" name=(format!("rate:{}", shop.shop_id)) required
                                        value=(shop.conversion_rate.map(|r| r.to_string()).unwrap_or_default());
                                }
                                p.muted { "Prices are converted with this rate; syncing is paused until it is set." }
                            }
                        }
                    }
                }, "Continue"))
            }
        },
        OnboardingStep::DefaultProfile => {
            let step = profile.expect("the profile step has its data");
            html! {
                div.card {
                    h2 { "Default profile" }
                    p { "The default profile lists every product no other profile covers in one TikTok category. Pick the category; you can add profiles for other categories later." }
                    p #import-progress { strong { (step.products) } " product(s) imported" @if step.importing { " so far (the import is still running)" } ", all covered by the default profile." }
                    (category_picker(&step.picker, "/settings", &[("step", "profile")]))
                    (form("/settings/wizard/profile", csrf, html! {
                        (category_select(&step.picker, error))
                    }, "Create the default profile"))
                }
            }
        }
        OnboardingStep::Configuration => {
            let settings = &store.settings;
            html! {
                div.card {
                    h2 { "Default configuration" }
                    (form("/settings/wizard/configuration", csrf, html! {
                        (check("auto_create", "Create TikTok products for new store products", settings.auto_create))
                        (check("auto_update", "Update TikTok products when store products change", settings.auto_update))
                        (check("auto_delete", "Delete TikTok products when store products are deleted", settings.auto_delete))
                        (check("import_awaiting_collection", "Import orders awaiting collection", settings.import_awaiting_collection))
                        (check("archive_cancelled", "Archive store orders that TikTok cancels", settings.archive_cancelled))
                    }, "Finish"))
                }
            }
        }
    };
    let body = html! {
        (step_list(shown, store.onboarding))
        (content)
    };
    let frame = Frame {
        section: Section::Setup,
        ..*frame
    };
    layout(&frame, "Set up the connector", error, body)
}
