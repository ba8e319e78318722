"""Build the Lambda package: `zappa package STAGE`, then add compiled bytecode, and report the size.

Zappa leaves __pycache__ out, and Lambda's code directory is read-only, so without this every cold
start compiles Flask, Werkzeug and the app again. Run it with the deploy virtualenv's Python:

    python deploy/package.py dev            # writes build/turbine-status-dev.zip
    zappa deploy dev -z build/turbine-status-dev.zip
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_VENV = ROOT / ".venv-deploy"


def ensure_venv(venv: Path = DEPLOY_VENV) -> Path:
    """The deploy virtualenv, made if missing, holding requirements-deploy.txt and nothing else."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(ROOT / "requirements-deploy.txt"),
        ],
        check=True,
    )
    return venv


def build(stage: str, out: Path, venv: Path = DEPLOY_VENV) -> Path:
    """Run this script in the deploy virtualenv, as a user would; returns the zip."""
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    subprocess.run(
        [str(venv / "bin" / "python"), __file__, stage, "--out", str(out)],
        check=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
    )
    return out


def runtime_of(stage: str) -> str:
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    stage_settings = settings[stage]
    while "runtime" not in stage_settings and "extends" in stage_settings:
        stage_settings = {**settings[stage_settings["extends"]], **stage_settings}
    return str(stage_settings["runtime"])


def add_bytecode(source_zip: Path, target_zip: Path) -> int:
    """Copy the zip, adding an unchecked-hash .pyc for every module; returns how many were added.

    Bytecode Zappa let through is dropped: it checks timestamps, and the zip's say 1980."""
    added = 0
    with (
        tempfile.TemporaryDirectory() as work,
        zipfile.ZipFile(source_zip) as source,
        zipfile.ZipFile(target_zip, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if "__pycache__/" in f"/{info.filename}":
                continue
            data = source.read(info)
            target.writestr(info, data)
            if not info.filename.endswith(".py"):
                continue
            module = Path(work) / info.filename
            module.parent.mkdir(parents=True, exist_ok=True)
            module.write_bytes(data)
            compiled = Path(work) / "compiled.pyc"
            try:
                # Unchecked hashes: the package never changes, and zip timestamps say 1980.
                py_compile.compile(
                    str(module),
                    cfile=str(compiled),
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError:
                continue  # a file that is not valid Python 3.11 (templates and the like) stays as it is
            name = Path(info.filename)
            tag = sys.implementation.cache_tag
            pyc = info.filename[: -len(name.name)] + f"__pycache__/{name.stem}.{tag}.pyc"
            pyc_info = zipfile.ZipInfo(pyc, date_time=info.date_time)
            pyc_info.external_attr = info.external_attr
            target.writestr(pyc_info, compiled.read_bytes(), zipfile.ZIP_DEFLATED)
            added += 1
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", help="a stage of zappa_settings.json")
    parser.add_argument("--out", type=Path, help="default: build/turbine-status-STAGE.zip")
    args = parser.parse_args()
    runtime = runtime_of(args.stage)
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != here:
        sys.exit(f"{args.stage} runs on {runtime} but this is {here}: the bytecode and any binaries would not fit.")
    if not os.environ.get("VIRTUAL_ENV"):
        sys.exit("Activate the deploy virtualenv first: Zappa packages the active virtualenv.")
    out = args.out or ROOT / "build" / f"turbine-status-{args.stage}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    plain = out.with_suffix(".plain.zip")
    zappa = Path(sys.executable).parent / "zappa"
    subprocess.run([str(zappa), "package", args.stage, "-o", str(plain)], cwd=ROOT, check=True)
    added = add_bytecode(plain, out)
    plain.unlink()
    print(f"{out}: {out.stat().st_size / 1e6:.2f} MB, {added} modules with bytecode")


if __name__ == "__main__":
    main()
