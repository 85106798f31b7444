"""The README and docs/*.md stay true: every relative link and anchor resolves, every `make` target shown exists,
and every command shown (`python -m …`, `.venv/bin/python -m …`, the analyst's `cli …` / `$C …`) answers `--help`."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
SPAN = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PYTHON_M = re.compile(r"(?:\.venv/bin/)?python3? -m ([A-Za-z_][\w.]*)(?: ([a-z][\w-]*))?")
MAKE = re.compile(r"\bmake ([a-z][\w-]*)")
# The analyst's command line, written short in the docs' code blocks ("Every command is
# `.venv/bin/python -m services.analytics.cli …`", and `C=".venv/bin/python -m services.analytics.cli"`).
ALIASES = {"cli": "services.analytics.cli", "$C": "services.analytics.cli"}


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of a Markdown text."""
    return FENCE.findall(text)


def code(text: str) -> list[str]:
    """The code of a Markdown text: its fenced blocks and its code spans."""
    return [*code_blocks(text), *SPAN.findall(FENCE.sub("", text))]


def prose(text: str) -> str:
    """The text less its code blocks and code spans (where a `[x](y)` is not a link)."""
    return SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (letters of any script kept), spaces → -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower()).replace("`", "")
    return "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN").replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """Every anchor the headings of a page make (a repeated heading gets -1, -2, …)."""
    seen: dict[str, int] = {}
    found = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        if heading := re.match(r"^#{1,6} (.+)$", line):
            name = slug(heading.group(1))
            count = seen.get(name, 0)
            found.add(name if count == 0 else f"{name}-{count}")
            seen[name] = count + 1
    return frozenset(found)


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file or anchor does not exist."""
    broken = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    return broken


def commands(text: str) -> set[tuple[str, ...]]:
    """(module, subcommand?) of every command shown in code blocks and code spans."""
    found: set[tuple[str, ...]] = set()
    for shown in code(text):
        for module, sub in PYTHON_M.findall(shown):
            found.add((module, sub) if sub else (module,))
    for block in code_blocks(text):
        for line in block.splitlines():
            words = line.split()
            if len(words) > 1 and words[0] in ALIASES and re.fullmatch(r"[a-z][\w-]*", words[1]):
                found.add((ALIASES[words[0]], words[1]))
    return found


def make_targets(text: str) -> set[str]:
    """Every `make X` shown in code blocks and code spans."""
    return {target for shown in code(text) for target in MAKE.findall(shown)}


# Runs `python -m MODULE [SUB] --help` for each SUB given, in one interpreter per module (imported once): prints
# the exit status of each that did not exit 0.
DRIVER = """
import io, runpy, sys, contextlib
module, subs = sys.argv[1], sys.argv[2:]
for sub in subs:
    sys.argv = [module, *([sub] if sub != "-" else []), "--help"]
    shown = io.StringIO()
    try:
        with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    if code != 0:
        print(f"python -m {module} {sub if sub != '-' else ''} --help: exit {code}\\n{shown.getvalue()[-600:]}")
"""


def failing_help(module: str, subs: list[str]) -> str:
    """What went wrong with `python -m module [sub] --help` for each sub ("-": none): empty when each exits 0."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", DRIVER, module, *subs], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
    except subprocess.TimeoutExpired:
        return f"python -m {module} … --help: no answer within 300 s"
    return done.stdout.strip() if done.returncode == 0 else f"python -m {module}: exit {done.returncode}\n{done.stderr}"


def test_every_relative_link_and_anchor_in_the_readme_and_the_docs_resolves():
    assert len(PAGES) > 5, "docs/ holds the readers' pages"
    assert [broken for page in PAGES for broken in broken_links(page)] == []


def test_every_make_target_the_readme_and_the_docs_show_exists_in_the_makefile():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    defined = set(re.findall(r"^([\w-]+):", makefile, re.MULTILINE))
    shown = {target for page in PAGES for target in make_targets(page.read_text(encoding="utf-8"))}
    assert {"run", "test"} <= shown
    assert sorted(shown - defined) == []


def test_every_command_the_readme_and_the_docs_show_answers_help():
    shown = sorted({command for page in PAGES for command in commands(page.read_text(encoding="utf-8"))})
    assert ("services.analytics.cli", "train") in shown and ("services.alerts", "rebuild") in shown
    by_module: dict[str, list[str]] = {}
    for module, *sub in shown:
        by_module.setdefault(module, []).append(sub[0] if sub else "-")
    with ThreadPoolExecutor(3) as pool:
        failures = [failure for failure in pool.map(failing_help, by_module, by_module.values()) if failure]
    assert failures == [], "\n\n".join(failures)
