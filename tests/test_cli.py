"""The operator commands, run as a person would: in a subprocess, on a fresh SQLite instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REGIONS = Path(__file__).resolve().parent.parent / "hierarchy" / "data"


def shouhu(tmp_path, *args, stdin: str | None = None):
    env = {**os.environ, "SHOUHU_INSTANCE_DIR": str(tmp_path / "instance")}
    env.pop("SHOUHU_DATABASE_URL", None)
    env.pop("SHOUHU_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "tenant_app.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


def test_demo_setup_users_create_and_bad_regions(tmp_path):
    first = shouhu(tmp_path, "demo", "setup")
    assert first.returncode == 0, first.stderr
    assert "village_staff" in first.stdout and "Shouhu2026" in first.stdout
    assert (tmp_path / "instance" / "shouhu.sqlite3").exists()

    again = shouhu(tmp_path, "regions", "load", str(REGIONS / "shaoguan"))
    assert again.returncode == 0, again.stderr
    assert "total" in again.stdout

    created = shouhu(tmp_path, "users", "create", "--unit", "440204", "--username", "zj_admin", "--role", "admin",
                     stdin="Zhenjiang2026\n")
    assert created.returncode == 0, created.stderr
    assert "created zj_admin (admin) at 440204" in created.stdout

    duplicate = shouhu(tmp_path, "users", "create", "--unit", "440204", "--username", "zj_admin",
                       "--role", "admin", stdin="Zhenjiang2026\n")
    assert duplicate.returncode == 1
    assert "username" in duplicate.stderr

    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    (bad_dir / "provinces.csv").write_text("code,name\n45,广西壮族自治区\n", encoding="utf-8")
    (bad_dir / "cities.csv").write_text("code,name,provinceCode\n4501,南宁市,45\n4599999,坏市,45\n",
                                        encoding="utf-8")
    refused = shouhu(tmp_path, "regions", "load", str(bad_dir))
    assert refused.returncode == 1
    assert "cities.csv:3" in refused.stderr


def test_demo_up_serves_the_quick_start(tmp_path):
    """The README's first command: `demo up` sets everything up and answers on its port."""
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SHOUHU_INSTANCE_DIR": str(tmp_path / "instance")}
    env.pop("SHOUHU_DATABASE_URL", None)
    env.pop("SHOUHU_REDIS_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "tenant_app.cli", "demo", "up", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    status = response.status
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, f"demo did not serve (exit code {server.poll()})"
        assert "登录" in body
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "village_staff" in output and "demo children:" in output
