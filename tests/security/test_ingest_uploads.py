"""File uploads to ingest: a decompression bomb is refused before it is read, an oversized upload is cut off."""

import asyncio
import io
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook

from services.common.settings import IngestSettings
from services.ingest.app import create_app
from tests.infra import ROOT

pytestmark = pytest.mark.integration
HEADERS = ["结算单号", "身份证号", "行政区划代码", "就诊日期", "总费用", "自付金额", "病种类别"]


SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_RELATION = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def xlsx_bomb(path: Path, shared_strings_bytes: int) -> Path:
    """A real workbook given a shared-strings part of `shared_strings_bytes` (a few hundred KB packed)."""
    workbook = Workbook()
    workbook.active.append(HEADERS)
    buffer = io.BytesIO()
    workbook.save(buffer)
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    strings += b"<si><t>x</t></si>" * (shared_strings_bytes // 17 + 1) + b"</sst>"
    parts = {
        "[Content_Types].xml": (b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST}"/>'),
        "xl/_rels/workbook.xml.rels": (
            b"</Relationships>",
            f'<Relationship Id="rIdStrings" Type="{SST_RELATION}" Target="sharedStrings.xml"/>',
        ),
    }
    with zipfile.ZipFile(buffer) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for entry in original.infolist():
            data = original.read(entry)
            if entry.filename in parts:
                end, addition = parts[entry.filename]
                data = data.replace(end, addition.encode() + end)
            bomb.writestr(entry.filename, data)
        bomb.writestr("xl/sharedStrings.xml", strings, compresslevel=9)
    return path


def test_an_xlsx_whose_shared_strings_unpack_past_the_limit_is_refused_before_it_is_read(stack, tmp_path):
    bomb = xlsx_bomb(tmp_path / "settlements.xlsx", 65 * 1024 * 1024)  # the default limit is 64 MB
    assert bomb.stat().st_size < 1024 * 1024
    headers = {"authorization": f"Bearer {stack.ingest_key}"}
    with bomb.open("rb") as handle:
        response = httpx.post(
            f"{stack.ingest_url}/imports",
            params={"mapping": "medical-insurance"},
            files={"file": ("settlements.xlsx", handle)},
            headers=headers,
            timeout=60,
        )
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 120
    while (job := httpx.get(f"{stack.ingest_url}/imports/{response.json()['id']}", headers=headers).json())[
        "status"
    ] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    assert job["status"] == "failed" and "IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES" in job["error"], job
    assert job["attempt"] == 1, "a refused file fails on its first attempt: the same file would be refused again"

    small_limit = {"IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES": str(1024 * 1024)}
    command = [sys.executable, "-m", "services.ingest.cli", "import", str(xlsx_bomb(tmp_path / "b.xlsx", 2 << 20))]
    mapping = ["--mapping", str(ROOT / "deploy/mappings/medical-insurance.toml"), "--ingest-url", stack.ingest_url]
    result = subprocess.run(
        [*command, *mapping, "--key", stack.ingest_key],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**stack.env, "PATH": "/usr/bin:/bin", **small_limit},
    )
    assert result.returncode == 1 and "shared strings unpack to" in result.stdout, result.stdout + result.stderr


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A multipart body sent in chunks, without a Content-Length."""
    yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    for _ in range(total // size):
        yield b"a" * size
    yield b"\r\n--x--\r\n"


def test_a_chunked_upload_growing_past_the_limit_is_cut_off_with_413_and_nothing_is_kept(
    kafka_bootstrap, redis_url, tmp_path
):
    settings = IngestSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        redis_url=redis_url,
        ingest_api_keys="upload-key=/",
        pseudonym_key="test-pseudonym-key",  # type: ignore[arg-type]
        import_dir=tmp_path / "imports",
        import_max_body_bytes=256 * 1024,
    )
    app = create_app(settings)

    async def upload(size: int) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            return await client.post(
                "/imports",
                params={"mapping": "no-such-mapping"},
                content=chunks(size),
                headers={"authorization": "Bearer upload-key", "content-type": "multipart/form-data; boundary=x"},
            )

    too_large = asyncio.run(upload(1024 * 1024))
    assert too_large.status_code == 413
    within = asyncio.run(upload(128 * 1024))
    assert within.status_code == 404 and "no mapping named" in within.json()["detail"]  # reached the route
    assert not (tmp_path / "imports").exists() or not any((tmp_path / "imports").iterdir())
