"""A budget a person can plan with: device-hours to train each runner on the suite's full data and to classify 1 M
documents, from the measured rates, and the same in money where a GPU price is known.

Training device-hours = the measured training time (warm-up steps and evaluation excluded), plus a tuned run's
grid (`tuning_train_s`: its points trained on the same documents), scaled by the suite's train split over the
documents the run carved train and validation from (a `--limit` run), times the devices that trained it. Inference device-hours per 1 M documents = 1e6 / the test pass's documents per second, times the devices
(the test split's length distribution stands for the suite's). Money = GPU-hours × a price per GPU-hour: the user's
`--gpu-price`, else the dated list price of the record's GPU in the shipped `prices.yaml`. CPU runs get CPU-hours
and no money; a GPU with no price gets an empty money cell and a note, never 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from bench.report import stats
from bench.report.cost import measured
from bench.report.errors import ReportError
from bench.report.fmt import MISSING
from bench.report.render import Cell, Paragraph, Table

PRICES_PATH = Path(__file__).with_name("prices.yaml")
DOCUMENTS = 1_000_000  # the inference budget's unit: 1 M documents
BUDGET_COLUMNS = (
    "device_kind", "train_gpu_h", "train_cpu_h", "infer_gpu_h_per_1M", "infer_cpu_h_per_1M", "train_scale",
    "train_docs_measured", "train_full_size_known", "price_per_gpu_h", "currency", "price_source", "train_cost",
    "infer_cost_per_1M", "budget_note", "train_includes_tuning",
)  # fmt: skip


@dataclass(frozen=True)
class Pricing:
    """What the report prices GPU-hours at: `gpu_price` per GPU-hour in `currency` for every GPU run, or (None) the
    shipped list price of each run's GPU."""

    gpu_price: float | None = None
    currency: str = "USD"

    def __post_init__(self) -> None:
        if self.gpu_price is not None and not (math.isfinite(self.gpu_price) and self.gpu_price > 0):
            raise ReportError(f"--gpu-price must be a positive price per GPU-hour, got {self.gpu_price:g}")
        if not re.fullmatch(r"[A-Za-z]{3}", self.currency or ""):
            raise ReportError(f"--currency must be a three-letter currency code like USD or EUR, got {self.currency!r}")
        if self.gpu_price is None and self.currency.upper() != price_table()["currency"]:
            raise ReportError(
                f"--currency {self.currency} names the currency of --gpu-price, and the shipped list prices are in "
                f"{price_table()['currency']}; give --gpu-price too"
            )


@dataclass(frozen=True)
class Price:
    """One GPU-hour's price and where it comes from (shown wherever money is)."""

    per_gpu_hour: float
    currency: str
    source: str


@lru_cache(maxsize=1)
def price_table() -> dict[str, Any]:
    """The shipped price table (`prices.yaml`): currency, caveat and one entry per GPU."""
    import yaml

    return yaml.safe_load(PRICES_PATH.read_text(encoding="utf-8"))


def price_for(gpu_name: str, pricing: Pricing) -> Price | None:
    """The price of an hour of `gpu_name`: the user's, else the shipped table's entry whose `match` finds it."""
    if pricing.gpu_price is not None:
        return Price(pricing.gpu_price, pricing.currency.upper(), f"--gpu-price {pricing.gpu_price:g} per GPU-hour")
    table = price_table()
    for entry in table["gpus"]:
        if gpu_name and re.search(entry["match"], gpu_name, flags=re.IGNORECASE):
            source = (
                f"{entry['name']}: {entry['provider']}, list price as of {entry['as_of']} ({entry['source']}; "
                f"bench/report/prices.yaml: {table['caveat']})"
            )
            return Price(float(entry["per_gpu_hour"]), table["currency"], source)
    return None


def run_hours(ok: pd.DataFrame) -> pd.DataFrame:
    """Per successful run: whether it ran on a GPU, the full-data training device-hours, the inference device-hours
    per 1 M documents, and the factor its training time was scaled by (NaN where the full data's size is unknown)."""
    devices = pd.to_numeric(ok["world_size"], errors="coerce").fillna(1).clip(lower=1)
    carved = measured(ok["n_train"]).add(measured(ok["n_val"]), fill_value=0)  # train + validation of this run
    split = measured(ok["n_train_split"]) if "n_train_split" in ok else pd.Series(math.nan, index=ok.index)
    out = pd.DataFrame(index=ok.index)
    out["gpu"] = ok["gpu_name"].notna() | (ok["device"].astype(str) == "cuda")
    out["scale"] = (split / carved).clip(lower=1)  # a run of the full data carves all of it: 1
    # a tuned run's cost is its grid's training too (the points trained on the same documents, so scaled alike);
    # a tuned run whose grid's time was not measured has no full cost: NaN, never its own time alone
    tuned = measured(_column(ok, "tuning_points")).notna()
    tuning = measured(_column(ok, "tuning_train_s")).where(tuned, 0.0)
    out["tuned"] = tuned
    out["train_h"] = (measured(ok["train_s"]) + tuning) * out["scale"].fillna(1) * devices / 3600
    out["infer_h_per_1M"] = DOCUMENTS / measured(ok["eval_samples_per_s"]) * devices / 3600
    out["docs"] = measured(ok["n_train"])
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(math.nan, index=frame.index)


def runner_budget(ok: pd.DataFrame, pricing: Pricing) -> dict[str, Any]:
    """One runner's budget columns of the summary (`BUDGET_COLUMNS`): means over its successful runs."""
    row: dict[str, Any] = dict.fromkeys(BUDGET_COLUMNS, math.nan) | {"device_kind": "", "currency": ""}
    row |= {"price_source": "", "budget_note": "", "train_full_size_known": True, "train_includes_tuning": False}
    if ok.empty:
        return row
    hours = run_hours(ok)
    gpu = bool(hours["gpu"].any())
    kind = "gpu" if gpu else "cpu"
    train, infer = stats.seed_stats(hours["train_h"]).mean, stats.seed_stats(hours["infer_h_per_1M"]).mean
    row |= {"device_kind": kind.upper(), f"train_{kind}_h": train, f"infer_{kind}_h_per_1M": infer}
    row["train_scale"] = stats.seed_stats(hours["scale"]).mean
    row["train_docs_measured"] = stats.seed_stats(hours["docs"]).mean
    row["train_full_size_known"] = bool(hours["scale"].notna().all())
    row["train_includes_tuning"] = bool(hours["tuned"].any())
    if not gpu:
        row["budget_note"] = "CPU run: CPU-hours, no GPU price applies"
        return row
    names = sorted(set(ok["gpu_name"].dropna().astype(str)))
    price = price_for(names[0], pricing) if len(names) == 1 else price_for("", pricing)
    if price is None:
        what = f"no list price for {' / '.join(names)} in bench/report/prices.yaml" if names else "GPU not named"
        row["budget_note"] = f"{what}: give one with --gpu-price"
        return row
    row |= {"price_per_gpu_h": price.per_gpu_hour, "currency": price.currency, "price_source": price.source}
    row["train_cost"] = train * price.per_gpu_hour
    row["infer_cost_per_1M"] = infer * price.per_gpu_hour
    return row


def add_budget(summary: pd.DataFrame, runs: pd.DataFrame, pricing: Pricing | None) -> pd.DataFrame:
    """`summary` with the budget columns of each runner, from its successful runs in `runs`."""
    pricing = pricing or Pricing()
    ok = runs[runs["status"] == "ok"]
    rows = [runner_budget(ok[ok["runner"] == runner], pricing) for runner in summary["runner"]]
    budget = pd.DataFrame(rows, index=summary.index, columns=list(BUDGET_COLUMNS))
    return pd.concat([summary.drop(columns=[c for c in BUDGET_COLUMNS if c in summary]), budget], axis=1)


def hours(x: float) -> str:
    """Device-hours: '0.0042', '3.71', '1,250'."""
    if x is None or pd.isna(x):
        return MISSING
    return f"{x:,.0f}" if x >= 1000 else f"{x:.3g}"


def money(x: float, currency: str) -> str:
    """'12.50 USD', '0.0031 USD'."""
    if x is None or pd.isna(x):
        return MISSING
    return f"{x:,.2f} {currency}" if x >= 1 else f"{x:.2g} {currency}"


def _train_hours(row: pd.Series) -> float:
    return row["train_gpu_h"] if row["device_kind"] == "GPU" else row["train_cpu_h"]


def _infer_hours(row: pd.Series) -> float:
    return row["infer_gpu_h_per_1M"] if row["device_kind"] == "GPU" else row["infer_cpu_h_per_1M"]


def scaled_note(row: pd.Series) -> str:
    """'scaled ×41.7 from 600 docs', 'as measured: full data size not recorded', or '' for a full-data run; with
    'grid included' where the runner was tuned (its grid's training is in the figure)."""
    tuning = ["grid included"] if row.get("train_includes_tuning") is True else []
    if not row["train_full_size_known"]:
        return "; ".join(["as measured: the full data's size is not in these records", *tuning])
    scale, docs = row["train_scale"], row["train_docs_measured"]
    if pd.notna(scale) and scale > 1 + 1e-9 and pd.notna(docs):
        return "; ".join([f"scaled ×{scale:.3g} from {docs:,.0f} docs", *tuning])
    return "; ".join(tuning)


def has_budget(summary: pd.DataFrame) -> bool:
    return "device_kind" in summary and bool((summary["device_kind"] != "").any())


def table_currency(summary: pd.DataFrame) -> str:
    found = sorted(set(summary["currency"].dropna()) - {""}) if "currency" in summary else []
    return found[0] if len(found) == 1 else (" / ".join(found) or "money")


def cells(row: pd.Series, currency: str, priced: bool = True) -> list[Cell]:
    """The cost table's budget cells of one summary row: training and 1 M-document device-hours, then (`priced`)
    money."""
    unit = f" {row['device_kind']}-h" if row["device_kind"] else ""
    train, infer = _train_hours(row), _infer_hours(row)
    out = [
        Cell(
            hours(train) + (unit if pd.notna(train) else ""), f"({n})" if (n := scaled_note(row)) else "", numeric=True
        ),
        Cell(hours(infer) + (unit if pd.notna(infer) else ""), numeric=True),
    ]
    price = f"(at {row['price_per_gpu_h']:g}/GPU-h)" if pd.notna(row["price_per_gpu_h"]) else ""
    note = f"({row['budget_note']})" if row["budget_note"] else price
    if not priced:
        return out
    out += [
        Cell(money(row["train_cost"], currency), note, numeric=True),
        Cell(money(row["infer_cost_per_1M"], currency), numeric=True),
    ]
    return out


def has_gpu(summary: pd.DataFrame) -> bool:
    """Whether any runner ran on a GPU: the money columns are shown only then (CPU runs are never priced)."""
    return bool((summary["device_kind"] == "GPU").any())


def columns(summary: pd.DataFrame) -> list[str]:
    currency = table_currency(summary)
    money_columns = [f"train, full data ({currency})", f"1 M docs ({currency})"] if has_gpu(summary) else []
    return ["train, full data (device-h)", "1 M docs (device-h)", *money_columns]


def notes(summary: pd.DataFrame) -> list[Paragraph]:
    """What the budget columns hold, and every price source and date behind their money."""
    sources = sorted(set(summary["price_source"]) - {""})
    out = [
        Paragraph.of(
            "Budget: train, full data = the measured training time (warm-up steps and evaluation excluded, so a "
            "little under the bill; for a tuned runner, its grid's training time added: grid included) × the suite's train split over the documents the run drew from (a --limit run; "
            "below the value: scaled from how many) × the devices that trained it, in GPU-hours (CPU-hours for a run "
            "without a GPU). 1 M docs = 1,000,000 / the test pass's documents per second × devices, in hours: the "
            "test split's lengths stand for the suite's. Money = GPU-hours × a price per GPU-hour; CPU runs and GPUs "
            "without a price show — and say why (never 0); where no runner had a GPU there are no money columns."
        )
    ]
    out += [Paragraph.of("Price: ", source, ".", bullet=True) for source in sources]
    return out


def sentence(candidates: pd.DataFrame) -> str | None:
    """The verdict's budget line: per runner, full-data training and 1 M documents in device-hours and money."""
    if not has_budget(candidates):
        return None
    parts, sources = [], set()
    for _, row in candidates.iterrows():
        train, infer = _train_hours(row), _infer_hours(row)
        if pd.isna(train) and pd.isna(infer):
            continue
        unit = f"{row['device_kind']}-h"
        if row["train_full_size_known"]:
            text = f"training {row['runner']} on the full data ~{hours(train)} {unit}"
        else:  # a figure of another size must not read as the full data's
            text = f"training {row['runner']} as measured, not scaled to the full data (its record lacks the data's size) ~{hours(train)} {unit}"
        text += " (its tuning grid included)" if row.get("train_includes_tuning") is True else ""
        if pd.notna(row["train_cost"]):
            at = f"{row['price_per_gpu_h']:g} {row['currency']}/GPU-h"
            text += f" (~{money(row['train_cost'], row['currency'])} at {at})"
            sources.add(row["price_source"])
        elif row["device_kind"] == "GPU":
            text += " (no price for its GPU: give --gpu-price)"
        text += f", 1 M documents ~{hours(infer)} {unit}"
        if pd.notna(row["infer_cost_per_1M"]):
            text += f" (~{money(row['infer_cost_per_1M'], row['currency'])})"
        parts.append(text)
    if not parts:
        return None
    where = f" Prices: {'; '.join(sorted(sources))}." if sources else ""
    return "Budget: " + "; ".join(parts) + "." + where


def money_axis(summary: pd.DataFrame) -> bool:
    """Whether the accuracy-vs-cost plot's x-axis is money: where every runner it can draw (an accuracy and a
    training time) has a price, so that none drops out; else training time per epoch."""
    if "train_cost" not in summary:
        return False
    drawn = summary[summary["accuracy_mean"].notna() & (summary["train_s_per_epoch"] > 0)]
    return not drawn.empty and bool((drawn["train_cost"] > 0).all()) and drawn["currency"].nunique() == 1


def extend(table: Table, summary: pd.DataFrame) -> Table:
    """The cost table (one row per summary row, in order) with the budget columns and their notes added."""
    if not has_budget(summary):
        return table
    currency = table_currency(summary)
    priced = has_gpu(summary)
    rows = [[*row, *cells(s, currency, priced)] for row, (_, s) in zip(table.rows, summary.iterrows(), strict=True)]
    return Table([*table.columns, *columns(summary)], rows, [*table.notes, *notes(summary)])
