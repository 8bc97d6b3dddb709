"""README.md and docs/*.md: links resolve, and the variables and make targets they name exist.

An environment variable, as the docs name one: a word in an inline code span (`API_KEYS`, or
`CLOUDANT_CAPACITY=auto`, or `HOST=0.0.0.0 make run`) that is upper case, starts with a letter and
either has an underscore or is followed by `=`. Upper-case words without either (`GET`, `BASIC`,
`IAM`) are HTTP methods and values, not variables; fenced blocks are shell sessions with variables
of their own (`BROWSER_KEY=$(…)`), so they are left out. A make target: `make <target>` in a code
span or a fenced block (in prose, "make the session safe" is English).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from api.cli.config_reference import CONFIGURATION, END, START, page_with_table, table_in
from api.config.variables import BY_NAME

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / 'README.md', *sorted(ROOT.joinpath('docs').glob('*.md'))]
LINKED = [*PAGES, ROOT / 'bench' / 'results' / 'history.md']  # the history the performance page moved out

# Upper-case names in the docs that are not couchgate's variables, and why.
NOT_OURS = {
    'COUCHDB_SESSION': 'a value of CLOUDANT_AUTH_TYPE (the name ibmcloudant uses), not a variable',
    'REQUESTS_CA_BUNDLE': 'read by requests itself; the docs name it to say CLOUDANT_CA_BUNDLE wins over it',
    'PYTEST_ARGS': 'a variable of the Makefile (more arguments for pytest), not of the app',
    'SUB': 'a variable of the Makefile (the user of `make token`), not of the app',
    'NAME': 'a placeholder, in the syntax `--couchgate-env NAME=VALUE` of python -m bench.run',
}

_FENCE = re.compile(r'^ *```.*?^ *```', re.S | re.M)
_CODE_SPAN = re.compile(r'(`+)(.+?)\1', re.S)
_LINK = re.compile(r'!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)')
_HEADING = re.compile(r'^(#{1,6}) +(.+?) *#* *$', re.M)
_VARIABLE = re.compile(r'(?<![\w-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z][A-Z0-9]+(?==))(?![\w-])')
_MAKE = re.compile(r'(?<![\w-])make ([a-z][a-z0-9-]*)')


def _prose(text: str) -> str:
    """The page without fenced blocks (links and headings inside them are code)."""
    return _FENCE.sub('', text)


def _spans(text: str) -> list[str]:
    """Every inline code span of the page."""
    return [span.group(2) for span in _CODE_SPAN.finditer(_prose(text))]


def _code(text: str) -> list[str]:
    """Every fenced block and every inline code span of the page."""
    return [block.group(0) for block in _FENCE.finditer(text)] + _spans(text)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: its text, lower case, without punctuation but - and _."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # a link counts by its text
    text = re.sub(r'[^\w\- ]', '', text.lower())
    return text.replace(' ', '-')


def anchors(path: Path) -> set[str]:
    """The anchors of a page's headings; a repeated one gets -1, -2, … as on GitHub."""
    seen: Counter[str] = Counter()
    found = set()
    for match in _HEADING.finditer(_prose(path.read_text(encoding='utf-8'))):
        anchor = github_anchor(match.group(2))
        found.add(f'{anchor}-{seen[anchor]}' if seen[anchor] else anchor)
        seen[anchor] += 1
    return found


def _without_code_spans(text: str) -> str:
    return _CODE_SPAN.sub('', _prose(text))


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in _LINK.findall(_without_code_spans(page.read_text(encoding='utf-8'))):
        if re.match(r'[a-z][a-z0-9+.-]*:', target):  # https:, mailto:: not ours to check offline
            continue
        file, _, anchor = target.partition('#')
        linked = (page.parent / file).resolve() if file else page
        if not linked.exists():
            broken.append(f'{target}: no file {os.path.relpath(linked, ROOT)}')
        elif anchor and (linked.suffix != '.md' or anchor not in anchors(linked)):
            broken.append(f'{target}: no heading #{anchor} in {linked.relative_to(ROOT)}')
    return broken


def named_variables(text: str) -> set[str]:
    """The variables the page names: by the rule above, or a code span that is a variable's name (`PORT`)."""
    spans = _spans(text)
    return {name for span in spans for name in _VARIABLE.findall(span)} | (set(spans) & set(BY_NAME))


def _outside_the_table(text: str) -> str:
    before, start, rest = text.partition(START)
    return before + rest.partition(END)[2] if start else text


def make_targets_named(text: str) -> set[str]:
    return {target for code in _code(text) for target in _MAKE.findall(code)}


def makefile_targets() -> set[str]:
    makefile = ROOT.joinpath('Makefile').read_text(encoding='utf-8')
    return {name for names in re.findall(r'^([a-z][\w -]*):(?!=)', makefile, re.M) for name in names.split()}


@pytest.mark.parametrize('page', LINKED, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = broken_links(page)
    assert not broken, f'{page.relative_to(ROOT)} links to what is not there: ' + '; '.join(broken)


def test_anchors_are_computed_as_github_does() -> None:
    assert github_anchor('Why `ibmcloudant`, not `cloudant`') == 'why-ibmcloudant-not-cloudant'
    assert github_anchor('HTTP semantics: HEAD, OPTIONS, validators, compression') == (
        'http-semantics-head-options-validators-compression'
    )
    assert github_anchor('Importing 10,000 documents: one request or ten thousand') == (
        'importing-10000-documents-one-request-or-ten-thousand'
    )
    assert github_anchor("Today's figures") == 'todays-figures'
    assert github_anchor('snake_case and - dashes') == 'snake_case-and---dashes'


def test_a_repeated_heading_gets_a_numbered_anchor(tmp_path: Path) -> None:
    page = tmp_path / 'page.md'
    page.write_text('# Proofs\n\n```sh\n# not a heading\n```\n\n## Proofs\n\n## Proofs\n', encoding='utf-8')
    assert anchors(page) == {'proofs', 'proofs-1', 'proofs-2'}


def test_every_variable_the_docs_name_is_in_the_configuration_table() -> None:
    named = {name for page in PAGES for name in named_variables(page.read_text(encoding='utf-8'))}
    unknown = named - set(BY_NAME) - set(NOT_OURS)
    assert unknown == set(), 'named in the docs, not in api/config/variables.py'
    assert set(NOT_OURS) <= named, 'an exemption the docs no longer need'


def test_every_variable_of_the_table_is_explained_outside_it() -> None:
    pages = [_outside_the_table(page.read_text(encoding='utf-8')) for page in PAGES]
    explained = {name for page in pages for name in named_variables(page)}
    assert set(BY_NAME) - explained == set(), 'only in the generated table: say where it matters'


def test_every_make_target_the_docs_name_exists() -> None:
    named = {target for page in PAGES for target in make_targets_named(page.read_text(encoding='utf-8'))}
    assert {'run', 'test', 'test-unit', 'lint'} <= named
    assert named - makefile_targets() == set()


def _paths_named(span: str) -> list[str]:
    """Repository paths in a code span; `tests/integration/test_{faults,logins}.py` names two."""
    found = []
    for path in re.findall(r'(?<![\w/.])((?:api|bench|bin|design|resources|tests)/[\w./{},-]*\w)', span):
        head, brace, rest = path.partition('{')
        choices, _, tail = rest.partition('}')
        found += [head + choice + tail for choice in choices.split(',')] if brace else [path]
    return found


def test_every_proof_the_docs_cite_exists() -> None:
    tests = ROOT / 'tests'
    sources = [path.read_text(encoding='utf-8') for path in tests.rglob('*.py')]
    defined = {name for source in sources for name in re.findall(r'def (test_\w+)', source)}
    missing = []
    for page in LINKED:
        for span in _spans(page.read_text(encoding='utf-8')):
            for path in _paths_named(span):  # tests/support/problems.assert_problem: a function of a module
                if not (ROOT / path).exists() and not (ROOT / f'{path.rpartition(".")[0]}.py').exists():
                    missing.append(f'{page.name}: {path}')
            for name in re.findall(r'(?:^|::|\s|,)(test_\w+)(?![\w.])', span):
                if name not in defined and not list(tests.rglob(f'{name}.py')):
                    missing.append(f'{page.name}: {name}')
    assert missing == []


def test_the_readme_is_a_front_page() -> None:
    readme = ROOT.joinpath('README.md').read_text(encoding='utf-8')
    assert len(readme.splitlines()) <= 350
    assert '`make run`' in readme and '`make test`' in readme


def test_every_docs_page_opens_with_what_a_reader_comes_for() -> None:
    for page in PAGES[1:]:
        title, blank, opening = page.read_text(encoding='utf-8').split('\n')[:3]
        assert title.startswith('# ') and blank == '' and opening.startswith('For '), page.name


def test_the_configuration_page_is_what_the_generator_writes() -> None:
    page = CONFIGURATION.read_text(encoding='utf-8')
    assert page_with_table(page) == page, 'run python -m api.cli.config_reference --write'
    assert len(re.findall(r'^\| `', table_in(page), re.M)) == len(BY_NAME)
