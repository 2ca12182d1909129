"""Recorded market data as one tape: the trades and the best quotes of one instrument in time order, read from a
Binance capture (``../shared/data/binance``: gzip text, a receive time in nanoseconds and the exchange's JSON per
line) or from a plain format any venue's users can write: a folder holding ``trades.csv`` (or ``.parquet``) with
columns ``time, price, size, side`` and ``quotes.csv`` (or ``.parquet``) with ``time, bid, ask``; times in seconds,
``side`` ``buy`` where the aggressor bought (the trade printed at the ask) and ``sell`` where it sold.

Bad input stops with a ``ValueError`` naming the file, the line (CSV, counting the header as line 1; Binance) or
row (Parquet, from 0), and what was expected: a truncated line, a missing column, a time that steps back by more
than ``TIME_TOLERANCE``, crossed quotes, a non-positive price or size, an unknown side, an empty file.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from eval.files import atomic_write_text

TRADE_COLUMNS = ("time", "price", "size", "side")
QUOTE_COLUMNS = ("time", "bid", "ask")
SIDES = {"buy": 1, "sell": -1}
# How far a time may step back [s] before a file is refused: exchange stamps of different streams jitter by about a
# millisecond; smaller steps back are put in order (a stable sort), larger ones are an error in the file.
TIME_TOLERANCE = 0.005


@dataclasses.dataclass(frozen=True)
class Tape:
    """One instrument's trades and best quotes. Times [s] since ``start`` [s since the Unix epoch]; prices [price],
    sizes [the venue's quantity]; ``trade_side`` +1 where the aggressor bought, −1 where it sold. ``sources``: each
    file read and its SHA-256."""

    trade_time: np.ndarray
    trade_price: np.ndarray
    trade_size: np.ndarray
    trade_side: np.ndarray
    quote_time: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    start: float
    sources: tuple[tuple[str, str], ...]

    @property
    def duration(self) -> float:
        """Seconds from the first event to the last."""
        return float(max(self.trade_time[-1], self.quote_time[-1]))

    @property
    def mid(self) -> np.ndarray:
        """``(bid + ask)/2`` at each quote update [price]."""
        return 0.5 * (self.bid + self.ask)

    def between(self, begin: float, end: float) -> Tape:
        """The trades and quotes at times in ``[begin, end]`` [s], on the same clock."""
        trades = (self.trade_time >= begin) & (self.trade_time <= end)
        quotes = (self.quote_time >= begin) & (self.quote_time <= end)
        return dataclasses.replace(
            self,
            **{name: getattr(self, name)[trades] for name in ("trade_time", "trade_price", "trade_size", "trade_side")},
            **{name: getattr(self, name)[quotes] for name in ("quote_time", "bid", "ask")},
        )

    def mid_at(self, times: np.ndarray) -> np.ndarray:
        """The mid of the last quote at or before each time (the first quote's before it) [price]."""
        return self.mid[np.maximum(np.searchsorted(self.quote_time, times, side="right") - 1, 0)]

    def mid_before(self, times: np.ndarray) -> np.ndarray:
        """The mid of the last quote strictly before each time (``nan`` before the first quote) [price]."""
        index = np.searchsorted(self.quote_time, times, side="left") - 1
        mids = self.mid[np.maximum(index, 0)]
        return np.where(index >= 0, mids, np.nan)


def read_tape(path: str | Path) -> Tape:
    """A Binance capture (a ``.gz`` file) or a plain-format folder (module docstring)."""
    path = Path(path)
    if path.is_dir():
        return read_plain(path)
    if path.suffix == ".gz":
        return read_binance(path)
    raise ValueError(f"{path}: not a Binance capture (.gz) or a folder holding trades.csv and quotes.csv (or .parquet)")


def read_binance(path: str | Path) -> Tape:
    """The ``@trade`` and ``@bookTicker`` messages of a Binance capture, timed by their receive time (depth updates
    and snapshots are skipped)."""
    path = Path(path)
    trades: list[tuple[int, float, float, int, int]] = []
    quotes: list[tuple[int, float, float, int]] = []
    number = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                stamp, _, text = line.partition(" ")
                try:
                    received, message = int(stamp), json.loads(text)
                except ValueError:
                    raise ValueError(
                        f"{path}:{number}: expected a receive time in nanoseconds, a space and a JSON message; "
                        f"got {line[:80]!r}"
                    ) from None
                stream, data = message.get("stream", ""), message.get("data", {})
                try:
                    if stream.endswith("@trade"):
                        trades.append((received, float(data["p"]), float(data["q"]), -1 if data["m"] else 1, number))
                    elif stream.endswith("@bookTicker"):
                        quotes.append((received, float(data["b"]), float(data["a"]), number))
                except (KeyError, TypeError, ValueError) as error:
                    raise ValueError(f"{path}:{number}: a {stream} message without a valid field {error}") from None
    except (EOFError, OSError, gzip.BadGzipFile) as error:
        raise ValueError(f"{path}: cannot be read past line {number}: {error}") from None
    if not trades or not quotes:
        raise ValueError(f"{path}: expected @trade and @bookTicker messages; found {len(trades)} and {len(quotes)}")
    trade, quote = np.array(trades, dtype=np.float64), np.array(quotes, dtype=np.float64)
    received = np.array([row[0] for row in trades]), np.array([row[0] for row in quotes])  # exact nanoseconds
    origin = min(received[0][0], received[1][0])
    trade_time, quote_time = ((stamps - origin) * 1e-9 for stamps in received)
    for times, table in ((trade_time, trade), (quote_time, quote)):
        _time_order(path, times, lambda row, table=table: f"line {int(table[row, -1])}")
    _check_quotes(str(path), quote_time, quote[:, 1], quote[:, 2], lambda row: f"line {int(quote[row, -1])}")
    return Tape(
        trade_time,
        trade[:, 1],
        trade[:, 2],
        trade[:, 3].astype(np.int64),
        quote_time,
        quote[:, 1],
        quote[:, 2],
        start=float(origin) * 1e-9,
        sources=((str(path), _sha256(path)),),
    )


def read_plain(folder: str | Path) -> Tape:
    """A plain-format folder: ``trades`` and ``quotes``, each ``.csv`` or ``.parquet`` (module docstring)."""
    folder = Path(folder)
    trades_path, trades = _table(folder, "trades", TRADE_COLUMNS)
    quotes_path, quotes = _table(folder, "quotes", QUOTE_COLUMNS)
    where = _locator(trades_path)
    side = trades["side"].astype(str).str.lower().map(SIDES)
    unknown = np.flatnonzero(side.isna().to_numpy())
    if unknown.size:
        value = trades["side"].iloc[unknown[0]]
        raise ValueError(f"{trades_path}: {where(unknown[0])}: side must be one of {sorted(SIDES)}; got {value!r}")
    trade_time = _numbers(trades_path, trades, "time")
    price, size = _numbers(trades_path, trades, "price"), _numbers(trades_path, trades, "size")
    for name, values in (("price", price), ("size", size)):
        bad = np.flatnonzero(~(values > 0))
        if bad.size:
            raise ValueError(f"{trades_path}: {where(bad[0])}: {name} must be > 0; got {float(values[bad[0]])!r}")
    quote_time = _numbers(quotes_path, quotes, "time")
    bid, ask = _numbers(quotes_path, quotes, "bid"), _numbers(quotes_path, quotes, "ask")
    trade_order = _time_order(trades_path, trade_time, where)
    quote_order = _time_order(quotes_path, quote_time, _locator(quotes_path))
    _check_quotes(str(quotes_path), quote_time, bid, ask, _locator(quotes_path))
    origin = min(trade_time.min(), quote_time.min())
    return Tape(
        trade_time[trade_order] - origin,
        price[trade_order],
        size[trade_order],
        side.to_numpy(dtype=np.int64)[trade_order],
        quote_time[quote_order] - origin,
        bid[quote_order],
        ask[quote_order],
        start=float(origin),
        sources=tuple((str(path), _sha256(path)) for path in (trades_path, quotes_path)),
    )


def write_plain(tape: Tape, folder: str | Path) -> None:
    """The tape as a plain-format folder (``trades.csv``, ``quotes.csv``, times since the Unix epoch), each file
    written whole or not at all."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    side = np.where(tape.trade_side > 0, "buy", "sell")
    trades = pd.DataFrame(
        {"time": _stamps(tape, tape.trade_time), "price": tape.trade_price, "size": tape.trade_size, "side": side}
    )
    quotes = pd.DataFrame({"time": _stamps(tape, tape.quote_time), "bid": tape.bid, "ask": tape.ask})
    atomic_write_text(folder / "trades.csv", trades.to_csv(index=False, float_format="%.10g"))
    atomic_write_text(folder / "quotes.csv", quotes.to_csv(index=False, float_format="%.10g"))


def _stamps(tape: Tape, times: np.ndarray) -> list[str]:
    """Times since the Unix epoch to the microsecond, as text (a float's repr would round them to its digits)."""
    return [f"{tape.start + time:.6f}" for time in times]


def _table(folder: Path, stem: str, columns: tuple[str, ...]) -> tuple[Path, pd.DataFrame]:
    found = [folder / f"{stem}{suffix}" for suffix in (".csv", ".parquet") if (folder / f"{stem}{suffix}").is_file()]
    if len(found) != 1:
        raise ValueError(f"{folder}: expected exactly one of {stem}.csv and {stem}.parquet; found {len(found)}")
    path = found[0]
    try:
        table = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except ImportError as error:  # pandas reads Parquet through pyarrow, an optional extra
        raise ValueError(f"{path}: reading Parquet needs pyarrow (pip install 'mm-inventory[data]'): {error}") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty; expected a header {','.join(columns)} and at least one row") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise ValueError(f"{path}: cannot be read: {error}") from None
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {list(columns)}, got {list(table.columns)}")
    if table.empty:
        raise ValueError(f"{path}: no rows; expected at least one")
    empty = table[list(columns)].isna().to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty.any(axis=1))[0])
        missing = [name for name, gone in zip(columns, empty[row], strict=True) if gone]
        raise ValueError(
            f"{path}: {_locator(path)(row)}: no value for {missing} (a truncated line?); expected {list(columns)}"
        )
    return path, table


def _locator(path: Path):
    """How an error names a row of ``path``: its line in a CSV (the header is line 1), its row in Parquet."""
    return (lambda row: f"line {row + 2}") if path.suffix == ".csv" else (lambda row: f"row {row}")


def _numbers(path: Path, table: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        value = table[column].iloc[bad[0]]
        raise ValueError(f"{path}: {_locator(path)(bad[0])}: {column} must be a finite number; got {value!r}")
    return values


def _time_order(path: Path, times: np.ndarray, where) -> np.ndarray:
    """The stable order of ``times``; ``ValueError`` where a time steps back by more than ``TIME_TOLERANCE``."""
    running = np.maximum.accumulate(times)
    back = np.flatnonzero(running - times > TIME_TOLERANCE)
    if back.size:
        row = back[0]
        raise ValueError(
            f"{path}: {where(row)}: time {float(times[row])!r} is {running[row] - times[row]:.6g} s before an earlier "
            f"row's; times may step back by at most {TIME_TOLERANCE} s"
        )
    return np.argsort(times, kind="stable")


def _check_quotes(path: str, times: np.ndarray, bid: np.ndarray, ask: np.ndarray, where) -> None:
    for name, values in (("bid", bid), ("ask", ask)):
        bad = np.flatnonzero(~(values > 0))
        if bad.size:
            raise ValueError(f"{path}: {where(bad[0])}: {name} must be > 0; got {float(values[bad[0]])!r}")
    crossed = np.flatnonzero(bid >= ask)
    if crossed.size:
        row = crossed[0]
        raise ValueError(f"{path}: {where(row)}: crossed quotes, bid {float(bid[row])!r} ≥ ask {float(ask[row])!r}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
