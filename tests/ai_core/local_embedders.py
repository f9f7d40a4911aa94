"""What the tests of both local MiniLM embedders share: the reference vectors and a file tamperer."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np

REFERENCE = json.loads((Path(__file__).parent.parent / "data" / "minilm_reference.json").read_text("utf-8"))
CASES = REFERENCE["cases"]
CASE_IDS = [f"{i}:{c['text'][:24]}" for i, c in enumerate(CASES)]


def cosine(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def flip_byte(path: Path, offset: int) -> None:
    """Corrupt one byte in place, as a damaged download or a swapped file would."""
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def forbid_network(monkeypatch) -> None:
    """Make any connection attempt fail the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def assert_integrity_message(message: str, *, path: Path, expected_sha256: str) -> None:
    """The refusal names the file, the pinned hash and a different, real hash of what was found."""
    assert str(path) in message
    assert f"expected sha256 {expected_sha256}" in message
    actual = message.split("got ")[1].split(".")[0]
    assert len(actual) == 64 and actual != expected_sha256
