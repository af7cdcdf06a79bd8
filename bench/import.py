"""Bulk import speed against plain executemany of the same rows, in the same run.

Run from the project root: `.venv/bin/python bench/import.py [--n 20000] [--batch 2000]`.

1. The demo generator writes `--n` complaints (≈8% repeats, ≈10% regulator-forwarded) as a
   legacy CSV with the example mapping's Chinese headers.
2. import: `services.intake.importing.run` into a fresh migrated SQLite database: parse, map,
   validate every row, encrypt the parties, start the clocks, insert, escalate on arrival,
   detect repeats. Timed end to end.
3. raw: the very rows the import stored for those complaints (party, complaint, deadline,
   event), read back into memory beforehand, written into a second fresh database with one
   plain SQLAlchemy Core executemany per table in one transaction: the cost of writing the
   same rows with no rule applied.
   The import also records, for open complaints already past ladder levels, those levels as
   covered by its one summary alert (`escalation` rows, outcome `imported`): they are stored
   rows of the import, so they are in the raw copy too.
4. memory: a GB18030 CSV (as Excel writes on Chinese Windows) with 5 % bad rows (a damaged
   ID number, a bad phone, an unknown channel, a missing receipt time, every field bad), at
   `--small` (10,000) and `--large` (100,000) rows, each imported in a fresh process; its peak
   resident memory is printed, and the growth from small to large (target: within 20 %).
   `--large 0` skips this part.
Also printed for reference: plain executemany of the CSV rows as they are into a one-table
staging copy (`raw_flat`). The last line is `ratio=<import rows/s ÷ raw rows/s>`; target 0.25.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Column, MetaData, Table, Text, insert, select  # noqa: E402

from config import load_config  # noqa: E402
from demo.data import SHEET_HEADERS, Generator, sheet_row  # noqa: E402
from services import users  # noqa: E402
from services.automatic import alerts  # noqa: E402
from services.context import Context, open_context  # noqa: E402
from services.intake import importing  # noqa: E402
from storage import records  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Party  # noqa: E402
from storage.schema import table_of  # noqa: E402

KEY = "xHrqHxB3N7kZ0Vt6lq2jz1m5Yg8Qp3cS9uWdE4aKf0o="
PARTY = table_of(Party)


def context(root: Path, template: Path, name: str) -> Context:
    db = root / f"{name}.db"
    shutil.copy(template, db)
    cfg = load_config(
        environ={
            "TOUSU_ROOT": str(root),
            "TOUSU_KEY": KEY,
            "TOUSU_DATABASE_URL": f"sqlite:///{db}",
        },
        root=root,
    )
    ctx = open_context(cfg)
    users.ensure_system_user(ctx)
    users.add_user(ctx, "clerk", name="张受理", role="intake_clerk")
    return ctx


def write_gb18030(ctx: Context, path: Path, n: int, *, seed: int) -> int:
    """n rows in GB18030, one in twenty bad in a different way each time; returns the bad."""
    tax = ctx.config.taxonomy
    gen = Generator(tax, now=datetime.now(UTC), seed=seed)
    bad = 0
    with path.open("w", newline="", encoding="gb18030") as fh:
        out = csv.writer(fh)
        out.writerow(SHEET_HEADERS)
        for i, case in enumerate(gen.cases(n)):
            row = sheet_row(case, tax, ctx.tz)
            if i % 20 == 19:
                bad += 1
                kind = (i // 20) % 5
                if kind == 0:
                    row[2] = "1.10108197101239E+17"  # an ID a spreadsheet made a number of
                elif kind == 1:
                    row[3] = "12345"
                elif kind == 2:
                    row[7] = "飞鸽传书"
                elif kind == 3:
                    row[8] = ""
                else:
                    row[1:9] = ["", "1", "2", "", "", "", "?", "去年"]
            out.writerow(row)
    return bad


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it is not inherited from
    the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(source: Path, root: Path, template: Path) -> None:
    """Child process: import `source`, print one JSON line with the peak resident memory."""
    ctx = context(root, template, source.stem)
    mapping = importing.load_mapping(ROOT / "config" / "import_mapping.example.toml")
    before = peak_mb()
    t0 = time.perf_counter()
    res = importing.run(ctx, source, mapping, actor="clerk", rejects=root, escalate=False)
    seconds = time.perf_counter() - t0
    peak = peak_mb()
    print(
        json.dumps(
            {
                "total": res.total,
                "imported": res.imported,
                "rejected": res.rejected,
                "encoding": res.encoding,
                "seconds": seconds,
                "before_mb": before,
                "peak_mb": peak,
            }
        )
    )


def memory(root: Path, template: Path, sizes: tuple[int, int], batch: int) -> None:
    ctx = context(root, template, "memory")
    peaks = []
    for n in sizes:
        source = root / f"gb18030_{n}.csv"
        bad = write_gb18030(ctx, source, n, seed=5)
        got = subprocess.run(
            [sys.executable, __file__, "--measure", str(source), "--root", str(root)],
            check=True,
            capture_output=True,
            text=True,
        )
        m = json.loads(got.stdout.strip().splitlines()[-1])
        peaks.append(m["peak_mb"])
        print(
            f"memory {n}: {m['total']} rows ({m['encoding']}), {m['imported']} imported, "
            f"{m['rejected']} rejected (expected {bad}) in {m['seconds']:.1f} s "
            f"= {m['imported'] / m['seconds']:,.0f} rows/s; peak RSS {m['peak_mb']:.0f} MB "
            f"(before the import {m['before_mb']:.0f} MB)"
        )
        source.unlink()
    growth = peaks[1] / peaks[0] - 1
    print(
        f"memory: peak {peaks[0]:.0f} MB at {sizes[0]} rows, {peaks[1]:.0f} MB at {sizes[1]} "
        f"rows: growth {growth:+.1%} (target within 20 %)"
    )
    ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.measure, args.root, args.root / "template.db")
        return
    with tempfile.TemporaryDirectory(prefix="tousu-bench-import-") as tmp:
        root = Path(tmp)
        template = root / "template.db"
        upgrade(f"sqlite:///{template}")
        ctx = context(root, template, "import")
        tax = ctx.config.taxonomy
        source = root / "legacy.csv"
        gen = Generator(tax, now=datetime.now(UTC), seed=11)
        with source.open("w", newline="", encoding="utf-8-sig") as fh:
            out = csv.writer(fh)
            out.writerow(SHEET_HEADERS)
            for case in gen.cases(args.n):
                out.writerow(sheet_row(case, tax, ctx.tz))
        print(f"source: {args.n} rows, {source.stat().st_size / 1e6:.1f} MB CSV")

        mapping = importing.load_mapping(ROOT / "config" / "import_mapping.example.toml")
        t0 = time.perf_counter()
        res = importing.run(ctx, source, mapping, actor="clerk", batch_size=args.batch)
        t_import = time.perf_counter() - t0
        rate_import = res.imported / t_import
        print(
            f"import: {res.imported} imported, {res.rejected} rejected, {res.merged} merged, "
            f"{res.linked} linked, {res.escalated} escalated in {t_import:.2f} s "
            f"= {rate_import:,.0f} rows/s"
        )

        # The same stored rows, read back before timing the plain executemany.
        tables = [PARTY, records.COMPLAINT, records.DEADLINE, records.EVENT, alerts.ESCALATION]
        with ctx.engine.connect() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    select(records.COMPLAINT.c.id).where(
                        records.COMPLAINT.c.external_ref.is_not(None)
                    )
                )
            ]
            lo, hi = min(ids), max(ids)
            data = {
                PARTY: [
                    dict(r)
                    for r in conn.execute(
                        select(PARTY).where(
                            PARTY.c.id.in_(
                                select(records.COMPLAINT.c.complainant_id).where(
                                    records.COMPLAINT.c.id.between(lo, hi)
                                )
                            )
                        )
                    ).mappings()
                ],
                records.COMPLAINT: [
                    dict(r)
                    for r in conn.execute(
                        select(records.COMPLAINT).where(records.COMPLAINT.c.id.between(lo, hi))
                    ).mappings()
                ],
                records.DEADLINE: [
                    dict(r)
                    for r in conn.execute(
                        select(records.DEADLINE).where(
                            records.DEADLINE.c.complaint_id.between(lo, hi)
                        )
                    ).mappings()
                ],
                alerts.ESCALATION: [
                    {k: v for k, v in r.items() if k != "id"}
                    for r in conn.execute(
                        select(alerts.ESCALATION).where(
                            alerts.ESCALATION.c.complaint_id.between(lo, hi),
                            alerts.ESCALATION.c.outcome == "imported",
                        )
                    ).mappings()
                ],
                records.EVENT: [
                    dict(r)
                    for r in conn.execute(
                        select(records.EVENT).where(
                            records.EVENT.c.complaint_id.between(lo, hi), records.EVENT.c.seq == 1
                        )
                    ).mappings()
                ],
            }
        for row in data[records.COMPLAINT]:  # links point at rows of this same set; keep them out
            row["linked_to_id"] = row["merged_into_id"] = None
            row["state"] = "registered"
        ctx.close()
        raw_ctx = context(root, template, "raw")
        n_rows = sum(len(v) for v in data.values())
        t0 = time.perf_counter()
        with raw_ctx.engine.begin() as conn:
            for table in tables:
                conn.execute(insert(table), data[table])
        t_raw = time.perf_counter() - t0
        rate_raw = len(data[records.COMPLAINT]) / t_raw
        print(
            f"raw: plain executemany of the same {n_rows} stored rows "
            f"({len(data[records.COMPLAINT])} complaints over {len(tables)} tables) "
            f"in {t_raw:.2f} s "
            f"= {rate_raw:,.0f} rows/s"
        )

        with source.open(newline="", encoding="utf-8-sig") as fh:
            flat = [
                dict(zip([f"c{i}" for i in range(len(SHEET_HEADERS))], r, strict=True))
                for r in list(csv.reader(fh))[1:]
            ]
        staging = Table(
            "staging", MetaData(), *(Column(f"c{i}", Text) for i in range(len(SHEET_HEADERS)))
        )
        staging.create(raw_ctx.engine)
        t0 = time.perf_counter()
        with raw_ctx.engine.begin() as conn:
            conn.execute(insert(staging), flat)
        t_flat = time.perf_counter() - t0
        print(
            f"raw_flat: plain executemany of the {len(flat)} CSV rows into one staging "
            f"table in {t_flat:.2f} s = {len(flat) / t_flat:,.0f} rows/s "
            f"(reference; import ÷ raw_flat = {rate_import / (len(flat) / t_flat):.3f})"
        )
        raw_ctx.close()
        del data, flat
        if args.large:
            memory(root, template, (args.small, args.large), args.batch)
        print(f"ratio={rate_import / rate_raw:.3f}")


if __name__ == "__main__":
    main()
