"""The report's code hash covers what shapes its pages (factledger/report/codehash.py): the
package's files and the definitions of other factledger modules it reaches, read from the source."""
from __future__ import annotations

from factledger.report import codehash

SOURCES = {
    "factledger.m": (
        "from factledger import other\n"
        "from factledger.third import helper\n"
        "K = 3\n"
        "def a(x):\n    return b(x) + other.d()\n"
        "def b(x):\n    return x * K + helper()\n"
        "def c():\n    return 'not reached'\n"
        "class P:\n    def method(self):\n        return a(1)\n"),
    "factledger.other": "def d():\n    return e()\ndef e():\n    return 1\ndef f():\n    return 2\n",
    "factledger.third": "def helper():\n    return 0\n",
}


def test_definitions_are_followed_from_what_is_named_within_and_across_modules():
    found = codehash.reached(SOURCES, {("factledger.m", "a")})
    assert [s.split("(")[0].split(" =")[0] for s in found["factledger.m"]] == ["K", "def a", "def b"]
    assert [s.split("(")[0] for s in found["factledger.other"]] == ["def d", "def e"]
    assert found["factledger.third"] == ["def helper():\n    return 0"]
    assert "factledger.other" not in codehash.reached(SOURCES, {("factledger.m", "c")})
    assert len(codehash.reached(SOURCES, {("factledger.m", "P")})["factledger.m"]) == 4  # a class: its methods' names too


def test_the_report_reaches_the_export_functions_its_pages_use_and_not_the_file_writing():
    start = codehash.outside_uses(codehash.package_files())
    export = "\n".join(codehash.reached(codehash.module_sources(start), start)["factledger.export"])
    for reached in ("def claim_review", "def opening_words", "def safe_url", "def unrated_reason", "class Publisher"):
        assert reached in export
    for writer in ("def export_version", "def write_claim_reviews", "def neutralised_select"):
        assert writer not in export
    assert not any(m in codehash.NOT_SHAPING for m, _ in start)


def _hash_with_export(monkeypatch, edit) -> str:
    real = codehash.module_sources

    def edited(start, package=codehash.PACKAGE):
        sources = dict(real(start, package))
        sources["factledger.export"] = edit(sources["factledger.export"])
        return sources
    monkeypatch.setattr(codehash, "module_sources", edited)
    codehash._LAST.clear()
    try:
        return codehash.code_hash()
    finally:
        monkeypatch.setattr(codehash, "module_sources", real)
        codehash._LAST.clear()


def test_an_edit_of_the_export_changes_the_hash_only_where_a_page_reaches(monkeypatch):
    same = _hash_with_export(monkeypatch, lambda s: s)
    assert same == codehash.code_hash()
    writer = _hash_with_export(monkeypatch, lambda s: s.replace("def export_version(", "def export_version(  ", 1))
    page = _hash_with_export(monkeypatch, lambda s: s.replace("def claim_review(", "def claim_review(  ", 1))
    assert writer == same != page


def test_the_hash_covers_every_file_of_the_package():
    labels = [label for label, _ in codehash.shaping_text()[0]]
    for name in ("build.py", "fragments.py", "verdicts.yaml", "templates/article.html", "templates/style.css"):
        assert name in labels


def test_the_hash_is_kept_between_processes_while_no_file_it_read_changed(tmp_path, monkeypatch):
    import json

    cache = tmp_path / "code.json"
    codehash._LAST.clear()
    first = codehash.code_hash(cache)
    assert json.loads(cache.read_text())["hash"] == first
    codehash._LAST.clear()  # as in a new process

    def parsed_again():
        raise AssertionError("parsed again")

    monkeypatch.setattr(codehash, "shaping_text", parsed_again)
    assert codehash.code_hash(cache) == first  # from the file: nothing parsed
    kept = json.loads(cache.read_text())
    kept["stats"][-1][1] += 1  # a file it read has another modification time now
    cache.write_text(json.dumps(kept))
    codehash._LAST.clear()
    monkeypatch.undo()
    assert codehash.code_hash(cache) == first  # computed again (same code, same hash) and kept
    assert json.loads(cache.read_text())["stats"] != kept["stats"]
    codehash._LAST.clear()
