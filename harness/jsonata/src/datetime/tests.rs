//! Unit tests of the picture functions and their parts.

use super::*;

/// 2024-01-01T00:00:00Z, a fixed "now" for pictures that leave the date out.
const NOW: f64 = 1_704_067_200_000.0;

fn code<T: std::fmt::Debug>(result: Result<T, Error>) -> &'static str {
    match result {
        Err(e) => e.code,
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

fn fmt(millis: f64, picture: &str) -> String {
    from_millis(millis, Some(picture), None).unwrap_or_else(|e| panic!("{picture}: {e}"))
}

fn millis(timestamp: &str, picture: &str) -> Option<f64> {
    to_millis_at(timestamp, Some(picture), NOW).unwrap_or_else(|e| panic!("{timestamp} {picture}: {e}"))
}

fn iso(millis: f64) -> String {
    from_millis(millis, None, None).unwrap_or_else(|e| panic!("{millis}: {e}"))
}

// function-formatInteger/formatInteger.json
#[test]
fn format_integer_decimal() {
    for (value, picture, expected) in [
        (123.0, "000", "123"),
        (123.0, "0000", "0123"),
        (-3.0, "0000", "-0003"),
        (1234.0, "0;c", "1234"),
        (1234.0, "###0", "1234"),
        (12.0, "###0", "12"),
        (12.6, "###0", "12"),
        (123.0, "000;o", "123rd"),
        (1.0, "0;o", "1st"),
        (28.0, "#0;o", "28th"),
        (1234.0, "###0;o", "1234th"),
        (12.0, "###0;o", "12th"),
        (12340.0, "###١", "١٢٣٤٠"),
        (12340.0, "###０", "１２３４０"),
        (12.0, "#,##0", "12"),
        (1200.0, "#,##0", "1,200"),
        (120000.0, "#,##0", "120,000"),
        (12345678.0, "#,##0", "12,345,678"),
        (1234567890.0, "#,##0", "1,234,567,890"),
        (1234567890.0, "#,###,##0", "1,234,567,890"),
        (1234567890.0, "#:###,##0", "1234:567,890"),
        (1234567890.0, "##,##,##0", "12345,67,890"),
    ] {
        assert_eq!(
            format_integer(value, picture).as_deref(),
            Ok(expected),
            "{value} {picture}"
        );
    }
    assert_eq!(code(format_integer(12340.0, "##0０")), "D3131");
}

// function-formatInteger/formatInteger.json
#[test]
fn format_integer_roman_letters_sequences() {
    for (value, picture, expected) in [
        (0.0, "I", ""),
        (1984.0, "I", "MCMLXXXIV"),
        (99.0, "i", "xcix"),
        (1.0, "A", "A"),
        (12.0, "a", "l"),
        (26.0, "a", "z"),
        (27.0, "a", "aa"),
        (300.0, "A", "KN"),
        (123456.0, "A", "FZPH"),
    ] {
        assert_eq!(
            format_integer(value, picture).as_deref(),
            Ok(expected),
            "{value} {picture}"
        );
    }
    assert_eq!(code(format_integer(123456.0, "α")), "D3130");
}

// function-formatInteger/formatInteger.json
#[test]
fn format_integer_words() {
    for (value, picture, expected) in [
        (12.0, "w", "twelve"),
        (20.0, "w", "twenty"),
        (34.0, "w", "thirty-four"),
        (99.0, "W", "NINETY-NINE"),
        (100.0, "w", "one hundred"),
        (555.0, "W", "FIVE HUNDRED AND FIFTY-FIVE"),
        (555.0, "Ww", "Five Hundred and Fifty-Five"),
        (919.0, "w", "nine hundred and nineteen"),
        (730.0, "w", "seven hundred and thirty"),
        (1000.0, "w", "one thousand"),
        (3730.0, "w", "three thousand, seven hundred and thirty"),
        (
            327730.0,
            "w",
            "three hundred and twenty-seven thousand, seven hundred and thirty",
        ),
        (
            4327730.0,
            "w",
            "four million, three hundred and twenty-seven thousand, seven hundred and thirty",
        ),
        (1000000000001.0, "w", "one trillion and one"),
        (
            1234567890123.0,
            "w",
            "one trillion, two hundred and thirty-four billion, five hundred and sixty-seven million, eight hundred and ninety thousand, one hundred and twenty-three",
        ),
        (1000000000000000.0, "w", "one thousand trillion"),
        (1e46, "w", "ten billion trillion trillion trillion"),
        (
            1234567890123456.0,
            "w",
            "one thousand, two hundred and thirty-four trillion, five hundred and sixty-seven billion, eight hundred and ninety million, one hundred and twenty-three thousand, four hundred and fifty-six",
        ),
        (12.0, "w;o", "twelfth"),
        (20.0, "w;o", "twentieth"),
        (34.0, "w;o", "thirty-fourth"),
        (99.0, "W;o", "NINETY-NINTH"),
        (100.0, "w;o", "one hundredth"),
        (555.0, "W;o", "FIVE HUNDRED AND FIFTY-FIFTH"),
        (919.0, "w;o", "nine hundred and nineteenth"),
        (730.0, "w;o", "seven hundred and thirtieth"),
        (1000.0, "w;o", "one thousandth"),
        (3731.0, "w;o", "three thousand, seven hundred and thirty-first"),
        (
            327713.0,
            "w;o",
            "three hundred and twenty-seven thousand, seven hundred and thirteenth",
        ),
        (
            4327732.0,
            "w;o",
            "four million, three hundred and twenty-seven thousand, seven hundred and thirty-second",
        ),
        (1000000000001.0, "w;o", "one trillion and first"),
    ] {
        assert_eq!(
            format_integer(value, picture).as_deref(),
            Ok(expected),
            "{value} {picture}"
        );
    }
}

// function-parseInteger/parseInteger.json
#[test]
fn parse_integer_every_numbering() {
    for (value, picture, expected) in [
        ("123", "000", 123.0),
        ("0123", "0000", 123.0),
        ("1234", "0", 1234.0),
        ("1234", "###0", 1234.0),
        ("12", "###0", 12.0),
        ("123rd", "000;o", 123.0),
        ("1st", "0;o", 1.0),
        ("28th", "#0;o", 28.0),
        ("1234th", "###0;o", 1234.0),
        ("12th", "###0;o", 12.0),
        ("١٢٣٤٠", "###١", 12340.0),
        ("１２３４０", "###０", 12340.0),
        ("12", "#,##0", 12.0),
        ("1,200", "#,##0", 1200.0),
        ("12,345,678", "#,##0", 12345678.0),
        ("1,234,567,890", "#,##0", 1234567890.0),
        ("1,234,567,890", "#,###,##0", 1234567890.0),
        ("1234:567,890", "#:###,##0", 1234567890.0),
        ("12345,67,890", "##,##,##0", 1234567890.0),
        ("", "I", 0.0),
        ("MCMLXXXIV", "I", 1984.0),
        ("xcix", "i", 99.0),
        ("twelve", "w", 12.0),
        ("thirty-four", "w", 34.0),
        ("NINETY-NINE", "W", 99.0),
        ("FIVE HUNDRED AND FIFTY-FIVE", "W", 555.0),
        ("Five Hundred and Fifty-Five", "Ww", 555.0),
        ("three thousand, seven hundred and thirty", "w", 3730.0),
        (
            "four million, three hundred and twenty-seven thousand, seven hundred and thirty",
            "w",
            4327730.0,
        ),
        ("one trillion and one", "w", 1000000000001.0),
        ("one thousand trillion", "w", 1000000000000000.0),
        ("ten billion trillion trillion trillion", "w", 1e46),
        ("twentieth", "w;o", 20.0),
        ("Seven Hundred and Thirty-Third", "Ww;o", 733.0),
        ("one thousandth", "w;o", 1000.0),
        ("one trillion and first", "w;o", 1000000000001.0),
        ("A", "A", 1.0),
        ("l", "a", 12.0),
        ("aa", "a", 27.0),
        ("FZPH", "A", 123456.0),
    ] {
        assert_eq!(parse_integer(value, picture), Ok(Some(expected)), "{value} {picture}");
    }
    assert_eq!(code(parse_integer("50", "#")), "D3130");
}

#[test]
fn parse_integer_unreadable_is_nan_as_in_javascript() {
    for (value, picture) in [("abc", "0"), ("MXQ", "I"), ("and", "w"), ("eleventy", "w")] {
        assert!(
            parse_integer(value, picture).is_ok_and(|v| v.is_some_and(f64::is_nan)),
            "{value} {picture}"
        );
    }
    // '1.200' with a regular '.' separator: jsonata-js strips commas only, parseInt stops at '.'
    assert_eq!(parse_integer("1.200", "#.##0"), Ok(Some(1.0)));
    // Characters below the picture's digit family: String.fromCodePoint throws in jsonata-js.
    assert_eq!(code(parse_integer("12", "###١")), "D1001");
}

// function-fromMillis/case000.json, case001.json; function-tomillis/case001…005
#[test]
fn iso_8601_both_ways() {
    assert_eq!(iso(1.0), "1970-01-01T00:00:00.001Z");
    assert_eq!(iso(1509380732935.0), "2017-10-30T16:25:32.935Z");
    for (timestamp, expected) in [
        ("1970-01-01T00:00:00.001Z", 1.0),
        ("2018-02-01T09:42:13.123+0000", 1517478133123.0),
        ("2017-10-30", 1509321600000.0),
        ("2017-10-30T15:28:34Z", 1509377314000.0),
        ("2018", 1514764800000.0),
    ] {
        assert_eq!(to_millis(timestamp, None), Ok(Some(expected)), "{timestamp}");
    }
}

// function-tomillis/case007…009
#[test]
fn not_iso_8601_is_d3110() {
    for timestamp in ["foo", "01-02-2018", "2018-02-03 11:15:33", "2018-01-01-01", ""] {
        assert_eq!(code(to_millis(timestamp, None)), "D3110", "{timestamp}");
    }
}

#[test]
fn date_parse_as_v8_does() {
    let parse = |t: &str| to_millis(t, None).ok().flatten();
    let nan = |t: &str| parse(t).is_some_and(f64::is_nan);
    // Offsets, and fractions read to three significant digits.
    assert_eq!(parse("2018-02-01T09:42:13.5+01:00"), Some(1517474533500.0));
    assert_eq!(parse("2018-02-01T09:42:13.123456-0130"), Some(1517483533123.0));
    assert_eq!(parse("2018-02"), Some(1517443200000.0));
    // V8 lets a day overflow into the next month and 24:00 into the next day.
    assert_eq!(parse("2019-02-30"), parse("2019-03-02"));
    assert_eq!(parse("2018-12-31T24:00:00Z"), parse("2019-01-01"));
    // Past the ISO format V8's legacy parser takes over.
    assert_eq!(parse("2018Z"), parse("2018"));
    assert_eq!(parse("2018.5"), parse("2018-05"));
    assert_eq!(parse("2018-03.15"), parse("2018-03-15"));
    for t in [
        "2018-13",
        "2018-00-01",
        "2018-25",
        "2018-01-32",
        "2018-05-10:30",
        "2018+05:00",
        "2018-13-01T00:00:00",
    ] {
        assert!(nan(t), "{t}");
    }
    for t in [
        "2018-01-01T25:00:00Z",
        "2018-01-01T24:01:00Z",
        "2018-01-01T10:00:00+25:00",
    ] {
        assert!(nan(t), "{t}");
    }
}

// function-fromMillis/formatDateTime.json
#[test]
fn format_date_time_literals_and_markers() {
    let t = 1521801216617.0;
    for (picture, expected) in [
        ("Hello", "Hello"),
        ("Year: [Y0001]", "Year: 2018"),
        ("Year: <[Y0001]>", "Year: <2018>"),
        ("Year: <[Y9,999,*]>", "Year: <2,018>"),
        ("[[Year: <[Y0001]>", "[Year: <2018>"),
        ("Year]]: <[Y0001]>", "Year]: <2018>"),
        ("[[Year]]: [[[Y0001]]]", "[Year]: [2018]"),
        ("[D#1]/[M#1]/[Y0001]", "23/3/2018"),
        ("[Y0001]-[M01]-[D01]", "2018-03-23"),
        ("[M01]/[D01]/[Y0001] at [H01]:[m01]:[s01]", "03/23/2018 at 10:33:36"),
        (
            "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z01:01t]",
            "2018-03-23T10:33:36.617Z",
        ),
        (
            "[Y]-[ M01]-[D 01]T[H01 ]:[ m   ]:[s].[f0  01][Z01:\n 01t]",
            "2018-03-23T10:33:36.617Z",
        ),
        ("[D#1,2]/[M1,2]/[Y,2]", "23/03/18"),
        ("[D#1,2]/[M1,2]/[Y0001,2]", "23/03/2018"),
        ("[D#1,2]/[M1,2]/[Y##01,2-2]", "23/03/18"),
        ("[D#1,2]/[M1,2]/[Y0001,2-2]", "23/03/18"),
        ("[D1] [M01] [YI]", "23 03 MMXVIII"),
        ("[Da] [MA] [Yi]", "w C mmxviii"),
        ("[D1o] [M01] [Y]", "23rd 03 2018"),
        ("[Yw]", "two thousand and eighteen"),
        ("[Dwo] [M01] [Y]", "twenty-third 03 2018"),
        ("[D1o] [MNn] [Y]", "23rd March 2018"),
        ("[D1o] [MN] [Y]", "23rd MARCH 2018"),
        ("[FNn], [D1o] [MNn] [Y]", "Friday, 23rd March 2018"),
        (
            "[FNn], the [Dwo] of [MNn] [Y] [E]",
            "Friday, the twenty-third of March 2018 ISO",
        ),
        ("[FNn,3-3], [D1o] [MNn,3-3] [Y] [C]", "Fri, 23rd Mar 2018 ISO"),
        ("[F], [D]/[M]/[Y] [h]:[m]:[s] [P]", "friday, 23/3/2018 10:33:36 am"),
        ("[F], [D]/[M]/[Y] [h]:[m]:[s] [PN]", "friday, 23/3/2018 10:33:36 AM"),
        ("[F], [D]/[M]/[Y] [h]:[m]:[s] [Pn]", "friday, 23/3/2018 10:33:36 am"),
    ] {
        assert_eq!(fmt(t, picture), expected, "{picture}");
    }
    assert_eq!(fmt(1522616700000.0, "[F0] [FNn]"), "7 Sunday");
    assert_eq!(fmt(1522703100000.0, "[F0] [FNn]"), "1 Monday");
    assert_eq!(
        fmt(1204405500000.0, "[F], [D]/[M]/[Y] [h]:[m]:[s] [P]"),
        "saturday, 1/3/2008 9:05:00 pm"
    );
    assert_eq!(
        fmt(1199664000000.0, "[F], [D]/[M]/[Y] [h]:[m]:[s] [P]"),
        "monday, 7/1/2008 12:00:00 am"
    );
    assert_eq!(fmt(1514808000000.0, "[dwo] day of the year"), "first day of the year");
    assert_eq!(fmt(1546257600000.0, "[d] days in [Y0001]"), "365 days in 2018");
    assert_eq!(fmt(1483185600000.0, "[d] days in [Y0001]"), "366 days in 2016");
}

// function-fromMillis/formatDateTime.json
#[test]
fn format_date_time_timezones() {
    let with = |t: f64, picture: &str, zone: &str| from_millis(t, Some(picture), Some(zone));
    let t = 1531310400000.0;
    let base = "[Y]-[M01]-[D01]T[H01]:[m]:[s]";
    assert_eq!(fmt(t, &format!("{base}[Z01:01]")), "2018-07-11T12:00:00+00:00");
    assert_eq!(fmt(t, &format!("{base}[Z01:01t]")), "2018-07-11T12:00:00Z");
    for (picture, zone, expected) in [
        ("[Z]", "-0500", "2018-07-11T07:00:00-05:00"),
        ("[Z0]", "-0500", "2018-07-11T07:00:00-5"),
        ("[Z]", "+1000", "2018-07-11T22:00:00+10:00"),
        ("[Z0]", "+1000", "2018-07-11T22:00:00+10"),
        ("[Z0]", "+0530", "2018-07-11T17:30:00+5:30"),
        ("[z]", "-0500", "2018-07-11T07:00:00GMT-05:00"),
    ] {
        assert_eq!(
            with(t, &format!("{base}{picture}"), zone).as_deref(),
            Ok(expected),
            "{picture} {zone}"
        );
    }
    let full = "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z0101t]";
    assert_eq!(
        with(1521801216617.0, full, "+0100").as_deref(),
        Ok("2018-03-23T11:33:36.617+0100")
    );
    assert_eq!(
        with(1204405500000.0, full, "+0530").as_deref(),
        Ok("2008-03-02T02:35:00.000+0530")
    );
    assert_eq!(
        with(1230757500000.0, full, "+0530").as_deref(),
        Ok("2009-01-01T02:35:00.000+0530")
    );
    let six = "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z010101t]";
    assert_eq!(code(with(1230757500000.0, six, "+0530")), "D3134");
    // ISO 8601 with a timezone; "0000" is UTC again (formatDateTime.json, the $toMillis chain).
    let t = 1540127100000.0;
    assert_eq!(
        from_millis(t, None, Some("-0500")).as_deref(),
        Ok("2018-10-21T08:05:00.000-05:00")
    );
    assert_eq!(
        from_millis(t, None, Some("0000")).as_deref(),
        Ok("2018-10-21T13:05:00.000Z")
    );
    // jsonata-js floors the hours of "-0530" and keeps the sign on the minutes: -06:30.
    assert_eq!(
        from_millis(0.0, None, Some("-0530")).as_deref(),
        Ok("1969-12-31T17:30:00.000-06:30")
    );
}

// function-fromMillis/formatDateTime.json
#[test]
fn format_date_time_weeks() {
    for (t, week) in [
        (1514808000000.0, 1.0),
        (1515326400000.0, 1.0),
        (1545739200000.0, 52.0),
        (1388577600000.0, 1.0),
        (1419854400000.0, 1.0),
        (1419768000000.0, 52.0),
        (1419336000000.0, 52.0),
        (1420113600000.0, 1.0),
        (1420459200000.0, 2.0),
        (1451304000000.0, 53.0),
        (1451563200000.0, 53.0),
        (1451736000000.0, 53.0),
    ] {
        assert_eq!(fmt(t, "Week: [W]"), format!("Week: {week}"), "{t}");
    }
    for (t, expected) in [
        (1359460800000.0, "Week: 5 of January"),
        (1359633600000.0, "Week: 5 of January"),
        (1359720000000.0, "Week: 5 of January"),
        (1514808000000.0, "Week: 1 of January"),
        (1483272000000.0, "Week: 5 of December"),
        (1533038400000.0, "Week: 1 of August"),
        (1419940800000.0, "Week: 1 of January"),
    ] {
        assert_eq!(fmt(t, "Week: [w] of [xNn]"), expected, "{t}");
    }
}

// function-fromMillis/formatDateTime.json; function-tomillis/parseDateTime.json
#[test]
fn picture_errors() {
    assert_eq!(code(from_millis(1419940800000.0, Some("[YN]-[M]-[D]"), None)), "D3133");
    assert_eq!(code(from_millis(1419940800000.0, Some("[YN]-[M"), None)), "D3135");
    assert_eq!(code(to_millis_at("2018-05-22", Some("[Y]-[M]-[q]"), NOW)), "D3132");
    assert_eq!(code(to_millis_at("2018-05-22", Some("[YN]-[M]-[D]"), NOW)), "D3133");
    assert_eq!(code(to_millis_at("2018-22", Some("[Y]-[D]"), NOW)), "D3136");
    assert_eq!(code(to_millis_at("5-22 23:59", Some("[M]-[D] [m]:[s]"), NOW)), "D3136");
    assert_eq!(code(to_millis_at("2018-3-2-5", Some("[X]-[x]-[w]-[F1]"), NOW)), "D3136");
    assert_eq!(code(to_millis_at("2018-32-5", Some("[X]-[W]-[F1]"), NOW)), "D3136");
    assert_eq!(code(from_millis(0.0, Some("[]"), None)), "D3132");
    assert_eq!(code(from_millis(0.0, Some("[fN]"), None)), "D3133");
    assert_eq!(code(from_millis(0.0, Some("[Dα]"), None)), "D3130");
    assert_eq!(code(from_millis(0.0, Some("[D0١]"), None)), "D3131");
    // An unknown component with a presentation modifier is accepted and formats as undefined.
    assert_eq!(fmt(0.0, "[q1]"), "undefined");
}

// function-tomillis/parseDateTime.json, case010…013
#[test]
fn parse_date_time_dates() {
    for (timestamp, picture, expected) in [
        ("2018", "[Y1]", 1514764800000.0),
        ("2018-03-27", "[Y1]-[M01]-[D01]", 1522108800000.0),
        (
            "2018-03-27T14:03:00.123Z",
            "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]Z",
            1522159380123.0,
        ),
        ("27th 3 1976", "[D1o] [M#1] [Y0001]", 196732800000.0),
        ("21st 12 1881", "[D1o] [M01] [Y0001]", -2777932800000.0),
        ("2nd 12 2012", "[D1o] [M01] [Y0001]", 1354406400000.0),
        ("MCMLXXXIV", "[YI]", 441763200000.0),
        ("27 03 MMXVIII", "[D1] [M01] [YI]", 1522108800000.0),
        ("27 iii MMXVIII", "[D1] [Mi] [YI]", 1522108800000.0),
        ("w C mmxviii", "[Da] [MA] [Yi]", 1521763200000.0),
        ("ae C mmxviii", "[Da] [MA] [Yi]", 1522454400000.0),
        ("27th April 2008", "[D1o] [MNn] [Y0001]", 1209254400000.0),
        ("21 August 2017", "[D1] [MNn] [Y0001]", 1503273600000.0),
        ("2 Feb 2012", "[D1] [MNn,3-3] [Y0001]", 1328140800000.0),
        ("one thousand, nine hundred and eighty-four", "[Yw]", 441763200000.0),
        ("nineteen hundred and eighty-four", "[Yw]", 441763200000.0),
        ("twenty-seven April 2008", "[Dw] [MNn] [Y0001]", 1209254400000.0),
        ("twenty-seventh April 2008", "[Dw] [MNn] [Y0001]", 1209254400000.0),
        (
            "twenty-first August two thousand and seventeen",
            "[Dw] [MNn] [Yw]",
            1503273600000.0,
        ),
        (
            "TWENTY-SECOND August two thousand and seventeen",
            "[DW] [MNn] [Yw]",
            1503360000000.0,
        ),
        (
            "Twentieth of August, two thousand and seventeen",
            "[DW] of [MNn], [Yw]",
            1503187200000.0,
        ),
        ("2018-094", "[Y0001]-[d001]", 1522800000000.0),
        ("201802", "[Y0001][M01]", 1517443200000.0),
        ("201802", "[Y,*-4][M01]", 1517443200000.0),
        ("20180205", "[Y0001][M01][D01]", 1517788800000.0),
    ] {
        assert_eq!(millis(timestamp, picture), Some(expected), "{timestamp} {picture}");
    }
    // case013: adjacent markers read exactly their width.
    assert_eq!(
        millis("20240101123849", "[Y0000][M00][D00][H00][m00][s00]"),
        to_millis("2024-01-01T12:38:49Z", None).ok().flatten()
    );
}

// function-tomillis/parseDateTime.json
#[test]
fn parse_date_time_times_and_zones() {
    for (timestamp, picture, expected) in [
        ("4/4/2018 12:06 am", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522800360000.0),
        ("4/4/2018 06:30 am", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522823400000.0),
        ("4/4/2018 12:06 pm", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522843560000.0),
        ("4/4/2018 11:30 pm", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522884600000.0),
    ] {
        assert_eq!(millis(timestamp, picture), Some(expected), "{timestamp} {picture}");
    }
    let chained = |timestamp: &str, picture: &str| millis(timestamp, picture).map(iso);
    let zone = "[Y0001]-[M01]-[D01] [H01]:[m01]:[s01]";
    for (timestamp, picture, expected) in [
        (
            "Wednesday, 14th November 2018",
            "[FNn], [D1o] [MNn] [Y]".to_string(),
            "2018-11-14T00:00:00.000Z",
        ),
        (
            "Mon, Twelfth November 2018",
            "[FNn,*-3], [DWwo] [MNn] [Y]".into(),
            "2018-11-12T00:00:00.000Z",
        ),
        ("2018--180", "[Y]--[d]".into(), "2018-06-29T00:00:00.000Z"),
        (
            "three hundred and sixty-fifth day of 2018",
            "[dwo] day of [Y]".into(),
            "2018-12-31T00:00:00.000Z",
        ),
        (
            "2020-09-09 08:00:00 +02:00",
            format!("{zone} [Z]"),
            "2020-09-09T06:00:00.000Z",
        ),
        (
            "2020-09-09 08:00:00 GMT-05:00",
            format!("{zone} [z]"),
            "2020-09-09T13:00:00.000Z",
        ),
        (
            "2020-09-09 12:00:00 +05:30",
            format!("{zone} [Z]"),
            "2020-09-09T06:30:00.000Z",
        ),
        (
            "2020-09-09 12:00:00 GMT-5",
            format!("{zone} [z01]"),
            "2020-09-09T17:00:00.000Z",
        ),
        (
            "2020-09-09 12:00:00 +0530",
            format!("{zone} [Z0001]"),
            "2020-09-09T06:30:00.000Z",
        ),
        (
            "2026-04-08T19:05:04.01987",
            "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f1]".into(),
            "2026-04-08T19:05:04.019Z",
        ),
    ] {
        assert_eq!(
            chained(timestamp, &picture).as_deref(),
            Some(expected),
            "{timestamp} {picture}"
        );
    }
    // A time alone is today (now's date) at that time.
    assert_eq!(
        millis("13:45", "[H]:[m]").map(iso).as_deref(),
        Some("2024-01-01T13:45:00.000Z")
    );
    // jsonata-js reads "-05:30" as -5 hours plus 30 minutes.
    assert_eq!(
        chained("2020-09-09 12:00:00 -05:30", &format!("{zone} [Z]")).as_deref(),
        Some("2020-09-09T16:30:00.000Z")
    );
}

// function-tomillis/parseDateTime.json
#[test]
fn parse_date_time_without_a_match_is_undefined() {
    assert_eq!(to_millis_at("Hello", Some("Hello"), NOW), Ok(None));
    assert_eq!(to_millis_at("irrelevent string", Some("[Y]-[M]-[D]"), NOW), Ok(None));
}

#[test]
fn parse_date_time_quirks_kept() {
    // Date.UTC makes a two-digit year 19xx.
    assert_eq!(
        millis("18", "[Y]").map(iso).as_deref(),
        Some("1918-01-01T00:00:00.000Z")
    );
    // A day of year cannot be followed by a time ("YD" in jsonata-js's table).
    assert_eq!(code(to_millis_at("2018-100 10", Some("[Y]-[d] [H]"), NOW)), "D3136");
    // An hour of 0 is "absent" when choosing the form, but present when filling gaps.
    assert_eq!(
        millis("2018-01-01 00:05", "[Y]-[M]-[D] [H]:[m]").map(iso).as_deref(),
        Some("2018-01-01T00:05:00.000Z")
    );
    // Case-insensitive literals and names matched by the regex but not known: undefined.
    assert_eq!(
        millis("2018t01", "[Y]T[M]").map(iso).as_deref(),
        Some("2018-01-01T00:00:00.000Z")
    );
    // (a month name in the wrong case is then missing: a gap between year and day)
    assert_eq!(code(to_millis_at("1 march 2018", Some("[D] [MNn] [Y]"), NOW)), "D3136");
    // A non-ASCII digit family cannot read the ASCII digits the regex matched.
    assert_eq!(code(to_millis_at("2018", Some("[Y١]"), NOW)), "D1001");
    // A timezone separator pasted into jsonata-js's regex: invalid, or an anchor that never holds.
    assert_eq!(code(to_millis_at("+09", Some("[z+9,]"), NOW)), "D1001");
    assert_eq!(to_millis_at("+01^00", Some("[Z01^01]"), NOW), Ok(None));
    assert_eq!(
        millis("2018 +01.30", "[Y] [Z01.01]").map(iso).as_deref(),
        Some("2017-12-31T22:30:00.000Z")
    );
}

// function-fromMillis/isoWeekDate.json
#[test]
fn iso_week_dates() {
    for (date, expected) in [
        ("2005-01-01", "2004-W53-6"),
        ("2005-01-02", "2004-W53-7"),
        ("2005-12-31", "2005-W52-6"),
        ("2006-01-01", "2005-W52-7"),
        ("2006-01-02", "2006-W01-1"),
        ("2006-12-31", "2006-W52-7"),
        ("2007-01-01", "2007-W01-1"),
        ("2007-12-30", "2007-W52-7"),
        ("2007-12-31", "2008-W01-1"),
        ("2008-01-01", "2008-W01-2"),
        ("2008-12-28", "2008-W52-7"),
        ("2008-12-29", "2009-W01-1"),
        ("2008-12-30", "2009-W01-2"),
        ("2008-12-31", "2009-W01-3"),
        ("2009-01-01", "2009-W01-4"),
        ("2009-12-31", "2009-W53-4"),
        ("2010-01-01", "2009-W53-5"),
        ("2010-01-02", "2009-W53-6"),
        ("2010-01-03", "2009-W53-7"),
    ] {
        let t = millis(date, "[Y]-[M]-[D]").unwrap_or(f64::NAN);
        assert_eq!(fmt(t, "[X0001]-W[W01]-[F1]"), expected, "{date}");
    }
}

#[test]
fn dates_outside_javascripts_range() {
    // new Date(1e20) is invalid: jsonata-js writes NaN fields (and pads the year).
    assert_eq!(iso(1e20), "0NaN-NaN-NaNTNaN:NaN:NaN.NaNZ");
    assert_eq!(fmt(1e20, "[MNn]"), "undefined");
    assert_eq!(code(from_millis(1e20, Some("[MN]"), None)), "D1001");
    assert_eq!(code(from_millis(1e20, Some("[Yw]"), None)), "D1001");
    // Years before 1000 and negative years keep their digits and sign.
    assert_eq!(iso(-62135596800000.0), "0001-01-01T00:00:00.000Z");
    assert_eq!(iso(-62198755200000.0), "-0001-01-01T00:00:00.000Z");
    // Fractional milliseconds are truncated towards zero, as new Date() does.
    assert_eq!(iso(-1.5), "1969-12-31T23:59:59.999Z");
}

#[test]
fn large_and_odd_values() {
    assert_eq!(format_integer(1e21, "0").as_deref(), Ok("1e+21"));
    assert_eq!(format_integer(-1234.5, "#,##0").as_deref(), Ok("-1,235"));
    assert_eq!(code(format_integer(f64::INFINITY, "w")), "D1001");
    assert_eq!(code(format_integer(f64::INFINITY, "a")), "D1001");
    assert_eq!(code(format_integer(1e300, "I")), "D1001");
    assert!(format_integer(1e300, "a").is_ok_and(|s| s.len() > 200));
    assert!(format_integer(1e308, "w").is_ok());
    assert_eq!(code(from_millis(0.0, Some("[Y,99999999999]"), None)), "D1001");
    assert_eq!(code(from_millis(0.0, Some(&"[Y,500000]".repeat(3)), None)), "D1001");
    // Irregular separators past the number's length: jsonata-js's substr keeps the tail only.
    assert_eq!(format_integer(12.0, "#:###,##0").as_deref(), Ok(",:12"));
    assert_eq!(format_integer(12.0, "0,").as_deref(), Ok("12,"));
    // A year width that is not a number: NaN digits.
    assert_eq!(fmt(0.0, "[Y,2-x]"), "NaN");
}

#[test]
fn js_number_to_string() {
    for (value, expected) in [
        (0.0, "0"),
        (-0.0, "0"),
        (123.0, "123"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (123.456, "123.456"),
        (1e20, "100000000000000000000"),
        (-2.5e30, "-2.5e+30"),
    ] {
        assert_eq!(js::number_to_string(value), expected);
    }
    assert_eq!(js::parse_int("  -0x1A"), -26.0);
    assert_eq!(js::parse_int("+0530"), 530.0);
    assert!(js::parse_int("x").is_nan());
}

/// Pictures and timestamps come from users: nothing may panic or hang.
#[test]
fn arbitrary_input_never_panics() {
    let atoms = [
        "[",
        "]",
        "[[",
        "]]",
        "Y",
        "M",
        "D",
        "d",
        "F",
        "W",
        "w",
        "X",
        "x",
        "H",
        "h",
        "P",
        "m",
        "s",
        "f",
        "Z",
        "z",
        "C",
        "E",
        "q",
        "0",
        "1",
        "9",
        "#",
        ",",
        ";",
        "-",
        "*",
        "o",
        "t",
        "N",
        "n",
        "w",
        "I",
        "a",
        ":",
        ".",
        "١",
        "０",
        "😀",
        " ",
        "\u{1d7ce}",
        "GMT",
        "+",
        "and",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 8) as usize;
        let text: String = (0..len)
            .map(|_| atoms[(next() % atoms.len() as u64) as usize])
            .collect();
        let picture: String = (0..len)
            .map(|_| atoms[(next() % atoms.len() as u64) as usize])
            .collect();
        let value = [0.0, 1.0, -1.0, 12.5, 1e15, -1e20, f64::NAN, 1521801216617.0][(next() % 8) as usize];
        let _ = format_integer(value, &picture);
        let _ = parse_integer(&text, &picture);
        let _ = from_millis(value, Some(&picture), Some(&text));
        let _ = to_millis_at(&text, Some(&picture), NOW);
        let _ = to_millis(&text, None);
        let bracketed = format!("[{picture}]");
        let _ = from_millis(value, Some(&bracketed), None);
        let _ = to_millis_at(&text, Some(&bracketed), NOW);
    }
}
