"""The progress picture: a server-rendered, accessible SVG stacked bar per instansi.

The dashboard counts overlap (a verified PNS is also registered and confirmed; a PNS still pending
when the campaign closed is also not_reregistered), so each bar splits the roster into disjoint
segments, taken in order of precedence: verified, submitted, returned, sanctioned, confirmed without
a submission, waiting for confirmation, and the rest (not registered yet). Each segment is clamped to
what is left of the roster, so a bar never exceeds 100 %. The exact counts are in the table below it.
Colours are the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies); the
sanctioned segment is also hatched, and every segment carries a <title> with its count.
"""
from __future__ import annotations

from html import escape

# key, legend label, fill colour (Okabe–Ito), drawn left to right in this order
SEGMENTS = (
    ("verified", "Terverifikasi", "#009E73"),
    ("submitted", "Menunggu verifikasi", "#56B4E9"),
    ("returned", "Dikembalikan untuk perbaikan", "#E69F00"),
    ("draft", "Dikonfirmasi, belum mengirim", "#0072B2"),
    ("pending", "Menunggu konfirmasi pendaftaran", "#F0E442"),
    ("unregistered", "Belum mendaftar", "#D9DDE3"),
    ("not_reregistered", "Tidak mendaftar ulang (sanksi)", "#D55E00"),
)
PRECEDENCE = ("verified", "submitted", "returned", "not_reregistered", "draft", "pending", "unregistered")
LABEL_W, BAR_W, VALUE_W, ROW_H, BAR_H, TOP = 150, 560, 100, 30, 20, 26
WIDTH = LABEL_W + BAR_W + VALUE_W


def _int(row: dict, key: str) -> int:
    try:
        return max(0, int(row.get(key) or 0))
    except (TypeError, ValueError):
        return 0


def segments(row: dict) -> dict[str, int]:
    """Disjoint counts that add up to the roster (see the module docstring)."""
    roster = _int(row, "roster")
    done = _int(row, "submitted") + _int(row, "verified") + _int(row, "returned")
    wanted = {
        "verified": _int(row, "verified"), "submitted": _int(row, "submitted"), "returned": _int(row, "returned"),
        "not_reregistered": _int(row, "not_reregistered"),
        "draft": max(0, _int(row, "confirmed") - done),
        "pending": max(0, _int(row, "registered") - _int(row, "confirmed")),
        "unregistered": roster,
    }
    left, result = roster, {}
    for key in PRECEDENCE:
        result[key] = min(wanted[key], left)
        left -= result[key]
    return result


def percent(part: int, whole: int) -> str:
    """`12,5 %` (Indonesian decimal comma)."""
    if not whole:
        return "0 %"
    return f"{100 * part / whole:.1f}".replace(".", ",").removesuffix(",0") + " %"


def _bar(y: int, name: str, row: dict) -> str:
    roster = _int(row, "roster")
    label = (f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 5}" text-anchor="end" class="lbl">{escape(name)}</text>')
    if not roster:
        return label + (f'<text x="{LABEL_W}" y="{y + BAR_H - 5}" class="note">tidak ada di data induk '
                        f'(hanya percobaan NIP tak dikenal)</text>')
    parts, x = [], float(LABEL_W)
    counts = segments(row)
    for key, text, colour in SEGMENTS:
        count = counts[key]
        if not count:
            continue
        width = BAR_W * count / roster
        fill = "url(#hatch)" if key == "not_reregistered" else colour
        parts.append(f'<rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{BAR_H}" fill="{fill}">'
                     f'<title>{escape(name)}: {escape(text)} {count} dari {roster} ({percent(count, roster)})'
                     f'</title></rect>')
        x += width
    finished = counts["verified"] + counts["submitted"] + counts["returned"]
    outline = (f'<rect x="{LABEL_W}" y="{y}" width="{BAR_W}" height="{BAR_H}" fill="none" stroke="#5b6675" '
               f'stroke-width="1"/>')
    value = (f'<text x="{LABEL_W + BAR_W + 8}" y="{y + BAR_H - 5}" class="val">'
             f'{percent(finished, roster)}</text>')
    return label + "".join(parts) + outline + value


def _legend(y: int) -> tuple[str, int]:
    items, x, line = [], 0, 0
    for key, text, colour in SEGMENTS:
        width = 24 + 7 * len(text)
        if x + width > WIDTH:
            x, line = 0, line + 1
        fill = "url(#hatch)" if key == "not_reregistered" else colour
        top = y + line * 22
        items.append(f'<rect x="{x}" y="{top}" width="14" height="14" fill="{fill}" stroke="#5b6675"/>'
                     f'<text x="{x + 20}" y="{top + 12}" class="leg">{escape(text)}</text>')
        x += width + 12
    return "".join(items), (line + 1) * 22


def progress_chart(totals: dict, by_instansi: list[dict]) -> str:
    """The whole picture: a national bar, then one bar per instansi, then the legend."""
    rows = [("Seluruh instansi", totals), *[(str(r.get("instansi_kode")), r) for r in by_instansi]]
    bars = "".join(_bar(TOP + i * ROW_H + (10 if i else 0), name, row) for i, (name, row) in enumerate(rows))
    legend_y = TOP + len(rows) * ROW_H + 22
    legend, legend_h = _legend(legend_y)
    height = legend_y + legend_h + 4
    roster = _int(totals, "roster")
    done = sum(_int(totals, k) for k in ("submitted", "verified", "returned"))
    desc = (f"Diagram batang bertumpuk: untuk setiap instansi, bagian data induk menurut tahap pendataan ulang "
            f"(terverifikasi, menunggu verifikasi, dikembalikan, dikonfirmasi belum mengirim, menunggu konfirmasi, "
            f"belum mendaftar, tidak mendaftar ulang). Angka di kanan: persentase yang sudah mengirim data. "
            f"Secara nasional {done} dari {roster} PNS ({percent(done, roster)}) sudah mengirim data. "
            f"Angka lengkap ada pada tabel di bawah diagram.")
    return (f'<svg class="chart" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="chart-title">Progres pendataan ulang per instansi</title>'
            f'<desc id="chart-desc">{escape(desc)}</desc>'
            f'<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#D55E00"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="#000" stroke-width="2" stroke-opacity="0.45"/></pattern>'
            f'</defs><text x="{LABEL_W - 8}" y="14" text-anchor="end" class="head">Instansi</text>'
            f'<text x="{LABEL_W}" y="14" class="head">Bagian dari data induk (100 %)</text>'
            f'<text x="{LABEL_W + BAR_W + 8}" y="14" class="head">Sudah kirim</text>{bars}'
            f'<line x1="0" y1="{TOP + ROW_H + 2}" x2="{WIDTH}" y2="{TOP + ROW_H + 2}" stroke="#c3cad3"/>'
            f'{legend}</svg>')
