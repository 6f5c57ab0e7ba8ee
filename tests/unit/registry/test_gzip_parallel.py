"""Parallel gzip: one valid gzip stream (members in order), the uncompressed digest on the way,
random blocks stored rather than compressed."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess

from stackfile.registry.gzip_parallel import BLOCK, ParallelGzip


def _compress(data: bytes, piece: int = 10_000) -> tuple[bytes, str]:
    out = io.BytesIO()
    gz = ParallelGzip(out, workers=3)
    for i in range(0, len(data), piece):
        gz.write(data[i : i + piece])
    gz.close()
    return out.getvalue(), gz.diff_id


def test_members_read_back_as_one_stream_with_the_tar_digest() -> None:
    data = b"".join(f"line {i} of a compressible layer\n".encode() for i in range(400_000)) + os.urandom(
        BLOCK
    )
    blob, diff_id = _compress(data)
    assert gzip.decompress(blob) == data
    assert subprocess.run(["gzip", "-dc"], input=blob, capture_output=True, check=True).stdout == data
    assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert len(blob) < len(data) * 0.5 + BLOCK * 1.01  # text compressed, the random block stored


def test_random_data_is_stored_and_empty_input_is_a_valid_gzip() -> None:
    data = os.urandom(2 * BLOCK + 123)
    blob, _ = _compress(data, piece=1 << 20)
    assert gzip.decompress(blob) == data and len(blob) < len(data) * 1.01
    empty, diff_id = _compress(b"")
    assert gzip.decompress(empty) == b"" and diff_id == "sha256:" + hashlib.sha256(b"").hexdigest()
