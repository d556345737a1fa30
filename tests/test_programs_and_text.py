from assistant.ingest.programs import load_registry
from assistant.settings import REPO_ROOT
from assistant.text import nfkc, tokenize

REG = load_registry(REPO_ROOT / "corpus")


def test_registry_covers_the_decks_programs():
    names = {p.name for p in REG.programs}
    for expected in ["ものづくり補助金", "小規模事業者持続化補助金", "デジタル化・AI導入補助金", "省力化投資補助金",
                     "マナビDX", "マナビDXクエスト", "SECURITY ACTION", "DX推進指標"]:
        assert expected in names


def test_aliases_resolve_to_one_program():
    assert REG.find("IT導入補助金を使いたい") == ["it_dounyu"]
    assert REG.find("デジタル化・AI導入補助金") == ["it_dounyu"]
    assert REG.find("カタログ補助金") == REG.find("省力化投資補助金")


def test_longest_name_wins():
    assert REG.find("マナビDXクエストに参加したい") == ["manabi_dx_quest"]


def test_expansion_adds_only_other_names():
    extra = REG.expansion(["it_dounyu"], "IT導入補助金の補助率")
    assert "デジタル化・AI導入補助金" in extra
    assert "IT導入補助金" not in extra


def test_nfkc_maps_compatibility_kanji_and_full_width():
    assert nfkc("⽀援　１２３") == "支援 123"
    assert nfkc("⺠間⻑期") == "民間長期"


def test_fugashi_tokenises_japanese():
    assert "インボイス" in tokenize("インボイス制度への対応")


def test_a_synonym_of_two_parts_needs_both():
    from assistant.ingest.synonyms import Entry, Synonyms

    syn = Synonyms((Entry(words=["専門家+来て"], means=["専門家を派遣"], source="003"),))
    assert syn.expansion("専門家にお店まで来てもらえますか") == "専門家を派遣"
    assert syn.expansion("専門家に相談したい") == "" and syn.expansion("来てください") == ""
