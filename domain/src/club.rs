//! The club program and its ladder of stages: what a stage's fields may hold, and the ladder rule
//! of decisions D2. The same functions run in the browser (instant feedback while typing) and on
//! the server (which decides).
//!
//! D2: stage_order is unique within a program. Going up the ladder of active stages,
//! `min_purchase_amount` strictly increases, `duration_months` does not decrease and
//! `discount_percentage` does not decrease. Limits: 0 < discount <= 100, 1 <= duration <= 120
//! months, minimum >= 0. Deactivated stages admit nobody (D8), so they sit in the ladder without
//! constraining it; re-activating one checks it again.

use crate::ids::StageId;
use crate::money::{Money, MoneyError};
use crate::percent::{Percent, PercentError};
use crate::text::{self, TextError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest stage name.
pub const MAX_STAGE_NAME: usize = 60;
/// Longest program name.
pub const MAX_PROGRAM_NAME: usize = 120;
/// Longest program description.
pub const MAX_PROGRAM_DESCRIPTION: usize = 2_000;
/// Shortest stage duration, in months.
pub const MIN_DURATION_MONTHS: u32 = 1;
/// Longest stage duration, in months (ten years).
pub const MAX_DURATION_MONTHS: u32 = 120;
/// Most stages a program may have.
pub const MAX_STAGES: usize = 20;

/// A field of a stage, as named in messages and forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageField {
    Name,
    Discount,
    Duration,
    MinPurchase,
    Position,
    Active,
}

impl StageField {
    /// The field's name in messages ("minimum purchase").
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Discount => "discount",
            Self::Duration => "duration",
            Self::MinPurchase => "minimum purchase",
            Self::Position => "position",
            Self::Active => "active",
        }
    }

    /// The form input carrying the field (and the server function argument).
    pub fn input_name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Discount => "discount_percentage",
            Self::Duration => "duration_months",
            Self::MinPurchase => "min_purchase",
            Self::Position => "position",
            Self::Active => "is_active",
        }
    }
}

/// A stage value that was refused: which stage, which field and why, in words for the admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageProblem {
    /// The stage's name as typed (or "New stage" when the name itself is missing).
    pub stage: String,
    pub field: StageField,
    /// A complete sentence naming the stage and the field.
    pub message: String,
}

impl fmt::Display for StageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StageProblem {}

fn problem(stage: &str, field: StageField, detail: impl fmt::Display) -> StageProblem {
    StageProblem {
        stage: stage.to_owned(),
        field,
        message: format!("{stage}: {} {detail}.", field.label()),
    }
}

/// A stage's editable values, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageValues {
    pub name: String,
    pub discount: Percent,
    pub duration_months: u32,
    pub min_purchase: Money,
}

/// Parses a stage name (1 to 60 characters, one line).
pub fn parse_stage_name(raw: &str) -> Result<String, StageProblem> {
    text::bounded(raw, MAX_STAGE_NAME, false).map_err(|e| {
        let shown = match e {
            TextError::Empty => "New stage".to_owned(),
            _ => raw.trim().chars().take(MAX_STAGE_NAME).collect(),
        };
        problem(&shown, StageField::Name, e)
    })
}

/// Parses a discount: above 0% and at most 100%.
pub fn parse_discount(stage: &str, raw: &str) -> Result<Percent, StageProblem> {
    let limits = "must be above 0% and at most 100%";
    match Percent::parse(raw) {
        Ok(p) if p.hundredths() > 0 && p.hundredths() <= 10_000 => Ok(p),
        Ok(_) | Err(PercentError::Negative | PercentError::TooLarge) => {
            Err(problem(stage, StageField::Discount, limits))
        }
        Err(e) => Err(problem(stage, StageField::Discount, e)),
    }
}

/// Parses a duration: a whole number of months from 1 to 120.
pub fn parse_duration(stage: &str, raw: &str) -> Result<u32, StageProblem> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(problem(stage, StageField::Duration, "is required"));
    }
    let limits = format!(
        "must be a whole number of months from {MIN_DURATION_MONTHS} to {MAX_DURATION_MONTHS}"
    );
    match trimmed.parse::<i64>() {
        Ok(m) if (i64::from(MIN_DURATION_MONTHS)..=i64::from(MAX_DURATION_MONTHS)).contains(&m) => {
            Ok(u32::try_from(m).unwrap_or(MIN_DURATION_MONTHS))
        }
        _ => Err(problem(stage, StageField::Duration, limits)),
    }
}

/// Parses a minimum purchase: zero or more, in the winery's currency.
pub fn parse_min_purchase(stage: &str, raw: &str) -> Result<Money, StageProblem> {
    Money::parse(raw).map_err(|e| match e {
        MoneyError::Negative => problem(stage, StageField::MinPurchase, "must be zero or more"),
        other => problem(stage, StageField::MinPurchase, other),
    })
}

impl StageValues {
    /// Parses the four fields of a stage form, reporting the first problem.
    pub fn parse(
        name: &str,
        discount: &str,
        duration_months: &str,
        min_purchase: &str,
    ) -> Result<Self, StageProblem> {
        let name = parse_stage_name(name)?;
        Ok(Self {
            discount: parse_discount(&name, discount)?,
            duration_months: parse_duration(&name, duration_months)?,
            min_purchase: parse_min_purchase(&name, min_purchase)?,
            name,
        })
    }
}

/// One stage as the ladder rule sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    /// `None` for a stage that is being added.
    pub id: Option<StageId>,
    pub values: StageValues,
    pub is_active: bool,
}

/// Where a stage moves when the ladder is reordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// Parses the value of a form's direction button (`up` or `down`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "up" => Some(Self::Up),
            "down" => Some(Self::Down),
            _ => None,
        }
    }
}

/// Checks the whole ladder (ordered bottom to top; positions are the indexes) against D2.
///
/// `focus` is the index of the stage being changed, so that a violation between it and a
/// neighbour is worded from its side ("must be less than Gold's" rather than "Gold must be more").
///
/// # Errors
/// The first violation found, naming the offending stage and field.
pub fn check_ladder(rungs: &[Rung], focus: Option<usize>) -> Result<(), StageProblem> {
    if rungs.len() > MAX_STAGES {
        let stage = focus
            .and_then(|i| rungs.get(i))
            .map_or("New stage", |r| r.values.name.as_str());
        return Err(problem(
            stage,
            StageField::Position,
            format!("cannot be added: a program has at most {MAX_STAGES} stages"),
        ));
    }
    for (i, rung) in rungs.iter().enumerate() {
        if let Some(twin) = rungs[..i]
            .iter()
            .find(|r| r.values.name.to_lowercase() == rung.values.name.to_lowercase())
        {
            let named = if focus == Some(i) || focus.is_none() {
                rung
            } else {
                twin
            };
            return Err(problem(
                &named.values.name,
                StageField::Name,
                "is already used by another stage",
            ));
        }
    }
    let active: Vec<(usize, &Rung)> = rungs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_active)
        .collect();
    for pair in active.windows(2) {
        let (lower_index, lower) = pair[0];
        let (_, upper) = pair[1];
        let focus_is_lower = focus == Some(lower_index);
        let (l, u) = (&lower.values, &upper.values);
        if u.min_purchase <= l.min_purchase {
            return Err(if focus_is_lower {
                problem(
                    &l.name,
                    StageField::MinPurchase,
                    format!(
                        "({}) must be less than {}'s ({}), the stage above it",
                        l.min_purchase.to_decimal_string(),
                        u.name,
                        u.min_purchase.to_decimal_string()
                    ),
                )
            } else {
                problem(
                    &u.name,
                    StageField::MinPurchase,
                    format!(
                        "({}) must be more than {}'s ({}), the stage below it",
                        u.min_purchase.to_decimal_string(),
                        l.name,
                        l.min_purchase.to_decimal_string()
                    ),
                )
            });
        }
        if u.duration_months < l.duration_months {
            return Err(if focus_is_lower {
                problem(
                    &l.name,
                    StageField::Duration,
                    format!(
                        "({} months) must not be longer than {}'s ({} months), the stage above it",
                        l.duration_months, u.name, u.duration_months
                    ),
                )
            } else {
                problem(
                    &u.name,
                    StageField::Duration,
                    format!(
                        "({} months) must not be shorter than {}'s ({} months), the stage below it",
                        u.duration_months, l.name, l.duration_months
                    ),
                )
            });
        }
        if u.discount < l.discount {
            return Err(if focus_is_lower {
                problem(
                    &l.name,
                    StageField::Discount,
                    format!(
                        "({}) must not be greater than {}'s ({}), the stage above it",
                        l.discount, u.name, u.discount
                    ),
                )
            } else {
                problem(
                    &u.name,
                    StageField::Discount,
                    format!(
                        "({}) must not be smaller than {}'s ({}), the stage below it",
                        u.discount, l.name, l.discount
                    ),
                )
            });
        }
    }
    Ok(())
}

/// The ladder with `rung` inserted at 1-based `position` (1 is the bottom; `len + 1` the top),
/// checked. Returns the new ladder and the new stage's index.
///
/// # Errors
/// A position outside 1..=len+1, or a D2 violation.
pub fn insert_rung(
    rungs: &[Rung],
    rung: Rung,
    position: usize,
) -> Result<(Vec<Rung>, usize), StageProblem> {
    if position == 0 || position > rungs.len() + 1 {
        return Err(problem(
            &rung.values.name,
            StageField::Position,
            format!("must be from 1 to {}", rungs.len() + 1),
        ));
    }
    let mut ladder = rungs.to_vec();
    ladder.insert(position - 1, rung);
    check_ladder(&ladder, Some(position - 1))?;
    Ok((ladder, position - 1))
}

/// The ladder with the stage at `index` given new values, checked.
///
/// # Errors
/// A D2 violation.
pub fn update_rung(
    rungs: &[Rung],
    index: usize,
    values: StageValues,
) -> Result<Vec<Rung>, StageProblem> {
    let mut ladder = rungs.to_vec();
    if let Some(rung) = ladder.get_mut(index) {
        rung.values = values;
    }
    check_ladder(&ladder, Some(index))?;
    Ok(ladder)
}

/// The ladder with the stage at `index` swapped with its neighbour, checked.
///
/// # Errors
/// Moving the bottom stage down or the top stage up, or a D2 violation.
pub fn move_rung(
    rungs: &[Rung],
    index: usize,
    direction: Direction,
) -> Result<(Vec<Rung>, usize), StageProblem> {
    let name = rungs.get(index).map_or("Stage", |r| r.values.name.as_str());
    let target = match direction {
        Direction::Up if index + 1 < rungs.len() => index + 1,
        Direction::Down if index > 0 && index < rungs.len() => index - 1,
        Direction::Up => {
            return Err(problem(
                name,
                StageField::Position,
                "is already the top of the ladder",
            ));
        }
        Direction::Down => {
            return Err(problem(
                name,
                StageField::Position,
                "is already the bottom of the ladder",
            ));
        }
    };
    let mut ladder = rungs.to_vec();
    ladder.swap(index, target);
    check_ladder(&ladder, Some(target))?;
    Ok((ladder, target))
}

/// The ladder with the stage at `index` activated or deactivated, checked. Deactivating never
/// breaks the ladder; activating puts the stage back under D2.
///
/// # Errors
/// A D2 violation when activating.
pub fn set_rung_active(
    rungs: &[Rung],
    index: usize,
    active: bool,
) -> Result<Vec<Rung>, StageProblem> {
    let mut ladder = rungs.to_vec();
    if let Some(rung) = ladder.get_mut(index) {
        rung.is_active = active;
    }
    check_ladder(&ladder, Some(index))?;
    Ok(ladder)
}

/// A program's name and description, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramValues {
    pub name: String,
    pub description: Option<String>,
}

/// Which program field was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProgramField {
    Name,
    Description,
}

impl ProgramValues {
    /// Parses the program form.
    ///
    /// # Errors
    /// The refused field and a sentence for the admin.
    pub fn parse(name: &str, description: &str) -> Result<Self, (ProgramField, String)> {
        let name = text::bounded(name, MAX_PROGRAM_NAME, false)
            .map_err(|e| (ProgramField::Name, format!("Program name {e}.")))?;
        let description =
            text::optional(description, MAX_PROGRAM_DESCRIPTION, true).map_err(|e| {
                (
                    ProgramField::Description,
                    format!("Program description {e}."),
                )
            })?;
        Ok(Self { name, description })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rung(name: &str, discount: u32, months: u32, min_dollars: i64) -> Rung {
        Rung {
            id: None,
            values: StageValues {
                name: name.to_owned(),
                discount: Percent::from_hundredths(discount * 100),
                duration_months: months,
                min_purchase: Money::from_cents(min_dollars * 100),
            },
            is_active: true,
        }
    }

    fn docs_ladder() -> Vec<Rung> {
        vec![
            rung("Bronze", 10, 3, 75),
            rung("Silver", 15, 6, 150),
            rung("Gold", 20, 12, 300),
        ]
    }

    #[test]
    fn the_ladder_of_the_worked_scenarios_is_valid() {
        assert_eq!(check_ladder(&docs_ladder(), None), Ok(()));
    }

    #[test]
    fn ladder_rules_are_checked_table_driven() {
        struct Case {
            what: &'static str,
            ladder: Vec<Rung>,
            focus: Option<usize>,
            expected: Option<(&'static str, StageField)>,
        }
        let cases = [
            Case {
                what: "empty ladder",
                ladder: vec![],
                focus: None,
                expected: None,
            },
            Case {
                what: "single stage",
                ladder: vec![rung("Only", 5, 1, 0)],
                focus: None,
                expected: None,
            },
            Case {
                what: "equal minimums",
                ladder: vec![rung("Bronze", 10, 3, 75), rung("Silver", 15, 6, 75)],
                focus: None,
                expected: Some(("Silver", StageField::MinPurchase)),
            },
            Case {
                what: "minimum lower than the stage below",
                ladder: vec![rung("Bronze", 10, 3, 75), rung("Copper", 15, 6, 50)],
                focus: Some(1),
                expected: Some(("Copper", StageField::MinPurchase)),
            },
            Case {
                what: "lower stage edited above its neighbour is named",
                ladder: vec![rung("Bronze", 10, 3, 400), rung("Silver", 15, 6, 150)],
                focus: Some(0),
                expected: Some(("Bronze", StageField::MinPurchase)),
            },
            Case {
                what: "equal durations are allowed",
                ladder: vec![rung("Bronze", 10, 6, 75), rung("Silver", 15, 6, 150)],
                focus: None,
                expected: None,
            },
            Case {
                what: "shorter duration above",
                ladder: vec![rung("Bronze", 10, 6, 75), rung("Silver", 15, 3, 150)],
                focus: None,
                expected: Some(("Silver", StageField::Duration)),
            },
            Case {
                what: "equal discounts are allowed",
                ladder: vec![rung("Bronze", 10, 3, 75), rung("Silver", 10, 6, 150)],
                focus: None,
                expected: None,
            },
            Case {
                what: "smaller discount above",
                ladder: vec![rung("Bronze", 15, 3, 75), rung("Silver", 10, 6, 150)],
                focus: None,
                expected: Some(("Silver", StageField::Discount)),
            },
            Case {
                what: "an inactive stage does not constrain the ladder",
                ladder: vec![
                    rung("Bronze", 10, 3, 75),
                    Rung {
                        is_active: false,
                        ..rung("Old", 50, 1, 10)
                    },
                    rung("Gold", 20, 12, 300),
                ],
                focus: None,
                expected: None,
            },
            Case {
                what: "duplicate names, any case",
                ladder: vec![rung("Bronze", 10, 3, 75), rung("bronze", 15, 6, 150)],
                focus: Some(1),
                expected: Some(("bronze", StageField::Name)),
            },
        ];
        for case in cases {
            let got = check_ladder(&case.ladder, case.focus)
                .err()
                .map(|p| (p.stage, p.field));
            let want = case.expected.map(|(s, f)| (s.to_owned(), f));
            assert_eq!(got, want, "{}", case.what);
        }
    }

    #[test]
    fn messages_name_the_stage_the_field_and_the_neighbour() {
        let err =
            insert_rung(&docs_ladder(), rung("Copper", 25, 12, 50), 4).expect_err("below Gold");
        assert_eq!(
            err.message,
            "Copper: minimum purchase (50.00) must be more than Gold's (300.00), the stage below it."
        );
        let err = update_rung(&docs_ladder(), 0, rung("Bronze", 10, 3, 400).values)
            .expect_err("above Silver");
        assert_eq!(
            err.message,
            "Bronze: minimum purchase (400.00) must be less than Silver's (150.00), the stage above it."
        );
    }

    #[test]
    fn inserting_at_the_bottom_shifts_the_others_up() {
        let (ladder, index) =
            insert_rung(&docs_ladder(), rung("Copper", 5, 1, 25), 1).expect("valid");
        assert_eq!(index, 0);
        let names: Vec<_> = ladder.iter().map(|r| r.values.name.as_str()).collect();
        assert_eq!(names, ["Copper", "Bronze", "Silver", "Gold"]);
        assert!(insert_rung(&docs_ladder(), rung("X", 5, 1, 25), 0).is_err());
        assert!(insert_rung(&docs_ladder(), rung("X", 50, 120, 2_500), 5).is_err());
    }

    #[test]
    fn moving_an_active_stage_past_another_breaks_the_ladder() {
        let err = move_rung(&docs_ladder(), 0, Direction::Up).expect_err("Bronze above Silver");
        assert_eq!(err.field, StageField::MinPurchase);
        assert!(
            move_rung(&docs_ladder(), 2, Direction::Up).is_err(),
            "top cannot go up"
        );
        assert!(
            move_rung(&docs_ladder(), 0, Direction::Down).is_err(),
            "bottom cannot go down"
        );
    }

    #[test]
    fn an_inactive_stage_can_be_moved_anywhere_but_is_checked_when_activated() {
        let ladder = set_rung_active(&docs_ladder(), 2, false).expect("deactivating never fails");
        let (ladder, at) =
            move_rung(&ladder, 2, Direction::Down).expect("inactive Gold moves below Silver");
        assert_eq!(at, 1);
        let err = set_rung_active(&ladder, 1, true).expect_err("Gold is now below Silver");
        assert_eq!(
            (err.stage.as_str(), err.field),
            ("Gold", StageField::MinPurchase)
        );
    }

    #[test]
    fn field_limits_follow_d2() {
        assert!(StageValues::parse("Gold", "20", "12", "300").is_ok());
        let cases = [
            (("", "10", "3", "75"), StageField::Name),
            (("Gold", "0", "3", "75"), StageField::Discount),
            (("Gold", "100.01", "3", "75"), StageField::Discount),
            (("Gold", "-5", "3", "75"), StageField::Discount),
            (("Gold", "abc", "3", "75"), StageField::Discount),
            (("Gold", "10", "0", "75"), StageField::Duration),
            (("Gold", "10", "121", "75"), StageField::Duration),
            (("Gold", "10", "1.5", "75"), StageField::Duration),
            (("Gold", "10", "", "75"), StageField::Duration),
            (("Gold", "10", "3", "-1"), StageField::MinPurchase),
            (("Gold", "10", "3", "lots"), StageField::MinPurchase),
        ];
        for ((name, discount, months, min), field) in cases {
            let err = StageValues::parse(name, discount, months, min).expect_err("refused");
            assert_eq!(err.field, field, "{name} {discount} {months} {min}");
        }
        assert!(
            StageValues::parse("Gold", "100", "120", "0").is_ok(),
            "the limits themselves are allowed"
        );
        let long = "x".repeat(MAX_STAGE_NAME + 1);
        let err = StageValues::parse(&long, "10", "3", "75").expect_err("too long");
        assert_eq!(err.field, StageField::Name);
        assert!(
            err.message.contains("at most 60 characters"),
            "{}",
            err.message
        );
    }

    #[test]
    fn program_values_are_bounded() {
        assert!(ProgramValues::parse("Founders' Circle", "").is_ok());
        assert_eq!(
            ProgramValues::parse(" ", "").map_err(|e| e.0),
            Err(ProgramField::Name)
        );
        let long = "x".repeat(MAX_PROGRAM_DESCRIPTION + 1);
        assert_eq!(
            ProgramValues::parse("Club", &long).map_err(|e| e.0),
            Err(ProgramField::Description)
        );
    }
}

/// The club program as the admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramView {
    pub id: crate::ids::ProgramId,
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
    /// The version a form must echo back; a stale form is refused.
    pub version: i32,
}

/// One stage as the admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageView {
    pub id: StageId,
    pub values: StageValues,
    /// 1 is the bottom of the ladder.
    pub position: u32,
    pub is_active: bool,
    pub version: i32,
    /// Enrollments of any status that reference the stage; a stage with any cannot be deleted.
    pub enrollment_count: i64,
    pub active_member_count: i64,
}

/// What a change to a stage would do to current members, shown before it is saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatIf {
    pub stage: StageId,
    /// The values previewed, as typed (the edit form opens with them).
    pub values: StageValues,
    /// One sentence per effect, e.g. "214 Silver members would have qualified for Gold under the
    /// new minimum ($250.00)…".
    pub effects: Vec<String>,
    /// The ladder rule the change would break, if any (saving would be refused).
    pub problem: Option<String>,
}

/// The stage builder's data: the program, its ladder bottom to top, and a fresh key for the
/// "add stage" form (a second submission of the same form is refused).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderView {
    pub program: ProgramView,
    pub stages: Vec<StageView>,
    pub currency: String,
    pub add_form_key: uuid::Uuid,
}

/// Stages (bottom to top) as the D2 rule sees them.
pub fn rungs_of(stages: &[StageView]) -> Vec<Rung> {
    stages
        .iter()
        .map(|s| Rung {
            id: Some(s.id),
            values: s.values.clone(),
            is_active: s.is_active,
        })
        .collect()
}

impl LadderView {
    /// The ladder as the D2 rule sees it.
    pub fn rungs(&self) -> Vec<Rung> {
        rungs_of(&self.stages)
    }

    /// The index of a stage in the ladder.
    pub fn index_of(&self, id: StageId) -> Option<usize> {
        self.stages.iter().position(|s| s.id == id)
    }
}
