"""The grounding guard for generated text, line by line (so a streamed answer shows only lines already checked).

A line's figures (amounts, rates, dates, phone numbers, e-mail addresses, URLs, counts, numbers; see
``answer/grounding.py``) must occur in a slide that same line cites, or in a tool call's input or output; every
citation marker must name a slide the model was given. The whole answer must cite at least one slide (or rest on a
calculator result). Pure functions of text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..answer.grounding import Evidence, check_figures
from ..text import nfkc

MARKER = re.compile(r"[\[【]\s*(S?\d{1,3}(?:\s*[,、]\s*S?\d{1,3})*)\s*[\]】]")
FENCE = re.compile(r"</?(?:資料|質問|スライド)[\s>＞]|</?(?:資料|質問|スライド)$|<start_of_turn>|<end_of_turn>")
DECLINED = re.compile(r"記載(?:が|は)(?:ありません|ない)|見当たりません|(?:分|わ)かりません|答えられません")

UNKNOWN_CITATION, UNGROUNDED, NO_CITATION, EMPTY, DECLINED_CODE, MODEL_ERROR, TIMEOUT, ECHO = (
    "unknown_citation", "ungrounded_figure", "no_citation", "empty", "model_declined", "model_error", "timeout",
    "prompt_echo",
)
REASONS_JA = {
    UNKNOWN_CITATION: "渡していないスライドを出典にしている",
    UNGROUNDED: "出典のスライドにもツールの結果にもない数値・日付・連絡先がある",
    NO_CITATION: "出典が示されていない",
    EMPTY: "回答が空",
    DECLINED_CODE: "生成モデルが資料に記載がないと答えた",
    MODEL_ERROR: "生成モデルを呼び出せなかった",
    TIMEOUT: "生成が時間内に終わらなかった",
    ECHO: "指示文や資料の区切りをそのまま書き写している",
}


@dataclass(frozen=True)
class Problem:
    code: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": REASONS_JA.get(self.code, self.code), "detail": self.detail}


def labels_in(line: str) -> list[str]:
    """Slide labels cited in a line, in order: [S1], [S1][S3], [S1, S2], 【S2】 and [2] (read as S2)."""
    out: list[str] = []
    for m in MARKER.finditer(nfkc(line)):
        for part in re.split(r"\s*[,、]\s*", m.group(1)):
            label = part if part.startswith("S") else f"S{part}"
            if label not in out:
                out.append(label)
    return out


def check_line(line: str, sources: Mapping[str, str], tools: Sequence[str],
               system: Sequence[str] = ()) -> list[Problem]:
    """Problems of one line: unknown citations, figures its own cited slides and the tool calls do not hold."""
    labels = labels_in(line)
    problems = [Problem(ECHO, line.strip()[:80])] if FENCE.search(line) else []
    problems += [Problem(UNKNOWN_CITATION, f"[{label}]") for label in labels if label not in sources]
    evidence = Evidence(slides=tuple(sources[label] for label in labels if label in sources), tools=tuple(tools),
                        system=tuple(system))
    result = check_figures(MARKER.sub(" ", nfkc(line)), evidence, frozenset())
    problems += [Problem(UNGROUNDED, f"「{fig.text}」（{line.strip()[:80]}）") for fig in result.ungrounded]
    return problems


def check_whole(text: str, cited: Sequence[str], tool_results: int) -> list[Problem]:
    """Problems of the whole answer once it is complete (its lines were checked as they came)."""
    body = MARKER.sub("", nfkc(text)).strip()
    if not body:
        return [Problem(EMPTY, "")]
    if not cited and not tool_results:
        if DECLINED.search(body):
            return [Problem(DECLINED_CODE, body[:80])]
        return [Problem(NO_CITATION, body[:80])]
    return []
