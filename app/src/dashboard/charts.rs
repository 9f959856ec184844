//! The dashboard's SVG charts, drawn from `domain::charts` on the server so they show without
//! JavaScript (each mark carries a `<title>`, and a data table sits under each chart). Once
//! hydrated, the legend's buttons hide and show series, and hovering or focusing a month (Tab
//! reaches each one) shows its values in a tooltip.

use domain::Money;
use domain::charts::{Frame, Series, calendar, grouped_bars, stacked_areas};
use leptos::prelude::*;

/// How a chart draws its series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Stacked areas (members by stage).
    Area,
    /// Side-by-side bars.
    Bars,
}

/// `12,345`, or the amount in `currency` when the values are money (whole units).
pub fn value_label(value: f64, currency: Option<&str>) -> String {
    let whole = value.round() as i64;
    match currency {
        Some(code) => {
            let shown = Money::from_cents(whole * 100).display(code);
            shown
                .strip_suffix(".00")
                .map_or(shown.clone(), str::to_owned)
        }
        None => thousands(whole),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// One category's values, for its tooltip and its label: "Nov 2026 — Gold: 12, Silver: 30".
fn summary(
    label: &str,
    series: &[Series],
    hidden: &[String],
    i: usize,
    currency: Option<&str>,
) -> String {
    let values: Vec<String> = series
        .iter()
        .filter(|s| !hidden.contains(&s.name))
        .map(|s| {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            format!("{}: {}", s.name, value_label(v, currency))
        })
        .collect();
    format!("{label} — {}", values.join(", "))
}

/// A chart of monthly series with its legend, tooltip and data table.
#[component]
pub fn Chart(
    /// The chart's id, for its heading and the tests.
    id: &'static str,
    title: String,
    kind: Kind,
    labels: Vec<String>,
    series: Vec<Series>,
    /// Set when the values are money in this currency.
    #[prop(optional)]
    currency: Option<String>,
) -> impl IntoView {
    let hidden = RwSignal::new(Vec::<String>::new());
    let active = RwSignal::new(None::<usize>);
    let frame = Frame::STANDARD;
    let names: Vec<String> = series.iter().map(|s| s.name.clone()).collect();
    let table = (labels.clone(), series.clone(), currency.clone());
    let data = StoredValue::new((labels, series, currency));
    let color = {
        let names = names.clone();
        move |name: &str| names.iter().position(|n| n == name).unwrap_or(0)
    };
    let drawing = move || {
        let hide = hidden.get();
        data.with_value(|(labels, series, currency)| {
            let n = labels.len().max(1);
            let currency = currency.as_deref();
            let (marks, ticks) = match kind {
                Kind::Area => {
                    let (bands, ticks) = stacked_areas(frame, series, &hide);
                    let marks = bands
                        .into_iter()
                        .map(|b| {
                            let class = format!("band s{}", color(&b.name));
                            view! { <path class=class d=b.path><title>{b.name}</title></path> }
                        })
                        .collect_view()
                        .into_any();
                    (marks, ticks)
                }
                Kind::Bars => {
                    let (bars, ticks) = grouped_bars(frame, series, &hide);
                    let marks = bars
                        .into_iter()
                        .map(|b| {
                            let class = format!("bar s{}", color(&b.series));
                            let tip = format!(
                                "{} {}: {}",
                                labels.get(b.category).cloned().unwrap_or_default(),
                                b.series,
                                value_label(b.value, currency)
                            );
                            view! {
                                <rect class=class x=format!("{:.1}", b.x) y=format!("{:.1}", b.y)
                                    width=format!("{:.1}", b.width) height=format!("{:.1}", b.height.max(0.0))>
                                    <title>{tip}</title>
                                </rect>
                            }
                        })
                        .collect_view()
                        .into_any();
                    (marks, ticks)
                }
            };
            let y = frame.y_scale(&ticks);
            let grid = ticks
                .iter()
                .map(|t| {
                    let at = format!("{:.1}", y.at(*t));
                    view! {
                        <line class="grid" x1=frame.left x2=frame.width - frame.right y1=at.clone() y2=at.clone()/>
                        <text class="tick" x=frame.left - 6.0 y=format!("{:.1}", y.at(*t) + 4.0) text-anchor="end">
                            {value_label(*t, currency)}
                        </text>
                    }
                })
                .collect_view();
            let column = frame.inner_width() / n as f64;
            let center = |i: usize| match kind {
                Kind::Area if n > 1 => {
                    frame.left + frame.inner_width() * i as f64 / (n - 1) as f64
                }
                _ => frame.left + column * (i as f64 + 0.5),
            };
            let axis = labels
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == n.saturating_sub(1) % 2)
                .map(|(i, label)| {
                    // The area chart's first and last months sit on the frame's edges.
                    let anchor = match kind {
                        Kind::Area if i == 0 => "start",
                        Kind::Area if i + 1 == n => "end",
                        _ => "middle",
                    };
                    view! {
                        <text class="tick" x=format!("{:.1}", center(i)) y=frame.height - 8.0 text-anchor=anchor>
                            {label.clone()}
                        </text>
                    }
                })
                .collect_view();
            let hits = labels
                .iter()
                .enumerate()
                .map(|(i, label)| {
                    let text = summary(label, series, &hide, i, currency);
                    let aria = text.clone();
                    let x = (center(i) - column / 2.0).max(0.0);
                    view! {
                        <rect class="hit" tabindex="0" role="img" aria-label=aria
                            data-index=i x=format!("{x:.1}") y=frame.top width=format!("{column:.1}")
                            height=frame.inner_height()
                            on:mouseenter=move |_| active.set(Some(i))
                            on:mouseleave=move |_| active.set(None)
                            on:focus=move |_| active.set(Some(i))
                            on:blur=move |_| active.set(None)>
                            <title>{text}</title>
                        </rect>
                    }
                })
                .collect_view();
            view! { {grid} {marks} {axis} {hits} }
        })
    };
    let tooltip = move || {
        let i = active.get()?;
        let hide = hidden.get();
        data.with_value(|(labels, series, currency)| {
            let label = labels.get(i)?;
            let n = labels.len().max(1);
            // Centred on its month, but kept inside the chart at either end.
            let left = (i as f64 + 0.5) / n as f64 * 100.0;
            let place = if left > 70.0 {
                "right: 0".to_owned()
            } else if left < 30.0 {
                "left: 0".to_owned()
            } else {
                format!("left: {left:.0}%; transform: translateX(-50%)")
            };
            Some(view! {
                <div class="tooltip" role="status" data-testid=format!("{id}-tooltip")
                    style=place>
                    {summary(label, series, &hide, i, currency.as_deref())}
                </div>
            })
        })
    };
    let legend = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let key = name.clone();
            let shown = {
                let key = key.clone();
                move || (!hidden.with(|h| h.contains(&key))).to_string()
            };
            view! {
                <button type="button" class=format!("key s{i}") aria-pressed=shown
                    on:click=move |_| hidden.update(|h| {
                        if let Some(at) = h.iter().position(|n| *n == key) {
                            h.remove(at);
                        } else {
                            h.push(key.clone());
                        }
                    })>
                    {name.clone()}
                </button>
            }
        })
        .collect_view();
    let heading = format!("{id}-title");
    let labelled_by = heading.clone();
    view! {
        <figure class="chart" id=id aria-labelledby=labelled_by>
            <figcaption id=heading>{title}</figcaption>
            <div class="legend" aria-label="Series">{legend}</div>
            <div class="plot">
                <svg viewBox=format!("0 0 {} {}", frame.width, frame.height) role="group"
                    aria-label="Chart; Tab to each month">
                    {drawing}
                </svg>
                {tooltip}
            </div>
            <DataTable labels=table.0 series=table.1 currency=table.2/>
        </figure>
    }
}

#[component]
fn DataTable(labels: Vec<String>, series: Vec<Series>, currency: Option<String>) -> impl IntoView {
    let head = series
        .iter()
        .map(|s| view! { <th scope="col">{s.name.clone()}</th> })
        .collect_view();
    let rows = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let cells = series
                .iter()
                .map(|s| {
                    let v = s.values.get(i).copied().unwrap_or(0.0);
                    view! { <td>{value_label(v, currency.as_deref())}</td> }
                })
                .collect_view();
            view! { <tr><th scope="row">{label.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <details class="data">
            <summary>"The numbers"</summary>
            <table><thead><tr><th scope="col">"Month"</th>{head}</tr></thead><tbody>{rows}</tbody></table>
        </details>
    }
}

/// The next 90 days as a calendar: one square per day, darker for more memberships ending.
#[component]
pub fn ExpiryCalendar(first: chrono::NaiveDate, counts: Vec<u64>) -> impl IntoView {
    const CELL: f64 = 16.0;
    const GAP: f64 = 3.0;
    const LEFT: f64 = 38.0;
    const TOP: f64 = 4.0;
    let active = RwSignal::new(None::<String>);
    let cells = calendar(first, &counts);
    let columns = cells.iter().map(|c| c.column + 1).max().unwrap_or(1);
    let width = LEFT + columns as f64 * (CELL + GAP);
    let height = TOP + 7.0 * (CELL + GAP);
    let total: u64 = counts.iter().sum();
    let days = ["Mon", "", "Wed", "", "Fri", "", "Sun"]
        .into_iter()
        .enumerate()
        .map(|(row, name)| {
            view! {
                <text class="tick" x=LEFT - 4.0 y=TOP + row as f64 * (CELL + GAP) + 12.0 text-anchor="end">{name}</text>
            }
        })
        .collect_view();
    let squares = cells
        .into_iter()
        .map(|c| {
            let noun = if c.count == 1 {
                "membership"
            } else {
                "memberships"
            };
            let text = format!(
                "{}: {} {noun} ending",
                c.date.format("%a %-d %b %Y"),
                c.count
            );
            let tip = text.clone();
            let aria = text.clone();
            view! {
                <rect class=format!("day l{}", c.level) tabindex="0" role="img" aria-label=aria
                    data-date=c.date.to_string() data-count=c.count
                    x=LEFT + c.column as f64 * (CELL + GAP) y=TOP + c.row as f64 * (CELL + GAP)
                    width=CELL height=CELL rx="3"
                    on:mouseenter={let tip = tip.clone(); move |_| active.set(Some(tip.clone()))}
                    on:mouseleave=move |_| active.set(None)
                    on:focus={let tip = tip.clone(); move |_| active.set(Some(tip.clone()))}
                    on:blur=move |_| active.set(None)>
                    <title>{text}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" id="expiry-calendar" aria-labelledby="expiry-calendar-title">
            <figcaption id="expiry-calendar-title">
                {format!("Memberships ending in the next 90 days ({})", thousands(i64::try_from(total).unwrap_or(i64::MAX)))}
            </figcaption>
            <div class="plot">
                <svg viewBox=format!("0 0 {width:.0} {height:.0}") class="calendar" role="group"
                    aria-label="Expiry calendar; Tab to each day">
                    {days}
                    {squares}
                </svg>
                {move || active.get().map(|t| view! {
                    <div class="tooltip" role="status" data-testid="expiry-calendar-tooltip">{t}</div>
                })}
            </div>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_grouped_by_thousands_and_money_drops_zero_cents() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-999), "-999");
        assert_eq!(value_label(1500.0, None), "1,500");
        assert_eq!(value_label(1500.0, Some("USD")), "$1,500");
    }

    #[test]
    fn a_summary_lists_the_shown_series_only() {
        let series = vec![
            Series {
                name: "Gold".to_owned(),
                values: vec![1.0, 2.0],
            },
            Series {
                name: "Silver".to_owned(),
                values: vec![3.0, 4.0],
            },
        ];
        assert_eq!(
            summary("Nov 2026", &series, &[], 1, None),
            "Nov 2026 — Gold: 2, Silver: 4"
        );
        assert_eq!(
            summary("Nov 2026", &series, &["Gold".to_owned()], 0, None),
            "Nov 2026 — Silver: 3"
        );
    }
}
