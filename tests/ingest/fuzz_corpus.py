"""A fixed corpus of hostile and clumsy landing files (issue 14), for the fuzz test and the kill bench.

``build_corpus(landing, seed)`` writes a few hundred entries, one per delivery folder (so
that names never clash), and returns what it wrote. The kinds: poison headers (PostgreSQL
system column names, thousands of columns, duplicates, BOM, CRLF, header only, empty),
hostile bodies (random bytes, Latin-1, UTF-16, NUL, huge fields, quoted fields over many
lines, stray quotes, bare CR, ``\\.``, blank keys), broken compression (truncated or
bit-flipped deflate streams, bad gzip headers, trailing garbage), broken XPT (truncated,
bit-flipped, random), hostile names (newline, escape sequences, bytes that are not UTF-8)
and entries that are not regular files (links inside and outside the root, dangling links,
link loops, FIFOs). Everything is derived from ``random.Random(seed)``: the same seed gives
the same corpus.
"""

from __future__ import annotations

import gzip
import os
import random
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import CONFORMANCE
from tests.ingest.helpers import DM_HEADER, LB_HEADER, lb_rows

SYSTEM_NAMES = ["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid", "CTID", "Xmin", "oid"]
NASTY_FIELDS = [
    "",
    " ",
    "   ",
    "\t",
    '"',
    '""',
    '"a,b"',
    'a"b',
    "\\.",
    "\\N",
    "NULL",
    "'; drop table raw.lb; --",
    "caf\u00e9",
    "\u2028",
    "\U0001f600",
    "x" * 5_000,
    "\r",
    "a\rb",
    ",",
    "\x1b[2J",
]


@dataclass
class Entry:
    """One corpus entry: where it lies and what kind of hostility it carries."""

    rel_path: str
    kind: str


def _lb_body(rng: random.Random, n: int) -> list[str]:
    rows = lb_rows(max(1, n // 3))
    rng.shuffle(rows)
    return rows[:n]


def _mutate_row(rng: random.Random, row: str) -> str:
    fields = row.split(",")
    i = rng.randrange(len(fields))
    fields[i] = rng.choice(NASTY_FIELDS)
    if rng.random() < 0.2:
        fields.insert(rng.randrange(len(fields)), "extra")
    if rng.random() < 0.1:
        fields.pop(rng.randrange(len(fields)))
    return ",".join(fields)


def _csv(header: str, rows: list[str], eol: str = "\n") -> bytes:
    return (eol.join([header, *rows]) + eol).encode("utf-8", "surrogatepass")


def _headers(rng: random.Random) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for name in SYSTEM_NAMES:
        out.append(
            (f"system column {name}", _csv(LB_HEADER + f",{name}", [r + ",v" for r in lb_rows(3)]))
        )
        out.append(
            (f"system column only {name}", _csv(f"STUDYID,DOMAIN,{name}", ["S,ZZ,1", "S,ZZ,2"]))
        )
    for width in (401, 1_601, 2_500):
        header = ",".join([LB_HEADER] + [f"X{i}" for i in range(width)])
        out.append((f"{width} extra columns", _csv(header, [lb_rows(1)[0] + ",v" * width])))
    out += [
        ("duplicate header", _csv(LB_HEADER + ",usubjid", [r + ",x" for r in lb_rows(2)])),
        (
            "duplicate header same case",
            _csv(LB_HEADER + ",LBORRES", [r + ",x" for r in lb_rows(2)]),
        ),
        ("BOM", b"\xef\xbb\xbf" + _csv(LB_HEADER, lb_rows(3))),
        ("BOM twice", b"\xef\xbb\xbf\xef\xbb\xbf" + _csv(LB_HEADER, lb_rows(3))),
        ("CRLF", _csv(LB_HEADER, lb_rows(4), "\r\n")),
        ("CR only", _csv(LB_HEADER, lb_rows(4), "\r")),
        ("header only", _csv(LB_HEADER, [])),
        ("header only no newline", LB_HEADER.encode()),
        ("empty", b""),
        ("blank lines only", b"\n\n\n"),
        ("spaces header", b"   \nCFZ,LB\n"),
        ("quoted header", _csv(",".join(f'"{h}"' for h in LB_HEADER.split(",")), lb_rows(2))),
        ("header with spaces", _csv(", ".join(LB_HEADER.split(",")), lb_rows(2))),
        ("header bad names", _csv(LB_HEADER + ",1ABC,a b,é", [r + ",1,2,3" for r in lb_rows(1)])),
        ("header unclosed quote", _csv('STUDYID,"DOMAIN', lb_rows(1))),
        ("missing required", _csv("STUDYID,DOMAIN,USUBJID", ["CFZ,LB,CFZ-001"])),
        ("UTF-16", _csv(LB_HEADER, lb_rows(2)).decode().encode("utf-16")),
        ("UTF-16 no BOM", _csv(LB_HEADER, lb_rows(2)).decode().encode("utf-16-le")),
        ("UTF-32", _csv(LB_HEADER, lb_rows(2)).decode().encode("utf-32")),
        (
            "Latin-1 body",
            _csv(LB_HEADER, [r.replace("BLOOD", "SANG\u00e9") for r in lb_rows(4)])
            .decode()
            .encode("latin-1"),
        ),
        (
            "Latin-1 one line",
            _csv(LB_HEADER, lb_rows(4))
            + "CFZ,LB,CFZ-050,HGB,BLOOD,1,g/dL,2026-03-02,C1\u00e9\n".encode("latin-1"),
        ),
        ("long header line", ("A" * 100_000 + "\n").encode()),
        ("header NUL", b"STUDYID\x00,DOMAIN\n"),
    ]
    return out


def _bodies(rng: random.Random) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for k in range(100):
        rows = [
            _mutate_row(rng, r) if rng.random() < 0.4 else r
            for r in _lb_body(rng, rng.randint(1, 30))
        ]
        eol = rng.choice(["\n", "\r\n"])
        out.append((f"mutated rows {k}", _csv(LB_HEADER, rows, eol)))
    for k in range(40):
        out.append(
            (f"random bytes {k}", bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3_000))))
        )
    for k in range(15):
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2_000)))
        out.append((f"header then random bytes {k}", _csv(LB_HEADER, []) + body))
    for k in range(10):
        alphabet = 'ab,"\n\r \\.'
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(10, 3_000)))
        out.append((f"csv metacharacters {k}", _csv(LB_HEADER, []) + text.encode()))
    long_field = "\n".join(f"line {i}" for i in range(1_200))
    out += [
        (
            "quoted field over 1,200 lines",
            _csv(
                LB_HEADER,
                lb_rows(2) + [f'CFZ,LB,CFZ-9,HGB,BLOOD,"{long_field}",g/dL,2026,C1'] + lb_rows(2),
            ),
        ),
        (
            "quoted field never closed",
            _csv(LB_HEADER, lb_rows(2) + ['CFZ,LB,CFZ-9,HGB,BLOOD,"' + long_field]),
        ),
        (
            "quoted field 999 lines",
            _csv(
                LB_HEADER, ['CFZ,LB,CFZ-9,HGB,BLOOD,"' + "\n".join(["x"] * 999) + '",g/dL,2026,C1']
            ),
        ),
        (
            "stray quote",
            _csv(LB_HEADER, lb_rows(2) + ['CFZ,LB,CFZ-9,"HGB,BLOOD,1,g/dL,2026,C1'] + lb_rows(400)),
        ),
        ("many stray quotes", _csv(LB_HEADER, [r.replace("BLOOD", 'BL"OOD') for r in lb_rows(50)])),
        (
            "huge field",
            _csv(LB_HEADER, ["CFZ,LB,CFZ-1,HGB,BLOOD," + "9" * 2_000_000 + ",g/dL,2026,C1"]),
        ),
        (
            "huge quoted field",
            _csv(LB_HEADER, ['CFZ,LB,CFZ-1,HGB,BLOOD,"' + "a,\n" * 300_000 + '",g/dL,2026,C1']),
        ),
        ("huge line wrong width", _csv(LB_HEADER, ["," * 500_000])),
        ("NUL bytes", _csv(LB_HEADER, lb_rows(3)).replace(b"BLOOD", b"BL\x00OD")),
        (
            "end-of-copy marker",
            _csv(
                LB_HEADER,
                lb_rows(2) + ["\\.", "CFZ,LB,CFZ-7,HGB,BLOOD,\\.,g/dL,2026,C1"] + lb_rows(2),
            ),
        ),
        (
            "end-of-copy marker quoted",
            _csv(LB_HEADER, ['CFZ,LB,CFZ-7,HGB,BLOOD,"a\n\\.\nb",g/dL,2026,C1']),
        ),
        (
            "blank natural keys",
            _csv(
                LB_HEADER,
                [
                    "CFZ,LB,  ,HGB,BLOOD,1,g/dL,2026,C1",
                    'CFZ,LB,CFZ-1," ",BLOOD,1,g/dL,2026,C1',
                    "CFZ,LB,CFZ-1,HGB,BLOOD,1,g/dL,\u3000,C1",
                ],
            ),
        ),
        ("no final newline", _csv(LB_HEADER, lb_rows(3))[:-1]),
        ("bare CR in field", _csv(LB_HEADER, ["CFZ,LB,CFZ-1,HGB,BLOOD,1\r2,g/dL,2026,C1"])),
        ("only commas", _csv(LB_HEADER, [",,,,,,,,"] * 5)),
        (
            "DM good",
            _csv(DM_HEADER, [f"CFZ,DM,CFZ-{i:03d},01,A,2026-01-05,61,F" for i in range(5)]),
        ),
    ]
    return out


def _gzips(rng: random.Random) -> list[tuple[str, bytes]]:
    good = gzip.compress(_csv(LB_HEADER, lb_rows(300)))
    out: list[tuple[str, bytes]] = [("gzip good", good)]
    for _ in range(15):
        cut = rng.randrange(1, len(good))
        out.append((f"gzip truncated at {cut}", good[:cut]))
    for k in range(20):
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(10, len(data))
            data[pos] ^= 1 << rng.randrange(8)
        out.append((f"gzip bit flips {k}", bytes(data)))
    out += [
        ("gzip bad header", b"\x1f\x8b\x08\x00" + bytes(rng.getrandbits(8) for _ in range(200))),
        ("gzip of random bytes", gzip.compress(bytes(rng.getrandbits(8) for _ in range(5_000)))),
        ("not gzip", _csv(LB_HEADER, lb_rows(2))),
        ("gzip trailing garbage", good + b"garbage"),
        ("gzip two members", good + gzip.compress(b"CFZ,LB,CFZ-800,HGB,BLOOD,1,g/dL,2026,C1\n")),
        ("gzip empty", gzip.compress(b"")),
        ("gzip of UTF-16", gzip.compress(_csv(LB_HEADER, lb_rows(2)).decode().encode("utf-16"))),
    ]
    return out


def _xpts(rng: random.Random) -> list[tuple[str, bytes]]:
    dm = (CONFORMANCE / "cdiscpilot01" / "dm.xpt").read_bytes()
    out: list[tuple[str, bytes]] = [("xpt good", dm)]
    for _ in range(12):
        cut = rng.randrange(1, len(dm))
        out.append((f"xpt truncated at {cut}", dm[:cut]))
    for k in range(8):
        data = bytearray(dm)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.getrandbits(8)
        out.append((f"xpt random bytes changed {k}", bytes(data)))
    out += [
        ("xpt empty", b""),
        ("xpt random", bytes(rng.getrandbits(8) for _ in range(4_000))),
        ("xpt library header only", dm[: 80 * 3]),
        ("xpt csv inside", _csv(DM_HEADER, ["CFZ,DM,CFZ-001,01,A,2026,61,F"])),
    ]
    return out


def build_corpus(landing: Path, seed: int = 14, first_delivery: int = 1) -> list[Entry]:
    """Write the corpus under ``landing`` (one delivery folder per entry); return the entries."""
    rng = random.Random(seed)
    entries: list[Entry] = []
    counter = iter(range(first_delivery, first_delivery + 100_000))

    def put(name: str | bytes, content: bytes, kind: str) -> Path:
        delivery = f"2025{next(counter):010d}"
        delivery = f"{delivery[:8]}T{delivery[8:]}"
        folder = landing / delivery
        folder.mkdir(parents=True, exist_ok=True)
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
        path.write_bytes(content)
        entries.append(Entry(f"{delivery}/{os.fsdecode(os.fsencode(name))}", kind))
        return path

    for kind, content in _headers(rng) + _bodies(rng):
        put("lb.csv" if "DM" not in kind else "dm.csv", content, kind)
    for kind, content in _gzips(rng):
        put("lb.csv.gz", content, kind)
    for kind, content in _xpts(rng):
        put("dm.xpt", content, kind)
    good = _csv(LB_HEADER, lb_rows(2))
    for name in [
        "lb.csv\nQUARANTINED forged",
        "\x1b[31mlb.csv",
        b"l\xe9.csv",
        "LB.CSV",
        "lb.CSV.GZ",
        "lb .csv",
        "lb.csv.part",
        "lb",
        "lb.txt",
        "l.csv",
        "supplb.csv",
        "relrec.csv",
        "lbb.csv",
        "x" * 200 + ".csv",
        "lb\n.csv",
        "zz.csv",
    ]:
        put(name, good, "hostile name")
    # entries that are not regular files
    outside = landing.parent / "outside.csv"
    outside.write_bytes(b"root:x:0:0:SECRET\n")
    for kind, target in (
        ("link outside", outside),
        ("link dangling", landing.parent / "nope.csv"),
        ("link to a directory", landing.parent),
    ):
        path = put("dm.csv", b"", kind)
        path.unlink()
        path.symlink_to(target)
    inside = put("lb.csv", good, "link target inside")
    path = put("lb.csv", b"", "link inside")
    path.unlink()
    path.symlink_to(inside)
    path = put("ae.csv", b"", "link loop")
    path.unlink()
    path.symlink_to(path)
    path = put("vs.csv", b"", "FIFO")
    path.unlink()
    os.mkfifo(path)
    return entries
