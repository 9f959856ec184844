//! The geometry of the dashboard's SVG charts (issue 7): scales with round ticks, stacked areas,
//! grouped bars, and the day cells of a calendar. Pure numbers in, drawing instructions out, so
//! the server renders the same SVG the hydrated page later makes interactive. No Leptos charting
//! crate supports Leptos 0.8 and server rendering (leptos_chart targets 0.6), hence this module.

use serde::{Deserialize, Serialize};

/// A linear map from data values to pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Scale {
    /// The pixel for `value`. A flat domain maps everything to the start of the range.
    pub fn at(self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if (d1 - d0).abs() < f64::EPSILON {
            return r0;
        }
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// Round tick values from 0 up to at least `max`, about `count` of them: steps of 1, 2 or 5 times
/// a power of ten (0, 50, 100, 150 rather than 0, 47, 94, 141).
pub fn nice_ticks(max: f64, count: usize) -> Vec<f64> {
    let count = count.max(1);
    if max <= 0.0 || !max.is_finite() {
        return vec![0.0, 1.0];
    }
    let raw = max / count as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    let mut ticks = vec![0.0];
    let mut value = 0.0;
    while value < max - step * 1e-9 {
        value += step;
        ticks.push((value / step).round() * step);
    }
    ticks
}

/// The drawing area inside a chart's margins.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// The standard frame of the dashboard's charts.
    pub const STANDARD: Self = Self {
        width: 640.0,
        height: 260.0,
        left: 48.0,
        right: 12.0,
        top: 12.0,
        bottom: 28.0,
    };

    pub fn inner_width(self) -> f64 {
        self.width - self.left - self.right
    }

    pub fn inner_height(self) -> f64 {
        self.height - self.top - self.bottom
    }

    /// The vertical scale for values from 0 to the last tick.
    pub fn y_scale(self, ticks: &[f64]) -> Scale {
        Scale {
            domain: (0.0, ticks.last().copied().unwrap_or(1.0)),
            range: (self.height - self.bottom, self.top),
        }
    }
}

/// One series: a name and one value per category (month, day…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// One band of a stacked area: its SVG path and the stacked top of each point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub name: String,
    pub path: String,
    pub tops: Vec<(f64, f64)>,
}

/// Stacks `series` (each the same length) into closed areas, bottom series first; `hidden`
/// series (toggled off) are left out of the stack.
pub fn stacked_areas(frame: Frame, series: &[Series], hidden: &[String]) -> (Vec<Band>, Vec<f64>) {
    let shown: Vec<&Series> = series
        .iter()
        .filter(|s| !hidden.contains(&s.name))
        .collect();
    let points = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let totals: Vec<f64> = (0..points)
        .map(|i| {
            shown
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let ticks = nice_ticks(totals.iter().copied().fold(0.0, f64::max), 4);
    let y = frame.y_scale(&ticks);
    let x = |i: usize| {
        if points <= 1 {
            frame.left
        } else {
            frame.left + frame.inner_width() * i as f64 / (points - 1) as f64
        }
    };
    let mut base = vec![0.0; points];
    let mut bands = Vec::with_capacity(shown.len());
    for s in shown {
        let top: Vec<f64> = (0..points)
            .map(|i| base[i] + s.values.get(i).copied().unwrap_or(0.0))
            .collect();
        let tops: Vec<(f64, f64)> = (0..points).map(|i| (x(i), y.at(top[i]))).collect();
        let mut path = String::new();
        for (i, (px, py)) in tops.iter().enumerate() {
            path.push_str(&format!(
                "{}{:.1},{:.1} ",
                if i == 0 { 'M' } else { 'L' },
                px,
                py
            ));
        }
        for i in (0..points).rev() {
            path.push_str(&format!("L{:.1},{:.1} ", x(i), y.at(base[i])));
        }
        path.push('Z');
        bands.push(Band {
            name: s.name.clone(),
            path,
            tops,
        });
        base = top;
    }
    (bands, ticks)
}

/// One bar of a grouped bar chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub series: String,
    pub category: usize,
    pub value: f64,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Side-by-side bars: one group per category, one bar per shown series in each group.
pub fn grouped_bars(frame: Frame, series: &[Series], hidden: &[String]) -> (Vec<Bar>, Vec<f64>) {
    let shown: Vec<&Series> = series
        .iter()
        .filter(|s| !hidden.contains(&s.name))
        .collect();
    let categories = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let max = shown
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0, f64::max);
    let ticks = nice_ticks(max, 4);
    let y = frame.y_scale(&ticks);
    if categories == 0 || shown.is_empty() {
        return (Vec::new(), ticks);
    }
    let group = frame.inner_width() / categories as f64;
    let gap = group * 0.2;
    let width = (group - gap) / shown.len() as f64;
    let mut bars = Vec::with_capacity(categories * shown.len());
    for category in 0..categories {
        for (k, s) in shown.iter().enumerate() {
            let value = s.values.get(category).copied().unwrap_or(0.0);
            let top = y.at(value);
            bars.push(Bar {
                series: s.name.clone(),
                category,
                value,
                x: frame.left + group * category as f64 + gap / 2.0 + width * k as f64,
                y: top,
                width,
                height: (frame.height - frame.bottom) - top,
            });
        }
    }
    (bars, ticks)
}

/// One day of a calendar grid: weeks as columns, weekdays (Monday first) as rows.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayCell {
    pub date: chrono::NaiveDate,
    pub column: usize,
    pub row: usize,
    /// 0 (nothing that day) to 4 (the busiest day).
    pub level: u8,
    pub count: u64,
}

/// The cells of a calendar of `counts` (one per consecutive day from `first`).
pub fn calendar(first: chrono::NaiveDate, counts: &[u64]) -> Vec<DayCell> {
    use chrono::Datelike as _;
    let max = counts.iter().copied().max().unwrap_or(0);
    let offset = first.weekday().num_days_from_monday() as usize;
    counts
        .iter()
        .enumerate()
        .filter_map(|(i, &count)| {
            let date = first.checked_add_days(chrono::Days::new(i as u64))?;
            let slot = offset + i;
            let level = if count == 0 || max == 0 {
                0
            } else {
                // 1 to 4, in proportion to the busiest day.
                u8::try_from((4 * count).div_ceil(max).clamp(1, 4)).unwrap_or(4)
            };
            Some(DayCell {
                date,
                column: slot / 7,
                row: slot % 7,
                level,
                count,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_reach_the_maximum() {
        assert_eq!(nice_ticks(140.0, 4), [0.0, 50.0, 100.0, 150.0]);
        assert_eq!(nice_ticks(1.0, 4), [0.0, 0.5, 1.0]);
        assert_eq!(nice_ticks(55_423.0, 4), [0.0, 20_000.0, 40_000.0, 60_000.0]);
        assert_eq!(nice_ticks(0.0, 4), [0.0, 1.0]);
        assert_eq!(nice_ticks(f64::NAN, 4), [0.0, 1.0]);
    }

    #[test]
    fn a_scale_maps_the_domain_onto_the_range_and_survives_a_flat_domain() {
        let s = Scale {
            domain: (0.0, 100.0),
            range: (200.0, 0.0),
        };
        assert!((s.at(25.0) - 150.0).abs() < 1e-9);
        let flat = Scale {
            domain: (5.0, 5.0),
            range: (10.0, 20.0),
        };
        assert!((flat.at(5.0) - 10.0).abs() < 1e-9);
    }

    fn series(name: &str, values: &[f64]) -> Series {
        Series {
            name: name.to_owned(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn stacked_areas_put_each_series_on_the_ones_below_and_skip_hidden_ones() {
        let frame = Frame::STANDARD;
        let data = [series("Bronze", &[10.0, 20.0]), series("Gold", &[5.0, 5.0])];
        let (bands, ticks) = stacked_areas(frame, &data, &[]);
        assert_eq!(ticks, [0.0, 10.0, 20.0, 30.0]);
        let y = frame.y_scale(&ticks);
        assert!(
            (bands[1].tops[1].1 - y.at(25.0)).abs() < 1e-9,
            "Gold sits on Bronze"
        );
        assert!(bands[0].path.starts_with('M') && bands[0].path.ends_with('Z'));
        let (only_gold, _) = stacked_areas(frame, &data, &["Bronze".to_owned()]);
        assert_eq!(only_gold.len(), 1);
        assert!((only_gold[0].tops[0].1 - frame.y_scale(&nice_ticks(5.0, 4)).at(5.0)).abs() < 1e-9);
    }

    #[test]
    fn grouped_bars_fill_each_category_side_by_side_from_the_baseline() {
        let frame = Frame::STANDARD;
        let data = [series("New", &[4.0, 8.0]), series("Expired", &[2.0, 0.0])];
        let (bars, _) = grouped_bars(frame, &data, &[]);
        assert_eq!(bars.len(), 4);
        let baseline = frame.height - frame.bottom;
        for bar in &bars {
            assert!((bar.y + bar.height - baseline).abs() < 1e-9);
        }
        assert!(bars[1].x > bars[0].x, "side by side");
        assert!(
            bars[2].x > bars[1].x + bars[1].width,
            "the next group after a gap"
        );
        assert!(
            (bars[3].height).abs() < 1e-9,
            "a zero is a bar of no height"
        );
        assert!(
            grouped_bars(frame, &data, &["New".to_owned(), "Expired".to_owned()])
                .0
                .is_empty()
        );
    }

    #[test]
    fn a_calendar_starts_on_the_weekday_of_its_first_day_and_grades_busy_days() {
        // 2026-12-02 is a Wednesday: row 2 of the first column.
        let first = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let cells = calendar(first, &[0, 1, 3, 6, 12, 0, 0, 9]);
        assert_eq!((cells[0].column, cells[0].row), (0, 2));
        assert_eq!(
            (cells[5].column, cells[5].row),
            (1, 0),
            "Monday starts a column"
        );
        let levels: Vec<u8> = cells.iter().map(|c| c.level).collect();
        assert_eq!(levels, [0, 1, 1, 2, 4, 0, 0, 3]);
    }
}
