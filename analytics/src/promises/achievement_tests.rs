//! Table tests of the month comparison, the achievement ratio and the
//! projection.

use super::*;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn usd(text: &str) -> Cost {
    Cost::parse_usd(text).unwrap()
}

/// The DESIGN.md worked example: $6,600 today, $3,135 optimized, 50 x $49.
fn promise(start: &str) -> Promise {
    Promise {
        tenant_id: "acme".to_owned(),
        version: 1,
        created_at_ms: 0,
        created_by: "cli".to_owned(),
        start_month: d(start),
        seats: 50,
        fee_monthly: usd("2450"),
        promised_gross_monthly: usd("6600") - usd("3135"),
        inputs: "{}".to_owned(),
    }
}

fn measured(month: &str, savings: &str, unpriced: i64) -> MonthMeasured {
    MonthMeasured {
        month: d(month),
        savings: usd(savings),
        requests: 10,
        unpriced,
    }
}

#[test]
fn each_month_is_flagged_with_its_reasons() {
    /// (month, first traffic, unpriced requests, today, reasons)
    type Case = (
        &'static str,
        Option<&'static str>,
        i64,
        &'static str,
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        ("2026-09-01", Some("2026-08-15"), 0, "2026-12-07", &[]),
        ("2026-09-01", Some("2026-09-01"), 0, "2026-12-07", &[]),
        ("2026-09-01", None, 0, "2026-12-07", &[BEFORE_FIRST_TRAFFIC]),
        (
            "2026-09-01",
            Some("2026-10-01"),
            0,
            "2026-12-07",
            &[BEFORE_FIRST_TRAFFIC],
        ),
        (
            "2026-09-01",
            Some("2026-09-02"),
            0,
            "2026-12-07",
            &[FIRST_TRAFFIC_MID_MONTH],
        ),
        (
            "2026-09-01",
            Some("2026-01-01"),
            3,
            "2026-12-07",
            &[UNPRICED],
        ),
        (
            "2026-12-01",
            Some("2026-01-01"),
            0,
            "2026-12-07",
            &[IN_PROGRESS],
        ),
        (
            "2026-12-01",
            Some("2026-01-01"),
            0,
            "2026-12-31",
            &[IN_PROGRESS],
        ),
        ("2026-11-01", Some("2026-01-01"), 0, "2026-12-01", &[]),
        (
            "2026-12-01",
            Some("2026-12-05"),
            1,
            "2026-12-07",
            &[IN_PROGRESS, FIRST_TRAFFIC_MID_MONTH, UNPRICED],
        ),
        (
            "2026-12-01",
            None,
            0,
            "2026-12-07",
            &[IN_PROGRESS, BEFORE_FIRST_TRAFFIC],
        ),
    ];
    for (month, first, unpriced, today, reasons) in cases {
        let got = achievement(
            promise(month),
            &[measured(month, "1", *unpriced)],
            first.map(d),
            d(today),
        );
        let line = got.months.first().unwrap();
        assert_eq!(line.month, d(month), "{month} {first:?}");
        assert_eq!(
            &line.incomplete_reasons, reasons,
            "{month} {first:?} {today}"
        );
        assert_eq!(
            line.complete,
            reasons.is_empty(),
            "{month} {first:?} {today}"
        );
    }
}

#[test]
fn achievement_is_in_basis_points_rounded_half_away_from_zero() {
    // (measured pico-USD, promised pico-USD, basis points)
    let cases: &[(i128, i128, Option<i64>)] = &[
        (100, 200, Some(5_000)),
        (200, 200, Some(10_000)),
        (300, 200, Some(15_000)),
        (1, 3, Some(3_333)),
        (2, 3, Some(6_667)),
        (-1, 3, Some(-3_333)),
        (1, 20_000, Some(1)),
        (-1, 20_000, Some(-1)),
        (0, 7, Some(0)),
        (5, 0, None),
        (5, -5, None),
    ];
    for (measured, promised, expected) in cases {
        assert_eq!(
            basis_points(Cost(*measured), Cost(*promised)),
            *expected,
            "{measured} / {promised}"
        );
    }
}

#[test]
fn the_year_is_projected_from_complete_months_of_the_first_twelve() {
    // (each month's savings in pico-USD and whether it is complete, projection)
    let cases: &[(&[(i128, bool)], i128)] = &[
        (&[], 0),
        (&[(500, false)], 0),
        (&[(100, true), (100, true), (100, true)], 100 * 3 + 100 * 9),
        (&[(100, true), (200, true), (50, false)], 300 + 300 * 10 / 2),
        // 1 x 5 / 7 = 0.71: rounds to 1.
        (
            &[
                (1, true),
                (0, true),
                (0, true),
                (0, true),
                (0, true),
                (0, true),
                (0, true),
            ],
            2,
        ),
        // 1 x 10 / 2 = 5 exactly; -1 x 10 / 2 = -5.
        (&[(1, true), (0, true)], 6),
        (&[(-1, true), (0, true)], -6),
        // Only the first 12 months count.
        (&[(10, true); 14], 120),
        (
            &[
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (10, false),
                (99, true),
            ],
            0,
        ),
    ];
    for (months, expected) in cases {
        let lines: Vec<MonthAchievement> = months
            .iter()
            .map(|(savings, complete)| MonthAchievement {
                month: d("2026-01-01"),
                promised_gross: Cost::ZERO,
                promised_net: Cost::ZERO,
                measured_savings: Cost(*savings),
                fee: Cost::ZERO,
                achieved_net: Cost::ZERO,
                achievement_basis_points: None,
                complete: *complete,
                incomplete_reasons: Vec::new(),
            })
            .collect();
        assert_eq!(project_year(&lines), Cost(*expected), "{months:?}");
    }
}

#[test]
fn months_run_from_the_start_to_today_with_their_figures() {
    let today = d("2026-12-07");
    let measured = [
        measured("2026-08-01", "999", 0), // before the promise: left out
        measured("2026-09-01", "3000", 0),
        measured("2026-10-01", "4000", 2),
        measured("2026-12-01", "100.5", 0),
    ];
    let got = achievement(
        promise("2026-09-01"),
        &measured,
        Some(d("2026-08-20")),
        today,
    );
    let months: Vec<NaiveDate> = got.months.iter().map(|m| m.month).collect();
    assert_eq!(
        months,
        [
            d("2026-09-01"),
            d("2026-10-01"),
            d("2026-11-01"),
            d("2026-12-01")
        ]
    );
    let gross = usd("3465");
    let fee = usd("2450");
    let savings: Vec<Cost> = got.months.iter().map(|m| m.measured_savings).collect();
    // November had no traffic: a complete month that saved nothing.
    assert_eq!(
        savings,
        [usd("3000"), usd("4000"), Cost::ZERO, usd("100.5")]
    );
    for line in &got.months {
        assert_eq!(line.promised_gross, gross);
        assert_eq!(line.fee, fee);
        assert_eq!(line.promised_net, usd("1015"));
        assert_eq!(line.achieved_net, line.measured_savings - fee);
    }
    let reasons: Vec<&[&str]> = got
        .months
        .iter()
        .map(|m| &m.incomplete_reasons[..])
        .collect();
    assert_eq!(reasons, [&[][..], &[UNPRICED], &[], &[IN_PROGRESS]]);
    // 3000 / 3465 = 0.865800..
    assert_eq!(got.months[0].achievement_basis_points, Some(8_658));
    assert_eq!(got.to_date_measured, usd("7100.5"));
    assert_eq!(got.to_date_promised, usd("13860"));
    // Complete: September (3000) and November (0); 10 more months at 1500.
    assert_eq!(got.projected_year_savings, usd("18000"));
    assert_eq!(got.promised_year_savings, usd("41580"));
    assert_eq!(got.promise.promised_net_monthly(), usd("1015"));
}

#[test]
fn a_promise_that_starts_later_has_no_months_yet() {
    let got = achievement(promise("2027-01-01"), &[], None, d("2026-12-31"));
    assert!(got.months.is_empty());
    assert_eq!(got.to_date_measured, Cost::ZERO);
    assert_eq!(got.to_date_promised, Cost::ZERO);
    assert_eq!(got.projected_year_savings, Cost::ZERO);
    assert_eq!(got.promised_year_savings, usd("41580"));
}

#[test]
fn month_of_is_the_first() {
    for (day, month) in [
        ("2026-12-07", "2026-12-01"),
        ("2026-12-01", "2026-12-01"),
        ("2024-02-29", "2024-02-01"),
    ] {
        assert_eq!(month_of(d(day)), d(month));
    }
}
