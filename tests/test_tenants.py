"""The tenants of a deployment: a collaboration's members, its water board, whose chat it is."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.nlu import content
from bot.nlu.content import Content, Variant
from bot.replies import render, tenants
from bot.replies.municipality import FactsError
from bot.replies.render import Renderer
from bot.replies.tenants import Tenants, open_all
from bot.settings import PROJECT_DIR
from tests.test_municipality import DEMO

# What a member sets itself; the collaboration's file holds the rest of the demo facts.
OWN = ("municipality", "tax_year", "dog_url", "dog_first_eur", "dog_extra_eur",
       "water_board", "water_board_url")
BOARD = {"kind": "water_board", "name": "Waterschap Rivierenland", "phone": "0344 649 090",
         "website": "https://www.rivierenland.example",
         "remission_url": "https://www.rivierenland.example/kwijtschelding",
         "household_eur": 131.40, "property_pct": 0.0263, "purification_unit_eur": 69.92}
POSTCODES = "# demo\nfrom;to;tenant\n4000;4099;noord\n4100;4199;zuid\n"


def write(folder: Path, key: str, facts: dict[str, Any]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{key}.yml").write_text(yaml.safe_dump(facts, allow_unicode=True))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A collaboration, two members that override some of its facts, and their water board."""
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    shared = {name: value for name, value in demo.items() if name not in OWN}
    facts = tmp_path / "facts"
    write(facts, "samen", {"kind": "collaboration", **shared, "phone": "088 555 0100",
                           "water_board_tenant": "rivierenland"})
    write(facts, "noord", {"extends": "samen", "municipality": "Gemeente Noord",
                           "tax_year": 2026, "dog_url": "https://noord.example/hond",
                           "dog_first_eur": 80.0, "dog_extra_eur": 120.0})
    write(facts, "zuid", {"extends": "samen", "municipality": "Gemeente Zuid",
                          "tax_year": 2026, "dog_url": "https://zuid.example/hond",
                          "dog_first_eur": 110.0, "dog_extra_eur": 150.0,
                          "phone": "0800 1234", "opening_hours": {"monday": "09:00-12:00"}})
    write(facts, "rivierenland", BOARD)
    (facts / "postcodes.csv").write_text(POSTCODES)
    return facts


@pytest.fixture
def served(folder: Path) -> Tenants:
    return open_all(folder, (), "noord")


def test_a_member_has_the_collaborations_facts_and_its_own(folder: Path) -> None:
    noord, zuid = tenants.load(folder, "noord"), tenants.load(folder, "zuid")
    assert (noord.kind, noord.lineage) == ("municipality", ("samen", "noord"))
    assert noord.facts["phone"] == "088 555 0100", "shared"
    assert zuid.facts["phone"] == "0800 1234", "its own, key by key"
    assert (noord.facts["dog_first_eur"], zuid.facts["dog_first_eur"]) == (80.0, 110.0)
    assert noord.facts["objection_weeks"] == zuid.facts["objection_weeks"] == 6
    assert noord.opening_hours_text("nl") == (
        "maandag t/m donderdag 8.30\u201317.00 uur, vrijdag 8.30\u201312.30 uur")
    assert zuid.opening_hours_text("nl") == "maandag 9.00\u201312.00 uur"


def test_a_member_answers_with_its_water_boards_facts(folder: Path) -> None:
    noord = tenants.load(folder, "noord")
    assert noord.facts["water_board"] == "Waterschap Rivierenland"
    assert noord.facts["water_board_url"] == "https://www.rivierenland.example"
    assert noord.facts["water_board_household_eur"] == 131.40
    assert noord.facts["water_board_purification_units_multi"] == 3, "the schema's default"
    board = tenants.load(folder, "rivierenland")
    assert (board.kind, board.name) == ("water_board", "Waterschap Rivierenland")


def test_every_file_but_the_collaboration_is_a_tenant(served: Tenants) -> None:
    assert sorted(served.all) == ["noord", "rivierenland", "zuid"]
    assert [town.key for town in served.municipalities] == ["noord", "zuid"]
    assert served.shared and served.default.key == "noord"


def test_a_collaboration_is_not_a_tenant_of_its_own(folder: Path) -> None:
    with pytest.raises(FactsError, match="collaboration's shared facts") as refused:
        tenants.load(folder, "samen")
    assert str(folder / "samen.yml") in str(refused.value)


def refusal(folder: Path, key: str = "noord") -> str:
    with pytest.raises(FactsError) as refused:
        open_all(folder, (), key)
    return str(refused.value)


def test_extends_in_a_circle_is_refused_naming_the_file(folder: Path) -> None:
    shared = yaml.safe_load((folder / "samen.yml").read_text())
    write(folder, "samen", {**shared, "extends": "noord"})
    with pytest.raises(FactsError) as refused:
        tenants.load(folder, "noord")
    assert f"{folder / 'noord.yml'} extends itself (through noord, samen)" in str(refused.value)
    assert "extends itself" in refusal(folder), "the deployment does not start"


def test_a_fact_neither_member_nor_collaboration_has_is_named_with_the_members_file(
    folder: Path
) -> None:
    shared = yaml.safe_load((folder / "samen.yml").read_text())
    del shared["objection_weeks"]
    write(folder, "samen", shared)
    message = refusal(folder)
    assert str(folder / "noord.yml") in message
    assert "`objection_weeks` is missing (expected a whole number" in message


def test_an_unknown_kind_is_refused_naming_the_file(folder: Path) -> None:
    write(folder, "gelderland", {**BOARD, "kind": "province"})
    message = refusal(folder)
    assert str(folder / "gelderland.yml") in message
    assert "`kind` is 'province'" in message and "water_board" in message


def test_a_water_board_that_is_a_municipality_is_refused(folder: Path) -> None:
    shared = yaml.safe_load((folder / "samen.yml").read_text())
    write(folder, "samen", {**shared, "water_board_tenant": "zuid"})
    message = refusal(folder)
    assert str(folder / "noord.yml") in message and "is not a water board" in message


def test_a_postcode_range_of_no_facts_file_is_refused_with_its_line(folder: Path) -> None:
    (folder / "postcodes.csv").write_text(POSTCODES + "4200;4299;oost\n")
    message = refusal(folder)
    assert f"{folder / 'postcodes.csv'}, line 5" in message and "oost.yml" in message


def test_a_postcode_row_not_in_the_format_is_refused_with_an_example(folder: Path) -> None:
    (folder / "postcodes.csv").write_text(POSTCODES + "4200-4299 oost\n")
    assert "line 5: write `from;to;tenant`" in refusal(folder)


def test_the_default_must_be_one_of_the_tenants_and_a_municipality(folder: Path) -> None:
    assert "BALIE_MUNICIPALITY is 'oost'" in refusal(folder, "oost")
    with pytest.raises(FactsError, match="a water board: the default tenant must be a munic"):
        open_all(folder, ("rivierenland",), "rivierenland")


@pytest.mark.parametrize(("text", "key"), [
    ("ik woon in Zuid", "zuid"),
    ("gemeente noord", "noord"),
    ("Gemeente Noord!", "noord"),
    ("zuid", "zuid"),
    ("ik woon in Noordwijk", None),
    ("Waterschap Rivierenland", None),
    ("rivierenland", None),
    ("wat kost de hondenbelasting?", None),
])
def test_a_municipality_is_known_by_its_name_or_key(
    served: Tenants, text: str, key: str | None
) -> None:
    town = served.named(text)
    assert (town.key if town else None) == key


@pytest.mark.parametrize(("text", "key"), [
    ("4012 AB", "noord"),
    ("mijn postcode is 4199ZZ", "zuid"),
    ("4100", "zuid"),
    ("4200 AB", None),  # in no range
    ("12345", None),  # no postcode
    ("ik heb 2 honden", None),
])
def test_a_postcode_in_the_table_gives_its_municipality(
    served: Tenants, text: str, key: str | None
) -> None:
    town = served.by_postcode(text)
    assert (town.key if town else None) == key


def test_a_postcode_of_a_tenant_not_served_is_not_known(folder: Path) -> None:
    one = open_all(folder, ("noord", "rivierenland"), "noord")
    assert one.by_postcode("4150 AB") is None
    assert one.by_postcode("4050 AB") == one.all["noord"]


def test_a_shared_deployment_must_ask_and_one_of_one_municipality_need_not(
    served: Tenants, folder: Path
) -> None:
    assert served.chosen("zuid") == served.all["zuid"]
    assert served.chosen("") is None
    assert served.chosen("rivierenland") is None, "a water board is nobody's municipality"
    assert served.chosen("oost") is None
    one = open_all(folder, ("zuid", "rivierenland"), "zuid")
    assert not one.shared
    assert one.chosen("") == one.chosen("noord") == one.all["zuid"]


def override(folder: Path, key: str, name: str, nl: str, en: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    variants = [{"condition": [{"type": "slot", "name": "language", "value": language}],
                 "text": text} for language, text in (("nl", nl), ("en", en))]
    (folder / f"{key}.yml").write_text(yaml.safe_dump(
        {"version": "3.1", "responses": {name: variants}}, allow_unicode=True))


@pytest.fixture(scope="module")
def loaded() -> Content:
    return content.load(PROJECT_DIR / "intents")


def test_own_responses_follow_the_lineage_and_the_rest_stay_shared(
    served: Tenants, loaded: Content, tmp_path: Path
) -> None:
    overrides = tmp_path / "intents" / "overrides"
    override(overrides, "samen", "utter_dog_tax", "Samen: {dog_first_eur}.",
             "Together: {dog_first_eur}.")
    override(overrides, "zuid", "utter_dog_tax", "Zuid: {dog_first_eur}, bel {phone}.",
             "South: {dog_first_eur}, call {phone}.")
    own = render.overrides(tmp_path / "intents", served)
    assert set(own) == {"noord", "zuid"}, "the members of the collaboration"
    renderer = Renderer(loaded.responses, served, own)
    said = {}
    for key in ("noord", "zuid"):
        served.serve(served.all[key])
        render.check(loaded, served.all[key], own[key])
        said[key] = (renderer.render("utter_dog_tax", "nl").text,
                     renderer.render("utter_dog_tax", "en").text)
    assert said["noord"] == ("Samen: € 80,00.", "Together: €80.00.")
    assert said["zuid"] == ("Zuid: € 110,00, bel 0800 1234.", "South: €110.00, call 0800 1234.")
    assert renderer.render("utter_objection", "nl").text == (
        Renderer(loaded.responses, served).render("utter_objection", "nl").text)


def test_an_override_of_no_shared_response_is_refused(
    served: Tenants, loaded: Content, tmp_path: Path
) -> None:
    overrides = tmp_path / "intents" / "overrides"
    override(overrides, "zuid", "utter_dogs_tax", "Zuid: {dog_first_eur}.",
             "South: {dog_first_eur}.")
    own = render.overrides(tmp_path / "intents", served)
    with pytest.raises(FactsError, match="zuid's own responses override utter_dogs_tax"):
        render.check(loaded, served.all["zuid"], own["zuid"])


def test_an_override_with_a_placeholder_no_fact_fills_is_refused(
    served: Tenants, loaded: Content
) -> None:
    own = {"utter_dog_tax": {"nl": Variant("Zie {parking_url}"),
                             "en": Variant("See {parking_url}")}}
    with pytest.raises(FactsError) as refused:
        render.check(loaded, served.all["zuid"], own)
    assert str(served.all["zuid"].source) in str(refused.value)
    assert "`parking_url` (used by utter_dog_tax)" in str(refused.value)


def test_an_override_in_one_language_only_is_refused(served: Tenants, loaded: Content) -> None:
    own = {"utter_dog_tax": {"nl": Variant("Zuid: {dog_first_eur}.")}}
    with pytest.raises(FactsError, match="zuid's own utter_dog_tax has no text in en"):
        render.check(loaded, served.all["zuid"], own)
