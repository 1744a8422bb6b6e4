"""The documentation: `invoke docs` builds the MkDocs site under --strict, a broken link or a missing page
fails that build naming it, and the README stays two screens that start a newcomer with the two commands."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TWO_COMMANDS = """```sh
./setup.sh invoke up scenario=userns     # set up, then run the userns lab
./setup.sh pytest                        # set up, then run the whole test suite
```"""


def nav_pages() -> list[str]:
    config = yaml.safe_load((PROJECT / "mkdocs.yml").read_text())
    return [page for entry in config["nav"] for page in entry.values()]


def mkdocs() -> Path:
    path = BIN / "mkdocs"
    assert path.exists(), "mkdocs is missing (./setup.sh installs it with the docs extra)"
    return path


def test_invoke_docs_builds_every_page_of_the_nav(tmp_path):
    mkdocs()
    site = tmp_path / "site"
    done = subprocess.run([str(BIN / "invoke"), "docs", "--out", str(site)], cwd=PROJECT, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"built in {site}/" in done.stdout
    for page in nav_pages():
        built = site / ("index.html" if page == "index.md" else f"{page.removesuffix('.md')}/index.html")
        assert built.is_file(), f"{page}: no {built} in the site"
    for figure in (PROJECT / "docs" / "figures").iterdir():
        assert (site / "figures" / figure.name).is_file()


def test_every_page_in_docs_is_in_the_nav():
    assert sorted(nav_pages()) == sorted(p.name for p in (PROJECT / "docs").glob("*.md"))


def add_line(page: Path, line: str) -> None:
    page.write_text(page.read_text() + f"\n{line}\n")


@pytest.mark.parametrize("break_it, named", [
    (lambda docs: add_line(docs / "tests.md", "[x](nowhere.md)"), "nowhere.md"),
    (lambda docs: add_line(docs / "tests.md", "[x](labs.md#nowhere)"), "#nowhere"),
    (lambda docs: (docs / "measured.md").unlink(), "measured.md"),
], ids=["broken-link", "broken-anchor", "missing-page"])
def test_a_strict_build_fails_naming_what_is_broken(tmp_path, break_it, named):
    shutil.copytree(PROJECT / "docs", tmp_path / "docs")
    shutil.copy(PROJECT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    command = [str(mkdocs()), "build", "--strict", "-f", str(tmp_path / "mkdocs.yml"),
               "--site-dir", str(tmp_path / "site")]
    whole = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stdout + whole.stderr     # the copy builds as it is...
    break_it(tmp_path / "docs")
    broken = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert broken.returncode != 0                                  # ...and not once broken,
    warnings = [line for line in broken.stderr.splitlines() if line.startswith("WARNING")]
    assert any(named in line for line in warnings), broken.stderr  # naming what broke


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end != -1 else len(text)]


def test_the_readme_is_two_screens_starting_with_the_two_commands():
    readme = (PROJECT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert TWO_COMMANDS in readme
    assert "exits 0 when every verdict passed, 1 when one failed, 2 on bad input" in readme
    # The site's overview says the same as the README, word for word.
    index = (PROJECT / "docs" / "index.md").read_text()
    assert section(index, "## The two commands") == section(readme, "## The two commands")


def test_every_link_of_the_readme_reaches_a_file():
    readme = (PROJECT / "README.md").read_text()
    targets = [t for t in re.findall(r"\]\(([^)]+)\)", readme) if "://" not in t]
    assert any(t.startswith("docs/") for t in targets)
    for target in targets:
        assert (PROJECT / target.split("#")[0]).is_file(), f"README links to {target}, which does not exist"
    assert {f"docs/{page}" for page in nav_pages()} <= set(targets), "a page of the site the README does not name"
