//! The four stage fields with instant feedback: as the admin types, the shared `domain` rules
//! check each field and the whole ladder (decisions D2), so most mistakes show before submitting.
//! The server checks again and decides.

use domain::club::StageValues;
use leptos::prelude::*;

/// Inputs `name`, `discount_percentage`, `duration_months` and `min_purchase`, plus a live hint.
/// `check` judges parsed values against the ladder and returns a message when they break it.
#[component]
pub fn StageFields(
    /// Prefix of the element ids, unique on the page.
    id_prefix: String,
    /// The values to start from (editing), or none (adding).
    #[prop(optional)]
    initial: Option<StageValues>,
    check: Callback<StageValues, Option<String>>,
) -> impl IntoView {
    let start = |f: fn(&StageValues) -> String| initial.as_ref().map(f).unwrap_or_default();
    // The `value` attributes carry the starting values into the server-rendered HTML (a form
    // posted without JavaScript sends them); the signals follow what the admin types.
    let initial_values = [
        start(|v| v.name.clone()),
        start(|v| v.discount.to_plain_string()),
        start(|v| v.duration_months.to_string()),
        start(|v| v.min_purchase.to_decimal_string()),
    ];
    let name = RwSignal::new(initial_values[0].clone());
    let discount = RwSignal::new(initial_values[1].clone());
    let duration = RwSignal::new(initial_values[2].clone());
    let min = RwSignal::new(initial_values[3].clone());
    let [name_value, discount_value, duration_value, min_value] = initial_values;
    let touched = RwSignal::new(false);
    let problem = Memo::new(move |_| {
        if !touched.get() {
            return None;
        }
        match StageValues::parse(&name.get(), &discount.get(), &duration.get(), &min.get()) {
            Err(p) => Some(p.message),
            Ok(values) => check.run(values),
        }
    });
    let input = move |signal: RwSignal<String>| {
        move |ev: leptos::ev::Event| {
            touched.set(true);
            signal.set(event_target_value(&ev));
        }
    };
    let hint_id = format!("{id_prefix}-hint");
    view! {
        <div class="field-grid">
            <label>
                "Name"
                <input type="text" name="name" required maxlength="60" autocomplete="off"
                    aria-describedby=hint_id.clone() value=name_value on:input=input(name)/>
            </label>
            <label>
                "Discount (%)"
                <input type="text" inputmode="decimal" name="discount_percentage" required
                    aria-describedby=hint_id.clone() value=discount_value on:input=input(discount)/>
            </label>
            <label>
                "Duration (months)"
                <input type="text" inputmode="numeric" name="duration_months" required
                    aria-describedby=hint_id.clone() value=duration_value on:input=input(duration)/>
            </label>
            <label>
                "Minimum purchase"
                <input type="text" inputmode="decimal" name="min_purchase" required
                    aria-describedby=hint_id.clone() value=min_value on:input=input(min)/>
            </label>
        </div>
        <p id=hint_id class="hint" aria-live="polite" data-testid="live-check">{move || problem.get()}</p>
    }
}
