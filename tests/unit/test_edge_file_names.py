"""A download keeps its file name whatever the alphabet, without breaking the HTTP header (latin-1 only)."""
from __future__ import annotations

from urllib.parse import unquote

from edge.http.responses import binary_response


def test_any_file_name_is_sent_as_ascii_fallback_and_utf8():
    name = 'Ijazah "S1" — Universitas Gadjah Mada — محمد.pdf'
    response = binary_response(b"%PDF-1.4", "application/pdf", name)
    header = response.headers["Content-Disposition"]
    header.encode("latin-1")  # what the WSGI server must be able to write
    assert header.startswith('inline; filename="Ijazah _S1_ _ Universitas Gadjah Mada _ ____.pdf"; ')
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == name
