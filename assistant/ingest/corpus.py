"""Load the corpus: manifest → segmented slides tagged with the programs they are about."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .manifest import Deck, Manifest, load_manifest
from .programs import Registry, load_registry
from .segment import Slide, segment
from .synonyms import Synonyms, load_synonyms

# A slide naming more programs than this is an overview (agenda, budget table): it does not inherit a topic.
MAX_PROGRAMS_FOR_INHERIT = 2


@dataclass(frozen=True)
class Corpus:
    manifest: Manifest
    registry: Registry
    slides: tuple[Slide, ...]
    synonyms: Synonyms = field(default_factory=Synonyms)

    def deck(self, file: str) -> Deck:
        return self.manifest.deck(file)

    def slide(self, source_file: str, number: int) -> Slide:
        for s in self.slides:
            if s.source_file == source_file and s.number == number:
                return s
        raise KeyError(f"{source_file}#{number}")

    def deck_slides(self, source_file: str) -> list[Slide]:
        return [s for s in self.slides if s.source_file == source_file]


def load_corpus(corpus_dir: Path) -> Corpus:
    manifest = load_manifest(corpus_dir)
    registry = load_registry(corpus_dir)
    slides: list[Slide] = []
    raws: list[str] = []
    for deck in manifest.decks:
        raw = (corpus_dir / deck.file).read_text(encoding="utf-8")
        raws.append(raw)
        slides.extend(tag_slides(segment(raw, deck), registry))
    synonyms = load_synonyms(corpus_dir, "\n".join(raws))
    return Corpus(manifest=manifest, registry=registry, slides=tuple(slides), synonyms=synonyms)


def tag_slides(slides: list[Slide], registry: Registry) -> list[Slide]:
    """Tag each slide with the programs it names and its topic.

    The topic is the program its title names; a slide whose title names none keeps the running topic
    (004's 「補助上限、補助率等」 follows its program's title slide) unless its text names other programs.
    """
    out: list[Slide] = []
    topic: tuple[str, ...] = ()
    for s in slides:
        programs = tuple(registry.find(s.text))
        in_title = tuple(registry.find(s.title))
        if in_title:
            topic = in_title[:1]
        elif len(programs) > MAX_PROGRAMS_FOR_INHERIT:
            topic = ()
        elif programs and (not topic or topic[0] not in programs):
            topic = programs[:1]
        out.append(replace(s, programs=programs, topic=topic))
    return out
