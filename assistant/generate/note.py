"""The one line the surfaces show about a configured chat model's part in an answer."""

from __future__ import annotations

from ..answer.types import Answer


def generation_note(answer: Answer) -> str:
    """One line on what a configured chat model did: written by it (checked), or why its answer was not shown."""
    gen = answer.generation
    if not gen:
        return ""
    if gen.get("status") == "accepted":
        return f"生成モデル（{gen['model']}）の回答です。数値・日付・連絡先は出典のスライドと照合済みです。"
    reasons = "、".join(dict.fromkeys(r["reason"] for r in gen.get("reasons", []))) or "不明"
    return f"生成モデルの回答は資料で確認できなかったため（{reasons}）、資料の該当箇所をそのまま示します。"
