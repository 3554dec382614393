"""One article in, rows out: claims (with their scope and how it was decided), date mentions and
name variants; then the verdicts and date checks against the cited sources.

Extraction depends only on the article and the lexicon, so it is redone only when the article
changes; reconciliation and checks depend on the figures, so they are redone when those change.
"""
from __future__ import annotations

import bisect
import datetime as dt
import functools
import json
import re
from dataclasses import dataclass, field

from factledger.cells import dims_key
from factledger.claims import dates, direction, names, numbers, prefilter, scope
from factledger.claims.lexicon import Lexicon, Vocabulary
from factledger.claims.reconcile import ClaimFacts, FigureIndex, reconcile
from factledger.claims.text import lowered, lowered_part, normalise, sentences


@dataclass
class Extraction:
    claims: list[dict] = field(default_factory=list)
    dates: list[dict] = field(default_factory=list)


def extract_article(article_id: str, body: str, published: dt.date | None, sha256: str, lexicon: Lexicon) -> Extraction:
    """Claims and date mentions of one article body; offsets point into `body` as written."""
    norm = normalise(body)
    text = norm.text
    low_text = lowered(text)
    mentions = dates.find_mentions(text, lexicon)
    found = numbers.find_numbers(text, lexicon, [(m.start, m.end) for m in mentions])
    cues = scope.find_cues(_blank_addresses(text, lexicon), lexicon) if found else []  # (lower case already)
    cue_starts = [c.start for c in cues]
    out = Extraction()
    previous: list[dict] = []  # the claims of the sentence just before
    split = sentences(text, lexicon.abbreviations)
    numbers_of, mentions_of = by_sentence(found, split), by_sentence(mentions, split)
    for i, sentence in enumerate(split):
        in_sentence, dated = numbers_of[i], mentions_of[i]
        if not in_sentence:
            previous = []
        if not in_sentence and not dated:
            continue
        sentence_span = norm.original_span(sentence.start, sentence.end)
        context = _SentenceContext(body, norm, sentence, sentence_span, lexicon, published, low_text)
        date_rows = [context.date_row(article_id, m) for m in dated]
        out.dates += date_rows
        if in_sentence:
            # (cues are sorted by start: only those starting inside the sentence can be in it)
            first, last = bisect.bisect_left(cue_starts, sentence.start), bisect.bisect_right(cue_starts, sentence.end)
            sentence_cues = scope.in_span(cues[first:last], sentence.start, sentence.end)
            rows = context.claim_rows(article_id, sha256, in_sentence, dated, date_rows, sentence_cues)
            _refer_back(rows, previous, sentence.text, lexicon)
            out.claims += rows
            previous = rows
    _resolve_earlier_mentions(out.claims)
    _carry_measure_to_changes(out.claims, lexicon)
    for row in out.claims:
        finish_scope(row)
    return out


def by_sentence(items: list, split: list) -> list[list]:
    """For each sentence of `split` (in order, disjoint), the items (anything with a `start`) that
    start inside it, in their order in `items`."""
    out: list[list] = [[] for _ in split]
    starts = [s.start for s in split]
    for item in items:
        i = bisect.bisect_right(starts, item.start) - 1
        if i >= 0 and item.start < split[i].end:
            out[i].append(item)
    return out


def finish_scope(row: dict) -> None:
    """Write a row's per-dimension decisions as its `dims` key (the values the text names) and its
    `scope` JSON (value, cue words and where they were, per dimension)."""
    row["dims"], row["scope"] = _scope_columns(tuple(row["scope"].items()))


@functools.lru_cache(maxsize=4096)
def _scope_columns(decisions: tuple[tuple[str, scope.Decision], ...]) -> tuple[str, str]:
    """The `dims` key and `scope` JSON of a row's decisions (a pure function of them; many rows
    share the same decisions)."""
    return (dims_key({d: x.value for d, x in decisions}),
            json.dumps({d: {"value": x.value, "cue": x.cue, "basis": x.basis} for d, x in sorted(decisions)}))


def scope_decisions(row: dict) -> dict[str, scope.Decision]:
    """The per-dimension decisions of a stored claim row (the inverse of `finish_scope`)."""
    return dict(_decisions(row["scope"] or "{}"))


@functools.lru_cache(maxsize=4096)
def _decisions(scope_json: str) -> tuple[tuple[str, scope.Decision], ...]:
    """A row's `scope` JSON read (a pure function of the text; many claims share one)."""
    return tuple((d, scope.Decision(x["value"], x["cue"], x["basis"])) for d, x in json.loads(scope_json).items())


@dataclass
class _SentenceContext:
    body: str
    norm: object
    sentence: object
    span: tuple[int, int]
    lexicon: Lexicon
    published: dt.date | None
    low_text: str  # lowered(norm.text)
    _event_words: list | None = None
    _refers_to_source: bool | None = None
    written: str = field(init=False)  # the sentence as the body writes it: the `sentence` column of each of its rows, cut once

    def __post_init__(self):
        # (Not a cached_property: its __get__ takes a lock, and each sentence reads this once or twice.)
        self.written = self.body[self.span[0]:self.span[1]]

    def local(self, start: int, end: int) -> tuple[int, int]:
        return start - self.sentence.start, end - self.sentence.start

    def date_row(self, article_id: str, mention: dates.DateMention) -> dict:
        start, end = self.norm.original_span(mention.start, mention.end)
        resolved = dates.resolve(mention, self.published, self.lexicon.fiscal_year_start_month)
        if self._event_words is None:  # once per sentence, whatever its number of mentions
            self._event_words = dates.event_words(self.sentence.text, self.lexicon)
            self._refers_to_source = prefilter.found_in(self.lexicon.source_refs, self.sentence.text)
        events = dates.events_near(self.sentence.text, *self.local(mention.start, mention.end), self.lexicon, self._event_words)
        return {
            "article_id": article_id, "start": start, "end": end, "phrase": self.body[start:end],
            "sentence": self.written,
            "published": self.published,
            "resolved_first": resolved.first if resolved else None,
            "resolved_last": resolved.last if resolved else None,
            "granularity": resolved.granularity if resolved else None,
            "marker": mention.marker,
            "events": ", ".join(dict.fromkeys(e.event for e in events)) or None,
            "event_cues": ", ".join(dict.fromkeys(e.cue for e in events)) or None,
            "refers_to_source": self._refers_to_source,
            "dates_claims": dates.is_claim_date(mention, resolved, events),
        }

    def claim_rows(self, article_id: str, sha256: str, found: list, mentions: list, date_rows: list[dict], cues: list) -> list[dict]:
        spans = [self.local(n.start, n.end) for n in found]
        text = self.sentence.text
        low = lowered_part(self.norm.text, self.low_text, self.sentence.start, self.sentence.end)
        cues = scope.drop_examples(cues, low)
        clauses = scope.clause_starts(spans, low)
        prefixes = [scope.tight_prefix(cues, start, spans[i - 1][1] if i else 0, low) for i, (start, _) in enumerate(spans)]
        # The plain regions first: the list pattern is read from them, then the regions are cut at it.
        opening, afters = scope.regions(spans, len(text))
        prefixes = scope.orient(prefixes, afters, cues)
        opening, afters = scope.regions(spans, len(text), [p[0] if p else None for p in prefixes], low)
        claim_dates = [(self.local(m.start, m.end), row) for m, row in zip(mentions, date_rows) if row["dates_claims"]]
        rows = []
        for i, (number, after) in enumerate(zip(found, afters)):
            decided = scope.decide_scope(cues, opening, after, self.lexicon, prefixes[i], clauses[i])
            scope.unlisted_parts(decided, cues, low, self.lexicon)
            scope.unlisted_names(decided, text, spans[i - 1][1] if i else 0, spans[i][0],
                                 [after] + ([opening] if clauses[i] <= opening[1] else []), cues,
                                 self.lexicon.entity_dimensions, self.lexicon.not_names)
            before_text = low[spans[i - 1][1] if i else 0:spans[i][0]]
            after_text = low[spans[i][1]:spans[i + 1][0] if i + 1 < len(spans) else len(low)]
            moved = direction.near(before_text, after_text, self.lexicon)
            if moved.value is None and i and _OR_BY.match(before_text) and rows[i - 1].get("direction"):
                # "fell 3.7%, or by 3,098": the same change, said twice.
                moved = direction.Direction(rows[i - 1]["direction"], rows[i - 1]["direction_cue"], "before")
            if moved.value is None and number.kind == "percent":
                moved = direction.in_sentence(low, spans[i][0], self.lexicon)
            row = self._claim_row(article_id, sha256, number, decided, _claim_date(claim_dates, opening, after))
            row.update(direction=moved.value, direction_cue=moved.cue)
            rows.append(row)
        for i in range(1, len(rows)):
            between = self.sentence.text[spans[i - 1][1]:spans[i][0]]
            if _TO.match(between.lower()) and rows[i - 1]["kind"] == rows[i]["kind"]:
                # "decreased from 84,181 to 81,083", "(28 441 to 29 918)": two levels of one population.
                _inherit_scope(rows[i], rows[i - 1], f"paired with mention at {rows[i - 1]['start']}", force=True)
                for row in (rows[i - 1], rows[i]):
                    row.update(direction=None, direction_cue=None)
            elif _unscoped_count(rows[i]) and rows[i - 1]["measure"] and self.lexicon.comparison_before.search(between):
                _inherit_scope(rows[i], rows[i - 1], f"compared with mention at {rows[i - 1]['start']}")
        return rows

    def _claim_row(self, article_id, sha256, number: numbers.NumberPhrase, decided: scope.Scope, date_row: dict | None) -> dict:
        start, end = self.norm.original_span(number.start, number.end)
        row = {
            "claim_id": f"{article_id}:{start}", "article_id": article_id, "article_sha256": sha256,
            "start": start, "end": end, "phrase": self.body[start:end],
            "sentence_start": self.span[0], "sentence": self.written,
            "value": number.value, "qualifier": number.qualifier, "qualifier_cue": number.qualifier_cue,
            "kind": number.kind, "kind_cue": number.kind_cue, "rounding_unit": number.unit,
            "significant_digits": number.significant_digits,
            "measure": decided.measure.value, "measure_cue": decided.measure.cue, "measure_basis": decided.measure.basis,
            "date_first": date_row["resolved_first"] if date_row else None,
            "date_last": date_row["resolved_last"] if date_row else None,
            "date_phrase": date_row["phrase"] if date_row else None,
            "scope": decided.dimensions,  # (the number's own dict, not used after: no copy)
        }
        return row


def _blank_addresses(text: str, lexicon: Lexicon) -> str:
    """The text with URLs and e-mail addresses blanked (same length), in lower case: words inside
    an address ("ice-released-over-435000-migrants-with-criminal-convictions") are not cues."""
    low, blanked = lowered(text), False
    for name in ("url", "email"):
        pattern = lexicon.non_claims.get(name)
        if pattern:
            # The matches to blank are the pattern's finditer: in the lower-cased article, those its
            # shared scan has found already; scanned again only in a text with URLs blanked.
            found = prefilter.scan(pattern).finditer(low) if blanked else lexicon.lowered_matches(pattern, low)
            spans = [m.span() for m in found]
            if spans:
                low, blanked = "".join(_blanked(low, spans)), True
    return low


def _blanked(text: str, spans: list[tuple[int, int]]):
    """The pieces of `text` with each of `spans` (in order, disjoint) written as spaces."""
    end = 0
    for start, stop in spans:
        yield text[end:start]
        yield " " * (stop - start)
        end = stop
    yield text[end:]


def _claim_date(claim_dates: list, opening: tuple[int, int], after: tuple[int, int]) -> dict | None:
    """The date of a number: the first dating mention after it (before the next number), else the
    last one in the sentence opening."""
    own = [row for (s, e), row in claim_dates if after[0] <= s and e <= after[1]]
    if own:
        return own[0]
    shared = [row for (s, e), row in claim_dates if opening[0] <= s and e <= opening[1]]
    return shared[-1] if shared else None


def _resolve_earlier_mentions(rows: list[dict]) -> None:
    """A count with no measure cue that repeats a number already scoped earlier in the article
    ("the 13,000", "the 425,431 figure") refers back to it: take its scope and date."""
    latest: dict = {}  # value -> the last row so far that is a count with a measure (one look-up a row, not a scan back)
    for row in rows:
        earlier = latest.get(row["value"]) if _unscoped_count(row) else None
        if earlier is not None:
            _inherit_scope(row, earlier, f"earlier mention at {earlier['start']}")
            if row["date_first"] is None:
                row.update(date_first=earlier["date_first"], date_last=earlier["date_last"], date_phrase=earlier["date_phrase"])
        if row["kind"] == "count" and row["measure"]:
            latest[row["value"]] = row


def _refer_back(rows: list[dict], previous: list[dict], sentence: str, lexicon: Lexicon) -> None:
    """"Of those, 13,099 ...", "Among them, ...": a sentence that opens by pointing back counts
    within the population of the previous sentence's last count: its numbers take that count's
    measure and every dimension they do not name themselves (basis `previous sentence`)."""
    if not rows or not lexicon.anaphora.match(sentence):
        return
    donor = next((r for r in reversed(previous) if r["kind"] == "count" and r["measure"]), None)
    if donor is None:
        return
    for row in rows:
        if row["kind"] == "count":
            _inherit_scope(row, donor, "previous sentence")


def _carry_measure_to_changes(rows: list[dict], lexicon: Lexicon) -> None:
    """A rise or fall with no measure cue in its sentence ("That's down 3% from 2022.") is a change
    of what the article was just counting: the measure of the nearest claim before it that has one,
    else the cited sources' only measure that has changes."""
    changing = sorted({m.change_of for m in lexicon.measures.values() if m.change_of})
    for i, row in enumerate(rows):
        if row["measure"] is not None or row.get("direction") is None or row["kind"] not in ("count", "percent"):
            continue
        donor = next((r for r in reversed(rows[:i]) if r["measure"] and r["kind"] == "count"), None)
        if donor is not None:
            row.update(measure=donor["measure"], measure_cue=donor["measure_cue"], measure_basis=f"earlier mention at {donor['start']}")
        elif len(changing) == 1:
            row.update(measure=changing[0], measure_cue=None, measure_basis="only changing measure")


def _unscoped_count(row: dict) -> bool:
    return row["kind"] == "count" and row["measure"] is None


# "fell 3.7%, or by 3,098": the same change in other units.
_OR_BY = re.compile(r"^\s*,?\s*or\s+(?:by\s+)?(?:about\s+|nearly\s+|some\s+)?$")
# "from 84,181 to 81,083": a pair of levels of one population.
_TO = re.compile(r"^\s*(?:(?:in|during)\s+\d{4}\s+)?to\s+(?:an?\s+|the\s+)?(?:estimated\s+)?$")


def _inherit_scope(row: dict, donor: dict, basis: str, force: bool = False) -> None:
    """`donor`'s measure (unless `row` has one of its own), and each dimension `row` does not name
    itself (every dimension and the measure, with `force`), with `basis` as the reason."""
    if force or row["measure"] is None:
        row.update(measure=donor["measure"], measure_cue=donor["measure_cue"], measure_basis=basis)
    for dim, given in donor["scope"].items():
        own = row["scope"].get(dim)
        if (force or own is None or own.value is None) and given.value is not None:
            row["scope"][dim] = scope.Decision(given.value, given.cue, basis)


# ---- against the sources ---------------------------------------------------------------------------

@dataclass
class SourceContext:
    """Everything scoping, reconciliation and the date/name checks need from the lake, loaded once."""
    index: FigureIndex
    source_dates: dict[str, dict[str, dt.date | None]]   # source_id -> {request_date: ..., ...}
    reactions: dict[str, list[tuple[str, dt.date]]]       # source_id -> [(event, date)]
    people: dict[str, list[tuple[str, str]]]              # source_id -> [(name, role)]
    sources_hash: str  # stored in each row's figures_fingerprint column
    dimension_rows: dict[str, list[dict]] = field(default_factory=dict)  # source_id -> its source_dimensions rows
    measure_rows: dict[str, list[dict]] = field(default_factory=dict)    # source_id -> its source_measures rows
    _lexicons: dict = field(default_factory=dict)

    def lexicon_for(self, cites: str | None, language: Lexicon) -> Lexicon:
        """The language plus the words of the sources an article cites (compiled once per set)."""
        cited = tuple(self.cited(cites))
        key = (cited, id(language))
        if key not in self._lexicons:
            vocabulary = Vocabulary.build([r for s in cited for r in self.dimension_rows.get(s, [])],
                                          [r for s in cited for r in self.measure_rows.get(s, [])])
            self._lexicons[key] = language.with_vocabulary(vocabulary)
        return self._lexicons[key]

    @property
    def source_ids(self) -> list[str]:
        return sorted(self.source_dates)

    def cited(self, cites: str | None) -> list[str]:
        """The sources an article cites that are loaded; every source when it cites none."""
        wanted = [c.strip() for c in (cites or "").split(",") if c.strip()]
        known = [c for c in wanted if c in self.source_dates]
        return known or (self.source_ids if not wanted else [])


def claim_facts(row: dict, lexicon: Lexicon) -> ClaimFacts:
    """What reconciliation needs of a claim row."""
    start, end = row["start"] - row["sentence_start"], row["end"] - row["sentence_start"]
    # (The test anchored at the number's end first: it seldom holds, and the other searches the
    # whole text before the number.)
    names_a_figure = bool(lexicon.reference_after.search(row["sentence"][end:])
                          and lexicon.reference_before.search(row["sentence"][:start]))
    dims, dim_cues, dim_bases = _dimension_maps(row["scope"] or "{}")
    return ClaimFacts(
        phrase=row["phrase"], value=float(row["value"]), qualifier=row["qualifier"], kind=row["kind"],
        unit=float(row["rounding_unit"]), significant_digits=int(row["significant_digits"]), measure=row["measure"],
        dims=dims, dim_cues=dim_cues, dim_bases=dim_bases,
        when_unnamed=_when_unnamed(lexicon.dimensions),
        direction=row.get("direction"), direction_cue=row.get("direction_cue"),
        date_first=dates.as_date(row.get("date_first")), date_last=dates.as_date(row.get("date_last")), date_phrase=row.get("date_phrase"),
        names_a_figure=names_a_figure,
    )


@functools.lru_cache(maxsize=4096)
def _dimension_maps(scope_json: str) -> tuple[dict, dict, dict]:
    """Each dimension's value, cue and basis in a row's `scope` JSON, as three dicts: a pure
    function of the text, shared by the claims with the same scope, which only read them."""
    decisions = _decisions(scope_json)
    return {d: x.value for d, x in decisions}, {d: x.cue for d, x in decisions}, {d: x.basis for d, x in decisions}


# Each dimension's rule for a value the text does not name, per lexicon (the same dict for all its
# claims, which only read it).
_when_unnamed = prefilter.by_identity(lambda dimensions: {d: r.when_unnamed for d, r in dimensions.items()})

_WHERE = {"before": "just before the number (list pattern)", "after": "after the number", "opening": "in the sentence opening",
          "sentence": "elsewhere in the sentence", "previous sentence": "in the previous sentence",
          "unlisted": "which the source does not list", "only changing measure": "the source's only measure with changes"}


def _where(basis: str | None) -> str:
    if basis is None:
        return ""
    fixed = _WHERE.get(basis)  # (first: most bases are these words; none starts with a prefix below)
    if fixed is not None:
        return fixed
    for prefix, words in (("paired with mention at", "from the number it is paired with"),
                          ("earlier mention at", "from an earlier mention of the number"),
                          ("compared with mention at", "from the number it is compared with")):
        if basis.startswith(prefix):
            return f"{words} (offset {basis.rsplit(' ', 1)[-1]})"
    return basis


def scope_note(row: dict, decisions: dict[str, scope.Decision] | None = None) -> str:
    """Which words decided a claim's scope and where they were: "drug 'fentanyl' after the number;
    measure 'deaths' in the sentence opening" (`decisions`: the row's `scope_decisions`, if already read)."""
    decisions = scope_decisions(row) if decisions is None else decisions
    parts = [f"{dim} '{d.cue}' {_where(d.basis)}" for dim, d in sorted(decisions.items()) if d.cue]
    if row.get("measure_cue") or (row.get("measure") and row.get("measure_basis")):
        cue = f" '{row['measure_cue']}'" if row.get("measure_cue") else ""
        parts.append(f"measure{cue} {_where(row.get('measure_basis'))}".rstrip())
    if row.get("direction_cue"):
        parts.append(f"direction '{row['direction_cue']}'")
    return "; ".join(parts)


def reconcile_rows(rows: list[dict], cites: dict[str, str | None], context: SourceContext, language: Lexicon) -> list[dict]:
    """Verdict columns for claim rows (`cites`: article_id -> the article's cites)."""
    out = []
    per_cites: dict = {}  # an article's cites -> (lexicon, labels, cited sources): the same for all its rows
    for row in rows:
        article_cites = cites.get(row["article_id"])
        if article_cites not in per_cites:
            lexicon = context.lexicon_for(article_cites, language)
            per_cites[article_cites] = (lexicon, {d: r.labels for d, r in lexicon.dimensions.items()}, context.cited(article_cites))
        lexicon, labels, cited = per_cites[article_cites]
        decisions = scope_decisions(row)
        verdict = reconcile(claim_facts(row, lexicon), context.index, cited, labels)
        note = scope_note(row, decisions)
        out.append({
            **row, "verdict": verdict.verdict, "figure_id": verdict.figure_id, "figure_value": verdict.figure_value,
            "relative_difference": verdict.relative_difference,
            "explanation": f"{verdict.explanation}. Scope: {note}" if note else verdict.explanation,
            "figures_fingerprint": context.sources_hash,
        })
    return out


def check_date_rows(rows: list[dict], cites: dict[str, str | None], context: SourceContext) -> list[dict]:
    out = []
    cited: dict = {}  # an article's cites -> its cited sources (the same for all its rows)
    for row in rows:
        events = [e.strip() for e in (row.get("events") or "").split(",") if e.strip()]
        best = None
        article_cites = cites.get(row["article_id"])
        if article_cites not in cited:
            cited[article_cites] = context.cited(article_cites)
        for source_id in cited[article_cites]:
            check = dates.check_mention(dates.as_date(row["resolved_first"]), dates.as_date(row["resolved_last"]), events,
                                        bool(row["refers_to_source"]), context.source_dates[source_id], context.reactions.get(source_id, []))
            if best is None or (best[1].flagged and not check.flagged) or (best[1].consistent is None and check.consistent is not None):
                best = (source_id, check)
        source_id, check = best if best else (None, dates.DateCheck(None, None, None, False, "cites no loaded source"))
        out.append({**row, "source_id": source_id, "event": check.event, "source_date": check.expected,
                    "consistent": check.consistent, "flagged": check.flagged, "explanation": check.explanation,
                    "figures_fingerprint": context.sources_hash})
    return out


def name_rows(article_id: str, body: str, cites: str | None, context: SourceContext, lexicon: Lexicon) -> list[dict]:
    norm = normalise(body)
    rows = []
    for source_id in context.cited(cites):
        people = context.people.get(source_id, [])
        roles = dict(people)
        for v in names.find_variants(norm.text, [p for p, _ in people], lexicon):
            start, end = norm.original_span(v.start, v.end)
            rows.append({
                "article_id": article_id, "start": start, "end": end, "phrase": body[start:end], "variant": v.variant,
                "source_id": source_id, "person": v.person, "role": roles.get(v.person), "expected": v.expected,
                "edit_distance": v.distance, "evidence": v.evidence, "figures_fingerprint": context.sources_hash,
            })
    return rows
