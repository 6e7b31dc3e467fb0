"""A table in a passage, read from markdown and cut to the rows and columns a question names."""

from __future__ import annotations

import pytest

from core.answering.quoted_tables import (
    DAY_OF_MONTH,
    MAX_ROWS,
    TIME,
    Amount,
    Extreme,
    Table,
    amounts,
    asked_kinds,
    extreme,
    holiday_amounts,
    holiday_days,
    holiday_names,
    parse,
)
from knowledge.search.coverage import content_words

PLANS = """| Plan | Price per month (monthly billing) | Price per month (annual billing) | Seats | Storage |
|---|---:|---:|---|---|
| Free | $0 | $0 | 3 | 1 GB |
| Pro | $12 | $10 | 25 | 100 GB |
| Business | $29 | $24 | Unlimited | 1 TB |""".splitlines()


def plans() -> Table:
    table = parse(PLANS)
    assert table is not None
    return table


def test_a_markdown_table_is_read_as_header_and_rows() -> None:
    assert plans() == Table(
        ("Plan", "Price per month (monthly billing)", "Price per month (annual billing)", "Seats", "Storage"),
        (
            ("Free", "$0", "$0", "3", "1 GB"),
            ("Pro", "$12", "$10", "25", "100 GB"),
            ("Business", "$29", "$24", "Unlimited", "1 TB"),
        ),
    )


@pytest.mark.parametrize(
    "lines",
    [
        ["| Plan | Price |", "| Free | $0 |", "| Pro | $12 |"],  # no delimiter row
        ["| Plan | Price |", "|---|---|"],  # too short
        ["| Plan | Price |", "|---|---|", "|  |  |"],  # no row with anything in it
    ],
)
def test_lines_that_are_not_a_table_are_none(lines: list[str]) -> None:
    assert parse(lines) is None


def test_an_escaped_pipe_stays_inside_its_cell() -> None:
    table = parse([r"| Shortcut | Meaning |", "|---|---|", r"| a \| b | a or b |"])
    assert table == Table(("Shortcut", "Meaning"), ((r"a \| b", "a or b"),))


def test_ragged_rows_are_padded_or_cut_to_the_header() -> None:
    table = parse(["| Plan | Price | Seats |", "|---|---|---|", "| Free |", "| Pro | $12 | 25 | extra |"])
    assert table == Table(("Plan", "Price", "Seats"), (("Free", "", ""), ("Pro", "$12", "25")))


def test_the_question_picks_its_row_by_name() -> None:
    narrowed = plans().narrowed(content_words("business plan"))
    assert narrowed.rows == (("Business", "$29", "$24", "Unlimited", "1 TB"),)
    assert narrowed.header == plans().header  # no header word named: every column


def test_the_question_picks_the_columns_its_words_name() -> None:
    narrowed = plans().narrowed(content_words("How much is the Business plan per month?"))
    assert narrowed == Table(
        ("Plan", "Price per month (monthly billing)", "Price per month (annual billing)"), (("Business", "$29", "$24"),)
    )


SWIMS = Table(
    ("Day", "Start", "End", "Session", "Pool"),
    (
        ("Monday", "06:30", "09:00", "Early lane swim", "Main pool"),
        ("Tuesday", "06:30", "09:00", "Early lane swim", "Main pool"),
        ("Tuesday", "19:00", "21:30", "Swimming club", "Main pool"),
    ),
)


def test_a_question_asking_when_keeps_the_columns_of_times() -> None:
    question = "want to swim lengths before work on tuesday, what time can i get in the pool"
    narrowed = SWIMS.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert narrowed.header == ("Day", "Start", "End", "Pool")  # "pool" names a column, "what time" two more
    assert narrowed.rows == (("Tuesday", "06:30", "09:00", "Main pool"), ("Tuesday", "19:00", "21:30", "Main pool"))


def test_a_question_asking_how_much_keeps_the_columns_of_prices_unless_it_names_one() -> None:
    table = Table(
        ("Membership", "Adult", "Junior", "Pool"),
        (("Swim only", "£21.00", "£9.50", "Main pool"), ("Lessons", "£30.00", "£25.00", "Learner pool")),
    )
    for question, header in (
        ("how much is it to swim in the main pool?", ("Membership", "Adult", "Junior", "Pool")),
        ("how much is swim only for a junior?", ("Membership", "Junior")),
    ):
        narrowed = table.narrowed(content_words(question), amounts(question), asked_kinds(question))
        assert narrowed.header == header, question


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("what time do you open on sunday", {"time"}),
        ("How much is the Business plan?", {"price"}),
        ("is there anything cheaper for students", {"price"}),
        ("How much storage do Pro and Business get?", set()),  # an amount, not a price
        ("can I bring my dog", set()),
        ("what are the opening times of the main pool on tuesday", {"time"}),
        ("how do I close my account", set()),
        ("are there any charges for cancelling?", {"price"}),
    ],
)
def test_the_kinds_of_value_a_question_asks_for(question: str, kinds: set[str]) -> None:
    assert asked_kinds(question) == kinds


@pytest.mark.parametrize(
    ("cell", "question", "kept"),
    [
        ("£21.00", "how much is it in the main pool?", True),
        ("21,00 €", "how much is it in the main pool?", True),
        ("EUR 12", "how much is it in the main pool?", True),
        ("9.30am", "when can I swim in the main pool?", True),
        ("21.00", "when can I swim in the main pool?", False),  # as often a price or a number
        ("21.00", "how much is it in the main pool?", False),
    ],
)
def test_a_cell_is_a_price_or_a_time_by_its_currency_or_clock(cell: str, question: str, kept: bool) -> None:
    table = Table(("Session", "Value", "Pool"), (("Lanes", cell, "Main pool"),))
    header = table.narrowed(content_words(question), amounts(question), asked_kinds(question)).header
    assert header == (("Session", "Value", "Pool") if kept else ("Session", "Pool"))


def test_a_word_in_every_row_picks_no_row() -> None:
    table = Table(("Plan", "Price"), (("Free plan", "$0"), ("Pro plan", "$12"), ("Business plan", "$29")))
    assert table.narrowed(content_words("plan")) == table


def test_a_table_the_question_picks_nothing_from_is_cut_at_max_rows() -> None:
    table = Table(("Region", "Data centre"), tuple((f"R{i}", f"DC{i}") for i in range(MAX_ROWS + 3)))
    assert table.narrowed(content_words("where is my data stored")).rows == table.rows[:MAX_ROWS]


def test_markdown_round_trips() -> None:
    table = Table(("Shortcut", "Meaning"), ((r"a \| b", "a or b"), ("Ctrl+K", "")))
    assert table.markdown() == "| Shortcut | Meaning |\n| --- | --- |\n| a \\| b | a or b |\n| Ctrl+K |  |"
    assert parse(table.markdown().split("\n")) == table
    assert parse(plans().markdown().split("\n")) == plans()


BOARDING = """| Size | Weight | Price per night |
| --- | --- | --- |
| Small | under 10 kg | £18 |
| Medium | 10 to 20 kg | £24 |
| Large | over 20 kg | £30 |""".splitlines()


@pytest.mark.parametrize(
    ("question", "size"),
    [
        ("My dog weighs 25 kg, how much is a night?", "Large"),
        ("how much per night for a 7kg terrier?", "Small"),
        ("She is 12.5 kg. Price per night?", "Medium"),
    ],
)
def test_a_number_picks_the_row_whose_range_holds_it_and_shows_the_range(question: str, size: str) -> None:
    table = parse(BOARDING)
    assert table is not None
    narrowed = table.narrowed(content_words(question), amounts(question))
    assert narrowed.header == ("Size", "Weight", "Price per night")
    assert [row[0] for row in narrowed.rows] == [size]


def test_a_number_in_another_unit_picks_no_row() -> None:
    table = parse(BOARDING)
    assert table is not None
    question = "I have 2 dogs, how much per night?"
    assert len(table.narrowed(content_words(question), amounts(question)).rows) == 3


@pytest.mark.parametrize(("question", "rate"), [("I'm 67, which rate?", "Senior"), ("my son is 17 years old", "Youth")])
def test_an_age_picks_its_band(question: str, rate: str) -> None:
    table = parse(
        [
            "| Rate | Age | Price |",
            "| --- | --- | --- |",
            "| Youth | 16 to 24 | £5 |",
            "| Adult | 25 to 64 | £9 |",
            "| Senior | 65 and over | £5 |",
        ]
    )
    assert table is not None
    assert [row[0] for row in table.narrowed(content_words(question), amounts(question)).rows] == [rate]


def test_a_number_between_two_bounds_picks_its_row() -> None:
    table = parse(
        [
            "| When you cancel | What we refund |",
            "| --- | --- |",
            "| More than 48 hours before departure | The full fare less a £5 fee |",
            "| Between 48 hours and 4 hours before departure | 50% of the fare |",
            "| Less than 4 hours before departure | Nothing |",
        ]
    )
    assert table is not None
    question = "We sail in 20 hours. What do I get back if I cancel?"
    assert [row[1] for row in table.narrowed(content_words(question), amounts(question)).rows] == ["50% of the fare"]


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("need to cancel tomorrow, its about 30 hrs away now, whats the fee", "£25"),
        ("we fly in 2 hrs, can i still cancel?", "£45"),
        ("i have to cancel and it's 50 hours away, is there a charge?", "Free"),
        ("if i cancel 3 weeks before, is there a charge?", "Free"),
        ("we arrive in 1.5 days, can i still cancel?", "£25"),
        ("its 90 minutes away, can i cancel?", "£45"),
    ],
)
def test_a_unit_written_another_way_or_another_unit_of_time_is_the_same(question: str, kept: str) -> None:
    table = parse(
        [
            "| How much notice you give | Charge |",
            "| --- | --- |",
            "| More than 48 hours before your visit | Free |",
            "| Between 48 and 24 hours before | £25 |",
            "| Less than 24 hours before | £45 |",
        ]
    )
    assert table is not None
    rows = table.narrowed(content_words(question), amounts(question)).rows
    assert [row[1] for row in rows] == [kept]


def test_weeks_are_read_against_a_range_of_days() -> None:
    table = parse(
        [
            "| When you cancel | What you get back |",
            "| --- | --- |",
            "| More than 42 days before arrival | Everything except the deposit |",
            "| Between 42 and 14 days before arrival | 50% of the total cost |",
            "| Fewer than 14 days before arrival | Nothing |",
        ]
    )
    assert table is not None
    question = "if i cancel 3 weeks before we're due do i get anything back"
    assert table.narrowed(content_words(question), amounts(question)).rows == (
        ("Between 42 and 14 days before arrival", "50% of the total cost"),
    )


VEHICLES = """| Vehicle length | Single | Return |
| --- | --- | --- |
| Up to 4.5 m | £26.00 | £44.00 |
| Over 4.5 m and up to 6 m | £39.00 | £66.00 |
| Over 6 m and up to 10 m | £61.00 | £104.00 |""".splitlines()


@pytest.mark.parametrize(
    ("question", "row"),
    [
        ("our car is about 5 metres long, what does a return cost?", "Over 4.5 m and up to 6 m"),
        ("how much for a 9 metre motorhome?", "Over 6 m and up to 10 m"),
        ("a 4m hatchback, single please", "Up to 4.5 m"),
    ],
)
def test_a_cell_with_a_lower_and_an_upper_bound_holds_only_what_lies_between(question: str, row: str) -> None:
    table = parse(VEHICLES)
    assert table is not None
    assert [r[0] for r in table.narrowed(content_words(question), amounts(question)).rows] == [row]


def test_a_number_in_a_row_s_own_range_names_no_row() -> None:
    """ "Room 1 (sleeps up to 2)" holds a 2 that bounds it: "room 2" is Room 2 alone."""
    table = parse(
        [
            "| Room | Per night |",
            "| --- | --- |",
            "| Room 1 (sleeps up to 2) | £60 |",
            "| Room 2 (sleeps up to 4) | £80 |",
            "| Room 3 (sleeps up to 6) | £95 |",
        ]
    )
    assert table is not None
    question = "how much is room 2 per night?"
    assert [row[0] for row in table.narrowed(content_words(question), amounts(question)).rows] == [
        "Room 2 (sleeps up to 4)"
    ]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("ones 6 and ones 2", [Amount(6.0, ""), Amount(2.0, "")]),
        ("she turns 12 this year", [Amount(12.0, "year")]),
        ("a 1,000 kg trailer", [Amount(1000.0, "kg")]),
        ("3 lbs", [Amount(3.0, "lb")]),
        ("on the 15th of August", [Amount(15.0, "august")]),
        ("Dec 29th or Dec 30", [Amount(29.0, "december"), Amount(30.0, "december")]),
        ("sort a bill on the 29th", [Amount(29.0, DAY_OF_MONTH)]),
        ("in may 3 of us are coming", [Amount(3.0, "")]),
        ("in march 3 of us are coming", [Amount(3.0, "")]),
        ("on the 2nd floor", [Amount(2.0, "nd")]),
        ("a 1st class ticket for my 17th birthday", [Amount(1.0, "st"), Amount(17.0, "th")]),
        ("the 29th and the 30th", [Amount(29.0, DAY_OF_MONTH), Amount(30.0, DAY_OF_MONTH)]),
        ("is the 29th free? Dec 30th.", [Amount(29.0, DAY_OF_MONTH), Amount(30.0, "december")]),
        ("I'm 67", [Amount(67.0, "year")]),
        ("kids aged 3 and 13", [Amount(3.0, "year"), Amount(13.0, "year")]),
        ("a 70-year-old", [Amount(70.0, "year")]),
        ("my boiler is 12 yrs old", [Amount(12.0, "year")]),
    ],
)
def test_the_amounts_of_a_question_and_their_units(question: str, expected: list[Amount]) -> None:
    assert amounts(question) == expected


@pytest.mark.parametrize(
    ("cell", "question", "held"),
    [
        ("Children under 4 go free", "my son is 3", True),
        ("42 to 15 days before", "we cancel 20 days before", True),
        ("At least 2 people, up to 6 hours", "we are 10 people", True),
        ("At least 2 people, up to 6 hours", "for 5 hours", True),
        ("10am-2pm", "at 11am", False),
        ("Up to 2,000 kg", "a 1,500 kg trailer", True),
        ("10 to 15 years", "my boiler is 12 yrs, can it join?", True),
        ("10 to 15 years", "my boiler is 17 yrs, can it join?", False),
        ("27 to 31 December", "are you open on the 29th", True),
        ("27 to 31 December", "are you open on 29 Dec", True),
        ("27 to 31 December", "are you open on the 29th of January", False),
        ("27 to 31 December", "we are 29 people", False),
    ],
)
def test_a_cell_s_range_holds_a_number(cell: str, question: str, held: bool) -> None:
    table = parse(["| Band | Price |", "| --- | --- |", f"| {cell} | £1 |", "| Other | £2 |"])
    assert table is not None
    rows = table.narrowed(content_words(question), amounts(question)).rows
    assert (rows == ((cell, "£1"),)) is held


def test_a_range_holding_the_number_outweighs_a_word_the_other_rows_share() -> None:
    table = parse(
        [
            "| When you cancel | What you get back |",
            "| --- | --- |",
            "| More than 42 days before arrival | Everything except the deposit |",
            "| Between 42 and 14 days before arrival | 50% of the total cost |",
            "| Fewer than 14 days | Nothing |",
        ]
    )
    assert table is not None
    question = "if i cancel 10 days before arrival do i get anything back"
    assert table.narrowed(content_words(question), amounts(question)).rows == (("Fewer than 14 days", "Nothing"),)


def test_of_the_rows_a_question_names_the_one_whose_range_holds_its_number_wins() -> None:
    table = parse(
        [
            "| Job | Price |",
            "| --- | --- |",
            "| Annual boiler service | £89 |",
            "| Replace a radiator valve | £58 |",
            "| Power flush, up to 8 radiators | £395 |",
            "| Power flush, 9 to 14 radiators | £475 |",
            "| Power flush, 15 to 20 radiators | £565 |",
        ]
    )
    assert table is not None
    question = (
        "my heating has 17 radiators and the engineer who serviced the boiler says it needs a power flush. price?"
    )
    assert table.narrowed(content_words(question), amounts(question)).rows == (
        ("Power flush, 15 to 20 radiators", "£565"),
    )
    for question, row in [
        ("how much is an annual boiler service? the house has 12 radiators", "Annual boiler service"),
        ("how much to replace a radiator valve? we have 10 radiators", "Replace a radiator valve"),
    ]:
        assert [r[0] for r in table.narrowed(content_words(question), amounts(question)).rows] == [row]


@pytest.mark.parametrize(
    ("question", "wanted", "row"),
    [
        ("how much is your cheapest unit a week?", Extreme.LOWEST, "Locker"),
        ("what's the lowest price per month", Extreme.LOWEST, "Locker"),
        ("what is the most expensive unit per month", Extreme.HIGHEST, "Large"),
    ],
)
def test_a_question_for_the_lowest_or_highest_price_picks_its_row(question: str, wanted: Extreme, row: str) -> None:
    table = parse(
        [
            "| Unit | Size | Per week | Per month |",
            "| --- | --- | --- | --- |",
            "| Small | 25 sq ft | £9.00 | £36.00 |",
            "| Locker | 10 sq ft | £6.50 | £26.00 |",
            "| Large | 100 sq ft | £30.00 | £1,200.00 |",
        ]
    )
    assert table is not None
    assert extreme(question) is wanted
    narrowed = table.narrowed(content_words(question), amounts(question), asked_kinds(question), extreme=wanted)
    assert [r[0] for r in narrowed.rows] == [row]


def test_a_row_the_question_names_wins_over_the_cheapest() -> None:
    question = "how much is the cheapest pro plan"
    narrowed = plans().narrowed(content_words(question), extreme=extreme(question))
    assert [r[0] for r in narrowed.rows] == ["Pro"]


def test_a_question_for_both_the_cheapest_and_the_dearest_picks_neither() -> None:
    assert extreme("which is the cheapest and which the most expensive?") is None


def test_the_extreme_is_read_in_the_price_column_the_question_names_and_ties_keep_every_row() -> None:
    table = parse(
        [
            "| Unit | Per week | Per month |",
            "| --- | --- | --- |",
            "| Locker | £6.50 | £30.00 |",
            "| Small | £7.00 | £26.00 |",
            "| Medium | £9.00 | £26.00 |",
        ]
    )
    assert table is not None
    for question, rows in (("cheapest a week?", ["Locker"]), ("cheapest per month?", ["Small", "Medium"])):
        narrowed = table.narrowed(content_words(question), extreme=extreme(question))
        assert [r[0] for r in narrowed.rows] == rows, question


@pytest.mark.parametrize(("cell", "price"), [("9,50 €", 9.5), ("EUR 12", 12.0), ("1,200 €", 1200.0), ("Free", 0.0)])
def test_the_cheapest_row_reads_prices_as_written(cell: str, price: float) -> None:
    table = parse(["| Plan | Price |", "| --- | --- |", f"| A | {cell} |", "| B | £10.50 |", "| C | £1.00 |"])
    assert table is not None
    expected = "A" if price < 1.0 else "C"
    assert [r[0] for r in table.narrowed(set(), extreme=Extreme.LOWEST).rows] == [expected]
    assert [r[0] for r in table.narrowed(set(), extreme=Extreme.HIGHEST).rows] == ["A" if price > 10.5 else "B"]


def test_a_time_range_is_no_range_of_numbers() -> None:
    table = parse(["| Session | When |", "| --- | --- |", "| Morning | 7am-10am |", "| Lunch | 10am-2pm |"])
    assert table is not None
    assert (
        len(table.narrowed(content_words("is there a session at 8pm?"), amounts("is there a session at 8pm?")).rows)
        == 2
    )


def test_a_column_whose_header_names_the_currency_is_read_as_prices() -> None:
    table = parse(
        [
            "| Plan | Monthly billing (USD per seat per month) | Annual billing (USD per seat per month) |",
            "| --- | --- | --- |",
            "| Free | 0 | 0 |",
            "| Starter | 10 | 8 |",
            "| Business | 20 | 16 |",
            "| Enterprise | Annual contract only | From 30 (minimum 50 seats) |",
        ]
    )
    assert table is not None
    assert [r[0] for r in table.narrowed(set(), extreme=Extreme.LOWEST).rows] == ["Free"]
    assert [r[0] for r in table.narrowed(set(), extreme=Extreme.HIGHEST).rows] == ["Business"]


def test_what_is_no_amount_is_no_price() -> None:
    table = parse(["| Version | Price |", "| --- | --- |", "| a | £1.2.3 |", "| b | £4 |", "| c | £2 |"])
    assert table is not None
    assert [r[0] for r in table.narrowed(set(), extreme=Extreme.LOWEST).rows] == ["c"]


HOURS = Table(
    ("library", "day", "opens", "closes", "notes"),
    (
        ("Central Library", "Wednesday", "09:00", "17:00", ""),
        ("Central Library", "Thursday", "09:00", "20:00", "Late opening until 8pm"),
        ("Central Library", "Friday", "09:00", "17:00", ""),
        ("Northgate Library", "Thursday", "10:00", "17:00", ""),
    ),
)


def test_of_the_rows_a_first_cell_picks_the_question_s_other_words_pick_one() -> None:
    """ "central" picks three rows by their first cell, "thursdays" the one of them it means; the
    day that picked it shows, the closing time comes with the opening time the question's "open"
    names (a start and an end), and so does the note that holds "late"."""
    question = "is central library open late on thursdays? what time does it shut"
    narrowed = HOURS.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert narrowed.header == ("library", "day", "opens", "closes", "notes")
    assert narrowed.rows == (("Central Library", "Thursday", "09:00", "20:00", "Late opening until 8pm"),)


def test_a_word_that_names_a_column_picks_no_row() -> None:
    """ "open" asks for the opens column; that the Thursday note says "Late opening" does not make
    Thursday the day asked about. The rows, alike by their first cell, keep the column that tells
    them apart."""
    question = "when is the central library open"
    narrowed = HOURS.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert narrowed.header == ("library", "day", "opens", "closes")
    assert [row[1] for row in narrowed.rows] == ["Wednesday", "Thursday", "Friday"]


SURGERIES = Table(
    ("Surgery", "Day", "Reception opens", "Notes"),
    (
        ("Chandlers Row (Porthaven)", "Friday", "08:00", "Phone lines close at 16:30 on Fridays"),
        ("Chandlers Row (Porthaven)", "Saturday", "09:00", "Open on the first and third Saturday of each month only"),
        ("Chandlers Row (Porthaven)", "Sunday", "Closed", ""),
        ("Fennick Green", "Saturday", "08:30", "Open every Saturday; book early as Saturdays fill 4 to 6 weeks ahead"),
        ("Both surgeries", "Bank holidays", "Closed", "Both surgeries are closed on all bank holidays"),
        ("Both surgeries", "Christmas Eve", "08:00", ""),
        ("Saturday flu clinic (Fennick Green)", "Saturday", "08:00", "October and November only"),
    ),
)


def test_a_row_named_by_a_rarer_word_loses_to_one_its_other_cells_pick_too() -> None:
    """ "surgery" names the two "Both surgeries" rows, "porthaven" three: the rarer word alone
    picked the bank holidays. The Porthaven row whose day the question names holds more of it,
    and the cells that picked it show, its day and its note ("saturday"). The flu clinic's name
    holds "saturday" but not "porthaven": no one named row holds both, so Porthaven's Saturday
    still counts."""
    question = "are you open saturdays at the porthaven surgery"
    narrowed = SURGERIES.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert narrowed.header == ("Surgery", "Day", "Reception opens", "Notes")
    assert narrowed.rows == (
        ("Chandlers Row (Porthaven)", "Saturday", "09:00", "Open on the first and third Saturday of each month only"),
    )


LESSONS = Table(
    ("Package", "What you get", "Manual", "Automatic"),
    (
        ("First lesson offer", "Your first 2-hour lesson with us", "£55", "£60"),
        ("1-hour lesson", "One 60-minute lesson", "£38", "£42"),
        ("2-hour lesson", "One 120-minute lesson", "£74", "£82"),
        ("90-minute lesson", "One 90-minute lesson", "£56", "£62"),
        ("Block of 5 hours", "5 hours of lessons of any length", "£180", "£200"),
        ("Motorway lesson", "2 hours on the A41 and the M40", "£84", "£92"),
        ("Refresher lesson", "A 2-hour lesson for licence holders", "£78", "£86"),
    ),
)


def test_a_word_that_names_rows_does_not_pick_a_row_that_only_mentions_it() -> None:
    """ "hour" and "lesson" both name the 1-hour lesson; the motorway lesson, the first lesson
    offer and the refresher have "lesson" in their names and only mention hours in passing. They
    outweighed it, each with a word of its name and one of its other cells. The 2-hour lesson's
    name holds both words too, so it shows beside it."""
    question = "how much is an hour lesson in an auto"
    narrowed = LESSONS.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert [row[0] for row in narrowed.rows] == ["1-hour lesson", "2-hour lesson"]
    assert "£42" in narrowed.markdown()


def test_the_remarks_of_a_few_rows_come_with_them_the_values_of_a_column_do_not() -> None:
    """The question names the Wednesday column: the pool's two rows keep their notes (a remark
    that says when it is closed, holding "wednesday") but not the column of places, though its
    "Open-air terrace" holds "open": a short name in every row is no remark."""
    pool = Table(
        ("facility", "where", "season", "Tuesday", "Wednesday", "Thursday", "notes"),
        (
            ("Indoor pool", "Open-air terrace", "Main season", "07:00-21:00", "07:00-21:00", "07:00-21:00", ""),
            (
                "Indoor pool",
                "Open-air terrace",
                "Low season",
                "10:00-18:00",
                "Closed",
                "10:00-18:00",
                "Closed every Wednesday in low season for cleaning and repairs.",
            ),
            ("Site shop", "Next to reception", "Main season", "07:30-21:00", "07:30-21:00", "07:30-21:00", ""),
        ),
    )
    question = "is the pool open wednesdays? we're coming in april"
    narrowed = pool.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert narrowed.header == ("facility", "season", "Wednesday", "notes")
    assert narrowed.rows[1] == (
        "Indoor pool",
        "Low season",
        "Closed",
        "Closed every Wednesday in low season for cleaning and repairs.",
    )


def test_a_remark_that_only_repeats_the_row_s_name_stays_out() -> None:
    """ "Indoor pool" picks the rows; a note that says nothing of the question but the pool's
    name is not brought beside the times asked for."""
    pool = Table(
        ("facility", "Tuesday", "Wednesday", "Thursday", "notes"),
        (
            (
                "Indoor pool",
                "07:00-21:00",
                "07:00-21:00",
                "07:00-21:00",
                "The indoor pool is heated to 29 degrees all year.",
            ),
            ("Site shop", "07:30-21:00", "07:30-21:00", "07:30-21:00", "Groceries, fresh bread and milk from eight."),
        ),
    )
    question = "is the indoor pool open on wednesday"
    narrowed = pool.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert narrowed.header == ("facility", "Wednesday")


@pytest.mark.parametrize(
    "question", ["what time does it shut", "does the tip close early on sundays", "are you open on sunday"]
)
def test_a_question_for_opening_or_closing_asks_for_a_time(question: str) -> None:
    assert asked_kinds(question) == {"time"}


def test_a_time_of_day_is_a_clock_time_not_a_price_or_a_version() -> None:
    assert all(TIME.search(text) for text in ("06:30", "from 7pm", "9.30am", "at noon"))
    assert not any(TIME.search(text) for text in ("£5.00", "21.00", "Version 2.10"))


def test_a_word_that_names_another_row_alone_still_picks_by_its_cells() -> None:
    """ "saturday" names the family-fun row, yet the public swim's Saturday row is the one the
    question's words pick together: one named row must hold them all for them to stop counting."""
    table = Table(
        ("Session", "Day", "Start"),
        (
            ("Public swim", "Monday", "07:00"),
            ("Public swim", "Saturday", "08:00"),
            ("Saturday family fun", "Saturday", "13:00"),
        ),
    )
    question = "when can I swim on saturday"
    narrowed = table.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert [row[:2] for row in narrowed.rows] == [("Public swim", "Saturday")]


CHRISTMAS_HOURS = Table(
    ("Day", "Office and phone lines", "Engineer visits"),
    (
        ("Saturday", "9am to 1pm", "8am to 4pm"),
        ("Christmas Eve (24 December)", "8am to 12 noon", "8am to 12 noon then emergencies only"),
        ("Christmas Day, Boxing Day and New Year's Day", "Closed", "Emergencies only"),
        ("27 to 31 December (weekdays)", "9am to 4pm", "8am to 4pm"),
    ),
)


@pytest.mark.parametrize("question", ["is the office open on the 29th?", "is the office open on Dec 29?"])
def test_a_date_picks_the_row_whose_days_of_its_month_hold_it(question: str) -> None:
    """docs/answering.md: a day of the month is held by a range of that month's days."""
    narrowed = CHRISTMAS_HOURS.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert [row[:2] for row in narrowed.rows] == [("27 to 31 December (weekdays)", "9am to 4pm")]


def test_a_date_of_another_month_picks_no_range_of_days() -> None:
    question = "is the office open on the 29th of January?"
    narrowed = CHRISTMAS_HOURS.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert narrowed.rows == CHRISTMAS_HOURS.rows


NEW_YEAR_HOURS = Table(
    ("Day", "Office"),
    (
        ("Christmas Eve (24 December)", "9am to 12 noon"),
        ("Christmas Day and Boxing Day", "Closed"),
        ("27 December to 2 January", "10am to 2pm"),
        ("From 3 January", "9am to 5pm"),
    ),
)


@pytest.mark.parametrize(
    ("question", "row"),
    [
        ("is the office open on the 29th?", "27 December to 2 January"),
        ("are you open on Jan 1?", "27 December to 2 January"),
        ("are you open on the 10th of January?", "From 3 January"),
    ],
)
def test_a_range_across_two_months_holds_the_days_of_each_and_an_open_one_no_day_of_no_month(
    question: str, row: str
) -> None:
    """ "From 3 January" is days 3 and up of January, not of every month: "the 29th" is the
    span from 27 December to 2 January."""
    narrowed = NEW_YEAR_HOURS.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert [r[0] for r in narrowed.rows] == [row]


TICKETS = Table(
    ("Ticket", "Price"),
    (
        ("Adult (16 years and over)", "£10"),
        ("Child (5 to 15 years)", "£5"),
        ("Under 5 years", "Free"),
        ("Senior", "£7"),
    ),
)


@pytest.mark.parametrize(
    ("question", "rows"),
    [
        ("how much is it for 4?", [row[0] for row in TICKETS.rows]),
        ("we are a group of 12, how much are tickets", [row[0] for row in TICKETS.rows]),
        ("how much for my son, he is 12 years old", ["Child (5 to 15 years)"]),
        ("I'm 67, what's the price?", ["Adult (16 years and over)"]),
        ("how much for my son, aged 12?", ["Child (5 to 15 years)"]),
    ],
)
def test_a_bare_number_is_no_age_a_number_of_years_is(question: str, rows: list[str]) -> None:
    narrowed = TICKETS.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert [r[0] for r in narrowed.rows] == rows


def test_an_ordinal_before_a_word_is_no_date() -> None:
    seasons = Table(
        ("Season", "Dates", "Price"),
        (("Peak", "15 July to 31 August", "£40"), ("Shoulder", "1 to 14 July", "£30")),
    )
    question = "how much is a 1st class ticket for my 17th birthday"
    narrowed = seasons.narrowed(content_words(question), amounts(question), asked_kinds(question))
    assert [r[0] for r in narrowed.rows] == ["Peak", "Shoulder"]


def narrowed_for(table: Table, question: str, told: str = "") -> Table:
    """The table as a reply quotes it (`OfflineResponder._quote`): the question's words, its
    numbers and holidays' days and the numbers `told` beside it with a unit, the kinds of value
    it asks for and the holidays it names."""
    given = amounts(question) + holiday_amounts(question) + [a for a in amounts(told) if a.measured]
    return table.narrowed(content_words(question), given, asked_kinds(question), holidays=holiday_names(question))


@pytest.mark.parametrize(
    ("question", "told", "row"),
    [
        ("are you open on the 26th?", "", "Christmas Day, Boxing Day and New Year's Day"),
        ("are you open on the 24th?", "", "Christmas Eve (24 December)"),
        (
            "is your office open between christmas and new year?",
            "I want to come in and sort a bill on the 29th.",
            "27 to 31 December (weekdays)",
        ),
    ],
)
def test_a_holiday_of_a_fixed_date_is_its_day(question: str, told: str, row: str) -> None:
    """docs/answering.md: "Boxing Day" is 26 December, so "the 26th" picks its row, and a date
    said beside the question ("…on the 29th") picks the row whose days hold it over the rows the
    question's holiday names name."""
    assert [r[0] for r in narrowed_for(CHRISTMAS_HOURS, question, told).rows] == [row]


BRANCH_HOURS = Table(
    ("Day", "Calderbrook branch", "Airport desk", "Bookings phone line", "Notes"),
    (
        ("Saturday", "8am to 4pm", "6am to 11pm", "9am to 5pm", ""),
        (
            "Sunday",
            "10am to 2pm (returns only)",
            "7am to 10pm",
            "10am to 4pm",
            "Calderbrook is open on Sundays for returns only.",
        ),
        ("Easter Sunday", "Closed", "7am to 10pm", "Closed", ""),
        ("Friday", "7.30am to 7pm", "6am to 11.30pm", "8am to 8pm", ""),
        (
            "Bank holidays",
            "Closed",
            "7am to 10pm",
            "10am to 4pm",
            "Except Good Friday, when Calderbrook opens from 9am to 1pm.",
        ),
        ("Key drop box (Calderbrook branch door)", "Open 24 hours", "", "", "For returns out of hours."),
    ),
)


def test_a_word_that_names_a_column_names_no_row_while_the_others_name_one() -> None:
    """ "Calderbrook" asks for the Calderbrook column; the day is the row, not the key drop box
    whose name also says Calderbrook."""
    narrowed = narrowed_for(BRANCH_HOURS, "Is the Calderbrook office open on a Sunday?")
    assert narrowed.header == ("Day", "Calderbrook branch", "Notes")
    assert narrowed.rows == (
        ("Sunday", "10am to 2pm (returns only)", "Calderbrook is open on Sundays for returns only."),
    )


def test_a_word_that_names_a_column_tells_apart_the_rows_the_other_words_name() -> None:
    """docs/answering.md: "adult" asks for the Adult column and, of the three swims, for the
    Adult swim."""
    prices = Table(
        ("Item", "Adult", "Child"),
        (
            ("Adult swim", "£5", "£3"),
            ("Child swim", "£4", "£2.50"),
            ("Family swim", "£14", "£14"),
            ("Sauna", "£6", "-"),
        ),
    )
    narrowed = narrowed_for(prices, "what does a swim cost for an adult")
    assert narrowed.header == ("Item", "Adult")
    assert narrowed.rows == (("Adult swim", "£5"),)


def test_a_word_that_names_a_column_still_names_a_row_when_no_other_word_does() -> None:
    narrowed = narrowed_for(BRANCH_HOURS, "where is the calderbrook key drop?")
    assert [row[0] for row in narrowed.rows] == ["Key drop box (Calderbrook branch door)"]


@pytest.mark.parametrize("question", ["are you open good friday", "is the calderbrook branch open on good friday?"])
def test_a_holiday_the_question_names_picks_the_row_that_holds_it(question: str) -> None:
    """ "Good Friday" is in the bank holidays' note, not the Friday row, whose name holds only
    "friday"; the note that picked the row comes with it, beside the column asked for."""
    narrowed = narrowed_for(BRANCH_HOURS, question)
    assert [row[0] for row in narrowed.rows] == ["Bank holidays"]
    assert "Except Good Friday, when Calderbrook opens from 9am to 1pm." in narrowed.rows[0]
    assert [row[0] for row in narrowed_for(BRANCH_HOURS, "are you open on friday").rows] == ["Friday"]


@pytest.mark.parametrize(
    ("question", "row"),
    [
        ("are you open sunday mornings?", "Sunday"),
        ("is the market street shop open on saturday?", "Saturday"),
        ("are you open on good friday?", "Good Friday"),
    ],
)
def test_words_another_row_s_note_holds_take_no_row_s_name(question: str, row: str) -> None:
    """Only a holiday is read as a name in a note, and only when no row is named by it: "Sunday
    Mornings" and "Market Street" in the notes, and "Good Friday" in Thursday's, leave each day
    its row."""
    hours = Table(
        ("Day", "Opens", "Closes", "Notes"),
        (
            ("Thursday", "9am", "5pm", "We close at 3pm on the Thursday before Good Friday."),
            ("Saturday", "9am", "1pm", "We also open Sunday Mornings in December for collections."),
            ("Sunday", "Closed", "Closed", "Our Market Street shop opens on Sundays."),
            ("Friday", "9am", "5pm", ""),
            ("Good Friday", "10am", "2pm", ""),
        ),
    )
    assert [r[0] for r in narrowed_for(hours, question).rows] == [row]


def test_a_holiday_the_question_names_keeps_its_row_beside_a_date_it_tells() -> None:
    narrowed = narrowed_for(CHRISTMAS_HOURS, "are you open on christmas day?", "My appointment was for the 29th.")
    assert [row[0] for row in narrowed.rows] == ["Christmas Day, Boxing Day and New Year's Day"]


def test_a_holiday_in_another_row_s_note_is_no_date_of_that_row() -> None:
    """Only a row's name is read for holidays: the bins' note about Christmas Day does not make
    "the 25th" the bins' row."""
    services = Table(
        ("Service", "Day", "Notes"),
        (
            ("Bin collection", "Monday", "No collection on Christmas Day; collected the next working day."),
            ("Recycling", "Wednesday", ""),
            ("Christmas Day", "No collections", ""),
        ),
    )
    assert [row[0] for row in narrowed_for(services, "is anything different on the 25th?").rows] == ["Christmas Day"]


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("St. Stephen’s Day", (26.0, 26.0, "december")),
        ("New Years Eve", (31.0, 31.0, "december")),
        ("New Year’s  Day", (1.0, 1.0, "january")),
    ],
)
def test_a_holiday_is_read_however_its_name_is_written(name: str, day: tuple[float, float, str]) -> None:
    assert holiday_days(name) == [day]


def test_a_holiday_told_beside_the_question_is_no_date_it_asks_about() -> None:
    """ "I'm away on boxing day" says when the customer is away, not which day they ask about."""
    narrowed = narrowed_for(CHRISTMAS_HOURS, "are you open on the 27th?", "I'm away on boxing day.")
    assert [row[0] for row in narrowed.rows] == ["27 to 31 December (weekdays)"]


def test_between_christmas_and_new_year_without_a_date_is_read_as_words() -> None:
    """docs/known-limits.md: only a holiday of a fixed date named in full is a day; "christmas"
    and "new year" alone name the row that holds the words."""
    narrowed = narrowed_for(CHRISTMAS_HOURS, "is the office open between christmas and new year?")
    assert [row[0] for row in narrowed.rows] == ["Christmas Day, Boxing Day and New Year's Day"]
