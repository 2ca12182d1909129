"""Recorded market data: the shipped capture, the Binance format, the plain format (CSV and Parquet) and every bad
input named by file, line and what was expected."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eval.tape import TIME_TOLERANCE, read_tape, write_plain

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "examples" / "data" / "binance_spot_ethusdt"
CAPTURE = ROOT.parent / "shared" / "data" / "binance" / "spot" / "ethusdt_20240808.gz"


def test_the_shipped_capture_reads_as_a_tape():
    tape = read_tape(SHIPPED)
    assert tape.trade_time.size == 2016 and tape.quote_time.size == 9398
    assert set(np.unique(tape.trade_side)) == {-1, 1}
    assert np.all(np.diff(tape.trade_time) >= 0) and np.all(np.diff(tape.quote_time) >= 0)
    assert np.all(tape.bid < tape.ask) and 119.0 < tape.duration <= 120.0
    assert [name for name, _ in tape.sources] == [str(SHIPPED / "trades.csv"), str(SHIPPED / "quotes.csv")]
    # The mid just before each trade: a trade at the bid was a sell, at the ask a buy, within a tick of the mid.
    mids = tape.mid_before(tape.trade_time)
    known = np.isfinite(mids)
    assert known.mean() > 0.99
    signed = tape.trade_side[known] * (tape.trade_price[known] - mids[known])
    assert np.median(signed) > 0  # buys print above the mid, sells below


@pytest.mark.skipif(not CAPTURE.is_file(), reason="the shared Binance captures are not on this machine")
def test_a_binance_capture_reads_and_round_trips_through_the_plain_format(tmp_path):
    tape = read_tape(CAPTURE)
    assert tape.trade_time.size == 6106 and tape.quote_time.size == 24077  # as the data's README counts them
    assert 345.0 < tape.duration < 347.0
    write_plain(tape, tmp_path / "plain")
    back = read_tape(tmp_path / "plain")
    np.testing.assert_allclose(back.trade_time, tape.trade_time, atol=2e-6)
    np.testing.assert_array_equal(back.trade_side, tape.trade_side)
    np.testing.assert_array_equal(back.bid, tape.bid)
    shipped = read_tape(SHIPPED)
    window = tape.between(0.0, 120.0)
    np.testing.assert_array_equal(window.trade_price, shipped.trade_price)


def test_the_plain_format_reads_parquet_as_csv(tmp_path):
    csv = read_tape(SHIPPED)
    folder = tmp_path / "parquet"
    folder.mkdir()
    for name in ("trades", "quotes"):
        pd.read_csv(SHIPPED / f"{name}.csv").to_parquet(folder / f"{name}.parquet")
    parquet = read_tape(folder)
    np.testing.assert_array_equal(parquet.trade_price, csv.trade_price)
    np.testing.assert_array_equal(parquet.quote_time, csv.quote_time)


def plain(tmp_path, trades: str, quotes: str = "time,bid,ask\n0,99,101\n1,99.5,100.5\n") -> Path:
    folder = tmp_path / "plain"
    folder.mkdir(exist_ok=True)
    (folder / "trades.csv").write_text(trades)
    (folder / "quotes.csv").write_text(quotes)
    return folder


GOOD = "time,price,size,side\n0.5,101,1,buy\n0.7,99,2,sell\n"


@pytest.mark.parametrize(
    ("trades", "quotes", "message"),
    [
        (
            "time,price,size,side\n0.5,101,1,buy\n0.7,99\n",
            None,
            r"trades.csv: line 3: no value for \['size', 'side'\] \(a truncated line\?\)",
        ),
        ("time,price,size,side\n0.5,101,1,buy\n0.7,99,2,hold\n", None, r"trades.csv: line 3: side must be one of"),
        ("time,price,size\n0.5,101,1\n", None, r"trades.csv: missing column\(s\) \['side'\]; expected"),
        ("", None, r"trades.csv: empty; expected a header time,price,size,side"),
        ("time,price,size,side\n", None, r"trades.csv: no rows"),
        ("time,price,size,side\n0.5,-101,1,buy\n", None, r"trades.csv: line 2: price must be > 0"),
        ("time,price,size,side\n2.0,101,1,buy\n1.0,99,1,sell\n", None, r"trades.csv: line 3: time 1.0 is 1 s before"),
        (GOOD, "time,bid,ask\n0,99,101\n1,100.5,100.5\n", r"quotes.csv: line 3: crossed quotes, bid 100.5 ≥ ask 100.5"),
        (GOOD, "time,bid,ask\n0,99,101\n1,x,100.5\n", r"quotes.csv: line 3: bid must be a finite number; got 'x'"),
    ],
)
def test_bad_plain_input_names_the_file_the_line_and_what_was_expected(tmp_path, trades, quotes, message):
    folder = plain(tmp_path, trades, *(() if quotes is None else (quotes,)))
    with pytest.raises(ValueError, match=message):
        read_tape(folder)


def test_a_small_step_back_in_time_is_put_in_order(tmp_path):
    step = TIME_TOLERANCE / 2
    tape = read_tape(plain(tmp_path, f"time,price,size,side\n1.0,101,1,buy\n{1.0 - step},99,2,sell\n"))
    assert tape.trade_price.tolist() == [99.0, 101.0]


def test_bad_binance_input_names_the_file_and_the_line(tmp_path):
    good = (
        '1000000000 {"stream":"x@bookTicker","data":{"b":"99","B":"1","a":"101","A":"1"}}\n'
        '2000000000 {"stream":"x@trade","data":{"p":"101","q":"1","T":1,"m":false}}\n'
    )
    broken = tmp_path / "broken.gz"
    with gzip.open(broken, "wt") as out:
        out.write(good + '3000000000 {"stream":"x@trade","data":{"p":"1\n')
    with pytest.raises(ValueError, match=r"broken.gz:3: expected a receive time in nanoseconds, a space and a JSON"):
        read_tape(broken)
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(gzip.compress((good * 200).encode())[:-40])
    with pytest.raises(ValueError, match=r"truncated.gz: cannot be read past line \d+"):
        read_tape(truncated)
    crossed = tmp_path / "crossed.gz"
    with gzip.open(crossed, "wt") as out:
        out.write(good + '3000000000 {"stream":"x@bookTicker","data":{"b":"101","B":"1","a":"100","A":"1"}}\n')
    with pytest.raises(ValueError, match=r"crossed.gz: line 3: crossed quotes, bid 101.0 ≥ ask 100.0"):
        read_tape(crossed)
    with pytest.raises(ValueError, match=r"not a Binance capture \(.gz\) or a folder"):
        read_tape(tmp_path / "nothing.txt")
