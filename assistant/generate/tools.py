"""The calculator as a LangChain tool for the chat model. The amounts and counts the model passes must be ones the
user wrote in the question (a model may not invent an expense and then quote the tool's result for it)."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from ..answer.calc_answer import TOOL_NAME
from ..answer.grounding import USER_KINDS, Evidence, check_figures
from ..errors import AssistantError
from ..tools.calculator import CalcRequest, MissingInputs, calculate
from ..tools.rules import Rulebook

NAME = "calculator"


class CalcArgs(BaseModel):
    """補助額の計算（経済産業局の資料のルールによる）。"""

    program: str = Field(description="制度の名前またはID（例: ものづくり補助金、IT導入補助金）")
    frame: str | None = Field(default=None, description="枠・類型（例: 通常枠、グローバル枠）")
    edition: str | None = Field(default=None, description="版（例: 令和5年度補正）。省略時は最新")
    size: str | None = Field(default=None, description="企業規模: small / sme / mid / large")
    employees: int | None = Field(default=None, ge=0, description="従業員数（質問に書かれた数）")
    expense_yen: int | None = Field(default=None, ge=0, description="補助対象経費（円、質問に書かれた金額）")
    conditions: list[str] = Field(default_factory=list, description="特例などの条件ID")


def _stated(args: CalcArgs, question: str) -> str | None:
    """A Japanese error when the expense or employee count is not one the question states."""
    said = " ".join(
        x for x in (f"{args.expense_yen}円" if args.expense_yen is not None else "",
                    f"{args.employees}人" if args.employees is not None else "") if x
    )
    if not said:
        return None
    result = check_figures(said, Evidence(user=(question,)), USER_KINDS)
    if result.ungrounded:
        return "質問に書かれていない金額・人数は使えません: " + "、".join(f.text for f in result.ungrounded)
    return None


def calculator_tool(rulebook: Rulebook, question: str, calls: list[dict[str, Any]]) -> StructuredTool:
    """A tool bound to one question; each call (input and output) is appended to ``calls`` for the answer."""

    def run(**kwargs: Any) -> str:
        args = CalcArgs(**kwargs)
        problem = _stated(args, question)
        req = CalcRequest(args.program, args.frame, args.edition, args.size, args.employees, args.expense_yen,
                          frozenset(args.conditions))
        if problem:
            output: dict[str, Any] = {"error": problem}
        else:
            try:
                output = calculate(req, rulebook).to_dict()
            except MissingInputs as missing:
                output = {"error": str(missing), "missing": [m.question for m in missing.missing]}
            except AssistantError as exc:
                output = {"error": str(exc)}
        calls.append({"tool": TOOL_NAME, "input": req.to_dict(), "output": output})
        return json.dumps(output, ensure_ascii=False)

    return StructuredTool.from_function(
        func=run, name=NAME, args_schema=CalcArgs,
        description="制度・枠・企業規模・補助対象経費から、資料のルールで補助額と補助上限を計算します。",
    )
