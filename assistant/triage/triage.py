"""Help-desk triage of one inquiry: programs best first with a reason, contacts and deadlines from the slides,
whether a person must look at it, a category and a polite draft reply, with citations.

Programs are scored from seven signals: the programs named in the text (aliases include common misspellings; a program
named only to set the scene yields to the one asked about), how well each program's own slides fit the inquiry's words
(``profiles.py``; a first sentence that only introduces the caller and the size they state left out), the same for
each sentence of a longer inquiry, everyday words for a need (``corpus/needs.yaml``), the size the inquiry states
(``size.py``: revenue, headcount, a planned investment), the hybrid retriever's slides (one vote per program, by
rank) and past inquiries worded like this one (``examples.py``: the labelled sets, confirming programs the slides
found; when no slide fits at all, a clear past case is a candidate for a person). An inquiry that lists its needs
((1) (2) …, A先生: B先生: …) keeps a program for each need among its first three. An inquiry about a whole
(事業全体) goes to the program the fitting ones are parts of; the third place goes to a program that answers a need
of its own. Whether a person must look at it follows from the kind of evidence for the
best program, not from its score alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..answer.grounding import Evidence, check_figures, tool_text
from ..errors import DataError
from ..ingest.corpus import Corpus
from ..ingest.segment import Slide
from ..privacy import log_failure, without_contact_details
from ..service import Assistant
from ..text import fold_small_kana, nfkc
from ..yamlio import load_model
from .directory import CONTACTS_FILE, Directory
from .examples import ExampleMemory, Vote, inquiry_text, load_examples
from .profiles import Match, ProgramProfiles, without
from .size import load_size_table, read_size, without_size

log = logging.getLogger("assistant.triage")

NEEDS_FILE = "needs.yaml"
NAMED_WEIGHT = 1.0
LOOSE_WEIGHT = 0.8  # a name written with a slip: almost as good as the name
NEED_WEIGHT = 0.45
ASKED_NEED = 1.0  # a need phrase in the sentence that asks (「…相談に乗ってくれるところを紹介して」) counts again,
# at a broad need's weight: 「商工会には補助金の話で一回行った」 before it is background
NEED_POWER = 1.5  # a need phrase for one specific service (weight 2) counts 2**1.5 times a broad one
SIZE_WEIGHTS = {"revenue": 0.8, "investment": 0.5, "midsize": 0.4}  # the size the inquiry states (size.py)
TOO_SMALL_FACTOR = 0.5  # … and a program whose largest cap carries less than half the subsidy a stated investment asks
RETRIEVAL_WEIGHT = 0.3  # the retriever's slides: one vote per program, by rank
CONFIRMED = 0.4  # … or when past inquiries like it agree on it: two or more, the next program's vote at most this share
EXAMPLE_WEIGHT = 1.5  # past inquiries most like this one (examples.py): the programs chosen for them, by vote share
DESCRIPTION_WEIGHT = 1.0  # the program whose own slides best fit the inquiry's words (profiles.py)
DESCRIPTION_SHARE = 0.5  # a runner-up counts when its description score is at least this share of the best
DESCRIPTION_POWER = 2.0  # … and counts by the square of that share
DESCRIPTION_FULL = 20.0  # a best description score below this counts in proportion (a few generic words)
SENTENCE_WEIGHT = 0.5  # the best program of each sentence of a longer inquiry (one need per sentence)
SENTENCE_MIN = 12.0  # … when its description score reaches this
SENTENCE = re.compile(r"[。!?！？]+")
ITEM = re.compile(  # the needs a caller lists: (1) (2), 1) 2), 1. 2., 1つ目、, A先生:, a bullet ・ at a line's start
    r"(?:^|(?<=[\s。、/:]))(?:\([1-9]\)|[1-9]\)|[1-9]\.(?!\d)|[A-Z](?:先生|社|さん):|[1-9一二三]つ目[、,:は])"
    r"|(?:^|(?<=\s))・"
)
ITEM_WEIGHT = 0.5  # a program that answers a listed need and no other signal found (one need per item)
STRONG_DESCRIPTION = 20.0  # a description this strong (BM25 over programs) puts the inquiry in scope …
CONTEXT_RATIO = 1.1  # … and, when it beats a named program's own description by this factor, shows that the
CONTEXT_FACTOR = 0.4  # named program only sets the scene: it keeps this share of its named weight
FOCUS_WEIGHT = 0.5
FOCUS = re.compile(r"「([^」]{2,40})」|(\S{2,30}?)(?:とは|って何|ってなに|は何ですか|というのは)")
OF_SUBSIDY = re.compile(r"の(補助金|助成金)")
MIN_SCORE = 0.30  # below it: no program fits (out of scope)
MEMORY_MARGIN = 0.5  # no slide fits: the past inquiries' best program when the next vote is at most this share of it
NAMED_SIGNALS = ("named", "focus", "loose")  # the program is named (not only as context): the referral is sure
SPECIFIC_NEED = 1.0  # a need phrase for one specific service (weight 2) is as sure as a name
DESCRIBED = 18.0  # a description this strong (BM25 over programs, profiles.py) is a sure referral on its own
DESCRIBED_WITH_NEED = 9.0  # … and half as strong when an everyday need phrase agrees
RELEVANT = 0.5  # a runner-up below this share of the top score gets no deadlines in the answer
CLOSE = 0.85  # a runner-up within this share of the top score is equally plausible
VAGUE = re.compile(
    r"((?:なんか|何か|なにか)使える|何をしたら|何から(?:手を付け|始め|やれば)|(?:どれ|いずれ)から(?:手[をぇえ]?(?:付け|つけ)|始め)|どれに(?:当たる|あたる|該当)|(?:何|なに)を[、,]?どこまで|とりあえず(?![^。、]{0,2}(?:いら|要ら|不要|結構|置い|おい))|どれ(?:が|を)(?:いい|使え)"
    r"|おすすめ|オススメ|(?:何も|まだ)[^。、]{0,4}固まって(?:い)?な|ふわっとした|漠然とした|どれが[^。、]{0,6}合う[^。、]{0,6}(?:分から|わから)"
    r"|(?:何を|なにを)[^。、]{0,15}(?:未定|決まって(?:い)?な|決めて(?:い)?な|決めていません|分かって(?:い)?な"
    r"|わかって(?:い)?な)|(?:何に|なにに)使う[^。、]{0,8}(?:未定|決まって(?:い)?な|決めて(?:い)?な|決めていません)"
    r"|どれがどれ|(?:何でも|なんでも)(?:いい|良い|ええ|えい)(?:ん|の|から|ので|き|けん|けぇ|け)|何をして(?:いい|良い|よい|ええ|えい)"
    r"|が(?:いい|良い|よい|ええ|えい)(?:の|ん|が)?か[、,][^。]{0,30}が(?:いい|良い|よい|ええ|えい)(?:の|ん|が)?か)"
)  # 「まだ何をするか決めてない」「何を入れるかは未定」「何を勉強させたいのか分かっていない」: the caller has no
# need yet (not 「誰が何をするか決めてある」, a plan asked for; nor 「何から手をつけたら」, which the labels read as a
# clear ask as often as not); 「何でもいいんで」「どれがどれだか」 and two options weighed (「機械がえいがか、パソコンの
# もんがえいがか」): the caller cannot say which
ASKS_WHEN = re.compile(
    r"(今年も|今年は|今年度も|まだやって|まだあり|次回|次はいつ|次の(?:募集|公募|回)|(?:募集|公募)は(?:いつ|まだ)"
    r"|申し込みたい|申込みたい|参加したい|受講したい)"
)
ASKS = re.compile(  # a sentence that says what the caller wants
    r"(知りたい|教えて|ありますか|ありませんか|ますか|ですか|でしょうか|ください|いただけ|たい|ほしい|欲しい|[?？])"
)
INTRODUCTION = re.compile(  # 「商工会議所の職員です」「会計事務所をやっています」: who calls, not what they need
    r"^[^、]{0,30}(?:(?:会社|店|屋|メーカー|事務所|員|担当者?|部|課|室|法人|組合|会議所|商工会|業者?|社長|代表|店主|経営者"
    r"|オーナー|学校|市|町|村|県|会|団体)(?:です|でございます|と申します)|をしています|をやっています|をしております"
    r"|(?:担当|経営|運営)(?:して|いたして)おります)$"
)
# the caller's own skill: 「パソコンはあまり得意じゃない」 asks for no パソコン (an IT tool), it says how to help them
OWN_SKILL = re.compile(
    r"(?:パソコン|ぱそこん|PC|IT|デジタル|機械|スマホ)(?:関係|のこと|操作)?(?:には|は|が|も|に)?"
    r"(?:あまり|ちょっと|少し|全然|まったく|全く|ぜんぜん|どうも)?"
    r"(?:得意じゃな|得意で(?:は)?な|得意ではありません|苦手|詳しくな|詳しく(?:は)?ありません|疎い|うとい|弱い)"
)
STAFF = re.compile(  # … unless it is the staff's: 「今いる社員がパソコンに弱い」 is a need for training
    r"(?:社員|従業員|スタッフ|職員|パート|若手|若い(?:人|の|子)|部下|新人)(?:さん)?(?:たち|達|ら)?(?:が|は|の|も)?$"
)
LABEL = re.compile(r"^【[^】]{0,30}】")  # a memo's or form's label at the start (【電話メモ 2/18 受:田村】)
WHOLE = re.compile(r"(全体像|事業全体|全体の(?:名前|名称|仕組み|事業)|[一ひ]とつの事業として|総称|大元の事業)")
WHOLE_AMONG = 5  # … when two of its parts are among the best five: it gains the score of the best of them
CONTRAST = re.compile(
    r"(?:それとは別に|とは別に|別件(?:で|ですが|として)|話は変わりますが|ではなく|じゃなく|やなくて|やのうて|じゃのうて|今回(?:知りたい|お聞きしたい|聞きたい)のは|本題は|以外(?:に|で|の)|のほかに|の他に)"
)
SPECIFIC_WEIGHT = 2.0  # a needs.yaml entry this heavy names one specific service (机上演習, セキュリティの動画)
SHARES = frozenset({"株"})  # a personal-investing word that is also a company's shares (事業承継 passes them on)
DENIED = re.compile(  # what the caller says they are not asking (「生産ラインはすでに自動化しており、設備や補助金の
    # ご相談ではございません」), up to the denial: its words are no need
    r"[^。!?！？]*?(?:相談|話|件|質問|お問い?合わ?せ|ご依頼)では(?:ございません|ありません|ないです|ない)(?:が|けど|けれど)?"
)
USED = re.compile(  # a program the caller has already used (「持続化補助金でネットショップを作りました」)
    r"(?:使い|使っ|利用し|活用し|もらい|もらっ|貰い|貰っ|受け|作り|作っ|導入し|入れ|取得し|申請し)"
    r"(?:ました|た(?!い|ら|め|こと(?:が|は)?(?:な|無)))|採択され|お世話にな"
)
MAIN_ASK = re.compile(r"(?:一番|いちばん|何より(?:も)?|なにより(?:も)?|特に|最も)(?:知りた|聞きた|教えてほし|相談した)")
SUBJECT = re.compile(  # a mail's subject line, up to the memo's next field or the body (the line break is a space
    r"件名\s*[:：]\s*([^/\n、。]{1,80}?)(?=\s+[^\s/]*[、。]|[/\n、。]|$)"  # once read: 「… 去年、」 starts the body)
)
CATEGORIES = ("補助金", "人材育成", "セキュリティ", "相談窓口", "その他")
CHOICE = re.compile(  # which program to use; not 「どちらに相談すればよいか」, which desk to ask (what triage answers)
    r"(どっち|どちら)(?!に(?:相談|問い?合わ?せ|連絡|聞|き[けく]))[^。?？]{0,15}(いい|よい|良い|べき|分から|迷)"
)
STATUS = re.compile(  # the caller's own application: its result, its number, when money or a decision comes
    r"(申請番号|審査(?:の)?結果|採択結果|不採択の理由|免除(?:して)?(?:もらえ|いただけ)|結果(?:は|が)?いつ"
    r"|交付決定(?:は|が)?いつ|いつ(?:頃|ごろ)?(?:結果|決ま|振り?込|入金))"
)  # 「不採択の理由を」「返還を免除してもらえないか」: a decision on the caller's own case
COMPLAINT = re.compile(
    r"(苦情|クレーム|納得が?(?:でき|い)(?:ない|ません)|納得(?:が)?いか(?:ない|ん|ね)|(?:は|とは)あんまり(?:じゃ|だ|や|です)|納得が?いき(?:ません|かね)|不満|立腹|説明しろ|そんな話は聞いて"
    r"|(?:何とか|なんとか)して(?:ください|ほしい|くれ)|つながりません|繋がりません"
    r"|(?<!挙動が)(?<!動作が)(?<!調子が)(?<!動きが)(?<!表示が)(?<!画面が)(?<!具合が)(?<!様子が)おかしい|(?<![一-龥])責任者|責任(?:の)?ある方|責められ|ふざけ|抗議|不当|怒り|怒って(?!は?(?:い)?な|はいません|はおら|る?ように|いるように)|腹が立|失礼(?:な|だ|です|すぎ)"
    r"|対応が悪い|つながらない|繋がらない|(?<!今)(?<!現在)(?<!今は)どうなって|どういうこと|止めて(?:ほしい|ください|もらえ)|やめさせ|まだ(?:入金|振り?込|届)"
    r"|遅すぎ|短すぎ|いつまで待|たらい回し|後回し|説明してほしい|誘導され|騙さ|だまさ|話が違|返金|何も来ません|連絡(?:も|が)(?:ない|来ない)"
    r"|返事が(?:ない|なく|来ない|こない)|話が進ま|まともに(?:動|対応|使え)|ちゃんとした(?:人|専門家|担当|対応)"
    r"|と言える(?:の|ん)(?:でしょうか|ですか)|(?:きちんと|ちゃんと)[^。]{0,12}(?:いる|てる)(?:の|ん)(?:でしょうか|ですか)"
    r"|と呼べ(?:ない|ません|る(?:の|ん)でしょうか)|何のための|何だった(?:ん|の)|どうなったん(?:ですか|でしょう|だ)"
    r"|おかしく(?:ない|ありません)(?:ですか|でしょうか|か)|べきでは(?:ない|ありません)(?:ですか|でしょうか|か)"
    r"|無駄に(?:なり|なっ)|責任がある|にも責任|やめて(?:ほしい|ください|もらえ)|意見を(?:伝え|言い|申し上げ)"
    r"|一言も(?:なかった|ありません)|責任(?:を|は)?取|(?:なんで|なぜ|どうして)(?:こっち|うち|私|わし|俺|こちら|当社|弊社)(?:が|だけ)"
    r"|(?:ちゃんと|きちんと)[^。]{0,6}説明(?:して|を)?(?:もらいた|ほし|しろ|せえ)|(?:どこに|どこへ|誰に)訴え|訴えたい|ご意見です|言わせて|言わせで"
    r"|不親切|改善して(?:ください|下さい|ほしい|欲しい|もらいた|いただきた)|(?:状態|状況|事態|対応)を?(?:どう|いかが)お考え|強い口調|口調が強|(?:せん|しない)でほしい|売り込み(?:ばっか|ばかり)|(?:半日|一日)(?:つぶれ|潰れ|無駄)|語気が強|語気を強|声を荒|文句を?(?:言|い)|聞いとらん|聞いてへん|(?:ええ|いい)ことしか"
    r"|(?:が|は)これで(?:ええ|いい|よい)(?:ん|の)(?:か|です|でしょう))"
)  # the last lines: rhetorical questions (「これで駆けつけと言えるのでしょうか」「何のための窓口なんですか」「計画書は
# 何だったんでしょうか」「載せておくのはおかしくないですか」; a machine's 挙動がおかしい is a symptom), blame
# (「国にも責任がある」) and feedback (「意見を伝えたい」「ご意見です」), and 「誰が責任取るんだ」
# 「なんでこっちが返さないかんとですか」「どこに訴えれば」「この状態をどうお考えなのか」; a title (製造責任者) is
# no 責任者 asked for


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
    evidence: set[str] = field(default_factory=set)  # the words of the inquiry that point to it (a name, a need)
    parts: dict[str, float] = field(default_factory=dict)  # the score by signal (named, need, description, …)
    described: float = 0.0  # how well its own slides fit the inquiry (BM25 over programs, profiles.py)
    sources: list[tuple[str, int]] = field(default_factory=list)  # slides its reasons quote figures from (size)
    examples: tuple[str, ...] = ()  # the past inquiries like this one that were given this program (examples.py)
    item: int | None = None  # the first of the needs the inquiry lists ((1) (2) …) that it answers

    def sure(self, confirmed: bool = False) -> bool:
        """Whether the evidence for it is enough for a referral without a person: its name, a need phrase for one
        specific service, or a strong description (a weaker one when an everyday need phrase agrees, or the past
        inquiries most like this one agree on it: ``confirmed``). A program found only by retrieval, a broad need or
        a weak description is a guess."""
        if any(self.parts.get(k) for k in NAMED_SIGNALS) or self.parts.get("need", 0.0) >= SPECIFIC_NEED:
            return True
        agreed = self.parts.get("need") or confirmed
        return self.described >= (DESCRIBED_WITH_NEED if agreed else DESCRIBED)

    def separate_need(self, other: _Score) -> bool:
        """Whether this program answers a need of its own, not one it shares with ``other``: an inquiry with two
        needs (機械を入れたい, 社員に学ばせたい) is not an ambiguous one."""
        return bool(self.evidence) and bool(other.evidence) and not (self.evidence & other.evidence)


@dataclass(frozen=True)
class Need:
    """Everyday words for a need (``corpus/needs.yaml``); a phrase "A+B" matches when both parts occur."""

    phrases: tuple[tuple[str, ...], ...]
    programs: tuple[str, ...]
    weight: float = 1.0

    @cached_property
    def _folded(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(fold_small_kana(p) for p in parts) for parts in self.phrases)

    def match(self, text: str) -> str | None:
        """The phrase that occurs, as written here; small kana typed full size count (セキュリテイ is セキュリティ)."""
        folded = fold_small_kana(text)
        pairs = zip(self.phrases, self._folded, strict=True)
        hit = next((shown for shown, parts in pairs if all(p in folded for p in parts)), None)
        return "・".join(hit) if hit else None


class _NeedEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    phrases: list[str] = Field(min_length=1)
    programs: list[str] = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0, le=5)
    note: str = Field(min_length=1)  # the slides that describe the fit


class _NeedsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    needs: list[_NeedEntry] = Field(default_factory=list)


def load_needs(corpus_dir: Path, known: set[str] | None = None) -> list[Need]:
    """``needs.yaml``, strictly: an unknown key (a misspelt ``weight``), an entry without a source note, or a program
    not in ``programs.yaml`` (``known``) is a DataError naming the entry."""
    path = corpus_dir / NEEDS_FILE
    if not path.exists():
        return []
    data = load_model(path, _NeedsFile)
    for i, item in enumerate(data.needs):
        unknown = [p for p in item.programs if known is not None and p not in known]
        if unknown:
            raise DataError(f"{path.name}: needs.{i} の制度 {', '.join(unknown)} は programs.yaml にありません。")
    return [
        Need(
            phrases=tuple(tuple(nfkc(part) for part in p.split("+")) for p in item.phrases),
            programs=tuple(item.programs),
            weight=item.weight,
        )
        for item in data.needs
    ]


class Triage:
    """Triage inquiries against one loaded assistant (its corpus, registry and retriever)."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.corpus: Corpus = assistant.corpus
        self.directory = Directory(self.corpus, assistant.settings.corpus_dir / CONTACTS_FILE)
        settings = assistant.settings
        known = {p.id for p in self.corpus.registry.programs}
        self.needs = load_needs(settings.corpus_dir, known)
        self.profiles = ProgramProfiles(self.corpus)
        self._in_decks = self.corpus.registry.loose_key("\n".join(s.text for s in self.corpus.slides))
        self.sizes = load_size_table(self.corpus, settings.corpus_dir, assistant.rulebook.programs)
        examples = load_examples(settings.triage_examples, known) if settings.triage_use_examples else []
        # read as an inquiry is: an example is recognised as the inquiry it is, and never votes for itself
        self.examples = ExampleMemory([replace(e, text=read_inquiry(e.text)) for e in examples], self._key_terms)

    def _wanted(self, text: str) -> str:
        """The inquiry (as ``read_inquiry`` gives it) less 「商工会議所の職員です。」 and 「従業員40人」: what they
        need."""
        return without_size(self._without_introduction(without_denied(text)))

    def _key_terms(self, text: str) -> list[str]:
        """The key terms an inquiry is matched by (slides' profiles, past inquiries): those of what it needs."""
        return self.assistant.retriever.stats.key_terms(self._wanted(text))

    @contextmanager
    def holding_out(self, source: str | None) -> Iterator[None]:
        """Triage without the examples of one file (``triage_dev.yaml``): a labelled set is scored as unseen."""
        if not source:
            yield
            return
        memory = self.examples
        self.examples = memory.without(source)
        try:
            yield
        finally:
            self.examples = memory

    def _scores(self, text: str, key: list[str], votes: list[Vote]) -> list[_Score]:
        registry = self.corpus.registry
        scores: dict[str, _Score] = {}

        def add(pid: str, value: float, reason: str, evidence: str = "", signal: str = "named",
                lead: bool = False) -> None:
            s = scores.setdefault(pid, _Score(pid))
            s.score += value
            s.parts[signal] = s.parts.get(signal, 0.0) + value
            if evidence:
                s.evidence.add(evidence)
            if reason not in s.reasons:
                s.reasons.insert(0 if lead else len(s.reasons), reason)  # the first is the one shown

        named_text = OF_SUBSIDY.sub(r"\1", text)  # 事業承継の補助金 → 事業承継補助金, as the registry writes it
        focus = set(registry.find(" ".join("".join(m) for m in FOCUS.findall(named_text))))
        named = registry.find(named_text)
        loose = [pid for pid in registry.find_loose(named_text, self._in_decks) if pid not in named]  # ものづくり捕助金
        scope = self.assistant.composer.scope
        unknown = scope.unknown_measure(text)  # 「中小企業デジタル化応援補助金」: a measure the decks lack …
        if unknown:  # … is not a slip for a name it contains (デジタル化補助金), as 省力可補助金 is for 省力化補助金
            loose = [pid for pid in loose if registry.is_slip_for(unknown, pid)]
        own_words = LABEL.sub("", without_denied(text))  # 【ご相談】【電話メモ】 label the message: the desk's words
        hits = [(need, hit) for need in self.needs if (hit := need.match(own_words))]  # the caller's need phrases
        needed = bool(hits)  # 「ホームページをこさえたい」 beside 青色申告
        personal = scope.personal_matter(named_text)  # 年金, 自家用車; 株, unless a need of the decks is asked too
        outside = (  # (「税理士さんは株の話ばっかり」 beside 娘婿に会社を譲ろう: the company's shares, passed on),
            # 確定申告 (the same), 「貴局ご担当者様 … ご提案いたします」
            (personal and not (needed and personal in SHARES)) or (not needed and scope.tax_procedure(named_text))
            or scope.solicitation(named_text)
        )
        if not named and not loose and (unknown or outside):
            return []  # a measure of another body, or a personal matter (年金, 自家用車): out of scope
        stats = self.assistant.retriever.stats
        wanted = self._wanted(text)
        matches = self.profiles.match(key, {*named, *loose}, limit=len(registry.programs))
        asking, contrasted = self._asked_part(named_text)
        asked: list[Match] = []  # the part that asks, when it names none of the programs named elsewhere
        specific: set[str] = set()  # … and, after a contrast, the programs its phrases for one specific service want
        if asking and not registry.find(asking) and not registry.find_loose(asking, self._in_decks):
            asked = self.profiles.match(stats.key_terms(asking), {*named, *loose}, limit=3)
            if contrasted:  # 「その件やのうて、…セキュリティの動画はないですか」
                specific = {n.programs[0] for n in self.needs if n.weight >= SPECIFIC_WEIGHT and n.match(asking)}
        # 「…とは別に」「…ではなく」 set the named program aside: a fair fit of the rest is enough
        bar = (SENTENCE_MIN, 1.0) if contrasted else (STRONG_DESCRIPTION, CONTEXT_RATIO)
        scene: list[str] = []  # forms of the programs named only as context
        written_scene: list[str] = []  # … of those named as written
        set_scene: set[str] = set()  # … and their ids: their score is their name's, no other signal adds to it
        complaint = bool(COMPLAINT.search(text))  # a complaint is about the program it names, never its scene
        wanted_named = self._wanted(named_text)
        items = _items(wanted_named)  # (1) … (2) …: the needs the caller lists
        listed = {pid for item in items for pid in registry.find(item)}  # 「(2)持続化補助金の締切」 asks about it
        subject = " ".join(SUBJECT.findall(named_text))  # 「件名:新製品の設備について(ものつくり補助金?)」: a mail's
        if subject:  # subject is what it asks (most inquiries have none: no fuzzy pass over an empty string)
            listed |= {*registry.find(subject), *registry.find_loose(subject, self._in_decks)}
        if contrasted:  # 「IT導入補助金で…入れた。今回は別件で、ITパスポートを」: the program named after it is asked
            listed |= set(registry.find(asking))
        for pid in [*named, *loose]:
            name = registry.get(pid).name
            context = not complaint and pid not in listed and bool(
                self._context_of(pid, [*named, *loose], matches) or self._context_of(pid, [*named, *loose], asked, *bar)
                or specific - {*named, *loose}
                or (self._used_before(pid, named_text) and any(pid not in need.programs for need, _ in hits))
            )
            weight = NAMED_WEIGHT if pid in named else LOOSE_WEIGHT
            if context:  # the name only sets the scene (「DX認定を取ったあと…保証を別枠で」)
                scene += registry.get(pid).forms
                if pid in named:  # as written, not a near match (情報セキュリティの勉強会 is no 情報セキュリティ教材)
                    written_scene += registry.get(pid).forms
                set_scene.add(pid)
                reason = f"「{name}」はご相談の前提として書かれています"
                add(pid, weight * CONTEXT_FACTOR, reason, f"named:{pid}", "context")
            elif pid in named:  # every program named counts the same; the other signals break ties
                add(pid, weight, f"「{name}」について書かれています", f"named:{pid}")
                if pid in focus:  # 「SECURITY ACTIONの宣言」, 〇〇とは, 〇〇って何: the program the question is about
                    add(pid, FOCUS_WEIGHT, f"「{name}」について尋ねています", signal="focus")
            else:
                add(pid, weight, f"「{name}」のことと思われます", f"named:{pid}", "loose")
        asked_words = LABEL.sub("", asking)
        for need, hit in hits:
            # a need whose every word is inside a scene-setting name (「お助け隊」's サイバー) is that name's, not the
            # caller's; 「手引き」 next to 「情報セキュリティ診断」's セキュリティ is the caller's own, and so is
            # 「スライドの教材」 when only a near match (情報セキュリティ…) made 情報セキュリティ教材 the scene
            if not all(any(part.lower() in form for form in written_scene) for part in hit.split("・")):
                asked_too = bool(asked_words) and need.match(asked_words) is not None
                for rank, pid in enumerate(need.programs):
                    weight = (need.weight**NEED_POWER + ASKED_NEED * asked_too) * NEED_WEIGHT / (1 + 0.5 * rank)
                    add(pid, weight, f"「{hit}」のご相談に合う制度です", hit, "need")
        size = read_size(text)
        for fit in self.sizes.fits(text, size):  # 年商25億円, 従業員2,000人, 数十億円の投資
            if fit.program not in set_scene:
                add(fit.program, SIZE_WEIGHTS[fit.kind], fit.reason, f"size:{fit.kind}", "size")
                scores[fit.program].sources += [(src.file, src.slide) for src in fit.sources]  # 上限5億's slide
        hits = self.assistant.retriever.search(without(wanted, scene), k=8)  # not about the scene-setting names
        strong = bool(matches) and matches[0].score >= STRONG_DESCRIPTION
        if not scores and not strong and scope.vocabulary_reason(text, hits):
            return _remembered(votes)  # no slide fits: only a clear past case, for a person to confirm
        described = [m for m in matches if m.program not in set_scene]
        full = min(1.0, described[0].score / DESCRIPTION_FULL) if described else 0.0
        for m in described:
            if m.program in scores:
                scores[m.program].described = m.score
            if m.score < DESCRIPTION_SHARE * described[0].score:
                break
            words = "」「".join(m.terms) or registry.get(m.program).name
            strength = (m.score / described[0].score) ** DESCRIPTION_POWER * full
            add(m.program, DESCRIPTION_WEIGHT * strength, f"ご相談の「{words}」などが、この制度の資料の説明に合います",
                signal="description")
            scores[m.program].described = m.score
            scores[m.program].evidence.update(f"word:{t}" for t in m.terms)
        sentences = [x for x in SENTENCE.split(wanted) if x.strip()]
        if len(sentences) > 1:  # several sentences may carry several needs: each its best program
            for i, sentence in enumerate(sentences):
                best = self.profiles.match(stats.key_terms(sentence), {*named, *loose}, limit=1)
                if best and best[0].score >= SENTENCE_MIN and best[0].program not in set_scene:
                    m = best[0]
                    words = "」「".join(m.terms)
                    add(m.program, SENTENCE_WEIGHT * min(1.0, m.score / STRONG_DESCRIPTION),
                        f"ご相談の「{words}」などが、この制度の資料の説明に合います", f"sentence:{i}", "sentence")
        lead = ITEM.split(wanted_named)[0] if items else ""  # 「社内の情報セキュリティのルールを…」
        for i, item in enumerate(items):  # (1) … (2) … (3) …: each listed need its program
            own = [pid for pid in registry.find(item) if pid in scores and pid not in set_scene]
            fits = [] if own else [m for m in self.profiles.match(stats.key_terms(item), {*named, *loose}, limit=3)
                                   if m.program not in set_scene]
            if fits and fits[0].score >= SENTENCE_MIN:  # of the programs that fit it about as well, the one the
                close = [m for m in fits if m.score >= CLOSE * fits[0].score]  # other signals favour
                m = max(close, key=lambda m: scores[m.program].score if m.program in scores else 0.0)
                if m.program not in scores:
                    add(m.program, ITEM_WEIGHT * min(1.0, m.score / STRONG_DESCRIPTION),
                        f"ご相談の「{'」「'.join(m.terms)}」などが、この制度の資料の説明に合います", signal="item")
                own = [m.program]
            elif not own:  # no slide fits it well: a need phrase of the item, read with the lead-in that gives its
                own = self._phrased(item, lead, {pid for pid in scores if pid not in set_scene})[:1]  # topic
            for pid in own:  # 「(2)ものづくり補助金とIT導入補助金の違い」: both
                scores[pid].evidence.add(f"item:{i}")
                if scores[pid].item is None:
                    scores[pid].item = i
        counted: list[str] = []
        for hit in hits:
            for pid in self._hit_programs(hit.slide, key):
                if pid in counted or pid in set_scene:  # a program with many slides (お助け隊) is not more relevant
                    continue
                where = f"{hit.slide.source_file} スライド{hit.slide.number}"
                reason = f"資料「{hit.slide.title}」（{where}）の内容に近いご相談です"
                add(pid, RETRIEVAL_WEIGHT / (len(counted) + 1), reason, signal="retrieval")
                counted.append(pid)
        compared = {*named, *loose} - set_scene  # two programs named: the caller compares them, no third is meant
        for vote in votes:  # past inquiries worded like this one: they confirm what the slides found
            plausible = vote.program in scores and vote.program not in set_scene  # the slides' signals found it
            if plausible and (len(compared) < 2 or vote.program in compared):
                cases = "、".join(vote.examples[:2])
                add(vote.program, EXAMPLE_WEIGHT * vote.share, f"似た過去のご相談（{cases}）にも当てはまった制度です",
                    signal="example")
                scores[vote.program].examples = vote.examples
        for pid in self.sizes.too_small(text, size):  # 数十億円の投資 is not a matter for a program capped at 1億円
            if pid in scores:
                scores[pid].score *= TOO_SMALL_FACTOR
        if WHOLE.search(text):  # 「三層で育てる事業の全体像」: the program the fitting ones are parts of
            ranked = [s.program for s in sorted(scores.values(), key=lambda s: -s.score)][:WHOLE_AMONG]
            for pid in dict.fromkeys(registry.get(p).part_of for p in ranked if registry.get(p).part_of):
                parts = [p for p in ranked if p in registry.parts(pid)]
                if len(parts) >= 2:
                    names = "・".join(f"「{registry.get(p).name}」" for p in parts)
                    best = max(scores[p].score for p in parts)  # the whole fits as well as its best part
                    add(pid, best, f"{names}を含む事業全体についてのご相談です", signal="whole", lead=True)
        return sorted(scores.values(), key=lambda s: -s.score)

    def _phrased(self, item: str, lead: str, candidates: set[str]) -> list[str]:
        """The programs a listed need's own phrases ask for (those for one specific service first), among
        ``candidates``: a phrase in the item, or in the lead-in and the item together but not the lead-in alone."""
        hits = [n for n in self.needs
                if n.programs[0] in candidates and (n.match(item) or (n.match(lead + item) and not n.match(lead)))]
        return list(dict.fromkeys(n.programs[0] for n in sorted(hits, key=lambda n: -n.weight)))

    @staticmethod
    def _without_introduction(text: str) -> str:
        """The inquiry less a first sentence that only says who the caller is (「商工会議所の職員です。」): who writes
        is not what they need, and a caller's trade (商工会議所, 会計事務所) is another program's word."""
        sentences = [x for x in SENTENCE.split(text) if x.strip()]
        if len(sentences) > 1 and INTRODUCTION.search(sentences[0]) and not ASKS.search(sentences[0]):
            return text[text.index(sentences[0]) + len(sentences[0]) :]
        return text

    def _asked_part(self, text: str) -> tuple[str, bool]:
        """The part of a longer inquiry that says what the caller wants, and whether a contrast sets off what comes
        before it. After 「それとは別に」「ではなく」「以外に」: the rest of the text. Otherwise the first sentence
        that says what the caller most wants (「それが一番知りたい」), else the last that asks (知りたい, ありますか,
        教えて, ?), after sentences that introduce the caller (「マナビDXに講座を載せたい研修会社です。」), with
        the sentence before it when it only points back (「そちらの問い合わせ先を教えて」). Empty for a one-sentence
        inquiry without a contrast."""
        parts = CONTRAST.split(text)
        if len(parts) > 1 and parts[-1].strip():
            return parts[-1], True
        sentences = [x for x in SENTENCE.split(text) if x.strip()]
        if len(sentences) < 2:
            return "", False
        i = next((i for i, x in enumerate(sentences) if MAIN_ASK.search(x)), None)  # 「それが一番知りたい」
        if i is None:
            i = next((i for i in reversed(range(len(sentences))) if ASKS.search(sentences[i])), len(sentences) - 1)
        stats = self.assistant.retriever.stats
        best = self.profiles.match(stats.key_terms(sentences[i]), set(), limit=1)
        if i and (not best or best[0].score < SENTENCE_MIN):
            return "。".join(sentences[i - 1 : i + 1]), False
        return sentences[i], False

    def _used_before(self, pid: str, text: str) -> bool:
        """Whether every sentence that names ``pid`` says the caller has used it (「去年、持続化補助金でネットショップを
        作りました」): with a need of another program, the name only sets the scene."""
        mentions = [x for x in SENTENCE.split(text) if pid in self.corpus.registry.find(x)]
        return bool(mentions) and all(USED.search(x) for x in mentions)

    @staticmethod
    def _context_of(pid: str, named: list[str], matches: list[Match], strong: float = STRONG_DESCRIPTION,
                    ratio: float = CONTEXT_RATIO) -> Match | None:
        """A program not named whose own slides fit the rest of the inquiry strongly and better than the named
        program's do, in the whole inquiry or in the sentence that asks: the inquiry names ``pid`` only to set the
        scene (「DX認定を取ったあと…保証を別枠で」, 「IT導入補助金の枠で補助が出る…サービス」,
        「マナビDXに講座を載せたい研修会社です。…国のスキルの標準について知りたい」)."""
        own = next((m.score for m in matches if m.program == pid), 0.0)
        rival = next((m for m in matches if m.program not in named), None)
        if rival and rival.score >= strong and rival.score >= ratio * own:
            return rival
        return None

    def _hit_programs(self, slide: Slide, key: list[str]) -> tuple[str, ...]:
        """The program a retrieved slide speaks for: its topic; on a slide without one (a catalogue of services, a
        menu table) the owner of its line that best matches the inquiry (the section it is in, the program a table
        row names); else the one program it names."""
        if slide.topic:
            return slide.topic[:1]
        best = self.assistant.retriever.stats.best_units(slide, key, set())
        owners = self.profiles.owners(slide, best[0][1].text) if best else ()
        return owners[:1] or (slide.programs if len(slide.programs) == 1 else ())

    def run(self, inquiry_id: str, text: str, today: dt.date) -> TriageResult:
        q = read_inquiry(text)
        registry = self.corpus.registry
        key = self._key_terms(q) if q else []
        votes = self.examples.votes(q, key) if q else []  # past inquiries like this one
        scored = [s for s in self._scores(q, key, votes) if s.score >= MIN_SCORE] if q else []
        ranked = scored[:2] + [s for s in _distinct(scored) if s not in scored[:2]][:1]  # the third: a need of its own
        ranked = _answering_items(scored, ranked)  # (1) … (2) … (3) …: a program for each need listed
        reasons: list[str] = []
        if not ranked:
            reasons.append("資料にある制度に当てはまりません（対象外の可能性）")
        else:
            top = ranked[0]
            if not top.sure(_confirmed(top, votes)):
                reasons.append("どの制度に当たるか確信が持てません")
            if len(ranked) > 1 and ranked[1].score >= CLOSE * top.score and not ranked[1].separate_need(top):
                reasons.append("複数の制度が同じくらい当てはまります")
        out_of_scope = bool(votes) and not votes[0].program
        if ranked and out_of_scope:
            reasons.append("よく似た過去のご相談は、資料にある制度の対象外でした")
        if COMPLAINT.search(q):
            reasons.append("苦情・不満を含みます")
        if ranked and VAGUE.search(q) and not _items(q):  # a caller who lists their needs is not vague
            reasons.append("ご相談の内容が広く、制度を一つに絞れません")
        if len(ranked) > 1 and CHOICE.search(q):
            reasons.append("どの制度を使うかのご相談です")
        if ranked and STATUS.search(q):
            reasons.append("個別の申請の状況についてのお問い合わせです（資料ではお答えできません）")
        if ranked and ASKS_WHEN.search(q):
            dates = self.directory.dates_for(ranked[0].program)
            if dates and all(d.date < today for d in dates):
                reasons.append("資料にある日程はすでに過ぎています（最新の予定の確認が必要です）")

        details = [
            {
                "id": s.program,
                "name": registry.get(s.program).name,
                "score": round(min(s.score, 2.0) / 2.0, 3),
                "reason": s.reasons[0],
                "examples": list(s.examples),  # past inquiries like this one given this program (ids)
            }
            for s in ranked
        ]
        contacts, contact_details = [], []
        citations = [self._citation(*source) for s in ranked for source in s.sources]  # the size reasons' slides
        for i, s in enumerate(ranked):
            for c in self.directory.contacts_for(s.program, limit=3 if i < 2 else 1):
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
            if s.score < RELEVANT * ranked[0].score:
                continue  # a distant runner-up's schedule is not what the caller asked about
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
        # the past inquiries most like it were out of scope and it names no program: no program's category (a
        # passport, a noise complaint: the words that fit a program's slides do not make it that program's matter)
        named = bool(ranked) and any(ranked[0].parts.get(k) for k in NAMED_SIGNALS)
        category = self._category(ranked if named or not out_of_scope else [])
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

    def _category(self, ranked: list[_Score]) -> str:
        """The registry category of the best program; その他 when no program of the decks fits (a question about
        pensions is not a 相談窓口 matter for this desk even when it asks どこに相談)."""
        if ranked:
            cat = self.corpus.registry.get(ranked[0].program).category
            return cat if cat in CATEGORIES else "その他"
        return "その他"

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


def without_denied(text: str) -> str:
    """The inquiry less what the caller says they are not asking (「…設備や補助金のご相談ではございません」)."""
    return DENIED.sub(" ", text)


def read_inquiry(text: str) -> str:
    """An inquiry as triage reads it (NFKC, whitespace collapsed), less how to reach the caller (e-mail, URL, phone)
    and how well they know computers (「パソコンは苦手」): neither is what they ask."""
    return inquiry_text(OWN_SKILL.sub(_unless_staff, without_contact_details(inquiry_text(text))))


def _unless_staff(m: re.Match[str]) -> str:
    """「パソコンは苦手」 is gone; 「社員がパソコンに弱い」 stays: the staff's skill is a need (training), not the
    caller's way of asking."""
    return m.group(0) if STAFF.search(m.string[max(0, m.start() - 12) : m.start()]) else " "


def _remembered(votes: list[Vote]) -> list[_Score]:
    """When no program's slides fit the inquiry's words, the program of the most similar past inquiries, if they
    agree on it (the runner-up vote, no program included, at most ``MEMORY_MARGIN`` of it): a candidate for a person to
    confirm (it is never "sure"), so the desk sees the referral a colleague gave a caller who wrote the same way."""
    if not votes or not votes[0].program or (len(votes) > 1 and votes[1].share > MEMORY_MARGIN):
        return []
    best = votes[0]
    reason = f"資料の言葉とは一致しませんが、よく似た過去のご相談（{'、'.join(best.examples[:2])}）でご案内した制度です"
    return [_Score(best.program, MIN_SCORE, [reason], parts={"example": MIN_SCORE}, examples=best.examples)]


def _confirmed(best: _Score, votes: list[Vote]) -> bool:
    """Whether the past inquiries most like this one agree on ``best``: it has the best vote, from two or more of
    them, and the next vote (no program included) is at most ``CONFIRMED`` of it."""
    if not votes or votes[0].program != best.program or len(votes[0].examples) < 2:
        return False
    return len(votes) < 2 or votes[1].share <= CONFIRMED


def _items(text: str) -> list[str]:
    """The needs an inquiry lists, (1) … (2) … or A先生: … B先生: … (at least two), each with what follows it."""
    parts = ITEM.split(text)
    items = [p for p in parts[1:] if p.strip()]
    return items if len(items) > 1 else []


def _answering_items(scored: list[_Score], ranked: list[_Score], limit: int = 3) -> list[_Score]:
    """The first three when the inquiry lists its needs: the best program, then the one answering each need listed,
    in the caller's order, then the others; best first. A listed need is not left out for a program that answers
    no listed need (the third place of a fourth program named)."""
    listed = sorted((s for s in scored if s.item is not None), key=lambda s: s.item)
    if not listed:
        return ranked
    chosen = [scored[0], *(s for s in listed if s is not scored[0])]
    chosen += [s for s in ranked if s not in chosen]
    return sorted(chosen[:limit], key=lambda s: -s.score)


def _distinct(ranked: list[_Score]) -> list[_Score]:
    """The ranking with the programs that answer a need of their own (「引き継ぐ」: 事業承継) first, then the others
    in their order (省力化 after ものづくり for the same 「設備」, a program found by its words only): an inquiry with
    three needs gets one program for each in its first three."""
    covered: set[str] = set()
    first: list[_Score] = []
    later: list[_Score] = []
    for s in ranked:
        needs = {e for e in s.evidence if not e.startswith(("word:", "sentence:"))}
        if "context" in s.parts:  # a program named to set the scene answers no need
            needs = {e for e in needs if not e.startswith("named:")}
        own = not first or bool(needs - covered)  # the best, or a program answering a need no better one answers
        (first if own else later).append(s)
        covered |= needs
    return first + later


def _ja_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"
