"""Help-desk triage of one inquiry: programs best first with a reason, contacts and deadlines from the slides,
whether a person must look at it, a category and a polite draft reply, with citations.

Programs are scored from three signals: the program named in the text (aliases include common misspellings), everyday
words for a need (``corpus/needs.yaml``) and the hybrid retriever's slides (their topic programs, by rank).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..answer.grounding import Evidence, check_figures, tool_text
from ..ingest.corpus import Corpus
from ..privacy import log_failure
from ..service import Assistant
from ..text import nfkc
from ..yamlio import load_yaml
from .directory import Directory

log = logging.getLogger("assistant.triage")

NEEDS_FILE = "needs.yaml"
NAMED_WEIGHT = 1.0
NEED_WEIGHT = 0.45
RETRIEVAL_WEIGHT = 0.5
FOCUS_WEIGHT = 0.5
FOCUS = re.compile(r"「([^」]{2,40})」|(\S{2,30}?)(?:とは|って何|ってなに|は何ですか|というのは)")
MIN_SCORE = 0.30  # below it: no program fits (out of scope)
CONFIDENT = 0.55  # below it: low confidence → a person looks at it
CLOSE = 0.85  # a runner-up within this share of the top score is equally plausible
CATEGORIES = ("補助金", "人材育成", "セキュリティ", "相談窓口", "その他")
COMPLAINT = re.compile(
    r"(苦情|クレーム|納得(?:でき|い)(?:ない|ません)|不満|おかしい|責任者|ふざけ|抗議|不当|怒り|失礼|対応が悪い"
    r"|つながらない|繋がらない|どうなって|困って(?:いる|います|る)|止めて(?:ほしい|ください|もらえ)|まだ(?:入金|振り?込|届)"
    r"|遅すぎ|いつまで待)"
)


@dataclass
class TriageResult:
    id: str
    programs: list[str]  # names, best first (the contract)
    program_details: list[dict]  # id, name, score, reason
    contacts: list[str]  # as written on the slides
    contact_details: list[dict]
    deadlines: list[dict]
    needs_human: bool
    needs_human_reasons: list[str]
    category: str
    reply: str
    citations: list[dict]
    grounding: dict | None = None  # the figure check on the reply (every figure from the cited slides)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Score:
    program: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)


def load_needs(corpus_dir: Path) -> list[tuple[list[str], list[str]]]:
    path = corpus_dir / NEEDS_FILE
    if not path.exists():
        return []
    data = load_yaml(path) or {}
    return [([nfkc(p) for p in item["phrases"]], list(item["programs"])) for item in data.get("needs", [])]


class Triage:
    """Triage inquiries against one loaded assistant (its corpus, registry and retriever)."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.corpus: Corpus = assistant.corpus
        self.directory = Directory(self.corpus)
        self.needs = load_needs(assistant.settings.corpus_dir)
        known = {p.id for p in self.corpus.registry.programs}
        for _, programs in self.needs:
            for pid in programs:
                if pid not in known:
                    from ..errors import DataError

                    raise DataError(f"{NEEDS_FILE}: 制度「{pid}」は programs.yaml にありません")

    def _scores(self, text: str) -> list[_Score]:
        registry = self.corpus.registry
        scores: dict[str, _Score] = {}

        def add(pid: str, value: float, reason: str) -> None:
            s = scores.setdefault(pid, _Score(pid))
            s.score += value
            if reason not in s.reasons:
                s.reasons.append(reason)

        focus = set(registry.find(" ".join("".join(m) for m in FOCUS.findall(text))))
        for pid in registry.find(text):  # every program named counts the same; the retriever breaks ties
            add(pid, NAMED_WEIGHT, f"「{registry.get(pid).name}」について書かれています")
            if pid in focus:  # 「SECURITY ACTIONの宣言」, 〇〇とは, 〇〇って何: the program the question is about
                add(pid, FOCUS_WEIGHT, f"「{registry.get(pid).name}」について尋ねています")
        for phrases, programs in self.needs:
            hit = next((p for p in phrases if p in text), None)
            if hit:
                for rank, pid in enumerate(programs):
                    add(pid, NEED_WEIGHT / (1 + 0.5 * rank), f"「{hit}」のご相談に合う制度です")
        hits = self.assistant.retriever.search(text, k=8)
        for rank, hit in enumerate(hits):
            topic = hit.slide.topic[:1] or (hit.slide.programs if len(hit.slide.programs) == 1 else ())
            for pid in topic:
                where = f"{hit.slide.source_file} スライド{hit.slide.number}"
                reason = f"資料「{hit.slide.title}」（{where}）の内容に近いご相談です"
                add(pid, RETRIEVAL_WEIGHT / (rank + 2), reason)
        return sorted(scores.values(), key=lambda s: -s.score)

    def run(self, inquiry_id: str, text: str, today: dt.date) -> TriageResult:
        q = " ".join(nfkc(text).split())
        registry = self.corpus.registry
        ranked = [s for s in self._scores(q) if s.score >= MIN_SCORE][:3] if q else []
        reasons: list[str] = []
        if not ranked:
            reasons.append("資料にある制度に当てはまりません（対象外の可能性）")
        else:
            top = ranked[0]
            if top.score < CONFIDENT:
                reasons.append("どの制度に当たるか確信が持てません")
            if len(ranked) > 1 and ranked[1].score >= CLOSE * top.score:
                reasons.append("複数の制度が同じくらい当てはまります")
        if COMPLAINT.search(q):
            reasons.append("苦情・不満を含みます")

        details = [
            {
                "id": s.program,
                "name": registry.get(s.program).name,
                "score": round(min(s.score, 2.0) / 2.0, 3),
                "reason": s.reasons[0],
            }
            for s in ranked
        ]
        contacts, contact_details, citations = [], [], []
        for s in ranked[:2]:
            for c in self.directory.contacts_for(s.program, limit=3):
                if c.value not in contacts:
                    contacts.append(c.value)
                    contact_details.append(
                        {
                            "program": s.program,
                            "kind": c.kind,
                            "value": c.value,
                            "source_file": c.source_file,
                            "slide": c.slide,
                        }
                    )
                    citations.append(self._citation(c.source_file, c.slide))
        deadlines = []
        for s in ranked[:2]:
            for d in self.directory.dates_for(s.program):
                if d.kind == "開始" and d.date < today:
                    continue
                deadlines.append(
                    {
                        "program": registry.get(s.program).name,
                        "date": d.date.isoformat(),
                        "kind": d.kind,
                        "past": d.date < today,
                        "text": d.text,
                        "source_file": d.source_file,
                        "slide": d.slide,
                    }
                )
                citations.append(self._citation(d.source_file, d.slide))
        category = self._category(ranked, q)
        unique = list({(c["source_file"], c["slide"]): c for c in citations}.values())
        reply, grounding = self._checked_reply(details, contacts, deadlines, reasons, unique)
        self.assistant.question_log.record(
            "triage", text, id=inquiry_id, programs=[d["id"] for d in details], needs_human=bool(reasons)
        )
        return TriageResult(
            id=inquiry_id,
            programs=[d["name"] for d in details],
            program_details=details,
            contacts=contacts,
            contact_details=contact_details,
            deadlines=deadlines,
            needs_human=bool(reasons),
            needs_human_reasons=reasons,
            category=category,
            reply=reply,
            citations=unique,
            grounding=grounding,
        )

    def run_all(self, items: list[tuple[str, str]], today: dt.date) -> tuple[list[dict], list[str]]:
        """Results of every inquiry that could be triaged, and the ids of those that failed (logged without text)."""
        results: list[dict] = []
        failed: list[str] = []
        for iid, text in items:
            try:
                results.append(self.run(iid, text, today).to_dict())
            except Exception as exc:  # one bad inquiry never loses the others
                log_failure(log, f"triage of inquiry {iid} failed", exc)
                failed.append(iid)
        return results, failed

    def _checked_reply(self, details: list[dict], contacts: list[str], deadlines: list[dict], reasons: list[str],
                       citations: list[dict]) -> tuple[str, dict]:
        """The draft reply, less any sentence with a figure that is not on a cited slide or in the directory."""
        reply = self._reply(details, contacts, deadlines, reasons)
        slides = tuple(self.corpus.slide(c["source_file"], c["slide"]).text for c in citations)
        evidence = Evidence(slides, (tool_text(deadlines), tool_text(contacts)),
                            system=(self.assistant.composer.system_facts(),))
        result = check_figures(reply, evidence, frozenset())
        record = {**result.to_dict(), "action": "none"}
        if not result.ok:
            bad = {f.text for f in result.ungrounded}
            parts = [p for p in re.split(r"(?<=。)", reply) if p and not any(b in nfkc(p) for b in bad)]
            reply = "".join(parts)
            record["action"] = "removed_sentences"
        return reply, record

    def _citation(self, source_file: str, slide: int) -> dict:
        s = self.corpus.slide(source_file, slide)
        deck = self.corpus.deck(source_file)
        return {
            "source_file": source_file,
            "slide": slide,
            "title": s.title,
            "issuer": deck.issuer,
            "date": deck.date.isoformat(),
        }

    def _category(self, ranked: list[_Score], text: str) -> str:
        if ranked:
            cat = self.corpus.registry.get(ranked[0].program).category
            return cat if cat in CATEGORIES else "その他"
        return "相談窓口" if re.search(r"(相談|どこに|窓口)", text) else "その他"

    @staticmethod
    def _reply(details: list[dict], contacts: list[str], deadlines: list[dict], reasons: list[str]) -> str:
        lines = ["お問い合わせいただき、ありがとうございます。"]
        if details:
            names = "、".join(f"「{d['name']}」" for d in details[:2])
            lines.append(f"ご相談の内容から、{names}が関係すると考えられます。")
            if contacts:
                lines.append(f"詳しくは {' / '.join(contacts[:2])} までお問い合わせください。")
            upcoming = [d for d in deadlines if not d["past"] and d["kind"] == "締切"]
            if upcoming:
                d = upcoming[0]
                lines.append(
                    f"なお、{d['program']}は{_ja_date(d['date'])}が締切として案内されています（資料時点の情報です）。"
                )
            elif deadlines:
                lines.append(
                    "資料に記載の締切はすでに過ぎています。最新の公募予定は事務局ホームページでご確認ください。"
                )
        else:
            lines.append("恐れ入りますが、いただいた内容に当てはまる支援施策は、当局の資料では確認できませんでした。")
            lines.append("よろず支援拠点や中小企業119 などの相談窓口もご利用いただけます。")
        if reasons:
            lines.append("内容を確認のうえ、担当者より改めてご連絡いたします。")
        lines.append("申請の際は、必ず最新の公募要領をご確認ください。")
        return "".join(lines)


def _ja_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"
