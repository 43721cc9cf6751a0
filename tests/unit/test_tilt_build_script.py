"""tools/tilt/build.sh's choices, without building: PATH first, then the cache by version and UI
flavour (real before placeholder), and no build from a tarball whose checksum is wrong. The
build itself runs in tests/integration/test_tilt_ci.py (or is reused from the cache there)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools/tilt/build.sh"
VERSION = "0.37.6"


def run(tmp_path: Path, *, path_tilt: bool = False, **env: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "path-bin"
    bin_dir.mkdir(exist_ok=True)
    if path_tilt:
        (bin_dir / "tilt").write_text("#!/bin/sh\necho fake\n")
        (bin_dir / "tilt").chmod(0o755)
    full_env = {**os.environ, "PATH": f"{bin_dir}:/usr/local/go/bin:/usr/bin:/bin",
                "PARITY_CACHE": str(tmp_path / "cache"), "PARITY_THIRD_PARTY": str(tmp_path / "third_party"),
                # A machine's own tilt (say in /usr/bin) must not answer for the cache tests.
                "PARITY_TILT_FROM_SOURCE": "0" if path_tilt else "1", **env}
    return subprocess.run(["bash", str(SCRIPT)], env=full_env, capture_output=True, text=True, timeout=60)


def cached(tmp_path: Path, flavour: str) -> Path:
    binary = tmp_path / "cache" / "tilt" / f"{VERSION}-ui-{flavour}" / "bin" / "tilt"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return binary


def test_tilt_on_path_wins_unless_building_from_source_is_asked(tmp_path):
    proc = run(tmp_path, path_tilt=True)
    assert proc.returncode == 0 and proc.stdout.strip() == str(tmp_path / "path-bin" / "tilt")
    real = cached(tmp_path, "real")
    proc = run(tmp_path, path_tilt=True, PARITY_TILT_FROM_SOURCE="1")  # overrides the default above
    assert proc.returncode == 0 and proc.stdout.strip() == str(real)


def test_cache_prefers_the_real_ui_and_honours_a_forced_flavour(tmp_path):
    placeholder = cached(tmp_path, "placeholder")
    assert run(tmp_path).stdout.strip() == str(placeholder)
    real = cached(tmp_path, "real")
    assert run(tmp_path).stdout.strip() == str(real)
    assert run(tmp_path, PARITY_TILT_UI="placeholder").stdout.strip() == str(placeholder)
    bad = run(tmp_path, PARITY_TILT_UI="fancy")
    assert bad.returncode == 2 and "PARITY_TILT_UI" in bad.stderr


def test_a_tarball_with_the_wrong_checksum_is_not_built(tmp_path):
    third_party = tmp_path / "third_party"
    third_party.mkdir()
    (third_party / f"tilt-v{VERSION}-src.tar.gz").write_bytes(b"not the tilt source")
    proc = run(tmp_path)
    assert proc.returncode == 1
    assert "checksum mismatch" in proc.stderr and "refusing to build" in proc.stderr
    assert not (tmp_path / "cache" / "tilt" / f"{VERSION}-ui-real").exists()


def test_no_source_and_no_tilt_says_how_to_get_one(tmp_path):
    proc = run(tmp_path)
    assert proc.returncode == 1
    assert "no Tilt source" in proc.stderr and "docs/quickstart.md" in proc.stderr
