"""The package: metadata and the three roles' extras, py.typed, and an sdist that installs into a
clean virtual environment and imports (slow: builds the C++ core, a few minutes on 2 cores). That
the library imports with NumPy alone is tested in tests/test_layout.py."""

import pathlib
import subprocess
import sys
import venv

import pytest

import softlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_metadata_declares_each_role():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["dependencies"] == ["numpy>=1.23"]  # the library needs NumPy alone
    extras = meta["optional-dependencies"]
    assert any(
        d.startswith("scipy") for d in extras["chapters"]
    )  # softlib.chapters.moe imports SciPy
    assert any(d.startswith("matplotlib") for d in extras["viz"])
    assert any(d.startswith("ruff") for d in extras["test"])
    # make bench's anchors
    assert any(d.startswith("onnxruntime") for d in extras["compare"])
    assert (pathlib.Path(softlib.__file__).parent / "py.typed").exists()


@pytest.mark.slow
def test_sdist_installs_in_a_clean_venv(tmp_path):
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    r = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (sdist,) = dist.glob("softlib-*.tar.gz")
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    r = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(sdist)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    code = "import softlib; print(softlib.__version__, softlib.isa(), softlib.logsumexp([0.0, -40.0]))"
    r = subprocess.run(
        [str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert softlib.__version__ in r.stdout and "4.24835425529" in r.stdout
    # every role's package is installed (a bare "book" in sdist.exclude would drop softlib/book)
    code = (
        "import pathlib, softlib; root = pathlib.Path(softlib.__file__).parent\n"
        "print(all((root / f).is_file() for f in ('book/viz.py', 'chapters/moe/model.py')))"
    )
    r = subprocess.run(
        [str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert r.stdout.strip() == "True", r.stderr
